// The fast parser: one pass over a capture line's bytes, for the message shapes Binance sends (trade, bookTicker,
// depth diffs, the REST snapshot, markPrice), with no JSON.parse, no string per field and no object per message. Anything it
// does not fully recognise (an escape in a string, a number where a string was expected, a key given twice, a
// nested value under an unknown key, bad syntax) goes to parseJsonMessage, which then decides exactly as if the
// scanner did not exist: the two agree on every line, and test/shared/binance-parse.test.ts holds them to it over
// every line of the three captures.
//
// Being sure means checking all of the JSON, not only the fields read: a line cut in half must not pass as a
// message. So the scanner validates the whole object (strings, numbers by JSON's grammar, literals, nesting, the
// end of the line) and hands over to JSON.parse at the first thing it is not certain of.
//
// Numbers: a decimal string of at most 15-16 digits is read as an integer mantissa m and a count of decimals k;
// m / 10^k is then the correctly rounded double of the decimal (both operands are exact and IEEE division rounds
// once), the same double JSON.parse + unary plus give. Longer ones go to the fallback.
import { BinanceWasm, LEVEL_CAP, MAX_LINE, sharedBinanceWasm, TIME_PASS } from '../wasm/binance.js';
import {
  isDiffDepthType, isMarkPriceType, Levels, MAX_DECIMALS, MSG_DEPTH, MSG_MARK, MSG_QUOTE, MSG_SKIP, MSG_SNAPSHOT,
  MSG_TRADE, POW10, parseJsonMessage, type ParsedMessage,
} from './binance-message.js';

// Field ids: the keys the classifier reads. Unknown keys are validated and skipped.
const F_STREAM = 0, F_DATA = 1, F_E = 2, F_S = 3, F_P = 4, F_Q = 5, F_M = 6, F_B = 7, F_BSIZE = 8, F_A = 9,
  F_ASIZE = 10, F_U = 11, F_FIRST = 12, F_PU = 13, F_T = 14, F_LAST_ID = 15, F_BIDS = 16, F_ASKS = 17, F_SYMBOL = 18,
  F_I = 19, F_R = 20;
const NF = 21;
/** Frames: the top-level object, and the "data" object of a combined-stream message. */
const TOP = 0, DATA = NF;

// Value kinds.
const V_STRING = 1, V_INT = 2, V_NUMBER = 3, V_TRUE = 4, V_FALSE = 5, V_NULL = 6, V_ARRAY = 7, V_OBJECT = 8;

const FAIL = -1;

const Q = 34, BACKSLASH = 92, COMMA = 44, COLON = 58, LBRACE = 123, RBRACE = 125, LBRACKET = 91, RBRACKET = 93;
const DOT = 46, MINUS = 45, PLUS = 43, ZERO = 48, NINE = 57, AT = 64;

const TYPE_TRADE = 1, TYPE_TICKER = 2, TYPE_DEPTH = 3, TYPE_OTHER = 4, TYPE_MARK = 5, TYPE_AGG_TRADE = 6;

/** NaN as a float64 load (see #trade). */
const NAN = new Float64Array([NaN]);

/**
 * JSON whitespace: space, tab, newline, carriage return. Every skip tests `byte <= 32` before the table: Binance
 * writes no whitespace, so the test fails at once on the structural byte that follows and the table is not read
 * (parse stage 3-6% faster on the captures).
 */
const WS = new Uint8Array(256);
WS[32] = WS[9] = WS[10] = WS[13] = 1;

/** BinanceWasm instances that serve a scanner. */
const SCANNED = new WeakSet<BinanceWasm>();

/** Strings of symbols and stream types by their bytes, so that a line costs no string allocation once they are known. */
class Interner {
  #table: ({ bytes: Uint8Array; text: string } | undefined)[] = new Array(64).fill(undefined);
  #size = 0;
  /** The last two strings asked for: a capture alternates between a symbol and a stream type, and repeats them. */
  #recent0: { bytes: Uint8Array; text: string } = { bytes: new Uint8Array(0), text: '' };
  #recent1: { bytes: Uint8Array; text: string } = { bytes: new Uint8Array(0), text: '' };

  get(buf: Uint8Array, start: number, end: number): string {
    const len = end - start;
    const r0 = this.#recent0;
    if (r0.bytes.length === len && same(r0.bytes, buf, start, len)) return r0.text;
    const r1 = this.#recent1;
    if (r1.bytes.length === len && same(r1.bytes, buf, start, len)) {
      this.#recent1 = r0;
      this.#recent0 = r1;
      return r1.text;
    }
    const e = this.#lookup(buf, start, end);
    this.#recent1 = r0;
    this.#recent0 = e;
    return e.text;
  }

