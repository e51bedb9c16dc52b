// DESIGN.md's property 5: a checkpoint (the shard arenas plus a header) restored into a new pool continues exactly
// as the uninterrupted pool, and the plain engine; a damaged checkpoint is refused with an error that says what.
import { describe, expect, it } from 'vitest';
import { ALERT_BYTES, AL } from '../src/abi.js';
import { ShardPool } from '../src/pool/index.js';
import { canonical, feed, frame, openPool, plainRun, splits, stream } from './helpers/pool.js';

const N = 24_000, HALF = 11_000;
const b = stream(N, 31);
const update = { cusum: { threshold: 4 } };
const ref = plainRun(b, [{ at: 4_000, update }]);
const rest = splits(N - HALF, [300, 1_000]).map(([s, e]) => [s + HALF, e + HALF] as [number, number]);

describe('checkpoint and restore (property 5)', () => {
  it('restore -> continue equals the uninterrupted run, thresholds, counters and accept indices included', async () => {
    const meta = { atc: 'test', streams: [{ name: 'p1', nextSeq: 37, events: HALF }] };
    const a = await openPool({ workers: 2, shards: 4, chunkEvents: 1024 });
    let file: Uint8Array;
    let afterA: Buffer;
    try {
      await feed(a.pool, b, splits(4_000, [500]));
      a.pool.setThresholds(update);
      await feed(a.pool, b, splits(HALF - 4_000, [500]).map(([s, e]) => [s + 4_000, e + 4_000]));
      file = await a.pool.checkpoint(meta);
      const before = a.parts.length;
      await feed(a.pool, b, rest);
      await a.pool.drain();
      expect(a.bytes().equals(ref.bytes)).toBe(true);
      afterA = canonical(a.parts.slice(before));
      expect(afterA.length).toBeGreaterThan(0);
    } finally {
      await a.pool.close();
    }

    expect(ShardPool.readCheckpointMeta(file)).toEqual(meta);
    // Different workers and chunk size: neither is part of the state.
    const restored = await ShardPool.restore(file, { workers: 1, chunkEvents: 300 });
    const parts: Uint8Array[] = [];
    restored.onAlerts = (batch) => parts.push(batch.records);
    try {
      expect(restored.stats().shards).toBe(4);
      expect(restored.maxInstruments).toBe(16);
      expect(restored.thresholds().find((t) => t.feature === 'return' && t.detector === 'cusum')!.threshold).toBe(4);
      expect(restored.stats().engine.accepted).toBe(HALF);
      expect(restored.processedWatermark).toBe(HALF);
      for (const [s, e] of rest) expect(restored.submit(frame(b, s, e), 0n)).toBe(s); // accept indices continue
      await restored.drain();
      const got = canonical(parts);
      expect(got.equals(afterA)).toBe(true);
      // Every alert after the checkpoint was fired by an event accepted after it.
      for (let o = 0; o < got.length; o += ALERT_BYTES) expect(got.readBigInt64LE(o + AL.SEQ)).toBeGreaterThanOrEqual(BigInt(HALF));
      expect(restored.stats().engine.accepted).toBe(N);
    } finally {
      await restored.close();
    }
  });

  it('holds exactly the events submitted before the call, while submissions go on', async () => {
    const a = await openPool({ workers: 2, shards: 3, chunkEvents: 512 });
    let file: Uint8Array;
    try {
      await feed(a.pool, b, splits(HALF, [700]));
      // No await between the call and the next submits: they queue behind the checkpoint's barrier.
      const pending = a.pool.checkpoint();
      for (const [s, e] of rest.slice(0, 5)) a.pool.submit(frame(b, s, e), 0n);
      file = await pending;
      await a.pool.drain();
      expect(a.pool.stats().eventsProcessed).toBe(rest[4][1]);
    } finally {
      await a.pool.close();
    }
    const restored = await ShardPool.restore(file);
    const parts: Uint8Array[] = [];
    restored.onAlerts = (batch) => parts.push(batch.records);
    try {
      expect(restored.stats().engine.accepted).toBe(HALF);
      for (const [s, e] of rest) expect(restored.submit(frame(b, s, e), 0n)).toBe(s);
      await restored.drain();
      const expected = plainRun(b);
      const tail = Buffer.concat(Array.from({ length: expected.bytes.length / ALERT_BYTES }, (_, k) => expected.bytes.subarray(k * ALERT_BYTES, (k + 1) * ALERT_BYTES))
        .filter((r) => r.readBigInt64LE(AL.SEQ) >= BigInt(HALF)));
      expect(tail.length).toBeGreaterThan(0);
      expect(canonical(parts).equals(tail)).toBe(true);
    } finally {
      await restored.close();
    }
  });
});

