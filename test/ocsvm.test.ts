// One-class SVM (issue 6, learned channel k = 1): the module's kernel (build/ocsvm.wasm) against its
// plain-TypeScript twin on seeded streams, bit for bit, plus the kernel's own cos and log against Math, and the
// detector's properties: warm-up, refusals, ranges, seeds, snapshots, a combination of normal values that is
// abnormal, a distribution shift, the fraction of margin violations, the scaler's choice and the state size.
import { describe, expect, it } from 'vitest';
import { OcsvmModel, OcsvmState, OC_DEFAULTS, defaultGamma, ocCos, ocLog } from '../src/reference/ocsvm.js';
import { OcsvmWasm, WasmOcsvm, type OcsvmBuild } from '../src/wasm/ocsvm.js';
import { gaussian, mulberry32 } from '../src/random.js';

const BUILDS: OcsvmBuild[] = ['release', 'debug'];

interface Shape { dims: number; D: number; gamma: number; nu: number; window: number; warmup: number; scaler: 0 | 1; seed: number }

const d = OC_DEFAULTS;
const SHAPES: Shape[] = [
  { dims: 4, D: d.components, gamma: 0.25, nu: d.nu, window: d.window, warmup: d.warmup, scaler: 1, seed: 42 },
  { dims: 8, D: d.components, gamma: 0.125, nu: d.nu, window: d.window, warmup: d.warmup, scaler: 1, seed: 7 },
  { dims: 1, D: 1, gamma: 1, nu: 0.5, window: 10, warmup: 0, scaler: 1, seed: 1 },
  { dims: 2, D: 2, gamma: 0.5, nu: 0.05, window: 1, warmup: 1, scaler: 0, seed: 2 },
  { dims: 3, D: 3, gamma: 2, nu: 1, window: 50, warmup: 0, scaler: 1, seed: 3 },
  { dims: 5, D: 257, gamma: 0.2, nu: 0.001, window: 5000, warmup: 1, scaler: 1, seed: 0xffffffff },
  { dims: 16, D: 64, gamma: 1 / 16, nu: 0.02, window: 300, warmup: 100, scaler: 0, seed: 12345 },
  { dims: 16, D: 33, gamma: 1e-3, nu: 0.1, window: 2000, warmup: 0, scaler: 1, seed: 9 },
  { dims: 6, D: 128, gamma: 10, nu: 0.05, window: 7, warmup: 1, scaler: 0, seed: 10 },
  { dims: 2, D: 32, gamma: 0.5, nu: 0.05, window: 2000, warmup: 500, scaler: 0, seed: 11 },
  { dims: 7, D: 31, gamma: 1 / 7, nu: 0.3, window: 100, warmup: 0, scaler: 1, seed: 12 },
  { dims: 3, D: 1024, gamma: 0.3, nu: 0.05, window: 64, warmup: 10, scaler: 1, seed: 13 },
];

/** Mixed stream: gaussian columns at scales 1e0-1e5 (one around 1e5 with unit moves), a constant column, ~1% NaN or
 * +-Infinity coordinates, ~0.2% coordinates beyond 1e150 (refused), ~0.5% outliers at 1e6. */
function stream(dims: number, n: number, seed: number): number[][] {
  const u = mulberry32(seed);
  const g = gaussian(u);
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < dims; j++) row.push(j === 2 ? 7 : 1e5 * (j % 3 === 1 ? 1 : 0) + 10 ** (j % 6) * g());
    if (u() < 0.01) row[Math.floor(u() * dims)] = [NaN, Infinity, -Infinity][Math.floor(u() * 3)];
    if (u() < 0.002) row[Math.floor(u() * dims)] = 1e200;
    if (u() < 0.005) row[0] = 1e6 * g();
    out.push(row);
  }
  return out;
}