  #lookup(buf: Uint8Array, start: number, end: number): { bytes: Uint8Array; text: string } {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    const mask = this.#table.length - 1;
    const len = end - start;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = this.#table[slot];
      if (e === undefined) break;
      if (e.bytes.length === len && same(e.bytes, buf, start, len)) return e;
    }
    // Only ASCII reaches here (the scanner hands anything else to the fallback).
    let text = '';
    for (let i = start; i < end; i++) text += String.fromCharCode(buf[i]);
    // A copy: a Buffer's slice() is a view, and the line's bytes may be a scratch buffer that is reused.
    const e = { bytes: Uint8Array.from(buf.subarray(start, end)), text };
    // Bounded: a capture full of distinct garbage symbols must not grow this without end.
    if (this.#size < 4096) this.#insert(e);
    return e;
  }

  #insert(e: { bytes: Uint8Array; text: string }): void {
    if (2 * (this.#size + 1) > this.#table.length) {
      const old = this.#table;
      this.#table = new Array(old.length * 2).fill(undefined);
      for (const e of old) if (e) this.#place(e);
    }
    this.#place(e);
    this.#size++;
  }

  #place(e: { bytes: Uint8Array; text: string }): void {
    let h = 0x811c9dc5;
    for (let i = 0; i < e.bytes.length; i++) h = Math.imul(h ^ e.bytes[i], 0x01000193);
    const mask = this.#table.length - 1;
    let slot = h & mask;
    while (this.#table[slot] !== undefined) slot = (slot + 1) & mask;
    this.#table[slot] = e;
  }
}

// Keeps a leading U+FEFF, as the line reader's StringDecoder does: JSON.parse must see the same text either way.
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The byte scanner: `parse` has the contract of a MessageParser over bytes. It keeps nothing from one line to the
 * next but interned strings, so one instance can serve every reader of a process (sharedScanner()): that is how
 * the reader uses it, because V8 throws away the optimised code of a class whose instance it was specialised on
 * when that instance is collected, and re-optimised it ran the captures 2 to 5 times slower in our measurements
 * (a new scanner per file, then a garbage collection). Parsing is synchronous, so readers never interleave in it.
 */
export class BinanceScanner {
  /** Lines handed to parseJsonMessage: 0 on the captures we know. */
  fallbacks = 0;
  /** Whether the last parse went to parseJsonMessage. */
  fellBack = false;
  /** Lines the WebAssembly fast path accepted (the rest went through the TypeScript scanner, its twin). */
  wasmLines = 0;
  #buf: Uint8Array = Buffer.alloc(0);
  #end = 0;
  #out: ParsedMessage | undefined;
  /**
   * The fast path's facts for the line being classified (#facts true only then): where its stream type starts, the
   * type when it is trade or bookTicker (else 0), and the previous accepted line's symbol when this line's has the
   * same bytes (#lineSymbol: the symbol #symbol returned on this line).
   */
  #facts = false;
  #factTypeFrom = 0;
  #factType = 0;
  #prevSymbol: string | undefined = undefined;
  #lineSymbol: string | undefined = undefined;
  /** The last buffer seen to lie in the fast path's memory, and its offset there. */
  #inModule: Uint8Array | undefined = undefined;
  #inModuleAt = 0;
  /** The fast path's scan_line and its regions, held here (a property of the exports object is a generic load). */
  readonly #scanLine: BinanceWasm['x']['scan_line'] | undefined;
  readonly #scanTimed: BinanceWasm['x']['scan_timed'] | undefined;
  readonly #outAt: number = 0;
  readonly #quotesAt: number = 0;
  /** The fast path (build/binance.wasm), undefined when it is off or not built. */
  readonly #w: BinanceWasm | undefined;
  /**
   * Per (frame, field): the line it was last seen on (a generation), its value kind, span or integer value. With the
   * fast path these are views on its memory, which both it and the twin write.
   */
  readonly #gen: Int32Array;
  readonly #kind: Uint8Array;
  readonly #from: Int32Array;
  readonly #to: Int32Array;
  readonly #int: Float64Array;
  /** A string value read as a plain decimal (-?digits(.digits)?): mantissa (NaN when it is not one), decimals, sign. */
  readonly #mant: Float64Array;
  readonly #dec: Uint8Array;
  readonly #neg: Uint8Array;
  #line = 0;
  /** The (frame, field) slot whose array filled out.bids / out.asks on this line, or -1. */
  #bidsSlot = -1;
  #asksSlot = -1;
  readonly #interner = new Interner();
  /** The last stream type starting with 'd' (interned), and whether it is a diff-depth type. */
  #dType = '';
  #dIsDepth = false;

