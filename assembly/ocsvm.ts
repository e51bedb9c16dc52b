// Streaming one-class SVM (Schoelkopf et al. 2001) in the primal, over random Fourier features (Rahimi and Recht
// 2007) that approximate the RBF kernel k(x, y) = exp(-gamma ||x - y||^2):
//   z(x) = sqrt(2/D) cos(W u + b),  W ~ N(0, 2 gamma I) [D x dims],  b ~ U[0, 2 pi) [D],
// where u is the point after the per-instrument scaler (standardised units). SGD on
//   min_{w, rho >= 0} 1/2 ||w||^2 + 1/nu max(0, rho - w.z) - rho
// one point at a time. With v = rho - w.z (the margin violation) and hit = [v >= 0]:
//   w   <- (1 - eta) w + (eta / nu) z hit
//   rho <- max(0, rho + RHO_RATE eta level (1 - hit / nu))
// level is an EWMA (rate eta) of |w.z|: rho's step is preconditioned to the scale of w.z (~0.03-0.3 here, not 1),
// else one violation would move rho by more than its own size. The fixed point is the objective's: the fraction
// of hits is nu (rho is a stochastic nu-quantile tracker of w.z) and w the mean feature of the violators. rho >= 0
// holds at the optimum of a positive kernel; the projection stops the approximation's noise from driving it below
// every w.z (a dead state with no hits). Learning rate for the t-th point learnt (t from 0):
//   eta = min(nu, max(1/window, 1/(t + 1)))
// a running mean at first (capped at nu, so that the first violation does not weigh 1/nu), then constant 1/window
// so that the model keeps forgetting, with a horizon of `window` points. (The scaler's EWMA uses
// max(1/window, 1/(t + 1)), uncapped.)
// Score first, learn second: score = v / scale when v > 0 (else 0), scale = an exponentially weighted mean of the
// past positive violations (rate max(1/(window nu), 1/count), each update winsorised at 4 scale), so a typical
// boundary violation of a normal point scores ~1; 0 during warm-up.
//
// Two blocks, so that the random features are shared and only w, rho and the scaler are per instrument:
//   model (shared, a function of dims, D, gamma and the seed):
//     0 u32 dims | 4 u32 D | 8 u32 seed | 12 u32 PRNG state (generation only) | 16 f64 gamma | 24 f64 sqrt(2/D)
//     32 f64 W [D * dims] (component-major: W[k * dims + j]) | f64 b [D]
//   state (per instrument, 8-aligned):
//     0 u32 dims | 4 u32 D | 8 u32 window | 12 u32 warm-up (points scored 0) | 16 u32 scaler (0 min/max of the
//     last two windows, 1 EWMA standardiser) | 20 u32 points in the scaler's open window (scaler 0)
//     24 f64 nu | 32 f64 1/window | 40 i64 points learnt | 48 f64 rho | 56 f64 scale | 64 i64 violations learnt
//     72 f64 level (EWMA of |w.z|: the unit of rho's step)
//     80 f64 a [dims] | f64 b [dims] | f64 c [dims] | f64 d [dims] (scaler 0: lo, hi, loRef, hiRef; scaler 1:
//     mean, variance, unused, unused) | f64 u [dims] (scratch: the scaled point) | f64 w [D] | f64 z [D] (scratch)
// cos and log are this file's own polynomials (not Math.cos/Math.log), written with the same operation order as
// src/reference/ocsvm.ts, so that the module and its twin are bit-identical.
import { finite } from "./util";

export const OC_M_HEADER: i32 = 32;
export const OC_S_HEADER: i32 = 80;
export const OC_MAX_DIMS: i32 = 64;
export const OC_MAX_COMPONENTS: i32 = 1024;
export const OC_MAX_WINDOW: i32 = 1 << 24;
/** A scaled coordinate is clamped to +-ZMAX (standardised units): beyond it the RBF kernel is 0 anyway, and the
 * argument of cos stays small (accurate range reduction). */
