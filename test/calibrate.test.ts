// atc calibrate, with the real engine: thresholds fitted per instrument and channel give the target alert rate on the
// fit split; the output file loads with --config (and a replay with it reproduces the fit's alert counts, channel by
// channel, in the merged stream); the result does not depend on the number of workers; PUT /thresholds takes the
// file on a real sidecar and a checkpoint keeps it; every bad input is a usage error that names the problem.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind } from '../src/abi.js';
import { calibrate, type CalibrationReport, type CalibrationResult } from '../src/calibrate/index.js';
import { parseRate } from '../src/calibrate/cli.js';
import { ChannelSearch } from '../src/calibrate/search.js';
import { loadReplayConfig, UsageError } from '../src/cli-common.js';
import { main } from '../src/cli.js';
import type { EventBatch } from '../src/events.js';
import { marketStream, SECOND } from '../src/synthetic.js';
import { httpUrl, startSidecar } from './helpers/sidecar.js';
import { runCli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE = join(ROOT, 'data/samples/binance-usdm-btcusdt.txt.gz');
const TAXI = join(ROOT, 'test/fixtures/nab/realKnownCause/nyc_taxi.csv');

const cli = (argv: string[]) => runCli(argv);

/** A batch as canonical NDJSON events (docs/protocol.md), instruments named I<id>. */
function toNdjson(b: EventBatch): string {
  const names: Record<number, string[]> = {
    [Kind.trade]: ['price', 'size', 'side'], [Kind.quote]: ['bid', 'bidSize', 'ask', 'askSize', 'bidDepth', 'askDepth'],
    [Kind.mark]: ['mark', 'index', 'funding'], [Kind.option]: ['markIv', 'underlying', 'markPrice'], [Kind.value]: ['value'],
  };
  const kinds = Object.fromEntries(Object.entries(Kind).map(([k, v]) => [v, k]));
  let out = '';
  for (let i = 0; i < b.length; i++) {
    const e: Record<string, unknown> = { ts: b.tsNs[i].toString(), instrument: `I${b.instrument[i]}`, kind: kinds[b.kind[i]] };
    names[b.kind[i]].forEach((name, k) => { const v = b.f[k][i]; if (!Number.isNaN(v)) e[name] = v; });
    out += `${JSON.stringify(e)}\n`;
  }
  return out;
}

let dir: string;
let synth: string;
const RATE = 10;
/** Lower floor and no cooldown: enough alerts per channel in three hours to count, not model. */
const CONFIG = { thresholdFloor: 1, suppression: { cooldownMs: 5_000 } };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atc-calibrate-'));
  // Two instruments, three hours, every event kind.
  const b = marketStream({ seed: 5, instruments: [0, 1], n: 3 * 3600 * 10, gapNs: SECOND / 10n });
  synth = join(dir, 'synthetic.ndjson');
  writeFileSync(synth, toNdjson(b));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
});
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

const stripVolatile = (r: CalibrationReport) => ({ ...r, seconds: 0, method: { ...r.method, workers: 0 } });

