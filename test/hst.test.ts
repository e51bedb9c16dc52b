// Half-Space Trees (issue 6): the module's kernel (build/hst.wasm) against its plain-TypeScript twin on seeded
// streams, bit for bit, plus the detector's own properties: warm-up, refusals, constant input, a combination of
// normal values that is abnormal, seeds, snapshots and the per-instrument state size.
import { describe, expect, it } from 'vitest';
import { HstModel, HstState, HST_DEFAULTS } from '../src/reference/hst.js';
import { HstWasm, WasmHst, type HstBuild } from '../src/wasm/hst.js';
import { gaussian, mulberry32 } from '../src/random.js';

const BUILDS: HstBuild[] = ['release', 'debug'];

interface Shape { dims: number; trees: number; height: number; window: number; sizeLimit: number; seed: number; kind?: 0 | 1; scaler?: 0 | 1 }

const SHAPES: Shape[] = [
  { dims: 4, trees: 10, height: 8, window: 250, sizeLimit: 0.1, seed: 42 },
  { dims: 16, trees: 10, height: 8, window: 250, sizeLimit: 0.1, seed: 7 },
  { dims: 1, trees: 3, height: 4, window: 16, sizeLimit: 0.1, seed: 1 },
  { dims: 3, trees: 1, height: 0, window: 5, sizeLimit: 0.1, seed: 2 },
  { dims: 2, trees: 4, height: 1, window: 1, sizeLimit: 0.5, seed: 3 },
  { dims: 5, trees: 2, height: 6, window: 2, sizeLimit: 0, seed: 0xffffffff },
  { dims: 8, trees: 5, height: 10, window: 37, sizeLimit: 1, seed: 12345 },
  // Tree counts that take every lockstep width (5, 4, 2, 1 at a time): 9 = 5 + 4, 7 = 5 + 2, 8 = 5 + 2 + 1.
  { dims: 6, trees: 9, height: 3, window: 64, sizeLimit: 0.1, seed: 9 },
  { dims: 6, trees: 7, height: 5, window: 100, sizeLimit: 0.2, seed: 10 },
  { dims: 2, trees: 8, height: 8, window: 250, sizeLimit: 0.1, seed: 11 },
  // The paper's score (the node where the walk stops only).
  { dims: 4, trees: 10, height: 8, window: 250, sizeLimit: 0.1, seed: 42, kind: 1 },
  { dims: 3, trees: 7, height: 4, window: 16, sizeLimit: 0, seed: 12, kind: 1 },
  { dims: 5, trees: 3, height: 6, window: 40, sizeLimit: 1, seed: 13, kind: 1 },
  // The forgetting scaler (the range of the last two windows).
  { dims: 4, trees: 10, height: 8, window: 250, sizeLimit: 0.1, seed: 42, scaler: 1 },
  { dims: 3, trees: 5, height: 5, window: 1, sizeLimit: 0.1, seed: 14, scaler: 1 },
  { dims: 6, trees: 9, height: 7, window: 33, sizeLimit: 0.1, seed: 15, kind: 1, scaler: 1 },
];

/** Mixed stream: gaussian columns at different scales, a constant column, an occasional NaN or Infinity. */
function stream(dims: number, n: number, seed: number): number[][] {
  const u = mulberry32(seed);
  const g = gaussian(u);
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < dims; j++) row.push(j === 2 ? 7 : 1e5 * (j % 3 === 1 ? 1 : 0) + 10 ** (j % 4) * g());
    if (u() < 0.01) row[Math.floor(u() * dims)] = u() < 0.5 ? NaN : -Infinity;
    if (u() < 0.005) row[0] = 1e6 * g(); // an outlier that stretches the scaler's range
    out.push(row);
  }
  return out;
}

