// The sidecar's WebSocket protocol, version 1: the messages, the error codes and the limits, shared by the
// decoder (src/protocol/decode.ts), the encoders (src/protocol/encode.ts), the server and the clients.
// docs/protocol.md ("The sidecar WebSocket protocol") is the specification; test/protocol.test.ts holds the two
// together (every error code is in its table, the worked frame is byte for byte what FrameEncoder writes, every
// alert field is documented).
import type { InstrumentInfo, InstrumentKind } from '../instruments.js';
import type { Columns } from './columns.js';

export const PROTOCOL_VERSION = 1;

/** Defaults of the server's limits (src/server/options.ts may configure others; welcome tells the producer). */
export const DEFAULT_MAX_FRAME_EVENTS = 65_536;
export const DEFAULT_MAX_FRAME_BYTES = 8 << 20;
/** Longest instrument or producer name, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 128;
/** Longest token a hello or subscribe may carry. */
export const MAX_TOKEN_LENGTH = 1024;

// ---- Error codes ----------------------------------------------------------------------------------------------
/** Every code an `error` message may carry; docs/protocol.md has a row for each (a test checks). */
export const ERROR_CODES = [
  'badMsgpack', 'badMessage', 'unknownType', 'helloRequired', 'badVersion', 'unauthorized', 'missingField',
  'wrongType', 'badLength', 'badKind', 'nonFinite', 'badValue', 'unknownInstrument', 'sequenceGap', 'noCredit',
  'frameTooLarge', 'tooManyInstruments', 'unavailable',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * What is wrong with a message; the server sends it back as `{t:'error', ...}` (ErrorMessage). `seq` is the
 * frame's seq (when the frame got that far), `index` the event (cols, rows) or the list element (register's
 * instruments, subscribe's lists), `field` the canonical name of the field at fault. Decode results tell it from a
 * message by its `code` (`'code' in result`): messages have none.
 */
export interface ProtocolError {
  code: ErrorCode;
  message: string;
  seq?: number;
  index?: number;
  field?: string;
}
export type ErrorMessage = { t: 'error' } & ProtocolError;

/** The one way to make a ProtocolError: absent extras stay absent (not undefined-valued keys). */
export function protocolError(code: ErrorCode, message: string, extra?: { seq?: number; index?: number; field?: string }): ProtocolError {
  const e: ProtocolError = { code, message };
  if (extra) {
    if (extra.seq !== undefined) e.seq = extra.seq;
    if (extra.index !== undefined) e.index = extra.index;
    if (extra.field !== undefined) e.field = extra.field;
  }
  return e;
}

export function isProtocolError(m: object): m is ProtocolError {
  return 'code' in m;
}

// ---- Producer -> server ---------------------------------------------------------------------------------------
export interface HelloMessage {
  t: 'hello';
  v: 1;
  token: string | undefined;
  /** Names a resumable stream (the server keeps its next seq and accepted events across reconnects). */
  producer: string | undefined;
  /** Send `processed` messages. */
  notify: boolean;
}

export const INSTRUMENT_KINDS = ['perpetual', 'future', 'spot', 'option', 'combo', 'index'] as const satisfies readonly InstrumentKind[];
export type WireInstrumentKind = (typeof INSTRUMENT_KINDS)[number];
// Every kind of src/instruments.ts can be registered over the wire: this stops compiling when one is added there.
const allKindsOnTheWire: [Exclude<InstrumentKind, WireInstrumentKind>] extends [never] ? true : never = true;

/** An instrument as registered over the wire: InstrumentInfo (src/instruments.ts) with venue 'ws' and symbol = name. */
export type RegisteredInstrument = InstrumentInfo;

export interface RegisterMessage {
  t: 'register';
  instruments: RegisteredInstrument[];
}

/** A frame of events: `cols` (columns as binaries) or `rows` (maps), decoded and validated alike. */
export interface EventFrame<T extends 'cols' | 'rows' = 'cols' | 'rows'> {
  t: T;
  /** The frame's sequence number (the server compares it with the connection's next expected seq). */
  seq: number;
  columns: Columns;
}
export type ColsMessage = EventFrame<'cols'>;
export type RowsMessage = EventFrame<'rows'>;

export type ClientMessage = HelloMessage | RegisterMessage | ColsMessage | RowsMessage;

// ---- Subscriber -> server -------------------------------------------------------------------------------------
/** Which alerts a subscriber gets: null = every one. */
export interface SubscriberFilter {
  instruments: Set<string> | null;
  features: Set<string> | null;
  detectors: Set<string> | null;
  minSeverity: number;
  format: 'json' | 'msgpack';
}

export interface SubscribeMessage {
  t: 'subscribe';
  token: string | undefined;
  filter: SubscriberFilter;
}

// ---- Server -> producer ---------------------------------------------------------------------------------------
export interface WelcomeMessage {
  t: 'welcome';
  v: 1;
  /** The seq the next cols/rows frame must carry. */
  nextSeq: number;
  /** Events accepted from this producer so far (cumulative across reconnects of a named producer). */
  events: number;
  /** The producer may send a frame while its events sent + the frame's n <= window. */
  window: number;
  maxFrameBytes: number;
  maxFrameEvents: number;
}
export interface RegisteredMessage { t: 'registered'; ids: number[] }
export interface AckMessage { t: 'ack'; seq: number; n: number; events: number; window: number; duplicate?: boolean }
export interface CreditMessage { t: 'credit'; events: number; window: number }
export interface ProcessedMessage { t: 'processed'; seq: number }
export interface SubscribedMessage {
  t: 'subscribed';
  instruments: string[] | null;
  features: string[] | null;
  detectors: string[] | null;
  minSeverity: number;
  format: 'json' | 'msgpack';
}

/** One alert as subscribers receive it (src/alert-format.ts's alertObject; tsNs and seq int64 in msgpack). */
export interface WireAlert {
  time: string;
  tsNs: bigint | string;
  instrument: string;
  feature: string;
  detector: string;
  severity: number;
  regime: string;
  value: number | null;
  expected: number | null;
  score: number | null;
  threshold: number | null;
  volRatio: number | null;
  mode: string;
  seq: bigint | string;
}
export interface AlertsMessage { t: 'alerts'; alerts: WireAlert[]; dropped: number }

export type ServerMessage = WelcomeMessage | RegisteredMessage | AckMessage | CreditMessage | ProcessedMessage
  | ErrorMessage | SubscribedMessage | AlertsMessage;

// ---- Suggestions ----------------------------------------------------------------------------------------------
/**
 * The known word closest to `word`: the same letters in another case, else one it abbreviates (3 letters or
 * more: `perp` -> `perpetual`), else one within an edit distance of 2 (1 for words of 3 letters or fewer);
 * undefined when none is. Words past 64 characters get no suggestion (the distance is quadratic and such a word is
 * no typo).
 */
export function suggest(word: string, known: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  const lower = word.toLowerCase();
  for (const k of known) if (k.toLowerCase() === lower) return k;
  if (lower.length >= 3) for (const k of known) if (k.toLowerCase().startsWith(lower)) return k;
  let best: string | undefined;
  let bestD = word.length <= 3 ? 2 : 3;
  for (const k of known) {
    const kl = k.toLowerCase();
    const d = editDistance(lower, kl, bestD);
    if (d < bestD) { bestD = d; best = k; }
  }
  return best;
}

/** Levenshtein distance, or `limit` once it is certain to reach it. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const x = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(x);
      if (x < rowMin) rowMin = x;
    }
    if (rowMin >= limit) return limit;
    prev = cur;
  }
  return Math.min(prev[b.length], limit);
}

/** ` (did you mean "x"?)` or ` (known: a, b, c)`: the tail of an error message about an unknown word. */
export function hint(word: string, known: readonly string[]): string {
  const near = suggest(word, known);
  return near !== undefined ? ` (did you mean "${near}"?)` : ` (known: ${known.join(', ')})`;
}

/** ` (did you mean "x"?)`, or '' when no known word is close. */
export function didYouMean(word: string, known: readonly string[]): string {
  const near = suggest(word, known);
  return near !== undefined ? ` (did you mean "${near}"?)` : '';
}
