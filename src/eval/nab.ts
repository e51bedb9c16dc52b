// The scoring method of the Numenta Anomaly Benchmark (NAB v1.1), as its reference scorer computes it
// (nab/sweeper.py: calcSweepScore, calcScoreByThreshold, scoreDataSet; nab/runner.py: normalize;
// nab/optimizer.py: optimizeThreshold), and the plainer measures beside it: precision, recall and F1 by window,
// detection delay, false alarms per hour. Pure functions over arrays: rows (timestamps and anomaly scores), label
// windows, a threshold and a cost profile in, numbers out. No I/O here: src/eval/cli.ts reads files.
//
// The method, per file of n rows:
//   - the first min(floor(0.15 n), 0.15 * 5000) rows are a probation: never scored, whatever the detector says;
//   - a row is a detection when its anomaly score is >= the threshold;
//   - scaled sigmoid S(p) = 2 / (1 + e^(5p)) - 1, and -1 for p > 3;
//   - inside a window of W rows ending at row R, row i is at p = -(R - i + 1) / W; a detection there is worth
//     tpWeight * S(p) / S(-1). A window counts once, with its best detection, which is its earliest (S falls as i
//     grows); a window without one costs -fnWeight;
//   - a detection outside every window costs fpWeight * S(p), p = (i - R') / (W' - 1) past the previous window
//     (ending at R', W' rows); before the first window it costs -fpWeight. All of them add up;
//   - raw score = the sum over files; normalized = 100 (raw - null) / (perfect - null), where null is the raw
//     score of the detector that never fires and perfect = tpWeight * the number of windows.
// Timestamps are plain numbers (milliseconds since the epoch wherever a duration is reported: delays, hours).

import { isoToNs } from '../adapters/common.js';

// ---- Profiles ------------------------------------------------------------------------------------------------
/** A NAB cost matrix: what a true positive earns and what a false positive and a false negative cost. */
export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export const PROFILE_NAMES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** NAB's config/profiles.json (tnWeight is in the file but no part of the score). */
export const NAB_PROFILES: Readonly<Record<ProfileName, Readonly<CostMatrix>>> = Object.freeze({
  standard: Object.freeze({ tpWeight: 1.0, fpWeight: 0.11, fnWeight: 1.0 }),
  reward_low_FP_rate: Object.freeze({ tpWeight: 1.0, fpWeight: 0.22, fnWeight: 1.0 }),
  reward_low_FN_rate: Object.freeze({ tpWeight: 1.0, fpWeight: 0.11, fnWeight: 2.0 }),
});

export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}

/**
 * Profiles in the layout of NAB's config/profiles.json, `{"<name>": {"CostMatrix": {"tpWeight": 1, "fpWeight":
 * 0.11, "fnWeight": 1, "tnWeight": 1}}}`, checked: a RangeError names what is wrong.
 */
export function parseProfiles(json: unknown): Record<string, CostMatrix> {
  if (!isObject(json)) throw new RangeError('profiles: expected a JSON object of profiles, like {"standard": {"CostMatrix": {...}}}');
  const out: Record<string, CostMatrix> = {};
  for (const [name, profile] of Object.entries(json)) {
    const m = isObject(profile) ? profile.CostMatrix : undefined;
    if (!isObject(m)) throw new RangeError(`profiles: "${name}" has no "CostMatrix" object`);
    const weight = (key: string): number => {
      const v = m[key];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new RangeError(`profiles: "${name}".CostMatrix.${key} must be a finite number >= 0, got ${JSON.stringify(v)}`);
      }
      return v;
    };
    out[name] = { tpWeight: weight('tpWeight'), fpWeight: weight('fpWeight'), fnWeight: weight('fnWeight') };
  }
  return out;
}

// ---- The pieces of the method ------------------------------------------------------------------------------------
export const PROBATION_PERCENT = 0.15;

/** Rows at the start of a file that are not scored: min(floor(percent * rows), percent * 5000) (750 at 15%). */
export function probationRows(rows: number, percent = PROBATION_PERCENT): number {
  // The same float operations as NAB's Python, so the same rounding: floor(0.15 * n) is exact to the row.
  return Math.min(Math.floor(percent * rows), percent * 5000);
}

/**
 * NAB's scaled sigmoid of a relative position: 2 / (1 + e^(5p)) - 1 (0.98661 at the left edge of a window, p = -1;
 * 0 at its right edge; -0.98661 one window-length past it), and -1 beyond p = 3.
 */
