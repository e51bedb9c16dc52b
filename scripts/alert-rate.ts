// Alert rate of the default configuration on normal market data: replays each capture through a fresh engine
// (warm-up included: nothing is discarded) and counts alerts per hour per (instrument, feature).
//
//   npm run alert-rate [-- capture.gz ...] [--config FILE] [--loops N] [--out FILE] [--list]
//
// Default captures: the three normal Binance captures in ../shared/data/binance. Writes bench/results/alert-rate.json
// (with --loops, bench/results/alert-rate-loops.json). --config merges a JSON configuration over the defaults (for
// experiments); --list prints every alert.
//
// --loops N replays each capture N times back to back into the same engine, so that its detectors and calibrators
// run past their warm-up (500 scores: more than 8 minutes of a bucket feature) on real microstructure: copy k is
// shifted in time by k capture lengths (+1 ms) and its prices scaled by (last mid / first mid)^k, so that price and
// time run on continuously at the seams (returns within a copy are the capture's own). It is a stress of the
// calibrated regime, not more data: every copy repeats the capture's own episodes (the real burst at 23:57:52
// included, once per copy), and a copy's alerts say nothing new about the market, only about the thresholds. The
// report gives the counts of the first copy and of the later ones apart.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BinanceReader } from '../src/adapters/binance.js';
import { resolveConfig } from '../src/config.js';
import { Engine, type Alert } from '../src/engine.js';
import { FEATURES, Kind } from '../src/abi.js';
import { copyEvent } from '../src/eval/inject.js';
import { EventBatch } from '../src/events.js';
import { Registry } from '../src/registry.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, basename(resolve(here, '..')) === 'dist' ? '../..' : '..');

export interface CaptureRate {
  capture: string;
  instruments: { name: string; hours: number; alerts: number }[];
  instrumentHours: number;
  /** alerts per hour, by "instrument feature" */
  perHour: Record<string, number>;
  alertsByChannel: Record<string, number>;
  maxPerHour: number;
  maxKey: string;
  /** Copies of the capture replayed (1 without --loops). */
  loops: number;
  /** Alerts of the first copy (warm-up included) and of the later copies, by "instrument feature". */
  firstCopy: Record<string, number>;
  laterCopies: Record<string, number>;
  /** Hours of the later copies, over the instruments (0 with one copy). */
  laterHours: number;
  /** Per instrument, the features with detectors that it observed: the (instrument, feature) pairs an alert rate is per. */
  watched: Record<string, string[]>;
  /** Events the engine accepted and rejected (a rejected event would mean a bad seam between copies). */
  accepted: number;
  rejected: number;
}

/** Event fields holding prices, by kind (trade f0; quote f0 bid, f2 ask; mark f0 mark, f1 index). */
function scalePrices(b: EventBatch, i: number, k: number): void {
  const kind = b.kind[i];
  if (kind === Kind.trade) b.f[0][i] *= k;
  else if (kind === Kind.quote) { b.f[0][i] *= k; b.f[2][i] *= k; }
  else if (kind === Kind.mark) { b.f[0][i] *= k; b.f[1][i] *= k; }
}

/** The mid of the first and of the last quote with both sides, over every instrument (the captures hold one). */
function firstLastMid(b: EventBatch): [number, number] {
  let first = NaN, last = NaN;
  for (let i = 0; i < b.length; i++) {
    if (b.kind[i] !== Kind.quote || !(b.f[0][i] > 0 && b.f[2][i] > 0)) continue;
    const mid = (b.f[0][i] + b.f[2][i]) / 2;
    if (first !== first) first = mid;
    last = mid;
  }
  return [first, last];
}

