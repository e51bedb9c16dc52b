// Online regression residuals (issue 6, learned channel k = 2, "price away from fair value"): recursive least
// squares with forgetting predicts y from d regressors x (1..8), and the score is how far y lands from that
// prediction, in units of the prediction's own standard deviation. Score first (the a-priori residual
// e = y - yhat, with the parameters from before this point), learn second.
//
// The model, for one point (y, x), with the state's forgetting factor lambda:
//   intercept on : z = x - mx, w = y - my (mx, my: means with forgetting lambda, the first point's values at the
//                  start), yhat = my + theta.z. Centring is the exponentially weighted least-squares equivalent of a
//                  column of ones, chosen for conditioning: prices near 1e5 moving by 1e-4 enter as differences of
//                  ~10, exactly computed, instead of a [1e5, 1] design whose information matrix has a condition
//                  number ~1e12 (ill-posed in double). A drift of the level over weeks does not degrade it either.
//   intercept off: z = x, w = y, yhat = theta.z (regression through the origin: the caller centres).
//   e = w - theta.z;  Pz = P z;  r = z'Pz
//   directional forgetting (Kulhavy 1987, "Restricted exponential forgetting in real-time identification",
//   Automatica 23(5); the information-matrix form of Bittanti, Bolzern and Campi 1990, Automatica 26(5)): with
//   R = P^-1, R <- R - ((1 - mu) / r) z z' + z z', i.e. the information is forgotten (by mu) only in the direction
//   the point excites, and the rest of R is kept. Exponential forgetting (R <- mu R + z z') divides all of P by mu
//   every step, so with non-exciting regressors (x constant for hours) P grows as mu^-n in the unexcited directions
//   (estimator wind-up, Astrom and Wittenmark, "Adaptive Control", 2nd ed., 11.2): 0.995^-100000 ~ 1e217, then
//   Infinity, and the first informative point after it throws theta anywhere. Here P never grows outside z, and
//   along z only until r reaches 1 - mu (the fixed point of r <- r / (mu + r)). In P form (Sherman-Morrison):
//     k = Pz / (mu + r);  theta += k ec;  P -= ((r - (1 - mu)) / r) / (mu + r) * Pz Pz'
//   and the a-priori variance of e is s2 (1 + r / mu). Belt and braces for regressors that shrink towards 0 (P
//   would grow along them as (1 - mu) / |z|^2): a step whose forgetting would take trace(P) above its initial
//   d * delta forgets nothing (mu = 1), so trace(P) <= d * delta always (a bounded-trace rule, Goodwin and Sin 1984,
//   "Adaptive Filtering, Prediction and Control", 3.7). A step with r <= 1e-150 (z = 0: a constant regressor
//   after centring) carries no information: theta and P are left as they are.
//   Symmetry: P(i,j) and P(j,i) get the same value (the upper triangle is computed and mirrored), so P is exactly
//   symmetric. A P that has lost definiteness by rounding (r < 0 or not finite) is reset to delta I (counted).
// The scale and the score:
//   sigma = max(minScale, sqrt(s2 (1 + r / mu))), the predictive standard deviation, with s2 a forgetting mean of
//   ec^2 / (1 + r / mu) (the squared standardised innovation, whose expectation is the noise variance when the
//   model holds). Chosen over a running scale of the raw residuals because it discounts a residual where the model
//   knows it is uncertain (the first points, a direction of x not seen for long): no alarm for a new combination
//   of regressors the model has not learnt yet, while a residual where the fit is good counts in full.
//   score = |e| / sigma (>= 0, unbounded, 0 during the first `warmup` points). minScale floors sigma so that a
//   perfectly fitted series does not turn a rounding residual into a huge score.
// Robustness: once warm, the residual learnt from is clipped at `clip` sigma (ec = clamp(e, +-clip sigma); clip
//   Infinity: off), a Huber-type M-estimate (Chan and Zou 2004, "A recursive least M-estimate algorithm for
//   robust adaptive filtering in impulsive noise", IEEE SPL 11(12)): one outlier moves theta, my and s2 by at
//   most what a clip-sigma residual would. A real shift is still learnt: s2 grows by (1 - lambda)(clip^2 - 1) of
//   itself per step while the residual stays at the clip, so the clip widens geometrically.
//   A point with a non-finite value or a value beyond 1e15 in magnitude is refused: score 0, state untouched.
//
// Two blocks like the other learned kernels: the model is the shape only (shared, read-only):
//     0 u32 d | 4 u32 intercept | 8..15 reserved (0)
//   the state (per instrument, 8-aligned):
//     0 u32 d | 4 u32 intercept | 8 u32 warmup | 12 u32 covariance resets
//     16 i64 points learnt | 24 f64 lambda | 32 f64 delta | 40 f64 minScale | 48 f64 clip | 56 f64 s2 | 64 f64 my
//     72 f64 yhat, the last accepted point's prediction (y - e: what an alert reports as expected)
//     80 f64 theta[d] | f64 mx[d] | f64 z[d] (scratch) | f64 Pz[d] (scratch) | f64 P[d * d]
//   A point is f64[1 + d]: y, then x.
import { finite } from "./util";