describe('atc calibrate on a seeded synthetic stream', () => {
  let one: CalibrationResult;

  it('fits every channel it can to the target count on the fit split, and validates near it', async () => {
    one = await calibrate({ inputs: [{ path: synth, format: 'ndjson' }], config: CONFIG, targetPerHour: RATE, workers: 1 });
    const fold = one.report.folds[0];
    const [fit, val] = fold.splits;
    expect(fit.name).toBe('fit');
    expect(val.name).toBe('validation');
    const fitted = fold.channels.filter((c) => c.status === 'fitted');
    expect(fitted.length).toBeGreaterThanOrEqual(15);
    for (const c of fitted) {
      const s = c.splits[0];
      // The count at the chosen threshold is the nearest the step function comes to the target: within an alert or two.
      expect(Math.abs(s.alerts - s.targetAlerts), `${c.instrument} ${c.feature}.${c.detector}`).toBeLessThanOrEqual(Math.max(2, 0.1 * s.targetAlerts));
    }
    expect(fit.fitted.ratio).toBeGreaterThan(0.97);
    expect(fit.fitted.ratio).toBeLessThan(1.03);
    // Stationary data: the later 30% sees about the target too (Poisson noise of a few hundred alerts, and thresholds
    // fitted on a finite sample).
    expect(val.fitted.targetAlerts).toBeGreaterThan(100);
    expect(val.fitted.ratio).toBeGreaterThan(0.75);
    expect(val.fitted.ratio).toBeLessThan(1.25);
    // Every channel is accounted for: fitted, or reported with the reason it is not.
    for (const c of fold.channels) expect(['fitted', 'tail', 'belowTarget', 'silent', 'unobserved', 'capped']).toContain(c.status);
    expect(one.report.unfitted.every((u) => u.note.length > 0)).toBe(true);
  });

  it('gives the same thresholds and report with 1 and 2 workers, and on the main thread', async () => {
    const two = await calibrate({ inputs: [{ path: synth, format: 'ndjson' }], config: CONFIG, targetPerHour: RATE, workers: 2 });
    expect(two.output).toEqual(one.output);
    expect(stripVolatile(two.report)).toEqual(stripVolatile(one.report));
    const inline = await calibrate({ inputs: [{ path: synth, format: 'ndjson' }], config: CONFIG, targetPerHour: RATE, workers: 0 });
    expect(inline.output).toEqual(one.output);
  });

  it('writes a configuration that replay loads, and a replay with it reproduces the fit period\'s alerts channel by channel', async () => {
    const out = join(dir, 'thresholds.json');
    const r = await cli(['calibrate', synth, '--config', join(dir, 'config.json'), '--target-rate', `${RATE}/h`, '--out', out, '--workers', '1', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as CalibrationReport;
    const written = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    expect(written).toEqual(one.output);
    // A complete configuration: the user's settings kept, every enabled channel in the table, both instruments.
    expect(written.thresholdFloor).toBe(1);
    expect(Object.keys(written.instruments as object).sort()).toEqual(['I0', 'I1']);
    const config = await loadReplayConfig(out);
    expect(config.instruments.I0['return.zscore']).toBeGreaterThan(0);
    expect(config.thresholds['return.zscore'].mode).toBe('fixed');

    const replay = await cli(['replay', synth, '--config', out]);
    expect(replay.code).toBe(0);
    const fitEnd = BigInt(report.folds[0].splits[0].toNs);
    const got = new Map<string, number>();
    for (const line of replay.stdout.trim().split('\n')) {
      const a = JSON.parse(line) as { instrument: string; feature: string; detector: string; tsNs: string };
      if (BigInt(a.tsNs) >= fitEnd) continue;
      const key = `${a.instrument} ${a.feature}.${a.detector}`;
      got.set(key, (got.get(key) ?? 0) + 1);
    }
    const want = new Map<string, number>();
    for (const c of report.folds[0].channels) if (c.splits[0].alerts > 0) want.set(`${c.instrument} ${c.feature}.${c.detector}`, c.splits[0].alerts);
    expect(got).toEqual(want);
  });

  it('--per instrument shares an instrument\'s target among its scoring channels', async () => {
    const { report } = await calibrate({ inputs: [{ path: synth, format: 'ndjson' }], config: CONFIG, targetPerHour: 60, per: 'instrument', workers: 2 });
    expect(report.per).toBe('instrument');
    const fold = report.folds[0];
    for (const name of ['I0', 'I1']) {
      const mine = fold.channels.filter((c) => c.instrument === name && c.splits[0].hours > 0);
      // Each channel's target is 60/h over the channels that score, per hour it scores.
      for (const c of mine) expect(c.splits[0].targetAlerts / c.splits[0].hours).toBeCloseTo(60 / mine.length, 9);
    }
    expect(fold.splits[0].fitted.ratio).toBeGreaterThan(0.9);
    expect(fold.splits[0].fitted.ratio).toBeLessThan(1.1);
  });

  it('walks forward in expanding folds, and refits the output on the whole span', async () => {
    const r = await calibrate({ inputs: [{ path: synth, format: 'ndjson' }], config: CONFIG, targetPerHour: RATE, folds: 2, refit: true, workers: 2 });
    expect(r.report.folds.map((f) => f.splits.map((s) => s.name))).toEqual([['fit', 'validation'], ['fit', 'validation']]);
    const [a, b] = r.report.folds;
    // Fold 2 fits on what fold 1 fitted and validated on; each validates on the next third.
    expect(b.splits[0].toNs).toBe(a.splits[1].toNs);
    expect(BigInt(a.splits[1].toNs)).toBeLessThan(BigInt(b.splits[1].toNs));
    for (const f of r.report.folds) {
      expect(f.splits[0].fitted.ratio).toBeGreaterThan(0.95);
      expect(f.splits[0].fitted.ratio).toBeLessThan(1.05);
      expect(f.splits[1].fitted.ratio).toBeGreaterThan(0.6);
      expect(f.splits[1].fitted.ratio).toBeLessThan(1.4);
    }
    expect(r.report.output.fittedOn.toNs).toBe((BigInt(r.report.data.toNs) + 1n).toString());
  });
});

describe('atc calibrate on the committed real sample (3 minutes of BTCUSDT)', () => {
  it('fits the channels the sample can count to the target on the fit split; the rest go through the tail model or are reported', async () => {
    // Three minutes hold few episodes: a high target (5 a minute) and no cooldown make them countable.
    const config = { thresholdFloor: 0.5, suppression: { cooldownMs: 0 } };
    const { report, output } = await calibrate({ inputs: [{ path: SAMPLE, format: 'auto' }], config, targetPerHour: 300, workers: 1 });
    const fold = report.folds[0];
    const fitted = fold.channels.filter((c) => c.status === 'fitted');
    expect(fitted.length).toBeGreaterThanOrEqual(3);
    for (const c of fitted) expect(Math.abs(c.splits[0].alerts - c.splits[0].targetAlerts)).toBeLessThanOrEqual(Math.max(2, 0.1 * c.splits[0].targetAlerts));
    expect(fold.splits[0].fitted.ratio).toBeGreaterThan(0.85);
    expect(fold.splits[0].fitted.ratio).toBeLessThan(1.15);
    // Features the sample does not have (marks, options, values) are reported as not scored, not given thresholds.
    expect(fold.channels.find((c) => c.feature === 'basis')?.status).toBe('unobserved');
    const btc = (output.instruments as Record<string, Record<string, number>>).BTCUSDT;
    expect(btc['basis.zscore']).toBeUndefined();
    expect(btc['spread.zscore']).toBeGreaterThan(0.5);
  });

  it('at 2/h, too little data to count: every channel reached goes through the tail model, and the report shows how little the split can resolve', async () => {
    const { report } = await calibrate({ inputs: [{ path: SAMPLE, format: 'auto' }], config: {}, targetPerHour: 2, workers: 1 });
    const fold = report.folds[0];
    const reached = fold.channels.filter((c) => c.status === 'tail');
    expect(reached.length).toBeGreaterThan(0);
    for (const c of reached) expect(c.tail!.peaks).toBeGreaterThan(0);
    // Under one alert expected over the fit: the Poisson band of the ratio is wide, and said so.
    expect(fold.splits[0].fitted.targetAlerts).toBeLessThan(2);
    expect(fold.splits[0].fitted.poisson95[1]).toBeGreaterThan(2);
  });
});

describe('--report FILE', () => {
  it('writes one HTML page: the splits, the thresholds by channel, a panel per feature that the sample observed', async () => {
    const path = join(dir, 'calibrate.html');
    const r = await cli(['calibrate', SAMPLE, '--report', path, '--workers', '1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/wrote the report .*calibrate\.html \(\d+ panels/);
    const html = readFileSync(path, 'utf8');
    for (const text of ['atc calibrate: 2/h per channel', 'Splits against the target', 'Thresholds and rates by channel', 'BTCUSDT', 'spread.zscore']) expect(html, text).toContain(text);
    const bad = await cli(['calibrate', SAMPLE, '--report', join(dir, 'no/such/dir/x.html'), '--workers', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('does not exist');
  });
});

describe('PUT /thresholds with the calibrated file', () => {
  it('changes a running sidecar\'s thresholds, and a checkpoint keeps them', async () => {
    const file = JSON.parse(readFileSync(join(dir, 'thresholds.json'), 'utf8')) as { instruments: Record<string, Record<string, number>> };
    const checkpoint = join(dir, 'checkpoint.bin');
    const s = await startSidecar({ checkpointPath: checkpoint });
    try {
      const put = await fetch(httpUrl(s, '/thresholds'), { method: 'PUT', body: JSON.stringify(file) });
      const body = await put.json() as { appliedAfter: number; thresholds: { feature: string; detector: string; mode: string; threshold: number }[]; instruments: Record<string, Record<string, number>>; ignored?: string[] };
      expect(put.status).toBe(200);
      expect(body.appliedAfter).toBe(0);
      // The file's other options (thresholdFloor, suppression) cannot change live: named, not silently dropped.
      expect(body.ignored?.sort()).toEqual(['suppression', 'thresholdFloor']);
      expect(body.instruments.I0['return.zscore']).toBe(file.instruments.I0['return.zscore']);
      expect(body.instruments).toEqual(file.instruments);
      expect(body.thresholds.find((t) => t.feature === 'return' && t.detector === 'zscore')?.mode).toBe('fixed');
      // A bad file changes nothing and says what is wrong.
      const bad = await fetch(httpUrl(s, '/thresholds'), { method: 'PUT', body: JSON.stringify({ instruments: { I0: { 'retrun.zscore': 3 } } }) });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toContain('instruments.I0.retrun.zscore');
      await s.checkpoint();
    } finally {
      await s.stop();
    }
    const restored = await startSidecar({ checkpointPath: checkpoint }, { restore: new Uint8Array(readFileSync(checkpoint)) });
    try {
      const get = await (await fetch(httpUrl(restored, '/thresholds'))).json() as { instruments: Record<string, Record<string, number>> };
      expect(get.instruments).toEqual(file.instruments);
    } finally {
      await restored.stop();
    }
  });
});

describe('atc serve --config with the calibrated file', () => {
  it('registers the named instruments at start with their thresholds', async () => {
    const file = JSON.parse(readFileSync(join(dir, 'thresholds.json'), 'utf8')) as { instruments: Record<string, Record<string, number>> };
    const s = await startSidecar({}, { config: file });
    try {
      expect(s.registry.toJSON()).toEqual(Object.keys(file.instruments));
      const get = await (await fetch(httpUrl(s, '/thresholds'))).json() as { instruments: Record<string, Record<string, number>> };
      expect(get.instruments).toEqual(file.instruments);
    } finally {
      await s.stop();
    }
    await expect(startSidecar({}, { config: { maxInstruments: 1, instruments: { A: { cusum: 5 }, B: { cusum: 5 } } } })).rejects.toThrow(/config\.instruments: would register 2 new instruments/);
  });
});

describe('labels: the rate chosen by the objective under a ceiling', () => {
  it('tries the ceiling and its halvings, and keeps the best F1 whose achieved rate is under the ceiling', async () => {
    const labels = join(dir, 'windows.json');
    writeFileSync(labels, JSON.stringify({ 'realKnownCause/nyc_taxi.csv': [['2014-07-10 00:00:00', '2014-07-11 00:00:00'], ['2014-07-20 00:00:00', '2014-07-20 12:00:00']] }));
    const r = await cli(['calibrate', TAXI, '--labels', labels, '--objective', 'f1', '--max-rate', '0.05/h', '--workers', '1', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as CalibrationReport;
    const sel = report.selection!;
    expect(sel.objective).toBe('f1');
    expect(sel.grid.map((g) => g.targetPerHour)).toEqual(Array.from({ length: 8 }, (_, k) => 0.05 / 2 ** k));
    const eligible = sel.grid.filter((g) => g.underCeiling && g.objective !== null);
    const best = Math.max(...eligible.map((g) => g.objective));
    expect(sel.chosenPerHour).toBe(eligible.find((g) => g.objective === best)!.targetPerHour);
    expect(report.targetPerHour).toBe(sel.chosenPerHour);
  });
});

describe('bad inputs are usage errors that name the problem', () => {
  it('rates', () => {
    expect(parseRate('2/h', 'x')).toBe(2);
    expect(parseRate('0.5/min', 'x')).toBe(30);
    expect(parseRate('48/d', 'x')).toBe(2);
    expect(parseRate('3', 'x')).toBe(3);
    for (const bad of ['', '2/x', '-1/h', '0', 'two', '2/h/h', 'NaN']) expect(() => parseRate(bad, '--target-rate'), bad).toThrow(UsageError);
  });

  it('options, files, configuration and labels', async () => {
    const badLabels = join(dir, 'bad-labels.json');
    writeFileSync(badLabels, JSON.stringify({ 'realKnownCause/nyc_taxi.csv': [['2014-07-11 00:00:00', '2014-07-10 00:00:00']] }));
    const badConfig = join(dir, 'bad-config.json');
    writeFileSync(badConfig, JSON.stringify({ instruments: { BTCUSDT: { 'spread.zscroe': 3 } } }));
    const cases: [string[], string][] = [
      [['--target-rate', '2/fortnight'], '--target-rate must be a rate like 2/h'],
      [['--split', '1.5'], '--split must be a number in (0, 1]'],
      [['--split', '0'], '--split must be a number in (0, 1]'],
      [['--folds', '1'], '--folds must be an integer in [2, 20]'],
      [['--split', '0.5', '--folds', '3'], '--split and --folds exclude each other'],
      [['--workers=-1'], '--workers must be an integer in [0, 256]'],
      [['--objective', 'nab'], '--objective needs --labels FILE'],
      [['--labels', badLabels], `--labels ${badLabels}:`],
      [['--labels', join(dir, 'missing.json')], 'no such file'],
      [['--config', badConfig], 'config.instruments.BTCUSDT.spread.zscroe: unknown detector "zscroe"'],
      [['--instruments', 'ETHUSDT'], '--instruments: no instrument "ETHUSDT" in the input (instruments: BTCUSDT)'],
      [['--format', 'xml'], '--format must be one of'],
      [['--out', join(dir, 'no/such/dir/t.json')], 'does not exist'],
      [['--out', dir], 'is a directory'],
      [['--per', 'venue'], '--per must be channel or instrument'],
      [['--nonsense'], "Unknown option '--nonsense'"],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['calibrate', SAMPLE, ...args, ...(args.some((a) => a.startsWith('--workers')) ? [] : ['--workers', '0'])]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    const none = await cli(['calibrate']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no input file given');
    const labelledElsewhere = join(dir, 'other-labels.json');
    writeFileSync(labelledElsewhere, JSON.stringify({ ETHUSDT: [] }));
    const unmatched = await cli(['calibrate', SAMPLE, '--labels', labelledElsewhere, '--workers', '0']);
    expect(unmatched.code).toBe(2);
    expect(unmatched.stderr).toContain('--labels: no instrument of the input has windows there');
  });

  it('--help explains every option, and atc --help lists the command', async () => {
    const help = await cli(['calibrate', '--help']);
    expect(help.code).toBe(0);
    for (const word of ['--target-rate', '--config', '--out', '--split', '--folds', '--refit', '--instruments', '--format', '--labels', '--objective', '--max-rate', '--profile', '--workers', '--json', '--progress', '--report', '--per', '--help']) {
      expect(help.stdout, word).toContain(word);
    }
    expect((await cli(['--help'])).stdout).toContain('atc calibrate');
  });
});

describe('the search of one channel', () => {
  it('bisects a step function to the count nearest the target, and extrapolates an exponential tail below 10', () => {
    const o = { lo: 1, hi: 1e6, eps: 1e-3, nMin: 10 };
    // N(t) = number of peaks >= t, peaks at 2, 3, ..., 41 (40 peaks).
    const peaks = Array.from({ length: 40 }, (_, k) => 2 + k);
    const N = (t: number) => peaks.filter((p) => p >= t).length;
    const run = (target: number) => {
      const s = new ChannelSearch(target, 1, o);
      for (let round = 0; round < 60 && !s.done; round++) for (const t of s.propose()) s.observe(t, N(t));
      expect(s.done).toBe(true);
      return s.result();
    };
    const r = run(20);
    expect(r.status).toBe('fitted');
    expect(N(r.threshold)).toBe(20);
    expect(r.probes).toBeLessThan(30);
    // Target 0.5: peaks 41..32 (the 10 largest) above u = the 11th (31), mean excess 5.5: u + 5.5 ln(10 / 0.5).
    const t = run(0.5);
    expect(t.status).toBe('tail');
    expect(t.tail!.peaks).toBe(10);
    expect(t.tail!.u).toBeCloseTo(31, 1);
    expect(t.tail!.sigma).toBeCloseTo(5.5, 1);
    expect(t.threshold).toBeCloseTo(31 + 5.5 * Math.log(20), 1);
    expect(new ChannelSearch(5, 0, o).result().status).toBe('unobserved');
    const silent = new ChannelSearch(5, 1, o);
    silent.observe(1, 0);
    expect(silent.result().status).toBe('silent');
    const below = new ChannelSearch(50, 1, o);
    below.observe(1, 40);
    expect(below.result()).toMatchObject({ status: 'belowTarget', threshold: 1, expectedAlerts: 40 });
  });
});
