// The decoder against hostile and broken input, seeded and bounded: random bytes, random msgpack values shaped
// like messages, and valid frames mutated (bit flips, truncation, appended bytes, changed lengths, swapped types).
// decode must never throw, must answer with a message or a ProtocolError of a known code (never an internal
// error), and whatever it accepts must hold only valid events; every valid frame must decode to exactly its events.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { Kind } from '../src/abi.js';
import { EventBatch } from '../src/events.js';
import type { Columns } from '../src/protocol/columns.js';
import { decodeSubscribe, FrameDecoder } from '../src/protocol/decode.js';
import { FrameEncoder } from '../src/protocol/encode.js';
import { ERROR_CODES, type ClientMessage, type ProtocolError } from '../src/protocol/messages.js';
import { mulberry32 } from './helpers/random.js';

const NAMES = ['BTC', 'ETH', 'SOL', 'BTC-27SEP24-60000-C'];
const newDecoder = () => new FrameDecoder({
  isRegistered: (id) => id < NAMES.length,
  lookup: (name) => { const i = NAMES.indexOf(name); return i < 0 ? undefined : i; },
  maxFrameEvents: 256,
  maxFrameBytes: 1 << 16,
});
const CODES = new Set<string>(ERROR_CODES);
const KIND_NAMES = ['', 'trade', 'quote', 'mark', 'option', 'value'];
const FIELDS = [[], ['price', 'size', 'side'], ['bid', 'bidSize', 'ask', 'askSize', 'bidDepth', 'askDepth'], ['mark', 'index', 'funding'], ['markIv', 'underlying', 'markPrice', 'bidIv', 'askIv', 'neighbourIv'], ['value']];

type Rng = () => number;
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** n valid events of random kinds, instruments, times and seqs; optional fields present or absent at random. */
function randomBatch(r: Rng, n: number, withSeq: boolean): EventBatch {
  const b = new EventBatch(n);
  const pos = () => (r() < 0.1 ? pick(r, [1e-12, 5e-324, 1e300]) : r() * 1e5 + 1e-9);
  const nonNeg = () => (r() < 0.2 ? 0 : r() * 100);
  const opt = (x: () => number) => (r() < 0.4 ? NaN : x());
  for (let i = 0; i < n; i++) {
    const inst = int(r, 0, 3);
    const ts = r() < 0.05 ? 1n : r() < 0.05 ? 0x7fffffffffffffffn : 1723161255030314667n + BigInt(int(r, -1e9, 1e9));
    const seq = withSeq && r() < 0.7 ? (r() < 0.1 ? 0x7fffffffffffffffn : BigInt(int(r, 0, 2 ** 40))) : -1n;
    switch (int(r, 1, 5)) {
      case 1: b.trade(inst, ts, pos(), nonNeg(), pick(r, [-1, 0, 1]), seq); break;
      case 2: b.quote(inst, ts, pos(), nonNeg(), pos(), nonNeg(), opt(nonNeg), opt(nonNeg), seq); break;
      case 3: { // mark? index?, at least one: a fifth of the marks carry the index only
        const mark = r() < 0.2 ? NaN : pos();
        b.mark(inst, ts, mark, Number.isNaN(mark) ? pos() : opt(pos), opt(() => (r() - 0.5) * 0.01), seq);
        break;
      }
      // markIv, underlying?, markPrice?, bidIv?, askIv?, neighbourIv? (f5, the Deribit adapter's IV of the smile at the strike)
      case 4: b.push(Kind.option, inst, ts, nonNeg(), opt(pos), opt(nonNeg), opt(nonNeg), opt(nonNeg), opt(nonNeg), seq); break;
      default: b.value(inst, ts, r() < 0.1 ? pick(r, [0, -0, -1e308, 1e308]) : (r() - 0.5) * 1e6, seq);
    }
  }
  return b;
}

interface Ev { ts: bigint; seq: bigint; instrument: number; kind: number; f: number[] }
function eventsOf(c: Columns): Ev[] {
  const out: Ev[] = [];
  for (let i = 0; i < c.n; i++) out.push({ ts: c.ts[i], seq: c.seq ? c.seq[i] : -1n, instrument: c.instrument[i], kind: c.kind[i], f: c.f.map((col) => col[i]) });
  return out;
}
function batchEvents(b: EventBatch, start = 0, end = b.length): Ev[] {
  const out: Ev[] = [];
  for (let i = start; i < end; i++) out.push({ ts: b.tsNs[i], seq: b.seq[i], instrument: b.instrument[i], kind: b.kind[i], f: b.f.map((col) => col[i]) });
  return out;
}

