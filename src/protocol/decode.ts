// Producer and subscriber messages in, validated. One FrameDecoder per connection: it holds that connection's
// msgpackr Unpackr (so record definitions a producer sends never reach another connection's decoding) and the
// scratch columns its frames are decoded into.
//
// A frame is validated whole before anything is accepted: every column's type and length, and every event (kind,
// registered instrument, ts > 0, required fields finite, prices > 0, sizes >= 0, optional fields absent or
// finite). The checks are the engine's stateless ones (assembly/engine.ts `check`), made here so that a bad frame
// is refused with a reason the producer can act on instead of being counted as engine rejects; the stateful ones
// (time going backwards per instrument, crossed quotes) stay in the engine. decode never throws: whatever the
// bytes, the answer is a message or a ProtocolError.
import { Unpackr } from 'msgpackr';
import { DETECTORS, FEATURES, Kind, type KindName } from '../abi.js';
import { isoToNs, show } from '../adapters/common.js';
import { anyOfMessage, NDJSON_FIELDS, newCanonicalEvent, readCanonicalObject, type NdjsonMalformedReason } from '../adapters/ndjson.js';
import { ColumnScratch, type Columns, type ScratchViews } from './columns.js';
import {
  DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_FRAME_EVENTS, INSTRUMENT_KINDS, MAX_NAME_LENGTH, MAX_TOKEN_LENGTH, PROTOCOL_VERSION,
  didYouMean, hint, protocolError, type ClientMessage, type ErrorCode, type HelloMessage, type ProtocolError, type RegisterMessage,
  type RegisteredInstrument, type ServerMessage, type SubscribeMessage, type SubscriberFilter, type WireInstrumentKind,
} from './messages.js';

/** Whether an instrument id is registered: a function, or a table with a nonzero byte at every registered id. */
export type IsRegistered = ((id: number) => boolean) | Uint8Array;

export interface FrameDecoderOptions {
  /**
   * What the decoder knows of the registered instruments (the server's registry, read at every decode, so it may
   * change between calls). Absent: no id is registered.
   */
  isRegistered?: IsRegistered;
  /** The id of a registered name, else undefined (rows name their instruments). Absent: no name is. */
  lookup?: (name: string) => number | undefined;
  /** Events per cols/rows frame at most (`frameTooLarge` past it). */
  maxFrameEvents?: number;
  /** Bytes per message at most (`frameTooLarge` past it). */
  maxFrameBytes?: number;
  /** Events the scratch holds before it first grows (default 256). */
  initialCapacity?: number;
}

/** A refusal, thrown inside the decoder and returned by decode: never escapes it. */
class Refusal {
  constructor(readonly error: ProtocolError) {}
}
function refuse(code: ErrorCode, message: string, extra?: { seq?: number; index?: number; field?: string }): never {
  throw new Refusal(protocolError(code, message, extra));
}

const MESSAGE_TYPES = ['hello', 'register', 'cols', 'rows'] as const;
const SERVER_TYPES = new Set(['welcome', 'registered', 'ack', 'credit', 'processed', 'error', 'subscribed', 'alerts']);
const HELLO_KEYS = ['t', 'v', 'token', 'producer', 'notify'];
const REGISTER_KEYS = ['t', 'instruments'];
const INSTRUMENT_KEYS = ['name', 'kind', 'tickSize', 'contractSize', 'expiry', 'strike', 'optionType'];
const F_KEYS = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];
const COLS_KEYS = ['t', 'seq', 'n', 'ts', 'instrument', 'kind', ...F_KEYS, 'eseq'];
const ROWS_KEYS = ['t', 'seq', 'rows'];
const SUBSCRIBE_KEYS = ['t', 'token', 'instruments', 'features', 'detectors', 'minSeverity', 'format'];

/** Kind number -> name, and per kind the canonical name of each f-column (docs/abi.md "Events"). */
const KIND_NAMES: (KindName | undefined)[] = [];
const FIELD_NAMES: string[][] = [];
for (const name of Object.keys(Kind) as KindName[]) {
  KIND_NAMES[Kind[name]] = name;
  FIELD_NAMES[Kind[name]] = [...NDJSON_FIELDS[name].required, ...NDJSON_FIELDS[name].optional];
}

/**
 * The value rules of each kind's fields, in column order (assembly/engine.ts `check`): required fields must be
 * finite, optional ones NaN (absent) or finite; `pos` > 0, `nonNeg` >= 0, `side` one of -1, 0, 1, `any` no bound.
 * Which fields are required, and of which at least one must be present (`anyOf`, as columns), comes from
 * NDJSON_FIELDS. A `side` column is never absent: a batch writes an unknown side as 0 (NDJSON's absent side).
 */
