// The rolling mean/variance kernel written in plain TypeScript with the same algorithm as assembly/window.ts
// (ring + sliding Welford + exact recomputation every W updates): the baseline a user would otherwise write,
// so that WASM and TypeScript are compared on equal algorithms.
export class TsMeanVar {
  readonly ring: Float64Array;
  n = 0;
  head = 0;
  since = 0;
  mean = 0;
  m2 = 0;
  constructor(readonly w: number) { this.ring = new Float64Array(w); }

  push(x: number): void {
    if (!(x - x === 0)) return;
    const { w, ring } = this;
    const mean = this.mean;
    if (this.n < w) {
      ring[this.head] = x;
      const n1 = ++this.n;
      const d = x - mean;
      this.mean = mean + d / n1;
      this.m2 += d * (x - this.mean);
    } else {
      const old = ring[this.head];
      ring[this.head] = x;
      const mean1 = mean + (x - old) / w;
      this.m2 += (x - old) * (x - mean1 + old - mean);
      this.mean = mean1;
    }
    this.head = this.head + 1 === w ? 0 : this.head + 1;
    if (++this.since >= w) { this.recompute(); this.since = 0; }
  }

  /** The batched form, state in locals for the whole batch: the same shape as the WASM window_push_many. */
  pushMany(xs: Float64Array): void {
    const { w, ring } = this;
    const inv = 1 / w;
    let { n, head, since, mean, m2 } = this;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      if (!(x - x === 0)) continue;
      if (n < w) {
        ring[head] = x;
        n++;
        const d = x - mean;
        const mean1 = mean + d / n;
        m2 += d * (x - mean1);
        mean = mean1;
      } else {
        const old = ring[head];
        ring[head] = x;
        const mean1 = mean + (x - old) * inv;
        m2 += (x - old) * (x - mean1 + old - mean);
        mean = mean1;
      }
      head = head + 1 === w ? 0 : head + 1;
      if (++since >= w) {
        this.n = n;
        this.recompute();
        mean = this.mean; m2 = this.m2;
        since = 0;
      }
    }
    Object.assign(this, { n, head, since, mean, m2 });
  }

  recompute(): void {
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += this.ring[i];
    const mean = sum / this.n;
    let m2 = 0;
    for (let i = 0; i < this.n; i++) { const d = this.ring[i] - mean; m2 += d * d; }
    this.mean = mean;
    this.m2 = m2;
  }

  variance(): number { return this.n > 1 ? Math.max(this.m2, 0) / (this.n - 1) : this.n === 1 ? 0 : NaN; }
}