/** The whole state as the module lays it out, read from the twin (assembly/ocsvm.ts has the layout). */
function twinBytes(b: OcsvmState): Uint8Array {
  const dims = b.model.dims;
  const D = b.model.components;
  const buf = new ArrayBuffer(OcsvmState.bytes(dims, D));
  const v = new DataView(buf);
  v.setUint32(0, dims, true);
  v.setUint32(4, D, true);
  v.setUint32(8, b.window, true);
  v.setUint32(12, b.warmup, true);
  v.setUint32(16, b.scaler, true);
  v.setUint32(20, b.count, true);
  v.setFloat64(24, b.nu, true);
  v.setFloat64(32, b.etaMin, true);
  v.setBigInt64(40, BigInt(b.t), true);
  v.setFloat64(48, b.rho, true);
  v.setFloat64(56, b.scale, true);
  v.setBigInt64(64, BigInt(b.violations), true);
  v.setFloat64(72, b.level, true);
  const f = new Float64Array(buf, 80);
  let o = 0;
  for (const arr of [b.sa, b.sb, b.sc, b.sd, b.u, b.w, b.z]) { f.set(arr, o); o += arr.length; }
  return new Uint8Array(buf);
}

describe.each(BUILDS)('ocsvm kernel (%s build)', (build) => {
  it('cos and log are bit-identical to the twin and accurate (cos within 4e-15 of Math.cos on |x| <= 1000)', () => {
    const w = new OcsvmWasm(build);
    const u = mulberry32(1);
    let maxCos = 0;
    let maxLog = 0;
    const xs = [0, -0, Math.PI / 2, -Math.PI / 2, Math.PI, 1e3, -1e3, 3 * Math.PI / 2, 1e-300];
    for (let i = 0; i < 100000; i++) xs.push((u() - 0.5) * (i % 3 === 0 ? 2 * Math.PI : i % 3 === 1 ? 100 : 2000));
    for (const x of xs) {
      const a = ocCos(x);
      if (!Object.is(a, w.x.ocsvm_cos(x))) throw new Error(`cos(${x}): twin ${a} wasm ${w.x.ocsvm_cos(x)}`);
      maxCos = Math.max(maxCos, Math.abs(a - Math.cos(x)));
    }
    for (let i = 0; i < 100000; i++) {
      const y = i < 1000 ? 2 ** -(i % 40) * (1 + u()) : u() * 10 ** ((i % 8) - 4) + 1e-300;
      const a = ocLog(y);
      if (!Object.is(a, w.x.ocsvm_log(y))) throw new Error(`log(${y}): twin ${a} wasm ${w.x.ocsvm_log(y)}`);
      maxLog = Math.max(maxLog, Math.abs(a - Math.log(y)) / Math.max(1, Math.abs(Math.log(y))));
    }
    // Measured: cos 3.7e-15 (the degree-18 Taylor polynomial's truncation at pi/2 is 4e-15), log 2.2e-16.
    expect(maxCos).toBeLessThan(4e-15);
    expect(maxCos).toBeGreaterThan(0);
    expect(maxLog).toBeLessThan(5e-16);
  });

  it('draws the same random features as the twin from the same seed', () => {
    for (const sh of SHAPES) {
      const w = new OcsvmWasm(build);
      const m = w.model(sh.dims, sh.D, sh.gamma, sh.seed);
      const twin = new OcsvmModel(sh.dims, sh.D, sh.gamma, sh.seed);
      const n = sh.dims * sh.D;
      expect(Array.from(w.f64(m + 32, n))).toEqual(Array.from(twin.W));
      expect(Array.from(w.f64(m + 32 + 8 * n, sh.D))).toEqual(Array.from(twin.b));
      for (const b of twin.b) { expect(b).toBeGreaterThanOrEqual(0); expect(b).toBeLessThan(2 * Math.PI); }
    }
    // The frequencies are N(0, 2 gamma): over 64 x 1024 draws the sample variance is within 2% of 2 gamma.
    const big = new OcsvmModel(64, 1024, 0.5, 3);
    const mean = big.W.reduce((p, q) => p + q, 0) / big.W.length;
    const variance = big.W.reduce((p, q) => p + (q - mean) ** 2, 0) / big.W.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
  });

  it.each(SHAPES)('scores bit-identically to the twin on a seeded stream, and ends in the same state: %o', (sh) => {
    const w = new OcsvmWasm(build);
    const m = w.model(sh.dims, sh.D, sh.gamma, sh.seed);
    const a = new WasmOcsvm(w, m, sh.dims, sh.D, sh.nu, sh.window, sh.warmup, sh.scaler);
    const b = new OcsvmState(new OcsvmModel(sh.dims, sh.D, sh.gamma, sh.seed), sh.nu, sh.window, sh.warmup, sh.scaler);
    const xs = stream(sh.dims, 3000, sh.seed ^ 0x5bd1e995);
    let positive = 0;
    for (let i = 0; i < xs.length; i++) {
      const sa = a.step(xs[i]);
      const sb = b.step(xs[i]);
      if (!Object.is(sa, sb)) throw new Error(`step ${i}: wasm ${sa} twin ${sb}`);
      expect(sa).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(sa)).toBe(true);
      if (sa > 0) positive++;
    }
    expect(positive).toBeGreaterThan(0);
    expect(b.t).toBeGreaterThan(2800); // refused points are not learnt
    expect(b.t).toBeLessThan(3000);
    expect(a.snapshot()).toEqual(twinBytes(b));
    expect(w.x.ocsvm_state_check(a.s, m)).toBe(0);
  });

  it('scores 0 through the warm-up, learning meanwhile', () => {
    const w = new OcsvmWasm(build);
    const m = w.model(2, 32, 0.5, 9);
    const a = new WasmOcsvm(w, m, 2, 32, 0.05, 2000, 300, 1);
    const g = gaussian(mulberry32(5));
    for (let i = 0; i < 300; i++) expect(a.step([g(), g()])).toBe(0);
    expect(a.step([40, -40])).toBeGreaterThan(0); // far outside: a margin violation, scored once warm
    const v = new DataView(w.memory.buffer, a.s, 80);
    expect(v.getBigInt64(40, true)).toBe(301n);
  });

  it('refuses a point with a non-finite coordinate (or beyond 1e150): score 0, state unchanged', () => {
    const w = new OcsvmWasm(build);
    for (const scaler of [0, 1] as const) {
      const m = w.model(3, 16, 1 / 3, 9);
      const a = new WasmOcsvm(w, m, 3, 16, 0.05, 100, 0, scaler);
      const g = gaussian(mulberry32(6));
      for (let i = 0; i < 500; i++) a.step([g(), g(), g()]);
      const before = a.snapshot();
      for (const bad of [[NaN, 0, 0], [0, Infinity, 0], [0, 0, -Infinity], [1e151, 0, 0], [0, -1e300, 0]]) {
        expect(a.step(bad)).toBe(0);
        expect(a.snapshot()).toEqual(before);
      }
      a.step([0.5, -0.5, 0.1]);
      expect(a.snapshot()).not.toEqual(before); // a finite point is learnt again
    }
  });

  it('rejects shapes and settings out of range with -5', () => {
    const w = new OcsvmWasm(build);
    expect(w.x.ocsvm_model_bytes(0, 32)).toBe(-5);
    expect(w.x.ocsvm_model_bytes(65, 32)).toBe(-5);
    expect(w.x.ocsvm_model_bytes(4, 0)).toBe(-5);
    expect(w.x.ocsvm_model_bytes(4, 1025)).toBe(-5);
    expect(w.x.ocsvm_state_bytes(4, -1)).toBe(-5);
    const m = w.model(2, 8, 0.5, 1);
    for (const gamma of [0, -1, NaN, Infinity, 1e7]) expect(w.x.ocsvm_model_init(m, 2, 8, gamma, 1)).toBe(-5);
    expect(w.x.ocsvm_model_init(m, 0, 8, 0.5, 1)).toBe(-5);
    expect(w.x.ocsvm_model_init(m, 2, 8, 0.5, 1)).toBe(0);
    const s = w.alloc(w.x.ocsvm_state_bytes(2, 8));
    for (const nu of [0, -0.1, 1.5, NaN]) expect(w.x.ocsvm_state_init(s, m, nu, 100, 0, 1)).toBe(-5);
    expect(w.x.ocsvm_state_init(s, m, 0.05, 0, 0, 1)).toBe(-5);
    expect(w.x.ocsvm_state_init(s, m, 0.05, (1 << 24) + 1, 0, 1)).toBe(-5);
    expect(w.x.ocsvm_state_init(s, m, 0.05, 100, -1, 1)).toBe(-5);
    expect(w.x.ocsvm_state_init(s, m, 0.05, 100, 0, 2)).toBe(-5);
    expect(w.x.ocsvm_state_init(s, m, 0.05, 100, 0, -1)).toBe(-5);
    expect(w.x.ocsvm_state_init(s, m, 1, 1 << 24, 0, 0)).toBe(0);
    expect(() => new OcsvmModel(2, 8, 0, 1)).toThrow(/gamma/);
    expect(() => new OcsvmState(new OcsvmModel(2, 8, 0.5, 1), 0)).toThrow(/nu/);
  });

  it('ocsvm_state_check refuses a state that does not fit its model or holds impossible values (-3)', () => {
    const w = new OcsvmWasm(build);
    const m4 = w.model(4, 32, 0.25, 1);
    const m3 = w.model(3, 32, 0.25, 1);
    const m4b = w.model(4, 64, 0.25, 1);
    const a = new WasmOcsvm(w, m4, 4, 32, 0.05, 250, 0, 0);
    const g = gaussian(mulberry32(8));
    for (let i = 0; i < 300; i++) a.step([g(), g(), g(), g()]);
    expect(w.x.ocsvm_state_check(a.s, m4)).toBe(0);
    expect(w.x.ocsvm_state_check(a.s, m3)).toBe(-3); // other dims
    expect(w.x.ocsvm_state_check(a.s, m4b)).toBe(-3); // other D
    const v = new DataView(w.memory.buffer, a.s, 80);
    const good = a.snapshot();
    const bad: [number, (v: DataView) => void][] = [
      [8, (v) => v.setUint32(8, 0, true)], // window 0
      [8, (v) => v.setUint32(8, 251, true)], // window that does not match 1/window
      [16, (v) => v.setUint32(16, 2, true)], // scaler
      [20, (v) => v.setUint32(20, 250, true)], // a count at the window
      [24, (v) => v.setFloat64(24, 0, true)], // nu
      [40, (v) => v.setBigInt64(40, -1n, true)], // points learnt
      [48, (v) => v.setFloat64(48, NaN, true)], // rho
      [56, (v) => v.setFloat64(56, -1, true)], // scale
      [64, (v) => v.setBigInt64(64, 301n, true)], // more violations than points
      [72, (v) => v.setFloat64(72, Infinity, true)], // level
    ];
    for (const [, set] of bad) {
      a.restore(good);
      set(v);
      expect(w.x.ocsvm_state_check(a.s, m4)).toBe(-3);
    }
    a.restore(good);
    expect(w.x.ocsvm_state_check(a.s, m4)).toBe(0);
  });

  it('continues identically after a snapshot is restored into another instance', () => {
    const sh = SHAPES[0];
    const xs = stream(sh.dims, 3000, 99);
    const w1 = new OcsvmWasm(build);
    const a = new WasmOcsvm(w1, w1.model(sh.dims, sh.D, sh.gamma, sh.seed), sh.dims, sh.D, sh.nu, sh.window, sh.warmup, sh.scaler);
    for (let i = 0; i < 1777; i++) a.step(xs[i]);
    const snap = a.snapshot();
    const w2 = new OcsvmWasm(build);
    w2.alloc(4096); // another offset: the state holds no pointers
    const b = new WasmOcsvm(w2, w2.model(sh.dims, sh.D, sh.gamma, sh.seed), sh.dims, sh.D, sh.nu, sh.window, sh.warmup, sh.scaler);
    b.restore(snap);
    expect(w2.x.ocsvm_state_check(b.s, b.m)).toBe(0);
    let positive = 0;
    for (let i = 1777; i < xs.length; i++) {
      const sa = a.step(xs[i]);
      expect(Object.is(b.step(xs[i]), sa)).toBe(true);
      if (sa > 0) positive++;
    }
    expect(positive).toBeGreaterThan(0);
  });
});