type Bound = 'pos' | 'nonNeg' | 'side' | 'any';
const BOUNDS: Record<KindName, Bound[]> = {
  trade: ['pos', 'nonNeg', 'side'],
  quote: ['pos', 'nonNeg', 'pos', 'nonNeg', 'nonNeg', 'nonNeg'],
  mark: ['pos', 'pos', 'any'],
  option: ['nonNeg', 'pos', 'nonNeg', 'nonNeg', 'nonNeg', 'nonNeg'],
  value: ['any'],
};
const RULES = Object.fromEntries((Object.keys(BOUNDS) as KindName[]).map((k) => {
  const { required, anyOf = [] } = NDJSON_FIELDS[k];
  const names = FIELD_NAMES[Kind[k]];
  if (BOUNDS[k].length !== names.length) throw new Error(`decode: ${k} has ${names.length} fields and ${BOUNDS[k].length} bounds`);
  return [k, { required: required.length, anyOf: anyOf.map((name) => names.indexOf(name)), bounds: BOUNDS[k] }];
})) as Record<KindName, { required: number; anyOf: number[]; bounds: Bound[] }>;

/** How a row's problem (the canonical-event rules of src/adapters/ndjson.ts) is coded on the wire. */
const ROW_CODES: Record<NdjsonMalformedReason, ErrorCode> = {
  badJson: 'badMessage', notObject: 'badMessage', badVersion: 'badVersion', missingField: 'missingField',
  unknownKind: 'badKind', unknownField: 'badMessage', wrongType: 'wrongType', badNumber: 'wrongType',
  badValue: 'badValue', badTimestamp: 'badValue', truncated: 'badMessage', corrupt: 'badMessage',
};

function typeName(v: unknown): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'binary';
  if (typeof v === 'object') return isPlainObject(v) ? 'map' : (v as object).constructor?.name ?? 'object';
  return typeof v;
}