describe('checkpoints in a row', () => {
  it('two checkpoints requested back to back each hold the events before their own call', async () => {
    const a = await openPool({ workers: 1, shards: 2, chunkEvents: 256 });
    const files: Promise<Uint8Array>[] = [];
    try {
      await feed(a.pool, b, splits(2_000, [500]));
      files.push(a.pool.checkpoint({ k: 1 }));
      a.pool.submit(frame(b, 2_000, 2_500), 0n);
      files.push(a.pool.checkpoint({ k: 2 }));
      a.pool.submit(frame(b, 2_500, 3_100), 0n);
      const [one, two] = await Promise.all(files);
      await a.pool.drain();
      for (const [file, events, k] of [[one, 2_000, 1], [two, 2_500, 2]] as const) {
        expect(ShardPool.readCheckpointMeta(file)).toEqual({ k });
        const p = await ShardPool.restore(file);
        expect(p.stats().engine.accepted).toBe(events);
        expect(p.submit(frame(b, events, events + 10), 0n)).toBe(events);
        await p.close();
      }
    } finally {
      await a.pool.close();
    }
  });
});

describe('damaged checkpoints', () => {
  let file: Uint8Array;
  it('setup: a small checkpoint', async () => {
    const { pool } = await openPool({ shards: 2 });
    await feed(pool, b, splits(3_000, [1_000]));
    file = await pool.checkpoint({ hello: 1 });
    await pool.close();
    expect(file.byteLength).toBeGreaterThan(1000);
  });

  const header = (f: Uint8Array) => {
    const len = new DataView(f.buffer, f.byteOffset).getUint32(12, true);
    return { len, json: JSON.parse(Buffer.from(f.subarray(16, 16 + len)).toString('utf8')), body: Math.ceil((16 + len) / 16) * 16 };
  };
  const rewrite = (f: Uint8Array, edit: (h: Record<string, unknown>) => void, arenaEdit?: (arenas: Uint8Array) => void) => {
    const { json, body } = header(f);
    const arenas = f.slice(body);
    arenaEdit?.(arenas);
    edit(json);
    const j = Buffer.from(JSON.stringify(json));
    const start = Math.ceil((16 + j.length) / 16) * 16;
    const out = new Uint8Array(start + arenas.length);
    out.set(f.subarray(0, 12));
    new DataView(out.buffer).setUint32(12, j.length, true);
    out.set(j, 16);
    out.set(arenas, start);
    return out;
  };
  const refuse = async (f: Uint8Array, message: RegExp) => {
    await expect(ShardPool.restore(f)).rejects.toThrow(message);
  };

  it('refuses a truncated file, at any point', async () => {
    await refuse(file.subarray(0, 10), /truncated: 10 bytes/);
    await refuse(file.subarray(0, 40), /truncated: the header says \d+ bytes of JSON/);
    await refuse(file.subarray(0, file.byteLength - 100), /truncated: shard 1's arena needs bytes/);
    expect(() => ShardPool.readCheckpointMeta(file.subarray(0, 40))).toThrow(/truncated/);
  });

  it('refuses the wrong magic, the wrong version and trailing bytes', async () => {
    const magic = file.slice(); magic[0] = 0x58;
    await refuse(magic, /wrong magic "XTCPOOL\\u0000"/);
    const version = file.slice(); new DataView(version.buffer).setUint32(8, 2, true);
    await refuse(version, /version 2 is not supported \(this build reads version 1\)/);
    const longer = new Uint8Array(file.byteLength + 16); longer.set(file);
    await refuse(longer, /16 bytes after the last arena/);
  });

  it('refuses a header that does not describe the arenas', async () => {
    await refuse(rewrite(file, (h) => { h.shards = 3; }), /header.arenas must list 3 arenas, got 2/);
    await refuse(rewrite(file, (h) => { h.abi = 99; }), /written for module ABI 99/);
    await refuse(rewrite(file, (h) => { (h.config as Record<string, unknown>).window = 0; }), /configuration is invalid: config.window/);
    // A configuration whose arenas would be larger than the ones in the file.
    await refuse(rewrite(file, (h) => { (h.config as Record<string, unknown>).window = 256; (h.config as Record<string, unknown>).warmup = 16; }), /shard 0's arena has \d+ bytes, its configuration needs \d+/);
  });

  it('refuses arena bytes that do not match their checksum, and an arena the module refuses', async () => {
    await refuse(rewrite(file, () => {}, (a) => { a[5000] ^= 1; }), /shard 0's arena does not match its sha256/);
    // Corrupt the arena's own magic, with a checksum that matches: the module's restore_check refuses it.
    const { createHash } = await import('node:crypto');
    const bad = rewrite(file, (h) => {
      const arenas = h.arenas as { bytes: number; sha256: string }[];
      const { body } = header(file);
      const a0 = file.slice(body, body + arenas[0].bytes);
      a0[0] ^= 0xff;
      arenas[0].sha256 = createHash('sha256').update(a0).digest('hex');
    }, (a) => { a[0] ^= 0xff; });
    await refuse(bad, /shard 0's arena is refused by the module \(restore_check\)/);
  });
});
