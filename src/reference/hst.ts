// Plain-TypeScript twin of assembly/hst.ts (Half-Space Trees, Tan, Ting and Liu 2011, as River's
// anomaly.HalfSpaceTrees): the same tree growth from the same mulberry32 stream, the same scaler, the same
// integer mass sums, so its scores are bit-identical to the module's. Read assembly/hst.ts for the algorithm.
import { mulberry32 } from '../random.js';

export const HST_MAX_DIMS = 64;
export const HST_MAX_TREES = 256;
export const HST_MAX_HEIGHT = 15;
export const HST_MAX_WINDOW = 65535;

/** River's defaults: 10 trees of height 8, a window of 250, size limit 0.1 of the window; padding 0.15 and the
 * seed are this project's choice. */
export const HST_DEFAULTS = { trees: 10, height: 8, window: 250, sizeLimit: 0.1, padding: 0.15, seed: 42 } as const;

/** The shared trees: split dimension and point of each internal node, heap order, tree after tree. */
export class HstModel {
  readonly internal: number;
  readonly splitAt: Float64Array;
  readonly splitDim: Uint8Array;
  constructor(
    readonly dims: number,
    readonly trees: number,
    readonly height: number,
    readonly seed: number,
    readonly padding: number = HST_DEFAULTS.padding,
  ) {
    if (!(Number.isInteger(dims) && dims >= 1 && dims <= HST_MAX_DIMS)) throw new RangeError(`hst: dims ${dims}`);
    if (!(Number.isInteger(trees) && trees >= 1 && trees <= HST_MAX_TREES)) throw new RangeError(`hst: trees ${trees}`);
    if (!(Number.isInteger(height) && height >= 0 && height <= HST_MAX_HEIGHT)) throw new RangeError(`hst: height ${height}`);
    if (!(padding >= 0 && padding < 0.5)) throw new RangeError(`hst: padding ${padding}`);
    this.internal = (1 << height) - 1;
    this.splitAt = new Float64Array(trees * this.internal);
    this.splitDim = new Uint8Array(trees * this.internal);
    const rand = mulberry32(seed >>> 0);
    const lim = new Float64Array(2 * dims);
    const grow = (tree: number, i: number, h: number): void => {
      if (h === 0) return;
      let total = 0;
      for (let j = 0; j < dims; j++) total += lim[2 * j + 1] - lim[2 * j];
      const r = rand() * total;
      let on = dims - 1;
      let cum = 0;
      for (let j = 0; j < dims; j++) {
        cum += lim[2 * j + 1] - lim[2 * j];
        if (r < cum) { on = j; break; }
      }
      const a = lim[2 * on];
      const b = lim[2 * on + 1];
      const lo = a + padding * (b - a);
      const hi = b - padding * (b - a);
      const at = lo + (hi - lo) * rand();
      const k = tree * this.internal + i;
      this.splitAt[k] = at;
      this.splitDim[k] = on;
      lim[2 * on + 1] = at;
      grow(tree, 2 * i + 1, h - 1);
      lim[2 * on + 1] = b;
      lim[2 * on] = at;
      grow(tree, 2 * i + 2, h - 1);
      lim[2 * on] = a;
    };
    for (let t = 0; t < trees; t++) {
      for (let j = 0; j < dims; j++) { lim[2 * j] = 0; lim[2 * j + 1] = 1; }
      grow(t, 0, height);
    }
  }
}

