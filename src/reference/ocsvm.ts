// Plain-TypeScript twin of assembly/ocsvm.ts (a streaming one-class SVM over random Fourier features): the same
// features from the same mulberry32 stream, the same cos and log polynomials, the same operations in the same
// order, so its scores and state are bit-identical to the module's. Read assembly/ocsvm.ts for the algorithm.
import { mulberry32 } from '../random.js';

export const OC_MAX_DIMS = 64;
export const OC_MAX_COMPONENTS = 1024;
export const OC_MAX_WINDOW = 1 << 24;
export const OC_ZMAX = 16;
export const OC_XMAX = 1e150;
const CLIP_SD = 4;
const CLIP_AFTER = 32;
const SCALE_CLIP = 4;
const RHO_RATE = 0.25;

/** Defaults: see docs/learned-kernels.md ("One-class SVM") for the measurements behind them. gamma: defaultGamma(dims). */
export const OC_DEFAULTS = { components: 32, nu: 0.05, window: 2000, warmup: 500, scaler: 1 as 0 | 1, seed: 42 } as const;

/** The default RBF width for dims standardised features: 1/dims (sklearn's "scale" heuristic on unit variance). */
export const defaultGamma = (dims: number): number => 1 / dims;

// ---- cos and log (assembly/ocsvm.ts has the derivation; the operation order here must stay the same) ----
const PI_1 = 2 * 1.57079632673412561417e+00;
const PI_2 = 2 * 6.07710050630396597660e-11;
const INV_PI = 0.31830988618379067154;
const C1 = -1 / 2;
const C2 = 1 / 24;
const C3 = -1 / 720;
const C4 = 1 / 40320;
const C5 = -1 / 3628800;
const C6 = 1 / 479001600;
const C7 = -1 / 87178291200;
const C8 = 1 / 20922789888000;
const C9 = -1 / 6402373705728000;

/** cos(x) for |x| < 3e6 by range reduction to [-pi/2, pi/2] and a degree-18 Taylor polynomial. */
export function ocCos(x: number): number {
  const k = Math.floor(x * INV_PI + 0.5);
  const r = (x - k * PI_1) - k * PI_2;
  const h = k * 0.5;
  const sign = 1 - 4 * (h - Math.floor(h));
  const q = r * r;
  const p = 1 + q * (C1 + q * (C2 + q * (C3 + q * (C4 + q * (C5 + q * (C6 + q * (C7 + q * (C8 + q * C9))))))));
  return sign * p;
}

const LN2_HI = 6.93147180369123816490e-01;
const LN2_LO = 1.90821492927058770002e-10;
const LG1 = 6.666666666666735130e-01;
const LG2 = 3.999999999940941908e-01;
const LG3 = 2.857142874366239149e-01;
const LG4 = 2.222219843214978396e-01;
const LG5 = 1.818357216161805012e-01;
const LG6 = 1.531383769920937332e-01;
const LG7 = 1.479819860511658591e-01;
const SQRT2 = 1.4142135623730951;
const f64buf = new Float64Array(1);
const u32buf = new Uint32Array(f64buf.buffer);

