// Host side of the Binance replay's WebAssembly module (build/binance.wasm, from assembly/binance-kernel.ts: the
// scanner's fast path and the book's window kernels): one instance over a memory of fixed size (it never grows, so
// typed-array views on it stay valid), laid out as
//
//   [0, 64 KiB)          the module's constants
//   out block            the scanner's slots and two sides of levels (assembly/binance-scan.ts has the layout)
//   quote list           i32 per quote of the line being scanned
//   line scratch         a line from outside this memory, copied in to be scanned
//   input regions        INPUT_REGIONS chunks of a capture, one per reader that holds one (acquireInput)
//   derive block         what book_derive leaves for the book (11 f64 and the flags)
//   side blocks          SIDE_BLOCKS windows of book sides (BookSide's layout), lent to books (acquireSide)
//
// Every region is followed by PAD bytes of zeros: the module reads up to 32 bytes past a line's end, and a zero byte
// there ends any run it follows. The OS commits a page only when it is touched: an unused side block costs address
// space, not memory. BinanceScanner (src/adapters/binance-scan.ts) and OrderBook (src/adapters/book.ts) use it;
// their twins are their own TypeScript paths.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { DEFAULT_WINDOW_SLOTS, sideBlockBytes } from '../adapters/book-side.js';

export type BinanceBuild = 'release' | 'debug';

export interface BinanceExports {
  scan_line(p: number, start: number, end: number, gen: number, out: number, cap: number, qp: number): number;
  scan_timed(p: number, start: number, end: number, gen: number, out: number, cap: number, qp: number): number;
  scan_layout(k: number): number;
  scan_heap_base(): number;
  side_apply(s: number, pm: number, pd: number, qm: number, qd: number, from: number, end: number, sign: number, pxDec: number, qtyDec: number): number;
  book_derive(bids: number, asks: number, depthLevels: number, bandBelow: number, bandAbove: number, px: number, qty: number, out: number): number;
}

/** Side blocks of DEFAULT_WINDOW_SLOTS the module lends to books: 16 books (a book past them keeps its sides in TypeScript). */
export const SIDE_BLOCKS = 32;
/** book_derive's flags (assembly/book-window.ts). */
export const D_EMPTY = 1, D_CROSSED = 2, D_BID_BEST_TAIL = 4, D_ASK_BEST_TAIL = 8, D_BID_BAND_TAIL = 16, D_ASK_BAND_TAIL = 32;

/** Output block offsets: assembly/binance-scan.ts's O_* (checked against scan_layout at load). */
export const O_GEN = 0, O_FROM = 168, O_TO = 336, O_INT = 504, O_MANT = 840, O_KIND = 1176, O_DEC = 1218, O_NEG = 1260;
export const O_BIDS_SLOT = 1304, O_TIME = 1320, O_FACTS = 1344, O_LEVELS = 1408;
/** scan_timed's answer when the receive time is not of its form. */
export const TIME_PASS = -2147483648;
/** Slots: (frame, field) pairs, 2 x 21. */
export const SLOTS = 42;
/** Levels a side of one line may hold; a line of MAX_LINE bytes has fewer (a level takes at least 9 bytes). */
export const LEVEL_CAP = 32_768;
/** The longest line the module is given; longer ones go to the twin. */
export const MAX_LINE = 256 * 1024;
/** Chunk regions for readers, and their size (a gzip chunk is at most 1 MiB, a plain file's 256 KiB). */
export const INPUT_REGIONS = 4;
export const INPUT_BYTES = 1024 * 1024;
const PAD = 64;
const PAGE = 65_536;

const modules = new Map<BinanceBuild, WebAssembly.Module>();