/** One instrument's masses and scaler over a shared model. */
export class HstState {
  readonly nodes: number;
  readonly limit: number;
  readonly maxSum: number;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly u: Float64Array;
  readonly loRef: Float64Array;
  readonly hiRef: Float64Array;
  readonly profiles: [Uint16Array, Uint16Array];
  count = 0;
  cur = 0;
  warm = false;
  learnt = 0;
  /**
   * scoreKind 0: River's score (sum over the path); 1: the paper's (the node where the walk stops only).
   * scaler 0: min/max of everything seen; 1: of the last complete window and the current one.
   */
  constructor(
    readonly model: HstModel,
    readonly window: number,
    sizeLimit: number = HST_DEFAULTS.sizeLimit,
    readonly scoreKind: 0 | 1 = 0,
    readonly scaler: 0 | 1 = 0,
  ) {
    if (!(Number.isInteger(window) && window >= 1 && window <= HST_MAX_WINDOW)) throw new RangeError(`hst: window ${window}`);
    if (!(sizeLimit >= 0 && sizeLimit <= 1)) throw new RangeError(`hst: sizeLimit ${sizeLimit}`);
    if (scoreKind !== 0 && scoreKind !== 1) throw new RangeError(`hst: scoreKind ${scoreKind}`);
    if (scaler !== 0 && scaler !== 1) throw new RangeError(`hst: scaler ${scaler}`);
    this.nodes = (2 << model.height) - 1;
    this.limit = sizeLimit * window;
    this.maxSum = model.trees * window * (scoreKind === 0 ? this.nodes : 2 ** model.height);
    this.lo = new Float64Array(model.dims).fill(Infinity);
    this.hi = new Float64Array(model.dims).fill(-Infinity);
    this.u = new Float64Array(model.dims);
    this.loRef = new Float64Array(model.dims).fill(Infinity);
    this.hiRef = new Float64Array(model.dims).fill(-Infinity);
    this.profiles = [new Uint16Array(model.trees * this.nodes), new Uint16Array(model.trees * this.nodes)];
  }

  /** Score against the reference window, then learn; 0 during the first window or for a non-finite point. */
  step(x: ArrayLike<number>): number {
    const { model, lo, hi, u } = this;
    const dims = model.dims;
    for (let j = 0; j < dims; j++) if (!Number.isFinite(x[j])) return 0;
    const { loRef, hiRef } = this;
    for (let j = 0; j < dims; j++) {
      const v = x[j];
      const a = Math.min(lo[j], loRef[j]);
      const b = Math.max(hi[j], hiRef[j]);
      u[j] = b > a ? Math.min(1, Math.max(0, (v - a) / (b - a))) : 0.5;
      if (v < lo[j]) lo[j] = v;
      if (v > hi[j]) hi[j] = v;
    }
    const l = this.profiles[this.cur];
    const r = this.profiles[this.cur ^ 1];
    const { nodes, limit } = this;
    const internal = model.internal;
    const height = model.height;
    const path = this.scoreKind === 0;
    let sum = 0;
    for (let t = 0; t < model.trees; t++) {
      const tn = t * nodes;
      const ti = t * internal;
      let i = 0;
      let on = true;
      for (let depth = 0; depth <= height; depth++) {
        const k = tn + i;
        const rm = r[k];
        if (on) {
          const stop = rm < limit;
          if (path || stop || depth === height) sum += rm * 2 ** depth;
          if (stop) on = false;
        }
        l[k]++;
        if (depth < height) {
          const n = ti + i;
          i = 2 * i + 1 + (u[model.splitDim[n]] >= model.splitAt[n] ? 1 : 0);
        }
      }
    }
    // A walk stopping on a node of reference mass 0 counts half a point (as the module: s < 1, the channel score is
    // at most about log2(maxSum / 0.5)).
    const score = this.warm ? 1 - (sum === 0 ? 0.5 : sum) / this.maxSum : 0;
    this.learnt++;
    if (++this.count >= this.window) {
      this.cur ^= 1;
      this.profiles[this.cur].fill(0);
      this.warm = true;
      this.count = 0;
      if (this.scaler === 1) {
        loRef.set(lo);
        hiRef.set(hi);
        lo.fill(Infinity);
        hi.fill(-Infinity);
      }
    }
    return score;
  }

  /** Bytes of this state in the module's layout (assembly/hst.ts): header, scaler, two u16 profiles. */
  static bytes(dims: number, trees: number, height: number): number {
    const profile = (2 * trees * ((2 << height) - 1) + 7) & ~7;
    return 64 + 40 * dims + 2 * profile;
  }
}
