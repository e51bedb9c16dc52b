// Reference exponentially weighted mean and variance, weight alpha on the newest value (Finch 2009,
// "Incremental calculation of weighted mean and variance", eq. 143), the rule assembly/ewma.ts implements:
//   first value:  mean = x, var = 0
//   afterwards:   d = x - mean;  mean = mean + alpha d;  var = (1 - alpha) (var + alpha d^2).
// The variance step is the weighted-variance identity: with weights (1 - alpha) on the old distribution and alpha
// on x, var' = (1 - alpha) var + (1 - alpha) alpha d^2 (the between-group term w1 w2 d^2). Non-finite x is refused.

export class RefEwma {
  readonly alpha: number;
  /** Values taken. */
  n = 0;
  #mean = 0;
  #var = 0;

  constructor(alpha: number) {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${alpha}`);
    this.alpha = alpha;
  }

  push(x: number): void {
    if (!Number.isFinite(x)) return;
    if (this.n === 0) {
      this.#mean = x;
      this.#var = 0;
    } else {
      const d = x - this.#mean;
      const incr = this.alpha * d;
      this.#mean = this.#mean + incr;
      this.#var = (1 - this.alpha) * (this.#var + d * incr);
    }
    this.n++;
  }

  /** NaN before the first value. */
  mean(): number { return this.n === 0 ? NaN : this.#mean; }
  variance(): number { return this.n === 0 ? NaN : this.#var; }

  /** The mean once x is taken, without taking it (the EWMA chart's starting point during warm-up). */
  meanAfter(x: number): number { return this.#mean + this.alpha * (x - this.#mean); }
}

/**
 * The same statistics from scratch: after values x_0..x_{n-1} the rule above describes the distribution with
 * weight (1 - alpha)^(n-1) on x_0 and alpha (1 - alpha)^(n-1-i) on x_i (i >= 1); these weights sum to 1. Its
 * mean and (population) variance, by two weighted passes, equal the recursive mean and var. Non-finite values
 * are skipped, as push does.
 */
export function ewmaFromScratch(alpha: number, xs: readonly number[]): { mean: number; variance: number } {
  const v = xs.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, variance: NaN };
  const weight = (i: number): number => (i === 0 ? 1 : alpha) * Math.pow(1 - alpha, n - 1 - i);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += weight(i) * v[i];
  let variance = 0;
  for (let i = 0; i < n; i++) variance += weight(i) * (v[i] - mean) * (v[i] - mean);
  return { mean, variance };
}
