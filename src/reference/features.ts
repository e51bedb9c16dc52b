// Reference event validation and regime math (assembly/engine.ts: check, timeWeight, updateVol, updateSpread,
// updateRegime).
import * as K from './constants.js';

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
    case K.K_MARK: // mark, index?, funding?
      if (!finite(f0) || optionalBad(f1) || optionalBad(f2)) return K.R_NONFINITE;
      if (f0 <= 0 || f1 <= 0) return K.R_NEGATIVE;
      return K.R_OK;
    case K.K_OPTION: // markIv, underlying?, markPrice?, bidIv?, askIv?
      if (!finite(f0) || optionalBad(f1) || optionalBad(f2) || optionalBad(f3) || optionalBad(f4)) return K.R_NONFINITE;
      if (f0 < 0 || f1 <= 0 || f2 < 0 || f3 < 0 || f4 < 0) return K.R_NEGATIVE;
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
 * exact at dt = 0 (no weight) and as dt -> infinity (all weight).
 */
export function timeWeight(dtNs: bigint, tauNs: number): number {
  const d = Number(dtNs);
  return d / (tauNs + d);
}

/**
 * A pair of time-EWMAs (fast and slow) of one quantity, irregularly spaced: the first value sets both; then each
 * moves toward the new value by its weight for the time since the previous value.
 */
export class FastSlow {
  started = false;
  fast = 0;
  slow = 0;
  lastTs = 0n;

  update(ts: bigint, x: number, fastNs: number, slowNs: number): void {
    if (!this.started) {
      this.fast = x;
      this.slow = x;
      this.started = true;
    } else {
      const dt = ts - this.lastTs;
      const wf = timeWeight(dt, fastNs);
      const ws = timeWeight(dt, slowNs);
      this.fast = this.fast + wf * (x - this.fast);
      this.slow = this.slow + ws * (x - this.slow);
    }
    this.lastTs = ts;
  }
}

/** Volatility ratio: sqrt(fast / slow variance of returns, bps^2); 1 while the slow variance is 0. */
export function volRatioOf(v: FastSlow): number {
  return v.slow > 0 ? Math.sqrt(v.fast / v.slow) : 1;
}

/** Liquidity ratio: fast / slow spread (bps); 1 while the slow spread is 0. */
export function liqRatioOf(s: FastSlow): number {
  return s.slow > 0 ? s.fast / s.slow : 1;
}

/** Regime factor: clamp(volRatio^a * liqRatio^b, min, max), NaN taken as min. */
export function regimeFactorOf(volRatio: number, liqRatio: number, a: number, b: number, min: number, max: number): number {
  let f = Math.pow(volRatio, a) * Math.pow(liqRatio, b);
  if (!(f >= min)) f = min;
  if (f > max) f = max;
  return f;
}
