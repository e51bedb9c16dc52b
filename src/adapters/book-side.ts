// One side of an order book for the book's hot path: the best levels in a dense window indexed by tick, the rest in
// a B+tree (ladder.ts). Same contract as Ladder (keys ascend from the best: a bid side stores negated prices; keys
// and sizes are integers held exactly in doubles), same answers, bit for bit; test/book-side.test.ts holds the two
// together on seeded streams.
//
// Why: in the captures (../shared/data/binance) 84-98% of level updates fall within 16,384 ticks of the best level
// and 91-99% within 65,536 (COIN-M 98.6%, spot 93.8%, USD-M 91.1%), while a Ladder set cost ~54 ns (a descent, a
// scan of a 32-entry leaf, a shift, the per-child sums up the path). In a window of slots indexed by
// (key - base) / stride a set is a store, a bit flip and two additions. The depth features read only the best
// levels and the levels within N bps of the mid, which the window holds: the best is the first set bit of a bitmap,
// the best N levels a walk over set bits, and the sum up to the band's bound a running prefix sum whose cursor
// moves with the bound (the mid moves a few ticks per diff), corrected in O(1) by every set at or before it.
// Levels past the window's end go to the tail Ladder; sums past the end add the tail's sumUpTo.
//
// Invariants (check() tests them):
//   - every key on the side is a multiple of `stride`, a power of ten (the book's keys are decimal mantissas: a spot
//     price written with 8 decimals and a 0.01 tick is a multiple of 10^6), and W * stride <= 2^52, so that a slot
//     index computed in doubles is exact inside the window and a key outside it is never taken for one inside;
//   - no level lies before `base` (the window starts at or before the best); a level in [base, base + W * stride)
//     is in the window, a level past it in the tail;
//   - the window is empty only when the side is: a window left empty moves to the tail's best (rebase).
// The window moves (rebase: O(W / 32) plus the levels it carries over) when a level comes in before `base`, when
// the best drifts past the middle of the window (the market moved W / 4 ticks), when it empties, and when a key is
// not a multiple of the stride (a finer tick: the stride shrinks, at most a few times in a book's life).
import { Ladder } from './ladder.js';

/** Slots in the window: 2^16 (512 KiB of sizes per side, committed by the OS only where touched). */
export const DEFAULT_WINDOW_SLOTS = 1 << 16;

// A side's block (assembly/book-window.ts reads the same layout): f64 base, stride, wTotal, curSum, zero at 0..39;
// i32 n, best, cur, slots at 40..55; the bitmap (W / 32 i32) at 64; the sizes (W f64) after it.
const F_BASE = 0, F_STRIDE = 1, F_WTOTAL = 2, F_CURSUM = 3, F_ZERO = 4;
const I_N = 0, I_BEST = 1, I_CUR = 2, I_SLOTS = 3;
export const SIDE_INTS = 40;
export const SIDE_BITS = 64;

/** Bytes of a side's block with W slots. */
export function sideBlockBytes(w: number): number { return SIDE_BITS + (w >> 3) + 8 * w; }

/** A block lent by a WebAssembly memory: zeroed, sideBlockBytes(slots) long, 8-aligned. */
export interface SideBlock { buffer: ArrayBuffer; offset: number; slots: number }

/** The book's window kernel (build/binance.wasm's side_apply) over the memory that lends the block. */
export interface SideKernel {
  buffer: ArrayBuffer;
  x: { side_apply(s: number, pm: number, pd: number, qm: number, qd: number, from: number, end: number, sign: number, pxDec: number, qtyDec: number): number };
}
const TWO_53 = 2 ** 53;
const TWO_52 = 2 ** 52;

