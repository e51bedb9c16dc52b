// The NAB scorer (src/eval/nab.ts) on tiny series computed by hand: one window with a detection at its start, its
// end, in its middle, outside it; false positives before, between and after windows; the probation; the profiles;
// the normalization; the windows' rows; the label and profile files. The published corpus scores are reproduced in
// test/shared/nab-scorer.test.ts (needs ../shared/data).
//
// NAB's scaled sigmoid 2 / (1 + e^(5p)) - 1 is tanh(-5p / 2): the expected values below use tanh, an independent
// way to the same numbers.
import { describe, expect, it } from 'vitest';
import {
  NAB_PROFILES, checkWindows, detectionMetrics, normalizedScore, optimizeThreshold, parseLabelWindows, parseProfiles,
  probationRows, scaledSigmoid, scoreCorpus, scoreFile, sweepScores, totalScore, windowRows, ROW_OUTSIDE, ROW_PROBATION,
  type CostMatrix, type TimeWindow,
} from '../src/eval/nab.js';

const S = (p: number) => (p > 3 ? -1 : Math.tanh(-2.5 * p));
const MIN = 60_000;
const STD = NAB_PROFILES.standard;

/** n rows one minute apart; windows as [first row, last row]; detections (score 1) at the given rows. */
function series(n: number, windows: [number, number][], detections: number[]) {
  const tsMs = Array.from({ length: n }, (_, i) => i * MIN);
  const scores = new Float64Array(n);
  for (const d of detections) scores[d] = 1;
  return { tsMs, scores, windows: windows.map(([a, b]) => [a * MIN, b * MIN] as TimeWindow) };
}
const score = (n: number, windows: [number, number][], detections: number[], cost: CostMatrix = STD) =>
  scoreFile(series(n, windows, detections), 1, cost);

describe('the scaled sigmoid and the probation', () => {
  it('S(p) = 2 / (1 + e^(5p)) - 1, and -1 past p = 3', () => {
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(-1)).toBeCloseTo(0.9866142981514305, 15);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.9866142981514303, 15);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.8482836399575129, 15);
    expect(scaledSigmoid(3)).toBeCloseTo(-0.9999993881955461, 15);
    expect(scaledSigmoid(3.0000001)).toBe(-1);
    for (const p of [-1, -0.7, -0.2, 0.4, 2.9]) expect(scaledSigmoid(p)).toBeCloseTo(S(p), 14);
  });

  it('probation: min(floor(0.15 rows), 750)', () => {
    expect([0, 1, 6, 7, 10, 40, 100, 1243, 4032, 4999, 5000, 22695].map((n) => probationRows(n)))
      .toEqual([0, 0, 0, 1, 1, 6, 15, 186, 604, 749, 750, 750]);
    expect(probationRows(100, 0.1)).toBe(10);
  });
});

