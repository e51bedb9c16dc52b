// `atc eval nab` (src/eval/nab-run.ts, nab-cli.ts) on a small corpus in NAB's layout, built here: two synthetic
// series with known anomalies and the committed nyc_taxi slice. What it prints must be what its result files,
// rescored by the scorer, give; its own detections are the alerts; every mistake is a usage error.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { resolveConfig } from '../src/config.js';
import { NAB_PROFILES, PROFILE_NAMES, labelTimeMs, optimizeThreshold, parseLabelWindows, scoreCorpus, type NabSeries } from '../src/eval/nab.js';
import { evalNab, nabChannels, nabDetectorName, type NabEvalReport } from '../src/eval/nab-run.js';
import { mulberry32, gaussian } from '../src/random.js';
import { runCli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const run = (argv: string[]) => runCli(argv);

const t0 = Date.UTC(2015, 0, 1);
const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
/** 10 days of 5-minute rows: a daily pattern and noise; a spike on day 6 and a level shift from day 8 on. */
function synthetic(seed: number, spikeRow: number, shiftRow: number): string {
  const g = gaussian(mulberry32(seed));
  const lines = ['timestamp,value'];
  for (let i = 0; i < 2880; i++) {
    const v = 20 + 5 * Math.sin((2 * Math.PI * i) / 288) + g() + (i === spikeRow ? 30 : 0) + (i >= shiftRow ? 15 : 0);
    lines.push(`${time(t0 + i * 300_000)},${v.toFixed(3)}`);
  }
  return lines.join('\n') + '\n';
}
const around = (row: number, half: number): [string, string] => [time(t0 + (row - half) * 300_000) + '.000000', time(t0 + (row + half) * 300_000) + '.000000'];

let dir: string;
let out: string;
let report: NabEvalReport;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atc-nab-'));
  out = join(dir, 'results');
  mkdirSync(join(dir, 'data', 'artificialWithAnomaly'), { recursive: true });
  mkdirSync(join(dir, 'data', 'realKnownCause'), { recursive: true });
  mkdirSync(join(dir, 'labels'));
  writeFileSync(join(dir, 'data/artificialWithAnomaly/a.csv'), synthetic(1, 1800, 2400));
  writeFileSync(join(dir, 'data/artificialWithAnomaly/b.csv'), synthetic(2, 2000, 2600));
  cpSync(join(ROOT, 'test/fixtures/nab/realKnownCause/nyc_taxi.csv'), join(dir, 'data/realKnownCause/nyc_taxi.csv'));
  writeFileSync(join(dir, 'labels/combined_windows.json'), JSON.stringify({
    'artificialWithAnomaly/a.csv': [around(1800, 20), around(2400, 20)],
    'artificialWithAnomaly/b.csv': [around(2000, 20), around(2600, 20)],
    'realKnownCause/nyc_taxi.csv': [],
  }));
  const r = await run(['eval', 'nab', '--data', dir, '--json', '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  report = JSON.parse(r.stdout) as NabEvalReport;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads one detector's result files back: NAB's results layout, scores as written. */
function readResults(detector: string): (NabSeries & { key: string })[] {
  const labels = parseLabelWindows(JSON.parse(readFileSync(join(dir, 'labels/combined_windows.json'), 'utf8')));
  const outSeries: (NabSeries & { key: string })[] = [];
  for (const category of readdirSync(join(out, detector)).sort()) {
    for (const f of readdirSync(join(out, detector, category)).sort()) {
      const lines = readFileSync(join(out, detector, category, f), 'utf8').trim().split('\n');
      expect(lines[0]).toBe('timestamp,value,anomaly_score');
      const rows = lines.slice(1).map((l) => l.split(','));
      const key = `${category}/${f.slice(detector.length + 1)}`;
      outSeries.push({
        key, tsMs: rows.map((c) => labelTimeMs(c[0]) as number), scores: rows.map((c) => Number(c[2])), windows: labels.get(key)!,
      });
    }
  }
  return outSeries;
}

describe('atc eval nab', () => {
  it('scores every channel of a value series and the ensemble, which by default is value.novelty', () => {
    expect(report.files).toBe(3);
    expect(report.windows).toBe(4);
    const names = report.detectors.map((d) => d.name);
    expect(names[0]).toBe('ensemble');
    expect(names.slice(1)).toEqual(nabChannels(resolveConfig({})).map((c) => c.name));
    expect(report.detectors.filter((d) => d.configured).map((d) => d.name)).toEqual(['ensemble', 'value.novelty']);
    const ens = report.detectors[0], nov = report.detectors.find((d) => d.name === 'value.novelty')!;
    expect(ens.own).toEqual(nov.own);
    expect(ens.hindsight).toEqual(nov.hindsight);
    // The spikes and shifts are far outside anything seen: the novelty detector finds all four windows itself.
    expect(nov.own.detected).toBe(4);
    expect(nov.own.standard).toBeGreaterThan(50);
  });

  it('writes NAB\'s results layout; rescoring the files gives the printed scores, own and in hindsight', () => {
    for (const name of ['ensemble', 'value.novelty', 'value.zscore']) {
      const d = report.detectors.find((x) => x.name === name)!;
      const hind = readResults(nabDetectorName(name, false));
      const own = readResults(nabDetectorName(name, true));
      expect(hind.map((s) => s.key)).toEqual(['artificialWithAnomaly/a.csv', 'artificialWithAnomaly/b.csv', 'realKnownCause/nyc_taxi.csv']);
      for (const s of hind) expect(s.scores.every((x) => x >= 0 && x < 1), `${name} ${s.key} scores in [0, 1)`).toBe(true);
      for (const s of own) expect(s.scores.every((x) => x === 0 || x === 1), `${name} ${s.key} own scores 0 or 1`).toBe(true);
      const thresholds = JSON.parse(readFileSync(join(out, 'thresholds.json'), 'utf8')) as Record<string, Record<string, { score: number; threshold: number }>>;
      for (const p of PROFILE_NAMES) {
        // As NAB's scorer does: the written scores at the written thresholds give the printed scores exactly.
        const t = thresholds[nabDetectorName(name, false)][p].threshold;
        expect(scoreCorpus(hind, t, NAB_PROFILES[p]).normalized, `${name} hindsight ${p}`).toBe(d.hindsight[p].score);
        expect(scoreCorpus(own, thresholds[nabDetectorName(name, true)][p].threshold, NAB_PROFILES[p]).normalized, `${name} own ${p}`).toBe(d.own[p]);
        expect(optimizeThreshold(hind, NAB_PROFILES[p]).threshold, `${name} best threshold ${p}`).toBe(t);
      }
    }
    const thresholds = JSON.parse(readFileSync(join(out, 'thresholds.json'), 'utf8')) as Record<string, Record<string, { score: number; threshold: number }>>;
    expect(Object.keys(thresholds)).toHaveLength(2 * report.detectors.length);
    expect(thresholds.atc_value_novelty.standard.score).toBeCloseTo(report.detectors.find((d) => d.name === 'value.novelty')!.hindsight.standard.score, 9);
  });

  it('an own detection is a row whose score is at or above 0.5 (the threshold in force) for a static channel', async () => {
    const { runs, channels } = await evalNab({ dataDir: dir, config: resolveConfig({ autoRegister: true }) });
    const k = channels.findIndex((c) => c.name === 'value.novelty');
    let alerts = 0;
    for (const r of runs) {
      for (let i = 0; i < r.tsMs.length; i++) {
        if (r.own[k][i]) { alerts++; expect(r.scores[k][i]).toBeGreaterThanOrEqual(0.5); }
      }
    }
    expect(alerts).toBeGreaterThanOrEqual(4);
  });

  it('prints a table with every detector and the published scoreboard beside it', async () => {
    const r = await run(['eval', 'nab', '--data', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NAB corpus: 3 series, 6,760 rows, 4 windows; \d+\.\d s\n/);
    for (const d of report.detectors) expect(r.stdout).toContain(d.name);
    expect(r.stdout).toContain('Numenta HTM 70.10 / 63.12 / 74.32');
  });

  it('--report writes one HTML page: the scores table and a panel per series, its windows included', async () => {
    const path = join(dir, 'nab.html');
    const r = await run(['eval', 'nab', '--data', dir, '--report', path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote .*nab\.html \(\d+\.\d MB, 3 panels\)/);
    const html = readFileSync(path, 'utf8');
    expect(html).toContain('NAB scores (normalized; own thresholds and best threshold in hindsight)');
    for (const key of ['artificialWithAnomaly/a.csv', 'artificialWithAnomaly/b.csv', 'realKnownCause/nyc_taxi.csv']) expect(html).toContain(key);
    expect(html).toContain('The configured ensemble (its alerts are atc&#39;s own detections) is value.novelty.');
    const missing = await run(['eval', 'nab', '--data', dir, '--report', join(dir, 'no/such/dir/r.html')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--report .*does not exist/);
  });

  it('per-instrument thresholds of the configuration (atc calibrate\'s output) apply to their series', async () => {
    const cfg = join(dir, 'per-instrument.json');
    writeFileSync(cfg, JSON.stringify({ instruments: { 'artificialWithAnomaly/a': { 'value.novelty': 1e9 } } })); // named as calibrate names it
    const { runs, channels } = await evalNab({ dataDir: dir, config: await (await import('../src/cli-common.js')).loadReplayConfig(cfg) });
    const k = channels.findIndex((c) => c.name === 'value.novelty');
    const ownOf = (key: string) => runs.find((r) => r.key === key)!.own[k].reduce((a, x) => a + x, 0);
    expect(ownOf('artificialWithAnomaly/a.csv')).toBe(0); // its threshold is out of reach
    expect(ownOf('artificialWithAnomaly/b.csv')).toBeGreaterThan(0); // the others keep the configured 100 bps
  });

  it('a learned channel the configuration enables over value features is scored like the others and joins the ensemble', async () => {
    const cfg = join(dir, 'hst.json');
    writeFileSync(cfg, JSON.stringify({
      features: { valueChange: { enabled: true, detectors: [] } }, // a coordinate for HST, no channel of its own in the ensemble
      learned: { hst: { enabled: true, features: ['value', 'valueChange'], window: 64 } },
      thresholds: { novelty: { mode: 'static', threshold: 100 }, hst: { mode: 'static', threshold: 6 } },
    }));
    const hstOut = join(dir, 'results-hst');
    const r = await run(['eval', 'nab', '--data', dir, '--config', cfg, '--json', '--out', hstOut]);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as NabEvalReport;
    const names = rep.detectors.map((d) => d.name);
    expect(names.slice(0, -1)).toEqual(report.detectors.map((d) => d.name)); // the table's rows, then the learned one
    expect(names.at(-1)).toBe('vector.hst');
    expect(rep.detectors.filter((d) => d.configured).map((d) => d.name)).toEqual(['ensemble', 'value.novelty', 'vector.hst']);
    const hst = rep.detectors.at(-1)!;
    for (const p of PROFILE_NAMES) {
      expect(Number.isFinite(hst.own[p]), p).toBe(true);
      expect(hst.hindsight[p].score).toBeGreaterThanOrEqual(0); // the null detector's 0 is always available in hindsight
    }
    // The other channels are unchanged by it (channels are independent); the ensemble now holds HST's alerts too.
    expect(rep.detectors.find((d) => d.name === 'value.novelty')).toEqual(report.detectors.find((d) => d.name === 'value.novelty'));
    const { runs, channels } = await evalNab({ dataDir: dir, config: await (await import('../src/cli-common.js')).loadReplayConfig(cfg) });
    const k = channels.findIndex((c) => c.name === 'vector.hst');
    const nov = channels.findIndex((c) => c.name === 'value.novelty');
    expect(channels[k]).toMatchObject({ feature: 'vector', detector: 'hst', learned: true, configured: true });
    let alerts = 0, scored = 0;
    for (const run of runs) {
      const n = run.tsMs.length;
      for (let i = 0; i < n; i++) {
        // HST steps on every row (value is observed on each); it scores 0 through its first window of 64 rows.
        if (i < 64) expect(run.scores[k][i]).toBe(0);
        else if (run.scores[k][i] > 0) scored++;
        expect(run.scores[k][i]).toBeLessThan(1);
        if (run.own[k][i]) { alerts++; expect(run.scores[k][i]).toBeGreaterThanOrEqual(0.5); }
        expect(run.ensemble.own[i]).toBe(run.own[k][i] | run.own[nov][i]);
        expect(run.ensemble.scores[i]).toBe(Math.max(run.scores[k][i], run.scores[nov][i]));
      }
    }
    expect(scored).toBeGreaterThan(runs.reduce((a, x) => a + x.tsMs.length - 64, 0) * 0.9);
    expect(alerts).toBeGreaterThan(0);
    // Its result files rescore to the printed scores, as for every detector.
    const t = JSON.parse(readFileSync(join(hstOut, 'thresholds.json'), 'utf8')) as Record<string, Record<string, { threshold: number }>>;
    const labels = parseLabelWindows(JSON.parse(readFileSync(join(dir, 'labels/combined_windows.json'), 'utf8')));
    for (const own of [false, true]) {
      const det = nabDetectorName('vector.hst', own);
      expect(det).toBe(own ? 'atc_own_vector_hst' : 'atc_vector_hst');
      const series = readdirSync(join(hstOut, det)).sort().flatMap((cat) => readdirSync(join(hstOut, det, cat)).sort().map((f) => {
        const rows = readFileSync(join(hstOut, det, cat, f), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
        const key = `${cat}/${f.slice(det.length + 1)}`;
        return { tsMs: rows.map((c) => labelTimeMs(c[0]) as number), scores: rows.map((c) => Number(c[2])), windows: labels.get(key)! };
      }));
      expect(scoreCorpus(series, t[det].standard.threshold, NAB_PROFILES.standard).normalized).toBe(own ? hst.own.standard : hst.hindsight.standard.score);
    }
    // Over market features (the default vector) it could never step on a value series: no row, as before.
    const market = join(dir, 'hst-market.json');
    writeFileSync(market, JSON.stringify({ learned: { hst: { enabled: true } } }));
    const m = await run(['eval', 'nab', '--data', dir, '--config', market, '--json']);
    expect(m.code, m.stderr).toBe(0);
    expect((JSON.parse(m.stdout) as NabEvalReport).detectors.map((d) => d.name)).toEqual(report.detectors.map((d) => d.name));
  });

  it('usage errors name what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['eval', 'nab'], /--data DIR is required/],
      [['eval', 'nab', '--data', join(dir, 'nope')], /no such directory/],
      [['eval', 'nab', '--data', join(dir, 'labels')], /no data\/ directory/],
      [['eval', 'nab', '--data', dir, 'extra'], /unexpected argument "extra"/],
      [['eval', 'nab', '--data', dir, '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(re);
    }
    const noLabels = mkdtempSync(join(tmpdir(), 'atc-nab-bad-'));
    try {
      mkdirSync(join(noLabels, 'data', 'x'), { recursive: true });
      writeFileSync(join(noLabels, 'data/x/s.csv'), synthetic(3, 100, 200));
      let r = await run(['eval', 'nab', '--data', noLabels]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/labels.*combined_windows\.json: no such file/);
      mkdirSync(join(noLabels, 'labels'));
      writeFileSync(join(noLabels, 'labels/combined_windows.json'), JSON.stringify({ 'x/other.csv': [] }));
      r = await run(['eval', 'nab', '--data', noLabels]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no windows for x\/s\.csv/);
      writeFileSync(join(noLabels, 'labels/combined_windows.json'), JSON.stringify({ 'x/s.csv': [] }));
      writeFileSync(join(noLabels, 'stranger.json'), JSON.stringify({ instruments: { 'x/s.csv': { 'value.novelty': 5 } } }));
      r = await run(['eval', 'nab', '--data', noLabels, '--config', join(noLabels, 'stranger.json')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/instruments "x\/s\.csv" name no series of the corpus .*like "x\/s"/);
      r = await run(['eval', 'nab', '--data', noLabels, '--out', join(noLabels, 'labels/combined_windows.json')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--out .*combined_windows\.json: not a directory/);
      writeFileSync(join(noLabels, 'data/x/s.csv'), synthetic(3, 100, 200).replace('\n2015-01-01 00:05:00,', '\n2015-01-01 00:05:00,oops'));
      r = await run(['eval', 'nab', '--data', noLabels]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/s\.csv: 1 malformed rows \(badNumber: line 3: .*every row of a NAB series must be readable/);
      writeFileSync(join(noLabels, 'data/x/s.csv'), synthetic(3, 100, 200));
      writeFileSync(join(noLabels, 'off.json'), JSON.stringify({ features: { value: { enabled: false } } }));
      r = await run(['eval', 'nab', '--data', noLabels, '--config', join(noLabels, 'off.json')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/features\.value: no detector is enabled/);
    } finally {
      rmSync(noLabels, { recursive: true, force: true });
    }
  });
});