export const OC_ZMAX: f64 = 16.0;
/** Coordinates beyond this magnitude are refused like non-finite ones: their squares would overflow. */
export const OC_XMAX: f64 = 1e150;
/** EWMA standardiser: deviations are winsorised at this many standard deviations once CLIP_AFTER points were seen. */
const CLIP_SD: f64 = 4.0;
const CLIP_AFTER: i64 = 32;
/** rho's step is RHO_RATE eta level: one violation moves rho down by at most RHO_RATE level (eta <= nu). */
const RHO_RATE: f64 = 0.25;
/** The violation scale's update is winsorised at this many scales. */
const SCALE_CLIP: f64 = 4.0;

// ---- cos and log, polynomials with a fixed operation order (the twin repeats it) ----

// pi in two pieces (fdlibm's pio2_1 and pio2_2, doubled): k * PI_1 is exact for |k| < 2^20, and what the two
// leave out of pi (8e-21) costs at most 3e-15 at |k| = 2^20 (|x| = 3e6); the step's arguments stay below ~1e3.
const PI_1: f64 = 2.0 * 1.57079632673412561417e+00;
const PI_2: f64 = 2.0 * 6.07710050630396597660e-11;
const INV_PI: f64 = 0.31830988618379067154;
// Taylor coefficients of cos on [-pi/2, pi/2]: (-1)^n / (2n)!, n = 1..9 (truncation error < (pi/2)^20 / 20! = 4e-15).
const C1: f64 = -1.0 / 2.0;
const C2: f64 = 1.0 / 24.0;
const C3: f64 = -1.0 / 720.0;
const C4: f64 = 1.0 / 40320.0;
const C5: f64 = -1.0 / 3628800.0;
const C6: f64 = 1.0 / 479001600.0;
const C7: f64 = -1.0 / 87178291200.0;
const C8: f64 = 1.0 / 20922789888000.0;
const C9: f64 = -1.0 / 6402373705728000.0;

/** cos(x) for |x| < 3e6: x = k pi + r with |r| <= pi/2, cos x = (-1)^k cos r; branch-free. */
@inline export function ocCos(x: f64): f64 {
  const k = Math.floor(x * INV_PI + 0.5);
  const r = (x - k * PI_1) - k * PI_2;
  const h = k * 0.5;
  const sign = 1.0 - 4.0 * (h - Math.floor(h));
  const q = r * r;
  const p = 1.0 + q * (C1 + q * (C2 + q * (C3 + q * (C4 + q * (C5 + q * (C6 + q * (C7 + q * (C8 + q * C9))))))));
  return sign * p;
}

// fdlibm's e_log.c: x = 2^e (1 + f), sqrt(2)/2 < 1 + f < sqrt(2), log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)).
const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const LG1: f64 = 6.666666666666735130e-01;
const LG2: f64 = 3.999999999940941908e-01;
const LG3: f64 = 2.857142874366239149e-01;
const LG4: f64 = 2.222219843214978396e-01;
const LG5: f64 = 1.818357216161805012e-01;
const LG6: f64 = 1.531383769920937332e-01;
const LG7: f64 = 1.479819860511658591e-01;
const SQRT2: f64 = 1.4142135623730951;

/** Natural log for positive normal x (the model's Box-Muller draws only). */
export function ocLog(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let e = <f64>(<i32>((bits >> 52) & 0x7ff) - 1023);
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > SQRT2) { m = m * 0.5; e = e + 1.0; }
  const f = m - 1.0;
  const s = f / (2.0 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  const R = t2 + t1;
  const hfsq = 0.5 * f * f;
  return e * LN2_HI - ((hfsq - (s * (hfsq + R) + e * LN2_LO)) - f);
}

// ---- model ----

export function ocValidShape(dims: i32, D: i32): bool {
  return dims >= 1 && dims <= OC_MAX_DIMS && D >= 1 && D <= OC_MAX_COMPONENTS;
}

export function ocModelBytes(dims: i32, D: i32): i32 {
  if (!ocValidShape(dims, D)) return -5;
  return OC_M_HEADER + 8 * D * (dims + 1);
}

