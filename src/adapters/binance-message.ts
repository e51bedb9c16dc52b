// Binance messages as a parser leaves them, and the parser over JSON.parse: the reference the byte scanner
// (binance-scan.ts) is tested against on every line of the captures, and its fallback for anything it does not
// recognise. Both fill one reused ParsedMessage per line and never throw.
//
// Recognised shapes (combined-stream `{"stream", "data"}` or raw):
//   trade        s, p, q, m (+ t, the trade id, when it is a number)
//   bookTicker   s, b, B, a, A (+ u, the book update id, when it is a number); a raw spot bookTicker has no "e"
//   depth diff   s, U, u, pu (futures only), b and a as [[price, size], ...]; the stream type `depth`, `depth@<n>ms`,
//                or a raw "e": "depthUpdate". Partial-book streams (`depth5`, `depth20@100ms`) are other types.
//   snapshot     the REST depth snapshot a recorder writes into the capture: lastUpdateId, bids, asks (+ symbol on
//                coin-margined futures); a line without "stream" that has "lastUpdateId"
//   markPrice    futures `<symbol>@markPrice` and `@markPrice@1s` (raw "e": "markPriceUpdate"): s, p the mark price,
//                i the index price and r the funding rate (both optional: absent, null or "" is none; COIN-M
//                delivery contracts send "r": ""). E, P (estimated settle price) and T (next funding time) are not
//                read.
// Anything else with a stream type is MSG_SKIP; anything unreadable is MSG_MALFORMED with a reason.
//
// Book prices and sizes stay decimal: an integer mantissa and a count of decimals, exactly as written, so that the
// book keys its levels by integer ticks and sums integer lots. Trade and quote numbers are doubles.

export const MSG_TRADE = 1;
export const MSG_QUOTE = 2;
export const MSG_SKIP = 3;
export const MSG_MALFORMED = 4;
export const MSG_DEPTH = 5;
export const MSG_SNAPSHOT = 6;
export const MSG_MARK = 7;

export const MALFORMED_REASONS = ['badTimestamp', 'badJson', 'missingField', 'badNumber', 'badField', 'truncated', 'corrupt'] as const;
export type MalformedReason = (typeof MALFORMED_REASONS)[number];

/** Decimals a book price or size may have: enough for any Binance market (8 at most), and 10^18 is exact. */
export const MAX_DECIMALS = 18;

/** Exact powers of ten, 10^0 .. 10^22 (the largest exact in a double). */
export const POW10: Float64Array = Float64Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * Price levels of one side of a depth message: level i is the price pxMant[i] / 10^pxDec[i] with the size
 * qtyMant[i] / 10^qtyDec[i], mantissas exact integers. Grows when a message has more levels than it holds (the
 * first snapshot), never shrinks: no allocation per message after that.
 */
export class Levels {
  n = 0;
  pxMant: Float64Array;
  pxDec: Uint8Array;
  qtyMant: Float64Array;
  qtyDec: Uint8Array;

  constructor(capacity = 256) {
    this.pxMant = new Float64Array(capacity);
    this.pxDec = new Uint8Array(capacity);
    this.qtyMant = new Float64Array(capacity);
    this.qtyDec = new Uint8Array(capacity);
  }

  push(pxMant: number, pxDec: number, qtyMant: number, qtyDec: number): void {
    const i = this.n;
    if (i === this.pxMant.length) this.grow();
    this.pxMant[i] = pxMant;
    this.pxDec[i] = pxDec;
    this.qtyMant[i] = qtyMant;
    this.qtyDec[i] = qtyDec;
    this.n = i + 1;
  }

  /** Level i's price as a double (correctly rounded: both operands exact). */
  price(i: number): number { return this.pxMant[i] / POW10[this.pxDec[i]]; }
  size(i: number): number { return this.qtyMant[i] / POW10[this.qtyDec[i]]; }

  /** Double the capacity (n unchanged). */
  grow(): void {
    const cap = this.pxMant.length * 2;
    const pm = new Float64Array(cap); pm.set(this.pxMant); this.pxMant = pm;
    const pd = new Uint8Array(cap); pd.set(this.pxDec); this.pxDec = pd;
    const qm = new Float64Array(cap); qm.set(this.qtyMant); this.qtyMant = qm;
    const qd = new Uint8Array(cap); qd.set(this.qtyDec); this.qtyDec = qd;
  }
}

