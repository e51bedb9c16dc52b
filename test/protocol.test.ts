// The sidecar's wire protocol (src/protocol): every message through encode -> decode, every refusal the decoder
// makes (its code, and a message that names the problem), rows as plain maps and as msgpackr records, columns at
// aligned and unaligned addresses, exact 64-bit timestamps, and docs/protocol.md held against the code.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { alertObject } from '../src/alert-format.js';
import { Kind } from '../src/abi.js';
import { newCanonicalEvent, parseCanonicalEvent } from '../src/adapters/ndjson.js';
import type { Alert } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import { ColumnScratch, type Columns } from '../src/protocol/columns.js';
import { decodeServerMessage, decodeSubscribe, FrameDecoder } from '../src/protocol/decode.js';
import {
  encodeAck, encodeAlerts, encodeCredit, encodeError, encodeProcessed, encodeRegistered, encodeServerMessage, encodeSubscribed,
  encodeWelcome, FrameEncoder, serverMessageJson,
} from '../src/protocol/encode.js';
import { ERROR_CODES, type ClientMessage, type ProtocolError, suggest } from '../src/protocol/messages.js';

const TS = 1723161255030314667n;
const enc = new FrameEncoder();
const plain = new Packr({ useRecords: false });
const pack = (o: unknown): Uint8Array => plain.pack(o);

/** Instruments 0..3 registered, by name BTC, ETH, SOL, BTC-27SEP24-60000-C. */
const NAMES = ['BTC', 'ETH', 'SOL', 'BTC-27SEP24-60000-C'];
const decoder = (opts: ConstructorParameters<typeof FrameDecoder>[0] = {}) => new FrameDecoder({
  isRegistered: (id) => id < NAMES.length,
  lookup: (name) => { const i = NAMES.indexOf(name); return i < 0 ? undefined : i; },
  ...opts,
});

interface Ev { ts: bigint; seq: bigint | null; instrument: number; kind: number; f: number[] }
function eventsOf(c: Columns): Ev[] {
  const out: Ev[] = [];
  for (let i = 0; i < c.n; i++) out.push({ ts: c.ts[i], seq: c.seq ? c.seq[i] : null, instrument: c.instrument[i], kind: c.kind[i], f: c.f.map((col) => col[i]) });
  return out;
}
function batchEvents(b: EventBatch, withSeq: boolean): Ev[] {
  const out: Ev[] = [];
  for (let i = 0; i < b.length; i++) out.push({ ts: b.tsNs[i], seq: withSeq ? b.seq[i] : null, instrument: b.instrument[i], kind: b.kind[i], f: b.f.map((col) => col[i]) });
  return out;
}

/** Every kind, optional fields present and absent. */
function sampleBatch(): EventBatch {
  const b = new EventBatch(16);
  b.trade(0, TS, 61800.3, 0.006, 1);
  b.trade(0, TS + 1n, 61800.2, 0, -1);
  b.quote(0, TS + 2n, 61800.2, 2.5, 61800.3, 2.5);
  b.quote(1, TS + 3n, 3000.1, 1, 3000.2, 0, 120.5, 98.25);
  b.mark(0, TS + 4n, 61801.5, 61790.25, 0.0001);
  b.mark(1, TS + 5n, 3001);
  b.option(3, TS + 6n, 0.55, 61850, 0.0712, 0.54, 0.56);
  b.option(3, TS + 7n, 0);
  b.value(2, TS + 8n, -8127.5);
  b.trade(2, 1n, 1e-9, 1e9, 0);
  return b;
}

function ok<T extends ClientMessage>(m: ClientMessage | ProtocolError): T {
  if ('code' in m) throw new Error(`expected a message, got ${m.code}: ${m.message}`);
  return m as T;
}
function err(m: ClientMessage | ProtocolError | { t: string }): ProtocolError {
  if (!('code' in m)) throw new Error(`expected an error, got a ${m.t} message`);
  return m as ProtocolError;
}

/** A cols frame built field by field (to break one thing at a time). */
function colsMap(n: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  const ts = new BigInt64Array(n).fill(TS);
  const inst = new Uint32Array(n);
  const kind = new Uint8Array(n).fill(Kind.trade);
  const price = new Float64Array(n).fill(100), size = new Float64Array(n).fill(1), side = new Float64Array(n).fill(1);
  const u8 = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return { t: 'cols', seq: 7, n, ts: u8(ts), instrument: u8(inst), kind, f0: u8(price), f1: u8(size), f2: u8(side), ...over };
}
/** Column `key` of a colsMap, as a Float64Array to edit. */
const f64 = (m: Record<string, unknown>, key: string) => { const b = m[key] as Uint8Array; return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8); };