export class BookSide {
  /** W, a power of two >= 64. */
  readonly #slots: number;
  /** Slots before the best when the window is placed: room for better levels to come. */
  readonly #margin: number;
  /** The largest stride allowed: the largest power of ten with W * stride <= 2^52. */
  readonly #maxStride: number;
  /** Size of each slot's level, 0 for none (a view on the side's block). */
  #size: Float64Array;
  /** Bit i: slot i holds a level (a view on the side's block). */
  #bits: Int32Array;
  /**
   * The side's scalars, in its block so that the book's WebAssembly kernels (assembly/book-window.ts) and this
   * class work on the same state: F_BASE the key of slot 0 (a multiple of the stride; NaN while the side has never
   * been placed), F_STRIDE key units per slot (a power of ten), F_WTOTAL the window's summed size, F_CURSUM the
   * running prefix sum of slots [0, I_CUR] for sumUpTo, F_ZERO the sign of a zero key; I_N levels in the window,
   * I_BEST the slot of the best (-1 when the window is empty), I_CUR the prefix sum's last slot (-1..W-1), I_SLOTS W.
   */
  #f: Float64Array;
  #i: Int32Array;
  /** Where the block lives: its buffer and offset (a WebAssembly memory's, or an ArrayBuffer of its own). */
  #blockBuffer: ArrayBuffer;
  #blockOffset: number;
  /** The kernel of the memory that lends the block; undefined once the side has a block of its own. */
  #kernel: SideKernel | undefined;
  /**
   * The last level arrays seen to lie in the kernel's memory (an identity test, not a `.buffer` per message), and
   * their offsets there (a getter call each, when read per message).
   */
  #inKernel: Float64Array | undefined = undefined;
  #inKernelPd: Uint8Array | undefined = undefined;
  #inKernelQm: Float64Array | undefined = undefined;
  #inKernelQd: Uint8Array | undefined = undefined;
  #pmAt = 0;
  #pdAt = 0;
  #qmAt = 0;
  #qdAt = 0;
  /** The kernel's side_apply, held here: a property of the exports object is a generic load per call. */
  #sideApply: SideKernel['x']['side_apply'] | undefined;
  readonly #tail: Ladder;
  /** The sign of a zero key (a bid side stores -price: a level at price 0 is key -0), as Ladder returns it. */
  readonly #zero: number;
  /** Levels carried over by a rebase. */
  #scratchKeys = new Float64Array(256);
  #scratchSizes = new Float64Array(256);

  /**
   * `slots`: window size, a power of two >= 64 (small ones are for tests: they make the window move often). `negative`:
   * the side stores negated prices (bids), so a key of zero is -0.
   */
  /**
   * `block` (with `kernel`): a block a WebAssembly memory lends, whose kernel then sets the levels of messages that
   * lie in the same memory; without, a block of its own and the TypeScript path alone (the kernel's twin).
   */
  constructor(opts: { slots?: number; negative?: boolean; levelsHint?: number; block?: SideBlock; kernel?: SideKernel } = {}) {
    const w = opts.block?.slots ?? opts.slots ?? DEFAULT_WINDOW_SLOTS;
    if (!Number.isInteger(w) || w < 64 || (w & (w - 1)) !== 0 || w > 1 << 24) throw new RangeError(`window slots must be a power of two in [64, 2^24], got ${w}`);
    this.#slots = w;
    this.#margin = w >> 2;
    let s = 1;
    while (s * 10 * w <= TWO_52) s *= 10;
    this.#maxStride = s;
    this.#tail = new Ladder(opts.levelsHint ?? 4096);
    this.#zero = opts.negative ? -0 : 0;
    // A block of its own, or one a WebAssembly memory lends (zeroed: a new block is an empty window).
    this.#blockBuffer = opts.block?.buffer ?? new ArrayBuffer(sideBlockBytes(w));
    this.#blockOffset = opts.block?.offset ?? 0;
    this.#kernel = opts.block !== undefined ? opts.kernel : undefined;
    this.#sideApply = this.#kernel?.x.side_apply;
    this.#f = this.#size = new Float64Array(0);
    this.#i = this.#bits = new Int32Array(0);
    this.#bind();
    this.#i[I_SLOTS] = w;
    this.#f[F_ZERO] = this.#zero;
    this.#f[F_BASE] = NaN;
    this.#f[F_STRIDE] = NaN;
    this.#f[F_WTOTAL] = -0;
    this.#f[F_CURSUM] = 0;
    this.#i[I_BEST] = -1;
    this.#i[I_CUR] = -1;
  }

