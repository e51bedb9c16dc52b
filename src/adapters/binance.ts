// Binance WebSocket captures -> canonical events. A capture line is `<local receive ns> <raw message JSON>` (the
// layout of ../shared/data/binance and of data/samples). Combined-stream messages (`{"stream", "data"}`), raw
// single-stream messages and the REST depth snapshot line are all recognised (binance-message.ts lists the shapes).
//
//   trade        -> trade event: price p, size q, side -1 when `m` (the buyer is the maker, so the seller took
//                   liquidity), +1 otherwise
//   bookTicker   -> quote event: the top of book (below) with the book's depth when the book is live, NaN otherwise
//   depth diff   -> the instrument's order book (book.ts); after each diff applied to a live book, a quote event
//                   with the book's depth
//   snapshot     -> loads the book it belongs to (its "symbol", else the one book whose buffered diffs it fits)
//   markPrice    -> mark event (futures `@markPrice`, `@markPrice@1s`): mark p, index i, funding rate r (the last two
//                   absent when the message has none, as on COIN-M delivery contracts)
//   other stream -> counted by type and skipped; anything unreadable -> counted by reason with its line number
//                   and skipped: the replay goes on
//
// Which source gives the top of book. Both carry Binance's book update id: a bookTicker's `u` is the update after
// which its best bid and ask hold, a diff's `u` the last update it contains. The quote's bid, ask and their sizes
// are those of whichever source is newer by that id: a bookTicker (pushed on every change of the best levels, the
// faster stream) usually, the book right after a diff that went past the last bookTicker. So the top never steps
// back to an older state when the two streams interleave, and the book's depth, which changes only with diffs, is
// attached to every quote from the latest diff. One quote per bookTicker line, one per diff applied to a live book.
// A bookTicker without `u` always takes the top.
//
// Event time is the receive time on the line, not the exchange's `E`/`T` (milliseconds, and not monotonic across
// streams): the receive time is monotonic within a capture and is what a live sidecar would see. A line whose
// receive time is earlier than an earlier line's is counted as out of order (with its line number) and its event
// takes that earlier line's time, so that it keeps its place in arrival order and the engine does not reject it.
// Trades whose id does not increase and bookTickers whose `u` goes back are counted as out of order too; the trade
// is still an event. A bookTicker older than the top already quoted (the book went past it, or a newer bookTicker
// came first) still gives its quote, one per bookTicker line, but with the newer top: its own would step the quote
// back in time (counted in stats.quotes.superseded; 1.5% of the USD-M capture's bookTickers, none on the others).
//
// docs/binance.md has the reasons and the measurements behind these choices.
//
// The hot path never builds a string or an object per line: lines are byte spans of the inflated chunks
// (chunks.ts), the byte scanner (binance-scan.ts) parses them, events are written straight into the batch columns,
// and the receive time goes into the batch's BigInt64Array as two 32-bit halves. parseJsonMessage is both the
// scanner's fallback and a MessageParser option.
import { EventBatch } from '../events.js';
import { Kind } from '../abi.js';
import { Registry } from '../registry.js';
import {
  MSG_DEPTH, MSG_MARK, MSG_QUOTE, MSG_SKIP, MSG_SNAPSHOT, MSG_TRADE, newParsedMessage,
  type MalformedReason, type MessageParser, type ParsedMessage,
} from './binance-message.js';
import { fractionDigits, ReceiveTime, scanReceiveTime, sharedScanner, TIME_BAD, TIME_BLANK } from './binance-scan.js';
import { DIFF_APPLIED, DIFF_GAP, GAPS_KEPT, OrderBook, type BookOptions, type BookStats, type StalePeriod } from './book.js';
import { ByteChunks, LineSplitter } from './chunks.js';
import { INPUT_BYTES } from '../wasm/binance.js';

export {
  isMarkPriceType, Levels, MALFORMED_REASONS, MSG_DEPTH, MSG_MALFORMED, MSG_MARK, MSG_QUOTE, MSG_SKIP, MSG_SNAPSHOT, MSG_TRADE,
  newParsedMessage, parseJsonMessage,
} from './binance-message.js';
export type { MalformedReason, MessageParser, ParsedMessage } from './binance-message.js';
export { BinanceScanner, sharedScanner } from './binance-scan.js';
export { OrderBook } from './book.js';
export type { BookGap, BookOptions, BookState, BookStats, StalePeriod } from './book.js';

