// Loading the atc module: a plain WebAssembly.Instance over a memory the host owns, no generated bindings.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ABI_VERSION, type AtcExports } from '../abi.js';

export type Build = 'release' | 'debug';

const FILES: Record<Build, string> = { release: 'atc.wasm', debug: 'atc.debug.wasm' };
const modules = new Map<Build, WebAssembly.Module>();

/** Absolute path of a build of the module (the package also exports it as `atc/wasm`). */
export function wasmPath(build: Build = 'release'): string {
  // build/ sits at the package root: two levels above src/wasm/ when run from source, three above dist/src/wasm/.
  const candidates = ['../../build/', '../../../build/'].map((up) => fileURLToPath(new URL(up + FILES[build], import.meta.url)));
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

const PAGE = 65536;
/** Bytes below the host's first free byte: the module's static data lies there. */
const RESERVED_BYTES = PAGE;

/** Instantiate over a new memory of at least `bytes` bytes past the module's static data. */
export function instantiate(bytes: number, build: Build = 'release'): Instance {
  const module = wasmModule(build);
  const pages = Math.ceil((RESERVED_BYTES + bytes) / PAGE) + 1;
  const memory = new WebAssembly.Memory({ initial: pages });
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
