// Shared by the pool tests: a seeded multi-instrument stream, the frames a producer would send, a plain Engine run
// over the same events numbered the way the pool numbers them (accept index), and alert records in a canonical order.
import { ALERT_BYTES, AL } from '../../src/abi.js';
import { Engine } from '../../src/engine.js';
import type { EventBatch } from '../../src/events.js';
import { ShardPool, type PoolColumns, type PoolOptions } from '../../src/pool/index.js';
import { marketStream } from './streams.js';
import { runChunks } from './run.js';

/** Low warm-ups and short epochs so that every calibrator mode fires within a few thousand events per instrument. */
export const POOL_CONFIG = {
  window: 64, warmup: 16,
  calibration: { warmup: 200, rateEpochMs: 10_000, targetPerHour: 20 },
  suppression: { cooldownMs: 2_000 },
  thresholds: { default: { mode: 'target', threshold: 6 }, zscore: { mode: 'static', threshold: 5 }, robust: { mode: 'regime', threshold: 6 } },
};

export const IDS = [0, 1, 2, 3, 4, 5, 6, 7];
export const MAX_INSTRUMENTS = 16;

export function stream(n = 24_000, seed = 11, ids = IDS): EventBatch {
  return marketStream({ seed, instruments: ids, n, jumps: [Math.floor(n * 0.3), Math.floor(n * 0.55), Math.floor(n * 0.8)] });
}

/** Events [start, end) as a frame of columns (seq null: the pool numbers them), copied like a decoder would. */
export function frame(b: EventBatch, start: number, end: number): PoolColumns {
  return {
    n: end - start,
    ts: b.tsNs.slice(start, end),
    seq: null,
    instrument: b.instrument.slice(start, end),
    kind: Uint8Array.from(b.kind.subarray(start, end)),
    f: b.f.map((col) => col.slice(start, end)),
  };
}

/** Frame boundaries: sizes cycle through `sizes`. */
export function splits(n: number, sizes: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0, k = 0; s < n; k++) { const e = Math.min(n, s + sizes[k % sizes.length]); out.push([s, e]); s = e; }
  return out;
}

/** Alert records sorted by (seq, record bytes): the order the pool's alerts are compared in. */
export function canonical(parts: Uint8Array[]): Buffer {
  const all = Buffer.concat(parts);
  const recs: Buffer[] = [];
  for (let o = 0; o < all.length; o += ALERT_BYTES) recs.push(all.subarray(o, o + ALERT_BYTES));
  recs.sort((a, b) => {
    const sa = a.readBigInt64LE(AL.SEQ), sb = b.readBigInt64LE(AL.SEQ);
    return sa < sb ? -1 : sa > sb ? 1 : Buffer.compare(a, b);
  });
  return Buffer.concat(recs);
}

/** The plain engine's alerts over the same events, numbered 0, 1, 2.. like the pool's accept index; with optional threshold changes before event k. */
export function plainRun(b: EventBatch, changes: { at: number; update: Record<string, unknown> }[] = [], config: object = POOL_CONFIG): { bytes: Buffer; alerts: number } {
  const e = Engine.create({ ...config, autoRegister: true, maxInstruments: MAX_INSTRUMENTS });
  const copy = b.slice(0);
  const seq = new BigInt64Array(copy.length);
  for (let i = 0; i < copy.length; i++) seq[i] = BigInt(i);
  copy.seq = seq;
  const parts: Uint8Array[] = [];
  const cuts = [0, ...changes.map((c) => c.at), copy.length];
  for (let k = 0; k + 1 < cuts.length; k++) {
    if (k > 0) e.setThresholds(changes[k - 1].update as never);
    parts.push(runChunks(e, copy.slice(cuts[k], cuts[k + 1]), 4096).bytes);
  }
  const bytes = canonical(parts);
  return { bytes, alerts: bytes.length / ALERT_BYTES };
}

/** Alerts per instrument, in seq order. */
export function byInstrument(bytes: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer[]>();
  for (let o = 0; o < bytes.length; o += ALERT_BYTES) {
    const id = bytes.readUInt32LE(o + AL.INSTRUMENT);
    if (!m.has(id)) m.set(id, []);
    m.get(id)!.push(bytes.subarray(o, o + ALERT_BYTES));
  }
  return new Map([...m].map(([k, v]) => [k, Buffer.concat(v)]));
}

export interface Collected { pool: ShardPool; parts: Uint8Array[]; bytes(): Buffer }

export async function openPool(opts: PoolOptions = {}): Promise<Collected> {
  const pool = await ShardPool.create({ config: POOL_CONFIG, maxInstruments: MAX_INSTRUMENTS, ...opts });
  const parts: Uint8Array[] = [];
  pool.onAlerts = (batch) => {
    if (batch.records.byteLength !== batch.count * ALERT_BYTES) throw new Error('records and count disagree');
    parts.push(batch.records);
  };
  return { pool, parts, bytes: () => canonical(parts) };
}

/** Submit frames in order; when the pool has no room, wait for progress and try again. */
export async function feed(pool: ShardPool, b: EventBatch, frames: [number, number][], between?: (k: number) => void | Promise<void>): Promise<void> {
  for (let k = 0; k < frames.length; k++) {
    if (between) await between(k);
    const [s, e] = frames[k];
    const cols = frame(b, s, e);
    while (pool.submit(cols, 0n) < 0) await new Promise((r) => setTimeout(r, 1));
  }
}