export interface MalformedCount {
  count: number;
  /** The first FIRST_LINES_KEPT line numbers (1-based). */
  lines: number[];
  /** What was wrong on the first such line. */
  example: string;
}

export const FIRST_LINES_KEPT = 20;

/**
 * Messages out of order: `receiveTime` a line received before an earlier one (its events take the earlier time),
 * `tradeId` a trade whose id is not above the instrument's previous trade's, `tickerId` a bookTicker whose update
 * id is below the instrument's previous bookTicker's.
 */
export const OUT_OF_ORDER_KINDS = ['receiveTime', 'tradeId', 'tickerId'] as const;
export type OutOfOrderKind = (typeof OUT_OF_ORDER_KINDS)[number];

export interface BinanceStats {
  /** Lines read, blank ones included. */
  lines: number;
  /** Events produced: `quote` counts bookTicker quotes and book quotes (see `quotes`), `mark` markPrice messages. */
  events: { trade: number; quote: number; mark: number };
  /** Messages recognised, by shape. */
  messages: { trade: number; aggTrade: number; bookTicker: number; depth: number; snapshot: number; markPrice: number };
  /** REST snapshot lines without a receive time, read as snapshots at the previous line's time. */
  bareSnapshots: number;
  quotes: {
    /** One per bookTicker line. */
    fromTicker: number;
    /** One per diff (or snapshot) that changed a live book. */
    fromBook: number;
    /** Quotes that carry the depth of a live book (the rest have NaN depth). */
    withDepth: number;
    /**
     * bookTicker quotes that repeat a newer top: the ticker's update id was older than the book's after a diff (the
     * depth stream ran ahead of the bookTicker stream), so its own, older top was not used.
     */
    superseded: number;
  };
  /** Messages recognised but not turned into events, by stream type. */
  skipped: Record<string, number>;
  malformed: Partial<Record<MalformedReason, MalformedCount>>;
  outOfOrder: Partial<Record<OutOfOrderKind, MalformedCount>>;
  /** Diffs that did not follow the one before (or the snapshot), over all books: each made its book stale. */
  bookGaps: number;
  /** Every order book, by symbol: state, gaps with their line numbers, stale periods, diffs applied and dropped. */
  books: Record<string, BookStats>;
  /** Lines of snapshots that could not be matched to a book (no symbol, several candidate books). */
  unattributedSnapshots: MalformedCount | undefined;
  /** Lines the byte scanner left to JSON.parse (0 on Binance's own messages). */
  parserFallbacks: number;
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
  /** Parse each line (decoded to a string) with this instead of the byte scanner, e.g. parseJsonMessage. */
  parser?: MessageParser;
  /**
   * Reuse one EventBatch for every yield (the default, so that replay does not allocate per batch): consume each
   * batch before asking for the next. false gives a fresh batch each time.
   */
  reuseBatch?: boolean;
  /**
   * Order books from depth diffs (default: on, with book.ts's defaults: depth within 10 bps in the quotes, 10
   * levels also computed). false skips depth diffs and snapshots (counted by type) and quotes carry no depth.
   */
  book?: boolean | BookOptions;
  /** State carried from the reader of the file before (BinanceSession): none by default, each file on its own. */
  session?: BinanceSession;
}

// Slots of the reader's times: the line's receive time (seconds, nanoseconds, and the low and high 32 bits of its
// i64 ns), the latest receive time so far (a line before it is out of order), and those of the first and last event.
const T_SEC = 0, T_NSEC = 1, T_LO = 2, T_HI = 3, T_MAX_SEC = 4, T_MAX_NSEC = 5, T_FIRST_SEC = 6, T_FIRST_NSEC = 7,
  T_LAST_SEC = 8, T_LAST_NSEC = 9;

/** The largest i64: timestamps beyond it would wrap in the batch's BigInt64Array. */
const MAX_NS = 0x7fffffffffffffffn;
const NS_PER_S = 1_000_000_000n;
const TWO_16 = 65_536;
const TWO_32 = 4_294_967_296;

/**
 * Receive time of a capture line in ns: the decimal digits before the first space (s, ms or us when there are 10, 13
 * or 16 of them: fractionDigits), or -1n when they are not digits or exceed an i64 of ns. The BigInt reference of
 * scanReceiveTime.
 */
