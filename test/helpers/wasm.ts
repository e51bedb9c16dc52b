// A tiny loader for the kernel and engine tests: one build of the module over a fresh memory of its own, nothing
// shared between calls but the compiled module (src/wasm/load.ts compiles and caches it).
import type { AtcExports } from '../../src/abi.js';
import { wasmModule, type Build } from '../../src/wasm/load.js';

export type { Build };
export const BUILDS: readonly Build[] = ['release', 'debug'];

export interface LoadedWasm {
  exports: AtcExports;
  memory: WebAssembly.Memory;
  /** First 16-byte-aligned byte past the module's static data: the tests' scratch space starts here. */
  base: number;
}

export const align16 = (n: number): number => (n + 15) & ~15;

/** A fresh instance of a build over `pages` 64 KiB pages of memory. */
export function loadWasm(build: Build, pages = 256): LoadedWasm {
  const memory = new WebAssembly.Memory({ initial: pages });
  const instance = new WebAssembly.Instance(wasmModule(build), { env: { memory } });
  const exports = instance.exports as unknown as AtcExports;
  return { exports, memory, base: align16(exports.heap_base()) };
}
