// Messages out. The server's replies and alerts (msgpack maps, or JSON for JSON subscribers), and FrameEncoder,
// the producer side used by `atc send`, the tests and the benchmarks.
//
// A cols frame is written by hand rather than through msgpackr: the columns go in as straight copies of the typed
// arrays (little-endian, asserted by columns.ts), and the msgpack header widths are chosen so that every 8-byte
// column starts at a multiple of 8 from the frame's first byte, which lets a server that receives the frame at an
// aligned address (uWebSockets.js hands over a fresh ArrayBuffer) view the columns in place instead of copying.
import { Packr } from 'msgpackr';
import { alertObject } from '../alert-format.js';
import type { Alert } from '../engine.js';
import { EventBatch } from '../events.js';
import type { Columns } from './columns.js';
import type {
  AckMessage, CreditMessage, ProtocolError, ServerMessage, SubscribedMessage, SubscriberFilter, WelcomeMessage, WireInstrumentKind,
} from './messages.js';

// ---- Server -> clients ----------------------------------------------------------------------------------------
// Plain maps (no records) so that any msgpack library reads them; variableMapSize for fixmaps on small messages.
const serverPackr = new Packr({ useRecords: false, variableMapSize: true });
const U32_MAX = 0xffffffff;
const COUNTERS = ['nextSeq', 'events', 'window', 'seq', 'n', 'dropped'] as const;

/**
 * msgpackr writes integers past 2^32 as float64; a counter of events may pass 2^32 in a long run, and producers in
 * other languages should read every counter as an integer. Such values go out as int64.
 */
function integerCounters<T extends object>(msg: T): T {
  const m = msg as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of COUNTERS) {
    const v = m[key];
    if (typeof v === 'number' && v > U32_MAX && Number.isInteger(v)) (copy ??= { ...m })[key] = BigInt(v);
  }
  return (copy ?? m) as T;
}

/** Any server message as msgpack (a binary WebSocket message). */
export function encodeServerMessage(msg: ServerMessage): Uint8Array {
  return serverPackr.pack(integerCounters(msg));
}

