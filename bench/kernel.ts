// Rolling mean/variance kernel: WASM against the same algorithm in TypeScript, in the same run.
import { instantiate } from '../src/wasm/load.js';
import { TsMeanVar } from './ts-window.js';
import { measure, type Row } from './common.js';

export async function kernelBench(opts: { n?: number; window?: number } = {}): Promise<Row[]> {
  const n = opts.n ?? 1 << 18;
  const w = opts.window ?? 128;
  const { exports: x, memory, heapBase } = instantiate(n * 8 + 2 * x_bytes(w) + 4096);
  const xs = heapBase;
  const plain = heapBase + n * 8;
  const ordered = plain + x_bytes(w);
  const values = new Float64Array(memory.buffer, xs, n);
  // Prices near 1e5 moving by ~1e-4: the case the kernel is built to stay accurate on.
  let p = 100_000;
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    p += ((seed / 4294967296) - 0.5) * 2e-4;
    values[i] = p;
  }
  const copy = Float64Array.from(values);
  return measure('kernel', [
    { name: `wasm rolling mean/var (W=${w})`, items: n, beforeEach: () => x.window_init(plain, w, 0), fn: () => { x.window_push_many(plain, xs, n); return x.window_var(plain); } },
    { name: `ts rolling mean/var, same algorithm, batched (W=${w})`, items: n, fn: () => { const k = new TsMeanVar(w); k.pushMany(copy); return k.variance(); } },
    { name: `wasm rolling mean/var, one call per value from JS (W=${w})`, items: n, beforeEach: () => x.window_init(plain, w, 0), fn: () => { for (let i = 0; i < n; i++) x.window_push(plain, copy[i]); return x.window_var(plain); } },
    { name: `ts rolling mean/var, same algorithm, one call per value (W=${w})`, items: n, fn: () => { const k = new TsMeanVar(w); for (let i = 0; i < n; i++) k.push(copy[i]); return k.variance(); } },
    { name: `wasm rolling mean/var + order statistics (W=${w})`, items: n, beforeEach: () => x.window_init(ordered, w, 1), fn: () => { x.window_push_many(ordered, xs, n); return x.window_var(ordered); } },
  ]);
  function x_bytes(win: number): number { return 64 + 16 * win; }
}
