// Walk-forward calibration on real captures: fit on the first 70% of each capture, validate on the rest, and print
// the achieved alert rate of each split next to the target, per capture and pooled.
//
//   npm run calibrate:real [-- capture.gz ...] [--target-rate 2/h] [--split 0.7] [--config FILE] [--out FILE]
//   npm run calibrate:real -- --synthetic 20
//
// Default captures: the three normal Binance captures in ../shared/data/binance, each calibrated on its own (spot and
// USD-M BTCUSDT share a symbol). Two settings are run: the benchmark's (the default configuration at --target-rate),
// and, because ~6-minute captures hold a fraction of an alert per channel at 2/h, one the captures can count (300/h
// per channel with a 5 s cooldown and a threshold floor of 0.5). Writes bench/results/calibrate-real.json.
//
// --synthetic H: instead, H hours of a seeded synthetic market (src/synthetic.ts, one instrument, stationary), fitted
// on its first 1, 3 and 6 hours at --target-rate and validated on the rest: long enough a validation to resolve the
// rate, which six-minute captures are not. Writes bench/results/calibrate-synthetic.json.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { detectFileFormat } from '../src/adapters/index.js';
import { calibrate, type CalibrationReport } from '../src/calibrate/index.js';
import { parseRate } from '../src/calibrate/cli.js';
import { Kind } from '../src/abi.js';
import { marketStream, SECOND } from '../src/synthetic.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, basename(resolve(here, '..')) === 'dist' ? '../..' : '..');

interface SplitFigures { alerts: number; targetAlerts: number; hours: number; ratio: number; poisson95: [number, number] }
interface CaptureResult { capture: string; setting: string; fit: SplitFigures; validation: SplitFigures; channels: { fitted: number; tail: number; other: number }; seconds: number }

function figures(r: CalibrationReport['folds'][number]['splits'][number]['fitted']): SplitFigures {
  return { alerts: r.alerts, targetAlerts: r.targetAlerts, hours: r.hours, ratio: r.ratio, poisson95: r.poisson95 };
}