export const RLS_M_BYTES: i32 = 16;
export const RLS_S_HEADER: i32 = 80;
export const RLS_MAX_DIMS: i32 = 8;
export const RLS_MAX_ABS: f64 = 1e15;
export const RLS_R_MIN: f64 = 1e-150;

export function rlsValidShape(d: i32, intercept: i32): bool {
  return d >= 1 && d <= RLS_MAX_DIMS && intercept >= 0 && intercept <= 1;
}

export function rlsModelBytes(d: i32, intercept: i32): i32 {
  return rlsValidShape(d, intercept) ? RLS_M_BYTES : -5;
}

export function rlsModelInit(m: usize, d: i32, intercept: i32): i32 {
  if (!rlsValidShape(d, intercept)) return -5;
  memory.fill(m, 0, <usize>RLS_M_BYTES);
  store<u32>(m, <u32>d, 0);
  store<u32>(m, <u32>intercept, 4);
  return 0;
}

export function rlsStateBytes(d: i32, intercept: i32): i32 {
  if (!rlsValidShape(d, intercept)) return -5;
  return RLS_S_HEADER + 8 * (4 * d + d * d);
}

function validParams(lambda: f64, delta: f64, warmup: i32, minScale: f64, clip: f64): bool {
  return lambda >= 0.9 && lambda < 1.0 && delta >= 1e-6 && delta <= 1e12 && warmup >= 0
    && minScale > 0.0 && minScale <= 1e15 && clip >= 1.0; // clip may be Infinity (no clipping); NaN fails every test
}

/**
 * A fresh state for model m: forgetting factor lambda in [0.9, 1), P = delta I (delta in [1e-6, 1e12], in units of
 * 1 / z^2: large is a diffuse start), score 0 for the first `warmup` points, sigma floored at minScale (> 0, the
 * units of y), learning from residuals clipped at clip sigma (>= 1; Infinity: no clipping). 0 or -5.
 */
export function rlsStateInit(s: usize, m: usize, lambda: f64, delta: f64, warmup: i32, minScale: f64, clip: f64): i32 {
  if (!validParams(lambda, delta, warmup, minScale, clip)) return -5;
  const d = <i32>load<u32>(m, 0);
  const intercept = <i32>load<u32>(m, 4);
  if (!rlsValidShape(d, intercept)) return -5;
  memory.fill(s, 0, <usize>rlsStateBytes(d, intercept));
  store<u32>(s, <u32>d, 0);
  store<u32>(s, <u32>intercept, 4);
  store<u32>(s, <u32>warmup, 8);
  store<f64>(s, lambda, 24);
  store<f64>(s, delta, 32);
  store<f64>(s, minScale, 40);
  store<f64>(s, clip, 48);
  const p = s + <usize>RLS_S_HEADER + (<usize>(4 * d) << 3);
  for (let i = 0; i < d; i++) store<f64>(p + (<usize>(i * d + i) << 3), delta);
  return 0;
}

@inline function ok(v: f64): bool { return abs(v) <= RLS_MAX_ABS; } // false for NaN and +-Infinity too