/** The rules, written again from the specification (not from the decoder): is this event acceptable? */
function valid(e: Ev): boolean {
  const fin = Number.isFinite;
  const opt = (x: number, ok: (x: number) => boolean) => Number.isNaN(x) || (fin(x) && ok(x));
  const [a, b, c, d, e4, e5] = e.f;
  if (e.ts <= 0n || e.seq < -1n || e.instrument >= NAMES.length) return false;
  switch (e.kind) {
    case 1: return fin(a) && a > 0 && fin(b) && b >= 0 && (c === 0 || c === 1 || c === -1);
    case 2: return fin(a) && a > 0 && fin(b) && b >= 0 && fin(c) && c > 0 && fin(d) && d >= 0 && opt(e4, (x) => x >= 0) && opt(e5, (x) => x >= 0);
    case 3: return opt(a, (x) => x > 0) && opt(b, (x) => x > 0) && !(Number.isNaN(a) && Number.isNaN(b)) && opt(c, () => true);
    case 4: return fin(a) && a >= 0 && opt(b, (x) => x > 0) && opt(c, (x) => x >= 0) && opt(d, (x) => x >= 0) && opt(e4, (x) => x >= 0);
    case 5: return fin(a);
    default: return false;
  }
}

/** decode's contract on any input. Returns the message when one was accepted. */
function checkAnswer(m: ClientMessage | ProtocolError, what: string): ClientMessage | undefined {
  expect(m, what).toBeTypeOf('object');
  if ('code' in m) {
    expect(CODES.has(m.code), `${what}: code ${m.code}`).toBe(true);
    expect(m.message.length, what).toBeGreaterThan(0);
    expect(m.message, what).not.toMatch(/internal error/);
    return undefined;
  }
  expect(['hello', 'register', 'cols', 'rows'], what).toContain(m.t);
  if (m.t === 'cols' || m.t === 'rows') {
    const c = m.columns;
    expect(Number.isSafeInteger(m.seq) && m.seq >= 0, what).toBe(true);
    expect(c.n, what).toBeGreaterThan(0);
    for (const col of [c.ts, c.instrument, c.kind, ...c.f]) expect(col.length, what).toBe(c.n);
    if (c.seq) expect(c.seq.length, what).toBe(c.n);
    for (const e of eventsOf(c)) if (!valid(e)) expect.fail(`${what}: accepted an invalid event ${JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? `${v}` : Number.isNaN(v) ? 'NaN' : v))}`);
  }
  return m;
}

/** The events of a batch as rows: names or ids, ts as bigint, digits or ISO-free forms, sides as words. */
function rowsOf(r: Rng, b: EventBatch): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < b.length; i++) {
    const k = b.kind[i];
    const row: Record<string, unknown> = {
      ts: r() < 0.5 ? b.tsNs[i] : b.tsNs[i].toString(),
      instrument: r() < 0.5 ? NAMES[b.instrument[i]] : b.instrument[i],
      kind: KIND_NAMES[k],
    };
    if (b.seq[i] >= 0n) row.seq = r() < 0.5 ? b.seq[i] : b.seq[i].toString();
    FIELDS[k].forEach((name, col) => {
      const x = b.f[col][i];
      if (Number.isNaN(x)) { if (r() < 0.3) row[name] = null; return; }
      row[name] = k === 1 && col === 2 && r() < 0.5 ? (x === 1 ? 'buy' : x === -1 ? 'sell' : 0) : x;
    });
    rows.push(row);
  }
  return rows;
}