describe('one window: rows 4..6 of 10 (probation: row 0), standard profile (tp 1, fp 0.11, fn 1)', () => {
  it('a detection at the window start earns the whole tpWeight: normalized 100', () => {
    const f = score(10, [[4, 6]], [4]);
    expect(f.score).toBeCloseTo(1, 15);
    expect(f).toMatchObject({ detectedWindows: 1, missedWindows: 0, falseAlarms: 0, detections: 1, nullScore: -1, perfectScore: 1 });
    expect(f.windows[0]).toMatchObject({ first: 4, last: 6, detectedRow: 4, delayMs: 0 });
    expect(totalScore([f]).normalized).toBeCloseTo(100, 12);
  });

  it('at the window end: S(-1/3) / S(-1) = 0.6915; in the middle: S(-2/3) / S(-1) = 0.9437', () => {
    const end = score(10, [[4, 6]], [6]);
    expect(end.score).toBeCloseTo(S(-1 / 3) / S(-1), 14);
    expect(end.score).toBeCloseTo(0.6915182473196357, 14);
    expect(end.windows[0].delayMs).toBe(2 * MIN);
    const mid = score(10, [[4, 6]], [5]);
    expect(mid.score).toBeCloseTo(S(-2 / 3) / S(-1), 14);
    expect(totalScore([end]).normalized).toBeCloseTo((100 * (end.score + 1)) / 2, 12);
  });

  it('one TP per window, the earliest: later detections in the window are neither TP nor FP', () => {
    const f = score(10, [[4, 6]], [6, 5, 4]);
    expect(f.score).toBeCloseTo(1, 15);
    expect(f).toMatchObject({ detections: 3, detectedWindows: 1, falseAlarms: 0, fpScore: 0 });
    expect(score(10, [[4, 6]], [5, 6]).score).toBeCloseTo(S(-2 / 3) / S(-1), 14);
  });

  it('a detection before the window: the full -fpWeight, and the window is missed: -1.11', () => {
    const f = score(10, [[4, 6]], [2]);
    expect(f.fpScore).toBeCloseTo(-0.11, 15);
    expect(f.fnScore).toBe(-1);
    expect(f.score).toBeCloseTo(-1.11, 14);
    expect(totalScore([f]).normalized).toBeCloseTo(-5.5, 12);
    expect(detectionMetrics(f)).toMatchObject({ windows: 1, detected: 0, falseAlarms: 1, precision: 0, recall: 0, f1: 0 });
  });

  it('after the window: fpWeight * S(distance / (W - 1)), nearly free just after, -fpWeight far away', () => {
    // p = (i - 6) / (3 - 1): row 7 at 0.5, row 8 at 1
    expect(score(10, [[4, 6]], [4, 7]).fpScore).toBeCloseTo(0.11 * S(0.5), 15);
    expect(score(10, [[4, 6]], [4, 8]).fpScore).toBeCloseTo(0.11 * S(1), 15);
    expect(score(10, [[4, 6]], [4, 7, 8]).score).toBeCloseTo(1 + 0.11 * (S(0.5) + S(1)), 14);
    // 20 rows (probation 3): row 12 at p = 3 (the sigmoid), row 13 at 3.5 (-1)
    expect(score(20, [[4, 6]], [12]).fpScore).toBeCloseTo(0.11 * S(3), 15);
    expect(score(20, [[4, 6]], [13]).fpScore).toBe(-0.11);
  });

  it('no detection: the null detector scores -fnWeight per window, normalized 0', () => {
    const f = score(10, [[4, 6]], []);
    expect(f.score).toBe(-1);
    expect(f.score).toBe(f.nullScore);
    expect(totalScore([f]).normalized).toBe(0);
    expect(detectionMetrics(f)).toMatchObject({ precision: NaN, recall: 0, f1: 0, meanDelayMs: NaN, falseAlarms: 0 });
  });

  it('a row is a detection when its score is >= the threshold', () => {
    const s = series(10, [[4, 6]], []);
    s.scores[4] = 0.5;
    expect(scoreFile(s, 0.5, STD).detectedWindows).toBe(1);
    expect(scoreFile(s, 0.5000001, STD).detectedWindows).toBe(0);
    s.scores[5] = NaN;
    expect(scoreFile(s, 0.6, STD).detections).toBe(0);
  });
});

describe('probation', () => {
  it('detections in the probation count for nothing', () => {
    const f = score(10, [[4, 6]], [0]);
    expect(f).toMatchObject({ probationRows: 1, detections: 0, falseAlarms: 0, score: -1 });
  });

  it('a window inside the probation is not scored (null 0) but is credited to the perfect detector', () => {
    // 40 rows: probation 6; window rows 2..4
    const f = score(40, [[2, 4]], [3]);
    expect(f).toMatchObject({ probationRows: 6, scoredWindows: 0, labelledWindows: 1, detections: 0, score: 0, nullScore: 0, perfectScore: 1 });
    // later false positives are still measured from it: p = (10 - 4) / (3 - 1) = 3
    expect(score(40, [[2, 4]], [10]).fpScore).toBeCloseTo(0.11 * S(3), 15);
  });

  it('a window across the probation\'s end: its scored rows count, positions over the whole window', () => {
    // 40 rows, probation 6, window rows 4..9 (W = 6): row 5 is in the probation; row 7 at p = -3/6
    const f = score(40, [[4, 9]], [5, 7]);
    expect(f.windows[0]).toMatchObject({ scoredRows: 4, detectedRow: 7, delayMs: 3 * MIN });
    expect(f.score).toBeCloseTo(S(-0.5) / S(-1), 14);
    expect(f.score).toBeCloseTo(0.8597925669097837, 14);
    expect(score(40, [[4, 9]], [5]).score).toBe(-1);
  });
});