function showValue(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return String(v); // JSON.stringify writes NaN and Infinity as null
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  try { return show(v); } catch { return typeName(v); }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Refuses the first key of `o` that is not in `known`, suggesting the one meant. */
function onlyKeys(o: Record<string, unknown>, known: readonly string[], what: string, extra?: { seq?: number; index?: number }): void {
  for (const key in o) {
    if (!known.includes(key)) refuse('badMessage', `${what}: unknown field ${show(key)}${hint(key, known.filter((k) => k !== 't'))}`, { ...extra, field: key });
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A non-negative safe integer (a msgpack int of any width, or an integral float64), or a refusal. */
function safeUint(v: unknown, field: string, what: string, extra?: { seq?: number; index?: number }): number {
  if (v === undefined || v === null) refuse('missingField', `${what}: field "${field}" is missing`, { ...extra, field });
  let x: number;
  if (typeof v === 'number') x = v;
  else if (typeof v === 'bigint') x = v >= 0n && v <= MAX_SAFE ? Number(v) : -1;
  else return refuse('wrongType', `${what}: "${field}" must be an integer, got ${typeName(v)} ${showValue(v)}`, { ...extra, field });
  if (!Number.isSafeInteger(x) || x < 0) refuse('badValue', `${what}: "${field}" must be an integer in 0 .. 2^53 - 1, got ${showValue(v)}`, { ...extra, field });
  return x;
}

/** A name: a non-empty string of at most MAX_NAME_LENGTH characters, none a control character. */
function name(v: unknown, field: string, what: string, extra?: { index?: number }): string {
  if (v === undefined || v === null) refuse('missingField', `${what}: field "${field}" is missing`, { ...extra, field });
  if (typeof v !== 'string') refuse('wrongType', `${what}: "${field}" must be a string, got ${typeName(v)} ${showValue(v)}`, { ...extra, field });
  if (v.length === 0) refuse('badValue', `${what}: "${field}" is empty`, { ...extra, field });
  if (v.length > MAX_NAME_LENGTH) refuse('badValue', `${what}: "${field}" is ${v.length} characters long, more than ${MAX_NAME_LENGTH}`, { ...extra, field });
  // Names go into logs, metrics labels and file names: no control characters.
  if (/[\u0000-\u001f\u007f]/.test(v)) refuse('badValue', `${what}: "${field}" ${show(v)} contains a control character`, { ...extra, field });
  return v;
}

function token(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') refuse('wrongType', `${what}: "token" must be a string, got ${typeName(v)}`, { field: 'token' });
  if (v.length === 0 || v.length > MAX_TOKEN_LENGTH) refuse('badValue', `${what}: "token" must be 1 to ${MAX_TOKEN_LENGTH} characters, got ${v.length}`, { field: 'token' });
  return v;
}

export class FrameDecoder {
  readonly maxFrameEvents: number;
  readonly maxFrameBytes: number;
  // int64AsType 'bigint': timestamps and sequence numbers past 2^53 arrive exact. structuredClone off: a producer
  // has no business sending object graphs with back-references. Records decode (useRecords), but a definition
  // lives for one message only: this Unpackr has no shared structures and is not sequential.
  readonly #unpackr = new Unpackr({ useRecords: true, mapsAsObjects: true, int64AsType: 'bigint', structuredClone: false });
  readonly #scratch: ColumnScratch;
  readonly #event = newCanonicalEvent();
  readonly #isRegistered: IsRegistered;
  readonly #lookup: (name: string) => number | undefined;

  constructor(opts: FrameDecoderOptions = {}) {
    this.#isRegistered = opts.isRegistered ?? (() => false);
    this.#lookup = opts.lookup ?? (() => undefined);
    this.maxFrameEvents = opts.maxFrameEvents ?? DEFAULT_MAX_FRAME_EVENTS;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isSafeInteger(this.maxFrameEvents) || this.maxFrameEvents < 1) throw new RangeError(`maxFrameEvents must be a positive integer, got ${this.maxFrameEvents}`);
    if (!Number.isSafeInteger(this.maxFrameBytes) || this.maxFrameBytes < 1) throw new RangeError(`maxFrameBytes must be a positive integer, got ${this.maxFrameBytes}`);
    // Small to start (a connection that sends aligned cols frames never copies into it); grows on demand.
    this.#scratch = new ColumnScratch(Math.min(opts.initialCapacity ?? 256, this.maxFrameEvents));
  }

  /** Events the scratch has room for (about 73 bytes each): what this connection's decoder holds beyond a frame. */
  get scratchEvents(): number { return this.#scratch.capacity; }

  /**
   * One producer message (a binary WebSocket message) -> the message, validated, or what is wrong with it. A
   * frame's columns are views into `bytes` or into this decoder's scratch: valid until the next decode call and
   * while `bytes` is unchanged.
   */
  decode(bytes: Uint8Array | ArrayBuffer): ClientMessage | ProtocolError {
    try {
      return this.#message(this.#unpack(bytes));
    } catch (err) {
      return err instanceof Refusal ? err.error : internal(err);
    }
  }

  /** A subscriber message (see decodeSubscribe), with this decoder's Unpackr and byte limit. */
  decodeSubscribe(data: string | Uint8Array | ArrayBuffer, isBinary = typeof data !== 'string'): SubscribeMessage | ProtocolError {
    return subscribeMessage(this.#unpackr, this.maxFrameBytes, data, isBinary);
  }

  #unpack(bytes: Uint8Array | ArrayBuffer): Record<string, unknown> {
    return unpackMap(this.#unpackr, this.maxFrameBytes, bytes);
  }

  #message(o: Record<string, unknown>): ClientMessage {
    const t = o.t;
    if (t === undefined || t === null) refuse('missingField', 'a message must have a string field "t" (its type)', { field: 't' });
    if (typeof t !== 'string') refuse('wrongType', `field "t" must be a string, got ${typeName(t)} ${showValue(t)}`, { field: 't' });
    switch (t) {
      case 'cols': return this.#cols(o);
      case 'rows': return this.#rows(o);
      case 'hello': return hello(o);
      case 'register': return register(o);
    }
    if (t === 'subscribe') refuse('unknownType', 'subscribe is a subscriber message: send it on /alerts, not /ingest');
    if (SERVER_TYPES.has(t)) refuse('unknownType', `${show(t)} is a message the server sends, not one it takes`);
    return refuse('unknownType', `unknown message type ${show(t)}${hint(t, MESSAGE_TYPES)}`);
  }

  #cols(o: Record<string, unknown>): ClientMessage {
    const seq = safeUint(o.seq, 'seq', 'cols');
    const at = { seq };
    onlyKeys(o, COLS_KEYS, 'cols', at);
    const n = safeUint(o.n, 'n', 'cols', at);
    if (n === 0) refuse('badValue', 'cols: "n" is 0; send frames of at least one event', { seq, field: 'n' });
    if (n > this.maxFrameEvents) refuse('frameTooLarge', `cols: n = ${n} events is more than the limit of ${this.maxFrameEvents} per frame`, { seq, field: 'n' });
    // Every column's type and length first, so that the refusal names the column whatever else is wrong.
    const tsBin = bin(o, 'ts', 8, n, seq, true)!;
    const instBin = bin(o, 'instrument', 4, n, seq, true)!;
    const kindBin = bin(o, 'kind', 1, n, seq, true)!;
    const fBins: (Uint8Array | undefined)[] = [];
    for (let k = 0; k < 6; k++) fBins.push(bin(o, F_KEYS[k], 8, n, seq, false));
    const eseqBin = bin(o, 'eseq', 8, n, seq, false);

    // Aligned columns are viewed in place; the scratch (grown to n only then) takes the copies of the others.
    const scratch = this.#scratch;
    let sv: ScratchViews | undefined;
    const copy = (): ScratchViews => { if (sv === undefined) { scratch.ensure(n); sv = scratch.views(n); } return sv; };
    let ts: BigInt64Array, tsWords: Int32Array;
    if ((tsBin.byteOffset & 7) === 0) {
      ts = new BigInt64Array(tsBin.buffer, tsBin.byteOffset, n);
      tsWords = new Int32Array(tsBin.buffer, tsBin.byteOffset, 2 * n);
    } else {
      const v = copy();
      scratch.tsBytes.set(tsBin);
      ts = v.ts; tsWords = v.tsWords;
    }
    let eseq: BigInt64Array | null = null, eseqWords: Int32Array | null = null;
    if (eseqBin !== undefined) {
      if ((eseqBin.byteOffset & 7) === 0) {
        eseq = new BigInt64Array(eseqBin.buffer, eseqBin.byteOffset, n);
        eseqWords = new Int32Array(eseqBin.buffer, eseqBin.byteOffset, 2 * n);
      } else {
        const v = copy();
        scratch.seqBytes.set(eseqBin);
        eseq = v.seq; eseqWords = v.seqWords;
      }
    }
    let instrument: Uint32Array;
    if ((instBin.byteOffset & 3) === 0) instrument = new Uint32Array(instBin.buffer, instBin.byteOffset, n);
    else { const v = copy(); scratch.instrumentBytes.set(instBin); instrument = v.instrument; }
    // A plain Uint8Array whatever the input was (a Buffer from ws, say): one element type for the loops downstream.
    const kind = new Uint8Array(kindBin.buffer, kindBin.byteOffset, n);
    const f: Float64Array[] = [];
    for (let k = 0; k < 6; k++) {
      const b = fBins[k];
      if (b === undefined) f.push(scratch.nan(n));
      else if ((b.byteOffset & 7) === 0) f.push(new Float64Array(b.buffer, b.byteOffset, n));
      else { const v = copy(); scratch.fBytes[k].set(b); f.push(v.f[k]); }
    }
    const columns: Columns = { n, ts, seq: eseq, instrument, kind, f };
    const problem = validate(columns, tsWords, eseqWords, this.#isRegistered, seq, 'eseq');
    if (problem !== undefined) return refuse(problem.code, problem.message, problem);
    return { t: 'cols', seq, columns };
  }

  #rows(o: Record<string, unknown>): ClientMessage {
    const seq = safeUint(o.seq, 'seq', 'rows');
    onlyKeys(o, ROWS_KEYS, 'rows', { seq });
    const rows = o.rows;
    if (rows === undefined || rows === null) refuse('missingField', 'rows: field "rows" is missing', { seq, field: 'rows' });
    if (!Array.isArray(rows)) refuse('wrongType', `rows: "rows" must be an array of maps, got ${typeName(rows)}`, { seq, field: 'rows' });
    const n = rows.length;
    if (n === 0) refuse('badValue', 'rows: "rows" is empty; send frames of at least one event', { seq, field: 'rows' });
    if (n > this.maxFrameEvents) refuse('frameTooLarge', `rows: ${n} events is more than the limit of ${this.maxFrameEvents} per frame`, { seq, field: 'rows' });
    const scratch = this.#scratch;
    scratch.ensure(n);
    const sv = scratch.views(n);
    const ev = this.#event;
    const f = sv.f;
    let anySeq = false;
    let lastName = '', lastId = -1;
    for (let i = 0; i < n; i++) {
      const row: unknown = rows[i];
      if (!isPlainObject(row)) refuse('wrongType', `event ${i}: must be a map, got ${typeName(row)}`, { seq, index: i });
      const problem = readCanonicalObject(row, ev);
      if (problem !== undefined) refuse(ROW_CODES[problem.reason], `event ${i}: ${problem.detail}`, { seq, index: i, field: problem.field });
      let id = ev.instrumentId;
      if (id < 0) {
        if (ev.instrument === lastName) id = lastId;
        else {
          const found = this.#lookup(ev.instrument);
          if (found === undefined) refuse('unknownInstrument', `event ${i} (${ev.kindName}): instrument ${show(ev.instrument)} is not registered (send register first)`, { seq, index: i, field: 'instrument' });
          id = found;
          lastName = ev.instrument;
          lastId = id;
        }
      }
      sv.ts[i] = ev.tsNs;
      sv.seq[i] = ev.seq;
      if (ev.seq >= 0n) anySeq = true;
      sv.instrument[i] = id;
      sv.kind[i] = ev.kind;
      const ef = ev.f;
      f[0][i] = ef[0]; f[1][i] = ef[1]; f[2][i] = ef[2]; f[3][i] = ef[3]; f[4][i] = ef[4]; f[5][i] = ef[5];
    }
    const columns: Columns = { n, ts: sv.ts, seq: anySeq ? sv.seq : null, instrument: sv.instrument, kind: sv.kind, f };
    const problem = validate(columns, sv.tsWords, anySeq ? sv.seqWords : null, this.#isRegistered, seq, 'seq');
    if (problem !== undefined) return refuse(problem.code, problem.message, problem);
    return { t: 'rows', seq, columns };
  }
}

/** The msgpack map of a message, or a refusal. */
function unpackMap(unpackr: Unpackr, maxBytes: number, bytes: Uint8Array | ArrayBuffer): Record<string, unknown> {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (u8.length > maxBytes) refuse('frameTooLarge', `message of ${u8.length} bytes is larger than the limit of ${maxBytes}`);
  if (u8.length === 0) refuse('badMsgpack', 'empty message');
  let o: unknown;
  try {
    o = unpackr.unpack(u8);
  } catch (err) {
    refuse('badMsgpack', `not one msgpack value: ${String(err instanceof Error ? err.message : err).slice(0, 120)}`);
  }
  if (!isPlainObject(o)) refuse('badMessage', `a message must be a msgpack map with a string field "t", got ${typeName(o)}`);
  return o;
}

function subscribeMessage(unpackr: Unpackr, maxBytes: number, data: string | Uint8Array | ArrayBuffer, isBinary: boolean): SubscribeMessage | ProtocolError {
  try {
    if (typeof data !== 'string' && isBinary) return subscribe(unpackMap(unpackr, maxBytes, data), 'msgpack');
    let text: string;
    if (typeof data === 'string') text = data;
    else {
      if (data.byteLength > maxBytes) refuse('frameTooLarge', `message of ${data.byteLength} bytes is larger than the limit of ${maxBytes}`);
      text = utf8.decode(data);
    }
    if (text.length > maxBytes) refuse('frameTooLarge', `message of ${text.length} characters is larger than the limit of ${maxBytes} bytes`);
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (err) {
      refuse('badMessage', `not JSON: ${String((err as Error).message).slice(0, 80)}`);
    }
    if (!isPlainObject(o)) refuse('badMessage', `a message must be one JSON object, got ${typeName(o)}`);
    return subscribe(o, 'json');
  } catch (err) {
    return err instanceof Refusal ? err.error : internal(err);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
// Subscriber messages carry no state between them (a record definition lives for one message): one Unpackr will do.
const subscriberUnpackr = new Unpackr({ useRecords: true, mapsAsObjects: true, int64AsType: 'bigint', structuredClone: false });

/**
 * One subscriber message (`subscribe`): JSON text (a text WebSocket message, `isBinary` false; a Uint8Array is
 * then its UTF-8) or msgpack (binary). The filter's format is the one asked for, else that of the message itself.
 * Never throws.
 */
export function decodeSubscribe(data: string | Uint8Array | ArrayBuffer, isBinary = typeof data !== 'string', maxBytes = DEFAULT_MAX_FRAME_BYTES): SubscribeMessage | ProtocolError {
  return subscribeMessage(subscriberUnpackr, maxBytes, data, isBinary);
}

function internal(err: unknown): ProtocolError {
  // Not the producer's fault and not expected: said so plainly (the fuzz tests look for this text).
  return protocolError('badMessage', `internal error while decoding: ${String(err instanceof Error ? err.message : err).slice(0, 120)}`);
}

/** A cols column: a bin of exactly `bytesPerEvent * n` bytes; undefined when an optional one is absent (or nil). */
function bin(o: Record<string, unknown>, key: string, bytesPerEvent: number, n: number, seq: number, required: boolean): Uint8Array | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) refuse('missingField', `cols: column "${key}" is missing`, { seq, field: key });
    return undefined;
  }
  if (!(v instanceof Uint8Array)) refuse('wrongType', `cols: column "${key}" must be a msgpack bin (${bytesPerEvent} bytes per event), got ${typeName(v)}`, { seq, field: key });
  const expected = bytesPerEvent * n;
  if (v.length !== expected) refuse('badLength', `cols: column "${key}" is ${v.length} bytes, expected ${expected} (${bytesPerEvent} x n = ${n})`, { seq, field: key });
  return v;
}

/**
 * Every event of a frame against the rules (RULES; kind; registered instrument; ts > 0; event seq >= 0 or -1).
 * The loops test the rules with a few comparisons per event and ask describe() only about the first event that
 * fails, so the common case allocates nothing; the refusal names the first bad event of the frame.
 */
function validate(c: Columns, tsWords: Int32Array, seqWords: Int32Array | null, registered: IsRegistered, seq: number, seqField: string): ProtocolError | undefined {
  const n = c.n, kind = c.kind, inst = c.instrument;
  const f0 = c.f[0], f1 = c.f[1], f2 = c.f[2], f3 = c.f[3], f4 = c.f[4], f5 = c.f[5];
  // Two passes: the envelope (ts, event seq, instrument), then the fields by kind. Each loop is simpler than one
  // doing both, and the first is branch-free in the common case. An optional bound `!(x < 0 || x === Infinity)`
  // holds for NaN (absent) and for finite x >= 0, in two comparisons.
  let bad = n;
  if (typeof registered === 'function') {
    for (let i = 0; i < n; i++) {
      const hi = tsWords[2 * i + 1];
      if (!(hi > 0 || (hi === 0 && tsWords[2 * i] !== 0)) || !registered(inst[i])) { bad = i; break; }
    }
  } else {
    const len = registered.length;
    for (let i = 0; i < n; i++) {
      const hi = tsWords[2 * i + 1], id = inst[i];
      if (!(hi > 0 || (hi === 0 && tsWords[2 * i] !== 0)) || id >= len || registered[id] === 0) { bad = i; break; }
    }
  }
  if (seqWords !== null) {
    for (let i = 0; i < bad; i++) {
      const sh = seqWords[2 * i + 1];
      if (sh < -1 || (sh === -1 && seqWords[2 * i] !== -1)) { bad = i; break; }
    }
  }
  for (let i = 0; i < bad; i++) {
    let ok: boolean;
    switch (kind[i]) {
      case 1: { // trade: price > 0, size >= 0, side in {-1, 0, 1}
        const p = f0[i], s = f1[i], sd = f2[i];
        ok = p > 0 && p < Infinity && s >= 0 && s < Infinity && (sd === 0 || sd === 1 || sd === -1);
        break;
      }
      case 2: { // quote: bid, ask > 0; sizes >= 0; depths absent or >= 0
        const b = f0[i], bs = f1[i], a = f2[i], as = f3[i], bd = f4[i], ad = f5[i];
        ok = b > 0 && b < Infinity && bs >= 0 && bs < Infinity && a > 0 && a < Infinity && as >= 0 && as < Infinity
          && !(bd < 0 || bd === Infinity) && !(ad < 0 || ad === Infinity);
        break;
      }
      case 3: { // mark, index: each absent or > 0, at least one present (RULES.mark.anyOf); funding absent or finite
        const m = f0[i], x = f1[i], fu = f2[i];
        ok = !(m <= 0 || m === Infinity) && !(x <= 0 || x === Infinity) && (m === m || x === x) && fu !== Infinity && fu !== -Infinity;
        break;
      }
      case 4: { // markIv >= 0; underlying absent or > 0; markPrice, bidIv, askIv, neighbourIv absent or >= 0
        const iv = f0[i], u = f1[i], mp = f2[i], bi = f3[i], ai = f4[i], ni = f5[i];
        ok = iv >= 0 && iv < Infinity && !(u <= 0 || u === Infinity) && !(mp < 0 || mp === Infinity)
          && !(bi < 0 || bi === Infinity) && !(ai < 0 || ai === Infinity) && !(ni < 0 || ni === Infinity);
        break;
      }
      case 5: { // value: finite
        const v = f0[i];
        ok = v - v === 0;
        break;
      }
      default:
        ok = false;
    }
    if (!ok) return describe(c, i, tsWords, seqWords, registered, seq, seqField);
  }
  return bad < n ? describe(c, bad, tsWords, seqWords, registered, seq, seqField) : undefined;
}

/** What is wrong with event i, in a fixed order: kind, instrument, ts, event seq, then its fields in column order. */
function describe(c: Columns, i: number, tsWords: Int32Array, seqWords: Int32Array | null, registered: IsRegistered, seq: number, seqField: string): ProtocolError {
  const at = (field: string) => ({ seq, index: i, field });
  const k = c.kind[i];
  const kindName = KIND_NAMES[k];
  if (kindName === undefined) return protocolError('badKind', `event ${i}: kind ${k} is not one of 1 trade, 2 quote, 3 mark, 4 option, 5 value`, at('kind'));
  const id = c.instrument[i];
  const known = typeof registered === 'function' ? registered(id) : id < registered.length && registered[id] !== 0;
  if (!known) return protocolError('unknownInstrument', `event ${i} (${kindName}): instrument id ${id} is not registered (send register first)`, at('instrument'));
  const hi = tsWords[2 * i + 1];
  if (hi < 0 || (hi === 0 && tsWords[2 * i] === 0)) return protocolError('badValue', `event ${i} (${kindName}): ts is ${c.ts[i]}, must be > 0 (ns since the epoch)`, at('ts'));
  if (seqWords !== null && c.seq !== null && c.seq[i] < -1n) return protocolError('badValue', `event ${i} (${kindName}): ${seqField} is ${c.seq[i]}, must be >= 0 (or -1: the server numbers it)`, at(seqField));
  const { required, anyOf, bounds } = RULES[kindName];
  const names = FIELD_NAMES[k];
  if (anyOf.length > 0 && anyOf.every((col) => Number.isNaN(c.f[col][i]))) {
    return protocolError('missingField', `event ${i} (${kindName}): ${anyOfMessage(kindName, NDJSON_FIELDS[kindName].anyOf!)}`, at(names[anyOf[0]]));
  }
  for (let col = 0; col < bounds.length; col++) {
    const x = c.f[col][i];
    const field = names[col];
    const bound = bounds[col];
    if (x !== x && col >= required && bound !== 'side') continue; // absent optional field
    if (!Number.isFinite(x)) return protocolError('nonFinite', `event ${i} (${kindName}): ${field} is ${x}`, at(field));
    if (bound === 'pos' && !(x > 0)) return protocolError('badValue', `event ${i} (${kindName}): ${field} is ${x}, must be > 0`, at(field));
    if (bound === 'nonNeg' && !(x >= 0)) return protocolError('badValue', `event ${i} (${kindName}): ${field} is ${x}, must be >= 0`, at(field));
    if (bound === 'side' && x !== 0 && x !== 1 && x !== -1) return protocolError('badValue', `event ${i} (${kindName}): side is ${x}, must be 1 (buyer-initiated), -1 (seller-initiated) or 0 (unknown)`, at(field));
  }
  return protocolError('badMessage', `internal error while decoding: event ${i} failed validation but no rule names it`, { seq, index: i });
}

// ---- hello, register, subscribe ----------------------------------------------------------------------------
function hello(o: Record<string, unknown>): HelloMessage {
  onlyKeys(o, HELLO_KEYS, 'hello');
  const v = o.v;
  if (v === undefined || v === null) refuse('missingField', `hello: field "v" (the protocol version, ${PROTOCOL_VERSION}) is missing`, { field: 'v' });
  if (typeof v !== 'number' && typeof v !== 'bigint') refuse('wrongType', `hello: "v" must be an integer, got ${typeName(v)} ${showValue(v)}`, { field: 'v' });
  if (Number(v) !== PROTOCOL_VERSION) refuse('badVersion', `hello: protocol version ${showValue(v)} is not supported (this server speaks ${PROTOCOL_VERSION})`, { field: 'v' });
  const producer = o.producer === undefined || o.producer === null ? undefined : name(o.producer, 'producer', 'hello');
  const notify = o.notify;
  if (notify !== undefined && notify !== null && typeof notify !== 'boolean') refuse('wrongType', `hello: "notify" must be true or false, got ${typeName(notify)} ${showValue(notify)}`, { field: 'notify' });
  return { t: 'hello', v: PROTOCOL_VERSION, token: token(o.token, 'hello'), producer, notify: notify === true };
}

function register(o: Record<string, unknown>): RegisterMessage {
  onlyKeys(o, REGISTER_KEYS, 'register');
  const list = o.instruments;
  if (list === undefined || list === null) refuse('missingField', 'register: field "instruments" is missing', { field: 'instruments' });
  if (!Array.isArray(list)) refuse('wrongType', `register: "instruments" must be an array of maps, got ${typeName(list)}`, { field: 'instruments' });
  if (list.length === 0) refuse('badValue', 'register: "instruments" is empty', { field: 'instruments' });
  const instruments: RegisteredInstrument[] = [];
  for (let i = 0; i < list.length; i++) instruments.push(instrument(list[i], i));
  return { t: 'register', instruments };
}

/** A positive finite number, or undefined when absent. */
function positive(v: unknown, field: string, what: string, index: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' && typeof v !== 'bigint') refuse('wrongType', `${what}: "${field}" must be a number, got ${typeName(v)} ${showValue(v)}`, { index, field });
  const x = Number(v);
  if (!Number.isFinite(x)) refuse('nonFinite', `${what}: "${field}" is ${x}`, { index, field });
  if (!(x > 0)) refuse('badValue', `${what}: "${field}" is ${x}, must be > 0`, { index, field });
  return x;
}

/** Expiry: integer ms since the epoch, or an ISO 8601 time with a zone (digits below a millisecond are dropped). */
function expiryMs(v: unknown, what: string, index: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  const at = { index, field: 'expiry' };
  if (typeof v === 'string') {
    const ns = isoToNs(v.trim(), false);
    if (typeof ns === 'string') refuse('badValue', `${what}: "expiry" ${show(v)} is not an ISO 8601 time: ${ns}`, at);
    const ms = Number(ns / 1_000_000n);
    if (!(ms > 0) || !Number.isSafeInteger(ms)) refuse('badValue', `${what}: "expiry" ${show(v)} is out of range`, at);
    return ms;
  }
  if (typeof v !== 'number' && typeof v !== 'bigint') refuse('wrongType', `${what}: "expiry" must be integer ms since the epoch or an ISO 8601 string, got ${typeName(v)} ${showValue(v)}`, at);
  const ms = Number(v);
  if (!Number.isSafeInteger(ms) || ms <= 0) refuse('badValue', `${what}: "expiry" must be a positive integer of ms since the epoch, got ${showValue(v)}`, at);
  return ms;
}

function instrument(item: unknown, index: number): RegisteredInstrument {
  if (!isPlainObject(item)) refuse('wrongType', `register: instruments[${index}] must be a map, got ${typeName(item)}`, { index });
  const nm = name(item.name, 'name', `register: instruments[${index}]`, { index });
  const what = `register: instruments[${index}] ${show(nm)}`;
  for (const key in item) {
    if (!INSTRUMENT_KEYS.includes(key)) refuse('badMessage', `${what}: unknown field ${show(key)}${hint(key, INSTRUMENT_KEYS)}`, { index, field: key });
  }
  let kind: WireInstrumentKind = 'spot';
  const k = item.kind;
  if (k !== undefined && k !== null) {
    if (typeof k !== 'string') refuse('wrongType', `${what}: "kind" must be a string, got ${typeName(k)} ${showValue(k)}`, { index, field: 'kind' });
    if (!(INSTRUMENT_KINDS as readonly string[]).includes(k)) refuse('badValue', `${what}: kind ${show(k)} is not one of ${INSTRUMENT_KINDS.join(', ')}${didYouMean(k, INSTRUMENT_KINDS)}`, { index, field: 'kind' });
    kind = k as WireInstrumentKind;
  }
  const out: RegisteredInstrument = { name: nm, venue: 'ws', symbol: nm, kind };
  const tickSize = positive(item.tickSize, 'tickSize', what, index);
  if (tickSize !== undefined) out.tickSize = tickSize;
  const contractSize = positive(item.contractSize, 'contractSize', what, index);
  if (contractSize !== undefined) out.contractSize = contractSize;
  const strike = positive(item.strike, 'strike', what, index);
  const expiry = expiryMs(item.expiry, what, index);
  const ot = item.optionType;
  let optionType: 'call' | 'put' | undefined;
  if (ot !== undefined && ot !== null) {
    if (typeof ot !== 'string') refuse('wrongType', `${what}: "optionType" must be "call" or "put", got ${typeName(ot)} ${showValue(ot)}`, { index, field: 'optionType' });
    if (ot !== 'call' && ot !== 'put') refuse('badValue', `${what}: "optionType" must be "call" or "put", got ${show(ot)}`, { index, field: 'optionType' });
    optionType = ot;
  }
  if (kind === 'option') {
    if (strike === undefined) refuse('missingField', `${what}: an option needs "strike"`, { index, field: 'strike' });
    if (expiry === undefined) refuse('missingField', `${what}: an option needs "expiry"`, { index, field: 'expiry' });
    if (optionType === undefined) refuse('missingField', `${what}: an option needs "optionType" ("call" or "put")`, { index, field: 'optionType' });
  } else {
    // Terms that mean nothing for the kind are a producer's mistake (a wrong kind, most likely): said, not dropped.
    if (strike !== undefined) refuse('badValue', `${what}: "strike" applies to options only, and kind is ${kind}`, { index, field: 'strike' });
    if (optionType !== undefined) refuse('badValue', `${what}: "optionType" applies to options only, and kind is ${kind}`, { index, field: 'optionType' });
    if (expiry !== undefined && kind !== 'future' && kind !== 'combo') refuse('badValue', `${what}: "expiry" applies to futures, options and combos, and kind is ${kind}`, { index, field: 'expiry' });
  }
  if (strike !== undefined) out.strike = strike;
  if (expiry !== undefined) out.expiryMs = expiry;
  if (optionType !== undefined) out.optionType = optionType;
  return out;
}

function nameList(v: unknown, field: string, known: readonly string[] | null): Set<string> | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) refuse('wrongType', `subscribe: "${field}" must be an array of strings, got ${typeName(v)}`, { field });
  if (v.length === 0) refuse('badValue', `subscribe: "${field}" is empty; leave it out to receive every one`, { field });
  const out = new Set<string>();
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (known === null) out.add(name(x, field, `subscribe: ${field}[${i}]`, { index: i }));
    else {
      if (typeof x !== 'string') refuse('wrongType', `subscribe: ${field}[${i}] must be a string, got ${typeName(x)} ${showValue(x)}`, { index: i, field });
      if (!known.includes(x)) refuse('badValue', `subscribe: ${field}[${i}] ${show(x)} is unknown${hint(x, known)}`, { index: i, field });
      out.add(x);
    }
  }
  return out;
}

