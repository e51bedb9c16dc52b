// Binance WebSocket captures -> canonical events. A capture line is `<local receive ns> <raw message JSON>`
// (the layout of ../shared/data/binance and of data/samples). Combined-stream messages (`{"stream", "data"}`),
// raw single-stream messages and the REST depth snapshot line are all recognised.
//
//   trade       -> trade event: price p, size q, side -1 when `m` (the buyer is the maker, so the seller took
//                  liquidity), +1 otherwise
//   bookTicker  -> quote event: b, B, a, A; no depth (NaN)
//   depth diffs, the REST snapshot, any other stream -> counted by stream type and skipped (order books come later)
//   anything unreadable -> counted by reason, with its line number, and skipped: the replay goes on
//
// The event time is the receive time on the line, not the exchange's `E`/`T` (milliseconds, and not monotonic
// across streams): the receive time is monotonic within a capture and is what a live sidecar would see.
//
// Parsing is split from reading: a MessageParser fills one reused ParsedMessage per line. parseJsonMessage uses
// JSON.parse; a byte scanner with the same contract can replace it when replay has to reach 1M messages/s.
import { EventBatch } from '../events.js';
import { Registry } from '../registry.js';
import { LineReader } from './lines.js';

export const MSG_TRADE = 1;
export const MSG_QUOTE = 2;
export const MSG_SKIP = 3;
export const MSG_MALFORMED = 4;

export const MALFORMED_REASONS = ['badTimestamp', 'badJson', 'missingField', 'badNumber', 'badField', 'truncated', 'corrupt'] as const;
export type MalformedReason = (typeof MALFORMED_REASONS)[number];

/** One message, as a parser leaves it. A single instance is reused for every line: copy what you keep. */
export interface ParsedMessage {
  symbol: string;
  /** Trade: price, size, side (+1 buyer-initiated, -1 seller-initiated). */
  price: number;
  size: number;
  side: number;
  /** Quote: best bid, its size, best ask, its size. */
  bid: number;
  bidSize: number;
  ask: number;
  askSize: number;
  /** MSG_SKIP: the stream type (`depth@0ms`, `depthSnapshot`, ...). MSG_MALFORMED: the reason. */
  what: string;
  /** MSG_MALFORMED: what exactly was wrong, for humans. */
  detail: string;
}

/**
 * Parses the message JSON of one capture line, which starts at `start` in `line`; fills `out` and returns
 * MSG_TRADE, MSG_QUOTE, MSG_SKIP or MSG_MALFORMED. Must not throw.
 */
export type MessageParser = (line: string, start: number, out: ParsedMessage) => number;

export function newParsedMessage(): ParsedMessage {
  return { symbol: '', price: NaN, size: NaN, side: 0, bid: NaN, bidSize: NaN, ask: NaN, askSize: NaN, what: '', detail: '' };
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
  if (x !== x) malformed(out, 'badNumber', `${type} field "${key}" is not a number: ${JSON.stringify(v).slice(0, 40)}`);
  return x;
}

function symbolOf(d: Json, type: string, out: ParsedMessage): boolean {
  const s = d.s;
  if (typeof s === 'string' && s.length > 0) { out.symbol = s; return true; }
  if (s === undefined || s === null) malformed(out, 'missingField', `${type} field "s" is missing`);
  else malformed(out, 'badField', `${type} field "s" is not a symbol: ${JSON.stringify(s).slice(0, 40)}`);
  return false;
}

function parseTrade(d: Json, out: ParsedMessage): number {
  if (!symbolOf(d, 'trade', out)) return MSG_MALFORMED;
  const price = field(d, 'p', 'trade', out);
  if (price !== price) return MSG_MALFORMED;
  const size = field(d, 'q', 'trade', out);
  if (size !== size) return MSG_MALFORMED;
  const m = d.m;
  if (typeof m !== 'boolean') {
    return m === undefined || m === null
      ? malformed(out, 'missingField', 'trade field "m" is missing')
      : malformed(out, 'badField', `trade field "m" is not true or false: ${JSON.stringify(m).slice(0, 40)}`);
  }
  out.price = price;
  out.size = size;
  // m: "is the buyer the market maker?" Then the seller crossed the spread: a seller-initiated trade.
  out.side = m ? -1 : 1;
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
  return MSG_QUOTE;
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
    return skip(out, 'depthSnapshot');
  } else if (typeof msg.e === 'string') {
    d = msg;
    type = msg.e;
  } else if (msg.u !== undefined && msg.b !== undefined && msg.a !== undefined) {
    d = msg; // a raw spot bookTicker carries no "e"
    type = 'bookTicker';
  } else {
    return malformed(out, 'missingField', 'neither "stream" nor "e": not a known Binance message');
  }
  if (type === 'trade') return parseTrade(d, out);
  if (type === 'bookTicker') return parseBookTicker(d, out);
  return skip(out, type);
};

export interface MalformedCount {
  count: number;
  /** The first FIRST_LINES_KEPT line numbers (1-based). */
  lines: number[];
  /** What was wrong on the first such line. */
  example: string;
}

export const FIRST_LINES_KEPT = 20;

export interface BinanceStats {
  /** Lines read, blank ones included. */
  lines: number;
  events: { trade: number; quote: number };
  /** Messages recognised but not turned into events, by stream type. */
  skipped: Record<string, number>;
  malformed: Partial<Record<MalformedReason, MalformedCount>>;
  /** Receive time of the first and last event, ns (undefined before the first). */
  firstTsNs: bigint | undefined;
  lastTsNs: bigint | undefined;
  gzip: boolean;
  /** Bytes of the file read (compressed bytes for gzip). */
  bytesRead: number;
}