/** Any server message as JSON text (to a subscriber that asked for JSON): bigints as strings of digits. */
export function serverMessageJson(msg: ServerMessage): string {
  return JSON.stringify(msg, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

export function encodeWelcome(w: Omit<WelcomeMessage, 't' | 'v'>): Uint8Array {
  return encodeServerMessage({ t: 'welcome', v: 1, nextSeq: w.nextSeq, events: w.events, window: w.window, maxFrameBytes: w.maxFrameBytes, maxFrameEvents: w.maxFrameEvents });
}
export function encodeRegistered(ids: readonly number[]): Uint8Array {
  return encodeServerMessage({ t: 'registered', ids: ids as number[] });
}
export function encodeAck(a: Omit<AckMessage, 't'>): Uint8Array {
  const msg: AckMessage = { t: 'ack', seq: a.seq, n: a.n, events: a.events, window: a.window };
  if (a.duplicate) msg.duplicate = true;
  return encodeServerMessage(msg);
}
export function encodeCredit(c: Omit<CreditMessage, 't'>): Uint8Array {
  return encodeServerMessage({ t: 'credit', events: c.events, window: c.window });
}
export function encodeProcessed(seq: number): Uint8Array {
  return encodeServerMessage({ t: 'processed', seq });
}
export function encodeError(e: ProtocolError, format: 'json'): string;
export function encodeError(e: ProtocolError, format?: 'msgpack'): Uint8Array;
export function encodeError(e: ProtocolError, format: 'json' | 'msgpack' = 'msgpack'): string | Uint8Array {
  const msg = { t: 'error' as const, ...e };
  return format === 'json' ? serverMessageJson(msg) : encodeServerMessage(msg);
}
export function subscribedMessage(f: SubscriberFilter): SubscribedMessage {
  return {
    t: 'subscribed',
    instruments: f.instruments ? [...f.instruments] : null,
    features: f.features ? [...f.features] : null,
    detectors: f.detectors ? [...f.detectors] : null,
    minSeverity: f.minSeverity,
    format: f.format,
  };
}
/** The reply to a subscribe, in the format the subscriber asked for. */
export function encodeSubscribed(f: SubscriberFilter): string | Uint8Array {
  const msg = subscribedMessage(f);
  return f.format === 'json' ? serverMessageJson(msg) : encodeServerMessage(msg);
}

/** An alert with its instrument's name (the shape src/server/subscribers.ts fans out). */
export interface NamedAlert { alert: Alert; instrument: string }

/**
 * One `alerts` message: each alert as src/alert-format.ts's alertObject (the shape of every alert output), with
 * tsNs and seq as int64 in msgpack and as strings of digits in JSON. `dropped` = alerts this subscriber lost so far.
 */
export function encodeAlerts(alerts: readonly NamedAlert[], dropped: number, format: 'json' | 'msgpack'): string | Uint8Array {
  const list = alerts.map((na) => alertObject(na.alert, na.instrument) as Record<string, unknown>);
  if (format === 'json') return JSON.stringify({ t: 'alerts', alerts: list, dropped });
  for (let i = 0; i < list.length; i++) {
    list[i].tsNs = alerts[i].alert.tsNs;
    list[i].seq = alerts[i].alert.seq;
  }
  return serverPackr.pack(integerCounters({ t: 'alerts', alerts: list, dropped }));
}

// ---- Producer and subscriber side -----------------------------------------------------------------------------
export interface HelloOptions {
  /** The protocol version; 1 unless a test wants another. */
  v?: number;
  token?: string;
  producer?: string;
  notify?: boolean;
}

/** An instrument to register (docs/protocol.md, "register"). */
export interface InstrumentTerms {
  name: string;
  kind?: WireInstrumentKind;
  tickSize?: number;
  contractSize?: number;
  /** ms since the epoch, or an ISO 8601 time with a zone. */
  expiry?: number | string;
  strike?: number;
  optionType?: 'call' | 'put';
}

export interface SubscribeOptions {
  token?: string;
  instruments?: string[];
  features?: string[];
  detectors?: string[];
  minSeverity?: number;
  format?: 'json' | 'msgpack';
}

/** Uint widths msgpack allows for v, narrowest first: positive fixint, uint8, uint16, uint32, uint64. */
function uintWidths(v: number): readonly number[] {
  return v < 128 ? W_ALL : v < 256 ? W_8 : v < 65536 ? W_16 : v <= U32_MAX ? W_32 : W_64;
}
const W_ALL = [1, 2, 3, 5, 9], W_8 = [2, 3, 5, 9], W_16 = [3, 5, 9], W_32 = [5, 9], W_64 = [9];
const MAP_WIDTHS = [1, 3, 5]; // fixmap, map16, map32 (a cols frame has at most 13 entries)
const KEY_BYTES = 7; // "t": "cols"

/** Defined properties only: msgpackr writes undefined as an extension, and absent is what is meant. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Frames up to a quarter of this are cut from a shared slab; larger ones get their own buffer. */
const SLAB_BYTES = 1 << 20;

/**
 * The producer side of the protocol. Every call returns a buffer the caller owns: never written again by the
 * encoder (the `ws` client masks frames in place, so a buffer must not be shared between sends).
 */
export class FrameEncoder {
  readonly #maps = new Packr({ useRecords: false, variableMapSize: true });
  // A Packr with records and without shared structures writes each message's record definitions into it: every
  // message decodes on its own, which is what the server's per-message Unpackr expects.
  readonly #records = new Packr({ useRecords: true });
  readonly #useRecords: boolean;
  // Cols frames are cut from 1 MiB slabs, 8-aligned, each byte handed out once: a fresh ArrayBuffer per frame
  // costs more in allocation and garbage collection than the whole encoding (measured on a frame of 1000 events:
  // 25 us per frame with a buffer each, 4 us from a slab). A slab lives while any frame cut from it does.
  #slab: Uint8Array = new Uint8Array(0);
  #slabUsed = 0;

  /** records: write rows (and only rows) as msgpackr records, smaller and faster to decode for repeated shapes. */
  constructor(opts: { records?: boolean } = {}) {
    this.#useRecords = opts.records ?? false;
  }

  hello(h: HelloOptions = {}): Uint8Array {
    return this.#maps.pack(defined({ t: 'hello', v: h.v ?? 1, token: h.token, producer: h.producer, notify: h.notify }));
  }

  /** Instruments as given (terms are validated by the server; tests send bad ones on purpose). */
  register(instruments: readonly (InstrumentTerms | Record<string, unknown>)[]): Uint8Array {
    return this.#maps.pack({ t: 'register', instruments: instruments.map((i) => defined(i as Record<string, unknown>)) });
  }

  /** Rows: maps of canonical event fields (docs/protocol.md); ts best as a bigint (int64) or a string of digits. */
  rows(seq: number, rows: readonly object[], records = this.#useRecords): Uint8Array {
    return (records ? this.#records : this.#maps).pack({ t: 'rows', seq, rows });
  }

  subscribe(s: SubscribeOptions, as: 'json'): string;
  subscribe(s?: SubscribeOptions, as?: 'msgpack'): Uint8Array;
  subscribe(s: SubscribeOptions = {}, as: 'json' | 'msgpack' = 'msgpack'): string | Uint8Array {
    const o = defined({ t: 'subscribe', ...s });
    return as === 'json' ? JSON.stringify(o) : this.#maps.pack(o);
  }

  /**
   * Events [start, end) of an EventBatch (or a slice of one) or of Columns as one cols frame. Columns are copied
   * straight from the typed arrays; an f-column that is NaN for every event of the frame is left out (the server
   * reads it as absent), and so is eseq when every event's seq is -1 (the server numbers them).
   */
  cols(seq: number, events: EventBatch | Columns, start = 0, end?: number): Uint8Array {
    let count: number, ts: BigInt64Array, eseq: BigInt64Array | null, instrument: Uint32Array, kind: Uint8Array | Uint32Array, f: Float64Array[];
    if (events instanceof EventBatch) {
      count = events.length; ts = events.tsNs; eseq = events.seq; instrument = events.instrument; kind = events.kind; f = events.f;
    } else {
      count = events.n; ts = events.ts; eseq = events.seq; instrument = events.instrument; kind = events.kind; f = events.f;
    }
    end ??= count;
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`cols: seq must be a non-negative safe integer, got ${seq}`);
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end && end <= count)) {
      throw new RangeError(`cols: events [${start}, ${end}) is not a non-empty range of the ${count} given`);
    }
    const n = end - start;

    const fPresent: boolean[] = [];
    let nf = 0;
    for (let k = 0; k < 6; k++) {
      const p = anyNumber(f[k], start, end);
      fPresent.push(p);
      if (p) nf++;
    }
    const withSeq = eseq !== null && anyAssigned(eseq, start, end);

    // Header widths: the first 8-byte column's data must start at a multiple of 8; the columns after it then
    // stay aligned (each 2-letter key with a bin32 header is 8 bytes).
    const firstKey = withSeq ? 4 : 2;
    let best = -1, mapW = 5, seqW = 9, nW = 5;
    for (const mw of MAP_WIDTHS) {
      for (const sw of uintWidths(seq)) {
        for (const nw of uintWidths(n)) {
          const prefix = mw + KEY_BYTES + 4 + sw + 2 + nw + 1 + firstKey + 5;
          if (prefix % 8 === 0 && (best < 0 || prefix < best)) { best = prefix; mapW = mw; seqW = sw; nW = nw; }
        }
      }
    }
    if (best < 0) { mapW = 1; seqW = uintWidths(seq)[0]; nW = uintWidths(n)[0]; } // unaligned: the server copies

    const entries = 3 + 1 + (withSeq ? 1 : 0) + nf + 2;
    const size = mapW + KEY_BYTES + 4 + seqW + 2 + nW
      + (withSeq ? 1 + 4 + 5 + 8 * n : 0) + (1 + 2 + 5 + 8 * n) + nf * (1 + 2 + 5 + 8 * n)
      + (1 + 10 + 5 + 4 * n) + (1 + 4 + 5 + n);
    const out = this.#alloc(size);
    let p = 0;
    if (mapW === 1) out[p++] = 0x80 | entries;
    else if (mapW === 3) { out[p++] = 0xde; out[p++] = 0; out[p++] = entries; }
    else { out[p++] = 0xdf; out[p++] = 0; out[p++] = 0; out[p++] = 0; out[p++] = entries; }
    out[p++] = 0xa1; out[p++] = 0x74; // "t"
    out[p++] = 0xa4; out[p++] = 0x63; out[p++] = 0x6f; out[p++] = 0x6c; out[p++] = 0x73; // "cols"
    out[p++] = 0xa3; out[p++] = 0x73; out[p++] = 0x65; out[p++] = 0x71; // "seq"
    p = writeUint(out, p, seq, seqW);
    out[p++] = 0xa1; out[p++] = 0x6e; // "n"
    p = writeUint(out, p, n, nW);
    if (withSeq) p = writeBin(out, p, 'eseq', eseq!, start * 8, n * 8);
    p = writeBin(out, p, 'ts', ts, start * 8, n * 8);
    for (let k = 0; k < 6; k++) if (fPresent[k]) p = writeBin(out, p, F_NAMES[k], f[k], start * 8, n * 8);
    p = writeBin(out, p, 'instrument', instrument, start * 4, n * 4);
    if (kind instanceof Uint8Array) p = writeBin(out, p, 'kind', kind, start, n);
    else {
      p = writeBinHeader(out, p, 'kind', n);
      // EventBatch keeps kinds as u32; one past 255 becomes 0, which the server refuses (badKind) rather than
      // truncating it into another, valid kind.
      for (let i = 0; i < n; i++) { const k = kind[start + i]; out[p++] = k > 255 ? 0 : k; }
    }
    if (p !== size) throw new Error(`cols: wrote ${p} bytes of ${size} (an encoder bug)`);
    return out;
  }

  /** `size` bytes at an 8-aligned address, not zeroed (every byte is written by the caller). */
  #alloc(size: number): Uint8Array {
    const unsafe = (n: number): Uint8Array => (typeof Buffer === 'function' ? Buffer.allocUnsafeSlow(n) : new Uint8Array(n));
    if (size > SLAB_BYTES / 4) return unsafe(size);
    if (this.#slabUsed + size > this.#slab.length) {
      this.#slab = unsafe(SLAB_BYTES);
      this.#slabUsed = 0;
    }
    const out = this.#slab.subarray(this.#slabUsed, this.#slabUsed + size);
    this.#slabUsed = (this.#slabUsed + size + 7) & ~7;
    return out;
  }
}

