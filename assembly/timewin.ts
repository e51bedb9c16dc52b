// Time window: statistics of the values seen in the last B buckets of bucketNs each (the open bucket and the
// B - 1 before it), in memory fixed by B whatever the event rate: a 60 s window holds 10 events in a quiet
// minute and 10,000 in a busy one in the same bytes. Each bucket keeps its count, min and max, and its sums by
// the shifted-data algorithm (Chan, Golub and LeVeque 1983): with K the bucket's first value, S1 = sum(x - K)
// and S2 = sum((x - K)^2), so mean = K + S1/n and M2 = S2 - S1^2/n, accurate because a bucket's values lie near
// its first one, and a push needs no division. A query merges the B buckets with Chan, Golub and LeVeque (1979):
// n = na + nb, d = mb - ma, mean = ma + d nb / n, M2 = M2a + M2b + d^2 na nb / n. A push costs O(1), moving the
// window O(buckets passed), a query O(B): the engine pushes on its hot path and queries only when asked, and a
// query computed from the buckets themselves cannot drift (an incremental aggregate that takes the leaving bucket
// out again by the same formula loses digits to cancellation).
import { ldf, stf, ldi, sti, ldu, stu, finite } from "./util";
import {
  T_BUCKETS, T_CUR, T_BUCKET_NS, T_CUR_ID, T_CUR_END, T_HEADER_BYTES,
  TB_N, TB_SHIFT, TB_S1, TB_S2, TB_MIN, TB_MAX, TB_BYTES,
} from "./layout";

@inline export function timeWindowBytes(b: i32): i32 { return T_HEADER_BYTES + b * TB_BYTES; }
@inline function bucket(p: usize, i: u32): usize { return p + <usize>T_HEADER_BYTES + <usize>(i * <u32>TB_BYTES); }

@inline function clearBucket(q: usize): void {
  stf(q, TB_N, 0); stf(q, TB_SHIFT, 0); stf(q, TB_S1, 0); stf(q, TB_S2, 0); stf(q, TB_MIN, Infinity); stf(q, TB_MAX, -Infinity);
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
  sti(p, T_CUR_ID, i64.MIN_VALUE);
  for (let i: u32 = 0; i < <u32>b; i++) clearBucket(bucket(p, i));
}

// floor(ts / bucketNs) for any sign of ts.
@inline function bucketId(ts: i64, ns: i64): i64 {
  const q = ts / ns;
  return (ts % ns != 0 && ts < 0) ? q - 1 : q;
}

// Move the window so that it ends in the bucket holding ts (no-op if it already does; earlier ts are ignored).
export function timeWindowAdvance(p: usize, ts: i64): void {
  const cur = ldi(p, T_CUR_ID);
  const started = cur != i64.MIN_VALUE;
  if (started && ts < ldi(p, T_CUR_END)) return;
  const ns = ldi(p, T_BUCKET_NS);
  const id = bucketId(ts, ns);
  if (started && id <= cur) return;
  const b = ldu(p, T_BUCKETS);
  sti(p, T_CUR_ID, id);
  sti(p, T_CUR_END, (id + 1) * ns);
  if (!started || id - cur >= <i64>b) {
    for (let i: u32 = 0; i < b; i++) clearBucket(bucket(p, i));
    stu(p, T_CUR, <u32>(((id % <i64>b) + <i64>b) % <i64>b));
    return;
  }
  let c = ldu(p, T_CUR);
  for (let k: i64 = cur; k < id; k++) {
    c = c + 1 == b ? 0 : c + 1;
    clearBucket(bucket(p, c));
  }
  stu(p, T_CUR, c);
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

export function timeWindowCount(p: usize): f64 {
  const b = ldu(p, T_BUCKETS);
  let n = 0.0;
  for (let i: u32 = 0; i < b; i++) n += ldf(bucket(p, i), TB_N);
  return n;
}
// Exact for integers: sum of n K + S1 per bucket.
export function timeWindowSum(p: usize): f64 {
  const b = ldu(p, T_BUCKETS);
  let s = 0.0;
  for (let i: u32 = 0; i < b; i++) { const q = bucket(p, i); s += ldf(q, TB_N) * ldf(q, TB_SHIFT) + ldf(q, TB_S1); }
  return s;
}
// Sum of x^2 = sum over buckets of S2 + 2 K S1 + n K^2.
export function timeWindowSumSq(p: usize): f64 {
  const b = ldu(p, T_BUCKETS);
  let s = 0.0;
  for (let i: u32 = 0; i < b; i++) {
    const q = bucket(p, i);
    const k = ldf(q, TB_SHIFT);
    s += ldf(q, TB_S2) + 2 * k * ldf(q, TB_S1) + ldf(q, TB_N) * k * k;
  }
  return s;
}
// Merge of the buckets, oldest first, about a common shift R, the oldest non-empty bucket's K: a bucket's mean
// relative to R is (K - R) + S1/n, whose first term is exact for nearby K (Sterbenz) and second small, so no mean is
// ever rounded at the data's magnitude (at prices of 1e5 an absolute mean carries ulp(1e5) = 1.5e-11 of error, and
// means 1e-4 apart then differ by only ~1e-7 relative). Returns the mean or M2.
function merged(p: usize, wantMean: bool): f64 {
  const b = ldu(p, T_BUCKETS);
  const c = ldu(p, T_CUR);
  let n = 0.0, mean = 0.0, m2 = 0.0, r = 0.0;
  for (let k: u32 = 1; k <= b; k++) {
    const q = bucket(p, (c + k) % b);
    const nb = ldf(q, TB_N);
    if (nb == 0) continue;
    if (n == 0) r = ldf(q, TB_SHIFT);
    const n1 = n + nb;
    const d = (ldf(q, TB_SHIFT) - r) + ldf(q, TB_S1) / nb - mean;
    mean += d * nb / n1;
    m2 += bucketM2(q) + d * d * n * nb / n1;
    n = n1;
  }
  return wantMean ? r + mean : m2;
}
export function timeWindowMean(p: usize): f64 {
  return timeWindowCount(p) == 0 ? NaN : merged(p, true);
}
// Sample variance of the values in the window.
export function timeWindowVar(p: usize): f64 {
  const n = timeWindowCount(p);
  if (n == 0) return NaN;
  if (n == 1) return 0;
  const m2 = merged(p, false);
  return m2 > 0 ? m2 / (n - 1) : 0;
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