describe('several windows', () => {
  it('false positives are weighed from the preceding window only', () => {
    // 40 rows (probation 6); windows 10..13 (W 4) and 20..21 (W 2)
    // row 12: TP at p = -2/4; row 15: 2/3 past window 1; row 22: 1 past window 2; window 2 missed
    const f = score(40, [[10, 13], [20, 21]], [12, 15, 22]);
    expect(f.tpScore).toBeCloseTo(S(-0.5) / S(-1), 14);
    expect(f.fpScore).toBeCloseTo(0.11 * (S(2 / 3) + S(1)), 14);
    expect(f.fnScore).toBe(-1);
    expect(f.score).toBeCloseTo(S(-0.5) / S(-1) + 0.11 * (S(2 / 3) + S(1)) - 1, 14);
    // row 18 is 5/3 past window 1, though 2 rows before window 2
    expect(score(40, [[10, 13], [20, 21]], [18]).fpScore).toBeCloseTo(0.11 * S(5 / 3), 15);
  });

  it('after a one-row window every false positive costs the full fpWeight (NAB would divide by zero)', () => {
    expect(score(20, [[8, 8]], [8, 9]).score).toBeCloseTo(1 - 0.11, 14);
  });

  it('the sweep scores and each row\'s window', () => {
    const { score: w, window } = sweepScores(10, windowRows(series(10, [[4, 6]], []).tsMs, [[4 * MIN, 6 * MIN]]), STD, 1);
    expect(Array.from(window)).toEqual([ROW_PROBATION, -1, -1, -1, 0, 0, 0, -1, -1, -1]);
    expect(ROW_OUTSIDE).toBe(-1);
    expect(w[3]).toBeCloseTo(-0.11, 15);
    expect(w[4]).toBeCloseTo(1, 15);
    expect(w[9]).toBeCloseTo(0.11 * S(1.5), 15);
  });
});

describe('profiles', () => {
  it('the same detections under the three profiles', () => {
    const hitAndFp: [number, number][] = [[4, 6]];
    expect(score(10, hitAndFp, [2, 4], NAB_PROFILES.standard).score).toBeCloseTo(0.89, 14);
    expect(score(10, hitAndFp, [2, 4], NAB_PROFILES.reward_low_FP_rate).score).toBeCloseTo(0.78, 14);
    expect(score(10, hitAndFp, [2, 4], NAB_PROFILES.reward_low_FN_rate).score).toBeCloseTo(0.89, 14);
    const miss = (p: CostMatrix) => score(10, hitAndFp, [2], p);
    expect(miss(NAB_PROFILES.standard).score).toBeCloseTo(-1.11, 14);
    expect(miss(NAB_PROFILES.reward_low_FP_rate).score).toBeCloseTo(-1.22, 14);
    const lowFn = miss(NAB_PROFILES.reward_low_FN_rate);
    expect(lowFn.score).toBeCloseTo(-2.11, 14);
    expect(lowFn.nullScore).toBe(-2);
    // 100 * (-2.11 - -2) / (1 - -2)
    expect(totalScore([lowFn]).normalized).toBeCloseTo(-11 / 3, 12);
  });

  it('parseProfiles reads config/profiles.json and names what is wrong', () => {
    const json = {
      standard: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.11, tnWeight: 1.0 } },
      reward_low_FP_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.22, tnWeight: 1.0 } },
      reward_low_FN_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 2.0, fpWeight: 0.11, tnWeight: 1.0 } },
    };
    expect(parseProfiles(json)).toEqual(NAB_PROFILES);
    expect(() => parseProfiles([])).toThrow(/JSON object of profiles/);
    expect(() => parseProfiles({ x: {} })).toThrow(/"x" has no "CostMatrix"/);
    expect(() => parseProfiles({ x: { CostMatrix: { tpWeight: 1, fnWeight: 1, fpWeight: '0.1' } } })).toThrow(/"x".CostMatrix.fpWeight must be a finite number/);
  });
});

