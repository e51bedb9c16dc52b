// Needs ../shared/data (the NAB corpus and its published results): run by .ci/run with ATC_SHARED_DATA set,
// skipped otherwise. The scorer (src/eval/nab.ts) must give the NAB scoreboard's normalized scores from the
// published per-row anomaly scores of two detectors at their published thresholds, and 0 for the null detector.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  NAB_PROFILES, PROFILE_NAMES, detectionMetrics, labelTimeMs, optimizeThreshold, parseLabelWindows, parseProfiles,
  scoreCorpus, type NabSeries, type ProfileName,
} from '../../src/eval/nab.js';

const DATA = process.env.ATC_SHARED_DATA;

/** The scoreboard (../shared/data/README.md, NAB's results/final_results.json and config/thresholds.json). */
const PUBLISHED: Record<string, { threshold: Record<ProfileName, number>; score: Record<ProfileName, number> }> = {
  windowedGaussian: {
    threshold: { standard: 1.0, reward_low_FP_rate: 1.0, reward_low_FN_rate: 1.0 },
    score: { standard: 39.65, reward_low_FP_rate: 20.87, reward_low_FN_rate: 47.41 },
  },
  numenta: {
    threshold: { standard: 0.5421876907348634, reward_low_FP_rate: 0.5751955032348636, reward_low_FN_rate: 0.5421876907348634 },
    score: { standard: 70.1, reward_low_FP_rate: 63.12, reward_low_FN_rate: 74.32 },
  },
};

function readSeries(detector: string, windows: Map<string, readonly (readonly [number, number])[]>): (NabSeries & { key: string })[] {
  const root = join(DATA!, 'nab/reference-results', detector);
  const out: (NabSeries & { key: string })[] = [];
  for (const category of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const name of readdirSync(join(root, category)).filter((f) => f.endsWith('.csv.gz')).sort()) {
      const key = `${category}/${name.slice(detector.length + 1, -'.gz'.length)}`;
      const lines = gunzipSync(readFileSync(join(root, category, name))).toString('utf8').split(/\r?\n/).filter((l) => l.length > 0);
      expect(lines[0]).toBe('timestamp,anomaly_score');
      const tsMs = new Float64Array(lines.length - 1), scores = new Float64Array(lines.length - 1);
      lines.slice(1).forEach((l, i) => {
        const [t, s] = l.split(',');
        const ms = labelTimeMs(t);
        if (typeof ms === 'string') throw new Error(`${key} row ${i + 1}: ${ms}`);
        tsMs[i] = ms;
        scores[i] = Number(s);
      });
      const w = windows.get(key);
      expect(w, key).toBeDefined();
      out.push({ key, tsMs, scores, windows: w! });
    }
  }
  return out;
}

describe.skipIf(!DATA)('the NAB scorer against the published scoreboard (set ATC_SHARED_DATA to run)', () => {
  const labels = () => parseLabelWindows(JSON.parse(readFileSync(join(DATA!, 'nab/labels/combined_windows.json'), 'utf8')));

  it('the built-in profiles are config/profiles.json', () => {
    const file = parseProfiles(JSON.parse(readFileSync(join(DATA!, 'nab/config/profiles.json'), 'utf8')));
    expect(file).toEqual(NAB_PROFILES);
  });

  it('labels: 58 files, 116 windows, each beginning and ending on a row of its file', () => {
    const windows = labels();
    expect(windows.size).toBe(58);
    expect([...windows.values()].reduce((n, w) => n + w.length, 0)).toBe(116);
    for (const [key, list] of windows) {
      const path = join(DATA!, 'nab/data', key);
      expect(existsSync(path), path).toBe(true);
      const times = new Set(readFileSync(path, 'utf8').split(/\r?\n/).slice(1).filter((l) => l).map((l) => labelTimeMs(l.split(',')[0])));
      for (const [start, end] of list) expect(times.has(start) && times.has(end), key).toBe(true);
    }
  });

  for (const detector of Object.keys(PUBLISHED)) {
    it(`${detector}: the published normalized scores, to two decimals, at the published thresholds`, () => {
      const series = readSeries(detector, labels());
      expect(series.length).toBe(58);
      const got: string[] = [];
      for (const profile of PROFILE_NAMES) {
        const total = scoreCorpus(series, PUBLISHED[detector].threshold[profile], NAB_PROFILES[profile]);
        // Every window of the corpus is scored: the null detector's raw score is -fnWeight * 116.
        expect(total.nullScore).toBeCloseTo(-116 * NAB_PROFILES[profile].fnWeight, 9);
        expect(total.perfectScore).toBe(116 * NAB_PROFILES[profile].tpWeight);
        expect(total.normalized.toFixed(2), `${detector} ${profile}`).toBe(PUBLISHED[detector].score[profile].toFixed(2));
        const m = detectionMetrics(total.files);
        got.push(`${profile} ${total.normalized.toFixed(4)} (raw ${total.raw.toFixed(4)}; ${m.detected}/${m.windows} windows, ${m.falseAlarms} false alarms)`);
      }
      console.log(`NAB ${detector}: ${got.join('; ')}`);
    });
  }

  it('the null detector (never fires) scores 0 in every profile', () => {
    const series = readSeries('numenta', labels()).map((s) => ({ ...s, scores: new Float64Array(s.tsMs.length) }));
    for (const profile of PROFILE_NAMES) {
      const total = scoreCorpus(series, 0.5, NAB_PROFILES[profile]);
      expect(total.raw).toBe(total.nullScore);
      expect(total.normalized).toBe(0);
      expect(detectionMetrics(total.files)).toMatchObject({ windows: 116, detected: 0, falseAlarms: 0, recall: 0, f1: 0 });
    }
  });

  it('the optimizer (a sweep over every threshold) does at least as well as the published thresholds', () => {
    // NAB's published thresholds came from a local search; the sweep over every distinct score finds thresholds at
    // least as good, and its score is the scorer's score at that threshold.
    for (const detector of Object.keys(PUBLISHED)) {
      const series = readSeries(detector, labels());
      const got: string[] = [];
      for (const profile of PROFILE_NAMES) {
        const best = optimizeThreshold(series, NAB_PROFILES[profile]);
        const at = scoreCorpus(series, best.threshold, NAB_PROFILES[profile]);
        expect(best.score).toBeCloseTo(at.raw, 9);
        const published = scoreCorpus(series, PUBLISHED[detector].threshold[profile], NAB_PROFILES[profile]);
        expect(best.score).toBeGreaterThanOrEqual(published.raw - 1e-9);
        got.push(`${profile} ${best.threshold} -> ${at.normalized.toFixed(2)}`);
      }
      console.log(`NAB ${detector}, best thresholds: ${got.join('; ')}`);
    }
  });
});