// mulberry32 (Tommy Ettinger), the same arithmetic as src/random.ts: uniform in [0, 1) from a u32 state.
function rand(m: usize): f64 {
  const a = load<u32>(m, 12) + 0x6d2b79f5;
  store<u32>(m, a, 12);
  let t = a;
  t = (t ^ (t >>> 15)) * (t | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return <f64>(t ^ (t >>> 14)) / 4294967296.0;
}

/**
 * Draws the shared random features: W row after row (component-major), standard normals by Box-Muller in pairs
 * (r cos(2 pi v), then r sin(2 pi v) = r cos(2 pi v - pi/2)) times sqrt(2 gamma), then b = 2 pi U[0, 1).
 * 0, or -5 for a shape or gamma out of range (0 < gamma <= 1e6).
 */
export function ocModelInit(m: usize, dims: i32, D: i32, gamma: f64, seed: u32): i32 {
  if (!ocValidShape(dims, D) || !(gamma > 0 && gamma <= 1e6)) return -5;
  memory.fill(m, 0, <usize>ocModelBytes(dims, D));
  store<u32>(m, <u32>dims, 0);
  store<u32>(m, <u32>D, 4);
  store<u32>(m, seed, 8);
  store<u32>(m, seed, 12);
  store<f64>(m, gamma, 16);
  store<f64>(m, Math.sqrt(2.0 / <f64>D), 24);
  const W = m + <usize>OC_M_HEADER;
  const n = D * dims;
  const sd = Math.sqrt(2.0 * gamma);
  const twoPi = 2.0 * PI_1 + 2.0 * PI_2;
  const halfPi = 0.5 * PI_1 + 0.5 * PI_2;
  for (let i = 0; i < n; i += 2) {
    let u = rand(m);
    while (u == 0) u = rand(m);
    const v = rand(m);
    const r = Math.sqrt(-2.0 * ocLog(u));
    const a = twoPi * v;
    store<f64>(W + (<usize>i << 3), sd * (r * ocCos(a)));
    if (i + 1 < n) store<f64>(W + (<usize>(i + 1) << 3), sd * (r * ocCos(a - halfPi)));
  }
  const B = W + (<usize>n << 3);
  for (let k = 0; k < D; k++) store<f64>(B + (<usize>k << 3), twoPi * rand(m));
  return 0;
}

// ---- state ----

export function ocStateBytes(dims: i32, D: i32): i32 {
  if (!ocValidShape(dims, D)) return -5;
  return OC_S_HEADER + 40 * dims + 16 * D;
}

/**
 * A fresh per-instrument state on model m. nu in (0, 1]: the expected fraction of anomalies (the target fraction of
 * margin violations); window in [1, 2^24]: the forgetting horizon (the floor of the learning rate is 1/window, and
 * the scaler's window or EWMA horizon); warmup >= 0: points scored 0 at the start (still learnt); scaler 0: min/max
 * of the last complete window and the current one, 1: EWMA mean and variance with winsorised updates. 0 or -5.
 */
export function ocStateInit(s: usize, m: usize, nu: f64, window: i32, warmup: i32, scaler: i32): i32 {
  if (!(nu > 0 && nu <= 1) || window < 1 || window > OC_MAX_WINDOW || warmup < 0 || scaler < 0 || scaler > 1) return -5;
  const dims = <i32>load<u32>(m, 0);
  const D = <i32>load<u32>(m, 4);
  memory.fill(s, 0, <usize>ocStateBytes(dims, D));
  store<u32>(s, <u32>dims, 0);
  store<u32>(s, <u32>D, 4);
  store<u32>(s, <u32>window, 8);
  store<u32>(s, <u32>warmup, 12);
  store<u32>(s, <u32>scaler, 16);
  store<f64>(s, nu, 24);
  store<f64>(s, 1.0 / <f64>window, 32);
  if (scaler == 0) {
    const lo = s + <usize>OC_S_HEADER;
    const dd = <usize>dims << 3;
    for (let j = 0; j < dims; j++) {
      const o = <usize>j << 3;
      store<f64>(lo + o, Infinity);
      store<f64>(lo + dd + o, -Infinity);
      store<f64>(lo + 2 * dd + o, Infinity);
      store<f64>(lo + 3 * dd + o, -Infinity);
    }
  }
  return 0;
}

/**
 * Scores the point at x (f64[dims]), then learns it. A point with a non-finite coordinate (or one beyond +-1e150)
 * is refused: score 0, state untouched.
 */
export function ocStep(s: usize, m: usize, x: usize): f64 {
  const dims = <i32>load<u32>(s, 0);
  for (let j = 0; j < dims; j++) {
    const v = load<f64>(x + (<usize>j << 3));
    if (!(abs(v) <= OC_XMAX)) return 0;
  }
  const D = <i32>load<u32>(s, 4);
  const t = load<i64>(s, 40);
  const etaMin = load<f64>(s, 32);
  const dd = <usize>dims << 3;
  const pa = s + <usize>OC_S_HEADER;
  const pb = pa + dd;
  const pc = pb + dd;
  const pd = pc + dd;
  const u = pd + dd;
  const w = u + dd;
  const z = w + (<usize>D << 3);
  const rate = max(etaMin, 1.0 / <f64>(t + 1));
  // The scaler: each coordinate in standardised units by the statistics before it, then the statistics take it in.
  if (load<u32>(s, 16) == 0) {
    for (let j = 0; j < dims; j++) {
      const o = <usize>j << 3;
      const v = load<f64>(x + o);
      const lc = load<f64>(pa + o);
      const hc = load<f64>(pb + o);
      const a = min(lc, load<f64>(pc + o));
      const b = max(hc, load<f64>(pd + o));
      let y = 0.0;
      if (b > a) y = min(OC_ZMAX, max(-OC_ZMAX, (v - 0.5 * (a + b)) / (0.25 * (b - a))));
      store<f64>(u + o, y);
      if (v < lc) store<f64>(pa + o, v);
      if (v > hc) store<f64>(pb + o, v);
    }
    const count = load<u32>(s, 20) + 1;
    if (count >= load<u32>(s, 8)) {
      memory.copy(pc, pa, dd << 1);
      for (let j = 0; j < dims; j++) {
        store<f64>(pa + (<usize>j << 3), Infinity);
        store<f64>(pb + (<usize>j << 3), -Infinity);
      }
      store<u32>(s, 0, 20);
    } else {
      store<u32>(s, count, 20);
    }
  } else {
    const alpha = rate;
    const clip = t >= CLIP_AFTER;
    for (let j = 0; j < dims; j++) {
      const o = <usize>j << 3;
      const v = load<f64>(x + o);
      const mu = load<f64>(pa + o);
      const va = load<f64>(pb + o);
      const sd = Math.sqrt(va);
      let d = v - mu;
      let y = 0.0;
      if (va > 0) y = min(OC_ZMAX, max(-OC_ZMAX, d / sd));
      store<f64>(u + o, y);
      if (clip && va > 0) d = min(CLIP_SD * sd, max(-CLIP_SD * sd, d));
      store<f64>(pa + o, mu + alpha * d);
      store<f64>(pb + o, (1.0 - alpha) * (va + alpha * d * d));
    }
  }
  // Random features and the margin.
  const amp = load<f64>(m, 24);
  const W = m + <usize>OC_M_HEADER;
  const B = W + (<usize>(D * dims) << 3);
  // Two components at a time, each with its own accumulator (even and odd k), so that their chains overlap.
  let dot0 = 0.0;
  let dot1 = 0.0;
  let k = 0;
  for (; k + 2 <= D; k += 2) {
    const w0 = W + (<usize>(k * dims) << 3);
    const w1 = w0 + (<usize>dims << 3);
    let a0 = load<f64>(B + (<usize>k << 3));
    let a1 = load<f64>(B + (<usize>k << 3), 8);
    for (let j = 0; j < dims; j++) {
      const uj = load<f64>(u + (<usize>j << 3));
      a0 += load<f64>(w0 + (<usize>j << 3)) * uj;
      a1 += load<f64>(w1 + (<usize>j << 3)) * uj;
    }
    const z0 = amp * ocCos(a0);
    const z1 = amp * ocCos(a1);
    store<f64>(z + (<usize>k << 3), z0);
    store<f64>(z + (<usize>k << 3), z1, 8);
    dot0 += load<f64>(w + (<usize>k << 3)) * z0;
    dot1 += load<f64>(w + (<usize>k << 3), 8) * z1;
  }
  if (k < D) {
    const wk = W + (<usize>(k * dims) << 3);
    let a = load<f64>(B + (<usize>k << 3));
    for (let j = 0; j < dims; j++) a += load<f64>(wk + (<usize>j << 3)) * load<f64>(u + (<usize>j << 3));
    const zk = amp * ocCos(a);
    store<f64>(z + (<usize>k << 3), zk);
    dot0 += load<f64>(w + (<usize>k << 3)) * zk;
  }
  const dot = dot0 + dot1;
  const nu = load<f64>(s, 24);
  const eta = min(nu, rate);
  const rho = load<f64>(s, 48);
  const scale = load<f64>(s, 56);
  const viol = rho - dot;
  const hit = viol >= 0;
  let score = 0.0;
  if (viol > 0 && scale > 0 && t >= <i64>load<u32>(s, 12)) score = viol / scale;
  // Learn: the SGD step on w and rho, then the violation scale.
  const keep = 1.0 - eta;
  const gain = hit ? eta / nu : 0.0;
  for (let k = 0; k < D; k++) {
    const o = <usize>k << 3;
    store<f64>(w + o, keep * load<f64>(w + o) + gain * load<f64>(z + o));
  }
  const level = load<f64>(s, 72);
  store<f64>(s, max(0.0, rho + RHO_RATE * eta * level * (hit ? 1.0 - 1.0 / nu : 1.0)), 48);
  store<f64>(s, level + eta * (abs(dot) - level), 72);
  if (viol > 0) {
    const nv = load<i64>(s, 64) + 1;
    store<i64>(s, nv, 64);
    const a = min(1.0, max(etaMin / nu, 1.0 / <f64>nv));
    const v = scale > 0 ? min(viol, SCALE_CLIP * scale) : viol;
    store<f64>(s, scale + a * (v - scale), 56);
  }
  store<i64>(s, t + 1, 40);
  return score;
}

/**
 * Whether state s fits model m and holds values the step relies on (a restored snapshot, for instance): 0, or -3.
 */
export function ocStateCheck(s: usize, m: usize): i32 {
  const window = load<u32>(s, 8);
  if (load<u32>(s, 0) != load<u32>(m, 0) || load<u32>(s, 4) != load<u32>(m, 4)) return -3;
  if (window < 1 || window > <u32>OC_MAX_WINDOW || load<u32>(s, 12) > 0x7fffffff || load<u32>(s, 16) > 1) return -3;
  if (load<u32>(s, 20) >= window || load<f64>(s, 32) != 1.0 / <f64>window) return -3;
  const nu = load<f64>(s, 24);
  const t = load<i64>(s, 40);
  const nv = load<i64>(s, 64);
  if (!(nu > 0 && nu <= 1) || t < 0 || nv < 0 || nv > t) return -3;
  const scale = load<f64>(s, 56);
  const level = load<f64>(s, 72);
  if (!finite(load<f64>(s, 48)) || !(scale >= 0) || !finite(scale) || !(level >= 0) || !finite(level)) return -3;
  return 0;
}

/** ocStep over n points at xs (f64[n * dims], row-major), scores to out (f64[n]). */
export function ocStepMany(s: usize, m: usize, xs: usize, n: i32, out: usize): void {
  const stride = <usize>load<u32>(s, 0) << 3;
  for (let i = 0; i < n; i++) store<f64>(out + (<usize>i << 3), ocStep(s, m, xs + <usize>i * stride));
}