const F_NAMES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];

function anyNumber(col: Float64Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) { const x = col[i]; if (x === x) return true; }
  return false;
}

/** Whether any seq in [start, end) is other than -1, read as int32 pairs (no bigint per element). */
function anyAssigned(seq: BigInt64Array, start: number, end: number): boolean {
  const w = new Int32Array(seq.buffer, seq.byteOffset + start * 8, 2 * (end - start));
  for (let i = 0; i < w.length; i++) if (w[i] !== -1) return true;
  return false;
}

function writeUint(out: Uint8Array, p: number, v: number, width: number): number {
  switch (width) {
    case 1: out[p++] = v; break;
    case 2: out[p++] = 0xcc; out[p++] = v; break;
    case 3: out[p++] = 0xcd; out[p++] = v >>> 8; out[p++] = v & 0xff; break;
    case 5: out[p++] = 0xce; p = be32(out, p, v); break;
    default: out[p++] = 0xcf; p = be32(out, p, Math.floor(v / 0x100000000)); p = be32(out, p, v >>> 0);
  }
  return p;
}

function be32(out: Uint8Array, p: number, v: number): number {
  out[p++] = v >>> 24; out[p++] = (v >>> 16) & 0xff; out[p++] = (v >>> 8) & 0xff; out[p++] = v & 0xff;
  return p;
}

/** A fixstr key (ASCII) and a bin32 header. */
function writeBinHeader(out: Uint8Array, p: number, key: string, bytes: number): number {
  out[p++] = 0xa0 | key.length;
  for (let i = 0; i < key.length; i++) out[p++] = key.charCodeAt(i);
  out[p++] = 0xc6;
  return be32(out, p, bytes);
}

function writeBin(out: Uint8Array, p: number, key: string, col: ArrayBufferView, byteStart: number, bytes: number): number {
  p = writeBinHeader(out, p, key, bytes);
  out.set(new Uint8Array(col.buffer, col.byteOffset + byteStart, bytes), p);
  return p + bytes;
}

export type { ServerMessage, ProtocolError } from './messages.js';