const quantile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const fresh = (dims: number, seed: number, scaler: 0 | 1 = d.scaler, nu: number = d.nu): OcsvmState =>
  new OcsvmState(new OcsvmModel(dims, d.components, defaultGamma(dims), seed), nu, d.window, d.warmup, scaler);

describe('ocsvm detector (defaults: 32 components, gamma 1/dims, nu 0.05, window 2000, EWMA scaler)', () => {
  it('gives the same scores for the same seed and different ones for another', () => {
    const run = (seed: number): number[] => {
      const st = fresh(3, seed);
      const g = gaussian(mulberry32(77));
      return Array.from({ length: 3000 }, () => st.step([g(), g(), g()]));
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  it('scores a combination of normal values that is abnormal above every normal point (y = x + noise)', () => {
    // Measured over seeds 1-5: the three off-diagonal points score 20-116, normal points at most 3.2-6.7 (p99 1.0-1.5).
    for (const seed of [1, 2, 3, 4, 5]) {
      const st = fresh(2, seed);
      const u = mulberry32(100 + seed);
      const g = gaussian(u);
      const normal: number[] = [];
      for (let i = 0; i < 9000; i++) {
        const x = u();
        const s = st.step([x, x + 0.02 * g()]);
        if (i >= 5000) normal.push(s);
      }
      normal.sort((p, q) => p - q);
      expect(quantile(normal, 0.5)).toBe(0); // most normal points are inside the boundary
      expect(quantile(normal, 0.99)).toBeGreaterThan(0);
      for (const r of [[0.1, 0.9], [0.9, 0.1], [0.2, 0.8]]) expect(st.step(r)).toBeGreaterThan(normal[normal.length - 1]);
    }
  });

  it('violates the margin on a fraction of the training points near nu (within -20%/+25% for nu 0.02-0.1)', () => {
    // SGD, so not exact: measured 0.94-1.15 nu for nu 0.02-0.1 at 2 and 8 dims (nu 0.3: 0.89-0.92; nu 0.01 at 8
    // dims: 2.3 nu, too few violators in a window of 2000 to average w).
    for (const nu of [0.02, 0.05, 0.1]) {
      for (const dims of [2, 8]) {
        const st = fresh(dims, 7, 1, nu);
        const g = gaussian(mulberry32(9));
        let before = 0;
        let positive = 0;
        for (let i = 0; i < 30000; i++) {
          const s = st.step(Array.from({ length: dims }, () => g()));
          if (i === 9999) before = st.violations;
          if (i >= 10000 && s > 0) positive++;
        }
        const frac = (st.violations - before) / 20000;
        expect(positive).toBe(st.violations - before); // a positive score is exactly a margin violation
        expect(frac).toBeGreaterThan(0.8 * nu);
        expect(frac).toBeLessThan(1.25 * nu);
      }
    }
  });

  it('absorbs a distribution shift: within 500 points no more than 2% of scores above the old p99', () => {
    // Every column moves by 5 and every other one gets 10 times wider. Measured (3 seeds x 2, 4, 8 dims): back within
    // 157-330 points; the first 200 points after the shift average 0.9-2.3 against ~0.05 before.
    for (const seed of [1, 2, 3]) {
      for (const dims of [2, 4, 8]) {
        const st = fresh(dims, seed);
        const g = gaussian(mulberry32(seed * 31));
        const pre: number[] = [];
        for (let i = 0; i < 20000; i++) {
          const s = st.step(Array.from({ length: dims }, () => g()));
          if (i >= 10000) pre.push(s);
        }
        pre.sort((p, q) => p - q);
        const p99 = quantile(pre, 0.99);
        const preMean = pre.reduce((p, q) => p + q, 0) / pre.length;
        const post = Array.from({ length: 5000 }, () => st.step(Array.from({ length: dims }, (_, j) => 5 + (j % 2 ? 10 : 1) * g())));
        const above = (from: number): number => post.slice(from, from + 200).filter((s) => s > p99).length / 200;
        expect(post.slice(0, 200).reduce((p, q) => p + q, 0) / 200).toBeGreaterThan(10 * preMean); // it was seen
        let back = -1;
        for (let i = 0; i + 200 <= post.length; i++) if (above(i) <= 0.02) { back = i; break; }
        expect(back).toBeGreaterThanOrEqual(0);
        expect(back).toBeLessThanOrEqual(500);
        expect(post.slice(2000).reduce((p, q) => p + q, 0) / 3000).toBeLessThan(2 * preMean);
      }
    }
  });

  it('one outlier blinds the min/max scaler for two windows; the EWMA standardiser (the default) is not blinded', () => {
    // y = x + noise; one point at (1000, 1000) at 6,000; then (0.1, 0.9) every 200 points. Measured (3 seeds): with
    // scaler 0 the first 20 (4,000 points, two windows) score below the normal p99, then all above; with scaler 1 all
    // 30 above.
    for (const seed of [1, 2, 3]) {
      const run = (scaler: 0 | 1): boolean[] => {
        const st = fresh(2, seed, scaler);
        const u = mulberry32(100 + seed);
        const g = gaussian(u);
        const normal: number[] = [];
        const hits: number[] = [];
        for (let i = 0; i < 12000; i++) {
          const x = u();
          if (i === 6000) st.step([1000, 1000]);
          else if (i > 6000 && i % 200 === 100) hits.push(st.step([0.1, 0.9]));
          else {
            const s = st.step([x, x + 0.02 * g()]);
            if (i >= 3000 && i < 6000) normal.push(s);
          }
        }
        normal.sort((p, q) => p - q);
        return hits.map((s) => s > quantile(normal, 0.99));
      };
      const minmax = run(0);
      expect(minmax.slice(0, 15).every((h) => !h)).toBe(true);
      expect(minmax.slice(22).every((h) => h)).toBe(true);
      expect(run(1).every((h) => h)).toBe(true);
    }
  });

  it('the kernel width trades joint anomalies for gross ones: a wider kernel catches an 8-sd coordinate in 8 features', () => {
    // 8 independent gaussian features, every 100th point 8 sd off in one coordinate. With 32 components the random
    // features' noise (~||w|| / sqrt(32)) is larger than the RBF values at gamma = 1/dims in 8 dimensions (~e^-3):
    // measured 17-96% of the outliers above the normal p99 over seeds 1-8. At gamma = 0.25/dims: 94-100% (and the
    // 2-feature off-diagonal point is then missed on 2 seeds of 3: see docs/learned-kernels.md).
    for (const seed of [1, 2, 3, 4]) {
      const dims = 8;
      const st = new OcsvmState(new OcsvmModel(dims, 32, 0.25 / dims, seed), 0.05, 2000, 0, 1);
      const g = gaussian(mulberry32(seed + 7));
      const normal: number[] = [];
      const far: number[] = [];
      for (let i = 0; i < 20000; i++) {
        const r = Array.from({ length: dims }, () => g());
        if (i > 5000 && i % 100 === 0) { r[i % dims] += 8; far.push(st.step(r)); continue; }
        const s = st.step(r);
        if (i > 5000) normal.push(s);
      }
      normal.sort((p, q) => p - q);
      const p99 = quantile(normal, 0.99);
      expect(far.filter((s) => s > p99).length / far.length).toBeGreaterThan(0.9);
    }
  });

  it("keeps an instrument's state small: 912 bytes at 8 features and 32 components", () => {
    const w = new OcsvmWasm();
    for (const [dims, D] of [[8, 32], [16, 32], [4, 64], [64, 1024]]) {
      expect(w.x.ocsvm_state_bytes(dims, D)).toBe(OcsvmState.bytes(dims, D));
    }
    expect(w.x.ocsvm_state_bytes(8, 32)).toBe(80 + 40 * 8 + 16 * 32);
    expect(w.x.ocsvm_model_bytes(8, 32)).toBe(32 + 8 * 32 * 9);
  });
});