export function scaledSigmoid(position: number): number {
  if (position > 3.0) return -1.0;
  return 2 / (1 + Math.exp(5 * position)) - 1.0;
}

/** A labelled anomaly window, [start, end] inclusive, in the unit of the timestamps (ms since the epoch). */
export type TimeWindow = readonly [start: number, end: number];

/** A window's rows, inclusive indices; `rows` 0 (first > last) when no row falls inside the window. */
export interface RowSpan {
  first: number;
  last: number;
}

/**
 * The rows each window covers, in one pass as NAB walks a file: a window opens at the first row at or after its
 * start and closes at the first row that reaches its end (that row included when its time equals the end;
 * excluded when it is past it), or at the last row. NAB's labels begin and end on rows, so this is NAB's own
 * reading of them; for labels that do not, a window holds the rows inside [start, end]. A window without a row
 * gets { first: k, last: k - 1 }. Windows must be in order and must not overlap (checkWindows).
 */
export function windowRows(tsMs: ArrayLike<number>, windows: readonly TimeWindow[]): RowSpan[] {
  checkWindows(windows);
  const spans: RowSpan[] = [];
  const n = tsMs.length;
  let w = 0;
  let open = -1; // the first row of the open window, or -1
  for (let i = 0; i < n && w < windows.length; i++) {
    const t = tsMs[i];
    if (open >= 0) {
      const end = windows[w][1];
      if (t > end) { spans.push({ first: open, last: i - 1 }); open = -1; w++; }
      else if (t === end) { spans.push({ first: open, last: i }); open = -1; w++; continue; }
      else continue;
    }
    // Not in a window: windows whose end this row has passed without a row inside them are empty.
    while (w < windows.length && t > windows[w][1]) { spans.push({ first: i, last: i - 1 }); w++; }
    if (w < windows.length && t >= windows[w][0]) {
      if (t === windows[w][1]) { spans.push({ first: i, last: i }); w++; }
      else open = i;
    }
  }
  if (open >= 0) { spans.push({ first: open, last: n - 1 }); w++; }
  for (; w < windows.length; w++) spans.push({ first: n, last: n - 1 });
  return spans;
}

/** Throws a RangeError unless every window has start <= end and starts after the previous one ends. */
export function checkWindows(windows: readonly TimeWindow[]): void {
  for (let k = 0; k < windows.length; k++) {
    const [start, end] = windows[k];
    if (!Number.isFinite(start) || !Number.isFinite(end)) throw new RangeError(`window ${k}: start and end must be finite numbers`);
    if (start > end) throw new RangeError(`window ${k}: starts after it ends`);
    if (k > 0 && start <= windows[k - 1][1]) throw new RangeError(`window ${k}: starts before window ${k - 1} ends (windows must be in time order and must not overlap)`);
  }
}

/** Where a row lies for the scorer. */
export const ROW_PROBATION = -2;
export const ROW_OUTSIDE = -1;

/**
 * NAB's per-row weighted score (its "sweep score"): what a detection at each row would add (inside window k,
 * `tpWeight * S(p) / S(-1)`) or cost (outside, `fpWeight * S(p)`, -fpWeight before the first window), with the
 * window of each row (k >= 0, ROW_OUTSIDE, or ROW_PROBATION for the unscored rows).
 */
export function sweepScores(rows: number, spans: readonly RowSpan[], cost: CostMatrix, probation: number): { score: Float64Array; window: Int32Array } {
  const score = new Float64Array(rows);
  const window = new Int32Array(rows).fill(ROW_OUTSIDE);
  const maxTp = scaledSigmoid(-1.0);
  let k = 0; // the next window
  let prev: RowSpan | undefined; // the last window that ended before the current row
  for (let i = 0; i < rows; i++) {
    while (k < spans.length && spans[k].last < spans[k].first) k++; // empty windows have no rows to score
    const span = k < spans.length && i >= spans[k].first ? spans[k] : undefined;
    if (span) {
      const width = span.last - span.first + 1;
      score[i] = (scaledSigmoid(-(span.last - i + 1) / width) * cost.tpWeight) / maxTp;
      window[i] = k;
      if (i === span.last) { prev = span; k++; }
    } else if (prev === undefined) {
      score[i] = -1.0 * cost.fpWeight;
    } else {
      // NAB divides by zero after a one-row window; past it, every row is as far as can be: S = -1.
      const width = prev.last - prev.first + 1;
      score[i] = scaledSigmoid(width > 1 ? Math.abs(prev.last - i) / (width - 1) : Infinity) * cost.fpWeight;
    }
    if (i < probation) window[i] = ROW_PROBATION;
  }
  return { score, window };
}

