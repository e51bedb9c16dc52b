// Reference target-rate calibrator and the observation-rate estimate it needs, as in assembly/channel.ts
// (rateUpdate, rateNow, calibLearn, calibThreshold).
import { NS_PER_HOUR } from './constants.js';
import type { RefParams } from './params.js';

export type RateParams = Pick<RefParams, 'rateEpochNs' | 'rateMemoryNs'>;

/**
 * Observations per hour of one feature. Observations are counted per epoch of E ns, epochs starting at the first
 * observation. When an observation arrives k >= 1 whole epochs after the open epoch started, the open epoch closes:
 * its rate (count / E hours) is blended into the estimate with weight 1 - keep, keep = exp(-E / tau) (the first
 * closed epoch sets the estimate), and each of the k - 1 empty epochs after it multiplies the estimate by keep
 * (blending in a rate of 0). Until an epoch has closed, the rate is the count so far over the time since the
 * first observation.
 */
export class RateEstimator {
  /** Observations so far. */
  observations = 0;
  firstTs = 0n;
  epochStart = 0n;
  /** Observations in the open epoch. */
  epochCount = 0;
  /** Decayed per-hour rate, valid once ready. */
  rate = 0;
  ready = false;

  /** Count one observation at ts (called before the detectors score it). */
  observe(ts: bigint, p: RateParams): void {
    if (this.observations === 0) {
      this.firstTs = ts;
      this.epochStart = ts;
    }
    const elapsed = ts - this.epochStart;
    if (elapsed >= p.rateEpochNs) {
      const k = elapsed / p.rateEpochNs; // whole epochs passed
      const epochHours = Number(p.rateEpochNs) / NS_PER_HOUR;
      const epochRate = this.epochCount / epochHours;
      const keep = Math.exp(-Number(p.rateEpochNs) / p.rateMemoryNs);
      let rate = this.ready ? keep * this.rate + (1 - keep) * epochRate : epochRate;
      if (k > 1n) rate *= Math.pow(keep, Number(k - 1n));
      this.rate = rate;
      this.ready = true;
      this.epochCount = 0;
      this.epochStart += k * p.rateEpochNs;
    }
    this.epochCount += 1;
    this.observations++;
  }

  /** Observations per hour as seen at ts. */
  perHour(ts: bigint): number {
    if (this.ready) return this.rate;
    const elapsed = ts - this.firstTs;
    return elapsed > 0n ? this.epochCount / (Number(elapsed) / NS_PER_HOUR) : 0;
  }
}

export type TailParams = Pick<RefParams, 'tailP' | 'tailMemory' | 'quantileStep'>;

/** A cluster's peak excess counts for at most this many mean excesses. */
export const EXCESS_CLIP = 10;

/**
 * Peaks over a threshold (SPOT, Siffer et al. 2017) with a moving base threshold, declustered by runs:
 *  - u tracks the (1 - p_u) quantile of the scores by stochastic approximation (Robbins and Monro 1951): a score
 *    above u raises it by step (1 - p_u), one at or below lowers it by step p_u (never below 0); the step is
 *    quantileStep times the mean excess m1 (as it was before this score), so it scales with the scores;
 *  - runs declustering (Smith and Weissman 1994; Coles 2001, 5.3.2): a run of consecutive scores above u is one
 *    cluster; when the run ends (a score at or below u), its peak excess, clipped to EXCESS_CLIP m1, is the one
 *    excess it contributes;
 *  - each peak y updates decayed moments with memory M: w = w (1 - 1/M) + 1, m1 += (y - m1) / w,
 *    m2 += (y^2 - m2) / w; they start at the moments of a unit exponential (m1 = 1, m2 = 2, w = 1);
 *  - pc, the fraction of scores that open a cluster, is an EWMA with weight p_u / M of the indicator "this
 *    score opened a cluster", starting at p_u;
 *  - the generalised Pareto tail is fitted by the method of moments (Hosking and Wallis 1987): for a GPD,
 *    mean = beta / (1 - xi) and var = beta^2 / ((1 - xi)^2 (1 - 2 xi)), so xi = (1 - m1^2 / var) / 2 and
 *    beta = m1 (1 - xi), xi clamped to [-0.45, 0.45];
 *  - for an alert probability p per score, with r = pc / p > 1, the threshold is the GPD quantile
 *    (Pickands 1975) t = u + beta / xi (r^xi - 1), or its limit u + beta ln r as xi -> 0; for r <= 1 it is u.
 */
export class TailCalibrator {
  u = 0;
  m1 = 0;
  m2 = 0;
  w = 0;
  pc = 0;
  /** Scores learnt. */
  n = 0;
  /** A run of scores above u is open, and its peak excess so far. */
  inCluster = false;
  clusterPeak = 0;

  /** Learn one score; returns true when a cluster closed (the tail moments changed). */
  learn(s: number, p: TailParams): boolean {
    const pu = p.tailP;
    if (this.n === 0) {
      this.u = s;
      this.m1 = 1;
      this.m2 = 2;
      this.w = 1;
      this.pc = pu;
    }
    const m1 = this.m1;
    let opened = 0;
    let closed = false;
    if (s > this.u) {
      const y = s - this.u;
      if (this.inCluster) {
        if (y > this.clusterPeak) this.clusterPeak = y;
      } else {
        this.inCluster = true;
        this.clusterPeak = y;
        opened = 1;
      }
    } else if (this.inCluster) {
      this.inCluster = false;
      const y = Math.min(this.clusterPeak, EXCESS_CLIP * m1);
      this.w = this.w * (1 - 1 / p.tailMemory) + 1;
      this.m1 = m1 + (y - m1) / this.w;
      this.m2 = this.m2 + (y * y - this.m2) / this.w;
      closed = true;
    }
    this.pc = this.pc + (opened - this.pc) * (pu / p.tailMemory);
    const step = p.quantileStep * m1;
    const u = s > this.u ? this.u + step * (1 - pu) : this.u - step * pu;
    this.u = u < 0 ? 0 : u;
    this.n++;
    return closed;
  }

  /** The score exceeded with probability p per score. */
  threshold(prob: number): number {
    const r = this.pc / prob;
    if (!(r > 1)) return this.u;
    const variance = this.m2 - this.m1 * this.m1;
    let xi = variance > 0 ? 0.5 * (1 - (this.m1 * this.m1) / variance) : 0;
    if (xi > 0.45) xi = 0.45;
    if (xi < -0.45) xi = -0.45;
    const beta = this.m1 * (1 - xi);
    if (Math.abs(xi) < 1e-9) return this.u + beta * Math.log(r);
    return this.u + (beta / xi) * (Math.pow(r, xi) - 1);
  }
}
