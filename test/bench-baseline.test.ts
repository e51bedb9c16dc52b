// The benchmark compares WASM with "the same algorithm in TypeScript" (bench/ts-window.ts): hold it to that.
import { describe, expect, it } from 'vitest';
import { TsMeanVar } from '../bench/ts-window.js';
import { instantiate } from '../src/wasm/load.js';
import { gaussian, mulberry32 } from '../src/random.js';

describe('bench/ts-window.ts computes what the WASM kernel computes', () => {
  it('per-value and batched forms agree with window_push_many on prices near 1e5', () => {
    const n = 20_000, w = 128;
    const { exports: x, memory, heapBase } = instantiate(n * 8 + 64 + 16 * w + 64);
    const xs = new Float64Array(memory.buffer, heapBase, n);
    const g = gaussian(mulberry32(5));
    let p = 100_000;
    for (let i = 0; i < n; i++) { p += 1e-4 * g(); xs[i] = p; }
    const state = heapBase + n * 8;
    x.window_init(state, w, 0);
    x.window_push_many(state, heapBase, n);
    const single = new TsMeanVar(w);
    for (let i = 0; i < n; i++) single.push(xs[i]);
    const batched = new TsMeanVar(w);
    batched.pushMany(Float64Array.from(xs));
    for (const t of [single, batched]) {
      expect(t.mean()).toBe(x.window_mean(state));
      expect(t.variance()).toBe(x.window_var(state));
    }
  });
});