/** One message, as a parser leaves it. A single instance is reused for every line: copy what you keep. */
export interface ParsedMessage {
  /** Trade, quote, depth: the symbol. Snapshot: its "symbol" field, '' when it has none (spot, USD-M). */
  symbol: string;
  /**
   * Trade: price, size, side (+1 buyer-initiated, -1 seller-initiated), trade id (NaN when absent), and whether it
   * came from the `aggTrade` stream (1: the id is the aggregate id "a", the size the fills' sum at one price) or
   * `trade` (0).
   */
  price: number;
  size: number;
  side: number;
  tradeId: number;
  aggregate: number;
  /** Quote: best bid, its size, best ask, its size. */
  bid: number;
  bidSize: number;
  ask: number;
  askSize: number;
  /** markPrice: mark price "p", index price "i" and funding rate "r" (the last two NaN when absent). */
  mark: number;
  index: number;
  funding: number;
  /** Quote: the book update id "u" (NaN when absent). Depth: last update id "u". Snapshot: lastUpdateId. */
  updateId: number;
  /** Depth: first update id "U", and the previous message's last one "pu" (futures; NaN on spot). */
  firstUpdateId: number;
  prevUpdateId: number;
  /** Depth and snapshot levels. */
  bids: Levels;
  asks: Levels;
  /** MSG_SKIP and MSG_DEPTH: the stream type (`depth@0ms`, `aggTrade`, ...). MSG_MALFORMED: the reason. */
  what: string;
  /** MSG_MALFORMED: what exactly was wrong, for humans. */
  detail: string;
}

/**
 * Parses the message JSON of one capture line, which starts at `start` in `line`; fills `out` and returns one of
 * the MSG_ kinds. Must not throw.
 */
export type MessageParser = (line: string, start: number, out: ParsedMessage) => number;

/**
 * A class rather than an object literal: its instances share one hidden class whose number fields hold doubles from
 * the start, so that storing an update id (past 2^31) rewrites a field in place instead of boxing a new number per
 * message, which the literal's fields did in our measurements.
 */
class Message implements ParsedMessage {
  symbol = '';
  price = NaN;
  size = NaN;
  side = 0;
  tradeId = NaN;
  aggregate = 0;
  bid = NaN;
  bidSize = NaN;
  ask = NaN;
  askSize = NaN;
  mark = NaN;
  index = NaN;
  funding = NaN;
  updateId = NaN;
  firstUpdateId = NaN;
  prevUpdateId = NaN;
  bids = new Levels();
  asks = new Levels();
  what = '';
  detail = '';
}

export function newParsedMessage(): ParsedMessage {
  return new Message();
}