describe('valid frames decode to exactly their events', () => {
  it('cols from random batches, whole and in sub-ranges, aligned and not', () => {
    const r = mulberry32(20240808);
    const enc = new FrameEncoder();
    const d = newDecoder();
    for (let trial = 0; trial < 300; trial++) {
      const b = randomBatch(r, int(r, 1, 200), r() < 0.5);
      const start = r() < 0.5 ? 0 : int(r, 0, b.length - 1);
      const end = r() < 0.5 ? b.length : int(r, start + 1, b.length);
      let bytes = enc.cols(trial, b, start, end);
      if (r() < 0.5) { // somewhere unaligned in a bigger buffer
        const shift = int(r, 1, 7);
        const host = new Uint8Array(bytes.length + shift + 3);
        host.set(bytes, shift);
        bytes = host.subarray(shift, shift + bytes.length);
      }
      const m = checkAnswer(d.decode(bytes), `trial ${trial}`);
      if (!m || m.t !== 'cols') expect.fail(`trial ${trial}: a valid frame was refused: ${JSON.stringify(d.decode(bytes))}`);
      expect(m.seq).toBe(trial);
      const got = eventsOf(m.columns);
      const want = batchEvents(b, start, end);
      expect(got).toEqual(want);
    }
  });

  it('rows from random batches, as maps and as records', () => {
    const r = mulberry32(7);
    const maps = new FrameEncoder(), records = new FrameEncoder({ records: true });
    const d = newDecoder();
    for (let trial = 0; trial < 200; trial++) {
      const b = randomBatch(r, int(r, 1, 60), r() < 0.5);
      const bytes = (r() < 0.5 ? maps : records).rows(trial, rowsOf(r, b));
      const m = checkAnswer(d.decode(bytes), `trial ${trial}`);
      if (!m || m.t !== 'rows') expect.fail(`trial ${trial}: valid rows were refused: ${JSON.stringify(d.decode(bytes))}`);
      // msgpackr writes -0 as the integer 0 (an encoder's choice msgpack allows): rows carry numbers, not bits.
      const zero = (evs: Ev[]) => evs.map((e) => ({ ...e, f: e.f.map((x) => (x === 0 ? 0 : x)) }));
      expect(zero(eventsOf(m.columns))).toEqual(zero(batchEvents(b)));
    }
  });
});

