// Host side of the byte scanner's WebAssembly fast path (build/scan.wasm, from assembly/binance-scan.ts): one
// instance over a memory of fixed size (it never grows, so typed-array views on it stay valid), laid out as
//
//   [0, 64 KiB)          the module's constants
//   out block            the scanner's slots and two sides of levels (assembly/binance-scan.ts has the layout)
//   quote list           i32 per quote of the line being scanned
//   line scratch         a line from outside this memory, copied in to be scanned
//   input regions        INPUT_REGIONS chunks of a capture, one per reader that holds one (acquireInput)
//
// Every region is followed by PAD bytes of zeros: the module reads up to 32 bytes past a line's end, and a zero byte
// there ends any run it follows. BinanceScanner (src/adapters/binance-scan.ts) uses it; the twin is that class's own
// TypeScript scanner.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type ScanBuild = 'release' | 'debug';

export interface ScanExports {
  scan_line(p: number, start: number, end: number, gen: number, out: number, cap: number, qp: number): number;
  scan_layout(k: number): number;
  scan_heap_base(): number;
}

/** Output block offsets: assembly/binance-scan.ts's O_* (checked against scan_layout at load). */
export const O_GEN = 0, O_FROM = 168, O_TO = 336, O_INT = 504, O_MANT = 840, O_KIND = 1176, O_DEC = 1218, O_NEG = 1260;
export const O_BIDS_SLOT = 1304, O_LEVELS = 1344;
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

const modules = new Map<ScanBuild, WebAssembly.Module>();

function scanModule(build: ScanBuild): WebAssembly.Module | undefined {
  let m = modules.get(build);
  if (!m) {
    const file = build === 'release' ? 'scan.wasm' : 'scan.debug.wasm';
    const candidates = ['../../build/', '../../../build/'].map((up) => fileURLToPath(new URL(up + file, import.meta.url)));
    const path = candidates.find((p) => existsSync(p));
    if (path === undefined) return undefined;
    m = new WebAssembly.Module(new Uint8Array(readFileSync(path)));
    modules.set(build, m);
  }
  return m;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

export class ScanWasm {
  readonly x: ScanExports;
  readonly memory: WebAssembly.Memory;
  /** The memory's ArrayBuffer: a Buffer whose .buffer is this lies in the module's memory. */
  readonly buffer: ArrayBuffer;
  readonly out: number;
  readonly quotes: number;
  readonly line: number;
  readonly inputs: number;
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

  /** undefined when the module is not built (the scanner then runs its twin alone). */
  static create(build: ScanBuild = 'release'): ScanWasm | undefined {
    const m = scanModule(build);
    return m === undefined ? undefined : new ScanWasm(m);
  }

  private constructor(module: WebAssembly.Module) {
    this.out = PAGE;
    const levelsBytes = 2 * 18 * LEVEL_CAP;
    this.quotes = align(this.out + O_LEVELS + levelsBytes, 64);
    this.line = align(this.quotes + 4 * (MAX_LINE + PAD), 64);
    this.inputs = align(this.line + MAX_LINE + PAD, 64);
    const pages = Math.ceil((this.inputs + INPUT_REGIONS * (INPUT_BYTES + PAD)) / PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.x = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as ScanExports;
    if (this.x.scan_heap_base() > this.out) throw new Error(`scan.wasm: static data (${this.x.scan_heap_base()} bytes) exceeds the reserved page`);
    const want = [O_GEN, O_FROM, O_TO, O_INT, O_MANT, O_KIND, O_DEC, O_NEG, O_BIDS_SLOT, O_LEVELS];
    for (let k = 0; k < want.length; k++) {
      if (this.x.scan_layout(k) !== want[k]) throw new Error(`scan.wasm: layout entry ${k} is ${this.x.scan_layout(k)}, the host expects ${want[k]}`);
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
    this.#u8 = new Uint8Array(buf);
  }

  /** Scan buf[start, end), a line in this memory (buf.buffer === this.buffer): 0 when accepted. */
  scanIn(buf: Uint8Array, start: number, end: number, gen: number): number {
    return this.x.scan_line(buf.byteOffset, start, end, gen, this.out, LEVEL_CAP, this.quotes);
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

  /** Copy a chunk (at most INPUT_BYTES) into region r; returns it as a Buffer over this memory. */
  loadInput(r: number, chunk: Uint8Array): Buffer {
    if (chunk.length > INPUT_BYTES) throw new RangeError(`scan: a chunk of ${chunk.length} bytes exceeds the region's ${INPUT_BYTES}`);
    const at = this.inputs + r * (INPUT_BYTES + PAD);
    this.#u8.set(chunk, at);
    this.#u8.fill(0, at + chunk.length, at + chunk.length + PAD);
    return Buffer.from(this.buffer, at, chunk.length);
  }
}
