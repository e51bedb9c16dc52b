// Alert rate of the default configuration on normal market data: replays each capture through a fresh engine
// (warm-up included: nothing is discarded) and counts alerts per hour per (instrument, feature).
//
//   npm run alert-rate [-- capture.gz ...] [--config FILE] [--out FILE] [--list]
//
// Default captures: the three normal Binance captures in ../shared/data/binance. Writes bench/results/alert-rate.json.
// --config merges a JSON configuration over the defaults (for experiments); --list prints every alert.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BinanceReader } from '../src/adapters/binance.js';
import { resolveConfig } from '../src/config.js';
import { Engine, type Alert } from '../src/engine.js';
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
}

export async function alertRate(path: string, config: unknown = {}, list?: (a: Alert, name: string) => void): Promise<CaptureRate> {
  const engine = Engine.create(resolveConfig({ ...(config as object), autoRegister: true }));
  const registry = new Registry();
  // The market prefix keeps spot BTCUSDT and USD-M BTCUSDT apart when captures are compared.
  const market = basename(path).split('-').slice(0, 2).join('-');
  const reader = new BinanceReader(path, { registry, market });
  const first = new Map<number, bigint>();
  const last = new Map<number, bigint>();
  const counts = new Map<string, number>();
  const byChannel: Record<string, number> = {};
  const perInstrument = new Map<number, number>();
  for await (const batch of reader) {
    for (let i = 0; i < batch.length; i++) {
      const id = batch.instrument[i];
      if (!first.has(id)) first.set(id, batch.tsNs[i]);
      last.set(id, batch.tsNs[i]);
    }
    for (const a of engine.ingest(batch).alerts) {
      const name = registry.name(a.instrument);
      const key = `${name} ${a.feature}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const ch = `${a.feature}.${a.detector}`;
      byChannel[ch] = (byChannel[ch] ?? 0) + 1;
      perInstrument.set(a.instrument, (perInstrument.get(a.instrument) ?? 0) + 1);
      list?.(a, name);
    }
  }
  const instruments = [...first.keys()].map((id) => ({
    name: registry.name(id),
    hours: Number(last.get(id)! - first.get(id)!) / 3.6e12,
    alerts: perInstrument.get(id) ?? 0,
  }));
  const hoursOf = new Map(instruments.map((x) => [x.name, x.hours]));
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
    perHour, alertsByChannel: byChannel, maxPerHour, maxKey,
  };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { config: { type: 'string' }, out: { type: 'string' }, list: { type: 'boolean' } },
  });
  const dataDir = resolve(root, '../shared/data/binance');
  const captures = positionals.length > 0 ? positionals
    : readdirSync(dataDir).filter((f) => f.endsWith('.gz')).sort().map((f) => join(dataDir, f));
  const config = values.config ? JSON.parse(readFileSync(values.config, 'utf8')) : {};
  const results: CaptureRate[] = [];
  for (const path of captures) {
    const r = await alertRate(path, config, values.list ? (a, name) => {
      console.log(`  ${new Date(Number(a.tsNs / 1_000_000n)).toISOString()} ${name} ${a.feature}.${a.detector} ` +
        `value ${a.value.toPrecision(4)} expected ${a.expected.toPrecision(4)} score ${a.score.toFixed(1)} threshold ${a.threshold.toFixed(1)}`);
    } : undefined);
    results.push(r);
    console.log(`${basename(path)}: ${r.instrumentHours.toFixed(4)} instrument-hours (${(r.instrumentHours * 60).toFixed(1)} instrument-minutes), ` +
      `${r.instruments.reduce((s, x) => s + x.alerts, 0)} alerts`);
    const keys = Object.keys(r.perHour);
    if (keys.length === 0) console.log('  no alerts');
    for (const key of keys) console.log(`  ${key.padEnd(36)} ${r.perHour[key].toFixed(1)} alerts/hour`);
    console.log(`  max ${r.maxPerHour.toFixed(1)} alerts/hour per (instrument, feature)${r.maxPerHour > 0 ? ` (${r.maxKey})` : ''}`);
  }
  const max = Math.max(0, ...results.map((r) => r.maxPerHour));
  const totalAlerts = results.reduce((s, r) => s + r.instruments.reduce((t, x) => t + x.alerts, 0), 0);
  const hours = results.reduce((s, r) => s + r.instrumentHours, 0);
  console.log(`overall: max ${max.toFixed(1)} alerts/hour per (instrument, feature); ${totalAlerts} alerts in ${hours.toFixed(3)} instrument-hours`);
  const out = values.out ?? join(root, 'bench/results/alert-rate.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({
    generated: new Date().toISOString(), config: Object.keys(config).length ? config : 'default',
    maxPerHour: max, totalAlerts, instrumentHours: hours,
    captures: results.map((r) => ({ ...r, capture: basename(r.capture) })),
  }, null, 2) + '\n');
  console.log(`wrote ${out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
