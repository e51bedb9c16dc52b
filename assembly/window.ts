// Count window: the last W finite values, with two accumulators over one ring:
//  - mean and variance by the shifted-data algorithm (Chan, Golub and LeVeque 1983): with a shift K near the
//    data, S1 = sum(x - K) and S2 = sum((x - K)^2) slide by adding the new value's terms and subtracting the
//    evicted one's; mean = K + S1/n, M2 = S2 - S1^2/n. Every W updates the sums are recomputed exactly (two passes
//    over the ring) with K moved to the mean, so rounding cannot accumulate and K follows the data. For prices
//    near 1e5 moving by 1e-4 the terms are ~1e-4, computed exactly, and the variance is good to ~1e-14 relative,
//    where a naive sum of squares loses everything and the sliding Welford update keeps only ~1e-5;
//  - optionally (`order`), a sorted copy of the window for quantiles, median and MAD. Without it, min and max
//    are found by a scan of the ring and the order statistics read NaN: the engine keeps the sorted copy only
//    for features whose robust detector needs it.
// Layout at p: header (W_HEADER_BYTES), ring f64[W], sorted f64[W]. Non-finite values are refused and counted.
import { ldf, stf, ldi, sti, ldu, stu, at, put, finite } from "./util";
import { W_CAP, W_N, W_HEAD, W_SINCE, W_S1, W_S2, W_TOTAL, W_SKIPPED, W_ORDER, W_SHIFT, W_INV_N, W_INV_N1, W_HEADER_BYTES } from "./layout";

// Bytes of a window of w values: the ring, and the sorted copy only when order statistics are kept.
@inline export function windowBytes(w: i32, order: bool): i32 { return W_HEADER_BYTES + (order ? w << 4 : w << 3); }
@inline function ring(p: usize): usize { return p + <usize>W_HEADER_BYTES; }
@inline function sorted(p: usize): usize { return p + <usize>W_HEADER_BYTES + (<usize>ldu(p, W_CAP) << 3); }

export function windowInit(p: usize, w: i32, order: bool): void {
  memory.fill(p, 0, <usize>windowBytes(w, order));
  stu(p, W_CAP, <u32>w);
  stu(p, W_ORDER, order ? 1 : 0);
}
@inline function ordered(p: usize): bool { return ldu(p, W_ORDER) != 0; }