export interface BinanceOptions {
  /** Events per yielded batch (default 4096). */
  batchSize?: number;
  /** Maps instrument names to ids; share one across files and with the engine's user. A new one by default. */
  registry?: Registry;
  /** Prefix of instrument names: `binance-usdm` names BTCUSDT `binance-usdm:BTCUSDT`. None by default. */
  market?: string;
  parser?: MessageParser;
  /**
   * Reuse one EventBatch for every yield (the default, so that replay does not allocate per batch): consume each
   * batch before asking for the next. false gives a fresh batch each time.
   */
  reuseBatch?: boolean;
}

/** The largest i64: timestamps beyond it would wrap in the batch's BigInt64Array. */
const MAX_NS = 0x7fffffffffffffffn;

/**
 * Receive time of a capture line: the decimal digits before the first space, or -1n when they are not digits.
 */
export function receiveNs(line: string, space: number): bigint {
  if (space < 1 || space > 19) return -1n;
  for (let i = 0; i < space; i++) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) return -1n;
  }
  const ns = BigInt(line.slice(0, space));
  return ns > MAX_NS ? -1n : ns;
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/**
 * A streaming reader of one Binance capture file (gzip or plain): `for await (const batch of reader)` yields
 * EventBatch chunks; `stats` counts events, skipped messages and malformed lines as it goes.
 */
export class BinanceReader implements AsyncIterable<EventBatch> {
  readonly path: string;
  readonly registry: Registry;
  readonly stats: BinanceStats;
  readonly #batchSize: number;
  readonly #market: string | undefined;
  readonly #parser: MessageParser;
  readonly #reuse: boolean;
  /** symbol -> instrument id, so that naming costs one map lookup per message. */
  readonly #ids = new Map<string, number>();

  constructor(path: string, opts: BinanceOptions = {}) {
    const batchSize = opts.batchSize ?? 4096;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    this.path = path;
    this.registry = opts.registry ?? new Registry();
    this.#batchSize = batchSize;
    this.#market = opts.market;
    this.#parser = opts.parser ?? parseJsonMessage;
    this.#reuse = opts.reuseBatch ?? true;
    this.stats = {
      lines: 0, events: { trade: 0, quote: 0 }, skipped: {}, malformed: {},
      firstTsNs: undefined, lastTsNs: undefined, gzip: false, bytesRead: 0,
    };
  }

  /** The instrument id of a symbol, registering its name on first sight. */
  instrument(symbol: string): number {
    let id = this.#ids.get(symbol);
    if (id === undefined) {
      id = this.registry.id(this.#market ? `${this.#market}:${symbol}` : symbol);
      this.#ids.set(symbol, id);
    }
    return id;
  }

  #malformed(reason: MalformedReason, line: number, detail: string): void {
    let m = this.stats.malformed[reason];
    if (!m) m = this.stats.malformed[reason] = { count: 0, lines: [], example: `line ${line}: ${detail}` };
    m.count++;
    if (m.lines.length < FIRST_LINES_KEPT) m.lines.push(line);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<EventBatch> {
    const stats = this.stats;
    const input = new LineReader(this.path);
    const parse = this.#parser;
    const msg = newParsedMessage();
    const size = this.#batchSize;
    let batch = new EventBatch(size);
    let lineNo = 0;
    let ts = 0n;
    for await (const lines of input) {
      stats.gzip = input.gzip;
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        lineNo++;
        const space = line.indexOf(' ');
        if (space === -1 && isBlank(line)) continue;
        ts = receiveNs(line, space);
        if (ts < 0n) {
          this.#malformed('badTimestamp', lineNo, `expected "<receive ns> <json>", got ${JSON.stringify(line.slice(0, 40))}`);
          continue;
        }
        const kind = parse(line, space + 1, msg);
        if (kind === MSG_TRADE) {
          batch.trade(this.instrument(msg.symbol), ts, msg.price, msg.size, msg.side);
          stats.events.trade++;
        } else if (kind === MSG_QUOTE) {
          batch.quote(this.instrument(msg.symbol), ts, msg.bid, msg.bidSize, msg.ask, msg.askSize);
          stats.events.quote++;
        } else if (kind === MSG_SKIP) {
          stats.skipped[msg.what] = (stats.skipped[msg.what] ?? 0) + 1;
          continue;
        } else {
          this.#malformed(msg.what as MalformedReason, lineNo, msg.detail);
          continue;
        }
        if (stats.firstTsNs === undefined) stats.firstTsNs = ts;
        stats.lastTsNs = ts;
        if (batch.length === size) {
          stats.lines = lineNo;
          stats.bytesRead = input.bytesRead;
          yield batch;
          batch = this.#reuse ? batch.clear() : new EventBatch(size);
        }
      }
      stats.lines = lineNo;
      stats.bytesRead = input.bytesRead;
    }
    stats.gzip = input.gzip;
    stats.bytesRead = input.bytesRead;
    if (input.damage) this.#malformed(input.damage, input.damageLine, `gzip input ends early (${input.damageMessage}); the cut-off line is dropped`);
    if (batch.length > 0) yield batch;
  }
}

/** Read a whole capture into one stats object, calling `onBatch` per batch: a convenience for tools and tests. */
export async function readBinance(path: string, onBatch: (batch: EventBatch) => void, opts: BinanceOptions = {}): Promise<BinanceStats> {
  const reader = new BinanceReader(path, opts);
  for await (const batch of reader) onBatch(batch);
  return reader.stats;
}
