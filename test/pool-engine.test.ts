// What the pool builds on: the shared build of the module, an Engine bound to a memory and a layout it did not make
// (Engine.attach, engineLayout), ingest from any chunk, and threshold plans.
import { describe, expect, it } from 'vitest';
import { BATCH_BYTES_PER_EVENT, batchColumns, N_FIELDS } from '../src/abi.js';
import { chunkPtr, Engine, engineLayout, pagesFor, planThresholds } from '../src/engine.js';
import type { EventBatch } from '../src/events.js';
import { createMemory, wasmModule } from '../src/wasm/load.js';
import { runChunks } from './helpers/run.js';
import { marketStream } from './helpers/streams.js';
import { POOL_CONFIG } from './helpers/pool.js';

const config = { ...POOL_CONFIG, autoRegister: true };
const b = marketStream({ seed: 9, instruments: [1, 2, 3], n: 12_000, jumps: [4_000, 9_000] });

/** Write events [s, e) into the batch region of `cap` events at byte offset `ptr`. */
function writeChunk(memory: WebAssembly.Memory, ptr: number, cap: number, batch: EventBatch, s: number, e: number): void {
  const cols = batchColumns(cap), buf = memory.buffer, n = e - s;
  new BigInt64Array(buf, ptr + cols.ts, n).set(batch.tsNs.subarray(s, e));
  new BigInt64Array(buf, ptr + cols.seq, n).set(batch.seq.subarray(s, e));
  new Uint32Array(buf, ptr + cols.instrument, n).set(batch.instrument.subarray(s, e));
  new Uint32Array(buf, ptr + cols.kind, n).set(batch.kind.subarray(s, e));
  for (let k = 0; k < N_FIELDS; k++) new Float64Array(buf, ptr + cols.field(k), n).set(batch.f[k].subarray(s, e));
}

