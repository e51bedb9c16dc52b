// Fuzzing the sidecar over a real connection: thousands of random and mutated messages interleaved with valid
// frames. The server must answer every message, stay up for everyone, and process exactly the events it acked,
// every valid frame's among them. Seeded and bounded.
import { afterAll, describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import { mulberry32 } from '../src/random.js';
import { FrameEncoder } from '../src/protocol/encode.js';
import type { Sidecar } from '../src/server/sidecar.js';
import { marketStream } from './helpers/streams.js';
import { httpUrl, rawProducer, startSidecar, until } from './helpers/sidecar.js';

let sidecar: Sidecar | undefined;
afterAll(async () => { await sidecar?.stop(); });

/** Far from any seq the server expects, and not a power of two away: one flipped bit cannot make it valid. */
const WRONG_SEQ = 1_000_003;

describe('sidecar fuzz', () => {
  it('survives random and mutated frames and processes exactly what it acked', async () => {
    sidecar = await startSidecar({ maxFrameEvents: 4096 });
    const { ws, replies } = await rawProducer(sidecar);
    const enc = new FrameEncoder();
    ws.send(enc.hello({ v: 1 }));
    ws.send(enc.register([{ name: 'A' }, { name: 'B' }, { name: 'C' }]));
    await until(() => replies.length >= 2, 5000, 'welcome');

    const rand = mulberry32(2024);
    const events = marketStream({ seed: 3, instruments: [0, 1, 2], n: 60_000 });
    let sent = 0;
    let nextSeq = 0;
    let validEvents = 0;
    let validFrames = 0;
    const mutate = (bytes: Uint8Array): Uint8Array => {
      const b = new Uint8Array(bytes);
      const r = rand();
      if (r < 0.4) {
        for (let k = 0, n = 1 + Math.floor(rand() * 4); k < n; k++) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
        return b;
      }
      if (r < 0.6) return b.subarray(0, Math.floor(rand() * b.length));
      if (r < 0.8) {
        const cut = Math.floor(rand() * b.length);
        const extra = new Uint8Array(1 + Math.floor(rand() * 16)).map(() => Math.floor(rand() * 256));
        const out = new Uint8Array(b.length + extra.length);
        out.set(b.subarray(0, cut)); out.set(extra, cut); out.set(b.subarray(cut), cut + extra.length);
        return out;
      }
      // A structurally valid map with the wrong types in random fields.
      const junk: Record<string, unknown>[] = [
        { t: 'cols', seq: WRONG_SEQ, n: 3, ts: 'x' }, { t: 'rows', seq: WRONG_SEQ, rows: 'nope' }, { t: 'cols', seq: -1 },
        { t: 'rows', seq: WRONG_SEQ, rows: [{ ts: 1, instrument: 'ZZZ', kind: 'trade', price: 1, size: 1 }] },
        { t: null }, [1, 2, 3], { t: 'cols', seq: WRONG_SEQ, n: 1e9 }, { t: 'register', instruments: [{ name: '' }] },
      ];
      return pack(junk[Math.floor(rand() * junk.length)]);
    };

    for (let round = 0; round < 4000; round++) {
      const r = rand();
      if (r < 0.15 && sent < events.length) {
        const n = 1 + Math.floor(rand() * 300);
        const part = events.slice(sent, Math.min(events.length, sent + n));
        ws.send(enc.cols(nextSeq++, part));
        sent += part.length;
        validEvents += part.length;
        validFrames++;
      } else if (r < 0.35) {
        const bytes = new Uint8Array(Math.floor(rand() * 200)).map(() => Math.floor(rand() * 256));
        ws.send(bytes);
      } else {
        const part = events.slice(0, 1 + Math.floor(rand() * 50));
        ws.send(mutate(enc.cols(WRONG_SEQ, part)));
      }
      // Keep within the credit window: let the server catch up now and then.
      if (round % 200 === 199) await until(() => replies.length >= round, 10_000, 'replies');
    }
    await until(() => replies.length >= 4002, 20_000, 'a reply to every message');
    const acks = replies.filter((m) => m.t === 'ack' && !m.duplicate);
    const errors = replies.filter((m) => m.t === 'error');
    expect(acks.length).toBe(validFrames);
    expect(acks.map((a) => a.seq)).toEqual(Array.from({ length: validFrames }, (_, i) => i));
    expect(acks.reduce((s, a) => s + (a.n as number), 0)).toBe(validEvents);
    expect(errors.length).toBe(4000 - validFrames);
    for (const e of errors) {
      expect(typeof e.code).toBe('string');
      expect(String(e.message).length).toBeGreaterThan(5);
    }
    await sidecar.pool.drain();
    expect(sidecar.pool.stats().eventsProcessed).toBe(validEvents);
    const health = await (await fetch(httpUrl(sidecar, '/health'))).json() as { status: string };
    expect(health.status).toBe('ok');
    ws.close();
  }, 60_000);
});
