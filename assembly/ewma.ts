// Exponentially weighted mean and variance with weight alpha on the newest value (Finch 2009, "Incremental
// calculation of weighted mean and variance", eq. 143):
//   d = x - mean;  mean += alpha * d;  var = (1 - alpha) * (var + alpha * d * d).
// The first value sets the mean with variance 0. Non-finite values are refused.
import { ldf, stf, ldi, sti, finite } from "./util";
import { E_ALPHA, E_MEAN, E_VAR, E_N, E_BYTES } from "./layout";

export function ewmaInit(p: usize, alpha: f64): void {
  memory.fill(p, 0, <usize>E_BYTES);
  stf(p, E_ALPHA, alpha);
}

@inline export function ewmaPush(p: usize, x: f64): void {
  if (!finite(x)) return;
  const n = ldi(p, E_N);
  if (n == 0) {
    stf(p, E_MEAN, x);
    stf(p, E_VAR, 0);
  } else {
    const a = ldf(p, E_ALPHA);
    const mean = ldf(p, E_MEAN);
    const d = x - mean;
    const incr = a * d;
    stf(p, E_MEAN, mean + incr);
    stf(p, E_VAR, (1 - a) * (ldf(p, E_VAR) + d * incr));
  }
  sti(p, E_N, n + 1);
}
@inline export function ewmaMean(p: usize): f64 { return ldi(p, E_N) == 0 ? NaN : ldf(p, E_MEAN); }
@inline export function ewmaVar(p: usize): f64 { return ldi(p, E_N) == 0 ? NaN : ldf(p, E_VAR); }
@inline export function ewmaCount(p: usize): i64 { return ldi(p, E_N); }