export function receiveNs(line: string, space: number): bigint {
  if (space < 1 || space > 19) return -1n;
  for (let i = 0; i < space; i++) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) return -1n;
  }
  const ns = BigInt(line.slice(0, space)) * 10n ** BigInt(9 - fractionDigits(space));
  return ns > MAX_NS ? -1n : ns;
}

const LAST_UPDATE_ID = Buffer.from('{"lastUpdateId"');

/** Whether a line starts (after blanks) with `{"lastUpdateId"`: a REST depth snapshot without a receive time. */
function isBareSnapshot(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && (bytes[i] === 32 || bytes[i] === 9)) i++;
  if (end - i < LAST_UPDATE_ID.length) return false;
  for (let k = 0; k < LAST_UPDATE_ID.length; k++) if (bytes[i + k] !== LAST_UPDATE_ID[k]) return false;
  return true;
}

/** Per-instrument state of the reader: its book, the last ids seen, and the top of book quotes carry. */
class Instrument {
  book: OrderBook | undefined = undefined;
  lastTradeId = NaN;
  /** Where its trades come from: 0 none yet, 1 the `aggTrade` stream, 2 the `trade` stream (which wins). */
  tradeStream = 0;
  lastTickerId = NaN;
  /** The top of book: from the newer of the last bookTicker and the book (by update id). */
  hasTop = false;
  topBid = NaN;
  topBidSize = NaN;
  topAsk = NaN;
  topAskSize = NaN;
  /** Update id of the top; -Infinity when it came from a bookTicker without one, or before any. */
  topId = -Infinity;
  /** The stale period in progress, if any. */
  stale: StalePeriod | undefined = undefined;
  constructor(readonly id: number, readonly symbol: string) {}
}

/**
 * What the readers of one replay carry from one file to the next: each symbol's state (its order book, the last
 * trade and bookTicker ids, the top of book). A capture split into files (hourly, or at a restart of the recorder
 * that kept its connection) then replays as the whole: the second file's diffs continue the book the first built,
 * checked by their sequence numbers as within one file, instead of waiting for a snapshot of their own. Give every
 * reader of the replay the same session (and the same registry and market); read the files in time order.
 */
export class BinanceSession {
  /** symbol -> its state. */
  readonly instruments = new Map<string, Instrument>();
  /**
   * The last line's receive time in the file before (T_SEC, T_NSEC, T_LO, T_HI; T_SEC -1 before any): a line
   * without a time of its own at the start of the next file (a bare snapshot) is timed by it, not by 0.
   */
  readonly time = Float64Array.of(-1, 0, 0, 0);
}

/**
 * A streaming reader of one Binance capture file (gzip or plain): `for await (const batch of reader)` yields
 * EventBatch chunks; `stats` counts events, books, skipped messages and malformed lines as it goes.
 */
export class BinanceReader implements AsyncIterable<EventBatch> {
  readonly path: string;
  readonly registry: Registry;
  readonly stats: BinanceStats;
  readonly #batchSize: number;
  readonly #market: string | undefined;
  readonly #parser: MessageParser | undefined;
  readonly #scanner = sharedScanner();
  #fallbacks = 0;
  readonly #reuse: boolean;
  readonly #bookOptions: BookOptions | undefined;
  readonly #msg: ParsedMessage = newParsedMessage();
  /** symbol -> instrument, so that naming costs one map lookup per message (none for a run of one symbol). */
  readonly #instruments: Map<string, Instrument>;
  readonly #session: BinanceSession | undefined;
  #lastSymbol = '';
  #lastInstrument: Instrument | undefined;
  /** A snapshot seen before any instrument had a book, waiting for the first depth diff to claim it. */
  #pendingBook: OrderBook | undefined;
  #pendingLine = 0;

  // The batch being filled, and its columns.
  #batch: EventBatch;
  #ts32!: Uint32Array;
  #ids!: Uint32Array;
  #kinds!: Uint32Array;
  #f0!: Float64Array;
  #f1!: Float64Array;
  #f2!: Float64Array;
  #f3!: Float64Array;
  #f4!: Float64Array;
  #f5!: Float64Array;