function pooled(rows: SplitFigures[], ratePerHour: number): SplitFigures {
  const alerts = rows.reduce((a, r) => a + r.alerts, 0);
  const hours = rows.reduce((a, r) => a + r.hours, 0);
  const targetAlerts = ratePerHour * hours;
  const half = targetAlerts > 0 ? 1.96 / Math.sqrt(targetAlerts) : NaN;
  return { alerts, targetAlerts, hours, ratio: alerts / targetAlerts, poisson95: [Math.max(0, 1 - half), 1 + half] };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'target-rate': { type: 'string', default: '2/h' }, split: { type: 'string', default: '0.7' }, config: { type: 'string' }, out: { type: 'string' },
      synthetic: { type: 'string' },
    },
  });
  if (values.synthetic !== undefined) return synthetic(Number(values.synthetic), parseRate(values['target-rate']!, '--target-rate'), values.out);
  const dataDir = join(root, '../shared/data/binance');
  const captures = positionals.length > 0 ? positionals : readdirSync(dataDir).filter((f) => f.endsWith('.gz')).sort().map((f) => join(dataDir, f));
  const rate = parseRate(values['target-rate']!, '--target-rate');
  const split = Number(values.split);
  const userConfig = values.config ? JSON.parse(readFileSync(values.config, 'utf8')) as Record<string, unknown> : {};
  const settings: { name: string; rate: number; config: Record<string, unknown> }[] = [
    { name: `benchmark: ${values['target-rate']} per channel, ${values.config ? values.config : 'default configuration'}`, rate, config: userConfig },
    { name: '300/h per channel, cooldown 5 s, floor 0.5 (countable on minutes of data)', rate: 300, config: { ...userConfig, thresholdFloor: 0.5, suppression: { cooldownMs: 5_000 } } },
  ];
  const results: CaptureResult[] = [];
  const summary: { setting: string; rate: number; fit: SplitFigures; validation: SplitFigures }[] = [];
  for (const s of settings) {
    console.log(`\n== ${s.name}; fit on the first ${split} of each capture, validate on the rest`);
    console.log('capture                          split        channel-h  alerts  target  achieved/target  Poisson 95% at target');
    const mine: CaptureResult[] = [];
    for (const path of captures) {
      const format = (await detectFileFormat(path)).format ?? 'binance';
      const started = performance.now();
      const { report } = await calibrate({ inputs: [{ path, format }], config: s.config, targetPerHour: s.rate, split });
      const fold = report.folds[0];
      const count = (st: string) => fold.channels.filter((c) => c.status === st).length;
      const r: CaptureResult = {
        capture: basename(path), setting: s.name, fit: figures(fold.splits[0].fitted), validation: figures(fold.splits[1].fitted),
        channels: { fitted: count('fitted'), tail: count('tail'), other: fold.channels.length - count('fitted') - count('tail') },
        seconds: (performance.now() - started) / 1000,
      };
      mine.push(r);
      results.push(r);
      for (const [name, f] of [['fit', r.fit], ['validation', r.validation]] as const) print(r.capture, name, f);
    }
    const fit = pooled(mine.map((r) => r.fit), s.rate), validation = pooled(mine.map((r) => r.validation), s.rate);
    print('pooled', 'fit', fit);
    print('pooled', 'validation', validation);
    summary.push({ setting: s.name, rate: s.rate, fit, validation });
  }
  const out = values.out ?? join(root, 'bench/results/calibrate-real.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ split, captures: captures.map((c) => basename(c)), summary, results }, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}

/** Seeded synthetic hours as canonical NDJSON, fitted on its first 1, 3 and 6 hours and validated on the rest. */
async function synthetic(hours: number, rate: number, outPath: string | undefined): Promise<void> {
  if (!(hours >= 7)) throw new Error('--synthetic: give at least 7 hours (fits on 1, 3 and 6 of them)');
  const dir = mkdtempSync(join(tmpdir(), 'atc-calibrate-synthetic-'));
  const path = join(dir, 'synthetic.ndjson');
  try {
    const b = marketStream({ seed: 9, instruments: [0], n: hours * 3600 * 10, gapNs: SECOND / 10n });
    const fields: Record<number, string[]> = {
      [Kind.trade]: ['price', 'size', 'side'], [Kind.quote]: ['bid', 'bidSize', 'ask', 'askSize', 'bidDepth', 'askDepth'],
      [Kind.mark]: ['mark', 'index', 'funding'], [Kind.option]: ['markIv', 'underlying', 'markPrice'], [Kind.value]: ['value'],
    };
    const kinds = Object.fromEntries(Object.entries(Kind).map(([k, v]) => [v, k]));
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) {
      const e: Record<string, unknown> = { ts: b.tsNs[i].toString(), instrument: 'SYNTH', kind: kinds[b.kind[i]] };
      fields[b.kind[i]].forEach((name, k) => { const v = b.f[k][i]; if (!Number.isNaN(v)) e[name] = v; });
      lines.push(JSON.stringify(e));
    }
    writeFileSync(path, `${lines.join('\n')}\n`);
    console.log(`== ${hours} h of a seeded synthetic market (marketStream seed 9, one instrument), ${rate}/h per channel, default configuration`);
    console.log('fit hours                        split        channel-h  alerts  target  achieved/target  Poisson 95% at target');
    const rows: { fitHours: number; fit: SplitFigures; validation: SplitFigures; statuses: Record<string, number> }[] = [];
    for (const fitHours of [1, 3, 6]) {
      const { report } = await calibrate({ inputs: [{ path, format: 'ndjson' }], config: {}, targetPerHour: rate, split: fitHours / hours });
      const fold = report.folds[0];
      const statuses: Record<string, number> = {};
      for (const c of fold.channels) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
      const r = { fitHours, fit: figures(fold.splits[0].fitted), validation: figures(fold.splits[1].fitted), statuses };
      rows.push(r);
      print(`${fitHours} h (${Object.entries(statuses).map(([k, v]) => `${v} ${k}`).join(', ')})`, 'fit', r.fit);
      print('', 'validation', r.validation);
    }
    const out = outPath ?? join(root, 'bench/results/calibrate-synthetic.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ hours, rate, rows }, null, 2)}\n`);
    console.log(`\nwrote ${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function print(capture: string, split: string, f: SplitFigures): void {
  const fx = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log(`${capture.padEnd(32)} ${split.padEnd(10)} ${fx(f.hours, 3).padStart(9)}  ${String(f.alerts).padStart(6)}  ${fx(f.targetAlerts).padStart(6)}  ${fx(f.ratio).padStart(15)}  ${fx(f.poisson95[0])}-${fx(f.poisson95[1])}`);
}

await main();