describe('the shared build', () => {
  it('imports a shared memory and nothing else, and refuses a plain one', () => {
    expect(WebAssembly.Module.imports(wasmModule('shared'))).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(() => new WebAssembly.Instance(wasmModule('shared'), { env: { memory: new WebAssembly.Memory({ initial: 2 }) } })).toThrow(WebAssembly.LinkError);
    expect(createMemory(2, 'shared').buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('gives the release build\'s alert bytes', () => {
    const a = runChunks(Engine.create(config), b, 1000);
    const s = runChunks(Engine.create(config, { build: 'shared' }), b, 1000);
    const d = runChunks(Engine.create(config, { build: 'shared-debug' }), b, 1000);
    expect(a.alerts.length).toBeGreaterThan(20);
    expect(Buffer.from(s.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    expect(Buffer.from(d.bytes).equals(Buffer.from(a.bytes))).toBe(true);
  });
});

describe('engineLayout and Engine.attach', () => {
  it('lays out config, arena, alerts and chunks 64-aligned, in that order, with room for the chunks', () => {
    const bytes = Engine.arenaBytes(config);
    const l = engineLayout(bytes, { chunkEvents: 1000, chunks: 3, alertCapacity: 100 });
    expect(l.configPtr).toBe(65536);
    expect(l.arena).toBeGreaterThanOrEqual(l.configPtr + 280 * 8);
    expect(l.alerts).toBeGreaterThanOrEqual(l.arena + bytes);
    expect(l.chunkBase).toBeGreaterThanOrEqual(l.alerts + 100 * 64);
    expect(l.chunkBytes).toBeGreaterThanOrEqual(1000 * BATCH_BYTES_PER_EVENT);
    for (const x of [l.arena, l.alerts, l.chunkBase, l.chunkBytes]) expect(x % 64).toBe(0);
    expect(l.pages * 65536).toBeGreaterThanOrEqual(chunkPtr(l, 3));
    expect(pagesFor(l, 3)).toBe(l.pages);
    expect(pagesFor(l, 1000)).toBeGreaterThan(l.pages);
    expect(engineLayout(bytes, { chunkEvents: 1000, alertCapacity: 1 }).alertCapacity).toBe(84); // at least one event's worth
    expect(() => engineLayout(bytes, { chunkEvents: 0 })).toThrow(/chunkEvents must be a positive integer, got 0/);
    expect(() => engineLayout(bytes, { chunkEvents: 1 << 20, chunks: 100 })).toThrow(/do not fit in a 4 GiB memory/);
  });

  it('an attached engine ingests from any chunk, in any order of chunks, and equals Engine.create', () => {
    const bytes = Engine.arenaBytes(config, 'shared');
    const layout = engineLayout(bytes, { chunkEvents: 700, chunks: 4, alertCapacity: 200 });
    const memory = createMemory(layout.pages, 'shared', layout.pages + 10);
    const engine = Engine.attach(memory, layout, { build: 'shared', config });
    const parts: Uint8Array[] = [];
    for (let s = 0, k = 0; s < b.length; s += 700, k++) {
      const e = Math.min(b.length, s + 700);
      const ptr = chunkPtr(layout, (k * 3) % 4); // chunks 0, 3, 2, 1, 0, ...
      writeChunk(memory, ptr, 700, b, s, e);
      // In two calls, [0, m) and [m, n): the pool resumes chunks part-way too.
      const m = Math.floor((e - s) / 3);
      for (const [from, to] of [[0, m], [m, e - s]]) {
        engine.ingestBatch(ptr, 700, from, to, (v) => parts.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice()));
      }
    }
    const expected = runChunks(Engine.create(config), b, 4096);
    expect(Buffer.concat(parts).equals(Buffer.from(expected.bytes))).toBe(true);

    // A second engine attached without a configuration takes the arena as it is: same state, same counters.
    const again = Engine.attach(memory, layout, { build: 'shared' });
    expect(again.counters()).toEqual(engine.counters());
    expect(again.counters().accepted).toBe(b.length);
    // snapshotInto copies exactly the arena; load puts it back.
    const snap = new Uint8Array(bytes + 16);
    expect(again.snapshotInto(snap)).toBe(bytes);
    expect(Buffer.from(snap.subarray(0, bytes)).equals(Buffer.from(engine.snapshot()))).toBe(true);
    expect(() => again.snapshotInto(new Uint8Array(100))).toThrow(/holds 100 bytes, the arena has/);
  });

  it('refuses a memory smaller than the layout, and a configuration whose arena is not the layout\'s', () => {
    const bytes = Engine.arenaBytes(config, 'shared');
    const layout = engineLayout(bytes, { chunkEvents: 100 });
    expect(() => Engine.attach(createMemory(1, 'shared'), layout, { build: 'shared' })).toThrow(/the memory has 1 pages, the layout needs/);
    const memory = createMemory(layout.pages, 'shared');
    expect(() => Engine.attach(memory, layout, { build: 'shared', config: { ...config, maxInstruments: 200 } })).toThrow(/needs an arena of \d+ bytes, the layout has \d+/);
  });
});

describe('planThresholds', () => {
  it('plans absolute (channel, mode, threshold) triples that setThresholds applies', () => {
    const e = Engine.create(config);
    const plan = planThresholds(e.thresholds(), { zscore: { threshold: 3 }, 'spread.zscore': { mode: 'regime' } });
    expect(plan.length % 3).toBe(0);
    expect(plan.length / 3).toBe(16); // zscore of each of the 16 features
    const other = Engine.create(config);
    other.applyThresholdPlan(plan);
    e.setThresholds({ zscore: { threshold: 3 }, 'spread.zscore': { mode: 'regime' } });
    expect(other.thresholds()).toEqual(e.thresholds());
    expect(e.thresholds().find((t) => t.feature === 'spread' && t.detector === 'zscore')).toEqual({ feature: 'spread', detector: 'zscore', mode: 'regime', threshold: 3 });
  });
});