describe('files and the corpus', () => {
  it('raw, null and perfect scores add up over files before normalizing', () => {
    const a = series(10, [[4, 6]], [4]); // +1, null -1, perfect 1
    const b = series(10, [], [2]); // -0.11, no windows
    const total = scoreCorpus([a, b], 1, STD);
    expect(total.raw).toBeCloseTo(0.89, 14);
    expect(total.nullScore).toBe(-1);
    expect(total.perfectScore).toBe(1);
    expect(total.normalized).toBeCloseTo(94.5, 12);
    expect(normalizedScore(0, 0, 0)).toBeNaN(); // a file without windows has no normalized score of its own
    const m = detectionMetrics(total.files);
    expect(m).toMatchObject({ windows: 1, detected: 1, missed: 0, falseAlarms: 1, precision: 0.5, recall: 1, meanDelayMs: 0 });
    expect(m.f1).toBeCloseTo(2 / 3, 15);
    // scored time: rows 1..9 of each, 8 minutes twice
    expect(m.scoredHours).toBeCloseTo(16 / 60, 15);
    expect(m.falseAlarmsPerHour).toBeCloseTo(60 / 16, 12);
  });

  it('delays: mean and median over the windows found, and as a fraction of the window', () => {
    const f = score(40, [[10, 13], [20, 21], [30, 33]], [10, 21, 32]);
    const m = detectionMetrics(f);
    expect(m).toMatchObject({ windows: 3, detected: 3, meanDelayMs: MIN, medianDelayMs: MIN });
    expect(m.meanDelayFraction).toBeCloseTo((0 + 1 / 2 + 2 / 4) / 3, 15);
  });

  it('the optimizer tries every score as the threshold and keeps the best', () => {
    const s = series(10, [[4, 6]], []);
    s.scores[2] = 0.9; // FP before the window
    s.scores[5] = 0.8; // TP at p = -2/3
    s.scores[8] = 0.7; // FP at p = 1
    const best = optimizeThreshold([s], STD);
    expect(best.threshold).toBe(0.8);
    expect(best.score).toBeCloseTo(-0.11 + S(-2 / 3) / S(-1), 14);
    expect(best.score).toBeCloseTo(scoreCorpus([s], 0.8, STD).raw, 14);
    // when every threshold costs more than missing everything, the best is 1.1, above every score
    const costly = series(10, [[8, 9]], []);
    costly.scores.fill(0.1, 0, 8); // rows 1..7: false positives before the window
    costly.scores.fill(0.05, 8); // the window
    const fpHeavy = { tpWeight: 1, fpWeight: 1, fnWeight: 1 };
    expect(scoreCorpus([costly], 0.05, fpHeavy).raw).toBeCloseTo(-7 + 1, 14);
    expect(optimizeThreshold([costly], fpHeavy)).toEqual({ threshold: 1.1, score: -1 });
  });
});