  /** The block's offset in its buffer: the book's WebAssembly kernels take it. */
  get blockOffset(): number { return this.#blockOffset; }

  /** The block's buffer and offset. */
  get block(): { buffer: ArrayBuffer; offset: number } { return { buffer: this.#blockBuffer, offset: this.#blockOffset }; }

  /** Whether the block is lent (by a WebAssembly memory, whose kernel sets levels). */
  get lent(): boolean { return this.#kernel !== undefined; }

  /**
   * Move the side's state out of a lent block into a block of its own, and leave the lent block zeroed (the lender may
   * then lend it again); the side carries on unchanged. O(W / 32 + levels in the window): sizes are 0 wherever the
   * bitmap is.
   */
  detach(): void {
    if (this.#kernel === undefined) return;
    const lentF = this.#f, lentI = this.#i, lentBits = this.#bits, lentSize = this.#size;
    this.#blockBuffer = new ArrayBuffer(sideBlockBytes(this.#slots));
    this.#blockOffset = 0;
    this.#kernel = undefined;
    this.#sideApply = undefined;
    this.#inKernel = undefined;
    this.#bind();
    this.#f.set(lentF);
    this.#i.set(lentI);
    this.#bits.set(lentBits);
    copySizes(lentBits, lentSize, this.#size, this.#slots >> 5, true);
    lentBits.fill(0);
    lentF.fill(0);
    lentI.fill(0);
  }

  /**
   * The reverse of detach(): move the side's state into a block a WebAssembly memory lends (zeroed, as the lender
   * hands it out), whose kernel then sets the levels again. O(W / 32 + levels in the window).
   */
  adopt(block: SideBlock, kernel: SideKernel): void {
    if (this.#kernel !== undefined) return;
    if (block.slots !== this.#slots) throw new RangeError(`adopt: a block of ${block.slots} slots for a side of ${this.#slots}`);
    const ownF = this.#f, ownI = this.#i, ownBits = this.#bits, ownSize = this.#size;
    this.#blockBuffer = block.buffer;
    this.#blockOffset = block.offset;
    this.#kernel = kernel;
    this.#sideApply = kernel.x.side_apply;
    this.#inKernel = undefined;
    this.#bind();
    this.#f.set(ownF);
    this.#i.set(ownI);
    this.#bits.set(ownBits);
    copySizes(ownBits, ownSize, this.#size, this.#slots >> 5, false);
  }

  #bind(): void {
    const buf = this.#blockBuffer, o = this.#blockOffset, w = this.#slots;
    this.#f = new Float64Array(buf, o, 5);
    this.#i = new Int32Array(buf, o + SIDE_INTS, 4);
    this.#bits = new Int32Array(buf, o + SIDE_BITS, w >> 5);
    this.#size = new Float64Array(buf, o + SIDE_BITS + (w >> 3), w);
  }

  /** Levels on this side. */
  get length(): number { return this.#i[I_N] + this.#tail.length; }
  /** Summed size of all levels, lots. */
  get total(): number { return this.#f[F_WTOTAL] + this.#tail.total; }
  /** Levels in the window and in the tail: for tests and statistics. */
  get windowLevels(): number { return this.#i[I_N]; }
  get tailLevels(): number { return this.#tail.length; }

  /** Remove every level; the memory is kept. */
  clear(): void {
    this.#clearWindow();
    this.#f[F_WTOTAL] = -0; // an empty side's total is -0 until a level comes, as Ladder's
    this.#f[F_BASE] = NaN;
    this.#f[F_STRIDE] = NaN;
    this.#tail.clear();
  }

  /** Key of the best level (the smallest key); NaN when empty. */
  get bestKey(): number { return this.#i[I_N] > 0 ? this.#keyOf(this.#i[I_BEST]) : NaN; }
  /** Size of the best level, lots; NaN when empty. */
  get bestSize(): number { return this.#i[I_N] > 0 ? this.#size[this.#i[I_BEST]] : NaN; }

  /** Size at `key`, 0 when there is no such level. */
  get(key: number): number {
    if (this.#i[I_N] === 0) return 0;
    const stride = this.#f[F_STRIDE];
    if (stride !== 1 && key % stride !== 0) return 0;
    const d = (key - this.#f[F_BASE]) / stride;
    if (d < 0) return 0;
    if (d < this.#slots) return this.#size[d];
    return this.#tail.get(key);
  }

  /**
   * set(keys[i], sizes[i]) for i in [0, n), in order: what a depth message does to a side. A key whose slot is in the
   * window is set here; the rest (past the window, before it, not a multiple of the stride, an empty side) go
   * through set().
   */
  setMany(keys: Float64Array, sizes: Float64Array, n: number): void {
    // Not on the replay's path (the book calls applyDecimal, whose loop has the slot update inline): one call a level.
    for (let m = 0; m < n; m++) this.#applyLevel(keys[m], sizes[m]);
  }

  /**
   * A depth message's levels [from, end) as the book parsed them (decimal mantissas and their decimals), for as long
   * as their decimals are the book's (`pxDec`, `qtyDec`; a size of 0 needs none): each level is set at key
   * `sign` x price mantissa with the size mantissa in lots, in order. Returns the index of the first level it left
   * (its decimals differ: the book converts it, maybe rescaling), or `end`. setMany's loop with the conversion in it:
   * one pass over the levels instead of two (a fifth of the book's time on COIN-M).
   */
  applyDecimal(pm: Float64Array, pd: Uint8Array, qm: Float64Array, qd: Uint8Array, from: number, end: number, sign: number, pxDec: number, qtyDec: number): number {
    const apply = this.#sideApply;
    if (apply !== undefined && ((pm === this.#inKernel && pd === this.#inKernelPd && qm === this.#inKernelQm && qd === this.#inKernelQd) || this.#kernelArrays(pm, pd, qm, qd))) {
      // The kernel sets what it can; a level it leaves is either the book's (other decimals) or set here, as below.
      const o = this.#blockOffset, pmAt = this.#pmAt, pdAt = this.#pdAt, qmAt = this.#qmAt, qdAt = this.#qdAt;
      for (let m = from; ; m++) {
        m = apply(o, pmAt, pdAt, qmAt, qdAt, m, end, sign, pxDec, qtyDec);
        if (m === end) return end;
        const size = qm[m];
        if (!((size === 0 || qd[m] === qtyDec) && pd[m] === pxDec)) return m;
        this.#applyLevel(sign * pm[m], size);
      }
    }
    const w = this.#slots, sz = this.#size, bits = this.#bits;
    for (let m = from; m < end; m++) {
      const size = qm[m];
      if (!((size === 0 || qd[m] === qtyDec) && pd[m] === pxDec)) return m;
      const key = sign * pm[m];
      const d = (key - this.#f[F_BASE]) / this.#f[F_STRIDE];
      const i = d | 0;
      if (!(i === d && d >= 0 && i < w)) { this.set(key, size); continue; }
      const old = sz[i];
      if (size > 0) {
        sz[i] = size;
        if (old === 0) {
          bits[i >> 5] |= 1 << (i & 31);
          this.#i[I_N]++;
          if (i < this.#i[I_BEST] >>> 0) this.#i[I_BEST] = i;
        }
        const delta = size - old;
        this.#f[F_WTOTAL] += delta;
        if (i <= this.#i[I_CUR]) this.#f[F_CURSUM] += delta;
      } else if (old !== 0) {
        this.#removeAt(i, old);
      }
    }
    return end;
  }

  /**
   * Whether a message's level arrays lie in the kernel's memory (then remembered, with their offsets). The scanner's
   * are the same four views for every message; a set of arrays elsewhere (a buffered diff's) takes the loop below.
   */
  #kernelArrays(pm: Float64Array, pd: Uint8Array, qm: Float64Array, qd: Uint8Array): boolean {
    const buf = this.#kernel!.buffer;
    if (pm.buffer !== buf || pd.buffer !== buf || qm.buffer !== buf || qd.buffer !== buf) return false;
    this.#inKernel = pm;
    this.#inKernelPd = pd;
    this.#inKernelQm = qm;
    this.#inKernelQd = qd;
    this.#pmAt = pm.byteOffset;
    this.#pdAt = pd.byteOffset;
    this.#qmAt = qm.byteOffset;
    this.#qdAt = qd.byteOffset;
    return true;
  }

  /** One level of applyDecimal's loop (the kernel left it): the same steps. */
  #applyLevel(key: number, size: number): void {
    const d = (key - this.#f[F_BASE]) / this.#f[F_STRIDE];
    const i = d | 0;
    if (!(i === d && d >= 0 && i < this.#slots)) { this.set(key, size); return; }
    const old = this.#size[i];
    if (size > 0) this.#setAt(i, size);
    else if (old !== 0) this.#removeAt(i, old);
  }

  /** Set the level at `key` to `size` lots; a size of 0 removes it (and is a no-op for an absent level). */
  set(key: number, size: number): void {
    if (this.#i[I_N] === 0) {
      // An empty side (the window is empty only then): place the window around this level.
      if (!(size > 0)) return;
      this.#place(key);
    } else {
      const stride = this.#f[F_STRIDE];
      if (stride !== 1 && key % stride !== 0) {
        // Not a multiple of the stride: no level has this key; a new one makes the stride finer, and the window
        // (now narrower) starts before both the best and the new level.
        if (!(size > 0)) return;
        const finer = largestPow10Dividing(key, stride);
        this.#rebase(this.#baseFor(Math.min(key, this.#keyOf(this.#i[I_BEST])), finer), finer);
      } else if (key < this.#f[F_BASE]) {
        if (!(size > 0)) return;
        this.#rebase(this.#baseFor(key, stride), stride);
      }
    }
    const d = (key - this.#f[F_BASE]) / this.#f[F_STRIDE];
    if (d >= this.#slots) { this.#tail.set(key, size); return; }
    const old = this.#size[d];
    if (size > 0) this.#setAt(d, size);
    else if (old !== 0) this.#removeAt(d, old);
  }

  /** Summed size of the `n` best levels (all of them when fewer), lots. */
  sumBest(n: number): number {
    let acc = 0, left = n;
    if (left <= 0 || this.#i[I_N] === 0) return acc;
    const bits = this.#bits, sz = this.#size, words = this.#slots >> 5;
    let seen = 0;
    const inWindow = this.#i[I_N];
    let w = this.#i[I_BEST] >> 5;
    let word = bits[w] & (-1 << (this.#i[I_BEST] & 31));
    for (;;) {
      while (word !== 0) {
        const b = word & -word;
        acc += sz[(w << 5) + 31 - Math.clz32(b)];
        if (--left === 0) return acc;
        word ^= b;
        seen++;
      }
      if (seen === inWindow || ++w === words) break;
      word = bits[w];
    }
    return this.#tail.length > 0 ? acc + this.#tail.sumBest(left) : acc;
  }

  /** Summed size of every level whose key is <= `bound`, lots. */
  sumUpTo(bound: number): number {
    if (this.#i[I_N] === 0) return 0;
    const w = this.#slots;
    const q = (bound - this.#f[F_BASE]) / this.#f[F_STRIDE];
    let t = Math.floor(q);
    if (t >= w) t = w - 1;
    else if (t < -1) t = -1;
    const sz = this.#size;
    let c = this.#i[I_CUR], s = this.#f[F_CURSUM];
    while (c < t) s += sz[++c];
    while (c > t) s -= sz[c--];
    this.#i[I_CUR] = c;
    this.#f[F_CURSUM] = s;
    // + 0: a sum of no levels is +0, as Ladder's.
    return q >= w && this.#tail.length > 0 ? s + this.#tail.sumUpTo(bound) : s + 0;
  }

  /** Number of levels whose key is <= `bound` (a walk: for tests and statistics, not the hot path). */
  countUpTo(bound: number): number {
    let c = 0;
    this.forEach((k) => { if (k <= bound) c++; });
    return c;
  }

  /** Multiply every key (a finer price tick) or every size (a finer lot) by `factor`, an integer. O(n + W / 32). */
  rescale(keyFactor: number, sizeFactor: number): void {
    this.#tail.rescale(keyFactor, sizeFactor);
    if (this.#i[I_N] === 0) { this.#f[F_BASE] = NaN; this.#f[F_STRIDE] = NaN; return; }
    // Rebuilt rather than rescaled in place: base * factor, below the best by #margin slots, may leave the range
    // where doubles hold integers exactly even when every key stays inside it.
    const stride = Math.min(this.#f[F_STRIDE] * keyFactor, this.#maxStride);
    this.#rebase(this.#baseFor(this.#keyOf(this.#i[I_BEST]) * keyFactor, stride), stride, keyFactor, sizeFactor);
  }

  /** The largest |key| (0 when empty): for the rare rescale's overflow check. */
  maxAbsKey(): number {
    if (this.#i[I_N] === 0) return 0;
    let last = this.#i[I_BEST];
    this.#forSlots((i) => { last = i; });
    return Math.max(Math.abs(this.#keyOf(this.#i[I_BEST])), Math.abs(this.#keyOf(last)), this.#tail.maxAbsKey());
  }

  /** Calls fn(key, size) for every level, best first. */
  forEach(fn: (key: number, size: number) => void): void {
    this.#forSlots((i) => fn(this.#keyOf(i), this.#size[i]));
    this.#tail.forEach(fn);
  }

  /** Checks every invariant and returns the first violation, or '' when there is none. For tests: O(W + n). */
  check(): string {
    const w = this.#slots, sz = this.#size, bits = this.#bits;
    let n = 0, total = 0, first = -1;
    for (let i = 0; i < w; i++) {
      const has = (bits[i >> 5] >>> (i & 31)) & 1;
      if (has !== (sz[i] > 0 ? 1 : 0)) return `slot ${i}: bit ${has}, size ${sz[i]}`;
      if (sz[i] !== 0 && !(sz[i] > 0)) return `slot ${i} holds a size of ${sz[i]}`;
      if (has) { n++; total += sz[i]; if (first < 0) first = i; }
    }
    if (n !== this.#i[I_N]) return `window count ${this.#i[I_N]} != ${n} levels`;
    if (total !== this.#f[F_WTOTAL]) return `window total ${this.#f[F_WTOTAL]} != ${total}`;
    if (first !== this.#i[I_BEST]) return `best slot ${this.#i[I_BEST]} != ${first}`;
    let pre = 0;
    for (let i = 0; i <= this.#i[I_CUR]; i++) pre += sz[i];
    if (this.#i[I_CUR] < -1 || this.#i[I_CUR] >= w || pre !== this.#f[F_CURSUM]) return `prefix sum ${this.#f[F_CURSUM]} at slot ${this.#i[I_CUR]} != ${pre}`;
    const tailErr = this.#tail.check();
    if (tailErr) return `tail: ${tailErr}`;
    if (n === 0) return this.#tail.length === 0 ? '' : `empty window with ${this.#tail.length} levels in the tail`;
    const stride = this.#f[F_STRIDE];
    if (!(stride >= 1 && stride <= this.#maxStride && largestPow10Dividing(stride, stride) === stride && isPow10(stride))) return `stride ${stride}`;
    if (this.#f[F_BASE] % stride !== 0) return `base ${this.#f[F_BASE]} not a multiple of the stride ${stride}`;
    let err = '';
    this.#tail.forEach((k) => {
      if (err) return;
      if (k % stride !== 0) err = `tail key ${k} not a multiple of the stride ${stride}`;
      else if ((k - this.#f[F_BASE]) / stride < w) err = `tail key ${k} inside the window [${this.#f[F_BASE]}, +${w} x ${stride})`;
    });
    return err;
  }

  // ---- internals ---------------------------------------------------------------------------------------------

  #keyOf(i: number): number {
    const k = this.#f[F_BASE] + i * this.#f[F_STRIDE];
    return k === 0 ? this.#zero : k;
  }

  /** A level of `size` > 0 at slot i. */
  #setAt(i: number, size: number): void {
    const old = this.#size[i];
    this.#size[i] = size;
    if (old === 0) {
      this.#bits[i >> 5] |= 1 << (i & 31);
      this.#i[I_N]++;
      if (i < this.#i[I_BEST] >>> 0) this.#i[I_BEST] = i;
    }
    const delta = size - old;
    this.#f[F_WTOTAL] += delta;
    if (i <= this.#i[I_CUR]) this.#f[F_CURSUM] += delta;
  }

  /** Remove the level of size `old` at slot i; the best moves on, and the window with it when it must. */
  #removeAt(i: number, old: number): void {
    this.#size[i] = 0;
    this.#bits[i >> 5] &= ~(1 << (i & 31));
    this.#i[I_N]--;
    this.#f[F_WTOTAL] -= old;
    if (i <= this.#i[I_CUR]) this.#f[F_CURSUM] -= old;
    if (i !== this.#i[I_BEST]) return;
    if (this.#i[I_N] === 0) {
      this.#i[I_BEST] = -1;
      // The window holds the best levels: an empty one moves to the tail's best.
      if (this.#tail.length > 0) this.#rebase(this.#baseFor(this.#tail.bestKey, this.#f[F_STRIDE]), this.#f[F_STRIDE]);
      return;
    }
    const best = this.#nextSet(i + 1);
    this.#i[I_BEST] = best;
    // The market moved away: past the middle, move the window so that the best is #margin slots in again.
    if (best > this.#slots >> 1) this.#rebase(this.#baseFor(this.#keyOf(best), this.#f[F_STRIDE]), this.#f[F_STRIDE]);
  }

  /** First set slot at or after i (one exists). */
  #nextSet(i: number): number {
    const bits = this.#bits;
    let w = i >> 5;
    let word = bits[w] & (-1 << (i & 31));
    while (word === 0) word = bits[++w];
    return (w << 5) + 31 - Math.clz32(word & -word);
  }

  /** Calls fn(slot) for every set slot in order. */
  #forSlots(fn: (i: number) => void): void {
    const bits = this.#bits, words = this.#slots >> 5;
    for (let w = 0; w < words; w++) {
      let word = bits[w];
      while (word !== 0) {
        const b = word & -word;
        fn((w << 5) + 31 - Math.clz32(b));
        word ^= b;
      }
    }
  }

  /** The window's base that puts `key` (a multiple of `stride`) #margin slots in, kept within [-2^53, ...). */
  #baseFor(key: number, stride: number): number {
    const lowest = -Math.floor(TWO_53 / stride) * stride;
    const b = key - this.#margin * stride;
    return b < lowest ? lowest : b;
  }

  /** Place the window of an empty side around its first level. */
  #place(key: number): void {
    const stride = largestPow10Dividing(key, this.#maxStride);
    this.#f[F_STRIDE] = stride;
    this.#f[F_BASE] = this.#baseFor(key, stride);
  }

  #clearWindow(): void {
    if (this.#i[I_N] > 0) {
      const sz = this.#size;
      this.#forSlots((i) => { sz[i] = 0; });
      this.#bits.fill(0);
    }
    this.#i[I_N] = 0;
    this.#f[F_WTOTAL] = 0;
    this.#i[I_BEST] = -1;
    this.#i[I_CUR] = -1;
    this.#f[F_CURSUM] = 0;
  }

  /**
   * Move the window to `base` with `stride` (base a multiple of it, at or before every key, and every key a
   * multiple of it), the window's keys and sizes multiplied by the factors (a rescale; the tail's are already): the
   * window's levels are re-placed (those now past its end go to the tail), then the tail's levels that now fall
   * inside come in. O(W / 32 + levels moved). Every caller puts `base` within #margin slots before the level that is
   * to be the best (the best itself, or the level it is about to set), so the window is never left empty while the
   * tail holds levels.
   */
  #rebase(base: number, stride: number, keyFactor = 1, sizeFactor = 1): void {
    const n = this.#i[I_N];
    if (this.#scratchKeys.length < n) {
      let cap = this.#scratchKeys.length;
      while (cap < n) cap *= 2;
      this.#scratchKeys = new Float64Array(cap);
      this.#scratchSizes = new Float64Array(cap);
    }
    const ks = this.#scratchKeys, ss = this.#scratchSizes;
    let j = 0;
    this.#forSlots((i) => { ks[j] = this.#keyOf(i) * keyFactor; ss[j] = this.#size[i] * sizeFactor; j++; });
    this.#clearWindow();
    this.#f[F_BASE] = base;
    this.#f[F_STRIDE] = stride;
    const w = this.#slots, tail = this.#tail;
    for (let m = 0; m < j; m++) {
      const d = (ks[m] - base) / stride;
      if (d < w) this.#setAt(d, ss[m]);
      else tail.set(ks[m], ss[m]);
    }
    while (tail.length > 0) {
      const k = tail.bestKey;
      const d = (k - base) / stride;
      if (!(d < w)) break;
      this.#setAt(d, tail.bestSize);
      tail.set(k, 0);
    }
  }
}

/** The largest power of ten <= `cap` (a power of ten) that divides `key` (an integer). */
function largestPow10Dividing(key: number, cap: number): number {
  let s = cap;
  while (s > 1 && key % s !== 0) s /= 10;
  return s;
}

function isPow10(x: number): boolean {
  let s = 1;
  while (s < x) s *= 10;
  return s === x;
}

/** One instance for the module's lifetime, so that the class's hidden class outlives every book (see ladder.ts). */
export const KEEP_ALIVE: readonly BookSide[] = [new BookSide({ slots: 64 })];

/**
 * Copy the sizes of the slots whose bit is set in `bits` (the first `words` words) from `from` to `to`, zeroing them in
 * `from` when `clear`: sizes are 0 wherever the bitmap is, so O(words + levels).
 */
function copySizes(bits: Int32Array, from: Float64Array, to: Float64Array, words: number, clear: boolean): void {
  for (let w = 0; w < words; w++) {
    let word = bits[w];
    while (word !== 0) {
      const b = word & -word;
      const i = (w << 5) + 31 - Math.clz32(b);
      to[i] = from[i];
      if (clear) from[i] = 0;
      word ^= b;
    }
  }
}