// ---- Scoring a file --------------------------------------------------------------------------------------------
export interface NabSeries {
  /** Row times, ms since the epoch (any unit works for the score; delays and hours assume ms). */
  tsMs: ArrayLike<number>;
  /** The detector's anomaly score per row; a row is a detection when its score is >= the threshold. */
  scores: ArrayLike<number>;
  windows: readonly TimeWindow[];
}

export interface NabOptions {
  /** 0.15 unless told. */
  probationPercent?: number;
}

export interface WindowOutcome {
  startMs: number;
  endMs: number;
  /** Rows of the window (first..last inclusive), and how many of them lie after the probation. */
  first: number;
  last: number;
  scoredRows: number;
  /** The window's earliest detection after the probation, or -1. */
  detectedRow: number;
  /** Time from the window's first row to that detection (ms), or NaN. */
  delayMs: number;
  /** Its contribution: tpWeight * S(p) / S(-1) when detected, -fnWeight when missed, 0 when not scored. */
  score: number;
}

export interface NabFileScore {
  rows: number;
  probationRows: number;
  windows: WindowOutcome[];
  /** Windows with rows after the probation: the ones scored (a hit or a miss). */
  scoredWindows: number;
  /** Windows with at least one row: what a perfect detector is credited with. */
  labelledWindows: number;
  detectedWindows: number;
  missedWindows: number;
  /** Scored rows at or above the threshold; those outside every window are false alarms. */
  detections: number;
  falseAlarms: number;
  /** Time from the first scored row to the last row (ms). */
  scoredMs: number;
  tpScore: number;
  fpScore: number;
  fnScore: number;
  /** Raw NAB score: tpScore + fpScore + fnScore. */
  score: number;
  /** The raw score of the detector that never fires, and of a perfect one (tpWeight per labelled window). */
  nullScore: number;
  perfectScore: number;
}

/** Scores one file at a threshold under a cost profile, exactly as NAB's Sweeper.scoreDataSet. */
export function scoreFile(series: NabSeries, threshold: number, cost: CostMatrix, opts: NabOptions = {}): NabFileScore {
  const { tsMs, scores } = series;
  const rows = tsMs.length;
  if (scores.length !== rows) throw new RangeError(`scoreFile: ${rows} timestamps but ${scores.length} scores`);
  const probation = probationRows(rows, opts.probationPercent);
  const spans = windowRows(tsMs, series.windows);
  const sweep = sweepScores(rows, spans, cost, probation);

  const windows: WindowOutcome[] = spans.map((s, k) => ({
    startMs: series.windows[k][0], endMs: series.windows[k][1], first: s.first, last: s.last,
    scoredRows: Math.max(0, s.last - Math.max(s.first, Math.ceil(probation)) + 1), detectedRow: -1, delayMs: NaN, score: 0,
  }));
  let fpScore = 0, detections = 0, falseAlarms = 0;
  for (let i = 0; i < rows; i++) {
    const w = sweep.window[i];
    if (w === ROW_PROBATION || !(scores[i] >= threshold)) continue;
    detections++;
    if (w === ROW_OUTSIDE) { fpScore += sweep.score[i]; falseAlarms++; }
    else if (windows[w].detectedRow < 0) windows[w].detectedRow = i; // the earliest is the best
  }
  let tpScore = 0, fnScore = 0, scoredWindows = 0, labelledWindows = 0, detectedWindows = 0;
  for (const w of windows) {
    if (w.last >= w.first) labelledWindows++;
    if (w.scoredRows === 0) continue;
    scoredWindows++;
    if (w.detectedRow >= 0) {
      w.score = sweep.score[w.detectedRow];
      w.delayMs = tsMs[w.detectedRow] - tsMs[w.first];
      tpScore += w.score;
      detectedWindows++;
    } else {
      w.score = -cost.fnWeight;
      fnScore += w.score;
    }
  }
  const firstScored = Math.ceil(probation);
  const scoredMs = rows > firstScored ? Math.max(0, tsMs[rows - 1] - tsMs[firstScored]) : 0;
  return {
    rows, probationRows: firstScored, windows, scoredWindows, labelledWindows, detectedWindows,
    missedWindows: scoredWindows - detectedWindows, detections, falseAlarms, scoredMs,
    tpScore, fpScore, fnScore, score: tpScore + fpScore + fnScore,
    nullScore: 0 - cost.fnWeight * scoredWindows, perfectScore: cost.tpWeight * labelledWindows,
  };
}