describe('hostile input never throws', () => {
  it('random byte strings', () => {
    const r = mulberry32(1);
    const d = newDecoder();
    for (let trial = 0; trial < 3000; trial++) {
      const len = trial < 2000 ? int(r, 0, 48) : int(r, 1, 600);
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = int(r, 0, 255);
      // Half of them start like a message (a map), so that decoding gets past the first byte.
      if (len > 0 && trial % 2 === 0) bytes[0] = 0x80 | int(r, 1, 15);
      checkAnswer(d.decode(bytes), `bytes ${Buffer.from(bytes.subarray(0, 32)).toString('hex')}`);
      const s = decodeSubscribe(bytes, true);
      expect('code' in s || s.t === 'subscribe').toBe(true);
    }
  });

  it('random msgpack values shaped like messages', () => {
    const r = mulberry32(2);
    const packers = [new Packr({ useRecords: false }), new Packr({ useRecords: true }), new Packr({ useRecords: false, moreTypes: true })];
    const keys = ['t', 'seq', 'n', 'ts', 'instrument', 'kind', 'f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'eseq', 'rows', 'v', 'token', 'producer', 'notify',
      'instruments', 'name', 'expiry', 'strike', 'optionType', 'price', 'size', 'side', 'bid', 'value', '__proto__', 'constructor', 'toString'];
    const types = ['cols', 'rows', 'hello', 'register', 'subscribe', 'trade', 'quote', 'value', 'option', 'perpetual', 'call'];
    const d = newDecoder();
    const value = (depth: number): unknown => {
      switch (int(r, 0, depth > 2 ? 9 : 12)) {
        case 0: return int(r, -5, 300);
        case 1: return pick(r, [NaN, Infinity, -Infinity, -0, 0.5, 2 ** 53, -(2 ** 63), 1e300]);
        case 2: return pick(r, [0n, -1n, 1723161255030314667n, 2n ** 63n - 1n, -(2n ** 63n)]);
        case 3: return pick(r, types);
        case 4: return pick(r, ['', 'x'.repeat(200), '2024-08-08T23:54:15Z', '1723161255030314667', 'NaN', '\u0000']);
        case 5: return r() < 0.5 ? null : undefined;
        case 6: return r() < 0.5;
        case 7: case 8: { // a bin, often of a column's length for a small n
          const n = int(r, 0, 4);
          const u = new Uint8Array(pick(r, [n, 4 * n, 8 * n, int(r, 0, 40)]));
          for (let i = 0; i < u.length; i++) u[i] = int(r, 0, 255);
          return u;
        }
        case 9: return new Float64Array([NaN, 1]);
        case 10: return Array.from({ length: int(r, 0, 4) }, () => value(depth + 1));
        default: {
          const o: Record<string, unknown> = {};
          for (let i = int(r, 0, 8); i > 0; i--) o[pick(r, keys)] = value(depth + 1);
          return o;
        }
      }
    };
    for (let trial = 0; trial < 3000; trial++) {
      const o: Record<string, unknown> = { t: pick(r, types) };
      for (let i = int(r, 0, 12); i > 0; i--) o[pick(r, keys)] = value(0);
      if (o.t === 'cols' && r() < 0.7) o.n = int(r, 0, 4);
      let bytes: Uint8Array;
      try {
        bytes = pick(r, packers).pack(o);
      } catch {
        continue; // a value msgpackr itself will not write (a bigint out of int64 range)
      }
      checkAnswer(d.decode(bytes), `value ${trial}`);
      const s = decodeSubscribe(bytes, true);
      expect('code' in s || s.t === 'subscribe').toBe(true);
    }
  });

  it('valid frames mutated: bit flips, truncation, appended bytes, changed lengths, swapped types', () => {
    const r = mulberry32(3);
    const enc = new FrameEncoder(), records = new FrameEncoder({ records: true });
    const d = newDecoder();
    const TYPE_BYTES = [0xc0, 0xc2, 0xc3, 0xc4, 0xc6, 0xca, 0xcb, 0xcc, 0xcf, 0xd3, 0xd4, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xa1, 0x91, 0x81, 0x00, 0x7f, 0xff];
    let accepted = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const b = randomBatch(r, int(r, 1, 12), r() < 0.5);
      let src: Uint8Array;
      switch (trial % 4) {
        case 0: case 1: src = enc.cols(int(r, 0, 300), b); break;
        case 2: src = (r() < 0.5 ? enc : records).rows(int(r, 0, 300), rowsOf(r, b)); break;
        default: src = r() < 0.5 ? enc.hello({ token: 'token-123', producer: 'p', notify: true })
          : enc.register([{ name: 'BTC-27SEP24-60000-C', kind: 'option', strike: 60000, expiry: '2024-09-27T08:00:00Z', optionType: 'call' }, { name: 'BTC', kind: 'perpetual', tickSize: 0.1 }]);
      }
      let bytes = Uint8Array.from(src);
      const mutation = int(r, 0, 5);
      switch (mutation) {
        case 0: for (let k = int(r, 1, 4); k > 0; k--) { const i = int(r, 0, bytes.length - 1); bytes[i] ^= 1 << int(r, 0, 7); } break;
        case 1: bytes = bytes.subarray(0, int(r, 0, bytes.length - 1)); break;
        case 2: { const more = new Uint8Array(bytes.length + int(r, 1, 16)); more.set(bytes); for (let i = bytes.length; i < more.length; i++) more[i] = int(r, 0, 255); bytes = more; break; }
        case 3: { // a length: the 4 bytes after a bin32/str32/array32/map32 marker, or any 4 bytes
          const marks: number[] = [];
          bytes.forEach((x, i) => { if ((x === 0xc6 || x === 0xdb || x === 0xdd || x === 0xdf) && i + 4 < bytes.length) marks.push(i); });
          const at = marks.length > 0 && r() < 0.8 ? pick(r, marks) + 1 : int(r, 0, Math.max(0, bytes.length - 4));
          const delta = pick(r, [-8, -1, 1, 4, 8, 256, 1 << 24, -(1 << 24)]);
          const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          if (at + 4 <= bytes.length) v.setUint32(at, (v.getUint32(at) + delta) >>> 0);
          break;
        }
        case 4: { // a value: a special double or integer over 8 bytes where the encoder aligns column elements
          const at = 8 * int(r, 0, Math.floor(bytes.length / 8) - 1);
          const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          if (at >= 0 && at + 8 <= bytes.length) {
            if (r() < 0.7) v.setFloat64(at, pick(r, [NaN, Infinity, -Infinity, -1, 0, -0, 0.5, 2, -2, 1e-300]), true);
            else v.setBigInt64(at, pick(r, [0n, -1n, -2n, -(2n ** 63n), 2n ** 32n]), true);
          }
          break;
        }
        default: { // a type: replace a marker byte by another
          const marks: number[] = [];
          bytes.forEach((x, i) => { if (TYPE_BYTES.includes(x) || (x >= 0xa0 && x < 0xc0) || (x >= 0x80 && x < 0xa0)) marks.push(i); });
          const at = marks.length > 0 ? pick(r, marks) : int(r, 0, bytes.length - 1);
          bytes[at] = pick(r, TYPE_BYTES);
        }
      }
      const m = checkAnswer(d.decode(bytes), `trial ${trial} mutation ${mutation}`);
      if (m) accepted++;
    }
    // Some mutations leave a frame valid (a flipped bit in a price): those were checked event by event above.
    expect(accepted).toBeGreaterThan(0);
  });
});
