// Loading the atc module: a plain WebAssembly.Instance over a memory the host owns, no generated bindings.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ABI_VERSION, type AtcExports } from '../abi.js';

/**
 * `release` and `debug` import a plain memory (the embeddable artefacts); `shared` and `shared-debug` are the same
 * source built to import a shared memory (`--sharedMemory --enable threads`), for the worker pool: any thread can
 * bind an instance of them to any shard's memory. A module of one kind refuses the other kind of memory.
 */
export type Build = 'release' | 'debug' | 'shared' | 'shared-debug';

const FILES: Record<Build, string> = {
  release: 'atc.wasm', debug: 'atc.debug.wasm', shared: 'atc.shared.wasm', 'shared-debug': 'atc.shared.debug.wasm',
};
const modules = new Map<Build, WebAssembly.Module>();

/** Whether a build imports shared memory. */
export function isShared(build: Build): boolean {
  return build === 'shared' || build === 'shared-debug';
}

/** Absolute path of a build of the module (the package also exports it as `atc/wasm`). */
export function wasmPath(build: Build = 'release'): string {
  const file = FILES[build];
  if (file === undefined) throw new RangeError(`build must be one of ${Object.keys(FILES).join(', ')}, got ${JSON.stringify(build)}`);
  // build/ sits at the package root: two levels above src/wasm/ when run from source, three above dist/src/wasm/.
  const candidates = ['../../build/', '../../../build/'].map((up) => fileURLToPath(new URL(up + file, import.meta.url)));
  return candidates.find((path) => existsSync(path)) ?? candidates[0];
}

export function wasmModule(build: Build = 'release'): WebAssembly.Module {
  let m = modules.get(build);
  if (!m) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(wasmPath(build));
    } catch (err) {
      throw new Error(`atc: ${wasmPath(build)} is missing; run \`npm install\` (or \`npm run build\`) to build it`, { cause: err });
    }
    m = new WebAssembly.Module(new Uint8Array(bytes));
    modules.set(build, m);
  }
  return m;
}

export interface Instance {
  exports: AtcExports;
  memory: WebAssembly.Memory;
  /** First byte the host may use: the module's static data lies below. */
  heapBase: number;
}

export const PAGE = 65536;
/** Bytes below the host's first free byte: the module's static data lies there. */
export const RESERVED_BYTES = PAGE;
/** The most pages a memory can have (4 GiB), and the maximum the shared builds declare. */
export const MAX_PAGES = 65536;

/** A memory of `pages` pages of the kind `build` imports (shared memories may grow to `maximum` pages). */
export function createMemory(pages: number, build: Build = 'release', maximum = MAX_PAGES): WebAssembly.Memory {
  return isShared(build)
    ? new WebAssembly.Memory({ initial: pages, maximum, shared: true })
    : new WebAssembly.Memory({ initial: pages });
}

/** Instantiate over a new memory of at least `bytes` bytes past the module's static data. */
export function instantiate(bytes: number, build: Build = 'release'): Instance {
  const pages = Math.ceil((RESERVED_BYTES + bytes) / PAGE) + 1;
  return instantiateOn(createMemory(pages, build), build);
}

/**
 * Instantiate over a memory the caller made (`createMemory`). Instantiation writes the module's static data below
 * `heapBase` (active data segments, in every build): on a shared memory, do it while no other thread runs an
 * instance on that memory (the bytes are the same, but a race is a race).
 */
export function instantiateOn(memory: WebAssembly.Memory, build: Build = 'release'): Instance {
  const module = wasmModule(build);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const exports = instance.exports as unknown as AtcExports;
  if (exports.abi_version() !== ABI_VERSION) {
    throw new Error(`atc: module ABI ${exports.abi_version()} but host expects ${ABI_VERSION}`);
  }
  // The host keeps the whole first page for the module's static data (11 KiB today), so that hosts agree on
  // where the arena may start whatever the build.
  if (exports.heap_base() > RESERVED_BYTES) throw new Error(`atc: module static data (${exports.heap_base()} bytes) exceeds the reserved page`);
  return { exports, memory, heapBase: RESERVED_BYTES };
}

export function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