/** 100 (raw - null) / (perfect - null): 0 for the null detector, 100 for a perfect one; NaN without windows. */
export function normalizedScore(raw: number, nullScore: number, perfectScore: number): number {
  const span = perfectScore - nullScore;
  return span > 0 ? (100 * (raw - nullScore)) / span : NaN;
}

export interface NabTotal {
  /** Sum of the files' raw scores, and of their null and perfect scores. */
  raw: number;
  nullScore: number;
  perfectScore: number;
  normalized: number;
}

/** The corpus score of scored files: raw, null and perfect scores summed, then normalized. */
export function totalScore(files: readonly NabFileScore[]): NabTotal {
  let raw = 0, nullScore = 0, perfectScore = 0;
  for (const f of files) { raw += f.score; nullScore += f.nullScore; perfectScore += f.perfectScore; }
  return { raw, nullScore, perfectScore, normalized: normalizedScore(raw, nullScore, perfectScore) };
}

/** Scores every file at one threshold and totals them: NAB's scoreCorpus followed by its normalize step. */
export function scoreCorpus(series: readonly NabSeries[], threshold: number, cost: CostMatrix, opts: NabOptions = {}): NabTotal & { files: NabFileScore[] } {
  const files = series.map((s) => scoreFile(s, threshold, cost, opts));
  return { ...totalScore(files), files };
}

/**
 * The threshold that maximizes the corpus's raw score (NAB's optimizer: every distinct anomaly score is tried,
 * plus 1.1, where nothing fires; of equal scores the highest threshold wins, as NAB's stable sort keeps it).
 */
export function optimizeThreshold(series: readonly NabSeries[], cost: CostMatrix, opts: NabOptions = {}): { threshold: number; score: number } {
  const points: { anomaly: number; sweep: number; window: number }[] = [];
  let windowSum = 0;
  const best: number[] = [];
  for (const s of series) {
    const rows = s.tsMs.length;
    if (s.scores.length !== rows) throw new RangeError(`optimizeThreshold: ${rows} timestamps but ${s.scores.length} scores`);
    const spans = windowRows(s.tsMs, s.windows);
    const sweep = sweepScores(rows, spans, cost, probationRows(rows, opts.probationPercent));
    const base = best.length;
    const seen = new Set<number>();
    for (let i = 0; i < rows; i++) {
      const w = sweep.window[i];
      if (w === ROW_PROBATION) continue;
      if (w >= 0 && !seen.has(w)) { seen.add(w); best[base + w] = -cost.fnWeight; windowSum -= cost.fnWeight; }
      const anomaly = s.scores[i];
      if (Number.isNaN(anomaly)) continue; // never >= any threshold
      points.push({ anomaly, sweep: sweep.score[i], window: w >= 0 ? base + w : -1 });
    }
    best.length = base + spans.length;
  }
  points.sort((a, b) => b.anomaly - a.anomaly);
  let fpSum = 0;
  let threshold = 1.1;
  let top = { threshold, score: windowSum + fpSum };
  for (const p of points) {
    if (p.anomaly !== threshold) {
      const score = windowSum + fpSum;
      if (score > top.score) top = { threshold, score };
      threshold = p.anomaly;
    }
    if (p.window < 0) fpSum += p.sweep;
    else if (p.sweep > best[p.window]) { windowSum += p.sweep - best[p.window]; best[p.window] = p.sweep; }
  }
  const score = windowSum + fpSum;
  if (score > top.score) top = { threshold, score };
  return top;
}

// ---- Detection measures --------------------------------------------------------------------------------------------
export interface DetectionMetrics {
  /** Scored windows, those with a detection, those without. */
  windows: number;
  detected: number;
  missed: number;
  /** Detections outside every window (each row counts, as NAB counts its false positives). */
  falseAlarms: number;
  /** detected / (detected + falseAlarms): a window's later detections are neither right nor wrong. NaN when 0/0. */
  precision: number;
  /** detected / windows; NaN without windows. */
  recall: number;
  f1: number;
  /** Time from a window's first row to its first detection, over the detected windows (ms). */
  meanDelayMs: number;
  medianDelayMs: number;
  /** The same as a fraction of the window's length in rows (0 = its first row, 1 = past its last). */
  meanDelayFraction: number;
  scoredHours: number;
  falseAlarmsPerHour: number;
}

