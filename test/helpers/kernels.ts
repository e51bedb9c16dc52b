// Handles on the WASM kernels (count window, EWMA, time window) at addresses in a test's scratch space, with the
// same surface as the reference twins, so a test can drive both through one loop.
import { EWMA_STATE, WINDOW_STATE, type AtcExports } from '../../src/abi.js';
import { align16, loadWasm, type Build, type LoadedWasm } from './wasm.js';

/** A module instance plus a bump allocator over its scratch space (above heap_base). */
export class Scratch {
  readonly wasm: LoadedWasm;
  #next: number;
  constructor(build: Build) {
    this.wasm = loadWasm(build);
    this.#next = this.wasm.base;
  }
  get x(): AtcExports { return this.wasm.exports; }
  /** bytes, 16-byte aligned, with 64 guard bytes after (see guardIntact). */
  alloc(bytes: number): number {
    const p = this.#next;
    this.#next = align16(p + bytes + 64);
    new Uint8Array(this.wasm.memory.buffer, p + bytes, 64).fill(0xa5);
    return p;
  }
  /** The 64 guard bytes after a region of `bytes` at p are untouched. */
  guardIntact(p: number, bytes: number): boolean {
    return new Uint8Array(this.wasm.memory.buffer, p + bytes, 64).every((b) => b === 0xa5);
  }
  view(): DataView { return new DataView(this.wasm.memory.buffer); }
  window(w: number, order = true): WasmWindow { return new WasmWindow(this, w, order); }
  ewma(alpha: number): WasmEwma { return new WasmEwma(this, alpha); }
  timeWindow(buckets: number, bucketNs: bigint): WasmTimeWindow { return new WasmTimeWindow(this, buckets, bucketNs); }
}

export class WasmWindow {
  readonly p: number;
  readonly bytes: number;
  readonly #s: Scratch;
  constructor(s: Scratch, w: number, order: boolean) {
    this.#s = s;
    this.bytes = s.x.window_bytes(w, order ? 1 : 0);
    this.p = s.alloc(this.bytes);
    s.x.window_init(this.p, w, order ? 1 : 0);
  }
  push(x: number): void { this.#s.x.window_push(this.p, x); }
  /** Push through window_push_many (values copied to scratch memory first). */
  pushMany(xs: readonly number[]): void {
    const at = this.#s.alloc(xs.length * 8);
    new Float64Array(this.#s.wasm.memory.buffer, at, xs.length).set(xs);
    this.#s.x.window_push_many(this.p, at, xs.length);
  }
  get count(): number { return this.#s.x.window_count(this.p); }
  mean(): number { return this.#s.x.window_mean(this.p); }
  variance(): number { return this.#s.x.window_var(this.p); }
  min(): number { return this.#s.x.window_min(this.p); }
  max(): number { return this.#s.x.window_max(this.p); }
  median(): number { return this.#s.x.window_median(this.p); }
  mad(): number { return this.#s.x.window_mad(this.p); }
  quantile(q: number): number { return this.#s.x.window_quantile(this.p, q); }
  /** Values ever accepted and non-finite values refused, read from the kernel's header. */
  get total(): number { return Number(this.#s.view().getBigInt64(this.p + WINDOW_STATE.TOTAL, true)); }
  get skipped(): number { return Number(this.#s.view().getBigInt64(this.p + WINDOW_STATE.SKIPPED, true)); }
  guardIntact(): boolean { return this.#s.guardIntact(this.p, this.bytes); }
}

export class WasmEwma {
  readonly p: number;
  readonly #s: Scratch;
  constructor(s: Scratch, alpha: number) {
    this.#s = s;
    this.p = s.alloc(s.x.ewma_bytes());
    s.x.ewma_init(this.p, alpha);
  }
  push(x: number): void { this.#s.x.ewma_push(this.p, x); }
  mean(): number { return this.#s.x.ewma_mean(this.p); }
  variance(): number { return this.#s.x.ewma_var(this.p); }
  get n(): number { return Number(this.#s.view().getBigInt64(this.p + EWMA_STATE.N, true)); }
}

export class WasmTimeWindow {
  readonly p: number;
  readonly bytes: number;
  readonly #s: Scratch;
  constructor(s: Scratch, buckets: number, bucketNs: bigint) {
    this.#s = s;
    this.bytes = s.x.time_window_bytes(buckets);
    this.p = s.alloc(this.bytes);
    s.x.time_window_init(this.p, buckets, bucketNs);
  }
  push(ts: bigint, x: number): void { this.#s.x.time_window_push(this.p, ts, x); }
  advance(ts: bigint): void { this.#s.x.time_window_advance(this.p, ts); }
  count(): number { return this.#s.x.time_window_count(this.p); }
  sum(): number { return this.#s.x.time_window_sum(this.p); }
  sumSq(): number { return this.#s.x.time_window_sum_sq(this.p); }
  mean(): number { return this.#s.x.time_window_mean(this.p); }
  variance(): number { return this.#s.x.time_window_var(this.p); }
  min(): number { return this.#s.x.time_window_min(this.p); }
  max(): number { return this.#s.x.time_window_max(this.p); }
  guardIntact(): boolean { return this.#s.guardIntact(this.p, this.bytes); }
}
