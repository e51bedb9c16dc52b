// Reference event validation and regime math (assembly/engine.ts: check, timeWeight, updateRegime).
import * as K from '../abi.js';
import type { RefParams } from './params.js';

const finite = Number.isFinite;
/** Optional fields: NaN means absent; +-Infinity is never accepted. */
const optionalBad = (x: number): boolean => x === Infinity || x === -Infinity;

/**
 * Reject reason of an event's fields (R_OK when valid), checked in this order: kind known, required fields
 * finite and optional ones not infinite, then signs, then (quotes) ask >= bid.
 */
export function check(kind: number, f: readonly number[]): number {
  const [f0, f1, f2, f3, f4, f5] = f;
  switch (kind) {
    case K.K_TRADE: // price, size, side
      if (!finite(f0) || !finite(f1) || !finite(f2)) return K.R_NONFINITE;
      if (f0 <= 0 || f1 < 0) return K.R_NEGATIVE;
      return K.R_OK;
    case K.K_QUOTE: // bid, bidSize, ask, askSize, bidDepth?, askDepth?
      if (!finite(f0) || !finite(f1) || !finite(f2) || !finite(f3) || optionalBad(f4) || optionalBad(f5)) return K.R_NONFINITE;
      if (f0 <= 0 || f2 <= 0 || f1 < 0 || f3 < 0 || f4 < 0 || f5 < 0) return K.R_NEGATIVE; // NaN < 0 is false: absent is fine
      if (f2 < f0) return K.R_CROSSED;
      return K.R_OK;
    case K.K_MARK: // mark?, index?, funding?: at least one of mark and index
      if (optionalBad(f0) || optionalBad(f1) || optionalBad(f2) || (Number.isNaN(f0) && Number.isNaN(f1))) return K.R_NONFINITE;
      if (f0 <= 0 || f1 <= 0) return K.R_NEGATIVE;
      return K.R_OK;
    case K.K_OPTION: // markIv, underlying?, markPrice?, bidIv?, askIv?, neighbourIv?
      if (!finite(f0) || optionalBad(f1) || optionalBad(f2) || optionalBad(f3) || optionalBad(f4) || optionalBad(f5)) return K.R_NONFINITE;
      if (f0 < 0 || f1 <= 0 || f2 < 0 || f3 < 0 || f4 < 0 || f5 < 0) return K.R_NEGATIVE;
      return K.R_OK;
    case K.K_VALUE:
      if (!finite(f0)) return K.R_NONFINITE;
      return K.R_OK;
    default:
      return K.R_BAD_KIND;
  }
}

/**
 * Weight of a new value in a time-EWMA after dt ns: dt / (tau + dt), the first-order form of 1 - exp(-dt / tau),
 * exact at dt = 0 (no weight) and as dt -> infinity (all weight). While less than tau of history exists the
 * weight is dt / elapsed when that is larger (elapsed = time since the first value): the running time-average,
 * so that a slow estimate does not rest on its first value.
 */
export function timeWeight(dtNs: number, tauNs: number, elapsedNs: number): number {
  const ewma = dtNs / (tauNs + dtNs);
  const average = dtNs / elapsedNs;
  return elapsedNs > 0 && average > ewma ? average : ewma;
}

export type RegimeParams = Pick<RefParams, 'volFastNs' | 'volSlowNs' | 'regimeVolExp' | 'regimeLiqExp' | 'regimeMin' | 'regimeMax'>;

/**
 * The volatility and liquidity regime of one instrument, updated once per closed time bucket (assembly/engine.ts,
 * updateRegime) from that bucket's squared returns (bps^2: mid changes, or trade price changes on an instrument
 * without quotes) and quote spreads. When k >= 1 buckets close at once (k - 1 of them empty), the realised
 * variance per bucket is sum r^2 / k (the empty buckets had no price change) and the mean spread is the mean of
 * the bucket's spreads; each moves a fast and a slow time-EWMA with weight timeWeight(k bucketNs, tau, elapsed),
 * elapsed measured from k buckets before the first update. The first spread sets both spread averages; the
 * variance averages start at 0 and the first update has weight 1 (dt = elapsed).
 *   volRatio = sqrt(varFast / varSlow) (1 while varSlow is 0), liqRatio = spreadFast / spreadSlow (1 while 0),
 *   factor = clamp(volRatio^a liqRatio^b, min, max), kept only when some channel is in the regime mode.
 */
export class Regime {
  started = false;
  firstNs = 0n;
  varFast = 0;
  varSlow = 0;
  spreadStarted = false;
  spreadFast = 0;
  spreadSlow = 0;
  volRatio = 1;
  liqRatio = 1;
  factor = 1;

  /**
   * Close `buckets` buckets at ts. `priced`: the instrument has seen a trade or a quote; `returns`: the closed
   * bucket's returns (bps) that feed the regime; `spreads`: its quotes' spreads (bps).
   */
  close(ts: bigint, buckets: bigint, bucketNs: bigint, priced: boolean, returns: readonly number[], spreads: readonly number[],
        anyRegime: boolean, p: RegimeParams): void {
    if (!priced && spreads.length === 0) return;
    if (!this.started) {
      this.started = true;
      this.firstNs = ts - buckets * bucketNs;
    }
    const dt = Number(buckets * bucketNs);
    const elapsed = Number(ts - this.firstNs);
    const wf = timeWeight(dt, p.volFastNs, elapsed);
    const ws = timeWeight(dt, p.volSlowNs, elapsed);
    let sumR2 = 0;
    for (const r of returns) sumR2 += r * r;
    const rv = sumR2 / Number(buckets);
    // A return whose square overflowed: the bucket's variance is refused.
    if (priced && Number.isFinite(rv)) {
      this.varFast = this.varFast + wf * (rv - this.varFast);
      this.varSlow = this.varSlow + ws * (rv - this.varSlow);
      this.volRatio = this.varSlow > 0 ? Math.sqrt(this.varFast / this.varSlow) : 1;
    }
    if (spreads.length > 0) {
      let sum = 0;
      for (const x of spreads) sum += x;
      const spread = sum / spreads.length;
      if (!this.spreadStarted) {
        this.spreadStarted = true;
        this.spreadFast = spread;
        this.spreadSlow = spread;
      } else {
        this.spreadFast = this.spreadFast + wf * (spread - this.spreadFast);
        this.spreadSlow = this.spreadSlow + ws * (spread - this.spreadSlow);
      }
      this.liqRatio = this.spreadSlow > 0 ? this.spreadFast / this.spreadSlow : 1;
    }
    if (anyRegime) {
      this.factor = regimeFactorOf(this.volRatio, this.liqRatio, p.regimeVolExp, p.regimeLiqExp, p.regimeMin, p.regimeMax);
    }
  }
}

/** Regime factor: clamp(volRatio^a * liqRatio^b, min, max), NaN taken as min. */
export function regimeFactorOf(volRatio: number, liqRatio: number, a: number, b: number, min: number, max: number): number {
  let f = Math.pow(volRatio, a) * Math.pow(liqRatio, b);
  if (!(f >= min)) f = min;
  if (f > max) f = max;
  return f;
}
