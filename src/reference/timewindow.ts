// Reference time window: every (bucket id, x) pair kept in a plain array; a query looks at the pairs whose bucket
// id lies in the last B ids ending at the newest id reached, and computes its statistic from scratch. The oracle
// for assembly/timewin.ts, which keeps one Welford accumulator per bucket in a ring and merges them.
//
// Bucket id of a timestamp: floor(ts / bucketNs). The window "ends" at the newest bucket id any push or advance
// has reached; it never moves back. Two rules follow assembly/timewin.ts exactly:
//  - a value pushed with a timestamp older than the window's end is counted in the end (newest) bucket;
//  - before the first push or advance the window ends at bucket id -1 (timestamps are nanoseconds since the
//    epoch; negative timestamps are outside what either implementation supports).

/** floor(a / b) for bigint, b > 0 (bigint division truncates toward zero). */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

export class RefTimeWindow {
  readonly buckets: number;
  readonly bucketNs: bigint;
  /** Bucket id the window ends at (-1 before anything happened). */
  end = -1n;
  /** Retained values and the bucket each counts in. Values that fell out of the window are dropped: the end only moves forward, so they can never come back. */
  #items: { id: bigint; x: number }[] = [];

  constructor(buckets: number, bucketNs: bigint) {
    if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
    if (bucketNs < 1n) throw new RangeError(`bucketNs must be positive, got ${bucketNs}`);
    this.buckets = buckets;
    this.bucketNs = bucketNs;
  }

  /** Move the end of the window to the bucket holding ts (earlier ts change nothing). */
  advance(ts: bigint): void {
    const id = floorDiv(ts, this.bucketNs);
    if (id <= this.end) return;
    this.end = id;
    const oldest = this.end - BigInt(this.buckets) + 1n;
    this.#items = this.#items.filter((it) => it.id >= oldest);
  }

  /** Add x at time ts; NaN and +-Infinity are refused. */
  push(ts: bigint, x: number): void {
    if (!Number.isFinite(x)) return;
    this.advance(ts);
    // After advance, ts's bucket is the end bucket or older; either way x counts in the end bucket.
    this.#items.push({ id: this.end, x });
  }

  /** The values in the window, oldest first. */
  values(): number[] {
    const oldest = this.end - BigInt(this.buckets) + 1n;
    return this.#items.filter((it) => it.id >= oldest && it.id <= this.end).map((it) => it.x);
  }

  count(): number { return this.values().length; }

  sum(): number {
    let s = 0;
    for (const x of this.values()) s += x;
    return s;
  }

  /** Sum of x^2 (about 0, not about the mean). */
  sumSq(): number {
    let s = 0;
    for (const x of this.values()) s += x * x;
    return s;
  }

  mean(): number {
    const v = this.values();
    if (v.length === 0) return NaN;
    let s = 0;
    for (const x of v) s += x;
    return s / v.length;
  }

  /** Sample variance (n - 1) by two passes; 0 for one value, NaN for none. */
  variance(): number {
    const v = this.values();
    const n = v.length;
    if (n === 0) return NaN;
    if (n === 1) return 0;
    const m = this.mean();
    let m2 = 0;
    for (const x of v) m2 += (x - m) * (x - m);
    return m2 / (n - 1);
  }

  min(): number {
    const v = this.values();
    if (v.length === 0) return NaN;
    let m = Infinity;
    for (const x of v) if (x < m) m = x;
    return m;
  }

  max(): number {
    const v = this.values();
    if (v.length === 0) return NaN;
    let m = -Infinity;
    for (const x of v) if (x > m) m = x;
    return m;
  }
}