  /**
   * `wasm: false` runs the TypeScript scanner alone (the twin of the WebAssembly fast path, which is on by default
   * when build/binance.wasm exists); `wasm` an instance to use (sharedScanner() uses the process's, which books share).
   */
  constructor(opts: { wasm?: boolean | BinanceWasm } = {}) {
    const w = (this.#w = opts.wasm === false ? undefined : opts.wasm instanceof BinanceWasm ? opts.wasm : BinanceWasm.create());
    // The per-field records live in the instance and the line generation that marks them in the scanner: a second
    // scanner over the same instance would read the first one's fields as its own.
    if (w !== undefined) {
      if (SCANNED.has(w)) throw new Error('BinanceScanner: this BinanceWasm instance already serves a scanner (one scanner per instance; sharedScanner() shares one)');
      SCANNED.add(w);
    }
    this.#scanLine = w?.x.scan_line;
    this.#scanTimed = w?.x.scan_timed;
    this.#outAt = w ? w.out : 0;
    this.#quotesAt = w ? w.quotes : 0;
    this.#gen = w ? w.gen : new Int32Array(2 * NF);
    this.#kind = w ? w.kind : new Uint8Array(2 * NF);
    this.#from = w ? w.from : new Int32Array(2 * NF);
    this.#to = w ? w.to : new Int32Array(2 * NF);
    this.#int = w ? w.int : new Float64Array(2 * NF);
    this.#mant = w ? w.mant : new Float64Array(2 * NF);
    this.#dec = w ? w.dec : new Uint8Array(2 * NF);
    this.#neg = w ? w.neg : new Uint8Array(2 * NF);
  }

  /** Whether the WebAssembly fast path is on. */
  get wasm(): boolean { return this.#w !== undefined; }

  /**
   * An input region of the fast path's memory for a reader's chunks (-1: none free, or no fast path): a chunk copied
   * there with loadInput() is scanned in place. Release it when the reader is done.
   */
  acquireInput(): number { return this.#w ? this.#w.acquireInput() : -1; }
  releaseInput(r: number): void { this.#w?.releaseInput(r); }
  /** The chunk copied into input region r (from acquireInput), as a Buffer over the fast path's memory. */
  loadInput(r: number, chunk: Uint8Array): Buffer { return this.#w!.loadInput(r, chunk); }

  /**
   * Parse the message in buf[start, end) (the line after its receive time, without the newline) into `out`;
   * returns an MSG_ kind exactly as parseJsonMessage would on the same text.
   */
  parse(buf: Uint8Array, start: number, end: number, out: ParsedMessage): number {
    const w = this.#w;
    if (w !== undefined && end - start <= MAX_LINE) {
      // The fast path: if it takes the line, the slots and levels are the twin's; classify them as the twin does.
      const gen = this.#nextLine();
      let r: number;
      // In the module's memory (a reader's input region): the last such buffer is remembered, since `.buffer` is
      // a call per line where an identity test is not.
      if (buf === this.#inModule || (buf.buffer === w.buffer && this.#remember(buf))) {
        r = this.#scanLine!(this.#inModuleAt, start, end, gen, this.#outAt, LEVEL_CAP, this.#quotesAt);
        this.#buf = buf;
        this.#end = end;
      } else {
        r = w.scanCopy(buf, start, end, gen);
        this.#buf = w.lineBytes;
        this.#end = end - start;
      }
      if (r === 0) return this.#accepted(w, buf, start, end, out);
    }
    return this.#twin(buf, start, end, out);
  }

  /**
   * A whole capture line buf[start, end) (`<receive ns> <json>`): its receive time into `time` (seconds, nanoseconds
   * and the i64's 32-bit halves), then the message into `out` as parse() would. Returns the MSG_ kind, or TIME_BAD or
   * TIME_BLANK as scanReceiveTime would. A line in the fast path's memory has both read there in one call.
   */
  parseLine(buf: Uint8Array, start: number, end: number, out: ParsedMessage, time: ReceiveTime): number {
    const w = this.#w;
    if (w !== undefined && end - start <= MAX_LINE && (buf === this.#inModule || (buf.buffer === w.buffer && this.#remember(buf)))) {
      const gen = this.#nextLine();
      const r = this.#scanTimed!(this.#inModuleAt, start, end, gen, this.#outAt, LEVEL_CAP, this.#quotesAt);
      if (r !== TIME_PASS) {
        const t = w.time, h = w.timeHalves;
        time.sec = t[0];
        time.nsec = t[1];
        time.lo = h[0];
        time.hi = h[1];
        time.halves = true;
        if (r >= 0) {
          this.#buf = buf;
          this.#end = end;
          return this.#accepted(w, buf, r + 1, end, out);
        }
        return this.#twin(buf, -r, end, out); // the time was read; the JSON, from -1 - r + 1, is the twin's
      }
    }
    const space = scanReceiveTime(buf, start, end, time);
    time.halves = false;
    if (space < 0) return space;
    return this.parse(buf, space + 1, end, out);
  }

  /** The fast path took buf[start, end): its slots and levels are the twin's; classify them as the twin does. */
  #accepted(w: BinanceWasm, buf: Uint8Array, start: number, end: number, out: ParsedMessage): number {
    this.wasmLines++;
    this.#out = out;
    const st = w.state;
    this.#bidsSlot = st[0];
    this.#asksSlot = st[1];
    if (this.#bidsSlot !== -1) {
      const l = out.bids;
      if (l.pxMant !== w.bidsPxMant) { l.pxMant = w.bidsPxMant; l.pxDec = w.bidsPxDec; l.qtyMant = w.bidsQtyMant; l.qtyDec = w.bidsQtyDec; }
      l.n = st[2];
    }
    if (this.#asksSlot !== -1) {
      const l = out.asks;
      if (l.pxMant !== w.asksPxMant) { l.pxMant = w.asksPxMant; l.pxDec = w.asksPxDec; l.qtyMant = w.asksQtyMant; l.qtyDec = w.asksQtyDec; }
      l.n = st[3];
    }
    // What the module found for the classifier (lineFacts): used for this line only.
    const f = w.facts;
    this.#factTypeFrom = f[0];
    this.#factType = f[1];
    this.#prevSymbol = f[2] === 1 ? this.#lineSymbol : undefined;
    this.#lineSymbol = undefined;
    this.#facts = true;
    const kind = this.#classify(out);
    this.#facts = false;
    this.#prevSymbol = undefined;
    this.fellBack = kind === FAIL;
    if (kind !== FAIL) return kind;
    this.fallbacks++;
    return parseJsonMessage(textDecoder.decode(buf.subarray(start, end)), 0, out);
  }

  /** The TypeScript scanner on buf[start, end), and JSON.parse after it where it must. */
  #twin(buf: Uint8Array, start: number, end: number, out: ParsedMessage): number {
    // No facts for this line, and none of it for the next.
    this.#prevSymbol = undefined;
    this.#lineSymbol = undefined;
    const kind = this.#scan(buf, start, end, out);
    this.fellBack = kind === FAIL;
    if (kind !== FAIL) return kind;
    this.fallbacks++;
    return parseJsonMessage(textDecoder.decode(buf.subarray(start, end)), 0, out);
  }

  /** The symbol or type string of bytes buf[start, end) (ASCII), interned. */
  intern(buf: Uint8Array, start: number, end: number): string {
    return this.#interner.get(buf, start, end);
  }

  #scan(buf: Uint8Array, start: number, end: number, out: ParsedMessage): number {
    this.#buf = buf;
    this.#end = end;
    this.#out = out;
    this.#nextLine();
    this.#bidsSlot = -1;
    this.#asksSlot = -1;
    let pos = this.#ws(start);
    if (pos >= end || buf[pos] !== LBRACE) return FAIL;
    pos = this.#object(pos, TOP);
    if (pos === FAIL) return FAIL;
    if (this.#ws(pos) !== end) return FAIL;
    return this.#classify(out);
  }

  #remember(buf: Uint8Array): boolean {
    this.#inModule = buf;
    this.#inModuleAt = buf.byteOffset;
    return true;
  }

  /** A new generation marks every field of the previous line as absent without clearing anything. */
  #nextLine(): number {
    this.#line = (this.#line + 1) | 0;
    if (this.#line === 0) { this.#gen.fill(0); this.#line = 1; }
    return this.#line;
  }

  #has(slot: number): boolean { return this.#gen[slot] === this.#line; }
  #kindOf(slot: number): number { return this.#gen[slot] === this.#line ? this.#kind[slot] : 0; }

  #classify(out: ParsedMessage): number {
    let frame: number;
    let type: number;
    let typeFrom = 0, typeTo = 0;
    const buf = this.#buf;
    if (this.#has(TOP + F_STREAM)) {
      if (this.#kindOf(TOP + F_STREAM) !== V_STRING || this.#kindOf(TOP + F_DATA) !== V_OBJECT) return FAIL;
      typeTo = this.#to[TOP + F_STREAM];
      frame = DATA;
      if (this.#facts) {
        // The fast path found the '@' and compared the type with "trade" and "bookTicker".
        typeFrom = this.#factTypeFrom;
        type = this.#factType !== 0 ? this.#factType : this.#typeOf(typeFrom, typeTo);
      } else {
        typeFrom = this.#from[TOP + F_STREAM];
        for (let i = typeFrom; i < typeTo; i++) if (buf[i] === AT) { typeFrom = i + 1; break; }
        type = this.#typeOf(typeFrom, typeTo);
      }
    } else if (this.#has(TOP + F_LAST_ID)) {
      return this.#snapshot(out);
    } else if (this.#kindOf(TOP + F_E) === V_STRING) {
      frame = TOP;
      typeFrom = this.#from[TOP + F_E];
      typeTo = this.#to[TOP + F_E];
      type = this.#typeOf(typeFrom, typeTo);
    } else if (this.#has(TOP + F_U) && this.#has(TOP + F_B) && this.#has(TOP + F_A)) {
      frame = TOP; // a raw spot bookTicker carries no "e"
      type = TYPE_TICKER;
    } else {
      return FAIL;
    }
    if (type === TYPE_TRADE) return this.#trade(frame, out, F_T, 0);
    if (type === TYPE_AGG_TRADE) return this.#trade(frame, out, F_A, 1);
    if (type === TYPE_TICKER) return this.#ticker(frame, out);
    if (type === TYPE_DEPTH) return this.#depth(frame, typeFrom, typeTo, out);
    if (type === TYPE_MARK) return this.#mark(frame, out);
    out.what = this.#interner.get(buf, typeFrom, typeTo);
    return MSG_SKIP;
  }

  /** The stream type in buf[from, to): trade, bookTicker, a diff-depth type, or another. */
  #typeOf(from: number, to: number): number {
    const buf = this.#buf, n = to - from;
    if (n === 5 && buf[from] === 116 /* t */ && buf[from + 1] === 114 && buf[from + 2] === 97 && buf[from + 3] === 100 && buf[from + 4] === 101) return TYPE_TRADE;
    if (n === 10 && buf[from] === 98 /* b */ && buf[from + 4] === 84 /* T */ && equalsAscii(buf, from, 'bookTicker')) return TYPE_TICKER;
    if (n === 8 && buf[from] === 97 /* a */ && equalsAscii(buf, from, 'aggTrade')) return TYPE_AGG_TRADE;
    if (n >= 5 && buf[from] === 100 /* d */) {
      // The type of the last 'd' stream and whether it is a diff-depth type: a capture repeats one.
      const text = this.#interner.get(buf, from, to);
      if (text !== this.#dType) { this.#dType = text; this.#dIsDepth = isDiffDepthType(text); }
      return this.#dIsDepth ? TYPE_DEPTH : TYPE_OTHER;
    }
    if (n >= 9 && buf[from] === 109 /* m */ && isMarkPriceType(this.#interner.get(buf, from, to))) return TYPE_MARK;
    return TYPE_OTHER;
  }

  /** The symbol field "s" of a frame: a non-empty string, or '' (the caller falls back). */
  #symbol(frame: number): string {
    const slot = frame + F_S;
    if (this.#kindOf(slot) !== V_STRING || this.#to[slot] === this.#from[slot]) return '';
    // The same bytes as the previous accepted line's symbol (the fast path compared them): the same interned string.
    const s = this.#prevSymbol ?? this.#interner.get(this.#buf, this.#from[slot], this.#to[slot]);
    // Remembered for the next line only from a line the fast path took: its bytes are the ones the module keeps.
    if (this.#facts) this.#lineSymbol = s;
    return s;
  }

  /** Whether a slot holds a plain decimal string (its value is then #mant / 10^#dec, negated when #neg). */
  #isDecimal(slot: number): boolean {
    return this.#kindOf(slot) === V_STRING && this.#mant[slot] === this.#mant[slot];
  }

  /**
   * Whether an optional id (t, u) is usable: absent or not a number (then NaN) or an exact integer; another number
   * goes to the fallback.
   */
  #idOk(slot: number): boolean {
    return this.#kindOf(slot) !== V_NUMBER;
  }

  // The doubles are computed where they are stored: a double returned from a call that is not inlined is boxed,
  // and four boxes per bookTicker were most of the garbage a replay made. NaN comes from NAN[0] for the same reason:
  // `cond ? float64Array[i] : NaN` boxed its result on every store (the constant made the choice a tagged value).

  /** A trade (id field F_T, aggregate 0) or an aggTrade (id field F_A, the aggregate id; aggregate 1). */
  #trade(frame: number, out: ParsedMessage, idField: number, aggregate: number): number {
    const symbol = this.#symbol(frame);
    if (symbol === '') return FAIL;
    const p = frame + F_P, q = frame + F_Q, t = frame + idField;
    const m = this.#kindOf(frame + F_M);
    if (!this.#isDecimal(p) || !this.#isDecimal(q) || (m !== V_TRUE && m !== V_FALSE) || !this.#idOk(t)) return FAIL;
    const mant = this.#mant, dec = this.#dec, neg = this.#neg;
    out.symbol = symbol;
    out.price = (neg[p] === 1 ? -1 : 1) * (mant[p] / POW10[dec[p]]);
    out.size = (neg[q] === 1 ? -1 : 1) * (mant[q] / POW10[dec[q]]);
    out.side = m === V_TRUE ? -1 : 1;
    out.tradeId = this.#kindOf(t) === V_INT ? this.#int[t] : NAN[0];
    out.aggregate = aggregate;
    return MSG_TRADE;
  }

  #ticker(frame: number, out: ParsedMessage): number {
    const symbol = this.#symbol(frame);
    if (symbol === '') return FAIL;
    const b = frame + F_B, bq = frame + F_BSIZE, a = frame + F_A, aq = frame + F_ASIZE, u = frame + F_U;
    if (!this.#isDecimal(b) || !this.#isDecimal(bq) || !this.#isDecimal(a) || !this.#isDecimal(aq) || !this.#idOk(u)) return FAIL;
    const mant = this.#mant, dec = this.#dec, neg = this.#neg;
    out.symbol = symbol;
    out.bid = (neg[b] === 1 ? -1 : 1) * (mant[b] / POW10[dec[b]]);
    out.bidSize = (neg[bq] === 1 ? -1 : 1) * (mant[bq] / POW10[dec[bq]]);
    out.ask = (neg[a] === 1 ? -1 : 1) * (mant[a] / POW10[dec[a]]);
    out.askSize = (neg[aq] === 1 ? -1 : 1) * (mant[aq] / POW10[dec[aq]]);
    out.updateId = this.#kindOf(u) === V_INT ? this.#int[u] : NAN[0];
    return MSG_QUOTE;
  }

  /**
   * An optional decimal field (i, r) is usable: absent, null, "" (then NaN) or a plain decimal string; anything else
   * goes to the fallback, which reads it or says what is wrong with it.
   */
  #optionalOk(slot: number): boolean {
    const k = this.#kindOf(slot);
    return k === 0 || k === V_NULL || (k === V_STRING && (this.#to[slot] === this.#from[slot] || this.#mant[slot] === this.#mant[slot]));
  }

  #mark(frame: number, out: ParsedMessage): number {
    const symbol = this.#symbol(frame);
    if (symbol === '') return FAIL;
    const p = frame + F_P, i = frame + F_I, r = frame + F_R;
    if (!this.#isDecimal(p) || !this.#optionalOk(i) || !this.#optionalOk(r)) return FAIL;
    const mant = this.#mant, dec = this.#dec, neg = this.#neg;
    out.symbol = symbol;
    out.mark = (neg[p] === 1 ? -1 : 1) * (mant[p] / POW10[dec[p]]);
    out.index = this.#isDecimal(i) ? (neg[i] === 1 ? -1 : 1) * (mant[i] / POW10[dec[i]]) : NAN[0];
    out.funding = this.#isDecimal(r) ? (neg[r] === 1 ? -1 : 1) * (mant[r] / POW10[dec[r]]) : NAN[0];
    return MSG_MARK;
  }

  #depth(frame: number, typeFrom: number, typeTo: number, out: ParsedMessage): number {
    const symbol = this.#symbol(frame);
    if (symbol === '') return FAIL;
    if (this.#kindOf(frame + F_FIRST) !== V_INT || this.#kindOf(frame + F_U) !== V_INT) return FAIL;
    const pu = this.#kindOf(frame + F_PU);
    if (pu !== 0 && pu !== V_NULL && pu !== V_INT) return FAIL;
    if (this.#bidsSlot !== frame + F_B || this.#asksSlot !== frame + F_A) return FAIL;
    out.symbol = symbol;
    out.firstUpdateId = this.#int[frame + F_FIRST];
    out.updateId = this.#int[frame + F_U];
    out.prevUpdateId = pu === V_INT ? this.#int[frame + F_PU] : NAN[0];
    out.what = this.#dType; // #typeOf interned this line's type
    return MSG_DEPTH;
  }

  #snapshot(out: ParsedMessage): number {
    if (this.#kindOf(TOP + F_LAST_ID) !== V_INT) return FAIL;
    if (this.#bidsSlot !== TOP + F_BIDS || this.#asksSlot !== TOP + F_ASKS) return FAIL;
    const sk = this.#kindOf(TOP + F_SYMBOL);
    if (sk !== 0 && sk !== V_STRING) return FAIL;
    out.symbol = sk === V_STRING ? this.#interner.get(this.#buf, this.#from[TOP + F_SYMBOL], this.#to[TOP + F_SYMBOL]) : '';
    out.updateId = this.#int[TOP + F_LAST_ID];
    out.what = 'depthSnapshot';
    return MSG_SNAPSHOT;
  }

  // ---- JSON syntax -------------------------------------------------------------------------------------------

  #ws(pos: number): number {
    const buf = this.#buf, end = this.#end;
    while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
    return pos;
  }

  /**
   * The object at buf[pos] === '{' in a frame; returns the position after its '}', or FAIL. Written as one loop with
   * its scans inline: every byte of a line passes through here once, and a call per token costs more than the token.
   */
  #object(pos: number, frame: number): number {
    const buf = this.#buf, end = this.#end;
    pos++;
    while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
    if (pos < end && buf[pos] === RBRACE) return pos + 1;
    for (;;) {
      if (pos >= end || buf[pos] !== Q) return FAIL;
      const keyFrom = ++pos;
      let c = 0;
      let f: number;
      if (pos + 1 < end && buf[pos + 1] === Q && (c = buf[pos]) >= 32 && c <= 126 && c !== BACKSLASH) {
        // Most of Binance's keys are one letter.
        f = ONE_LETTER_FIELD[c];
        pos += 2;
      } else {
        while (pos < end && (c = buf[pos]) !== Q) {
          if (c === BACKSLASH || c < 32 || c > 126) return FAIL;
          pos++;
        }
        if (pos >= end) return FAIL;
        f = fieldOf(buf, keyFrom, pos);
        pos++;
      }
      while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
      if (pos >= end || buf[pos] !== COLON) return FAIL;
      pos++;
      while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
      if (pos >= end) return FAIL;
      const slot = frame + f;
      // A known key given twice: JSON.parse keeps the last; rather than mimic that, let it decide.
      if (f >= 0 && this.#gen[slot] === this.#line) return FAIL;
      c = buf[pos];
      let kind: number;
      if (c === Q) {
        // A string, read once: where it ends, and whether it is a plain decimal (-?digits(.digits)?) and its value.
        const from = ++pos;
        let m = 0, dot = -1, plain = true;
        for (;;) {
          if (pos >= end) return FAIL;
          c = buf[pos];
          if (c === Q) break;
          if (c >= ZERO && c <= NINE) m = m * 10 + (c - ZERO);
          else if (c === DOT && dot < 0) dot = pos;
          else if (c !== MINUS || pos !== from) {
            // Not a decimal (a symbol, a stream name): only the end matters now.
            plain = false;
            for (;;) {
              if (c === BACKSLASH || c < 32 || c > 126) return FAIL;
              if (++pos >= end) return FAIL;
              c = buf[pos];
              if (c === Q) break;
            }
            break;
          }
          pos++;
        }
        if (f >= 0) {
          this.#from[slot] = from;
          this.#to[slot] = pos;
          const neg = buf[from] === MINUS ? 1 : 0;
          const k = dot < 0 ? 0 : pos - dot - 1;
          // Digits before the dot and after it, at most 22 decimals (10^22 is exact), the mantissa exact: past 2^53
          // the running mantissa rounds, but never back below it, so this test catches every inexact one.
          const ok = plain && (dot < 0 ? pos : dot) - from - neg > 0 && (dot < 0 || k > 0) && k <= 22 && m <= Number.MAX_SAFE_INTEGER;
          this.#mant[slot] = ok ? m : NaN;
          this.#dec[slot] = ok ? k : 0;
          this.#neg[slot] = neg;
        }
        pos++;
        kind = V_STRING;
      } else if (c === LBRACE) {
        if (f !== F_DATA || frame !== TOP) return FAIL;
        pos = this.#object(pos, DATA);
        if (pos === FAIL) return FAIL;
        kind = V_OBJECT;
      } else if (c === LBRACKET) {
        const out = this.#out!;
        if (f === F_B || f === F_BIDS) {
          if (this.#bidsSlot !== -1) return FAIL;
          this.#bidsSlot = slot;
          pos = this.#levels(pos, out.bids);
        } else if (f === F_A || f === F_ASKS) {
          if (this.#asksSlot !== -1) return FAIL;
          this.#asksSlot = slot;
          pos = this.#levels(pos, out.asks);
        } else {
          return FAIL;
        }
        if (pos === FAIL) return FAIL;
        kind = V_ARRAY;
      } else if (c === 116 /* t */) {
        if (!this.#literal(pos, 'true')) return FAIL;
        pos += 4;
        kind = V_TRUE;
      } else if (c === 102 /* f */) {
        if (!this.#literal(pos, 'false')) return FAIL;
        pos += 5;
        kind = V_FALSE;
      } else if (c === 110 /* n */) {
        if (!this.#literal(pos, 'null')) return FAIL;
        pos += 4;
        kind = V_NULL;
      } else {
        // A number by JSON's grammar, read once; a plain non-negative integer (Binance's ids and sequence numbers)
        // is kept when exact.
        let isInt = true;
        if (c === MINUS) {
          isInt = false;
          if (++pos >= end) return FAIL;
          c = buf[pos];
        }
        let v = 0;
        if (c === ZERO) {
          pos++;
        } else if (c > ZERO && c <= NINE) {
          while (pos < end && (c = buf[pos]) >= ZERO && c <= NINE) { v = v * 10 + (c - ZERO); pos++; }
        } else {
          return FAIL;
        }
        if (pos < end && buf[pos] === DOT) {
          isInt = false;
          const from = ++pos;
          while (pos < end && (c = buf[pos]) >= ZERO && c <= NINE) pos++;
          if (pos === from) return FAIL;
        }
        if (pos < end && ((c = buf[pos]) === 101 || c === 69)) {
          isInt = false;
          pos++;
          if (pos < end && ((c = buf[pos]) === PLUS || c === MINUS)) pos++;
          const from = pos;
          while (pos < end && (c = buf[pos]) >= ZERO && c <= NINE) pos++;
          if (pos === from) return FAIL;
        }
        kind = V_NUMBER;
        if (f >= 0 && isInt && v <= Number.MAX_SAFE_INTEGER) { this.#int[slot] = v; kind = V_INT; }
      }
      if (f >= 0) { this.#gen[slot] = this.#line; this.#kind[slot] = kind; }
      while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
      if (pos >= end) return FAIL;
      c = buf[pos];
      if (c === COMMA) {
        pos++;
        while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
        continue;
      }
      if (c === RBRACE) return pos + 1;
      return FAIL;
    }
  }

  #literal(pos: number, word: string): boolean {
    if (pos + word.length > this.#end) return false;
    for (let i = 0; i < word.length; i++) if (this.#buf[pos + i] !== word.charCodeAt(i)) return false;
    return true;
  }

  /**
   * A levels array [["price","size"], ...] at buf[pos] === '[' into `into`; position after its ']', or FAIL. Prices
   * and sizes must be plain decimals (digits, an optional fraction, at most MAX_DECIMALS decimals, mantissa exact),
   * read in the same pass that checks the syntax. The bulk of a depth message: one tight loop, no calls.
   */
  #levels(pos: number, into: Levels): number {
    const buf = this.#buf, end = this.#end;
    let pm = into.pxMant, pd = into.pxDec, qm = into.qtyMant, qd = into.qtyDec;
    let n = 0;
    into.n = 0;
    pos++;
    while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
    if (pos < end && buf[pos] === RBRACKET) return pos + 1;
    for (;;) {
      if (pos >= end || buf[pos] !== LBRACKET) return FAIL;
      pos++;
      while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
      // price
      if (pos >= end || buf[pos] !== Q) return FAIL;
      let from = ++pos, m = 0, c = 0;
      while (pos < end && (c = buf[pos]) >= ZERO && c <= NINE) { m = m * 10 + (c - ZERO); pos++; }
      if (pos === from) return FAIL;
      let k = 0;
      if (c === DOT) {
        const f = ++pos;
        while (pos < end && (c = buf[pos]) >= ZERO && c <= NINE) { m = m * 10 + (c - ZERO); pos++; }
        k = pos - f;
        if (k === 0) return FAIL;
      }
      if (pos >= end || c !== Q || k > MAX_DECIMALS || m > Number.MAX_SAFE_INTEGER) return FAIL;
      const price = m, priceDec = k;
      pos++;
      while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
      if (pos >= end || buf[pos] !== COMMA) return FAIL;
      pos++;
      while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
      // size
      if (pos >= end || buf[pos] !== Q) return FAIL;
      from = ++pos;
      m = 0;
      while (pos < end && (c = buf[pos]) >= ZERO && c <= NINE) { m = m * 10 + (c - ZERO); pos++; }
      if (pos === from) return FAIL;
      k = 0;
      if (c === DOT) {
        const f = ++pos;
        while (pos < end && (c = buf[pos]) >= ZERO && c <= NINE) { m = m * 10 + (c - ZERO); pos++; }
        k = pos - f;
        if (k === 0) return FAIL;
      }
      if (pos >= end || c !== Q || k > MAX_DECIMALS || m > Number.MAX_SAFE_INTEGER) return FAIL;
      pos++;
      while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
      if (pos >= end || buf[pos] !== RBRACKET) return FAIL;
      pos++;
      if (n === pm.length) {
        into.n = n;
        into.grow();
        pm = into.pxMant; pd = into.pxDec; qm = into.qtyMant; qd = into.qtyDec;
      }
      pm[n] = price; pd[n] = priceDec; qm[n] = m; qd[n] = k;
      n++;
      while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
      if (pos >= end) return FAIL;
      c = buf[pos];
      if (c === COMMA) {
        pos++;
        while (pos < end && buf[pos] <= 32 && WS[buf[pos]] === 1) pos++;
        continue;
      }
      if (c === RBRACKET) { into.n = n; return pos + 1; }
      return FAIL;
    }
  }
}

function same(a: Uint8Array, buf: Uint8Array, start: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

function equalsAscii(buf: Uint8Array, from: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (buf[from + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Field ids of the one-letter keys, by byte; -1 for the rest. */
const ONE_LETTER_FIELD = new Int8Array(256).fill(-1);
for (const [letter, f] of [['e', F_E], ['s', F_S], ['p', F_P], ['q', F_Q], ['m', F_M], ['b', F_B], ['B', F_BSIZE], ['a', F_A],
  ['A', F_ASIZE], ['u', F_U], ['U', F_FIRST], ['t', F_T], ['i', F_I], ['r', F_R]] as const) ONE_LETTER_FIELD[letter.charCodeAt(0)] = f;

/** The field id of the key in buf[from, to), or -1 for a key the classifier does not read. */
function fieldOf(buf: Uint8Array, from: number, to: number): number {
  const n = to - from;
  const c = buf[from];
  if (n === 1) {
    switch (c) {
      case 101: return F_E;      // e
      case 115: return F_S;      // s
      case 112: return F_P;      // p
      case 113: return F_Q;      // q
      case 109: return F_M;      // m
      case 98: return F_B;       // b
      case 66: return F_BSIZE;   // B
      case 97: return F_A;       // a
      case 65: return F_ASIZE;   // A
      case 117: return F_U;      // u
      case 85: return F_FIRST;   // U
      case 116: return F_T;      // t
      case 105: return F_I;      // i
      case 114: return F_R;      // r
      default: return -1;
    }
  }
  if (n === 2) return c === 112 && buf[from + 1] === 117 ? F_PU : -1; // pu
  if (n === 4) {
    if (equalsAscii(buf, from, 'data')) return F_DATA;
    if (equalsAscii(buf, from, 'bids')) return F_BIDS;
    if (equalsAscii(buf, from, 'asks')) return F_ASKS;
    return -1;
  }
  if (n === 6) {
    if (equalsAscii(buf, from, 'stream')) return F_STREAM;
    if (equalsAscii(buf, from, 'symbol')) return F_SYMBOL;
    return -1;
  }
  if (n === 12 && equalsAscii(buf, from, 'lastUpdateId')) return F_LAST_ID;
  return -1;
}

let shared: BinanceScanner | undefined;

/** The process's scanner, shared by every reader (see BinanceScanner). */
export function sharedScanner(): BinanceScanner {
  return (shared ??= new BinanceScanner({ wasm: sharedBinanceWasm() ?? false }));
}

// ---- The receive time -------------------------------------------------------------------------------------------

/** i64 max as seconds and nanoseconds: 9,223,372,036 s + 854,775,807 ns. */
const MAX_SEC = 9_223_372_036;
const MAX_SEC_NS = 854_775_807;
export const TIME_BAD = -1;
export const TIME_BLANK = -2;

/** A receive time as whole seconds and nanoseconds: both exact in doubles, where the ns count is not. */
export class ReceiveTime {
  sec = 0;
  nsec = 0;
  /** The i64 nanoseconds' low and high 32 bits, when `halves` (BinanceScanner.parseLine's fast path sets them). */
  lo = 0.5;
  hi = 0;
  halves = false;
}

/**
 * Digits of a receive time after the whole seconds, by its length: recorders write ns since the epoch (19 digits
 * today), but some write us (16), ms (13) or s (10); a time of that length read as ns would be in 1970. Any other
 * length is ns (as every length was before), so that small test times keep their meaning.
 */
export function fractionDigits(digits: number): number {
  return digits === 13 ? 3 : digits === 16 ? 6 : digits === 10 ? 0 : 9;
}

/**
 * The receive-time prefix of a capture line bytes[start, end): 1 to 19 digits, then a space, ns since the epoch, or
 * s, ms or us when it has 10, 13 or 16 digits (fractionDigits). Leaves the time in `out` and returns the space's
 * position; TIME_BAD when there is no such prefix or it exceeds an i64 of ns; TIME_BLANK for an empty line or one of
 * only tabs and carriage returns (a line with a space in it is never blank, as for the string reader before).
 */
export function scanReceiveTime(bytes: Uint8Array, start: number, end: number, out: ReceiveTime): number {
  let i = start;
  for (; i < end; i++) {
    const c = bytes[i];
    if (c < ZERO || c > NINE) break;
  }
  const digits = i - start;
  if (i < end && bytes[i] === 32 && digits >= 1 && digits <= 19) {
    // Seconds are the digits before the fraction's, the fraction scaled to nanoseconds.
    const frac = fractionDigits(digits);
    const split = Math.max(start, i - frac);
    let sec = 0, nsec = 0;
    for (let j = start; j < split; j++) sec = sec * 10 + (bytes[j] - ZERO);
    for (let j = split; j < i; j++) nsec = nsec * 10 + (bytes[j] - ZERO);
    nsec *= POW10[9 - frac];
    if (sec > MAX_SEC || (sec === MAX_SEC && nsec > MAX_SEC_NS)) return TIME_BAD;
    out.sec = sec;
    out.nsec = nsec;
    return i;
  }
  if (digits === 0) {
    for (let j = start; j < end; j++) {
      const c = bytes[j];
      if (c !== 9 && c !== 13) return TIME_BAD;
    }
    return TIME_BLANK;
  }
  return TIME_BAD;
}
