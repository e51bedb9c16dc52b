// Host handles on the regression-residual kernel module (build/rls.wasm, from assembly/rls-kernel.ts): a model (the
// shape) and per-instrument states at offsets in a memory the host owns, the same surface as the twin
// (src/reference/rls.ts).
import { KernelWasm, type KernelBuild } from './kernel.js';
import { RLS_DEFAULTS, rlsParamError, type RlsParams } from '../reference/rls.js';

export type RlsBuild = KernelBuild;

export interface RlsExports {
  rls_model_bytes(d: number, intercept: number): number;
  rls_model_init(m: number, d: number, intercept: number): number;
  rls_state_bytes(d: number, intercept: number): number;
  rls_state_init(s: number, m: number, lambda: number, delta: number, warmup: number, minScale: number, clip: number): number;
  rls_state_check(s: number, m: number): number;
  rls_step(s: number, m: number, pt: number): number;
  rls_step_many(s: number, m: number, pts: number, n: number, out: number): void;
}

/** One instance of the kernel over its own memory, with a bump allocator above the first page. */
export class RlsWasm extends KernelWasm<RlsExports> {
  constructor(build: RlsBuild = 'release', pages = 4) { super('rls', build, pages); }

  model(d: number, intercept: 0 | 1): number {
    const bytes = this.x.rls_model_bytes(d, intercept);
    if (bytes < 0) throw new RangeError(`rls: shape d ${d}, intercept ${intercept}`);
    const m = this.alloc(bytes);
    const rc = this.x.rls_model_init(m, d, intercept);
    if (rc !== 0) throw new RangeError(`rls: model_init ${rc}`);
    return m;
  }
}

/** A per-instrument state in an RlsWasm (with its own model block), stepping one point at a time. */
export class WasmRls {
  readonly m: number;
  readonly s: number;
  readonly bytes: number;
  readonly #pt: number;
  constructor(readonly w: RlsWasm, readonly d: number, readonly intercept: 0 | 1, params: Partial<RlsParams> = {}, m?: number) {
    const p: RlsParams = { ...RLS_DEFAULTS, ...params };
    const bad = rlsParamError(d, intercept, p);
    if (bad !== undefined) throw new RangeError(`rls: ${bad}`);
    this.m = m ?? w.model(d, intercept);
    this.bytes = w.x.rls_state_bytes(d, intercept);
    this.s = w.alloc(this.bytes);
    this.#pt = w.alloc(8 * (d + 1));
    const rc = w.x.rls_state_init(this.s, this.m, p.lambda, p.delta, p.warmup, p.minScale, p.clip);
    if (rc !== 0) throw new RangeError(`rls: state_init ${rc}`);
  }
  step(y: number, x: ArrayLike<number>): number {
    const v = this.w.f64(this.#pt, this.d + 1);
    v[0] = y;
    for (let j = 0; j < this.d; j++) v[j + 1] = x[j];
    return this.w.x.rls_step(this.s, this.m, this.#pt);
  }
  /** theta (the slopes), read from the state. */
  get theta(): Float64Array { return this.w.f64(this.s + 80, this.d).slice(); }
  /** The last accepted point's prediction. */
  get yhat(): number { return this.w.f64(this.s + 72, 1)[0]; }
  snapshot(): Uint8Array { return this.w.bytes(this.s, this.bytes).slice(); }
  restore(bytes: Uint8Array): void { this.w.bytes(this.s, this.bytes).set(bytes); }
  check(): number { return this.w.x.rls_state_check(this.s, this.m); }
}