function binanceModule(build: BinanceBuild): WebAssembly.Module | undefined {
  let m = modules.get(build);
  if (!m) {
    const file = build === 'release' ? 'binance.wasm' : 'binance.debug.wasm';
    const candidates = ['../../build/', '../../../build/'].map((up) => fileURLToPath(new URL(up + file, import.meta.url)));
    const path = candidates.find((p) => existsSync(p));
    if (path === undefined) return undefined;
    m = new WebAssembly.Module(new Uint8Array(readFileSync(path)));
    modules.set(build, m);
  }
  return m;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

export class BinanceWasm {
  readonly x: BinanceExports;
  readonly memory: WebAssembly.Memory;
  /** The memory's ArrayBuffer: a Buffer whose .buffer is this lies in the module's memory. */
  readonly buffer: ArrayBuffer;
  readonly out: number;
  readonly quotes: number;
  readonly line: number;
  readonly inputs: number;
  /** book_derive's output: f64[0..9], flags at +80. */
  readonly derive: number;
  readonly derived: Float64Array;
  readonly sides: number;
  readonly sideBytes: number;
  /** Views on the out block. */
  readonly gen: Int32Array;
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly int: Float64Array;
  readonly mant: Float64Array;
  readonly kind: Uint8Array;
  readonly dec: Uint8Array;
  readonly neg: Uint8Array;
  /** bids slot, asks slot, bids count, asks count. */
  readonly state: Int32Array;
  /** scan_timed's receive time: seconds, nanoseconds; and the i64 nanoseconds' low and high halves. */
  readonly time: Float64Array;
  readonly timeHalves: Uint32Array;
  /** lineFacts: the stream type's start, the type (1 trade, 2 bookTicker, 0 another), whether the symbol is the last one's. */
  readonly facts: Int32Array;
  readonly bidsPxMant: Float64Array;
  readonly bidsQtyMant: Float64Array;
  readonly bidsPxDec: Uint8Array;
  readonly bidsQtyDec: Uint8Array;
  readonly asksPxMant: Float64Array;
  readonly asksQtyMant: Float64Array;
  readonly asksPxDec: Uint8Array;
  readonly asksQtyDec: Uint8Array;
  /** The line scratch as a Buffer (positions in it are positions from `line`). */
  readonly lineBytes: Buffer;
  readonly #u8: Uint8Array;
  readonly #free: boolean[] = new Array<boolean>(INPUT_REGIONS).fill(true);
  readonly #freeSides: boolean[] = new Array<boolean>(SIDE_BLOCKS).fill(true);

  /** undefined when the module is not built (the scanner and the book then run their twins alone). */
  static create(build: BinanceBuild = 'release'): BinanceWasm | undefined {
    const m = binanceModule(build);
    return m === undefined ? undefined : new BinanceWasm(m);
  }

  private constructor(module: WebAssembly.Module) {
    this.out = PAGE;
    const levelsBytes = 2 * 18 * LEVEL_CAP;
    this.quotes = align(this.out + O_LEVELS + levelsBytes, 64);
    this.line = align(this.quotes + 4 * (MAX_LINE + PAD), 64);
    this.inputs = align(this.line + MAX_LINE + PAD, 64);
    this.derive = align(this.inputs + INPUT_REGIONS * (INPUT_BYTES + PAD), 64);
    this.sides = this.derive + 128;
    this.sideBytes = align(sideBlockBytes(DEFAULT_WINDOW_SLOTS), 64);
    const pages = Math.ceil((this.sides + SIDE_BLOCKS * this.sideBytes) / PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.x = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as BinanceExports;
    if (this.x.scan_heap_base() > this.out) throw new Error(`binance.wasm: static data (${this.x.scan_heap_base()} bytes) exceeds the reserved page`);
    const want = [O_GEN, O_FROM, O_TO, O_INT, O_MANT, O_KIND, O_DEC, O_NEG, O_BIDS_SLOT, O_LEVELS];
    for (let k = 0; k < want.length; k++) {
      if (this.x.scan_layout(k) !== want[k]) throw new Error(`binance.wasm: layout entry ${k} is ${this.x.scan_layout(k)}, the host expects ${want[k]}`);
    }
    const buf = (this.buffer = this.memory.buffer);
    const o = this.out;
    this.gen = new Int32Array(buf, o + O_GEN, SLOTS);
    this.from = new Int32Array(buf, o + O_FROM, SLOTS);
    this.to = new Int32Array(buf, o + O_TO, SLOTS);
    this.int = new Float64Array(buf, o + O_INT, SLOTS);
    this.mant = new Float64Array(buf, o + O_MANT, SLOTS);
    this.kind = new Uint8Array(buf, o + O_KIND, SLOTS);
    this.dec = new Uint8Array(buf, o + O_DEC, SLOTS);
    this.neg = new Uint8Array(buf, o + O_NEG, SLOTS);
    this.state = new Int32Array(buf, o + O_BIDS_SLOT, 4);
    this.time = new Float64Array(buf, o + O_TIME, 2);
    this.timeHalves = new Uint32Array(buf, o + O_TIME + 16, 2);
    this.facts = new Int32Array(buf, o + O_FACTS, 3);
    const side = (s: number) => o + O_LEVELS + s * 18 * LEVEL_CAP;
    this.bidsPxMant = new Float64Array(buf, side(0), LEVEL_CAP);
    this.bidsQtyMant = new Float64Array(buf, side(0) + 8 * LEVEL_CAP, LEVEL_CAP);
    this.bidsPxDec = new Uint8Array(buf, side(0) + 16 * LEVEL_CAP, LEVEL_CAP);
    this.bidsQtyDec = new Uint8Array(buf, side(0) + 17 * LEVEL_CAP, LEVEL_CAP);
    this.asksPxMant = new Float64Array(buf, side(1), LEVEL_CAP);
    this.asksQtyMant = new Float64Array(buf, side(1) + 8 * LEVEL_CAP, LEVEL_CAP);
    this.asksPxDec = new Uint8Array(buf, side(1) + 16 * LEVEL_CAP, LEVEL_CAP);
    this.asksQtyDec = new Uint8Array(buf, side(1) + 17 * LEVEL_CAP, LEVEL_CAP);
    this.lineBytes = Buffer.from(buf, this.line, MAX_LINE + PAD);
    this.derived = new Float64Array(buf, this.derive, 11);
    this.#u8 = new Uint8Array(buf);
  }

  /** Copy bytes[start, end) (at most MAX_LINE) into the line scratch and scan it there: positions are then from 0. */
  scanCopy(bytes: Uint8Array, start: number, end: number, gen: number): number {
    const n = end - start;
    const u8 = this.#u8;
    u8.set(bytes.subarray(start, end), this.line);
    u8.fill(0, this.line + n, this.line + n + PAD);
    return this.x.scan_line(this.line, 0, n, gen, this.out, LEVEL_CAP, this.quotes);
  }

  /** An input region for a reader's chunks, or -1 when all are taken (the reader then scans through the scratch). */
  acquireInput(): number {
    const r = this.#free.indexOf(true);
    if (r >= 0) this.#free[r] = false;
    return r;
  }

  releaseInput(r: number): void {
    if (r >= 0) this.#free[r] = true;
  }

  /** A zeroed side block of DEFAULT_WINDOW_SLOTS for a book side (its offset), or -1 when all are lent. */
  acquireSide(): number {
    const k = this.#freeSides.indexOf(true);
    if (k < 0) return -1;
    this.#freeSides[k] = false;
    return this.sides + k * this.sideBytes;
  }

  /** Take back a side block (its side has detached from it): zeroed for the next. */
  releaseSide(offset: number): void {
    const k = (offset - this.sides) / this.sideBytes;
    if (!(k >= 0 && k < SIDE_BLOCKS && Number.isInteger(k)) || this.#freeSides[k]) throw new Error(`binance.wasm: no side block lent at ${offset}`);
    this.#u8.fill(0, offset, offset + this.sideBytes);
    this.#freeSides[k] = true;
  }

  /** Copy a chunk (at most INPUT_BYTES) into region r; returns it as a Buffer over this memory. */
  loadInput(r: number, chunk: Uint8Array): Buffer {
    if (chunk.length > INPUT_BYTES) throw new RangeError(`binance.wasm: a chunk of ${chunk.length} bytes exceeds the region's ${INPUT_BYTES}`);
    const at = this.inputs + r * (INPUT_BYTES + PAD);
    this.#u8.set(chunk, at);
    this.#u8.fill(0, at + chunk.length, at + chunk.length + PAD);
    return Buffer.from(this.buffer, at, chunk.length);
  }
}

let shared: BinanceWasm | undefined | null = null;

/** The process's instance (undefined when the module is not built): the shared scanner's, which books use too. */
export function sharedBinanceWasm(): BinanceWasm | undefined {
  if (shared === null) shared = BinanceWasm.create();
  return shared;
}
