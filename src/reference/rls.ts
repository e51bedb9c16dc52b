// Plain-TypeScript twin of assembly/rls.ts (online regression residuals: recursive least squares with directional
// forgetting, a bounded trace, a clipped learning residual and the predictive standard deviation as the scale).
// The same operations in the same order (+, -, *, /, sqrt, min, max, abs: all exactly rounded in IEEE 754, no
// transcendental function), so its scores and its state are bit-identical to the module's. Read
// assembly/rls.ts for the algorithm and the reasons.

export const RLS_MAX_DIMS = 8;
export const RLS_MAX_ABS = 1e15;
export const RLS_R_MIN = 1e-150;
export const RLS_S_HEADER = 80;

/**
 * Defaults for inputs in basis points of a common anchor (docs/learned-kernels.md, "Regression residuals"): a memory of
 * ~200 points (1 / (1 - lambda)), a diffuse start (P = 1e4 I for regressor moves of ~1 bp), scores from point 400,
 * sigma floored at 0.01 bp, learning from residuals clipped at 4 sigma.
 */
export const RLS_DEFAULTS = { lambda: 0.995, delta: 1e4, warmup: 400, minScale: 0.01, clip: 4 } as const;

export interface RlsParams { lambda: number; delta: number; warmup: number; minScale: number; clip: number }

/** The parameter that is out of range, or undefined. */
export function rlsParamError(d: number, intercept: number, p: RlsParams): string | undefined {
  if (!(Number.isInteger(d) && d >= 1 && d <= RLS_MAX_DIMS)) return `d ${d} (1..${RLS_MAX_DIMS})`;
  if (intercept !== 0 && intercept !== 1) return `intercept ${intercept} (0 or 1)`;
  if (!(p.lambda >= 0.9 && p.lambda < 1)) return `lambda ${p.lambda} ([0.9, 1))`;
  if (!(p.delta >= 1e-6 && p.delta <= 1e12)) return `delta ${p.delta} ([1e-6, 1e12])`;
  if (!(Number.isInteger(p.warmup) && p.warmup >= 0 && p.warmup <= 0x7fffffff)) return `warmup ${p.warmup} (an integer >= 0)`;
  if (!(p.minScale > 0 && p.minScale <= 1e15)) return `minScale ${p.minScale} ((0, 1e15])`;
  if (!(p.clip >= 1)) return `clip ${p.clip} (>= 1, Infinity for none)`;
  return undefined;
}

const ok = (v: number): boolean => Math.abs(v) <= RLS_MAX_ABS;

/** One instrument's regression (the module's model block is only the shape, held here). */
export class RlsState {
  readonly theta: Float64Array;
  readonly mx: Float64Array;
  readonly z: Float64Array;
  readonly pz: Float64Array;
  /** Row-major d x d, exactly symmetric. */
  readonly P: Float64Array;
  readonly lambda: number;
  readonly delta: number;
  readonly warmup: number;
  readonly minScale: number;
  readonly clip: number;
  s2 = 0;
  my = 0;
  /** The last accepted point's prediction (y - e): what the detector expected. */
  yhat = 0;
  n = 0;
  resets = 0;

  constructor(readonly d: number, readonly intercept: 0 | 1, params: Partial<RlsParams> = {}) {
    const p: RlsParams = { ...RLS_DEFAULTS, ...params };
    const bad = rlsParamError(d, intercept, p);
    if (bad !== undefined) throw new RangeError(`rls: ${bad}`);
    ({ lambda: this.lambda, delta: this.delta, warmup: this.warmup, minScale: this.minScale, clip: this.clip } = p);
    this.theta = new Float64Array(d);
    this.mx = new Float64Array(d);
    this.z = new Float64Array(d);
    this.pz = new Float64Array(d);
    this.P = new Float64Array(d * d);
    for (let i = 0; i < d; i++) this.P[i * d + i] = this.delta;
  }