describe('producer messages round trip', () => {
  it('hello: every field, and the defaults', () => {
    const d = decoder();
    expect(ok(d.decode(enc.hello({ token: 'secret-token', producer: 'feed-1', notify: true })))).toEqual({ t: 'hello', v: 1, token: 'secret-token', producer: 'feed-1', notify: true });
    expect(ok(d.decode(enc.hello()))).toEqual({ t: 'hello', v: 1, token: undefined, producer: undefined, notify: false });
  });

  it('register: every kind, expiry as ms or ISO, InstrumentInfo with venue ws', () => {
    const m = ok<Extract<ClientMessage, { t: 'register' }>>(decoder().decode(enc.register([
      { name: 'BTCUSDT', kind: 'perpetual', tickSize: 0.1, contractSize: 1 },
      { name: 'BTC-27SEP24', kind: 'future', expiry: 1727424000000 },
      { name: 'BTC-27SEP24-60000-C', kind: 'option', strike: 60000, expiry: '2024-09-27T08:00:00Z', optionType: 'call' },
      { name: 'BTC-27SEP24-60000-P', kind: 'option', strike: 60000, expiry: '2024-09-27 10:00:00+02:00', optionType: 'put' },
      { name: 'BTC-USD', kind: 'spot' },
      { name: 'BTC-FS-27SEP24_PERP', kind: 'combo', expiry: 1727424000000n as unknown as number },
      { name: 'BTC-DVOL', kind: 'index' },
      { name: 'plain' },
    ])));
    expect(m.instruments).toEqual([
      { name: 'BTCUSDT', venue: 'ws', symbol: 'BTCUSDT', kind: 'perpetual', tickSize: 0.1, contractSize: 1 },
      { name: 'BTC-27SEP24', venue: 'ws', symbol: 'BTC-27SEP24', kind: 'future', expiryMs: 1727424000000 },
      { name: 'BTC-27SEP24-60000-C', venue: 'ws', symbol: 'BTC-27SEP24-60000-C', kind: 'option', strike: 60000, expiryMs: 1727424000000, optionType: 'call' },
      { name: 'BTC-27SEP24-60000-P', venue: 'ws', symbol: 'BTC-27SEP24-60000-P', kind: 'option', strike: 60000, expiryMs: 1727424000000, optionType: 'put' },
      { name: 'BTC-USD', venue: 'ws', symbol: 'BTC-USD', kind: 'spot' },
      { name: 'BTC-FS-27SEP24_PERP', venue: 'ws', symbol: 'BTC-FS-27SEP24_PERP', kind: 'combo', expiryMs: 1727424000000 },
      { name: 'BTC-DVOL', venue: 'ws', symbol: 'BTC-DVOL', kind: 'index' },
      { name: 'plain', venue: 'ws', symbol: 'plain', kind: 'spot' },
    ]);
  });

  it('cols: every kind from an EventBatch, exactly, with and without event seqs', () => {
    const b = sampleBatch();
    const d = decoder();
    const m = ok<Extract<ClientMessage, { t: 'cols' }>>(d.decode(enc.cols(12, b)));
    expect(m.t).toBe('cols');
    expect(m.seq).toBe(12);
    expect(m.columns.seq).toBeNull(); // every seq was -1: the pool numbers them
    expect(eventsOf(m.columns)).toEqual(batchEvents(b, false));
    b.seq[3] = 41n; b.seq[4] = 9007199254740993n;
    const m2 = ok<Extract<ClientMessage, { t: 'cols' }>>(d.decode(enc.cols(13, b)));
    expect(eventsOf(m2.columns)).toEqual(batchEvents(b, true));
    expect(m2.columns.seq![4]).toBe(9007199254740993n);
  });

  it('cols: a slice, a sub-range, and Columns as the source', () => {
    const b = sampleBatch();
    const d = decoder();
    const sub = ok<Extract<ClientMessage, { t: 'cols' }>>(d.decode(enc.cols(0, b, 2, 7)));
    expect(eventsOf(sub.columns)).toEqual(batchEvents(b, false).slice(2, 7));
    const slice = ok<Extract<ClientMessage, { t: 'cols' }>>(d.decode(enc.cols(0, b.slice(3, 9))));
    expect(eventsOf(slice.columns)).toEqual(batchEvents(b, false).slice(3, 9));
    // Decoded columns encode again to the same events.
    const again = ok<Extract<ClientMessage, { t: 'cols' }>>(decoder().decode(enc.cols(1, slice.columns)));
    expect(eventsOf(again.columns)).toEqual(eventsOf(slice.columns));
  });

  it('cols: f-columns that are NaN for the whole frame are left out and read back as NaN', () => {
    const b = new EventBatch(4);
    b.value(2, TS, 1); b.value(2, TS + 1n, 2);
    const bytes = enc.cols(0, b);
    const o = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true }).unpack(bytes) as Record<string, unknown>;
    expect(Object.keys(o)).toEqual(['t', 'seq', 'n', 'ts', 'f0', 'instrument', 'kind']);
    const m = ok<Extract<ClientMessage, { t: 'cols' }>>(decoder().decode(bytes));
    for (let k = 1; k < 6; k++) expect([...m.columns.f[k]]).toEqual([NaN, NaN]);
  });

  it('rows: plain maps and msgpackr records decode to the same events, with every ts form', () => {
    const rows = [
      { ts: TS, instrument: 'BTC', kind: 'trade', price: 61800.3, size: 0.006, side: 'buy' },
      { ts: '1723161255030314668', seq: 5, instrument: 1, kind: 'quote', bid: '3000.1', bidSize: 1, ask: 3000.2, askSize: 0, bidDepth: 10 },
      { ts: '2024-08-08T23:54:15.030314669Z', instrument: 'BTC', kind: 'mark', mark: 61801.5, index: 61790.25, funding: 0.0001 },
      { ts: 1723161255030314, instrument: 'BTC-27SEP24-60000-C', kind: 'option', markIv: 0.55, underlying: 61850 },
      { ts: 1723161255030315, instrument: 'BTC-27SEP24-60000-C', kind: 'option', markIv: 0.56, neighbourIv: 0.548 },
      { ts: TS, seq: 9007199254740993n, instrument: 'SOL', kind: 'value', value: -1.5 },
      { ts: TS, instrument: 'SOL', kind: 'trade', price: 1, size: 2, side: -1 },
    ];
    const expected: Ev[] = [
      { ts: TS, seq: -1n, instrument: 0, kind: 1, f: [61800.3, 0.006, 1, NaN, NaN, NaN] },
      { ts: TS + 1n, seq: 5n, instrument: 1, kind: 2, f: [3000.1, 1, 3000.2, 0, 10, NaN] },
      { ts: TS + 2n, seq: -1n, instrument: 0, kind: 3, f: [61801.5, 61790.25, 0.0001, NaN, NaN, NaN] },
      { ts: 1723161255030314n, seq: -1n, instrument: 3, kind: 4, f: [0.55, 61850, NaN, NaN, NaN, NaN] },
      { ts: 1723161255030315n, seq: -1n, instrument: 3, kind: 4, f: [0.56, NaN, NaN, NaN, NaN, 0.548] },
      { ts: TS, seq: 9007199254740993n, instrument: 2, kind: 5, f: [-1.5, NaN, NaN, NaN, NaN, NaN] },
      { ts: TS, seq: -1n, instrument: 2, kind: 1, f: [1, 2, -1, NaN, NaN, NaN] },
    ];
    const asMaps = enc.rows(3, rows, false);
    const asRecords = new FrameEncoder({ records: true }).rows(3, rows);
    // The records frame really uses records: msgpackr's record definition extension (fixext1 type 0x72).
    expect(Buffer.from(asRecords).includes(Buffer.from([0xd4, 0x72]))).toBe(true);
    expect(Buffer.from(asMaps).includes(Buffer.from([0xd4, 0x72]))).toBe(false);
    for (const bytes of [asMaps, asRecords]) {
      const m = ok<Extract<ClientMessage, { t: 'rows' }>>(decoder().decode(bytes));
      expect(m.seq).toBe(3);
      expect(eventsOf(m.columns)).toEqual(expected);
    }
    // Without any seq the column is null (the pool numbers every event).
    const m = ok<Extract<ClientMessage, { t: 'rows' }>>(decoder().decode(enc.rows(4, [rows[0]])));
    expect(m.columns.seq).toBeNull();
  });

  it('rows: a record definition from one message does not carry into the next, nor to another connection', () => {
    const rec = new Packr({ useRecords: true, sequential: true });
    const row = { ts: TS, instrument: 'BTC', kind: 'value', value: 1 };
    const first = rec.pack({ t: 'rows', seq: 0, rows: [row] });
    const second = rec.pack({ t: 'rows', seq: 1, rows: [row] }); // refers to the structure defined in `first`
    const d = decoder();
    ok(d.decode(first));
    expect(err(d.decode(second)).code).toBe('badMsgpack');
  });

  it('subscribe: JSON text and msgpack, filters validated, format defaulting to the message\'s', () => {
    const j = decodeSubscribe(enc.subscribe({ instruments: ['BTC', 'ETH'], features: ['spread', 'rvol'], detectors: ['zscore'], minSeverity: 2, token: 'tok-12345' }, 'json'));
    expect(j).toEqual({ t: 'subscribe', token: 'tok-12345', filter: { instruments: new Set(['BTC', 'ETH']), features: new Set(['spread', 'rvol']), detectors: new Set(['zscore']), minSeverity: 2, format: 'json' } });
    const m = decodeSubscribe(enc.subscribe({}), true);
    expect(m).toEqual({ t: 'subscribe', token: undefined, filter: { instruments: null, features: null, detectors: null, minSeverity: 1, format: 'msgpack' } });
    const asked = decodeSubscribe(enc.subscribe({ format: 'json' }), true);
    expect('filter' in asked && asked.filter.format).toBe('json');
    // JSON text arriving as bytes (uWebSockets.js hands text messages over as ArrayBuffers).
    const bytes = new TextEncoder().encode(enc.subscribe({ minSeverity: 3 }, 'json'));
    const t = decodeSubscribe(bytes, false);
    expect('filter' in t && t.filter).toMatchObject({ minSeverity: 3, format: 'json' });
    expect(new FrameDecoder().decodeSubscribe(enc.subscribe({ detectors: ['cusum'] }))).toMatchObject({ filter: { detectors: new Set(['cusum']) } });
  });
});