/** Precision, recall, F1 by window, delays and false alarms per hour, over one or several scored files. */
export function detectionMetrics(files: NabFileScore | readonly NabFileScore[]): DetectionMetrics {
  const list = Array.isArray(files) ? (files as readonly NabFileScore[]) : [files as NabFileScore];
  let windows = 0, detected = 0, falseAlarms = 0, scoredMs = 0;
  const delays: number[] = [];
  let fractionSum = 0;
  for (const f of list) {
    windows += f.scoredWindows;
    detected += f.detectedWindows;
    falseAlarms += f.falseAlarms;
    scoredMs += f.scoredMs;
    for (const w of f.windows) {
      if (w.detectedRow < 0) continue;
      delays.push(w.delayMs);
      fractionSum += (w.detectedRow - w.first) / (w.last - w.first + 1);
    }
  }
  const precision = detected + falseAlarms > 0 ? detected / (detected + falseAlarms) : NaN;
  const recall = windows > 0 ? detected / windows : NaN;
  // Nothing found among windows: F1 is 0 whether or not anything fired; without windows it means nothing.
  const f1 = windows === 0 ? NaN : detected === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  delays.sort((a, b) => a - b);
  const mid = delays.length >> 1;
  const median = delays.length === 0 ? NaN : delays.length % 2 === 1 ? delays[mid] : (delays[mid - 1] + delays[mid]) / 2;
  const scoredHours = scoredMs / 3_600_000;
  return {
    windows, detected, missed: windows - detected, falseAlarms, precision, recall, f1,
    meanDelayMs: delays.length > 0 ? delays.reduce((a, b) => a + b, 0) / delays.length : NaN,
    medianDelayMs: median,
    meanDelayFraction: delays.length > 0 ? fractionSum / delays.length : NaN,
    scoredHours, falseAlarmsPerHour: scoredHours > 0 ? falseAlarms / scoredHours : NaN,
  };
}

// ---- Label files -------------------------------------------------------------------------------------------------
/** A labels file that is not NAB's combined_windows.json layout: the message says where and what. */
export class LabelsError extends Error {
  override name = 'LabelsError';
}

/** ns since the epoch as the scorer's ms (a float: sub-ms digits kept to about 0.25 us); rows and labels alike. */
export function nsToMs(ns: bigint): number {
  return Number(ns) / 1e6;
}

/** The time of a label, ms since the epoch: ISO 8601, read as UTC without a zone (as the CSV reader reads rows). */
export function labelTimeMs(text: string): number | string {
  const ns = isoToNs(text.trim(), true);
  return typeof ns === 'string' ? ns : nsToMs(ns);
}

/**
 * NAB's combined_windows.json, `{"<category>/<file>.csv": [["2014-04-10 07:15:00.000000", "2014-04-11
 * 16:45:00.000000"], ...], ...}`: windows per series in ms, each checked (two ISO times, start <= end, in order,
 * no overlap). Throws a LabelsError naming the key and the window.
 */
export function parseLabelWindows(json: unknown): Map<string, TimeWindow[]> {
  if (!isObject(json)) {
    throw new LabelsError('expected a JSON object of windows by series, like {"realKnownCause/nyc_taxi.csv": [["2014-10-30 15:30:00", "2014-11-03 22:30:00"]]}');
  }
  const out = new Map<string, TimeWindow[]>();
  for (const [key, list] of Object.entries(json)) {
    if (!Array.isArray(list)) throw new LabelsError(`${JSON.stringify(key)}: expected a list of [start, end] windows, got ${typeOf(list)}`);
    const windows: TimeWindow[] = [];
    list.forEach((w: unknown, k) => {
      const where = `${JSON.stringify(key)} window ${k + 1}`;
      if (!Array.isArray(w) || w.length !== 2) throw new LabelsError(`${where}: expected [start, end], two times, got ${short(w)}`);
      const [a, b] = w.map((t: unknown, j) => {
        if (typeof t !== 'string') throw new LabelsError(`${where}: ${j === 0 ? 'start' : 'end'} must be a time string like "2014-04-10 07:15:00", got ${short(t)}`);
        const ms = labelTimeMs(t);
        if (typeof ms === 'string') throw new LabelsError(`${where}: ${j === 0 ? 'start' : 'end'} ${JSON.stringify(t)} ${ms}`);
        return ms;
      });
      if (a > b) throw new LabelsError(`${where}: starts (${w[0]}) after it ends (${w[1]})`);
      const prev = windows[windows.length - 1];
      if (prev && a <= prev[1]) throw new LabelsError(`${where}: starts (${w[0]}) before window ${k} ends; windows must be in time order and must not overlap`);
      windows.push([a, b]);
    });
    out.set(key, windows);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `${typeof v} ${short(v)}`;
}
function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
