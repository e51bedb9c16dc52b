// The standalone learned-kernel modules (build/<name>.wasm and build/<name>.debug.wasm: hst, ocsvm, rls), each built
// from assembly/<name>-kernel.ts for the kernel tests and benchmarks: one instance over a memory the host owns, with
// a bump allocator above the first page. The engine (build/atc.wasm) has the same kernels inside; these modules let
// a kernel be held against its twin and measured on its own.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type KernelBuild = 'release' | 'debug';

const modules = new Map<string, WebAssembly.Module>();

function kernelModule(name: string, build: KernelBuild): WebAssembly.Module {
  const file = build === 'release' ? `${name}.wasm` : `${name}.debug.wasm`;
  let m = modules.get(file);
  if (!m) {
    const candidates = ['../../build/', '../../../build/'].map((up) => fileURLToPath(new URL(up + file, import.meta.url)));
    const path = candidates.find((p) => existsSync(p)) ?? candidates[0];
    m = new WebAssembly.Module(new Uint8Array(readFileSync(path)));
    modules.set(file, m);
  }
  return m;
}

const align16 = (n: number): number => (n + 15) & ~15;

/** One instance of kernel module `name` over its own memory of `pages` 64 KiB pages (grown on demand). */
export class KernelWasm<X> {
  readonly x: X;
  readonly memory: WebAssembly.Memory;
  #next = 65536;
  constructor(name: string, build: KernelBuild, pages: number) {
    this.memory = new WebAssembly.Memory({ initial: pages });
    this.x = new WebAssembly.Instance(kernelModule(name, build), { env: { memory: this.memory } }).exports as unknown as X;
  }
  alloc(bytes: number): number {
    const p = this.#next;
    this.#next = align16(p + bytes);
    const need = Math.ceil(this.#next / 65536) - this.memory.buffer.byteLength / 65536;
    if (need > 0) this.memory.grow(need);
    return p;
  }
  f64(p: number, n: number): Float64Array { return new Float64Array(this.memory.buffer, p, n); }
  bytes(p: number, n: number): Uint8Array { return new Uint8Array(this.memory.buffer, p, n); }
}
