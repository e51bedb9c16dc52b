// HST channel scores (-log2(1 - s)) on the normal captures: replays each capture event by event with HST enabled
// and a threshold that never fires, collecting every score the channel judged, and prints their quantiles per
// instrument, with the static threshold that would give at most `budget` alerts per hour on each (one alert per
// score at or above it, before suppression: an upper bound on the alert rate).
//
//   node dist/scripts/hst-scores.js [--config FILE] [--budget 2] [capture.gz ...]
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BinanceReader } from '../src/adapters/binance.js';
import { N_FIELDS } from '../src/abi.js';
import { resolveConfig } from '../src/config.js';
import { Engine } from '../src/engine.js';
import { Registry } from '../src/registry.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, basename(resolve(here, '..')) === 'dist' ? '../..' : '..');

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { config: { type: 'string' }, budget: { type: 'string' } } });
  const dataDir = resolve(root, '../shared/data/binance');
  const captures = positionals.length > 0 ? positionals : readdirSync(dataDir).filter((f) => f.endsWith('.gz')).sort().map((f) => join(dataDir, f));
  const user = values.config ? JSON.parse(readFileSync(values.config, 'utf8')) : {};
  const budget = Number(values.budget ?? 2);
  const config = resolveConfig({ ...user, autoRegister: true, learned: { hst: { ...(user.learned?.hst ?? {}), enabled: true } }, thresholds: { ...(user.thresholds ?? {}), hst: { mode: 'static', threshold: Infinity } } });
  for (const path of captures) {
    const engine = Engine.create(config, { batchCapacity: 1 });
    const registry = new Registry();
    const reader = new BinanceReader(path, { registry, market: basename(path).split('-').slice(0, 2).join('-') });
    const seen = new Map<number, { steps: number; scores: number[] }>();
    const span = new Map<number, [bigint, bigint]>();
    const r = engine.region();
    const window = config.learned.hst.window;
    for await (const batch of reader) {
      for (let i = 0; i < batch.length; i++) {
        const id = batch.instrument[i];
        r.tsNs[0] = batch.tsNs[i]; r.seq[0] = batch.seq[i]; r.instrument[0] = id; r.kind[0] = batch.kind[i];
        for (let k = 0; k < N_FIELDS; k++) r.f[k][0] = batch.f[k][i];
        engine.ingestRegion(1);
        if (r.status[0] !== 0) continue;
        const s = span.get(id);
        span.set(id, s ? [s[0], batch.tsNs[i]] : [batch.tsNs[i], batch.tsNs[i]]);
        let e = seen.get(id);
        if (!e) seen.set(id, (e = { steps: 0, scores: [] }));
        const steps = engine.channelStat(id, 'vector', 'hst', 'steps');
        // The channel judges a score from the step after the kernel's first window on.
        if (steps > e.steps && steps > window) e.scores.push(engine.channelStat(id, 'vector', 'hst', 'score'));
        e.steps = steps;
      }
    }
    const scores = new Map([...seen].map(([id, e]) => [id, e.scores]));
    for (const [id, list] of scores) {
      const [a, b] = span.get(id)!;
      const hours = Number(b - a) / 3.6e12;
      const sorted = [...list].sort((x, y) => x - y);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]?.toFixed(2);
      const allowed = Math.floor(budget * hours);
      const thr = sorted.length > allowed ? sorted[sorted.length - 1 - allowed] : 0;
      console.log(`${basename(path)} ${registry.name(id)}: ${hours.toFixed(2)} h, ${list.length} scores, p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} p99.9 ${q(0.999)} max ${sorted.at(-1)?.toFixed(2)}; ` +
        `<= ${budget}/h needs a threshold above ${thr.toFixed(3)} (${allowed} scores allowed above it)`);
    }
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
