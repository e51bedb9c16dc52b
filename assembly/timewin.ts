// Time window: statistics of the values seen in the last B buckets of bucketNs each (the open bucket and the
// B - 1 before it), in memory fixed by B whatever the event rate: a 60 s window holds 10 events in a quiet
// minute and 10,000 in a busy one in the same bytes. Each bucket keeps its count, min and max, and its sums by
// the shifted-data algorithm (Chan, Golub and LeVeque 1983): with K the bucket's first value, S1 = sum(x - K)
// and S2 = sum((x - K)^2), so mean = K + S1/n and M2 = S2 - S1^2/n, accurate because a bucket's values lie near
// its first one, and a push needs no division. Buckets are combined with Chan, Golub and LeVeque (1979):
// n = na + nb,  d = mb - ma,  mean = ma + d nb / n,
// M2 = M2a + M2b + d^2 na nb / n. The closed buckets' aggregate is kept incrementally: a closing bucket is merged
// in, the bucket leaving the window is taken out by the same formula solved for one part, and every B closes the
// aggregate is recomputed exactly so that rounding cannot accumulate. A push costs one Welford update, a close
// O(1) amortised, a query of count, sum, mean or variance one merge; min and max scan the buckets when asked.
import { ldf, stf, ldi, sti, ldu, stu, finite } from "./util";
import {
  T_BUCKETS, T_CUR, T_BUCKET_NS, T_CUR_ID, T_AGG_N, T_AGG_MEAN, T_AGG_M2, T_SINCE, T_CUR_END, T_HEADER_BYTES,
  TB_N, TB_SHIFT, TB_S1, TB_S2, TB_MIN, TB_MAX, TB_BYTES,
} from "./layout";

@inline export function timeWindowBytes(b: i32): i32 { return T_HEADER_BYTES + b * TB_BYTES; }
@inline function bucket(p: usize, i: u32): usize { return p + <usize>T_HEADER_BYTES + <usize>(i * <u32>TB_BYTES); }

@inline function clearBucket(q: usize): void {
  stf(q, TB_N, 0); stf(q, TB_SHIFT, 0); stf(q, TB_S1, 0); stf(q, TB_S2, 0); stf(q, TB_MIN, Infinity); stf(q, TB_MAX, -Infinity);
}
@inline function bucketMean(q: usize): f64 {
  const n = ldf(q, TB_N);
  return n > 0 ? ldf(q, TB_SHIFT) + ldf(q, TB_S1) / n : 0;
}
@inline function bucketM2(q: usize): f64 {
  const n = ldf(q, TB_N);
  if (n == 0) return 0;
  const s1 = ldf(q, TB_S1);
  const m2 = ldf(q, TB_S2) - s1 * s1 / n;
  return m2 > 0 ? m2 : 0;
}

export function timeWindowInit(p: usize, b: i32, bucketNs: i64): void {
  memory.fill(p, 0, <usize>timeWindowBytes(b));
  stu(p, T_BUCKETS, <u32>b);
  sti(p, T_BUCKET_NS, bucketNs);
  sti(p, T_CUR_ID, -1);
  for (let i: u32 = 0; i < <u32>b; i++) clearBucket(bucket(p, i));
}

// floor(ts / bucketNs) for any sign of ts.
@inline function bucketId(ts: i64, ns: i64): i64 {
  const q = ts / ns;
  return (ts % ns != 0 && ts < 0) ? q - 1 : q;
}

// Merge bucket q into the aggregate (sign 1) or take it out (sign -1).
@inline function aggregate(p: usize, q: usize, sign: f64): void {
  const nb = ldf(q, TB_N);
  if (nb == 0) return;
  const na = ldf(p, T_AGG_N), ma = ldf(p, T_AGG_MEAN), mb = bucketMean(q);
  const n = na + sign * nb;
  if (n <= 0) { stf(p, T_AGG_N, 0); stf(p, T_AGG_MEAN, 0); stf(p, T_AGG_M2, 0); return; }
  if (sign > 0) {
    const d = mb - ma;
    stf(p, T_AGG_MEAN, ma + d * nb / n);
    stf(p, T_AGG_M2, ldf(p, T_AGG_M2) + bucketM2(q) + d * d * na * nb / n);
  } else {
    const mean = ma + (ma - mb) * nb / n;
    const d = mb - mean;
    const m2 = ldf(p, T_AGG_M2) - bucketM2(q) - d * d * n * nb / na;
    stf(p, T_AGG_MEAN, mean);
    stf(p, T_AGG_M2, m2 > 0 ? m2 : 0);
  }
  stf(p, T_AGG_N, n);
}

// Exact aggregate of the closed buckets, oldest first.
function recomputeAggregate(p: usize): void {
  stf(p, T_AGG_N, 0); stf(p, T_AGG_MEAN, 0); stf(p, T_AGG_M2, 0);
  const b = ldu(p, T_BUCKETS);
  const c = ldu(p, T_CUR);
  for (let k: u32 = 1; k < b; k++) aggregate(p, bucket(p, (c + k) % b), 1);
  stu(p, T_SINCE, 0);
}