describe.each(BUILDS)('hst kernel (%s build)', (build) => {
  it('grows the same trees as the twin from the same seed', () => {
    for (const sh of SHAPES) {
      const w = new HstWasm(build);
      const m = w.model(sh.dims, sh.trees, sh.height, sh.seed);
      const twin = new HstModel(sh.dims, sh.trees, sh.height, sh.seed);
      const n = twin.splitAt.length;
      expect(Array.from(w.f64(m + 32, n))).toEqual(Array.from(twin.splitAt));
      expect(Array.from(w.bytes(m + 32 + 8 * n, n))).toEqual(Array.from(twin.splitDim));
      for (let k = 0; k < n; k++) {
        expect(twin.splitDim[k]).toBeLessThan(sh.dims);
        expect(twin.splitAt[k]).toBeGreaterThan(0);
        expect(twin.splitAt[k]).toBeLessThan(1);
      }
    }
  });

  it.each(SHAPES)('scores bit-identically to the twin on a seeded stream: %o', (sh) => {
    const w = new HstWasm(build);
    const m = w.model(sh.dims, sh.trees, sh.height, sh.seed);
    const a = new WasmHst(w, m, sh.dims, sh.trees, sh.height, sh.window, sh.sizeLimit, sh.kind ?? 0, sh.scaler ?? 0);
    const b = new HstState(new HstModel(sh.dims, sh.trees, sh.height, sh.seed), sh.window, sh.sizeLimit, sh.kind ?? 0, sh.scaler ?? 0);
    const xs = stream(sh.dims, 3000, sh.seed ^ 0x5bd1e995);
    let nonzero = 0;
    for (let i = 0; i < xs.length; i++) {
      const sa = a.step(xs[i]);
      const sb = b.step(xs[i]);
      if (!Object.is(sa, sb)) throw new Error(`step ${i}: wasm ${sa} twin ${sb}`);
      expect(sa).toBeGreaterThanOrEqual(0);
      expect(sa).toBeLessThanOrEqual(1);
      if (sa !== 0) nonzero++;
    }
    // One node per tree holds the whole window: every score is 0 (see 'a constant stream').
    // With the forgetting scaler and a window of 1 the range is one point: every point scales to 0.5.
    if (sh.height > 0 && !(sh.scaler === 1 && sh.window === 1)) expect(nonzero).toBeGreaterThan(0);
    else expect(nonzero).toBe(0);
    // The whole state, masses included, is the twin's.
    const v = new DataView(w.memory.buffer, a.s, a.bytes);
    const twinCur = b.cur;
    expect(v.getUint32(12, true)).toBe(twinCur);
    expect(v.getUint32(8, true)).toBe(b.count);
    const off = 64 + 40 * sh.dims;
    const nodes = sh.trees * ((2 << sh.height) - 1);
    const stride = (2 * nodes + 7) & ~7;
    for (const k of [0, 1]) {
      const masses = new Uint16Array(w.memory.buffer, a.s + off + k * stride, nodes);
      expect(Array.from(masses)).toEqual(Array.from(b.profiles[k]));
    }
  });

  it('scores 0 through the first window, then within [0, 1]', () => {
    const w = new HstWasm(build);
    const m = w.model(3, 10, 8, 9);
    const a = new WasmHst(w, m, 3, 10, 8, 250);
    const u = mulberry32(5);
    for (let i = 0; i < 250; i++) expect(a.step([u(), u(), u()])).toBe(0);
    const s = a.step([u(), u(), u()]);
    expect(s).toBeGreaterThan(0);
    expect(s).toBeLessThan(1);
  });

  it('refuses a point with a non-finite coordinate: score 0, state unchanged', () => {
    const w = new HstWasm(build);
    const m = w.model(3, 10, 8, 9);
    const a = new WasmHst(w, m, 3, 10, 8, 20);
    const u = mulberry32(6);
    for (let i = 0; i < 50; i++) a.step([u(), u(), u()]);
    const before = a.snapshot();
    for (const bad of [[NaN, 0, 0], [0, Infinity, 0], [0, 0, -Infinity]]) {
      expect(a.step(bad)).toBe(0);
      expect(a.snapshot()).toEqual(before);
    }
  });

  it('scores a constant stream 0 after warm-up: every point takes the path the whole window took', () => {
    const w = new HstWasm(build);
    const m = w.model(4, 10, 8, 11);
    const a = new WasmHst(w, m, 4, 10, 8, 250);
    for (let i = 0; i < 1000; i++) expect(a.step([3, 3, -1e5, 0])).toBe(0);
  });

  it('window 1: the reference is the previous point alone', () => {
    const w = new HstWasm(build);
    const m = w.model(2, 10, 8, 11);
    const a = new WasmHst(w, m, 2, 10, 8, 1);
    expect(a.step([0, 0])).toBe(0); // warm-up
    expect(a.step([1, 1])).toBe(0); // scaled to (0.5, 0.5) like the first: the range was empty before it
    expect(a.step([0, 0])).toBeGreaterThan(0); // (0, 0) now: off the reference's path somewhere in 10 trees
    expect(a.step([0, 0])).toBe(0); // the same point again: the same path, full mass all the way
  });

  it('rejects shapes and settings out of range', () => {
    const w = new HstWasm(build);
    expect(w.x.hst_model_bytes(0, 10, 8)).toBe(-5);
    expect(w.x.hst_model_bytes(65, 10, 8)).toBe(-5);
    expect(w.x.hst_model_bytes(4, 0, 8)).toBe(-5);
    expect(w.x.hst_model_bytes(4, 10, 16)).toBe(-5);
    expect(w.x.hst_state_bytes(4, 10, -1)).toBe(-5);
    const m = w.model(2, 2, 2, 1);
    expect(w.x.hst_model_init(m, 2, 2, 2, 1, 0.5)).toBe(-5);
    const s = w.alloc(w.x.hst_state_bytes(2, 2, 2));
    expect(w.x.hst_state_init(s, m, 0, 0.1, 0, 0)).toBe(-5);
    expect(w.x.hst_state_init(s, m, 65536, 0.1, 0, 0)).toBe(-5);
    expect(w.x.hst_state_init(s, m, 10, 1.5, 0, 0)).toBe(-5);
    expect(w.x.hst_state_init(s, m, 10, NaN, 0, 0)).toBe(-5);
    expect(w.x.hst_state_init(s, m, 10, 0.1, 2, 0)).toBe(-5);
    expect(w.x.hst_state_init(s, m, 10, 0.1, -1, 0)).toBe(-5);
    expect(w.x.hst_state_init(s, m, 10, 0.1, 0, 2)).toBe(-5);
  });
});