describe('server messages round trip', () => {
  it('welcome, registered, ack, credit, processed, error, subscribed', () => {
    expect(decodeServerMessage(encodeWelcome({ nextSeq: 5, events: 12000, window: 131072, maxFrameBytes: 8 << 20, maxFrameEvents: 65536 })))
      .toEqual({ t: 'welcome', v: 1, nextSeq: 5, events: 12000, window: 131072, maxFrameBytes: 8 << 20, maxFrameEvents: 65536 });
    expect(decodeServerMessage(encodeRegistered([0, 1, 7]))).toEqual({ t: 'registered', ids: [0, 1, 7] });
    expect(decodeServerMessage(encodeAck({ seq: 4, n: 1000, events: 5000, window: 136072 }))).toEqual({ t: 'ack', seq: 4, n: 1000, events: 5000, window: 136072 });
    expect(decodeServerMessage(encodeAck({ seq: 3, n: 0, events: 5000, window: 136072, duplicate: true }))).toEqual({ t: 'ack', seq: 3, n: 0, events: 5000, window: 136072, duplicate: true });
    expect(decodeServerMessage(encodeCredit({ events: 5000, window: 200000 }))).toEqual({ t: 'credit', events: 5000, window: 200000 });
    expect(decodeServerMessage(encodeProcessed(4))).toEqual({ t: 'processed', seq: 4 });
    const e: ProtocolError = { code: 'nonFinite', message: 'event 17 (trade): price is NaN', seq: 9, index: 17, field: 'price' };
    expect(decodeServerMessage(encodeError(e))).toEqual({ t: 'error', ...e });
    expect(decodeServerMessage(encodeError(e, 'json'))).toEqual({ t: 'error', ...e });
    const filter = { instruments: new Set(['BTC']), features: null, detectors: new Set(['ewma']), minSeverity: 2, format: 'json' as const };
    expect(JSON.parse(encodeSubscribed(filter) as string)).toEqual({ t: 'subscribed', instruments: ['BTC'], features: null, detectors: ['ewma'], minSeverity: 2, format: 'json' });
    expect(decodeServerMessage(encodeSubscribed({ ...filter, format: 'msgpack' }))).toEqual({ t: 'subscribed', instruments: ['BTC'], features: null, detectors: ['ewma'], minSeverity: 2, format: 'msgpack' });
  });

  it('counters past 2^32 go out as int64, not float64', () => {
    const bytes = encodeAck({ seq: 2 ** 33, n: 1, events: 2 ** 40 + 1, window: 2 ** 40 + 100 });
    const raw = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true }).unpack(bytes) as Record<string, unknown>;
    expect(raw.events).toBe(2n ** 40n + 1n);
    expect(Buffer.from(bytes).includes(0xcb)).toBe(false); // no float64 anywhere
    expect(decodeServerMessage(bytes)).toEqual({ t: 'ack', seq: 2 ** 33, n: 1, events: 2 ** 40 + 1, window: 2 ** 40 + 100 });
  });

  it('alerts: the alert-format shape, ts and seq exact as int64 (msgpack) and as strings (JSON)', () => {
    const alert: Alert = {
      instrument: 0, tsNs: TS, seq: 9007199254740993n, feature: 'spread', detector: 'robust', severity: 3, regime: 'volatile',
      value: 12.5, expected: 1.25, score: 9.1, threshold: 4, volRatio: 1.75, mode: 'target',
    };
    const m = decodeServerMessage(encodeAlerts([{ alert, instrument: 'BTC' }], 2, 'msgpack'));
    expect(m).toEqual({ t: 'alerts', dropped: 2, alerts: [{ ...alertObject(alert, 'BTC'), tsNs: TS, seq: 9007199254740993n }] });
    const j = decodeServerMessage(encodeAlerts([{ alert, instrument: 'BTC' }], 0, 'json') as string);
    expect(j).toEqual({ t: 'alerts', dropped: 0, alerts: [alertObject(alert, 'BTC')] });
    expect(j.t === 'alerts' && j.alerts[0].tsNs).toBe('1723161255030314667');
    expect(serverMessageJson({ t: 'processed', seq: 1 })).toBe('{"t":"processed","seq":1}');
    expect(decodeServerMessage(encodeServerMessage({ t: 'credit', events: 1, window: 2 }))).toEqual({ t: 'credit', events: 1, window: 2 });
  });
});