describe('window rows', () => {
  const ts = Array.from({ length: 10 }, (_, i) => i * 10); // 0, 10, ..., 90

  it('NAB labels start and end on rows; others cover the rows inside [start, end]', () => {
    expect(windowRows(ts, [[10, 30]])).toEqual([{ first: 1, last: 3 }]);
    expect(windowRows(ts, [[15, 35], [40, 40], [55, 75]])).toEqual([{ first: 2, last: 3 }, { first: 4, last: 4 }, { first: 6, last: 7 }]);
    expect(windowRows(ts, [[-5, 5], [80, 1000]])).toEqual([{ first: 0, last: 0 }, { first: 8, last: 9 }]);
  });

  it('a window without a row is empty: never scored, never a previous window', () => {
    const spans = windowRows(ts, [[41, 49], [200, 300]]);
    expect(spans.map((s) => s.last - s.first + 1)).toEqual([0, 0]);
    const f = scoreFile({ tsMs: ts, scores: ts.map((t) => (t === 70 ? 1 : 0)), windows: [[41, 49], [200, 300]] }, 1, STD);
    expect(f).toMatchObject({ scoredWindows: 0, labelledWindows: 0, nullScore: 0, perfectScore: 0, falseAlarms: 1 });
    expect(f.fpScore).toBeCloseTo(-0.11, 15);
  });

  it('a window closes at the first row that reaches its end, as NAB walks the rows', () => {
    // times go back after the window: row 3 (15) is outside it
    expect(windowRows([0, 10, 20, 15, 30], [[10, 20]])).toEqual([{ first: 1, last: 2 }]);
    // inside a window, a row that goes back stays in it
    expect(windowRows([0, 10, 5, 20, 30], [[10, 20]])).toEqual([{ first: 1, last: 3 }]);
  });

  it('windows must be in order, not overlap, and start <= end; scores one per row', () => {
    expect(() => checkWindows([[10, 5]])).toThrow(/window 0: starts after it ends/);
    expect(() => checkWindows([[10, 20], [20, 30]])).toThrow(/window 1: starts before window 0 ends/);
    expect(() => checkWindows([[30, 40], [10, 20]])).toThrow(/in time order/);
    expect(() => scoreFile({ tsMs: [1, 2], scores: [1], windows: [] }, 1, STD)).toThrow(/2 timestamps but 1 scores/);
  });
});

describe('label files: NAB\'s combined_windows.json', () => {
  it('reads windows by key, times as UTC ms', () => {
    const labels = parseLabelWindows({
      'realKnownCause/nyc_taxi.csv': [['2014-10-30 15:30:00.000000', '2014-11-03 22:30:00.000000'], ['2014-11-25 12:00:00', '2014-11-29T19:00:00Z']],
      'artificialNoAnomaly/art_flatline.csv': [],
    });
    expect(labels.get('realKnownCause/nyc_taxi.csv')).toEqual([
      [Date.UTC(2014, 9, 30, 15, 30), Date.UTC(2014, 10, 3, 22, 30)],
      [Date.UTC(2014, 10, 25, 12), Date.UTC(2014, 10, 29, 19)],
    ]);
    expect(labels.get('artificialNoAnomaly/art_flatline.csv')).toEqual([]);
  });

  it('says which key and which window is wrong', () => {
    const bad = (json: unknown) => () => parseLabelWindows(json);
    expect(bad([])).toThrow(/expected a JSON object of windows by series/);
    expect(bad({ a: 'x' })).toThrow(/"a": expected a list of \[start, end\] windows, got string "x"/);
    expect(bad({ a: [['2014-01-01 00:00:00']] })).toThrow(/"a" window 1: expected \[start, end\], two times/);
    expect(bad({ a: [[1, 2]] })).toThrow(/"a" window 1: start must be a time string/);
    expect(bad({ a: [['2014-01-01 00:00:00', '2014-13-01 00:00:00']] })).toThrow(/"a" window 1: end "2014-13-01 00:00:00" month 13 is out of range/);
    expect(bad({ a: [['2014-01-02', '2014-01-03 00:00']] })).toThrow(/"a" window 1: start "2014-01-02" not an ISO 8601 time/);
    expect(bad({ a: [['2014-01-02 00:00', '2014-01-01 00:00']] })).toThrow(/"a" window 1: starts \(2014-01-02 00:00\) after it ends/);
    expect(bad({ a: [['2014-01-01 00:00', '2014-01-03 00:00'], ['2014-01-02 00:00', '2014-01-04 00:00']] }))
      .toThrow(/"a" window 2: starts \(2014-01-02 00:00\) before window 1 ends/);
  });
});