/** 4000 normal scores (sorted) after a 1000-point warm-up on y = x + noise (plus independent columns), then the
 * scores of three off-diagonal points. */
function diagonal(dims: number, seed: number, kind: 0 | 1 = 0): { normal: number[]; anomalies: number[] } {
  const st = new HstState(new HstModel(dims, 10, 8, seed), 250, 0.1, kind);
  const u = mulberry32(100 + seed);
  const g = gaussian(u);
  const normal: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const x = u();
    const s = st.step([x, x + 0.02 * g(), u(), u()].slice(0, dims));
    if (i >= 1000) normal.push(s);
  }
  normal.sort((p, q) => p - q);
  const anomalies = [[0.1, 0.9, 0.5, 0.5], [0.9, 0.1, 0.5, 0.5], [0.2, 0.8, 0.3, 0.6]].map((r) => st.step(r.slice(0, dims)));
  return { normal, anomalies };
}

describe('hst detector', () => {
  it('scores a combination of normal values that is abnormal above every normal point (2 features)', () => {
    // y = x + noise: (0.1, 0.9) has normal marginals but lies off the diagonal, where no mass is.
    for (const seed of [1, 2, 3]) {
      const { normal, anomalies } = diagonal(2, seed);
      for (const s of anomalies) expect(s).toBeGreaterThan(normal[normal.length - 1]);
    }
  });

  it('still ranks it high, but less sharply, with two irrelevant features added (4 features)', () => {
    // Axis-aligned random splits spend about half their depth on the two independent columns, which dilutes the
    // contrast (a known limit of HST, measured: anomalies at p90-p99.5 of the normal scores, not above all).
    for (const seed of [1, 2, 3]) {
      const { normal, anomalies } = diagonal(4, seed);
      const p50 = normal[Math.floor(0.5 * normal.length)];
      const p90 = normal[Math.floor(0.9 * normal.length)];
      for (const s of anomalies) expect(s).toBeGreaterThan(p50);
      expect(anomalies.reduce((p, q) => p + q, 0) / anomalies.length).toBeGreaterThan(p90);
    }
  });

  it("ranks it higher with the paper's score (the terminal node's mass) than with River's (4 features)", () => {
    // Measured: the paper's score puts the three anomalies at p83-p100 of the normal scores, River's at p74-p97.
    for (const seed of [1, 2, 3]) {
      const { normal, anomalies } = diagonal(4, seed, 1);
      const p80 = normal[Math.floor(0.8 * normal.length)];
      for (const s of anomalies) expect(s).toBeGreaterThan(p80);
      const rank = (v: number): number => normal.filter((q) => q < v).length / normal.length;
      expect(anomalies.map(rank).reduce((p, q) => p + q, 0) / 3).toBeGreaterThan(0.95);
    }
  });

  it('one outlier blinds the all-time min/max scaler for ever; the forgetting scaler recovers within two windows', () => {
    // y = x + noise in [0, 1], one point at (1000, 1000) at 2,000, then 3,000 normal points: with scaler 0 every
    // later point scales into [0, 0.001]^2, takes the same path as the whole window, and scores 0 (measured: all
    // normal and anomalous scores exactly 0); with scaler 1 the anomalies are above every normal score again.
    for (const seed of [1, 2, 3]) {
      const run = (scaler: 0 | 1): { normal: number[]; anomalies: number[] } => {
        const st = new HstState(new HstModel(2, 10, 8, seed), 250, 0.1, 0, scaler);
        const u = mulberry32(100 + seed);
        const g = gaussian(u);
        const normal: number[] = [];
        for (let i = 0; i < 5000; i++) {
          const x = u();
          const sc = st.step(i === 2000 ? [1000, 1000] : [x, x + 0.02 * g()]);
          if (i >= 3000) normal.push(sc);
        }
        normal.sort((p, q) => p - q);
        return { normal, anomalies: [[0.1, 0.9], [0.9, 0.1], [0.2, 0.8]].map((r) => st.step(r)) };
      };
      const allTime = run(0);
      expect(allTime.anomalies).toEqual([0, 0, 0]);
      const forgetting = run(1);
      for (const sc of forgetting.anomalies) expect(sc).toBeGreaterThan(forgetting.normal[forgetting.normal.length - 1]);
    }
  });

  it('gives the same scores for the same seed and different ones for another', () => {
    const run = (seed: number): number[] => {
      const st = new HstState(new HstModel(3, 10, 8, seed), 100);
      const u = mulberry32(77);
      return Array.from({ length: 1000 }, () => st.step([u(), u(), u()]));
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  it.each(BUILDS)('continues identically after a snapshot is restored into another instance (%s)', (build) => {
    const sh = SHAPES[0];
    const xs = stream(sh.dims, 2000, 99);
    const w1 = new HstWasm(build);
    const a = new WasmHst(w1, w1.model(sh.dims, sh.trees, sh.height, sh.seed), sh.dims, sh.trees, sh.height, sh.window);
    for (let i = 0; i < 777; i++) a.step(xs[i]);
    const snap = a.snapshot();
    const w2 = new HstWasm(build);
    const b = new WasmHst(w2, w2.model(sh.dims, sh.trees, sh.height, sh.seed), sh.dims, sh.trees, sh.height, sh.window);
    b.restore(snap);
    expect(w2.x.hst_state_check(b.s, b.m)).toBe(0);
    for (let i = 777; i < xs.length; i++) expect(Object.is(b.step(xs[i]), a.step(xs[i]))).toBe(true);
  });

  it.each(BUILDS)('hst_state_check refuses a state that does not fit its model or holds impossible values (%s)', (build) => {
    const w = new HstWasm(build);
    const m4 = w.model(4, 10, 8, 1);
    const m3 = w.model(3, 10, 8, 1);
    const m4low = w.model(4, 10, 7, 1);
    const a = new WasmHst(w, m4, 4, 10, 8, 250);
    for (let i = 0; i < 300; i++) a.step([i, i % 7, i % 3, -i]);
    expect(w.x.hst_state_check(a.s, m4)).toBe(0);
    expect(w.x.hst_state_check(a.s, m3)).toBe(-3); // other dims
    expect(w.x.hst_state_check(a.s, m4low)).toBe(-3); // other height
    const v = new DataView(w.memory.buffer, a.s, 64);
    const good = a.snapshot();
    for (const [off, bad] of [[4, 0], [4, 65536], [8, 250], [12, 2], [16, 2], [48, 2], [52, 7]]) {
      a.restore(good);
      v.setUint32(off, bad, true);
      expect(w.x.hst_state_check(a.s, m4)).toBe(-3);
    }
  });

  it("keeps an instrument's state within 64 KiB at River's defaults (16 features)", () => {
    const { trees, height } = HST_DEFAULTS;
    const w = new HstWasm();
    const bytes = w.x.hst_state_bytes(16, trees, height);
    expect(bytes).toBe(HstState.bytes(16, trees, height));
    expect(bytes).toBe(64 + 40 * 16 + 2 * 10224); // 10 x 511 u16 masses, padded to 8 bytes, twice
    expect(bytes).toBeLessThanOrEqual(64 * 1024);
  });
});