/** Scores the point at pt (f64[1 + d]: y, x), then learns it. See the header comment. */
export function rlsStep(s: usize, m: usize, pt: usize): f64 {
  const d = <i32>load<u32>(s, 0);
  const y = load<f64>(pt);
  if (!ok(y)) return 0;
  for (let j = 0; j < d; j++) if (!ok(load<f64>(pt + (<usize>(j + 1) << 3)))) return 0;
  const xs = pt + 8;
  const n = load<i64>(s, 16);
  const lam = load<f64>(s, 24);
  const delta = load<f64>(s, 32);
  const th = s + <usize>RLS_S_HEADER;
  const mx = th + (<usize>d << 3);
  const z = mx + (<usize>d << 3);
  const pz = z + (<usize>d << 3);
  const P = pz + (<usize>d << 3);
  const inter = load<u32>(s, 4) != 0;
  let w = y;
  if (inter) {
    if (n == 0) {
      memory.copy(mx, xs, <usize>d << 3);
      store<f64>(s, y, 64);
    }
    w = y - load<f64>(s, 64);
  }
  let yh = 0.0;
  for (let j = 0; j < d; j++) {
    const o = <usize>j << 3;
    const zj = inter ? load<f64>(xs + o) - load<f64>(mx + o) : load<f64>(xs + o);
    store<f64>(z + o, zj);
    yh += load<f64>(th + o) * zj;
  }
  const e = w - yh;
  store<f64>(s, y - e, 72);
  let r = pzr(P, z, pz, d);
  if (!(r >= 0.0 && r < Infinity)) {
    // P lost definiteness (rounding over a very long run): start it again from delta I.
    memory.fill(P, 0, <usize>(d * d) << 3);
    for (let i = 0; i < d; i++) store<f64>(P + (<usize>(i * d + i) << 3), delta);
    store<u32>(s, load<u32>(s, 12) + 1, 12);
    r = pzr(P, z, pz, d);
  }
  const excited = r > RLS_R_MIN;
  let mu = lam;
  if (excited && r < 1.0 - lam) {
    // Forgetting would make P grow along z: not above the initial trace.
    const gl = ((r - (1.0 - lam)) / r) / (lam + r);
    let tr = 0.0;
    let pz2 = 0.0;
    for (let i = 0; i < d; i++) {
      tr += load<f64>(P + (<usize>(i * d + i) << 3));
      const a = load<f64>(pz + (<usize>i << 3));
      pz2 += a * a;
    }
    if (tr - gl * pz2 > <f64>d * delta) mu = 1.0;
  }
  const q = 1.0 + r / mu;
  const den = max(load<f64>(s, 40), Math.sqrt(load<f64>(s, 56) * q));
  const warm = n >= <i64>load<u32>(s, 8);
  let score = 0.0;
  let ec = e;
  if (warm) {
    score = abs(e) / den;
    const lim = load<f64>(s, 48) * den;
    ec = min(max(e, -lim), lim);
  }
  if (excited) {
    const inv = 1.0 / (mu + r);
    const g = ((r - (1.0 - mu)) / r) * inv;
    for (let i = 0; i < d; i++) {
      const o = <usize>i << 3;
      const a = load<f64>(pz + o);
      store<f64>(th + o, load<f64>(th + o) + a * inv * ec);
      for (let j = i; j < d; j++) {
        const v = load<f64>(P + (<usize>(i * d + j) << 3)) - g * (a * load<f64>(pz + (<usize>j << 3)));
        store<f64>(P + (<usize>(i * d + j) << 3), v);
        store<f64>(P + (<usize>(j * d + i) << 3), v);
      }
    }
  }
  const f = 1.0 - lam;
  store<f64>(s, lam * load<f64>(s, 56) + f * ((ec * ec) / q), 56);
  if (inter) {
    for (let j = 0; j < d; j++) {
      const o = <usize>j << 3;
      store<f64>(mx + o, load<f64>(mx + o) + f * load<f64>(z + o));
    }
    store<f64>(s, load<f64>(s, 64) + f * (w - (e - ec)), 64);
  }
  store<i64>(s, n + 1, 16);
  return score;
}

// Pz = P z (to pz) and r = z'Pz, row by row.
@inline function pzr(P: usize, z: usize, pz: usize, d: i32): f64 {
  let r = 0.0;
  for (let i = 0; i < d; i++) {
    let a = 0.0;
    const row = P + (<usize>(i * d) << 3);
    for (let j = 0; j < d; j++) a += load<f64>(row + (<usize>j << 3)) * load<f64>(z + (<usize>j << 3));
    store<f64>(pz + (<usize>i << 3), a);
    r += load<f64>(z + (<usize>i << 3)) * a;
  }
  return r;
}

/**
 * Whether state s fits model m and holds values the step relies on (a restored snapshot, for instance): 0, or -3.
 * Checks the shape, the parameters' ranges, finite theta, means, scale and prediction, and P exactly symmetric, finite, with
 * a positive diagonal.
 */
export function rlsStateCheck(s: usize, m: usize): i32 {
  const d = <i32>load<u32>(s, 0);
  if (load<u32>(s, 0) != load<u32>(m, 0) || load<u32>(s, 4) != load<u32>(m, 4) || !rlsValidShape(d, <i32>load<u32>(s, 4))) return -3;
  if (!validParams(load<f64>(s, 24), load<f64>(s, 32), <i32>load<u32>(s, 8), load<f64>(s, 40), load<f64>(s, 48))) return -3;
  if (load<i64>(s, 16) < 0 || !(load<f64>(s, 56) >= 0.0 && load<f64>(s, 56) < Infinity) || !finite(load<f64>(s, 64))) return -3;
  if (!finite(load<f64>(s, 72))) return -3;
  const th = s + <usize>RLS_S_HEADER;
  for (let j = 0; j < 2 * d; j++) if (!finite(load<f64>(th + (<usize>j << 3)))) return -3;
  const P = th + (<usize>(4 * d) << 3);
  for (let i = 0; i < d; i++) {
    if (!(load<f64>(P + (<usize>(i * d + i) << 3)) > 0.0)) return -3;
    for (let j = 0; j < d; j++) {
      const v = load<f64>(P + (<usize>(i * d + j) << 3));
      if (!finite(v) || load<u64>(P + (<usize>(i * d + j) << 3)) != load<u64>(P + (<usize>(j * d + i) << 3))) return -3;
    }
  }
  return 0;
}

/** rlsStep over n points at pts (f64[n * (1 + d)], row-major: y, x), scores to out (f64[n]). */
export function rlsStepMany(s: usize, m: usize, pts: usize, n: i32, out: usize): void {
  const stride = <usize>(load<u32>(s, 0) + 1) << 3;
  for (let i = 0; i < n; i++) store<f64>(out + (<usize>i << 3), rlsStep(s, m, pts + <usize>i * stride));
}
