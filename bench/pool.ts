// The shard pool end to end on one machine: events per second from submit() to processed, with 1 and 2 workers and
// chunks of 512, 2048 and 8192 events, default engine configuration, 8 shards, a synthetic stream on 16 instruments
// in frames of 1,000 events. Also: the main thread's share (ns per event inside submit), the one-thread Engine on the
// same events for comparison, and the cost of one shard snapshot. Medians over rounds; `node dist/bench/pool.js
// [--quick]` after `npm run build`.
import { Engine } from '../src/engine.js';
import type { EventBatch } from '../src/events.js';
import { ShardPool, type PoolColumns } from '../src/pool/index.js';
import { marketStream } from '../src/synthetic.js';

const quick = process.argv.includes('--quick');
const ROUND = quick ? 100_000 : 300_000;
const ROUNDS = quick ? 3 : 7;
const FRAME = 1_000;
const IDS = Array.from({ length: 16 }, (_, i) => i);

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

function frames(b: EventBatch, start: number, end: number): PoolColumns[] {
  const out: PoolColumns[] = [];
  for (let s = start; s < end; s += FRAME) {
    const e = Math.min(end, s + FRAME);
    out.push({
      n: e - s, ts: b.tsNs.slice(s, e), seq: null, instrument: b.instrument.slice(s, e),
      kind: Uint8Array.from(b.kind.subarray(s, e)), f: b.f.map((c) => c.slice(s, e)),
    });
  }
  return out;
}

async function poolCase(b: EventBatch, workers: number, chunkEvents: number): Promise<{ eventsPerS: number; submitNs: number; tasks: number; alerts: number }> {
  const pool = await ShardPool.create({ workers, chunkEvents, maxInstruments: 64 });
  let alerts = 0;
  pool.onAlerts = (batch) => { alerts += batch.count; };
  const rates: number[] = [], submitNs: number[] = [];
  try {
    // Round 0 warms the workers up (instantiation, TurboFan) and is not counted.
    for (let r = 0; r <= ROUNDS; r++) {
      const fs = frames(b, r * ROUND, (r + 1) * ROUND);
      let inSubmit = 0;
      const t0 = performance.now();
      for (const cols of fs) {
        for (;;) {
          const s0 = performance.now();
          const first = pool.submit(cols, 0n);
          inSubmit += performance.now() - s0;
          if (first >= 0) break;
          await new Promise((res) => setImmediate(res));
        }
      }
      await pool.drain();
      const ms = performance.now() - t0;
      if (r > 0) { rates.push(ROUND / (ms / 1e3)); submitNs.push((inSubmit * 1e6) / ROUND); }
    }
    return { eventsPerS: median(rates), submitNs: median(submitNs), tasks: pool.stats().tasks, alerts };
  } finally {
    await pool.close();
  }
}

function engineCase(b: EventBatch): number {
  const e = Engine.create({ autoRegister: true, maxInstruments: 64 }, { batchCapacity: 8192 });
  const rates: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const part = b.slice(r * ROUND, (r + 1) * ROUND);
    const t0 = performance.now();
    e.ingest(part);
    const ms = performance.now() - t0;
    if (r > 0) rates.push(ROUND / (ms / 1e3));
  }
  return median(rates);
}

function snapshotCase(): { bytes: number; us: number }[] {
  // The copy a shard's worker makes every snapshotEveryEvents events: 8 instruments per shard (64 over 8 shards),
  // and a whole 64-instrument engine for scale.
  return [8, 64].map((maxInstruments) => {
    const e = Engine.create({ autoRegister: true, maxInstruments });
    const target = new Uint8Array(e.arenaBytes);
    const times: number[] = [];
    for (let i = 0; i < 51; i++) { const t0 = performance.now(); e.snapshotInto(target); times.push(performance.now() - t0); }
    return { bytes: e.arenaBytes, us: median(times) * 1e3 };
  });
}

async function main(): Promise<void> {
  const b = marketStream({ seed: 1, instruments: IDS, n: ROUND * (ROUNDS + 1) });
  console.log(`# pool benchmark: ${ROUND.toLocaleString('en')} events per round, ${ROUNDS} rounds (median), frames of ${FRAME}, 8 shards, default config, 16 instruments`);
  console.log('| case | events/s | main thread ns/event in submit | tasks | alerts |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| one-thread Engine.ingest (no pool) | ${Math.round(engineCase(b)).toLocaleString('en')} | | | |`);
  for (const workers of [1, 2]) {
    for (const chunk of [512, 2048, 8192]) {
      const r = await poolCase(b, workers, chunk);
      console.log(`| ${workers} worker${workers > 1 ? 's' : ''}, chunks of ${chunk} | ${Math.round(r.eventsPerS).toLocaleString('en')} | ${r.submitNs.toFixed(1)} | ${r.tasks} | ${r.alerts} |`);
    }
  }
  for (const s of snapshotCase()) console.log(`snapshot of a ${s.bytes.toLocaleString('en')}-byte arena: ${s.us.toFixed(0)} us (${(s.us * 1e3 / (1 << 16)).toFixed(2)} ns per event at snapshotEveryEvents = 65,536)`);
}

await main();