describe('exact 64-bit timestamps', () => {
  it('1723161255030314667 survives cols, rows (bigint, string, ISO) and the event seq', () => {
    const b = new EventBatch(2);
    b.value(0, TS, 1, 2n ** 62n);
    const c = ok<Extract<ClientMessage, { t: 'cols' }>>(decoder().decode(enc.cols(0, b)));
    expect(c.columns.ts[0]).toBe(1723161255030314667n);
    expect(c.columns.seq![0]).toBe(2n ** 62n);
    for (const ts of [TS, '1723161255030314667', '2024-08-08T23:54:15.030314667Z']) {
      const r = ok<Extract<ClientMessage, { t: 'rows' }>>(decoder().decode(enc.rows(0, [{ ts, instrument: 0, kind: 'value', value: 1 }])));
      expect(r.columns.ts[0]).toBe(1723161255030314667n);
    }
  });

  it('a float64 ts past 2^53 is refused, not rounded', () => {
    const e = err(decoder().decode(pack({ t: 'rows', seq: 0, rows: [{ ts: 1.723161255030314e18, instrument: 0, kind: 'value', value: 1 }] })));
    expect(e).toMatchObject({ code: 'badValue', index: 0, field: 'ts' });
    expect(e.message).toMatch(/not exact past 2\^53/);
  });
});

describe('alignment', () => {
  it('an aligned frame is viewed in place; the same frame at an odd offset is copied and decodes the same', () => {
    const b = sampleBatch();
    b.seq[1] = 3n;
    const bytes = enc.cols(99, b);
    const d = decoder();
    const direct = ok<Extract<ClientMessage, { t: 'cols' }>>(d.decode(bytes));
    expect(direct.columns.ts.buffer).toBe(bytes.buffer);
    expect(direct.columns.f[0].buffer).toBe(bytes.buffer);
    expect(direct.columns.seq!.buffer).toBe(bytes.buffer);
    const expected = eventsOf(direct.columns);
    for (const shift of [1, 3, 4, 5, 7]) {
      const host = new Uint8Array(bytes.length + shift);
      host.set(bytes, shift);
      const moved = ok<Extract<ClientMessage, { t: 'cols' }>>(decoder().decode(host.subarray(shift)));
      if (shift % 8 !== 0) expect(moved.columns.ts.buffer).not.toBe(host.buffer);
      expect(eventsOf(moved.columns)).toEqual(expected);
    }
  });

  it('the encoder aligns every 8-byte column for any seq and n', () => {
    for (const seq of [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      for (let n = 1; n <= 20; n++) {
        const b = new EventBatch(n);
        for (let i = 0; i < n; i++) b.quote(1, TS + BigInt(i), 100, 1, 101, 1, i % 2 ? 5 : NaN, NaN, i === 0 && n % 2 ? 3n : -1n);
        const bytes = enc.cols(seq, b);
        const o = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true }).unpack(bytes) as Record<string, Uint8Array>;
        for (const key of ['ts', 'eseq', 'f0', 'f1', 'f2', 'f3', 'f4']) if (o[key]) expect((o[key].byteOffset - bytes.byteOffset) % 8, `${key} seq ${seq} n ${n}`).toBe(0);
        const m = ok<Extract<ClientMessage, { t: 'cols' }>>(decoder().decode(bytes));
        expect(m.seq).toBe(seq);
        expect(m.columns.n).toBe(n);
        expect(m.columns.ts.buffer).toBe(bytes.buffer);
      }
    }
  });

  it('the scratch grows only when a frame needs more room, and reuses its views for a steady n', () => {
    const s = new ColumnScratch(4);
    s.ensure(4);
    expect(s.capacity).toBe(4);
    const v = s.views(3);
    expect(s.views(3)).toBe(v);
    expect(v.ts.length).toBe(3);
    expect(v.tsWords.length).toBe(6);
    s.ensure(5);
    expect(s.capacity).toBe(8);
    s.ensure(100);
    expect(s.capacity).toBe(100);
    expect(s.views(3)).not.toBe(v);
    expect([...s.nan(2)]).toEqual([NaN, NaN]);
    expect(s.nan(2)).toBe(s.nan(2));
    expect([...s.nan(5)]).toEqual([NaN, NaN, NaN, NaN, NaN]);
  });

  it('an aligned cols frame is decoded without growing the scratch; an unaligned one grows it', () => {
    const d = decoder({ initialCapacity: 4 });
    const b = new EventBatch(500);
    for (let i = 0; i < 500; i++) b.value(0, TS, i);
    const bytes = enc.cols(0, b);
    const m = ok<Extract<ClientMessage, { t: 'cols' }>>(d.decode(bytes));
    expect(d.scratchEvents).toBe(4);
    expect(m.columns.f[1]).toBe(m.columns.f[5]); // f1..f5 omitted: one shared NaN column
    expect(Object.getPrototypeOf(m.columns.kind)).toBe(Uint8Array.prototype); // not the input's Buffer subclass
    const host = new Uint8Array(bytes.length + 1);
    host.set(bytes, 1);
    ok(d.decode(host.subarray(1)));
    expect(d.scratchEvents).toBe(500);
  });
});