export async function alertRate(path: string, config: unknown = {}, list?: (a: Alert, name: string) => void, loops = 1): Promise<CaptureRate> {
  if (!(Number.isInteger(loops) && loops >= 1 && loops <= 1000)) throw new RangeError(`--loops: must be an integer in [1, 1000], got ${loops}`);
  const resolved = resolveConfig({ ...(config as object), autoRegister: true });
  const engine = Engine.create(resolved);
  const registry = new Registry();
  // The market prefix keeps spot BTCUSDT and USD-M BTCUSDT apart when captures are compared.
  const market = basename(path).split('-').slice(0, 2).join('-');
  const reader = new BinanceReader(path, { registry, market });
  const first = new Map<number, bigint>();
  const last = new Map<number, bigint>();
  const counts = new Map<string, number>();
  const byChannel: Record<string, number> = {};
  const perInstrument = new Map<number, number>();
  const firstCopy: Record<string, number> = {}, laterCopies: Record<string, number> = {};
  // With loops, the first copy's events are kept (copied out of the reader's reused batch) for the later ones.
  const kept = loops > 1 ? new EventBatch(1 << 16) : undefined;
  let copy = 0;
  const take = (batch: EventBatch): void => {
    for (let i = 0; i < batch.length; i++) {
      const id = batch.instrument[i];
      if (!first.has(id)) first.set(id, batch.tsNs[i]);
      last.set(id, batch.tsNs[i]);
    }
    for (const a of engine.ingest(batch).alerts) {
      const name = registry.name(a.instrument);
      const key = `${name} ${a.feature}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const byCopy = copy === 0 ? firstCopy : laterCopies;
      byCopy[key] = (byCopy[key] ?? 0) + 1;
      const ch = `${a.feature}.${a.detector}`;
      byChannel[ch] = (byChannel[ch] ?? 0) + 1;
      perInstrument.set(a.instrument, (perInstrument.get(a.instrument) ?? 0) + 1);
      list?.(a, name);
    }
  };
  for await (const batch of reader) {
    if (kept) for (let i = 0; i < batch.length; i++) copyEvent(batch, i, kept);
    take(batch);
  }
  if (kept && kept.length > 0) {
    const span = kept.tsNs[kept.length - 1] - kept.tsNs[0] + 1_000_000n;
    const [m0, m1] = firstLastMid(kept);
    const ratio = m0 > 0 && m1 > 0 ? m1 / m0 : 1;
    const chunk = new EventBatch(4096);
    for (copy = 1; copy < loops; copy++) {
      const shift = span * BigInt(copy), scale = ratio ** copy;
      for (let s0 = 0; s0 < kept.length; s0 += 4096) {
        chunk.clear();
        for (let i = s0; i < Math.min(kept.length, s0 + 4096); i++) scalePrices(chunk, copyEvent(kept, i, chunk, kept.tsNs[i] + shift), scale);
        take(chunk);
      }
    }
  }
  const instruments = [...first.keys()].map((id) => ({
    name: registry.name(id),
    hours: Number(last.get(id)! - first.get(id)!) / 3.6e12,
    alerts: perInstrument.get(id) ?? 0,
  }));
  const hoursOf = new Map(instruments.map((x) => [x.name, x.hours]));
  const watched: Record<string, string[]> = {};
  for (const id of first.keys()) {
    watched[registry.name(id)] = FEATURES.filter((f) => resolved.features[f].enabled && resolved.features[f].detectors.length > 0 &&
      engine.featureStat(id, f, 'observations') > 0);
  }
  const perHour: Record<string, number> = {};
  let maxPerHour = 0;
  let maxKey = '-';
  for (const [key, n] of [...counts].sort()) {
    const rate = n / hoursOf.get(key.split(' ')[0])!;
    perHour[key] = rate;
    if (rate > maxPerHour) { maxPerHour = rate; maxKey = key; }
  }
  return {
    capture: path, instruments, instrumentHours: instruments.reduce((s, x) => s + x.hours, 0),
    perHour, alertsByChannel: byChannel, maxPerHour, maxKey, loops, firstCopy, laterCopies,
    laterHours: loops > 1 ? instruments.reduce((s, x) => s + x.hours, 0) * (loops - 1) / loops : 0,
    watched,
    accepted: engine.counters().accepted,
    rejected: Object.values(engine.counters().rejected).reduce((a, b) => a + b, 0),
  };
}

/** Poisson 95% interval of a count (exact, from the chi-square quantiles via the gamma relation, by bisection). */
export function poissonInterval(n: number): [number, number] {
  // P(X >= n | mu) = lower regularised gamma P(n, mu); P(X <= n | mu) = 1 - P(n + 1, mu).
  const gammaP = (a: number, x: number): number => {
    if (x <= 0) return 0;
    let term = 1 / a, sum = term;
    for (let k = 1; k < 1000; k++) { term *= x / (a + k); sum += term; if (term < sum * 1e-15) break; }
    let lg = 0; // ln Gamma(a) for integer a
    for (let k = 2; k < a; k++) lg += Math.log(k);
    return Math.min(1, Math.exp(-x + a * Math.log(x) - lg) * sum);
  };
  const solve = (f: (mu: number) => number, target: number): number => {
    let lo = 0, hi = 10 * (n + 10);
    for (let i = 0; i < 200; i++) { const mid = (lo + hi) / 2; if (f(mid) < target) lo = mid; else hi = mid; }
    return (lo + hi) / 2;
  };
  const low = n === 0 ? 0 : solve((mu) => gammaP(n, mu), 0.025);
  const high = solve((mu) => gammaP(n + 1, mu), 0.975);
  return [low, high];
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { config: { type: 'string' }, out: { type: 'string' }, list: { type: 'boolean' }, loops: { type: 'string' } },
  });
  const loops = values.loops === undefined ? 1 : Number(values.loops);
  if (!(Number.isInteger(loops) && loops >= 1 && loops <= 1000)) throw new Error(`--loops: must be an integer in [1, 1000], got "${values.loops}"`);
  const dataDir = resolve(root, '../shared/data/binance');
  const captures = positionals.length > 0 ? positionals
    : readdirSync(dataDir).filter((f) => f.endsWith('.gz')).sort().map((f) => join(dataDir, f));
  const config = values.config ? JSON.parse(readFileSync(values.config, 'utf8')) : {};
  const results: CaptureRate[] = [];
  for (const path of captures) {
    const r = await alertRate(path, config, values.list ? (a, name) => {
      console.log(`  ${new Date(Number(a.tsNs / 1_000_000n)).toISOString()} ${name} ${a.feature}.${a.detector} ` +
        `value ${a.value.toPrecision(4)} expected ${a.expected.toPrecision(4)} score ${a.score.toFixed(1)} threshold ${a.threshold.toFixed(1)}`);
    } : undefined, loops);
    results.push(r);
    console.log(`${basename(path)}: ${r.instrumentHours.toFixed(4)} instrument-hours (${(r.instrumentHours * 60).toFixed(1)} instrument-minutes${loops > 1 ? `, ${loops} copies` : ''}), ` +
      `${r.instruments.reduce((s, x) => s + x.alerts, 0)} alerts`);
    const keys = Object.keys(r.perHour);
    if (keys.length === 0) console.log('  no alerts');
    for (const key of keys) {
      const later = loops > 1 ? `; first copy ${r.firstCopy[key] ?? 0}, later copies ${r.laterCopies[key] ?? 0} (${((r.laterCopies[key] ?? 0) / r.laterHours).toFixed(1)}/h)` : '';
      console.log(`  ${key.padEnd(36)} ${r.perHour[key].toFixed(1)} alerts/hour${later}`);
    }
    console.log(`  max ${r.maxPerHour.toFixed(1)} alerts/hour per (instrument, feature)${r.maxPerHour > 0 ? ` (${r.maxKey})` : ''}`);
  }
  const max = Math.max(0, ...results.map((r) => r.maxPerHour));
  const totalAlerts = results.reduce((s, r) => s + r.instruments.reduce((t, x) => t + x.alerts, 0), 0);
  const hours = results.reduce((s, r) => s + r.instrumentHours, 0);
  // Pooled over every watched (instrument, feature): the mean rate per pair, and its Poisson 95% interval.
  let pairHours = 0;
  for (const r of results) for (const x of r.instruments) pairHours += x.hours * (r.watched[x.name]?.length ?? 0);
  const [lo, hi] = poissonInterval(totalAlerts);
  const pooled = { alerts: totalAlerts, pairHours, perHour: totalAlerts / pairHours, low: lo / pairHours, high: hi / pairHours };
  console.log(`overall: max ${max.toFixed(1)} alerts/hour per (instrument, feature); ${totalAlerts} alerts in ${hours.toFixed(3)} instrument-hours`);
  console.log(`pooled: ${totalAlerts} alerts in ${pairHours.toFixed(2)} (instrument, feature)-hours = ${pooled.perHour.toFixed(2)} per hour per (instrument, feature) ` +
    `(Poisson 95%: ${pooled.low.toFixed(2)}-${pooled.high.toFixed(2)})`);
  let laterPooled: typeof pooled | undefined;
  if (loops > 1) {
    let n = 0, ph = 0;
    for (const r of results) {
      n += Object.values(r.laterCopies).reduce((s, x) => s + x, 0);
      for (const x of r.instruments) ph += x.hours * (loops - 1) / loops * (r.watched[x.name]?.length ?? 0);
    }
    const [l2, h2] = poissonInterval(n);
    laterPooled = { alerts: n, pairHours: ph, perHour: n / ph, low: l2 / ph, high: h2 / ph };
    const laterMax = Math.max(0, ...results.flatMap((r) => Object.values(r.laterCopies).map((c) => c / (r.laterHours / r.instruments.length))));
    console.log(`later copies (past the warm-up): ${n} alerts in ${ph.toFixed(2)} (instrument, feature)-hours = ${laterPooled.perHour.toFixed(2)} per hour per ` +
      `(instrument, feature) (Poisson 95%: ${laterPooled.low.toFixed(2)}-${laterPooled.high.toFixed(2)}); max ${laterMax.toFixed(1)}/h for one (instrument, feature)`);
  }
  const out = values.out ?? join(root, loops > 1 ? 'bench/results/alert-rate-loops.json' : 'bench/results/alert-rate.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({
    generated: new Date().toISOString(), config: Object.keys(config).length ? config : 'default', loops,
    maxPerHour: max, totalAlerts, instrumentHours: hours, pooled, laterPooled,
    captures: results.map((r) => ({ ...r, capture: basename(r.capture) })),
  }, null, 2) + '\n');
  console.log(`wrote ${out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