  /** Score (|e| / sigma, 0 during warm-up or for a refused point), then learn. */
  step(y: number, x: ArrayLike<number>): number {
    const { d, theta: th, mx, z, pz, P } = this;
    if (!ok(y)) return 0;
    for (let j = 0; j < d; j++) if (!ok(x[j])) return 0;
    const n = this.n;
    const lam = this.lambda;
    const inter = this.intercept !== 0;
    let w = y;
    if (inter) {
      if (n === 0) {
        for (let j = 0; j < d; j++) mx[j] = x[j];
        this.my = y;
      }
      w = y - this.my;
    }
    let yh = 0;
    for (let j = 0; j < d; j++) {
      const zj = inter ? x[j] - mx[j] : x[j];
      z[j] = zj;
      yh += th[j] * zj;
    }
    const e = w - yh;
    this.yhat = y - e;
    let r = this.#pzr();
    if (!(r >= 0 && r < Infinity)) {
      P.fill(0);
      for (let i = 0; i < d; i++) P[i * d + i] = this.delta;
      this.resets = (this.resets + 1) >>> 0;
      r = this.#pzr();
    }
    const excited = r > RLS_R_MIN;
    let mu = lam;
    if (excited && r < 1 - lam) {
      const gl = ((r - (1 - lam)) / r) / (lam + r);
      let tr = 0;
      let pz2 = 0;
      for (let i = 0; i < d; i++) {
        tr += P[i * d + i];
        const a = pz[i];
        pz2 += a * a;
      }
      if (tr - gl * pz2 > d * this.delta) mu = 1;
    }
    const q = 1 + r / mu;
    const den = Math.max(this.minScale, Math.sqrt(this.s2 * q));
    let score = 0;
    let ec = e;
    if (n >= this.warmup) {
      score = Math.abs(e) / den;
      const lim = this.clip * den;
      ec = Math.min(Math.max(e, -lim), lim);
    }
    if (excited) {
      const inv = 1 / (mu + r);
      const g = ((r - (1 - mu)) / r) * inv;
      for (let i = 0; i < d; i++) {
        const a = pz[i];
        th[i] = th[i] + a * inv * ec;
        for (let j = i; j < d; j++) {
          const v = P[i * d + j] - g * (a * pz[j]);
          P[i * d + j] = v;
          P[j * d + i] = v;
        }
      }
    }
    const f = 1 - lam;
    this.s2 = lam * this.s2 + f * ((ec * ec) / q);
    if (inter) {
      for (let j = 0; j < d; j++) mx[j] = mx[j] + f * z[j];
      this.my = this.my + f * (w - (e - ec));
    }
    this.n = n + 1;
    return score;
  }

  #pzr(): number {
    const { d, P, z, pz } = this;
    let r = 0;
    for (let i = 0; i < d; i++) {
      let a = 0;
      for (let j = 0; j < d; j++) a += P[i * d + j] * z[j];
      pz[i] = a;
      r += z[i] * a;
    }
    return r;
  }

  /** The intercept of y = alpha + theta.x: my - theta.mx with the intercept on, 0 without. */
  get alpha(): number {
    if (this.intercept === 0) return 0;
    let a = this.my;
    for (let j = 0; j < this.d; j++) a -= this.theta[j] * this.mx[j];
    return a;
  }

  /** The state in the module's layout (assembly/rls.ts), byte for byte. */
  toBytes(): Uint8Array {
    const { d } = this;
    const out = new Uint8Array(RlsState.bytes(d));
    const v = new DataView(out.buffer);
    v.setUint32(0, d, true);
    v.setUint32(4, this.intercept, true);
    v.setUint32(8, this.warmup, true);
    v.setUint32(12, this.resets, true);
    v.setBigInt64(16, BigInt(this.n), true);
    [this.lambda, this.delta, this.minScale, this.clip, this.s2, this.my, this.yhat].forEach((x, k) => v.setFloat64(24 + 8 * k, x, true));
    let o = RLS_S_HEADER;
    for (const a of [this.theta, this.mx, this.z, this.pz, this.P]) for (const x of a) { v.setFloat64(o, x, true); o += 8; }
    return out;
  }

  /** Bytes of a state in the module's layout: header, theta, means, two scratch vectors, P. */
  static bytes(d: number): number {
    return RLS_S_HEADER + 8 * (4 * d + d * d);
  }
}