// First index i in s[0, n) with s[i] >= x (lower bound).
@inline function lowerBound(s: usize, n: i32, x: f64): i32 {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (at(s, mid) < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// First index i in s[0, n) with s[i] > x (upper bound).
@inline function upperBound(s: usize, n: i32, x: f64): i32 {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (at(s, mid) <= x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// Replace one occurrence of `old` by `x` in the sorted array, shifting only the elements between them.
function sortedReplace(s: usize, n: i32, old: f64, x: f64): void {
  const i = lowerBound(s, n, old); // s[i] == old: old is in the window
  if (x > old) {
    const j = upperBound(s, n, x) - 1; // x goes to j after shifting (i, j] left by one
    if (j > i) memory.copy(s + (<usize>i << 3), s + (<usize>(i + 1) << 3), <usize>(j - i) << 3);
    put(s, j, x);
  } else {
    const j = lowerBound(s, n, x); // shift [j, i) right by one
    if (i > j) memory.copy(s + (<usize>(j + 1) << 3), s + (<usize>j << 3), <usize>(i - j) << 3);
    put(s, j, x);
  }
}

export function windowPush(p: usize, x: f64): void {
  if (!finite(x)) { sti(p, W_SKIPPED, ldi(p, W_SKIPPED) + 1); return; }
  const w = <i32>ldu(p, W_CAP);
  const n = <i32>ldu(p, W_N);
  const head = <i32>ldu(p, W_HEAD);
  const r = ring(p);
  const s = sorted(p);
  const order = ordered(p);
  if (n == 0) stf(p, W_SHIFT, x);
  const k = ldf(p, W_SHIFT);
  const y = x - k;
  if (n < w) {
    put(r, head, x);
    if (order) {
      const j = upperBound(s, n, x);
      if (j < n) memory.copy(s + (<usize>(j + 1) << 3), s + (<usize>j << 3), <usize>(n - j) << 3);
      put(s, j, x);
    }
    stf(p, W_S1, ldf(p, W_S1) + y);
    stf(p, W_S2, ldf(p, W_S2) + y * y);
    stu(p, W_N, <u32>(n + 1));
    stf(p, W_INV_N, 1 / <f64>(n + 1));
    stf(p, W_INV_N1, n > 0 ? 1 / <f64>n : 0);
  } else {
    const old = at(r, head);
    put(r, head, x);
    if (order) sortedReplace(s, n, old, x);
    const z = old - k;
    const s2 = ldf(p, W_S2);
    stf(p, W_S1, ldf(p, W_S1) + (y - z));
    stf(p, W_S2, s2 + (y * y - z * z));
    // A value that leaves holding more than half of S2 takes the digits of the rest with it (an outlier that entered
    // absorbed them), and one whose square overflowed leaves S2 NaN: recompute at once instead of at the end of the
    // period, or the window would report a wrong mean and a variance of ~0 for up to W updates after it is gone.
    const zz = z * z;
    if (!(zz <= 0.5 * s2) || zz == Infinity) stu(p, W_SINCE, <u32>w);
  }
  stu(p, W_HEAD, head + 1 == w ? 0 : <u32>(head + 1));
  sti(p, W_TOTAL, ldi(p, W_TOTAL) + 1);
  // The shift has gone stale: the window's mean moved more than 2^10 standard deviations from K, so M2 = S2 - S1^2/n
  // would cancel 20 bits or more. Recompute now (K moves to the mean). S1^2/n > 2^20 (S2 - S1^2/n) is tested as
  // S1^2 > S2 n 2^20 / (2^20 + 1), with no division and exactly as windowPushMany tests it.
  const s1 = ldf(p, W_S1);
  if (s1 * s1 > ldf(p, W_S2) * (<f64>ldu(p, W_N) * (1048576.0 / 1048577.0))) stu(p, W_SINCE, <u32>w);
  const since = ldu(p, W_SINCE) + 1;
  if (since >= <u32>w) { windowRecompute(p); stu(p, W_SINCE, 0); } else stu(p, W_SINCE, since);
}

// Exact sums over the held values, re-centred: K = the two-pass mean, S1 = sum(x - K), S2 = sum((x - K)^2).
export function windowRecompute(p: usize): void {
  const n = <i32>ldu(p, W_N);
  if (n == 0) { stf(p, W_S1, 0); stf(p, W_S2, 0); return; }
  const r = ring(p);
  let sum = 0.0;
  for (let i = 0; i < n; i++) sum += at(r, i);
  let k = sum / <f64>n;
  // Corrected by the mean of the residuals (Higham 2002, 1.9): exact for constant data, so that a constant window
  // has S1 = S2 = 0 and never looks like a stale shift below.
  let c = 0.0;
  for (let i = 0; i < n; i++) c += at(r, i) - k;
  k += c / <f64>n;
  let s1 = 0.0, s2 = 0.0;
  for (let i = 0; i < n; i++) { const d = at(r, i) - k; s1 += d; s2 += d * d; }
  stf(p, W_SHIFT, k);
  stf(p, W_S1, s1);
  stf(p, W_S2, s2);
}

@inline export function windowCount(p: usize): i32 { return <i32>ldu(p, W_N); }
@inline export function windowMean(p: usize): f64 {
  return ldu(p, W_N) == 0 ? NaN : ldf(p, W_SHIFT) + ldf(p, W_S1) * ldf(p, W_INV_N);
}
// Sample variance (n - 1); 0 for one value, NaN for none.
@inline export function windowVar(p: usize): f64 {
  const n = <i32>ldu(p, W_N);
  if (n == 0) return NaN;
  if (n == 1) return 0;
  const s1 = ldf(p, W_S1);
  const m2 = ldf(p, W_S2) - s1 * s1 * ldf(p, W_INV_N);
  // NaN: S2 overflowed (a value beyond 1e154 from the shift): the spread is beyond the doubles, as a two-pass sum
  // of squares finds it.
  return m2 > 0 ? m2 * ldf(p, W_INV_N1) : (m2 == m2 ? 0 : Infinity);
}
export function windowMin(p: usize): f64 {
  const n = <i32>ldu(p, W_N);
  if (n == 0) return NaN;
  if (ordered(p)) return at(sorted(p), 0);
  const r = ring(p);
  let m = at(r, 0);
  for (let i = 1; i < n; i++) { const v = at(r, i); if (v < m) m = v; }
  return m;
}
export function windowMax(p: usize): f64 {
  const n = <i32>ldu(p, W_N);
  if (n == 0) return NaN;
  if (ordered(p)) return at(sorted(p), n - 1);
  const r = ring(p);
  let m = at(r, 0);
  for (let i = 1; i < n; i++) { const v = at(r, i); if (v > m) m = v; }
  return m;
}
// Quantile by linear interpolation between order statistics (Hyndman and Fan 1996, type 7; numpy's default).
export function windowQuantile(p: usize, q: f64): f64 {
  const n = <i32>ldu(p, W_N);
  if (n == 0 || !(q >= 0 && q <= 1) || !ordered(p)) return NaN;
  const s = sorted(p);
  const h = <f64>(n - 1) * q;
  const lo = <i32>Math.floor(h);
  if (lo >= n - 1) return at(s, n - 1);
  const a = at(s, lo);
  return a + (h - <f64>lo) * (at(s, lo + 1) - a);
}
export function windowMedian(p: usize): f64 {
  const n = <i32>ldu(p, W_N);
  if (n == 0 || !ordered(p)) return NaN;
  const s = sorted(p);
  const h = n >>> 1;
  return (n & 1) ? at(s, h) : 0.5 * (at(s, h - 1) + at(s, h));
}

// k-th smallest (0-based) absolute deviation from m. The deviations of the values below m, read from the split
// downwards, and of the values at or above m, read upwards, are two sorted sequences; the k-th smallest of
// their union is found by bisection on how many come from the first (Frederickson and Johnson 1982): O(log W).
function kthDeviation(s: usize, n: i32, split: i32, m: f64, k: i32): f64 {
  const na = split;      // A[i] = m - s[split - 1 - i]
  const nb = n - split;  // B[j] = s[split + j] - m
  // Take t = k + 1 smallest: i from A, t - i from B.
  const t = k + 1;
  let lo = t - nb > 0 ? t - nb : 0;
  let hi = t < na ? t : na;
  while (lo < hi) {
    const i = (lo + hi) >>> 1;
    // Too few from A if A[i] < B[t - i - 1].
    const ai = m - at(s, split - 1 - i);
    const bj = at(s, split + t - i - 1) - m;
    if (ai < bj) lo = i + 1; else hi = i;
  }
  const i = lo;
  const a = i > 0 ? m - at(s, split - i) : -Infinity;
  const b = t - i > 0 ? at(s, split + t - i - 1) - m : -Infinity;
  return a > b ? a : b;
}

// Median absolute deviation (unscaled): median of |x - median|.
export function windowMad(p: usize): f64 {
  const n = <i32>ldu(p, W_N);
  if (n == 0 || !ordered(p)) return NaN;
  const s = sorted(p);
  const m = windowMedian(p);
  const split = lowerBound(s, n, m);
  const h = n >>> 1;
  if (n & 1) return kthDeviation(s, n, split, m, h);
  return 0.5 * (kthDeviation(s, n, split, m, h - 1) + kthDeviation(s, n, split, m, h));
}

// Push n values from xs: the batched form. Without order statistics, the state stays in locals for the whole
// batch (the per-value form stores and reloads it, which puts a store-to-load round trip on the dependency chain);
// the arithmetic is the same as windowPush, value for value.
export function windowPushMany(p: usize, xs: usize, n: i32): void {
  if (ordered(p)) {
    for (let i = 0; i < n; i++) windowPush(p, load<f64>(xs + (<usize>i << 3)));
    return;
  }
  const w = <i32>ldu(p, W_CAP);
  const r = ring(p);
  let cnt = <i32>ldu(p, W_N), head = <i32>ldu(p, W_HEAD), since = ldu(p, W_SINCE);
  let k = ldf(p, W_SHIFT), s1 = ldf(p, W_S1), s2 = ldf(p, W_S2);
  let total = ldi(p, W_TOTAL), skipped = ldi(p, W_SKIPPED);
  // The stale-shift test of windowPush: S1^2 > S2 stale, stale = n 2^20 / (2^20 + 1).
  let stale = <f64>cnt * (1048576.0 / 1048577.0);
  for (let i = 0; i < n; i++) {
    const x = load<f64>(xs + (<usize>i << 3));
    if (!finite(x)) { skipped++; continue; }
    if (cnt == 0) k = x;
    const y = x - k;
    if (cnt < w) {
      put(r, head, x);
      cnt++;
      stale = <f64>cnt * (1048576.0 / 1048577.0);
      s1 += y;
      s2 += y * y;
    } else {
      const z = at(r, head) - k;
      put(r, head, x);
      s1 += y - z;
      const zz = z * z;
      if (!(zz <= 0.5 * s2) || zz == Infinity) since = <u32>w; // as in windowPush: a dominant value left
      s2 += y * y - zz;
    }
    head = head + 1 == w ? 0 : head + 1;
    total++;
    if (s1 * s1 > s2 * stale) since = <u32>w;
    if (++since >= <u32>w) {
      stu(p, W_N, <u32>cnt);
      windowRecompute(p);
      k = ldf(p, W_SHIFT); s1 = ldf(p, W_S1); s2 = ldf(p, W_S2);
      since = 0;
    }
  }
  stu(p, W_N, <u32>cnt); stu(p, W_HEAD, <u32>head); stu(p, W_SINCE, since);
  stf(p, W_SHIFT, k); stf(p, W_S1, s1); stf(p, W_S2, s2);
  if (cnt > 0) { stf(p, W_INV_N, 1 / <f64>cnt); stf(p, W_INV_N1, cnt > 1 ? 1 / <f64>(cnt - 1) : 0); }
  sti(p, W_TOTAL, total); sti(p, W_SKIPPED, skipped);
}