// Move the window so that it ends in the bucket holding ts (no-op if it already does; earlier ts are ignored).
export function timeWindowAdvance(p: usize, ts: i64): void {
  const cur = ldi(p, T_CUR_ID);
  if (cur >= 0 && ts < ldi(p, T_CUR_END)) return;
  const ns = ldi(p, T_BUCKET_NS);
  const id = bucketId(ts, ns);
  if (id <= cur) return;
  sti(p, T_CUR_END, (id + 1) * ns);
  const b = ldu(p, T_BUCKETS);
  sti(p, T_CUR_ID, id);
  if (cur < 0 || id - cur >= <i64>b) {
    for (let i: u32 = 0; i < b; i++) clearBucket(bucket(p, i));
    stu(p, T_CUR, <u32>(id % <i64>b));
    stf(p, T_AGG_N, 0); stf(p, T_AGG_MEAN, 0); stf(p, T_AGG_M2, 0);
    stu(p, T_SINCE, 0);
    return;
  }
  // Each step: the open bucket joins the closed ones, the oldest closed bucket leaves and becomes the new open one.
  let c = ldu(p, T_CUR);
  for (let k: i64 = cur; k < id; k++) {
    if (b > 1) aggregate(p, bucket(p, c), 1);
    c = c + 1 == b ? 0 : c + 1;
    const q = bucket(p, c);
    if (b > 1) aggregate(p, q, -1);
    clearBucket(q);
  }
  stu(p, T_CUR, c);
  const since = ldu(p, T_SINCE) + <u32>(id - cur);
  if (since >= b) recomputeAggregate(p); else stu(p, T_SINCE, since);
}

// Add x at time ts (ts earlier than the open bucket counts in the open bucket). Non-finite x is refused.
export function timeWindowPush(p: usize, ts: i64, x: f64): void {
  if (!finite(x)) return;
  timeWindowAdvance(p, ts);
  const q = bucket(p, ldu(p, T_CUR));
  const n = ldf(q, TB_N);
  if (n == 0) stf(q, TB_SHIFT, x);
  const y = x - ldf(q, TB_SHIFT);
  stf(q, TB_N, n + 1);
  stf(q, TB_S1, ldf(q, TB_S1) + y);
  stf(q, TB_S2, ldf(q, TB_S2) + y * y);
  if (x < ldf(q, TB_MIN)) stf(q, TB_MIN, x);
  if (x > ldf(q, TB_MAX)) stf(q, TB_MAX, x);
}

@inline function openBucket(p: usize): usize { return bucket(p, ldu(p, T_CUR)); }
export function timeWindowCount(p: usize): f64 { return ldf(p, T_AGG_N) + ldf(openBucket(p), TB_N); }
export function timeWindowSum(p: usize): f64 {
  const q = openBucket(p);
  return ldf(p, T_AGG_N) * ldf(p, T_AGG_MEAN) + ldf(q, TB_N) * bucketMean(q);
}
export function timeWindowMean(p: usize): f64 {
  const q = openBucket(p);
  const na = ldf(p, T_AGG_N), nb = ldf(q, TB_N);
  const n = na + nb;
  if (n == 0) return NaN;
  return ldf(p, T_AGG_MEAN) + (bucketMean(q) - ldf(p, T_AGG_MEAN)) * nb / n;
}
// Sample variance of the values in the window.
export function timeWindowVar(p: usize): f64 {
  const q = openBucket(p);
  const na = ldf(p, T_AGG_N), nb = ldf(q, TB_N);
  const n = na + nb;
  if (n == 0) return NaN;
  if (n == 1) return 0;
  const d = bucketMean(q) - ldf(p, T_AGG_MEAN);
  const m2 = ldf(p, T_AGG_M2) + bucketM2(q) + d * d * na * nb / n;
  return m2 > 0 ? m2 / (n - 1) : 0;
}
// Sum of squares about 0 of the values in the window: n * (mean^2) + M2, used for realised volatility.
export function timeWindowSumSq(p: usize): f64 {
  const q = openBucket(p);
  const na = ldf(p, T_AGG_N), nb = ldf(q, TB_N);
  const ma = ldf(p, T_AGG_MEAN), mb = bucketMean(q);
  return na * ma * ma + ldf(p, T_AGG_M2) + nb * mb * mb + bucketM2(q);
}
export function timeWindowMin(p: usize): f64 {
  const b = ldu(p, T_BUCKETS);
  let m = Infinity;
  for (let i: u32 = 0; i < b; i++) { const v = ldf(bucket(p, i), TB_MIN); if (v < m) m = v; }
  return m == Infinity ? NaN : m;
}
export function timeWindowMax(p: usize): f64 {
  const b = ldu(p, T_BUCKETS);
  let m = -Infinity;
  for (let i: u32 = 0; i < b; i++) { const v = ldf(bucket(p, i), TB_MAX); if (v > m) m = v; }
  return m == -Infinity ? NaN : m;
}