/** A diff-depth stream type: `depth`, `depth@100ms`, `depth@0ms` (futures), or a raw message's `depthUpdate`. */
export function isDiffDepthType(type: string): boolean {
  if (type === 'depth' || type === 'depthUpdate') return true;
  if (!type.startsWith('depth@') || !type.endsWith('ms') || type.length < 9) return false;
  for (let i = 6; i < type.length - 2; i++) {
    const c = type.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * A mark-price stream type: `markPrice` (every 3 s), `markPrice@1s`, any `markPrice@<n>s`, or a raw message's
 * `markPriceUpdate`. The all-market `!markPrice@arr` streams (a list of updates per message) are not this.
 */
export function isMarkPriceType(type: string): boolean {
  if (type === 'markPrice' || type === 'markPriceUpdate') return true;
  if (!type.startsWith('markPrice@') || !type.endsWith('s') || type.length < 12) return false;
  for (let i = 10; i < type.length - 1; i++) {
    const c = type.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function malformed(out: ParsedMessage, reason: MalformedReason, detail: string): number {
  out.what = reason;
  out.detail = detail;
  return MSG_MALFORMED;
}

function skip(out: ParsedMessage, type: string): number {
  out.what = type;
  return MSG_SKIP;
}

const show = (v: unknown) => JSON.stringify(v)?.slice(0, 40) ?? String(v);

/** Binance sends prices and sizes as decimal strings; numbers are accepted too. NaN when neither. */
function decimal(v: unknown): number {
  if (typeof v === 'string') return v.length > 0 ? +v : NaN;
  return typeof v === 'number' ? v : NaN;
}

type Json = Record<string, unknown>;

/** The numeric field `key` of a message, or NaN after recording why it is unusable. */
function field(d: Json, key: string, type: string, out: ParsedMessage): number {
  const v = d[key];
  if (v === undefined || v === null) { malformed(out, 'missingField', `${type} field "${key}" is missing`); return NaN; }
  const x = decimal(v);
  if (x !== x) malformed(out, 'badNumber', `${type} field "${key}" is not a number: ${show(v)}`);
  return x;
}

/** An optional id (trade id, book update id): the number when it is one, NaN otherwise. */
const optionalId = (v: unknown): number => (typeof v === 'number' ? v : NaN);

function symbolOf(d: Json, type: string, out: ParsedMessage): boolean {
  const s = d.s;
  if (typeof s === 'string' && s.length > 0) { out.symbol = s; return true; }
  if (s === undefined || s === null) malformed(out, 'missingField', `${type} field "s" is missing`);
  else malformed(out, 'badField', `${type} field "s" is not a symbol: ${show(s)}`);
  return false;
}

function parseTrade(d: Json, out: ParsedMessage, type = 'trade'): number {
  if (!symbolOf(d, type, out)) return MSG_MALFORMED;
  const price = field(d, 'p', type, out);
  if (price !== price) return MSG_MALFORMED;
  const size = field(d, 'q', type, out);
  if (size !== size) return MSG_MALFORMED;
  const m = d.m;
  if (typeof m !== 'boolean') {
    return m === undefined || m === null
      ? malformed(out, 'missingField', `${type} field "m" is missing`)
      : malformed(out, 'badField', `${type} field "m" is not true or false: ${show(m)}`);
  }
  out.price = price;
  out.size = size;
  // m: "is the buyer the market maker?" Then the seller crossed the spread: a seller-initiated trade.
  out.side = m ? -1 : 1;
  // An aggTrade's id is its aggregate id "a" (its fills are "f".."l").
  const agg = type === 'aggTrade';
  out.tradeId = optionalId(agg ? d.a : d.t);
  out.aggregate = agg ? 1 : 0;
  return MSG_TRADE;
}

function parseBookTicker(d: Json, out: ParsedMessage): number {
  if (!symbolOf(d, 'bookTicker', out)) return MSG_MALFORMED;
  const bid = field(d, 'b', 'bookTicker', out);
  if (bid !== bid) return MSG_MALFORMED;
  const bidSize = field(d, 'B', 'bookTicker', out);
  if (bidSize !== bidSize) return MSG_MALFORMED;
  const ask = field(d, 'a', 'bookTicker', out);
  if (ask !== ask) return MSG_MALFORMED;
  const askSize = field(d, 'A', 'bookTicker', out);
  if (askSize !== askSize) return MSG_MALFORMED;
  out.bid = bid; out.bidSize = bidSize; out.ask = ask; out.askSize = askSize;
  out.updateId = optionalId(d.u);
  return MSG_QUOTE;
}

/** An optional decimal (index, funding): absent, null or "" give NaN; anything else must be a number. */
function optionalField(d: Json, key: string, type: string, out: ParsedMessage): number | undefined {
  const v = d[key];
  if (v === undefined || v === null || v === '') return NaN;
  const x = decimal(v);
  if (x !== x) { malformed(out, 'badNumber', `${type} field "${key}" is not a number: ${show(v)}`); return undefined; }
  return x;
}

function parseMarkPrice(d: Json, out: ParsedMessage): number {
  if (!symbolOf(d, 'markPriceUpdate', out)) return MSG_MALFORMED;
  const mark = field(d, 'p', 'markPriceUpdate', out);
  if (mark !== mark) return MSG_MALFORMED;
  const index = optionalField(d, 'i', 'markPriceUpdate', out);
  if (index === undefined) return MSG_MALFORMED;
  const funding = optionalField(d, 'r', 'markPriceUpdate', out);
  if (funding === undefined) return MSG_MALFORMED;
  out.mark = mark;
  out.index = index;
  out.funding = funding;
  return MSG_MARK;
}

/** A sequence number (U, u, pu, lastUpdateId): a non-negative integer exact in a double, else NaN after recording why. */
function sequence(d: Json, key: string, type: string, out: ParsedMessage): number {
  const v = d[key];
  if (v === undefined || v === null) { malformed(out, 'missingField', `${type} field "${key}" is missing`); return NaN; }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    malformed(out, 'badNumber', `${type} field "${key}" is not a sequence number: ${show(v)}`);
    return NaN;
  }
  return v;
}

/** Mantissa and decimals of the last decimalParts call. */
let partMant = 0;
let partDec = 0;

/**
 * A book price or size: digits with an optional fraction (`61800.20`, `0.000`), its mantissa exact (< 2^53) and at
 * most MAX_DECIMALS decimals. Leaves them in partMant / partDec; false when the string is not one.
 */
function decimalParts(s: string): boolean {
  let m = 0, k = 0, digits = 0, dot = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (dot !== -1) k++;
    } else if (c === 46 && dot === -1 && digits > 0) {
      dot = i;
    } else {
      return false;
    }
  }
  if (digits === 0 || (dot !== -1 && k === 0) || k > MAX_DECIMALS || m > Number.MAX_SAFE_INTEGER) return false;
  partMant = m;
  partDec = k;
  return true;
}

function levels(d: Json, key: string, type: string, into: Levels, out: ParsedMessage): boolean {
  const v = d[key];
  into.n = 0;
  if (v === undefined || v === null) { malformed(out, 'missingField', `${type} field "${key}" is missing`); return false; }
  if (!Array.isArray(v)) { malformed(out, 'badField', `${type} field "${key}" is not a list of levels: ${show(v)}`); return false; }
  for (const level of v) {
    if (!Array.isArray(level) || level.length !== 2) {
      malformed(out, 'badField', `${type} ${key} level is not [price, size]: ${show(level)}`);
      return false;
    }
    const [p, q] = level as unknown[];
    if (typeof p !== 'string' || !decimalParts(p)) {
      malformed(out, 'badNumber', `${type} ${key} price is not a decimal string: ${show(p)}`);
      return false;
    }
    const pm = partMant, pd = partDec;
    if (typeof q !== 'string' || !decimalParts(q)) {
      malformed(out, 'badNumber', `${type} ${key} size is not a decimal string: ${show(q)}`);
      return false;
    }
    into.push(pm, pd, partMant, partDec);
  }
  return true;
}

function parseDepth(d: Json, type: string, out: ParsedMessage): number {
  if (!symbolOf(d, 'depthUpdate', out)) return MSG_MALFORMED;
  const first = sequence(d, 'U', 'depthUpdate', out);
  if (first !== first) return MSG_MALFORMED;
  const last = sequence(d, 'u', 'depthUpdate', out);
  if (last !== last) return MSG_MALFORMED;
  let prev = NaN;
  if (d.pu !== undefined && d.pu !== null) {
    prev = sequence(d, 'pu', 'depthUpdate', out);
    if (prev !== prev) return MSG_MALFORMED;
  }
  if (!levels(d, 'b', 'depthUpdate', out.bids, out)) return MSG_MALFORMED;
  if (!levels(d, 'a', 'depthUpdate', out.asks, out)) return MSG_MALFORMED;
  out.firstUpdateId = first;
  out.updateId = last;
  out.prevUpdateId = prev;
  out.what = type;
  return MSG_DEPTH;
}

function parseSnapshot(msg: Json, out: ParsedMessage): number {
  const id = sequence(msg, 'lastUpdateId', 'snapshot', out);
  if (id !== id) return MSG_MALFORMED;
  if (!levels(msg, 'bids', 'snapshot', out.bids, out)) return MSG_MALFORMED;
  if (!levels(msg, 'asks', 'snapshot', out.asks, out)) return MSG_MALFORMED;
  const symbol = msg.symbol;
  if (symbol !== undefined && typeof symbol !== 'string') return malformed(out, 'badField', `snapshot field "symbol" is not a symbol: ${show(symbol)}`);
  out.symbol = symbol ?? '';
  out.updateId = id;
  out.what = 'depthSnapshot';
  return MSG_SNAPSHOT;
}

/** The MessageParser over JSON.parse. */
export const parseJsonMessage: MessageParser = (line, start, out) => {
  let o: unknown;
  try {
    o = JSON.parse(start === 0 ? line : line.slice(start));
  } catch (err) {
    return malformed(out, 'badJson', (err as Error).message.slice(0, 80));
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return malformed(out, 'badJson', 'not a JSON object');
  const msg = o as Json;
  let d: Json;
  let type: string;
  const stream = msg.stream;
  if (typeof stream === 'string') {
    // Combined stream: {"stream": "btcusdt@trade", "data": {...}}; the type is what follows the symbol.
    const at = stream.indexOf('@');
    type = at === -1 ? stream : stream.slice(at + 1);
    const data = msg.data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return malformed(out, 'missingField', `"data" of stream ${stream} is missing`);
    d = data as Json;
  } else if (msg.lastUpdateId !== undefined) {
    return parseSnapshot(msg, out);
  } else if (typeof msg.e === 'string') {
    d = msg;
    type = msg.e;
  } else if (msg.u !== undefined && msg.b !== undefined && msg.a !== undefined) {
    d = msg; // a raw spot bookTicker carries no "e"
    type = 'bookTicker';
  } else {
    return malformed(out, 'missingField', 'neither "stream" nor "e": not a known Binance message');
  }
  if (type === 'trade' || type === 'aggTrade') return parseTrade(d, out, type);
  if (type === 'bookTicker') return parseBookTicker(d, out);
  if (isDiffDepthType(type)) return parseDepth(d, type, out);
  if (isMarkPriceType(type)) return parseMarkPrice(d, out);
  return skip(out, type);
};