/** Natural log for positive normal x (fdlibm's e_log.c). */
export function ocLog(x: number): number {
  f64buf[0] = x;
  const hi = u32buf[1];
  let e = ((hi >>> 20) & 0x7ff) - 1023;
  u32buf[1] = (hi & 0x000fffff) | 0x3ff00000;
  let m = f64buf[0];
  if (m > SQRT2) { m = m * 0.5; e = e + 1; }
  const f = m - 1;
  const s = f / (2 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  const R = t2 + t1;
  const hfsq = 0.5 * f * f;
  return e * LN2_HI - ((hfsq - (s * (hfsq + R) + e * LN2_LO)) - f);
}

/** The shared random features: W [D x dims] (component-major) and b [D]. */
export class OcsvmModel {
  readonly W: Float64Array;
  readonly b: Float64Array;
  readonly amp: number;
  constructor(readonly dims: number, readonly components: number, readonly gamma: number, readonly seed: number) {
    if (!(Number.isInteger(dims) && dims >= 1 && dims <= OC_MAX_DIMS)) throw new RangeError(`ocsvm: dims ${dims}`);
    if (!(Number.isInteger(components) && components >= 1 && components <= OC_MAX_COMPONENTS)) throw new RangeError(`ocsvm: components ${components}`);
    if (!(gamma > 0 && gamma <= 1e6)) throw new RangeError(`ocsvm: gamma ${gamma}`);
    const D = components;
    this.amp = Math.sqrt(2 / D);
    const n = D * dims;
    this.W = new Float64Array(n);
    this.b = new Float64Array(D);
    const rand = mulberry32(seed >>> 0);
    const sd = Math.sqrt(2 * gamma);
    const twoPi = 2 * PI_1 + 2 * PI_2;
    const halfPi = 0.5 * PI_1 + 0.5 * PI_2;
    for (let i = 0; i < n; i += 2) {
      let u = rand();
      while (u === 0) u = rand();
      const v = rand();
      const r = Math.sqrt(-2 * ocLog(u));
      const a = twoPi * v;
      this.W[i] = sd * (r * ocCos(a));
      if (i + 1 < n) this.W[i + 1] = sd * (r * ocCos(a - halfPi));
    }
    for (let k = 0; k < D; k++) this.b[k] = twoPi * rand();
  }
}

/** One instrument's scaler, w, rho and violation scale over a shared model. */
export class OcsvmState {
  readonly etaMin: number;
  /** Scaler 0: lo, hi, loRef, hiRef; scaler 1: mean, variance, unused, unused. */
  readonly sa: Float64Array;
  readonly sb: Float64Array;
  readonly sc: Float64Array;
  readonly sd: Float64Array;
  readonly u: Float64Array;
  readonly w: Float64Array;
  readonly z: Float64Array;
  count = 0;
  /** Points learnt. */
  t = 0;
  rho = 0;
  /** EWMA of |w.z|, the unit of rho's step. */
  level = 0;
  scale = 0;
  /** Margin violations among the points learnt. */
  violations = 0;
  constructor(
    readonly model: OcsvmModel,
    readonly nu: number = OC_DEFAULTS.nu,
    readonly window: number = OC_DEFAULTS.window,
    readonly warmup: number = OC_DEFAULTS.warmup,
    readonly scaler: 0 | 1 = OC_DEFAULTS.scaler,
  ) {
    if (!(nu > 0 && nu <= 1)) throw new RangeError(`ocsvm: nu ${nu}`);
    if (!(Number.isInteger(window) && window >= 1 && window <= OC_MAX_WINDOW)) throw new RangeError(`ocsvm: window ${window}`);
    if (!(Number.isInteger(warmup) && warmup >= 0 && warmup <= 0x7fffffff)) throw new RangeError(`ocsvm: warmup ${warmup}`);
    if (scaler !== 0 && scaler !== 1) throw new RangeError(`ocsvm: scaler ${scaler}`);
    this.etaMin = 1 / window;
    const d = model.dims;
    this.sa = new Float64Array(d);
    this.sb = new Float64Array(d);
    this.sc = new Float64Array(d);
    this.sd = new Float64Array(d);
    if (scaler === 0) { this.sa.fill(Infinity); this.sb.fill(-Infinity); this.sc.fill(Infinity); this.sd.fill(-Infinity); }
    this.u = new Float64Array(d);
    this.w = new Float64Array(model.components);
    this.z = new Float64Array(model.components);
  }

  /** Score (the margin violation over its running scale, 0 inside or in warm-up), then learn. */
  step(x: ArrayLike<number>): number {
    const { model, u, w, z, etaMin } = this;
    const dims = model.dims;
    for (let j = 0; j < dims; j++) if (!(Math.abs(x[j]) <= OC_XMAX)) return 0;
    const t = this.t;
    const rate = Math.max(etaMin, 1 / (t + 1));
    if (this.scaler === 0) {
      const { sa: lo, sb: hi, sc: loRef, sd: hiRef } = this;
      for (let j = 0; j < dims; j++) {
        const v = x[j];
        const lc = lo[j];
        const hc = hi[j];
        const a = Math.min(lc, loRef[j]);
        const b = Math.max(hc, hiRef[j]);
        let y = 0;
        if (b > a) y = Math.min(OC_ZMAX, Math.max(-OC_ZMAX, (v - 0.5 * (a + b)) / (0.25 * (b - a))));
        u[j] = y;
        if (v < lc) lo[j] = v;
        if (v > hc) hi[j] = v;
      }
      if (++this.count >= this.window) {
        loRef.set(lo);
        hiRef.set(hi);
        lo.fill(Infinity);
        hi.fill(-Infinity);
        this.count = 0;
      }
    } else {
      const { sa: mean, sb: vari } = this;
      const alpha = rate;
      const clip = t >= CLIP_AFTER;
      for (let j = 0; j < dims; j++) {
        const v = x[j];
        const mu = mean[j];
        const va = vari[j];
        const sd = Math.sqrt(va);
        let d = v - mu;
        let y = 0;
        if (va > 0) y = Math.min(OC_ZMAX, Math.max(-OC_ZMAX, d / sd));
        u[j] = y;
        if (clip && va > 0) d = Math.min(CLIP_SD * sd, Math.max(-CLIP_SD * sd, d));
        mean[j] = mu + alpha * d;
        vari[j] = (1 - alpha) * (va + alpha * d * d);
      }
    }
    const { W, b, amp } = model;
    const D = model.components;
    // Even and odd components accumulate apart (the module's two-at-a-time loop), then add.
    let dot0 = 0;
    let dot1 = 0;
    for (let k = 0; k < D; k++) {
      const wk = k * dims;
      let a = b[k];
      for (let j = 0; j < dims; j++) a += W[wk + j] * u[j];
      const zk = amp * ocCos(a);
      z[k] = zk;
      if ((k & 1) === 0) dot0 += w[k] * zk;
      else dot1 += w[k] * zk;
    }
    const dot = dot0 + dot1;
    const { nu, rho, scale } = this;
    const eta = Math.min(nu, rate);
    const viol = rho - dot;
    const hit = viol >= 0;
    let score = 0;
    if (viol > 0 && scale > 0 && t >= this.warmup) score = viol / scale;
    const keep = 1 - eta;
    const gain = hit ? eta / nu : 0;
    for (let k = 0; k < D; k++) w[k] = keep * w[k] + gain * z[k];
    const level = this.level;
    this.rho = Math.max(0, rho + RHO_RATE * eta * level * (hit ? 1 - 1 / nu : 1));
    this.level = level + eta * (Math.abs(dot) - level);
    if (viol > 0) {
      const nv = ++this.violations;
      const a = Math.min(1, Math.max(etaMin / nu, 1 / nv));
      const v = scale > 0 ? Math.min(viol, SCALE_CLIP * scale) : viol;
      this.scale = scale + a * (v - scale);
    }
    this.t = t + 1;
    return score;
  }

  /** Bytes of this state in the module's layout (assembly/ocsvm.ts): header, scaler, u, w, z. */
  static bytes(dims: number, components: number): number {
    return 80 + 40 * dims + 16 * components;
  }
}