describe('refusals: the code, and a message that names the problem', () => {
  const d = decoder();
  const refuse = (o: unknown) => err(d.decode(o instanceof Uint8Array ? o : pack(o)));

  it('badMsgpack: empty, truncated, trailing bytes, a map missing its entries', () => {
    expect(refuse(new Uint8Array(0))).toEqual({ code: 'badMsgpack', message: 'empty message' });
    const good = enc.cols(0, sampleBatch());
    expect(refuse(good.subarray(0, good.length - 3)).code).toBe('badMsgpack');
    const longer = new Uint8Array(good.length + 1); longer.set(good);
    expect(refuse(longer).code).toBe('badMsgpack');
    expect(refuse(new Uint8Array([0x81])).code).toBe('badMsgpack');
    expect(refuse(new Uint8Array([0xc1]))).toMatchObject({ code: 'badMessage', message: expect.stringContaining('msgpack map') }); // msgpackr reads the reserved byte as a value
  });

  it('badMessage: not a map, and unknown fields with the field meant', () => {
    expect(refuse([1, 2])).toMatchObject({ code: 'badMessage', message: expect.stringMatching(/msgpack map.*got array/) });
    expect(refuse(colsMap(1, { F0: new Uint8Array(8) }))).toMatchObject({ code: 'badMessage', seq: 7, field: 'F0', message: expect.stringContaining('unknown field "F0" (did you mean "f0"?)') });
    expect(refuse({ t: 'hello', v: 1, tokne: 'x' })).toMatchObject({ code: 'badMessage', field: 'tokne', message: expect.stringContaining('did you mean "token"?') });
    // A row's unknown field: the NDJSON reader's own words.
    const e = refuse({ t: 'rows', seq: 1, rows: [{ ts: TS, instrument: 'BTC', kind: 'quote', bid: 1, bidsize: 1, ask: 2, askSize: 1 }] });
    const ndjson = parseCanonicalEvent(`{"ts":"1","instrument":"BTC","kind":"quote","bid":1,"bidsize":1,"ask":2,"askSize":1}`, newCanonicalEvent());
    expect(e).toEqual({ code: 'badMessage', seq: 1, index: 0, field: 'bidsize', message: `event 0: ${ndjson!.detail}` });
    expect(e.message).toContain('did you mean "bidSize"?');
  });

  it('unknownType: a typo, a subscriber message, a server message', () => {
    expect(refuse({ t: 'colz' })).toMatchObject({ code: 'unknownType', message: expect.stringContaining('did you mean "cols"?') });
    expect(refuse({ t: 'subscribe' }).message).toMatch(/\/alerts/);
    expect(refuse({ t: 'ack' }).message).toMatch(/server sends/);
  });

  it('missingField: t, a column, a row field, hello.v', () => {
    expect(refuse({ seq: 1 })).toMatchObject({ code: 'missingField', field: 't' });
    const m = colsMap(2); delete m.ts;
    expect(refuse(m)).toMatchObject({ code: 'missingField', seq: 7, field: 'ts', message: 'cols: column "ts" is missing' });
    expect(refuse({ t: 'cols', n: 1 })).toMatchObject({ code: 'missingField', field: 'seq' });
    expect(refuse({ t: 'rows', seq: 2, rows: [{ ts: TS, instrument: 'BTC', kind: 'trade', size: 1 }] }))
      .toEqual({ code: 'missingField', seq: 2, index: 0, field: 'price', message: 'event 0: trade field "price" is missing' });
    expect(refuse({ t: 'hello' })).toMatchObject({ code: 'missingField', field: 'v' });
  });

  it('wrongType: a column not a bin, seq a string, a row instrument boolean, t a number', () => {
    expect(refuse(colsMap(2, { ts: [1, 2] }))).toMatchObject({ code: 'wrongType', field: 'ts', message: 'cols: column "ts" must be a msgpack bin (8 bytes per event), got array' });
    expect(refuse(colsMap(2, { seq: '7' }))).toMatchObject({ code: 'wrongType', field: 'seq' });
    expect(refuse({ t: 'rows', seq: 0, rows: [{ ts: TS, instrument: true, kind: 'value', value: 1 }] })).toMatchObject({ code: 'wrongType', index: 0, field: 'instrument' });
    expect(refuse({ t: 'rows', seq: 0, rows: [5] })).toMatchObject({ code: 'wrongType', index: 0, message: 'event 0: must be a map, got number' });
    expect(refuse({ t: 3 })).toMatchObject({ code: 'wrongType', field: 't' });
  });

  it('badVersion', () => {
    expect(refuse({ t: 'hello', v: 2 })).toEqual({ code: 'badVersion', field: 'v', message: 'hello: protocol version 2 is not supported (this server speaks 1)' });
  });

  it('badLength: names the column, the bytes expected and the bytes given', () => {
    const m = colsMap(1000);
    m.f2 = (m.f2 as Uint8Array).subarray(0, 7992);
    expect(refuse(m)).toEqual({ code: 'badLength', seq: 7, field: 'f2', message: 'cols: column "f2" is 7992 bytes, expected 8000 (8 x n = 1000)' });
    expect(refuse(colsMap(3, { kind: new Uint8Array(4) }))).toMatchObject({ code: 'badLength', field: 'kind' });
  });

  it('badKind: a kind byte outside 1..5, a row kind unknown', () => {
    const m = colsMap(5); (m.kind as Uint8Array)[3] = 7;
    expect(refuse(m)).toEqual({ code: 'badKind', seq: 7, index: 3, field: 'kind', message: 'event 3: kind 7 is not one of 1 trade, 2 quote, 3 mark, 4 option, 5 value' });
    expect(refuse({ t: 'rows', seq: 0, rows: [{ ts: TS, instrument: 'BTC', kind: 'trad', price: 1, size: 1 }] })).toMatchObject({ code: 'badKind', index: 0, field: 'kind' });
    const b = new EventBatch(1); b.push(300, 0, TS, 1);
    expect(refuse(enc.cols(0, b))).toMatchObject({ code: 'badKind', index: 0 }); // 300 does not wrap into a valid kind
  });

  it('nonFinite: a required field NaN or Infinity, an optional one Infinity', () => {
    const m = colsMap(20); f64(m, 'f0')[17] = NaN;
    expect(refuse(m)).toEqual({ code: 'nonFinite', seq: 7, index: 17, field: 'price', message: 'event 17 (trade): price is NaN' });
    const q = new EventBatch(2);
    q.quote(0, TS, 1, 1, 2, 1); q.quote(0, TS, 1, 1, 2, 1, 5, Infinity);
    expect(refuse(enc.cols(0, q))).toMatchObject({ code: 'nonFinite', index: 1, field: 'askDepth', message: 'event 1 (quote): askDepth is Infinity' });
    const t = new EventBatch(1); t.trade(0, TS, 1, 1, NaN);
    expect(refuse(enc.cols(0, t))).toMatchObject({ code: 'nonFinite', field: 'side' });
    const mk = new EventBatch(1); mk.mark(0, TS, 1, NaN, -Infinity);
    expect(refuse(enc.cols(0, mk))).toMatchObject({ code: 'nonFinite', field: 'funding', message: 'event 0 (mark): funding is -Infinity' });
    const op = new EventBatch(1); op.push(Kind.option, 3, TS, 0.5, NaN, NaN, NaN, NaN, Infinity);
    expect(refuse(enc.cols(0, op))).toMatchObject({ code: 'nonFinite', field: 'neighbourIv', message: 'event 0 (option): neighbourIv is Infinity' });
    expect(refuse({ t: 'rows', seq: 0, rows: [{ ts: TS, instrument: 0, kind: 'value', value: NaN }] })).toMatchObject({ code: 'nonFinite', index: 0, field: 'value' });
  });

  it('badValue: prices <= 0, sizes < 0, side, ts, event seq, n = 0', () => {
    const cases: [(b: EventBatch) => void, string, string][] = [
      [(b) => b.trade(0, TS, 0, 1, 1), 'price', 'event 0 (trade): price is 0, must be > 0'],
      [(b) => b.trade(0, TS, 1, -0.5, 1), 'size', 'event 0 (trade): size is -0.5, must be >= 0'],
      [(b) => b.trade(0, TS, 1, 1, 2), 'side', 'event 0 (trade): side is 2, must be 1 (buyer-initiated), -1 (seller-initiated) or 0 (unknown)'],
      [(b) => b.quote(0, TS, 1, 1, -2, 1), 'ask', 'event 0 (quote): ask is -2, must be > 0'],
      [(b) => b.quote(0, TS, 1, 1, 2, 1, -1), 'bidDepth', 'event 0 (quote): bidDepth is -1, must be >= 0'],
      [(b) => b.mark(0, TS, 1, 0), 'index', 'event 0 (mark): index is 0, must be > 0'],
      [(b) => b.option(3, TS, -0.1), 'markIv', 'event 0 (option): markIv is -0.1, must be >= 0'],
      [(b) => b.option(3, TS, 0.5, -1), 'underlying', 'event 0 (option): underlying is -1, must be > 0'],
      [(b) => b.push(Kind.option, 3, TS, 0.5, NaN, NaN, NaN, NaN, -0.2), 'neighbourIv', 'event 0 (option): neighbourIv is -0.2, must be >= 0'],
      [(b) => b.value(0, 0n, 1), 'ts', 'event 0 (value): ts is 0, must be > 0 (ns since the epoch)'],
      [(b) => b.value(0, -5n, 1), 'ts', 'event 0 (value): ts is -5, must be > 0 (ns since the epoch)'],
      [(b) => b.value(0, TS, 1, -5n), 'eseq', 'event 0 (value): eseq is -5, must be >= 0 (or -1: the server numbers it)'],
    ];
    for (const [make, field, message] of cases) {
      const b = new EventBatch(1); make(b);
      expect(refuse(enc.cols(4, b))).toEqual({ code: 'badValue', seq: 4, index: 0, field, message });
    }
    expect(refuse(colsMap(0))).toMatchObject({ code: 'badValue', field: 'n' });
    expect(refuse(colsMap(1, { seq: -1 }))).toMatchObject({ code: 'badValue', field: 'seq' });
    expect(refuse(colsMap(1, { seq: 2 ** 53 }))).toMatchObject({ code: 'badValue', field: 'seq' });
    expect(refuse({ t: 'rows', seq: 0, rows: [] })).toMatchObject({ code: 'badValue', field: 'rows' });
    expect(refuse({ t: 'rows', seq: 0, rows: [{ ts: TS, instrument: 0, kind: 'trade', price: 1, size: 1, seq: -3 }] })).toMatchObject({ code: 'badValue', field: 'seq' });
    expect(refuse({ t: 'rows', seq: 0, rows: [{ ts: '2024-02-30T00:00:00Z', instrument: 0, kind: 'value', value: 1 }] })).toMatchObject({ code: 'badValue', field: 'ts', message: expect.stringContaining('day 30 is out of range') });
  });

  it('mark events: mark and index each optional, at least one; neither is missingField, Infinity nonFinite, <= 0 badValue', () => {
    const d2 = decoder();
    // Index only (f0 is NaN for the whole frame: the encoder leaves the column out), mark only, both.
    const b = new EventBatch(3);
    b.mark(0, TS, NaN, 61790.25, 0.0001); b.mark(0, TS + 1n, 61801.5); b.mark(1, TS + 2n, 3001, 3000.5);
    const only = new EventBatch(1); only.mark(0, TS, NaN, 61790.25);
    expect(new Unpackr({ mapsAsObjects: true }).unpack(enc.cols(0, only))).not.toHaveProperty('f0');
    expect(eventsOf(ok<{ t: 'cols'; columns: Columns } & ClientMessage>(d2.decode(enc.cols(0, only))).columns)).toEqual(batchEvents(only, false));
    expect(eventsOf(ok<{ t: 'cols'; columns: Columns } & ClientMessage>(d2.decode(enc.cols(1, b))).columns)).toEqual(batchEvents(b, false));
    const rows = [
      { ts: TS, instrument: 'BTC', kind: 'mark', index: 61790.25, funding: 0.0001 },
      { ts: TS + 1n, instrument: 'BTC', kind: 'mark', mark: 61801.5 },
      { ts: TS + 2n, instrument: 'ETH', kind: 'mark', mark: 3001, index: 3000.5 },
    ];
    expect(eventsOf(ok<{ t: 'rows'; columns: Columns } & ClientMessage>(d2.decode(pack({ t: 'rows', seq: 2, rows }))).columns)).toEqual(batchEvents(b, false));

    // Neither: the same code and words from cols and rows (and NDJSON: test/adapters-ndjson.test.ts).
    const none = new EventBatch(2); none.mark(0, TS, 1); none.mark(0, TS + 1n, NaN, NaN, 0.0001);
    expect(refuse(enc.cols(3, none))).toEqual({ code: 'missingField', seq: 3, index: 1, field: 'mark', message: 'event 1 (mark): a mark event needs mark or index' });
    expect(refuse({ t: 'rows', seq: 3, rows: [rows[0], { ts: TS, instrument: 'BTC', kind: 'mark', funding: 0.0001 }] }))
      .toEqual({ code: 'missingField', seq: 3, index: 1, field: 'mark', message: 'event 1: a mark event needs mark or index' });
    expect(refuse({ t: 'rows', seq: 3, rows: [{ ts: TS, instrument: 'BTC', kind: 'mark', mark: null, index: null }] })).toMatchObject({ code: 'missingField', field: 'mark' });

    // Present values: finite and > 0, whether or not the other is there.
    const cases: [number, number, string, string, string][] = [
      [NaN, Infinity, 'nonFinite', 'index', 'event 0 (mark): index is Infinity'],
      [NaN, -Infinity, 'nonFinite', 'index', 'event 0 (mark): index is -Infinity'],
      [NaN, -1, 'badValue', 'index', 'event 0 (mark): index is -1, must be > 0'],
      [NaN, 0, 'badValue', 'index', 'event 0 (mark): index is 0, must be > 0'],
      [Infinity, NaN, 'nonFinite', 'mark', 'event 0 (mark): mark is Infinity'],
      [-2, 61790.25, 'badValue', 'mark', 'event 0 (mark): mark is -2, must be > 0'],
      [61801.5, Infinity, 'nonFinite', 'index', 'event 0 (mark): index is Infinity'],
    ];
    for (const [mark, index, code, field, message] of cases) {
      const one = new EventBatch(1); one.mark(0, TS, mark, index);
      expect(refuse(enc.cols(4, one)), `${mark} ${index}`).toEqual({ code, seq: 4, index: 0, field, message });
      const row: Record<string, unknown> = { ts: TS, instrument: 0, kind: 'mark', index };
      if (!Number.isNaN(mark)) row.mark = mark;
      expect(refuse({ t: 'rows', seq: 4, rows: [row] }), `rows ${mark} ${index}`).toEqual({ code, seq: 4, index: 0, field, message });
    }
  });

  it('unknownInstrument: by id (function or table) and by name', () => {
    const b = new EventBatch(3);
    b.value(0, TS, 1); b.value(1, TS, 1); b.value(99, TS, 1);
    expect(refuse(enc.cols(0, b))).toEqual({ code: 'unknownInstrument', seq: 0, index: 2, field: 'instrument', message: 'event 2 (value): instrument id 99 is not registered (send register first)' });
    const table = new Uint8Array(4); table[0] = 1;
    expect(err(new FrameDecoder({ isRegistered: table }).decode(enc.cols(0, b)))).toMatchObject({ code: 'unknownInstrument', index: 1 });
    expect(ok(new FrameDecoder({ isRegistered: (id) => id === 0 || id === 1 || id === 99 }).decode(enc.cols(0, b))).t).toBe('cols');
    expect(refuse({ t: 'rows', seq: 0, rows: [{ ts: TS, instrument: 'DOGE', kind: 'value', value: 1 }] }))
      .toEqual({ code: 'unknownInstrument', seq: 0, index: 0, field: 'instrument', message: 'event 0 (value): instrument "DOGE" is not registered (send register first)' });
    expect(err(new FrameDecoder().decode(enc.cols(0, b))).code).toBe('unknownInstrument'); // nothing registered
  });

  it('frameTooLarge: events past maxFrameEvents, bytes past maxFrameBytes', () => {
    const small = decoder({ maxFrameEvents: 4, maxFrameBytes: 4096 });
    const b = new EventBatch(5);
    for (let i = 0; i < 5; i++) b.value(0, TS, i);
    expect(err(small.decode(enc.cols(0, b)))).toMatchObject({ code: 'frameTooLarge', field: 'n', message: 'cols: n = 5 events is more than the limit of 4 per frame' });
    expect(err(small.decode(enc.rows(0, Array.from({ length: 5 }, () => ({ ts: TS, instrument: 0, kind: 'value', value: 1 }))))).code).toBe('frameTooLarge');
    expect(err(small.decode(new Uint8Array(4097)))).toMatchObject({ code: 'frameTooLarge', message: 'message of 4097 bytes is larger than the limit of 4096' });
  });

  it('register: names, kinds, terms', () => {
    const reg = (...instruments: Record<string, unknown>[]) => err(d.decode(enc.register(instruments)));
    expect(reg({ name: 'X', kind: 'option', expiry: 1, optionType: 'call' })).toEqual({ code: 'missingField', index: 0, field: 'strike', message: 'register: instruments[0] "X": an option needs "strike"' });
    expect(reg({ name: 'A' }, { name: 'X', kind: 'perp' })).toMatchObject({ code: 'badValue', index: 1, field: 'kind', message: expect.stringContaining('(did you mean "perpetual"?)') });
    expect(reg({ name: 'x'.repeat(129) })).toMatchObject({ code: 'badValue', field: 'name', message: expect.stringContaining('129 characters long, more than 128') });
    expect(reg({ name: '' })).toMatchObject({ code: 'badValue', field: 'name' });
    expect(reg({ name: 'a\nb' })).toMatchObject({ code: 'badValue', field: 'name', message: expect.stringContaining('control character') });
    expect(reg({ kind: 'spot' })).toMatchObject({ code: 'missingField', field: 'name' });
    expect(reg({ name: 'X', tickSize: -1 })).toMatchObject({ code: 'badValue', field: 'tickSize', message: 'register: instruments[0] "X": "tickSize" is -1, must be > 0' });
    expect(reg({ name: 'X', contractSize: Infinity })).toMatchObject({ code: 'nonFinite', field: 'contractSize' });
    expect(reg({ name: 'X', kind: 'future', expiry: '2024-09-27T08:00:00' })).toMatchObject({ code: 'badValue', field: 'expiry', message: expect.stringContaining('has no zone') });
    expect(reg({ name: 'X', kind: 'future', expiry: 1.5 })).toMatchObject({ code: 'badValue', field: 'expiry' });
    expect(reg({ name: 'X', kind: 'future', strike: 5 })).toMatchObject({ code: 'badValue', field: 'strike', message: expect.stringContaining('applies to options only') });
    expect(reg({ name: 'X', kind: 'perpetual', expiry: 5 })).toMatchObject({ code: 'badValue', field: 'expiry' });
    expect(reg({ name: 'X', kind: 'option', strike: 1, expiry: 1, optionType: 'Call' })).toMatchObject({ code: 'badValue', field: 'optionType' });
    expect(reg({ name: 'X', strik: 1 })).toMatchObject({ code: 'badMessage', field: 'strik', message: expect.stringContaining('did you mean "strike"?') });
    expect(err(d.decode(pack({ t: 'register', instruments: [] })))).toMatchObject({ code: 'badValue', field: 'instruments' });
    expect(err(d.decode(pack({ t: 'register', instruments: ['BTC'] })))).toMatchObject({ code: 'wrongType', index: 0 });
  });

  it('subscribe: features and detectors checked against src/abi.ts, with suggestions', () => {
    const sub = (o: Record<string, unknown>) => err(decodeSubscribe(JSON.stringify({ t: 'subscribe', ...o })));
    expect(sub({ features: ['spread', 'sprd'] })).toMatchObject({ code: 'badValue', index: 1, field: 'features', message: expect.stringContaining('"sprd" is unknown (did you mean "spread"?)') });
    expect(sub({ detectors: ['zscor'] })).toMatchObject({ code: 'badValue', field: 'detectors', message: expect.stringContaining('did you mean "zscore"?') });
    expect(sub({ minSeverity: 5 })).toMatchObject({ code: 'badValue', field: 'minSeverity' });
    expect(sub({ minSeverity: '2' })).toMatchObject({ code: 'wrongType', field: 'minSeverity' });
    expect(sub({ format: 'xml' })).toMatchObject({ code: 'badValue', field: 'format' });
    expect(sub({ instruments: [] })).toMatchObject({ code: 'badValue', field: 'instruments' });
    expect(sub({ instruments: [7] })).toMatchObject({ code: 'wrongType', index: 0 });
    expect(sub({ minSeverty: 2 })).toMatchObject({ code: 'badMessage', message: expect.stringContaining('did you mean "minSeverity"?') });
    expect(err(decodeSubscribe('{"t":"hello","v":1}'))).toMatchObject({ code: 'unknownType', message: expect.stringContaining('/ingest') });
    expect(err(decodeSubscribe('{nope'))).toMatchObject({ code: 'badMessage', message: expect.stringMatching(/^not JSON/) });
    expect(err(decodeSubscribe('[1]'))).toMatchObject({ code: 'badMessage' });
    expect(err(decodeSubscribe(new Uint8Array([0x81]), true)).code).toBe('badMsgpack');
  });

  it('suggest: case, small typos, nothing for far or huge words', () => {
    expect(suggest('BIDSIZE', ['bidSize', 'askSize'])).toBe('bidSize');
    expect(suggest('bidSise', ['bidSize', 'askSize'])).toBe('bidSize');
    expect(suggest('zzzzzz', ['bidSize', 'askSize'])).toBeUndefined();
    expect(suggest('x'.repeat(10_000), ['x'])).toBeUndefined();
  });
});

