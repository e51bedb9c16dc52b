// Host handles on the Half-Space Trees kernel module (build/hst.wasm, from assembly/hst-kernel.ts): a model and
// per-instrument states at offsets in a memory the host owns, the same surface as the twin (src/reference/hst.ts).
import { KernelWasm, type KernelBuild } from './kernel.js';

export type HstBuild = KernelBuild;

export interface HstExports {
  hst_model_bytes(dims: number, trees: number, height: number): number;
  hst_model_init(m: number, dims: number, trees: number, height: number, seed: number, padding: number): number;
  hst_state_bytes(dims: number, trees: number, height: number): number;
  hst_state_init(s: number, m: number, window: number, sizeLimit: number, scoreKind: number, scaler: number): number;
  hst_state_check(s: number, m: number): number;
  hst_step(s: number, m: number, x: number): number;
  hst_step_many(s: number, m: number, xs: number, n: number, out: number): void;
}

/** One instance of the kernel over its own memory, with a bump allocator above the first page. */
export class HstWasm extends KernelWasm<HstExports> {
  constructor(build: HstBuild = 'release', pages = 64) { super('hst', build, pages); }

  model(dims: number, trees: number, height: number, seed: number, padding = 0.15): number {
    const bytes = this.x.hst_model_bytes(dims, trees, height);
    if (bytes < 0) throw new RangeError(`hst: shape ${dims}x${trees}x${height}`);
    const m = this.alloc(bytes);
    const rc = this.x.hst_model_init(m, dims, trees, height, seed >>> 0, padding);
    if (rc !== 0) throw new RangeError(`hst: model_init ${rc}`);
    return m;
  }
}

/** A per-instrument state on a shared model in an HstWasm, stepping one point at a time. */
export class WasmHst {
  readonly s: number;
  readonly bytes: number;
  readonly #x: number;
  constructor(readonly w: HstWasm, readonly m: number, readonly dims: number, trees: number, height: number, window: number, sizeLimit = 0.1, scoreKind: 0 | 1 = 0, scaler: 0 | 1 = 0) {
    this.bytes = w.x.hst_state_bytes(dims, trees, height);
    this.s = w.alloc(this.bytes);
    this.#x = w.alloc(8 * dims);
    const rc = w.x.hst_state_init(this.s, m, window, sizeLimit, scoreKind, scaler);
    if (rc !== 0) throw new RangeError(`hst: state_init ${rc}`);
  }
  step(x: ArrayLike<number>): number {
    const v = this.w.f64(this.#x, this.dims);
    for (let j = 0; j < this.dims; j++) v[j] = x[j];
    return this.w.x.hst_step(this.s, this.m, this.#x);
  }
  snapshot(): Uint8Array { return this.w.bytes(this.s, this.bytes).slice(); }
  restore(bytes: Uint8Array): void { this.w.bytes(this.s, this.bytes).set(bytes); }
}
