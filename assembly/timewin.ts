// Time window: statistics of the values seen in the last B buckets of bucketNs each (the open bucket and the
// B - 1 before it), in memory fixed by B whatever the event rate: a 60 s window holds 10 events in a quiet
// minute and 10,000 in a busy one in the same bytes. Each bucket keeps n, mean, M2, min and max; buckets are
// combined with Chan, Golub and LeVeque (1979):  n = na + nb,  d = mb - ma,  mean = ma + d nb / n,
// M2 = M2a + M2b + d^2 na nb / n. The closed buckets' aggregate is recomputed only when a bucket closes, so a
// push costs one Welford update and a query one merge.
import { ldf, stf, ldi, sti, ldu, stu, finite } from "./util";
import {
  T_BUCKETS, T_CUR, T_BUCKET_NS, T_CUR_ID, T_AGG_N, T_AGG_MEAN, T_AGG_M2, T_AGG_MIN, T_AGG_MAX, T_HEADER_BYTES,
  TB_N, TB_MEAN, TB_M2, TB_MIN, TB_MAX, TB_BYTES,
} from "./layout";

@inline export function timeWindowBytes(b: i32): i32 { return T_HEADER_BYTES + b * TB_BYTES; }
@inline function bucket(p: usize, i: u32): usize { return p + <usize>T_HEADER_BYTES + <usize>(i * <u32>TB_BYTES); }

@inline function clearBucket(q: usize): void {
  stf(q, TB_N, 0); stf(q, TB_MEAN, 0); stf(q, TB_M2, 0); stf(q, TB_MIN, Infinity); stf(q, TB_MAX, -Infinity);
}

export function timeWindowInit(p: usize, b: i32, bucketNs: i64): void {
  memory.fill(p, 0, <usize>timeWindowBytes(b));
  stu(p, T_BUCKETS, <u32>b);
  sti(p, T_BUCKET_NS, bucketNs);
  sti(p, T_CUR_ID, -1);
  for (let i: u32 = 0; i < <u32>b; i++) clearBucket(bucket(p, i));
  stf(p, T_AGG_MIN, Infinity); stf(p, T_AGG_MAX, -Infinity);
}

// floor(ts / bucketNs) for any sign of ts.
@inline function bucketId(ts: i64, ns: i64): i64 {
  const q = ts / ns;
  return (ts % ns != 0 && ts < 0) ? q - 1 : q;
}

// Move the window so that it ends in the bucket holding ts (no-op if it already does; earlier ts are ignored).
export function timeWindowAdvance(p: usize, ts: i64): void {
  const id = bucketId(ts, ldi(p, T_BUCKET_NS));
  const cur = ldi(p, T_CUR_ID);
  if (id <= cur) return;
  const b = ldu(p, T_BUCKETS);
  if (cur < 0 || id - cur >= <i64>b) {
    for (let i: u32 = 0; i < b; i++) clearBucket(bucket(p, i));
    stu(p, T_CUR, <u32>(id % <i64>b));
  } else {
    let c = ldu(p, T_CUR);
    for (let k: i64 = cur; k < id; k++) {
      c = c + 1 == b ? 0 : c + 1;
      clearBucket(bucket(p, c));
    }
    stu(p, T_CUR, c);
  }
  sti(p, T_CUR_ID, id);
  // Aggregate of the closed buckets, oldest first.
  let n = 0.0, mean = 0.0, m2 = 0.0, mn = Infinity, mx = -Infinity;
  const c = ldu(p, T_CUR);
  for (let k: u32 = 1; k < b; k++) {
    const q = bucket(p, (c + k) % b);
    const nb = ldf(q, TB_N);
    if (nb == 0) continue;
    const n1 = n + nb;
    const d = ldf(q, TB_MEAN) - mean;
    mean += d * nb / n1;
    m2 += ldf(q, TB_M2) + d * d * n * nb / n1;
    n = n1;
    const bmin = ldf(q, TB_MIN), bmax = ldf(q, TB_MAX);
    if (bmin < mn) mn = bmin;
    if (bmax > mx) mx = bmax;
  }
  stf(p, T_AGG_N, n); stf(p, T_AGG_MEAN, mean); stf(p, T_AGG_M2, m2); stf(p, T_AGG_MIN, mn); stf(p, T_AGG_MAX, mx);
}

// Add x at time ts (ts earlier than the open bucket counts in the open bucket). Non-finite x is refused.
export function timeWindowPush(p: usize, ts: i64, x: f64): void {
  if (!finite(x)) return;
  timeWindowAdvance(p, ts);
  const q = bucket(p, ldu(p, T_CUR));
  const n1 = ldf(q, TB_N) + 1;
  const mean = ldf(q, TB_MEAN);
  const d = x - mean;
  const mean1 = mean + d / n1;
  stf(q, TB_N, n1);
  stf(q, TB_MEAN, mean1);
  stf(q, TB_M2, ldf(q, TB_M2) + d * (x - mean1));
  if (x < ldf(q, TB_MIN)) stf(q, TB_MIN, x);
  if (x > ldf(q, TB_MAX)) stf(q, TB_MAX, x);
}

@inline function openBucket(p: usize): usize { return bucket(p, ldu(p, T_CUR)); }
export function timeWindowCount(p: usize): f64 { return ldf(p, T_AGG_N) + ldf(openBucket(p), TB_N); }
export function timeWindowSum(p: usize): f64 {
  const q = openBucket(p);
  return ldf(p, T_AGG_N) * ldf(p, T_AGG_MEAN) + ldf(q, TB_N) * ldf(q, TB_MEAN);
}
export function timeWindowMean(p: usize): f64 {
  const q = openBucket(p);
  const na = ldf(p, T_AGG_N), nb = ldf(q, TB_N);
  const n = na + nb;
  if (n == 0) return NaN;
  return ldf(p, T_AGG_MEAN) + (ldf(q, TB_MEAN) - ldf(p, T_AGG_MEAN)) * nb / n;
}
// Sample variance of the values in the window.
export function timeWindowVar(p: usize): f64 {
  const q = openBucket(p);
  const na = ldf(p, T_AGG_N), nb = ldf(q, TB_N);
  const n = na + nb;
  if (n == 0) return NaN;
  if (n == 1) return 0;
  const d = ldf(q, TB_MEAN) - ldf(p, T_AGG_MEAN);
  const m2 = ldf(p, T_AGG_M2) + ldf(q, TB_M2) + d * d * na * nb / n;
  return m2 > 0 ? m2 / (n - 1) : 0;
}
// Sum of squares about 0 of the values in the window: n * (mean^2) + M2, used for realised volatility.
export function timeWindowSumSq(p: usize): f64 {
  const q = openBucket(p);
  const na = ldf(p, T_AGG_N), nb = ldf(q, TB_N);
  const ma = ldf(p, T_AGG_MEAN), mb = ldf(q, TB_MEAN);
  return na * ma * ma + ldf(p, T_AGG_M2) + nb * mb * mb + ldf(q, TB_M2);
}
export function timeWindowMin(p: usize): f64 {
  const a = ldf(p, T_AGG_MIN), b = ldf(openBucket(p), TB_MIN);
  const m = a < b ? a : b;
  return m == Infinity ? NaN : m;
}
export function timeWindowMax(p: usize): f64 {
  const a = ldf(p, T_AGG_MAX), b = ldf(openBucket(p), TB_MAX);
  const m = a > b ? a : b;
  return m == -Infinity ? NaN : m;
}
