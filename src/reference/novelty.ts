// Twin of assembly/novelty.ts: the novelty detector, written plainly (arrays, not offsets). See that file for the
// idea; this one must give the same scores bit for bit, so every arithmetic step is in the same order.

const DAY_NS = 86_400_000_000_000n;
const RING = 20;
const SCALES = 3;

export function phaseOf(tsNs: bigint, phases: number): number {
  const t = ((tsNs % DAY_NS) + DAY_NS) % DAY_NS;
  return Number((t * BigInt(phases)) / DAY_NS);
}

function width(lo: number, hi: number): number {
  const r = hi - lo;
  if (r > 0) return r;
  const a = Math.abs(hi);
  return a > 0 ? a : 1;
}

export interface NoveltyParams {
  noveltyRefractory: number;
  noveltyPhases: number;
  noveltyPhaseWarmupNs: number;
}

export class RefNovelty {
  /** Values pushed; the last RING of them. */
  count = 0;
  readonly ring = new Float64Array(RING);
  /** Observations left in the silent period. */
  silent = 0;
  t0: bigint | null = null;
  readonly lo = [Infinity, Infinity, Infinity];
  readonly hi = [-Infinity, -Infinity, -Infinity];
  /** Per phase of the day: the range of the 20-mean. */
  readonly phaseLo = new Array<number>(24).fill(Infinity);
  readonly phaseHi = new Array<number>(24).fill(-Infinity);
  /** The bound the last score crossed, or the value when inside. */
  expected = 0;

  /** Mean of the last k values, oldest first, NaN while fewer than k were pushed. */
  lastMean(k: number): number {
    if (this.count < k) return NaN;
    let s = 0;
    for (let i = this.count - k; i < this.count; i++) s += this.ring[i % RING];
    return s / k;
  }

  #scale(k: number, x: number): number { return k === 0 ? x : this.lastMean(k === 1 ? 5 : 20); }

  push(x: number, tsNs: bigint): void {
    if (this.t0 === null) this.t0 = tsNs;
    this.ring[this.count % RING] = x;
    this.count++;
  }

  score(x: number, tsNs: bigint, p: NoveltyParams, cap: number): number {
    let best = 0;
    let expected = x;
    for (let k = 0; k < SCALES; k++) {
      const y = this.#scale(k, x);
      const lo = this.lo[k];
      const hi = this.hi[k];
      if (Number.isNaN(y) || !(lo <= hi)) continue;
      const r = width(lo, hi);
      const ex = y > hi ? (y - hi) / r : (y < lo ? (lo - y) / r : 0);
      if (ex > best) { best = ex; expected = y > hi ? hi : lo; }
    }
    const P = p.noveltyPhases;
    // The module subtracts in i64: wrap as it does (only timestamps 292 years apart can tell).
    if (P > 0 && Number(BigInt.asIntN(64, tsNs - (this.t0 ?? tsNs))) >= p.noveltyPhaseWarmupNs) {
      const y = this.lastMean(20);
      if (!Number.isNaN(y)) {
        const ph = phaseOf(tsNs, P);
        let lo = Infinity;
        let hi = -Infinity;
        for (let q = -1; q <= 1; q++) {
          const i = (ph + q + P) % P;
          if (this.phaseLo[i] < lo) lo = this.phaseLo[i];
          if (this.phaseHi[i] > hi) hi = this.phaseHi[i];
        }
        if (lo <= hi) {
          const r = width(this.lo[2], this.hi[2]);
          const ex = y > hi ? (y - hi) / r : (y < lo ? (lo - y) / r : 0);
          if (ex > best) { best = ex; expected = y > hi ? hi : lo; }
        }
      }
    }
    let s = best * 1e4;
    if (!(s <= cap)) s = cap;
    if (this.silent > 0) {
      this.silent--;
      s = 0;
      expected = x;
    }
    this.expected = expected;
    return s;
  }

  /** After the channel judged `s` against the threshold in force: one that reached it starts the silent period. */
  judged(s: number, threshold: number, p: NoveltyParams): void {
    if (s > 0 && s >= threshold) this.silent = p.noveltyRefractory;
  }

  learn(x: number, tsNs: bigint, p: NoveltyParams): void {
    for (let k = 0; k < SCALES; k++) {
      const y = this.#scale(k, x);
      if (Number.isNaN(y)) continue;
      if (y < this.lo[k]) this.lo[k] = y;
      if (y > this.hi[k]) this.hi[k] = y;
    }
    if (p.noveltyPhases > 0) {
      const y = this.lastMean(20);
      if (!Number.isNaN(y)) {
        const ph = phaseOf(tsNs, p.noveltyPhases);
        if (y < this.phaseLo[ph]) this.phaseLo[ph] = y;
        if (y > this.phaseHi[ph]) this.phaseHi[ph] = y;
      }
    }
  }
}
