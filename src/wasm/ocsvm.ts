// Host handles on the one-class SVM kernel module (build/ocsvm.wasm, from assembly/ocsvm-kernel.ts): a model and
// per-instrument states at offsets in a memory the host owns, the same surface as the twin (src/reference/ocsvm.ts).
import { KernelWasm, type KernelBuild } from './kernel.js';

export type OcsvmBuild = KernelBuild;

export interface OcsvmExports {
  ocsvm_model_bytes(dims: number, components: number): number;
  ocsvm_model_init(m: number, dims: number, components: number, gamma: number, seed: number): number;
  ocsvm_state_bytes(dims: number, components: number): number;
  ocsvm_state_init(s: number, m: number, nu: number, window: number, warmup: number, scaler: number): number;
  ocsvm_state_check(s: number, m: number): number;
  ocsvm_step(s: number, m: number, x: number): number;
  ocsvm_step_many(s: number, m: number, xs: number, n: number, out: number): void;
  ocsvm_cos(x: number): number;
  ocsvm_log(x: number): number;
}

/** One instance of the kernel over its own memory, with a bump allocator above the first page. */
export class OcsvmWasm extends KernelWasm<OcsvmExports> {
  constructor(build: OcsvmBuild = 'release', pages = 4) { super('ocsvm', build, pages); }

  model(dims: number, components: number, gamma: number, seed: number): number {
    const bytes = this.x.ocsvm_model_bytes(dims, components);
    if (bytes < 0) throw new RangeError(`ocsvm: shape ${dims}x${components}`);
    const m = this.alloc(bytes);
    const rc = this.x.ocsvm_model_init(m, dims, components, gamma, seed >>> 0);
    if (rc !== 0) throw new RangeError(`ocsvm: model_init ${rc} (gamma ${gamma})`);
    return m;
  }
}

/** A per-instrument state on a shared model in an OcsvmWasm, stepping one point at a time. */
export class WasmOcsvm {
  readonly s: number;
  readonly bytes: number;
  readonly #x: number;
  constructor(readonly w: OcsvmWasm, readonly m: number, readonly dims: number, components: number, nu: number, window: number, warmup: number, scaler: 0 | 1) {
    this.bytes = w.x.ocsvm_state_bytes(dims, components);
    if (this.bytes < 0) throw new RangeError(`ocsvm: shape ${dims}x${components}`);
    this.s = w.alloc(this.bytes);
    this.#x = w.alloc(8 * dims);
    const rc = w.x.ocsvm_state_init(this.s, m, nu, window, warmup, scaler);
    if (rc !== 0) throw new RangeError(`ocsvm: state_init ${rc} (nu ${nu}, window ${window}, warmup ${warmup}, scaler ${scaler})`);
  }
  step(x: ArrayLike<number>): number {
    const v = this.w.f64(this.#x, this.dims);
    for (let j = 0; j < this.dims; j++) v[j] = x[j];
    return this.w.x.ocsvm_step(this.s, this.m, this.#x);
  }
  snapshot(): Uint8Array { return this.w.bytes(this.s, this.bytes).slice(); }
  restore(bytes: Uint8Array): void { this.w.bytes(this.s, this.bytes).set(bytes); }
}
