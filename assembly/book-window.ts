// The order book's hot path in WebAssembly: a depth message's levels set into a side's window, and the values a
// quote reads derived from both sides' windows. The plain TypeScript twin is BookSide (src/adapters/book-side.ts:
// applyDecimal, sumBest, sumUpTo, bestKey, bestSize) and OrderBook's #derive (src/adapters/book.ts); this is a
// line-for-line port of their common paths, on the same block, with the same double operations in the same order,
// so that every value is the twin's bit for bit. Whatever is not common (a level outside the window, the removal of
// the best, other decimals, sums that reach the B+tree tail, which lives in TypeScript) goes back to the twin: the
// kernels stop and say where, or flag what they could not finish. test/book-window.test.ts holds the two together.
//
// A side's block at `s` (the host lends it from this module's memory; BookSide defines the layout):
//
//   s + 0    f64 base     key of slot 0 (NaN: never placed)      s + 40   i32 n      levels in the window
//   s + 8    f64 stride   key units per slot                     s + 44   i32 best   slot of the best, -1: none
//   s + 16   f64 wTotal   summed size in the window              s + 48   i32 cur    prefix sum's last slot
//   s + 24   f64 curSum   summed size of slots [0, cur]          s + 52   i32 slots  W, a power of two
//   s + 32   f64 zero     a zero key's sign (-0 on a bid side)
//   s + 64   i32 bits[W / 32], then f64 size[W]

const S_BASE: usize = 0, S_STRIDE: usize = 8, S_WTOTAL: usize = 16, S_CURSUM: usize = 24, S_ZERO: usize = 32;
const S_N: usize = 40, S_BEST: usize = 44, S_CUR: usize = 48, S_SLOTS: usize = 52, S_BITS: usize = 64;

@inline function sizes(s: usize): usize { return s + S_BITS + (<usize>load<i32>(s + S_SLOTS) >> 3); }

/**
 * Set levels [from, end) of a depth message into the side at s: price mantissas pm (f64) with decimals pd (u8), size
 * mantissas qm (f64) with decimals qd (u8), key = sign x price. Stops at, and returns, the first level whose decimals
 * are not the book's (pxDec, qtyDec; a size of 0 needs none), whose slot is not in the window (before it, past it,
 * between two slots), or that removes the best level; the twin then takes that level and calls again. Returns end
 * when every level was set. BookSide.applyDecimal, with the cases the twin keeps.
 */
export function side_apply(s: usize, pm: usize, pd: usize, qm: usize, qd: usize, from: i32, end: i32, sign: f64, pxDec: i32, qtyDec: i32): i32 {
  const w = load<i32>(s + S_SLOTS);
  const bits = s + S_BITS, sz = sizes(s);
  const fw = <f64>w;
  const base = load<f64>(s + S_BASE), stride = load<f64>(s + S_STRIDE);
  // The scalars in locals for the run (nothing else writes them meanwhile), back in the block at every exit.
  let n = load<i32>(s + S_N), best = load<i32>(s + S_BEST), cur = load<i32>(s + S_CUR);
  let wTotal = load<f64>(s + S_WTOTAL), curSum = load<f64>(s + S_CURSUM);
  let m = from;
  for (; m < end; m++) {
    const size = load<f64>(qm + (<usize>m << 3));
    if (!((size == 0 || <i32>load<u8>(qd + <usize>m) == qtyDec) && <i32>load<u8>(pd + <usize>m) == pxDec)) break;
    const d = (sign * load<f64>(pm + (<usize>m << 3)) - base) / stride;
    // NaN (never placed), before the window, past it: the twin's.
    if (!(d >= 0 && d < fw)) break;
    const i = <i32>d;
    if (<f64>i != d) break; // between two slots: a finer tick
    const at = sz + (<usize>i << 3);
    const old = load<f64>(at);
    const has = size > 0, had = old != 0;
    // The best leaving may move the window: the twin's.
    if (!has && had && i == best) break;
    // Without branches on the case (a new level, a changed one, a removed one, the removal of an absent one: the
    // four come mixed, and a mispredicted branch cost more than the arithmetic); a removal of an absent level adds
    // 0 to sums that are never -0 here (a window the twin placed holds a level).
    store<f64>(at, has ? size : 0);
    const wp = bits + (<usize>(i >> 5) << 2);
    const bit = 1 << (i & 31);
    store<i32>(wp, (load<i32>(wp) & ~bit) | select<i32>(bit, 0, has));
    n += <i32>has - <i32>had;
    best = select<i32>(i, best, has && <u32>i < <u32>best);
    const delta = (has ? size : 0) - old;
    wTotal += delta;
    curSum += select<f64>(delta, 0, i <= cur);
  }
  store<i32>(s + S_N, n);
  store<i32>(s + S_BEST, best);
  store<f64>(s + S_WTOTAL, wTotal);
  store<f64>(s + S_CURSUM, curSum);
  return m;
}

/** Key of the best level (the side is not empty): BookSide.bestKey. */
@inline function bestKey(s: usize): f64 {
  const k = load<f64>(s + S_BASE) + <f64>load<i32>(s + S_BEST) * load<f64>(s + S_STRIDE);
  return k == 0 ? load<f64>(s + S_ZERO) : k;
}

@inline function bestSize(s: usize): f64 { return load<f64>(sizes(s) + (<usize>load<i32>(s + S_BEST) << 3)); }

