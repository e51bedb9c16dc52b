// `atc eval` (src/eval/cli.ts) over the committed NAB slices: the alerts of `atc replay` become the detections of
// their rows, the scores are the scorer's over those rows, and every mistake in the arguments or the labels file
// is a usage error that says what to fix.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, UsageError } from '../src/cli.js';
import { duration, evalCommand, labelSeriesName, type EvalReport } from '../src/eval/cli.js';
import { NAB_PROFILES, scoreFile, type TimeWindow } from '../src/eval/nab.js';
import { runCli, Sink } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TAXI = join(ROOT, 'test/fixtures/nab/realKnownCause/nyc_taxi.csv');
const ADX = join(ROOT, 'test/fixtures/nab/realAdExchange/exchange-2_cpc_results.csv');
const EVENTS = join(ROOT, 'test/fixtures/ndjson/events.ndjson');

const run = (argv: string[]) => runCli(argv, evalCommand);

let dir: string;
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
const WINDOW: [string, string] = ['2014-07-10 00:00:00.000000', '2014-07-11 00:00:00.000000'];
let labels: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atc-eval-'));
  labels = file('windows.json', JSON.stringify({
    'realKnownCause/nyc_taxi.csv': [WINDOW, ['2014-07-20 00:00:00', '2014-07-20 12:00:00']],
    'realAdExchange/exchange-2_cpc_results.csv': [],
    'realKnownCause/not_given.csv': [],
  }));
});
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

