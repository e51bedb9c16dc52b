// The WASM engine against its plain-TypeScript twin (src/reference/), same events, same configuration, same run.
// The twin is written to be obviously right (order statistics by sorting, sums recomputed from the values), so
// this ratio measures what the WASM engine's algorithms and layout buy, not only WebAssembly against JavaScript.
import { Engine } from '../src/engine.js';
import { encodeConfig, resolveConfig } from '../src/config.js';
import { N_FIELDS } from '../src/abi.js';
import { RefEngine, type RefEvent } from '../src/reference/engine.js';
import { marketStream } from '../src/synthetic.js';
import { measure, type Row } from './common.js';

export async function twinBench(opts: { n?: number } = {}): Promise<Row[]> {
  const n = opts.n ?? 20_000;
  const batch = marketStream({ seed: 3, instruments: [1, 2, 3, 4], n });
  const config = { autoRegister: true };
  const events: RefEvent[] = [];
  for (let i = 0; i < n; i++) {
    events.push({
      tsNs: batch.tsNs[i], seq: -1n, instrument: batch.instrument[i], kind: batch.kind[i],
      f: [batch.f[0][i], batch.f[1][i], batch.f[2][i], batch.f[3][i], batch.f[4][i], batch.f[5][i]],
    });
  }
  const encoded = encodeConfig(resolveConfig(config));
  let engine: Engine;
  const load = () => {
    engine = Engine.create(config, { batchCapacity: n });
    const r = engine.region();
    r.tsNs.set(batch.tsNs.subarray(0, n)); r.seq.set(batch.seq.subarray(0, n));
    r.instrument.set(batch.instrument.subarray(0, n)); r.kind.set(batch.kind.subarray(0, n));
    for (let k = 0; k < N_FIELDS; k++) r.f[k].set(batch.f[k].subarray(0, n));
  };
  load();
  return measure('twin', [
    { name: 'default pipeline, wasm (synthetic perpetuals)', items: n, beforeEach: load, fn: () => engine.ingestRegion(n) },
    { name: 'default pipeline, TypeScript twin (same events)', items: n, fn: () => { const t = new RefEngine(encoded); let a = 0; for (const ev of events) a += t.ingest(ev).alerts.length; return a; } },
  ], { time: 2000, iterations: 5 });
}