/** Summed size of the n best levels of the window (BookSide.sumBest's window part); `short` set when it ran out. */
function sumBest(s: usize, n: i32, flag: i32, out: usize): f64 {
  let acc: f64 = 0;
  let left = n;
  const inWindow = load<i32>(s + S_N);
  if (left <= 0 || inWindow == 0) return acc;
  const bits = s + S_BITS, sz = sizes(s), words = load<i32>(s + S_SLOTS) >> 5;
  const best = load<i32>(s + S_BEST);
  let seen = 0;
  let w = best >> 5;
  let word = load<i32>(bits + (<usize>w << 2)) & (-1 << (best & 31));
  for (;;) {
    while (word != 0) {
      const b = word & -word;
      acc += load<f64>(sz + (<usize>((w << 5) + ctz(b)) << 3));
      if (--left == 0) return acc;
      word ^= b;
      seen++;
    }
    if (seen == inWindow || ++w == words) break;
    word = load<i32>(bits + (<usize>w << 2));
  }
  store<i32>(out, load<i32>(out) | flag); // the tail's best levels would add to it
  return acc;
}

/** Summed size of the window's levels with key <= bound, moving the side's running prefix sum (BookSide.sumUpTo). */
function sumUpTo(s: usize, bound: f64, flag: i32, out: usize): f64 {
  const w = load<i32>(s + S_SLOTS);
  const q = (bound - load<f64>(s + S_BASE)) / load<f64>(s + S_STRIDE);
  let tf = Math.floor(q);
  if (tf >= <f64>w) tf = <f64>(w - 1);
  else if (tf < -1) tf = -1;
  const t = <i32>tf;
  const sz = sizes(s);
  let c = load<i32>(s + S_CUR);
  let sum = load<f64>(s + S_CURSUM);
  while (c < t) { c++; sum += load<f64>(sz + (<usize>c << 3)); }
  while (c > t) { sum -= load<f64>(sz + (<usize>c << 3)); c--; }
  store<i32>(s + S_CUR, c);
  store<f64>(s + S_CURSUM, sum);
  if (q >= <f64>w) store<i32>(out, load<i32>(out) | flag); // levels past the window may count
  return sum + 0;
}

// The band's bounds in ticks, exactly (book.ts: quotient, floorMulDiv, ceilMulDiv, with BAND_D = 2 x 10^6).
const BAND_D: f64 = 2000000;

@inline function quotient(s: f64): f64 {
  let q = Math.floor(s / BAND_D);
  const r = s - q * BAND_D;
  if (r < 0) q--;
  else if (r >= BAND_D) q++;
  return q;
}

@inline function floorMulDiv(s: f64, c: f64): f64 {
  const q = quotient(s);
  return q * c + Math.floor(((s - q * BAND_D) * c) / BAND_D);
}

@inline function ceilMulDiv(s: f64, c: f64): f64 {
  const q = quotient(s);
  return q * c + Math.ceil(((s - q * BAND_D) * c) / BAND_D);
}

/** Flags of book_derive's result. */
const D_EMPTY: i32 = 1, D_CROSSED: i32 = 2, D_BID_BEST_TAIL: i32 = 4, D_ASK_BEST_TAIL: i32 = 8, D_BID_BAND_TAIL: i32 = 16, D_ASK_BAND_TAIL: i32 = 32;

/**
 * What a quote reads after a change of the book (OrderBook.#derive), from both sides' windows: out f64[0..9] = best
 * bid, its size, best ask, its size, bid and ask depth within `depthLevels` levels, within the band, and the band's
 * bounds in keys; returns flags (and leaves them at out + 80): D_EMPTY a side is empty (nothing written), D_CROSSED,
 * and for each sum that may reach a side's tail, a flag: the twin then redoes that sum (its window part is the same;
 * the prefix sum has already moved).
 */
export function book_derive(bids: usize, asks: usize, depthLevels: i32, bandBelow: f64, bandAbove: f64, px: f64, qty: f64, out: usize): i32 {
  const flags = out + 80;
  store<i32>(flags, 0);
  if (load<i32>(bids + S_N) == 0 || load<i32>(asks + S_N) == 0) { store<i32>(flags, D_EMPTY); return D_EMPTY; }
  const bidKey = -bestKey(bids), askKey = bestKey(asks);
  store<f64>(out, bidKey / px);
  store<f64>(out + 8, bestSize(bids) / qty);
  store<f64>(out + 16, askKey / px);
  store<f64>(out + 24, bestSize(asks) / qty);
  if (bidKey >= askKey) store<i32>(flags, D_CROSSED);
  store<f64>(out + 32, sumBest(bids, depthLevels, D_BID_BEST_TAIL, flags) / qty);
  store<f64>(out + 40, sumBest(asks, depthLevels, D_ASK_BEST_TAIL, flags) / qty);
  const sum = bidKey + askKey;
  const bidBound = -ceilMulDiv(sum, bandBelow), askBound = floorMulDiv(sum, bandAbove);
  store<f64>(out + 64, bidBound);
  store<f64>(out + 72, askBound);
  store<f64>(out + 48, sumUpTo(bids, bidBound, D_BID_BAND_TAIL, flags) / qty);
  store<f64>(out + 56, sumUpTo(asks, askBound, D_ASK_BAND_TAIL, flags) / qty);
  return load<i32>(flags);
}