  // The current line: its number and receive time.
  #lineNo = 0;
  readonly #time = new ReceiveTime();
  /**
   * Times, in one Float64Array rather than fields (see T_*): the low half of an i64 passes 2^31, and a field that
   * turns from small integer to double gives the class a new hidden class (see ladder.ts, KEEP_ALIVE).
   */
  readonly #t = Float64Array.of(0, 0, 0, 0, -1, 0, -1, 0, -1, 0);

  constructor(path: string, opts: BinanceOptions = {}) {
    const batchSize = opts.batchSize ?? 4096;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    this.path = path;
    this.registry = opts.registry ?? new Registry();
    this.#batchSize = batchSize;
    this.#market = opts.market;
    this.#parser = opts.parser;
    this.#reuse = opts.reuseBatch ?? true;
    this.#bookOptions = opts.book === false ? undefined : opts.book === true || opts.book === undefined ? {} : opts.book;
    if (this.#bookOptions) new OrderBook('', { ...this.#bookOptions, wasm: false }); // check the options now, not at the first diff
    this.stats = {
      lines: 0, events: { trade: 0, quote: 0, mark: 0 }, messages: { trade: 0, aggTrade: 0, bookTicker: 0, depth: 0, snapshot: 0, markPrice: 0 }, bareSnapshots: 0,
      quotes: { fromTicker: 0, fromBook: 0, withDepth: 0, superseded: 0 }, skipped: {}, malformed: {}, outOfOrder: {}, bookGaps: 0,
      books: {}, unattributedSnapshots: undefined, parserFallbacks: 0,
      firstTsNs: undefined, lastTsNs: undefined, gzip: false, bytesRead: 0,
    };
    this.#batch = this.#startBatch(new EventBatch(batchSize));
    this.#session = opts.session;
    this.#instruments = opts.session?.instruments ?? new Map<string, Instrument>();
    // Books carried from an earlier file of the session: they take blocks of the WebAssembly module again (released
    // at the end of that file), and their statistics go on counting here, cumulative (the line numbers in them are
    // those of the file they happened in); each reader keeps a copy as they were at its end.
    for (const inst of this.#instruments.values()) {
      if (!inst.book) continue;
      inst.book.adopt();
      this.stats.books[inst.symbol] = inst.book.stats;
    }
    const st = opts.session?.time;
    if (st !== undefined && st[0] >= 0) {
      this.#t[T_SEC] = this.#time.sec = st[0];
      this.#t[T_NSEC] = this.#time.nsec = st[1];
      this.#t[T_LO] = st[2];
      this.#t[T_HI] = st[3];
    }
  }

  /** The instrument id of a symbol, registering its name on first sight. */
  instrument(symbol: string): number {
    return this.#instrument(symbol).id;
  }

  /** The order book of a symbol (undefined before its first depth diff or snapshot). */
  book(symbol: string): OrderBook | undefined {
    return this.#instruments.get(symbol)?.book;
  }

  #instrument(symbol: string): Instrument {
    if (symbol === this.#lastSymbol && this.#lastInstrument) return this.#lastInstrument;
    let inst = this.#instruments.get(symbol);
    if (inst === undefined) {
      inst = new Instrument(this.registry.id(this.#market ? `${this.#market}:${symbol}` : symbol), symbol);
      this.#instruments.set(symbol, inst);
    }
    this.#lastSymbol = symbol;
    this.#lastInstrument = inst;
    return inst;
  }

  #bookOf(inst: Instrument): OrderBook {
    if (inst.book) return inst.book;
    let book: OrderBook;
    if (this.#pendingBook) {
      // The snapshot that came before any book was named: this is the first book, so it is this one's.
      book = this.#pendingBook;
      book.symbol = inst.symbol;
      book.stats.symbol = inst.symbol;
      this.#pendingBook = undefined;
    } else {
      book = new OrderBook(inst.symbol, this.#bookOptions);
    }
    inst.book = book;
    this.stats.books[inst.symbol] = book.stats;
    return book;
  }

  #count(into: Partial<Record<string, MalformedCount>>, key: string, line: number, detail: string): void {
    let m = into[key];
    if (!m) m = into[key] = { count: 0, lines: [], example: `line ${line}: ${detail}` };
    m.count++;
    if (m.lines.length < FIRST_LINES_KEPT) m.lines.push(line);
  }

  #startBatch(batch: EventBatch): EventBatch {
    batch.clear();
    const cap = batch.capacity;
    this.#ts32 = new Uint32Array(batch.tsNs.buffer, batch.tsNs.byteOffset, 2 * cap);
    // Every event asks the engine to number it (-1: all bits set); the engine writes numbers back into a batch.
    new Uint32Array(batch.seq.buffer, batch.seq.byteOffset, 2 * cap).fill(0xffffffff);
    this.#ids = batch.instrument;
    this.#kinds = batch.kind;
    [this.#f0, this.#f1, this.#f2, this.#f3, this.#f4, this.#f5] = batch.f;
    return batch;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<EventBatch> {
    const stats = this.stats;
    const input = new ByteChunks(this.path);
    const split = new LineSplitter();
    const size = this.#batchSize;
    // A region of the scanner's WebAssembly memory for this reader's chunks, so that its lines are scanned in place
    // (one copy a chunk instead of one a line); none when the scanner is not used or has no region free.
    const scanner = this.#scanner;
    const region = this.#parser ? -1 : scanner.acquireInput();
    try {
      for await (const chunk of input) {
        stats.gzip = input.gzip;
        split.push(region >= 0 && chunk.length <= INPUT_BYTES ? scanner.loadInput(region, chunk) : chunk);
        while (split.next()) {
          this.#line(split.bytes, split.start, split.end);
          if (this.#batch.length === size) {
            this.#syncStats(input);
            yield this.#batch;
            this.#batch = this.#startBatch(this.#reuse ? this.#batch : new EventBatch(size));
          }
        }
        this.#syncStats(input);
      }
    } finally {
      scanner.releaseInput(region);
      // The books' blocks go back to the WebAssembly module for the next file's books; these carry on in TypeScript.
      for (const inst of this.#instruments.values()) inst.book?.release();
      this.#pendingBook?.release();
    }
    if (input.damage) {
      this.#count(stats.malformed, input.damage, this.#lineNo + 1, `gzip input ends early (${input.damageMessage}); the cut-off line is dropped`);
    } else if (split.finish()) {
      this.#line(split.bytes, split.start, split.end);
    }
    if (this.#pendingBook) this.#unattributed(this.#pendingLine, 'no depth diff ever claimed it');
    this.#syncStats(input);
    const session = this.#session;
    if (session !== undefined) {
      // What the next file of the session starts from: the last line's time, and the books as this file left them.
      if (this.#lineNo > 0) session.time.set([this.#t[T_SEC], this.#t[T_NSEC], this.#t[T_LO], this.#t[T_HI]]);
      for (const inst of this.#instruments.values()) if (inst.book) this.stats.books[inst.symbol] = structuredClone(inst.book.stats);
    }
    if (this.#batch.length > 0) yield this.#batch;
  }

  #syncStats(input: ByteChunks): void {
    const stats = this.stats;
    stats.lines = this.#lineNo;
    stats.gzip = input.gzip;
    stats.bytesRead = input.bytesRead;
    stats.parserFallbacks = this.#fallbacks;
    if (this.#t[T_FIRST_SEC] >= 0 && stats.firstTsNs === undefined) stats.firstTsNs = toNs(this.#t[T_FIRST_SEC], this.#t[T_FIRST_NSEC]);
    if (this.#t[T_LAST_SEC] >= 0) stats.lastTsNs = toNs(this.#t[T_LAST_SEC], this.#t[T_LAST_NSEC]);
  }

  /** One line, bytes[start, end): at most one event. */
  #line(bytes: Buffer, start: number, end: number): void {
    const lineNo = ++this.#lineNo;
    const time = this.#time;
    const msg = this.#msg;
    let kind: number;
    if (this.#parser) {
      const space = scanReceiveTime(bytes, start, end, time);
      time.halves = false;
      kind = space < 0 ? space : this.#parser(bytes.toString('utf8', start, end), space - start + 1, msg);
    } else {
      // The receive time and the message in one call (one WebAssembly call for a line in the scanner's memory).
      kind = this.#scanner.parseLine(bytes, start, end, msg, time);
      if (kind >= 0 && this.#scanner.fellBack) this.#fallbacks++;
    }
    if (kind === TIME_BLANK) return;
    let bare = false;
    if (kind === TIME_BAD && isBareSnapshot(bytes, start, end)) {
      // A REST snapshot written without a receive time (recorders that fetch it before opening the stream do):
      // read as a snapshot, at the time of the line before it (it makes no event of its own).
      if (this.#parser) kind = this.#parser(bytes.toString('utf8', start, end), 0, msg);
      else {
        kind = this.#scanner.parse(bytes, start, end, msg);
        if (this.#scanner.fellBack) this.#fallbacks++;
      }
      if (kind === MSG_SNAPSHOT) { this.stats.bareSnapshots++; bare = true; }
    }
    if (kind === TIME_BAD) {
      const text = bytes.toString('utf8', start, Math.min(end, start + 160)).slice(0, 40);
      this.#count(this.stats.malformed, 'badTimestamp', lineNo, `expected "<receive ns> <json>", got ${JSON.stringify(text)}`);
      return;
    }
    if (kind === MSG_SKIP) {
      this.stats.skipped[msg.what] = (this.stats.skipped[msg.what] ?? 0) + 1;
      return;
    }
    if (kind !== MSG_TRADE && kind !== MSG_QUOTE && kind !== MSG_DEPTH && kind !== MSG_SNAPSHOT && kind !== MSG_MARK) {
      this.#count(this.stats.malformed, msg.what, lineNo, msg.detail);
      return;
    }
    // A bare snapshot has no receive time: it keeps the line before's (the time the #t halves still hold).
    if (!bare) this.#order();
    if (kind === MSG_QUOTE) this.#ticker(msg);
    else if (kind === MSG_TRADE) this.#trade(msg);
    else if (kind === MSG_MARK) this.#mark(msg);
    else if (!this.#bookOptions) this.stats.skipped[msg.what] = (this.stats.skipped[msg.what] ?? 0) + 1;
    else if (kind === MSG_DEPTH) this.#depth(msg);
    else this.#snapshot(msg);
  }

  /** Keep receive times monotonic (counting lines that go back), and set the i64 halves of the line's time. */
  #order(): void {
    const time = this.#time;
    let sec = time.sec, nsec = time.nsec;
    this.#t[T_SEC] = sec;
    this.#t[T_NSEC] = nsec;
    if (sec < this.#t[T_MAX_SEC] || (sec === this.#t[T_MAX_SEC] && nsec < this.#t[T_MAX_NSEC])) {
      this.#count(this.stats.outOfOrder, 'receiveTime', this.#lineNo, `received at ${toNs(sec, nsec)} ns, before an earlier line's ${toNs(this.#t[T_MAX_SEC], this.#t[T_MAX_NSEC])} ns; given that time`);
      sec = this.#t[T_SEC] = this.#t[T_MAX_SEC];
      nsec = this.#t[T_NSEC] = this.#t[T_MAX_NSEC];
    } else {
      this.#t[T_MAX_SEC] = sec;
      this.#t[T_MAX_NSEC] = nsec;
      if (time.halves) {
        // The scanner read the i64's halves with the time.
        this.#t[T_LO] = time.lo;
        this.#t[T_HI] = time.hi;
        return;
      }
    }
    // ns = sec * 1e9 + nsec exceeds 2^53: assemble it in 32-bit halves with exact double arithmetic.
    // sec = hi16 * 2^16 + lo16, so ns = (hi16 * 1e9) * 2^16 + (lo16 * 1e9 + nsec), each product below 2^53.
    const hi16 = Math.floor(sec / TWO_16);
    const low = (sec - hi16 * TWO_16) * 1e9 + nsec;
    const high = hi16 * 1e9;
    const q = Math.floor(high / TWO_16);
    const sum = (high - q * TWO_16) * TWO_16 + low;
    const lo = sum % TWO_32;
    this.#t[T_LO] = lo;
    this.#t[T_HI] = q + (sum - lo) / TWO_32;
  }

  #emit(kind: number, id: number, f0: number, f1: number, f2: number, f3: number, f4: number, f5: number): void {
    const i = this.#batch.length++;
    this.#ts32[2 * i] = this.#t[T_LO];
    this.#ts32[2 * i + 1] = this.#t[T_HI];
    this.#ids[i] = id;
    this.#kinds[i] = kind;
    this.#f0[i] = f0; this.#f1[i] = f1; this.#f2[i] = f2; this.#f3[i] = f3; this.#f4[i] = f4; this.#f5[i] = f5;
    if (this.#t[T_FIRST_SEC] < 0) { this.#t[T_FIRST_SEC] = this.#t[T_SEC]; this.#t[T_FIRST_NSEC] = this.#t[T_NSEC]; }
    this.#t[T_LAST_SEC] = this.#t[T_SEC];
    this.#t[T_LAST_NSEC] = this.#t[T_NSEC];
  }

  #trade(msg: ParsedMessage): void {
    const inst = this.#instrument(msg.symbol);
    // One trade stream per instrument: `trade` when the capture has it (every fill), else `aggTrade` (the fills of one
    // taker order at one price, summed). An aggTrade after the instrument's first trade is skipped (the same fills
    // again); the first trade after aggTrades switches the instrument to trades, and its ids to theirs.
    const stream = msg.aggregate === 1 ? 1 : 2;
    if (stream !== inst.tradeStream) {
      if (stream < inst.tradeStream) {
        // Counted in skipped.aggTrade: the only aggTrades skipped (the others are trades).
        this.stats.skipped.aggTrade = (this.stats.skipped.aggTrade ?? 0) + 1;
        return;
      }
      inst.tradeStream = stream;
      inst.lastTradeId = NaN;
    }
    const t = msg.tradeId;
    if (t <= inst.lastTradeId) this.#count(this.stats.outOfOrder, 'tradeId', this.#lineNo, `trade id ${t} after ${inst.lastTradeId} (${inst.symbol})`);
    else if (t === t) inst.lastTradeId = t;
    this.#emit(Kind.trade, inst.id, msg.price, msg.size, msg.side, NaN, NaN, NaN);
    if (stream === 1) this.stats.messages.aggTrade++; else this.stats.messages.trade++;
    this.stats.events.trade++;
  }

  /** A markPrice message: a mark event, index and funding NaN when the message has none. */
  #mark(msg: ParsedMessage): void {
    const inst = this.#instrument(msg.symbol);
    this.#emit(Kind.mark, inst.id, msg.mark, msg.index, msg.funding, NaN, NaN, NaN);
    this.stats.messages.markPrice++;
    this.stats.events.mark++;
  }

  #ticker(msg: ParsedMessage): void {
    const inst = this.#instrument(msg.symbol);
    const u = msg.updateId;
    if (u < inst.lastTickerId) this.#count(this.stats.outOfOrder, 'tickerId', this.#lineNo, `bookTicker update id ${u} after ${inst.lastTickerId} (${inst.symbol})`);
    else if (u === u) inst.lastTickerId = u;
    // Newer than (or as new as) the top we have, or without an id to tell: it is the top now.
    if (!(u < inst.topId)) {
      inst.hasTop = true;
      inst.topBid = msg.bid;
      inst.topBidSize = msg.bidSize;
      inst.topAsk = msg.ask;
      inst.topAskSize = msg.askSize;
      inst.topId = u === u ? u : -Infinity;
    } else {
      this.stats.quotes.superseded++;
    }
    this.stats.messages.bookTicker++;
    this.#quote(inst, false);
  }

  /** A quote of the instrument's top, with its book's depth when the book is live. */
  #quote(inst: Instrument, fromBook: boolean): void {
    const book = inst.book;
    let bidDepth = NaN, askDepth = NaN;
    if (book !== undefined && book.live) {
      bidDepth = book.bidDepth;
      askDepth = book.askDepth;
      if (bidDepth === bidDepth) this.stats.quotes.withDepth++;
    }
    this.#emit(Kind.quote, inst.id, inst.topBid, inst.topBidSize, inst.topAsk, inst.topAskSize, bidDepth, askDepth);
    this.stats.events.quote++;
    if (fromBook) this.stats.quotes.fromBook++; else this.stats.quotes.fromTicker++;
  }

  /** The live book changed: it gives the top when newer than the last bookTicker, and a quote is due. */
  #bookChanged(inst: Instrument, book: OrderBook): void {
    if (inst.stale) {
      inst.stale.toLine = this.#lineNo;
      inst.stale.toNs = toNs(this.#t[T_SEC], this.#t[T_NSEC]);
      inst.stale = undefined;
    }
    if (book.updateId > inst.topId && !book.crossed && book.bestBid === book.bestBid) {
      inst.hasTop = true;
      inst.topBid = book.bestBid;
      inst.topBidSize = book.bestBidSize;
      inst.topAsk = book.bestAsk;
      inst.topAskSize = book.bestAskSize;
      inst.topId = book.updateId;
    }
    if (inst.hasTop) this.#quote(inst, true);
  }

  #gap(inst: Instrument, book: OrderBook): void {
    this.stats.bookGaps++;
    if (inst.stale === undefined) {
      inst.stale = { fromLine: this.#lineNo, fromNs: toNs(this.#t[T_SEC], this.#t[T_NSEC]), toLine: undefined, toNs: undefined };
      if (book.stats.stale.length < GAPS_KEPT) book.stats.stale.push(inst.stale);
    }
  }

  #depth(msg: ParsedMessage): void {
    this.stats.messages.depth++;
    const inst = this.#instrument(msg.symbol);
    const book = this.#bookOf(inst);
    const r = book.applyDiffMessage(msg, this.#lineNo);
    if (r === DIFF_APPLIED) this.#bookChanged(inst, book);
    else if (r === DIFF_GAP) this.#gap(inst, book);
  }

  #snapshot(msg: ParsedMessage): void {
    this.stats.messages.snapshot++;
    let inst: Instrument | undefined;
    if (msg.symbol !== '') {
      inst = this.#instrument(msg.symbol);
    } else {
      const owner = this.#snapshotOwner(msg.updateId);
      if (owner === 'pending') {
        const book = this.#pendingBook ?? new OrderBook('', this.#bookOptions);
        book.applySnapshot(msg.updateId, msg.bids, msg.asks, this.#lineNo);
        if (this.#pendingBook) this.#unattributed(this.#pendingLine, 'a later snapshot replaced it');
        this.#pendingBook = book;
        this.#pendingLine = this.#lineNo;
        return;
      }
      if (owner === undefined) {
        this.#unattributed(this.#lineNo, `snapshot lastUpdateId ${msg.updateId} has no "symbol" and ${this.#instruments.size} instruments could own it`);
        return;
      }
      inst = owner;
    }
    const book = this.#bookOf(inst);
    const r = book.applySnapshot(msg.updateId, msg.bids, msg.asks, this.#lineNo);
    if (r === DIFF_APPLIED) this.#bookChanged(inst, book);
    else if (r === DIFF_GAP) this.#gap(inst, book);
  }

  /**
   * The instrument a snapshot without a symbol belongs to: the one book waiting for a snapshot whose buffered diffs
   * continue it, else the one book waiting, else the one instrument; 'pending' when no instrument is known yet.
   */
  #snapshotOwner(lastUpdateId: number): Instrument | 'pending' | undefined {
    if (this.#instruments.size === 0) return 'pending';
    let waiting: Instrument | undefined, nWaiting = 0, covering: Instrument | undefined, nCovering = 0;
    for (const inst of this.#instruments.values()) {
      const book = inst.book;
      if (book === undefined || book.live || book.state === 'syncing') continue;
      nWaiting++;
      waiting = inst;
      if (book.bufferCovers(lastUpdateId)) { nCovering++; covering = inst; }
    }
    if (nCovering === 1) return covering;
    if (nWaiting === 1) return waiting;
    if (this.#instruments.size === 1) return this.#instruments.values().next().value;
    return undefined;
  }

  #unattributed(line: number, detail: string): void {
    let m = this.stats.unattributedSnapshots;
    if (!m) m = this.stats.unattributedSnapshots = { count: 0, lines: [], example: `line ${line}: ${detail}` };
    m.count++;
    if (m.lines.length < FIRST_LINES_KEPT) m.lines.push(line);
  }
}

function toNs(sec: number, nsec: number): bigint {
  return BigInt(sec) * NS_PER_S + BigInt(nsec);
}

/** Read a whole capture into one stats object, calling `onBatch` per batch: a convenience for tools and tests. */
export async function readBinance(path: string, onBatch: (batch: EventBatch) => void, opts: BinanceOptions = {}): Promise<BinanceStats> {
  const reader = new BinanceReader(path, opts);
  for await (const batch of reader) onBatch(batch);
  return reader.stats;
}

/** A reader and an instrument for the module's lifetime, so that their hidden classes outlive every replay (see
 *  ladder.ts). */
export const KEEP_ALIVE: readonly object[] = [new BinanceReader('', { batchSize: 1 }), new Instrument(0, '')];
