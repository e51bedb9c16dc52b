// A tiny loader for the kernel tests: one build of the module over a fresh memory, nothing shared between calls.
// (The host's loader is src/wasm/; this one exists so that the kernel tests depend on nothing but the .wasm.)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Build = 'release' | 'debug';
export const BUILDS: readonly Build[] = ['release', 'debug'];

const FILES: Record<Build, string> = { release: 'atc.wasm', debug: 'atc.debug.wasm' };

/** The module's exports the tests use; i64 parameters and results cross as bigint. */
export interface AtcKernelExports {
  heap_base(): number;
  abi_version(): number;
  config_len(): number;
  // count window
  window_bytes(w: number, order: number): number;
  /** order: 1 keeps the sorted copy (median, MAD, quantiles), 0 mean, variance, min and max only. */
  window_init(p: number, w: number, order: number): void;
  window_push(p: number, x: number): void;
  window_push_many(p: number, xs: number, n: number): void;
  window_count(p: number): number;
  window_mean(p: number): number;
  window_var(p: number): number;
  window_min(p: number): number;
  window_max(p: number): number;
  window_median(p: number): number;
  window_mad(p: number): number;
  window_quantile(p: number, q: number): number;
  // EWMA
  ewma_bytes(): number;
  ewma_init(p: number, alpha: number): void;
  ewma_push(p: number, x: number): void;
  ewma_mean(p: number): number;
  ewma_var(p: number): number;
  // time window
  time_window_bytes(b: number): number;
  time_window_init(p: number, b: number, bucketNs: bigint): void;
  time_window_push(p: number, ts: bigint, x: number): void;
  time_window_advance(p: number, ts: bigint): void;
  time_window_count(p: number): number;
  time_window_sum(p: number): number;
  time_window_sum_sq(p: number): number;
  time_window_mean(p: number): number;
  time_window_var(p: number): number;
  time_window_min(p: number): number;
  time_window_max(p: number): number;
  // engine
  arena_bytes(config: number): number;
  validate_config(config: number): number;
  init(arena: number, config: number): number;
  register(arena: number, id: number): number;
  ingest(arena: number, batch: number, capacity: number, start: number, end: number, alerts: number, alertCapacity: number): number;
  consumed(arena: number): number;
  counter(arena: number, which: number): number;
  set_instrument_threshold(arena: number, id: number, feature: number, detector: number, threshold: number): number;
  feature_stat(arena: number, id: number, feature: number, stat: number): number;
  feature_quantile(arena: number, id: number, feature: number, q: number): number;
  channel_stat(arena: number, id: number, feature: number, detector: number, stat: number): number;
  instrument_stat(arena: number, id: number, stat: number): number;
}

export interface LoadedWasm {
  exports: AtcKernelExports;
  memory: WebAssembly.Memory;
  /** First 16-byte-aligned byte past the module's static data: the tests' scratch space starts here. */
  base: number;
}

export const align16 = (n: number): number => (n + 15) & ~15;

const modules = new Map<Build, WebAssembly.Module>();

export function loadWasm(build: Build): LoadedWasm {
  let module = modules.get(build);
  if (!module) {
    const path = fileURLToPath(new URL(`../../build/${FILES[build]}`, import.meta.url));
    module = new WebAssembly.Module(new Uint8Array(readFileSync(path)));
    modules.set(build, module);
  }
  const memory = new WebAssembly.Memory({ initial: 256 });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const exports = instance.exports as unknown as AtcKernelExports;
  return { exports, memory, base: align16(exports.heap_base()) };
}