describe('atc eval', () => {
  it('scores the rows the engine alerted on, as the scorer scores them', async () => {
    const { code, stdout, stderr } = await run([TAXI, ADX, '--labels', labels, '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as EvalReport;
    expect(report.profile).toBe('standard');
    expect(report.series.map((s) => [s.name, s.label, s.rows, s.probationRows])).toEqual([
      ['realKnownCause/nyc_taxi', 'realKnownCause/nyc_taxi.csv', 1000, 150],
      ['realAdExchange/exchange-2_cpc_results', 'realAdExchange/exchange-2_cpc_results.csv', 300, 45],
    ]);
    expect(report.notInInput).toEqual(['realKnownCause/not_given.csv']);
    expect(report.unlabelled).toEqual([]);
    expect(report.events).toBe(1300);
    const taxi = report.series[0];
    // 2014-07-10 00:00 .. 2014-07-11 00:00, every 30 minutes: 49 rows
    expect(taxi.windows[0]).toMatchObject({ start: '2014-07-10T00:00:00.000Z', end: '2014-07-11T00:00:00.000Z', rows: 49, scoredRows: 49 });
    expect(taxi.windows[1]).toMatchObject({ rows: 25 });

    // The same files through `atc replay`: every alert's time is a row of its series (the times are unique).
    const out = new Sink(), err = new Sink();
    expect(await main(['replay', TAXI, ADX], { stdout: out, stderr: err })).toBe(0);
    const alerts = out.text.trim().split('\n').filter((l) => l).map((l) => JSON.parse(l) as { instrument: string; time: string });
    expect(alerts.length).toBe(report.total.alerts);
    const times = Array.from({ length: 1000 }, (_, i) => Date.UTC(2014, 6, 1) + i * 30 * 60_000);
    const alerted = new Set(alerts.filter((a) => a.instrument === 'realKnownCause/nyc_taxi').map((a) => Date.parse(a.time)));
    expect(taxi.alertRows).toBe(alerted.size);
    const windows: TimeWindow[] = [[Date.UTC(2014, 6, 10), Date.UTC(2014, 6, 11)], [Date.UTC(2014, 6, 20), Date.UTC(2014, 6, 20, 12)]];
    const expected = scoreFile({ tsMs: times, scores: times.map((t) => (alerted.has(t) ? 1 : 0)), windows }, 1, NAB_PROFILES.standard);
    expect(taxi.nab.raw).toBeCloseTo(expected.score, 12);
    expect(taxi.metrics).toMatchObject({ windows: 2, detected: expected.detectedWindows, falseAlarms: expected.falseAlarms });

    // The total is over both series; the ad exchange series has no windows: its false alarms count, nothing else.
    const adx = report.series[1];
    expect(adx.metrics.windows).toBe(0);
    expect(adx.nab.normalized).toBeNull(); // NaN in JSON
    expect(report.total.nab.raw).toBeCloseTo(taxi.nab.raw + adx.nab.raw, 12);
    expect(report.total.nab.nullScore).toBe(-2);
    expect(report.total.nab.perfectScore).toBe(2);
    expect(report.total.metrics.falseAlarms).toBe(taxi.metrics.falseAlarms + adx.metrics.falseAlarms);
    expect(stderr).toMatch(/atc eval: 2 series scored, 1,300 events/);
    expect(stderr).toMatch(/labelled series not in the input: 1 of 3/);
  });

  it('prints a table by default, and the profile changes the costs', async () => {
    const std = await run([TAXI, '--labels', labels]);
    expect(std.code).toBe(0);
    const lines = std.stdout.split('\n');
    expect(lines[0]).toMatch(/^series\s+rows\s+windows\s+found\s+false alarms\s+precision\s+recall\s+F1\s+mean delay\s+alarms\/h\s+NAB raw\s+NAB$/);
    expect(lines[1]).toMatch(/^realKnownCause\/nyc_taxi\s+1,000\s+2\s/);
    expect(lines.find((l) => l.startsWith('total'))).toBeDefined();
    expect(std.stdout).toMatch(/NAB score, profile standard \(tp 1, fp 0.11, fn 1\): -?\d+\.\d\d \(raw -?\d+\.\d{4}; null detector -2\.0000, perfect 2\.0000\)/);

    const lowFn = JSON.parse((await run([TAXI, '--labels', labels, '--profile', 'reward_low_FN_rate', '--json'])).stdout) as EvalReport;
    expect(lowFn.cost).toEqual(NAB_PROFILES.reward_low_FN_rate);
    expect(lowFn.total.nab.nullScore).toBe(-4);
  });

  it('a configuration\'s per-instrument thresholds (atc calibrate\'s output) apply, as in replay', async () => {
    const base = JSON.parse((await run([TAXI, ADX, '--labels', labels, '--json'])).stdout) as EvalReport;
    const taxiAlerts = base.series.find((x) => x.name === 'realKnownCause/nyc_taxi')!.alerts;
    expect(taxiAlerts).toBeGreaterThan(0);
    const cfg = file('quiet-taxi.json', JSON.stringify({ instruments: { 'realKnownCause/nyc_taxi': { 'value.novelty': 1e9 } } }));
    const quiet = JSON.parse((await run([TAXI, ADX, '--labels', labels, '--json', '--config', cfg])).stdout) as EvalReport;
    expect(quiet.series.find((x) => x.name === 'realKnownCause/nyc_taxi')!.alerts).toBe(0);
    expect(quiet.series.find((x) => x.name === 'realAdExchange/exchange-2_cpc_results')!.alerts)
      .toBe(base.series.find((x) => x.name === 'realAdExchange/exchange-2_cpc_results')!.alerts);
  });

  it('instruments without labels are not scored; none with labels is an error', async () => {
    const some = file('some.json', JSON.stringify({ BTCUSDT: [['2024-08-08T23:54:15Z', '2024-08-08T23:54:16Z']] }));
    const r = await run([EVENTS, '--labels', some, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as EvalReport;
    expect(report.series.map((s) => s.name)).toEqual(['BTCUSDT']);
    expect(report.unlabelled.length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/not scored \(no windows in --labels\): /);

    const none = file('none.json', JSON.stringify({ 'realTweets/Twitter_volume_AAPL.csv': [] }));
    await expect(run([EVENTS, '--labels', none])).rejects.toThrow(/--labels .*none\.json: no instrument of the input has windows there \(instruments: "BTCUSDT"/);
  });

  it('usage errors name what to fix', async () => {
    const bad = async (argv: string[], message: RegExp) => {
      const p = run(argv);
      await expect(p).rejects.toBeInstanceOf(UsageError);
      await expect(p).rejects.toThrow(message);
    };
    await bad([TAXI], /--labels FILE is required/);
    await bad(['--labels', labels], /no input file given/);
    await bad([TAXI, '--labels', labels, '--profile', 'strict'], /--profile must be one of standard, reward_low_FP_rate, reward_low_FN_rate, got "strict"/);
    await bad([TAXI, '--labels', labels, '--format', 'xml'], /--format must be one of auto, binance, deribit, ndjson, csv/);
    await bad([TAXI, '--labels', labels, '--bogus'], /eval: Unknown option '--bogus'/);
    await bad([TAXI, '--labels', join(dir, 'missing.json')], /--labels .*missing\.json: no such file/);
    await bad([join(dir, 'missing.csv'), '--labels', labels], /input .*missing\.csv: no such file/);
    await bad([TAXI, '--labels', file('broken.json', '{"a": [')], /--labels .*broken\.json: not valid JSON/);
    await bad([TAXI, '--labels', file('list.json', '[]')], /--labels .*list\.json: expected a JSON object of windows by series/);
    await bad([TAXI, '--labels', file('window.json', JSON.stringify({ 'realKnownCause/nyc_taxi.csv': [['2014-07-10 00:00:00', 'soon']] }))],
      /--labels .*window\.json: "realKnownCause\/nyc_taxi.csv" window 1: end "soon" not an ISO 8601 time/);
    await bad([TAXI, '--labels', file('dup.json', JSON.stringify({ 'a/b.csv': [], 'a/b': [] }))], /keys "a\/b.csv" and "a\/b" name the same series/);
    await bad([TAXI, ADX, '--labels', file('taxi.json', JSON.stringify({ 'realKnownCause/nyc_taxi.csv': [] }))],
      /input .*exchange-2_cpc_results\.csv: its series "realAdExchange\/exchange-2_cpc_results" has no entry in --labels/);
    await bad([TAXI, '--labels', labels, '--config', file('cfg.json', '[1]')], /config .*cfg\.json: must be a JSON object/);
  });

  it('--help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: atc eval <file\.\.\.> --labels FILE/);
  });

  it('label keys and durations', () => {
    expect(labelSeriesName('realKnownCause/nyc_taxi.csv')).toBe('realKnownCause/nyc_taxi');
    expect(labelSeriesName('./a/b.csv.gz')).toBe('a/b');
    expect(labelSeriesName('BTCUSDT')).toBe('BTCUSDT');
    expect([0, 1500, 45_000, 750_000, 11_520_000, 2 * 86_400_000, NaN].map(duration)).toEqual(['0 s', '1.500 s', '45 s', '12.5 min', '3.2 h', '2.0 d', '-']);
  });
});
