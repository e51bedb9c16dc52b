// The shard pool against a plain Engine over the same events (numbered by accept index, as the pool numbers them):
// DESIGN.md's properties 1 (batches), 2 (per-instrument order), 3 (a hot instrument does not hold others back),
// 6 (determinism over workers, shards, chunk sizes and frame splits), and live threshold changes. Real Piscina
// workers run dist/src/pool/worker.js: `npm run build` first.
import { describe, expect, it } from 'vitest';
import { ALERT_BYTES, AL, Kind } from '../src/abi.js';
import { ConfigError } from '../src/config.js';
import { Engine } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import { marketStream } from '../src/synthetic.js';
import { runChunks } from './helpers/run.js';
import { byInstrument, canonical, feed, frame, IDS, MAX_INSTRUMENTS, openPool, plainRun, POOL_CONFIG, splits, stream } from './helpers/pool.js';

const N = 24_000;
const b = stream(N);
const ref = plainRun(b);

describe('the pool gives the plain engine\'s alerts', () => {
  it('the reference run fires alerts on every instrument', () => {
    expect(ref.alerts).toBeGreaterThan(100);
    expect(byInstrument(ref.bytes).size).toBe(IDS.length);
  });

  it('batches cross into WASM, not events: far fewer tasks than events (property 1)', async () => {
    const { pool, bytes } = await openPool({ workers: 2, shards: 4, chunkEvents: 2048 });
    try {
      // Frames of 100 events, with a turn of the event loop between them, as a socket would deliver them.
      await feed(pool, b, splits(N, [100]), () => new Promise((r) => setImmediate(r)));
      await pool.drain();
      const s = pool.stats();
      expect(s.eventsProcessed).toBe(N);
      expect(s.engine.accepted).toBe(N);
      expect(s.engine.alerts).toBe(ref.alerts);
      expect(s.queuedEvents).toBe(0);
      expect(pool.freeEvents).toBe(1 << 20);
      expect(pool.processedWatermark).toBe(N);
      // 240 frames over 4 shards would be 960 tasks if nothing coalesced; every task carries many events.
      expect(s.tasks).toBeGreaterThan(0);
      expect(s.tasks).toBeLessThan(N / 50);
      expect(bytes().equals(ref.bytes)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('each instrument\'s alerts are the plain engine\'s, in the same order (property 2)', async () => {
    const { pool, parts } = await openPool({ workers: 2, shards: 3, chunkEvents: 700 });
    try {
      await feed(pool, b, splits(N, [1, 57, 1000, 3]));
      await pool.drain();
      // Per instrument, in the order the pool emitted them (no sorting): one shard, one thread at a time, in order.
      const emitted = byInstrument(Buffer.concat(parts));
      const expected = byInstrument(ref.bytes);
      expect([...emitted.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [id, recs] of expected) {
        expect(recs.length).toBeGreaterThan(0);
        expect(emitted.get(id)!.equals(recs), `instrument ${id}`).toBe(true);
      }
    } finally {
      await pool.close();
    }
  });

  it('1, 2 and 4 workers, 1 to 8 shards, chunks of 256 to 4096, any frame split and either build give the same bytes (property 6)', async () => {
    const runs: { workers: number; shards: number; chunkEvents: number; sizes: number[]; build?: 'debug' }[] = [
      { workers: 1, shards: 1, chunkEvents: 4096, sizes: [N] },
      { workers: 1, shards: 8, chunkEvents: 256, sizes: [1, 2, 3, 500] },
      { workers: 2, shards: 8, chunkEvents: 2048, sizes: [64] },
      { workers: 4, shards: 5, chunkEvents: 1000, sizes: [4999, 7] },
      { workers: 2, shards: 3, chunkEvents: 333, sizes: [999], build: 'debug' }, // atc.shared.debug.wasm
    ];
    for (const r of runs) {
      const { pool, bytes } = await openPool({ workers: r.workers, shards: r.shards, chunkEvents: r.chunkEvents, build: r.build });
      try {
        await feed(pool, b, splits(N, r.sizes), (k) => (k % 7 === 3 ? new Promise((res) => setImmediate(res)) : undefined));
        await pool.drain();
        expect(pool.stats().workers).toBe(r.workers);
        expect(bytes().length / ALERT_BYTES, JSON.stringify(r)).toBe(ref.alerts);
        expect(bytes().equals(ref.bytes), JSON.stringify(r)).toBe(true);
      } finally {
        await pool.close();
      }
    }
  });

  it('keeps producer sequence numbers, numbers the rest by accept index, and sums reject counters over shards', async () => {
    // A stream with producer seqs on every other frame and some events the engine refuses.
    const bad = stream(6_000, 5);
    for (let i = 0; i < bad.length; i += 97) if (bad.kind[i] === Kind.trade) bad.f[0][i] = NaN;          // nonFinite
    for (let i = 50; i < bad.length; i += 301) bad.tsNs[i] = bad.tsNs[i] - 10_000_000_000n;              // timeBackwards
    const frames = splits(bad.length, [300]);
    const plain = Engine.create({ ...POOL_CONFIG, autoRegister: true, maxInstruments: MAX_INSTRUMENTS });
    const seq = new BigInt64Array(bad.length);
    frames.forEach(([s, e], k) => { for (let i = s; i < e; i++) seq[i] = k % 2 === 0 ? BigInt(1_000_000 + 3 * i) : BigInt(i); });
    const copy = bad.slice(0);
    copy.seq = seq.slice();
    const plainBytes = canonical([runChunks(plain, copy, 4096).bytes]);
    const { pool, parts } = await openPool({ workers: 2, shards: 4 });
    try {
      for (const [k, [s, e]] of frames.entries()) {
        const cols = frame(bad, s, e);
        if (k % 2 === 0) cols.seq = seq.slice(s, e);
        else if (k % 3 === 0) { cols.seq = new BigInt64Array(e - s).fill(-1n); } // -1: assign
        expect(pool.submit(cols, 0n)).toBe(s);
      }
      await pool.drain();
      const s = pool.stats().engine;
      const c = plain.counters();
      expect(c.rejected.nonFinite).toBeGreaterThan(10);
      expect(c.rejected.timeBackwards).toBeGreaterThan(5);
      expect(s).toEqual(c);
      const got = canonical(parts);
      expect(got.length).toBeGreaterThan(0);
      expect(got.equals(plainBytes)).toBe(true);
      // Both kinds of number made it into the records.
      const seqs = Array.from({ length: got.length / ALERT_BYTES }, (_, k) => got.readBigInt64LE(k * ALERT_BYTES + AL.SEQ));
      expect(seqs.some((q) => q >= 1_000_000n)).toBe(true);
      expect(seqs.some((q) => q < 1_000_000n)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});

describe('thresholds', () => {
  it('a change mid-stream applies between the events before and after it, like Engine.setThresholds there', async () => {
    const at = 9_000, update = { zscore: { threshold: 3 }, 'spread.ewma': { mode: 'static', threshold: 4 } };
    const expected = plainRun(b, [{ at, update }]);
    expect(expected.alerts).toBeGreaterThan(ref.alerts); // the change matters
    const { pool, bytes } = await openPool({ workers: 2, shards: 4, chunkEvents: 512 });
    try {
      await feed(pool, b, splits(at, [250]));
      pool.setThresholds(update);
      const t = pool.thresholds();
      expect(t.find((x) => x.feature === 'return' && x.detector === 'zscore')).toMatchObject({ mode: 'static', threshold: 3 });
      expect(t.find((x) => x.feature === 'spread' && x.detector === 'ewma')).toMatchObject({ mode: 'static', threshold: 4 });
      await feed(pool, b, splits(N - at, [250]).map(([s, e]) => [s + at, e + at]));
      await pool.drain();
      expect(bytes().equals(expected.bytes)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('an invalid change is refused as a whole, before anything is journaled', async () => {
    const { pool } = await openPool({ shards: 2 });
    try {
      const before = pool.thresholds();
      expect(() => pool.setThresholds({ zscore: { threshold: 2 }, nonsense: { threshold: 1 } })).toThrow(ConfigError);
      expect(() => pool.setThresholds({ zscore: { threshold: -1 } })).toThrow(/threshold/);
      expect(pool.thresholds()).toEqual(before);
      expect(pool.stats().tasks).toBe(0);
    } finally {
      await pool.close();
    }
  });
});

describe('a hot instrument does not hold the others back (property 3)', () => {
  it('another shard\'s events, accepted after a flood on shard 0, are processed while shard 0 still works through it', async () => {
    const WARM = 400, HOT = 120_000, COLD = 3_000;
    // Instruments 2 and 3 warm both workers up first (one per shard), so that neither is still starting when the
    // flood comes; instrument 0 floods shard 0, instrument 1 (shard 1) comes after all of the flood.
    const warm = marketStream({ seed: 2, instruments: [2, 3], n: WARM });
    const hot = marketStream({ seed: 3, instruments: [0], n: HOT });
    const cold = marketStream({ seed: 4, instruments: [1], n: COLD, jumps: [1_500, 2_500] });
    const all = new EventBatch(WARM + HOT + COLD);
    for (const src of [warm, hot, cold]) {
      for (let i = 0; i < src.length; i++) all.push(src.kind[i], src.instrument[i], src.tsNs[i], src.f[0][i], src.f[1][i], src.f[2][i], src.f[3][i], src.f[4][i], src.f[5][i]);
    }
    const expected = plainRun(all);
    const coldAlerts = byInstrument(expected.bytes).get(1);
    expect(coldAlerts && coldAlerts.length).toBeGreaterThan(0);

    const { pool, bytes } = await openPool({ workers: 2, shards: 2, chunkEvents: 2048 });
    try {
      let hotLeftWhenColdDone = -1, watermarkWhenColdDone = -1;
      pool.onAlerts = ((inner) => (batch) => {
        inner(batch);
        if (batch.shard === 1 && batch.arrivalNs === 1n && hotLeftWhenColdDone < 0) {
          hotLeftWhenColdDone = pool.stats().queuedEvents;
          watermarkWhenColdDone = pool.processedWatermark;
        }
      })(pool.onAlerts);
      expect(pool.submit(frame(all, 0, WARM), 0n)).toBe(0);
      await pool.drain();
      // The whole flood (accept indices [WARM, WARM + HOT)), then the cold instrument's events, in one go.
      for (const [s, e] of splits(HOT, [5_000])) expect(pool.submit(frame(all, WARM + s, WARM + e), 0n)).toBe(WARM + s);
      pool.submit(frame(all, WARM + HOT, WARM + HOT + COLD), 1n);
      await pool.drain();
      // When shard 1 delivered the cold instrument's alerts, most of the flood, accepted before them, was still
      // queued on shard 0 (one FIFO for all would have processed all of it first; in quiet runs none of it was done).
      expect(hotLeftWhenColdDone).toBeGreaterThan(HOT / 2);
      expect(watermarkWhenColdDone).toBeLessThan(WARM + HOT / 2);
      expect(bytes().equals(expected.bytes)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});

describe('bounded queue', () => {
  it('refuses a frame it has no room for, whole, and takes it once the shards catch up', async () => {
    const { pool, bytes } = await openPool({ workers: 1, shards: 2, chunkEvents: 256, maxQueuedEvents: 2_000, snapshotEveryEvents: 1_000 });
    try {
      expect(pool.freeEvents).toBe(2_000);
      const frames = splits(N, [700]);
      let refused = 0;
      for (const [s, e] of frames) {
        const cols = frame(b, s, e);
        let first: number;
        while ((first = pool.submit(cols, 0n)) < 0) {
          refused++;
          expect(pool.freeEvents).toBeLessThan(e - s);
          await new Promise((r) => setTimeout(r, 1));
        }
        expect(first).toBe(s);
        expect(pool.freeEvents).toBeGreaterThanOrEqual(0);
      }
      await pool.drain();
      expect(refused).toBeGreaterThan(0);
      expect(pool.freeEvents).toBe(2_000);
      expect(bytes().equals(ref.bytes)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