function subscribe(o: Record<string, unknown>, messageFormat: 'json' | 'msgpack'): SubscribeMessage {
  const t = o.t;
  if (t === undefined || t === null) refuse('missingField', 'a message must have a string field "t" (its type)', { field: 't' });
  if (typeof t !== 'string') refuse('wrongType', `field "t" must be a string, got ${typeName(t)} ${showValue(t)}`, { field: 't' });
  if (t !== 'subscribe') {
    if ((MESSAGE_TYPES as readonly string[]).includes(t)) refuse('unknownType', `${t} is a producer message: send it on /ingest, not /alerts`);
    refuse('unknownType', `unknown message type ${show(t)}${hint(t, ['subscribe'])}`);
  }
  onlyKeys(o, SUBSCRIBE_KEYS, 'subscribe');
  const filter: SubscriberFilter = {
    instruments: nameList(o.instruments, 'instruments', null),
    features: nameList(o.features, 'features', FEATURES),
    detectors: nameList(o.detectors, 'detectors', DETECTORS),
    minSeverity: 1,
    format: messageFormat,
  };
  const sev = o.minSeverity;
  if (sev !== undefined && sev !== null) {
    if (typeof sev !== 'number' && typeof sev !== 'bigint') refuse('wrongType', `subscribe: "minSeverity" must be an integer 1 to 4, got ${typeName(sev)} ${showValue(sev)}`, { field: 'minSeverity' });
    const x = Number(sev);
    if (!Number.isInteger(x) || x < 1 || x > 4) refuse('badValue', `subscribe: "minSeverity" must be an integer 1 to 4, got ${showValue(sev)}`, { field: 'minSeverity' });
    filter.minSeverity = x;
  }
  const format = o.format;
  if (format !== undefined && format !== null) {
    if (format !== 'json' && format !== 'msgpack') refuse(typeof format === 'string' ? 'badValue' : 'wrongType', `subscribe: "format" must be "json" or "msgpack", got ${showValue(format)}`, { field: 'format' });
    filter.format = format;
  }
  return { t: 'subscribe', token: token(o.token, 'subscribe'), filter };
}

