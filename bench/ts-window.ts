// The rolling mean/variance kernel written in plain TypeScript with the same algorithm as assembly/window.ts
// (ring + shifted sums S1 = sum(x - K), S2 = sum((x - K)^2), recomputed exactly and re-centred every W updates):
// the baseline a user would otherwise write, so that WASM and TypeScript are compared on equal algorithms.
/** n 2^20 / (2^20 + 1) per value held: the stale-shift test S1^2 > S2 n STALE (assembly/window.ts). */
const STALE = 1048576 / 1048577;

export class TsMeanVar {
  readonly ring: Float64Array;
  n = 0;
  head = 0;
  since = 0;
  k = 0;
  s1 = 0;
  s2 = 0;
  constructor(readonly w: number) { this.ring = new Float64Array(w); }

  push(x: number): void {
    if (!(x - x === 0)) return;
    const { w, ring } = this;
    if (this.n === 0) this.k = x;
    const y = x - this.k;
    if (this.n < w) {
      ring[this.head] = x;
      this.n++;
      this.s1 += y;
      this.s2 += y * y;
    } else {
      const z = ring[this.head] - this.k;
      ring[this.head] = x;
      this.s1 += y - z;
      const zz = z * z;
      if (!(zz <= 0.5 * this.s2) || zz === Infinity) this.since = w; // a dominant value left
      this.s2 += y * y - zz;
    }
    this.head = this.head + 1 === w ? 0 : this.head + 1;
    if (this.s1 * this.s1 > this.s2 * (this.n * STALE)) this.since = w; // a stale shift
    if (++this.since >= w) { this.recompute(); this.since = 0; }
  }

  /** The batched form, state in locals for the whole batch: the same shape as the WASM window_push_many. */
  pushMany(xs: Float64Array): void {
    const { w, ring } = this;
    let { n, head, since, k, s1, s2 } = this;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      if (!(x - x === 0)) continue;
      if (n === 0) k = x;
      const y = x - k;
      if (n < w) {
        ring[head] = x;
        n++;
        s1 += y;
        s2 += y * y;
      } else {
        const z = ring[head] - k;
        ring[head] = x;
        s1 += y - z;
        const zz = z * z;
        if (!(zz <= 0.5 * s2) || zz === Infinity) since = w;
        s2 += y * y - zz;
      }
      head = head + 1 === w ? 0 : head + 1;
      if (s1 * s1 > s2 * (n * STALE)) since = w;
      if (++since >= w) {
        this.n = n;
        this.recompute();
        k = this.k; s1 = this.s1; s2 = this.s2;
        since = 0;
      }
    }
    Object.assign(this, { n, head, since, k, s1, s2 });
  }

  recompute(): void {
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += this.ring[i];
    let k = sum / this.n;
    let c = 0;
    for (let i = 0; i < this.n; i++) c += this.ring[i] - k;
    k += c / this.n;
    let s1 = 0, s2 = 0;
    for (let i = 0; i < this.n; i++) { const d = this.ring[i] - k; s1 += d; s2 += d * d; }
    this.k = k; this.s1 = s1; this.s2 = s2;
  }

  // Like the WASM kernel, multiply by 1/n and 1/(n - 1) (which it keeps as n changes) rather than divide.
  mean(): number { return this.n > 0 ? this.k + this.s1 * (1 / this.n) : NaN; }
  variance(): number {
    if (this.n < 2) return this.n === 1 ? 0 : NaN;
    const m2 = this.s2 - this.s1 * this.s1 * (1 / this.n);
    return m2 > 0 ? m2 * (1 / (this.n - 1)) : 0;
  }
}
