// Reference detector math, one small function per formula, each as assembly/channel.ts `observe` applies it.
// Scores are >= 0, higher = more anomalous. Every score is capped at `cap`; a score that is not a number (0/0: no
// deviation over a scale of 0) is 0.
import { MAD_TO_SIGMA } from './constants.js';

/** s, cap when s > cap, 0 when s is NaN. */
export function capScore(s: number, cap: number): number {
  return s <= cap ? s : s > cap ? cap : 0;
}

/** A scale floored at minScale (so that a flat window does not divide by 0). */
export function floorScale(scale: number, minScale: number): number {
  return scale < minScale ? minScale : scale;
}

/** z-score: |x - mean| / sd, sd the window's sample standard deviation (floored). */
export function zScore(x: number, mean: number, sd: number, cap: number): number {
  return capScore(Math.abs(x - mean) / sd, cap);
}

/**
 * Robust z-score: |x - median| / (1.4826 MAD), the MAD scaled to estimate sigma for normal data
 * (1 / Phi^-1(3/4); Rousseeuw and Croux 1993). The scale is floored at minScale.
 */
export function robustZ(x: number, median: number, mad: number, minScale: number, cap: number): number {
  const scale = floorScale(MAD_TO_SIGMA * mad, minScale);
  return capScore(Math.abs(x - median) / scale, cap);
}

/** EWMA control chart statistic (Roberts 1959): c_t = lambda x_t + (1 - lambda) c_{t-1}. */
export function ewmaChartNext(chartPrev: number, x: number, lambda: number): number {
  return lambda * x + (1 - lambda) * chartPrev;
}

/**
 * EWMA chart score: |c - mu| over the chart's steady-state standard deviation sigma sqrt(lambda / (2 - lambda))
 * (Lucas and Saccucci 1990); mu and sigma are the baseline EWMA's mean and (floored) sd before x is learnt.
 */
export function ewmaChartScore(chart: number, mu: number, sigma: number, lambda: number, cap: number): number {
  return capScore(Math.abs(chart - mu) / (sigma * Math.sqrt(lambda / (2 - lambda))), cap);
}

/** max(0, s) with NaN taken as 0, then capped. */
function clampSum(s: number, cap: number): number {
  const t = s > 0 ? s : 0;
  return t > cap ? cap : t;
}

/**
 * Two-sided tabular CUSUM on the standardised value z (Page 1954; Montgomery, Introduction to Statistical Quality
 * Control, 9.1): S+ = max(0, S+ + z - k), S- = max(0, S- - z - k); the score is the larger.
 */
export function cusumStep(pos: number, neg: number, z: number, k: number, cap: number): { pos: number; neg: number; score: number } {
  const p = clampSum(pos + z - k, cap);
  const n = clampSum(neg - z - k, cap);
  return { pos: p, neg: n, score: p > n ? p : n };
}

/**
 * Page-Hinkley (Page 1954; Hinkley 1971) in its recursive (Lindley) form: m_t - min_{s<=t} m_s equals
 * max(0, previous + dev - delta); River's fading factor alpha multiplies the previous sum. dev is the value's
 * deviation from the slow running mean, in window sd. Two sides, the score is the larger.
 */
export function pageHinkleyStep(up: number, dn: number, dev: number, delta: number, alpha: number, cap: number): { up: number; dn: number; score: number } {
  const u = clampSum(alpha * up + dev - delta, cap);
  const d = clampSum(alpha * dn - dev - delta, cap);
  return { up: u, dn: d, score: u > d ? u : d };
}

/**
 * Weight of the n-th value (n >= 1) in the Page-Hinkley slow running mean: 1/n (the plain mean) until 1/n falls
 * to 1 - alpha, then the constant 1 - alpha (an EWMA).
 */
export function slowMeanWeight(n: number, alpha: number): number {
  const plain = 1 / n;
  const floor = 1 - alpha;
  return plain < floor ? floor : plain;
}