describe('docs/protocol.md', () => {
  const doc = readFileSync(fileURLToPath(new URL('../docs/protocol.md', import.meta.url)), 'utf8');
  const start = doc.indexOf('## The sidecar WebSocket protocol (version 1)');
  const section = doc.slice(start);

  it('keeps the NDJSON sections and adds the sidecar section', () => {
    expect(doc).toContain('## Canonical events (NDJSON)');
    expect(doc).toContain('## Recorded exchange data (`atc replay`)');
    expect(start).toBeGreaterThan(0);
  });

  it('documents every error code in its table', () => {
    const table = section.slice(section.indexOf('### Errors'));
    for (const code of ERROR_CODES) expect(table, code).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });

  it('shows the bytes of the worked cols frame exactly as the encoder writes them', () => {
    const block = /<!-- cols-example -->\n```\n([\s\S]*?)```/.exec(section);
    expect(block).not.toBeNull();
    const hex = block![1].split('\n').map((l) => l.replace(/^[0-9a-f]{4}:\s*/, '').replace(/\s+#.*$/, '').replace(/\s+/g, '')).join('');
    const b = new EventBatch(2);
    b.trade(0, 1723161255030314667n, 61800.5, 0.25, 1);
    b.quote(1, 1723161255030314668n, 3000.25, 1.5, 3000.5, 2);
    expect(hex).toBe(Buffer.from(enc.cols(5, b)).toString('hex'));
  });

  it('documents the alert fields the server sends', () => {
    const alertFields = Object.keys(alertObject({ instrument: 0, tsNs: 1n, seq: 1n, feature: 'spread', detector: 'zscore', severity: 1, regime: 'calm', value: 0, expected: 0, score: 0, threshold: 0, volRatio: 1, mode: 'static' }, 'X'));
    const alerts = section.slice(section.indexOf('### Alerts'));
    for (const f of alertFields) expect(alerts, f).toContain(`\`${f}\``);
  });
});
