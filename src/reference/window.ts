// Reference count window: the last w finite values in a plain array, every statistic computed from scratch on
// each query. Slow on purpose (O(w) or O(w log w) per query): this is the oracle for assembly/window.ts, which
// keeps sliding sums and a sorted copy instead.

/** Sorted copy (ascending) of a list of finite numbers. */
function sortedCopy(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** Median of an ascending list: the middle value, or the mean of the two middle values. NaN when empty. */
function medianOfSorted(s: readonly number[]): number {
  const n = s.length;
  if (n === 0) return NaN;
  const h = Math.floor(n / 2);
  return n % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export class RefCountWindow {
  readonly w: number;
  /** The held values, oldest first. */
  readonly values: number[] = [];
  /** Values ever accepted. */
  total = 0;
  /** Non-finite values refused. */
  skipped = 0;

  constructor(w: number) {
    if (!Number.isInteger(w) || w < 1) throw new RangeError(`window size must be a positive integer, got ${w}`);
    this.w = w;
  }

  /** Keep x (dropping the oldest value once w are held); NaN and +-Infinity are refused and counted. */
  push(x: number): void {
    if (!Number.isFinite(x)) { this.skipped++; return; }
    this.values.push(x);
    if (this.values.length > this.w) this.values.shift();
    this.total++;
  }

  get count(): number { return this.values.length; }

  /**
   * Arithmetic mean; NaN when empty. The sum over n, corrected by the mean of the residuals (one more pass; Higham,
   * Accuracy and Stability of Numerical Algorithms, 2002, 1.9): exact for constant data, where sum / n alone can be
   * an ulp off and a score over a floored scale then magnifies that ulp.
   */
  mean(): number {
    const n = this.values.length;
    if (n === 0) return NaN;
    let sum = 0;
    for (const x of this.values) sum += x;
    const m = sum / n;
    let residual = 0;
    for (const x of this.values) residual += x - m;
    return m + residual / n;
  }

  /** Sample variance (divisor n - 1) by two passes (mean first, then squared deviations); 0 for one value. */
  variance(): number {
    const n = this.values.length;
    if (n === 0) return NaN;
    if (n === 1) return 0;
    const m = this.mean();
    let m2 = 0;
    for (const x of this.values) m2 += (x - m) * (x - m);
    return m2 / (n - 1);
  }

  min(): number {
    if (this.values.length === 0) return NaN;
    let m = Infinity;
    for (const x of this.values) if (x < m) m = x;
    return m;
  }
  max(): number {
    if (this.values.length === 0) return NaN;
    let m = -Infinity;
    for (const x of this.values) if (x > m) m = x;
    return m;
  }

  median(): number { return medianOfSorted(sortedCopy(this.values)); }

  /** Median absolute deviation, unscaled: the median of |x - median|. */
  mad(): number {
    if (this.values.length === 0) return NaN;
    const m = this.median();
    return medianOfSorted(sortedCopy(this.values.map((x) => Math.abs(x - m))));
  }

  /**
   * Quantile by linear interpolation between order statistics (Hyndman and Fan 1996, type 7; numpy's default):
   * h = (n - 1) q, Q = s[floor h] + (h - floor h) (s[floor h + 1] - s[floor h]). NaN if q is outside [0, 1].
   */
  quantile(q: number): number {
    const n = this.values.length;
    if (n === 0 || !(q >= 0 && q <= 1)) return NaN;
    const s = sortedCopy(this.values);
    const h = (n - 1) * q;
    const lo = Math.floor(h);
    if (lo >= n - 1) return s[n - 1];
    return s[lo] + (h - lo) * (s[lo + 1] - s[lo]);
  }
}