// ---- Client side: the server's messages --------------------------------------------------------------------
const clientUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint', structuredClone: false });
const COUNTERS = ['nextSeq', 'events', 'window', 'seq', 'n', 'dropped', 'maxFrameBytes', 'maxFrameEvents'];

/**
 * A message from the server (msgpack, or JSON text to a JSON subscriber), for clients: `atc send`, tests,
 * benchmarks. Counters arrive as numbers (the server's counters stay below 2^53); an alert's tsNs and seq stay
 * bigints from msgpack and strings from JSON. Throws on what is not a server message (the server is trusted).
 */
export function decodeServerMessage(data: Uint8Array | ArrayBuffer | string): ServerMessage {
  const o: unknown = typeof data === 'string' ? JSON.parse(data) : clientUnpackr.unpack(data instanceof Uint8Array ? data : new Uint8Array(data));
  if (!isPlainObject(o) || typeof o.t !== 'string' || !SERVER_TYPES.has(o.t)) throw new Error(`not a server message: ${showValue(o)}`);
  for (const key of COUNTERS) if (typeof o[key] === 'bigint') o[key] = Number(o[key]);
  return o as unknown as ServerMessage;
}

export type { ClientMessage, ProtocolError, SubscribeMessage, SubscriberFilter } from './messages.js';
