// Online regression residuals (issue 6): the module's kernel (build/rls.wasm) against its plain-TypeScript twin on
// seeded streams, bit for bit (scores and the whole final state), plus the detector's own properties: no wind-up
// under constant regressors, a known relation recovered, a step away from the relation flagged and a step along it
// not, outliers, prices near 1e5, refusals, warm-up, snapshots and state checks.
import { describe, expect, it } from 'vitest';
import { RlsState, RLS_DEFAULTS, type RlsParams } from '../src/reference/rls.js';
import { RlsWasm, WasmRls, type RlsBuild } from '../src/wasm/rls.js';
import { gaussian, mulberry32 } from '../src/random.js';

const BUILDS: RlsBuild[] = ['release', 'debug'];

interface Shape extends Partial<RlsParams> { d: number; intercept: 0 | 1; scale: number; seed: number; level?: number }

const SHAPES: Shape[] = [
  { d: 1, intercept: 1, scale: 1, seed: 1 },
  { d: 1, intercept: 0, scale: 1e5, seed: 2, warmup: 0 },
  { d: 2, intercept: 1, scale: 10, seed: 3, lambda: 0.9, warmup: 1 },
  { d: 2, intercept: 0, scale: 1e-3, seed: 4, lambda: 0.99999, delta: 1e12, minScale: 1e-9 },
  { d: 3, intercept: 1, scale: 1e2, seed: 5, lambda: 0.9995, clip: Infinity, level: 1e5 },
  { d: 3, intercept: 0, scale: 1, seed: 6, clip: 1, warmup: 0 },
  { d: 4, intercept: 1, scale: 1e3, seed: 7, lambda: 0.995, level: 1e5 },
  { d: 4, intercept: 0, scale: 1e4, seed: 8, lambda: 0.9, delta: 1e-6, minScale: 1e-6 },
  { d: 5, intercept: 1, scale: 1, seed: 9, lambda: 0.99999, warmup: 1 },
  { d: 5, intercept: 0, scale: 1e1, seed: 10, clip: 2.5 },
  { d: 6, intercept: 1, scale: 1e5, seed: 11, lambda: 0.9, minScale: 1 },
  { d: 6, intercept: 0, scale: 1e-2, seed: 12, lambda: 0.999, minScale: 1e-6 },
  { d: 7, intercept: 1, scale: 1e2, seed: 13, warmup: 0, clip: Infinity },
  { d: 7, intercept: 0, scale: 1, seed: 14, lambda: 0.9995, delta: 1 },
  { d: 8, intercept: 1, scale: 1e4, seed: 15, lambda: 0.99999, level: 1e5 },
  { d: 8, intercept: 0, scale: 1, seed: 16, lambda: 0.9, warmup: 1 },
];

interface Pt { y: number; x: number[] }

/**
 * A seeded stream for a shape: columns at `scale` around `level` (random walks and noise), y a linear relation
 * plus noise (the intercept only with the shape's intercept), the relation changing at the middle, a stretch of
 * constant regressors, ~0.5% outliers in y and ~1% non-finite or too-large values.
 */
function stream(sh: Shape, n: number): Pt[] {
  const u = mulberry32(sh.seed * 7919);
  const g = gaussian(u);
  const level = sh.level ?? 0;
  let theta = Array.from({ length: sh.d }, () => 4 * u() - 2);
  const alpha = sh.intercept ? 3 * sh.scale : 0;
  const walk = new Array<number>(sh.d).fill(0);
  const out: Pt[] = [];
  let last: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i === n >> 1) theta = theta.map((t) => t + 0.5 * g());
    let x: number[];
    if (i >= 1000 && i < 1300) x = last.slice(); // regressors stand still
    else x = walk.map((_, j) => { walk[j] += 0.1 * sh.scale * g(); return level + (j % 2 ? walk[j] : sh.scale * g()); });
    last = x;
    let y = alpha + theta.reduce((a, t, j) => a + t * x[j], 0) + 0.05 * sh.scale * g();
    if (u() < 0.005) y += 1e3 * sh.scale * (u() < 0.5 ? 1 : -1);
    const p = u();
    if (p < 0.01) {
      const bad = [NaN, Infinity, -Infinity, 1e16][Math.floor(u() * 4)];
      if (u() < 0.5) y = bad; else x[Math.floor(u() * sh.d)] = bad;
    }
    out.push({ y, x });
  }
  return out;
}

const params = (sh: Partial<RlsParams>): Partial<RlsParams> => {
  const p: Partial<RlsParams> = {};
  for (const k of ['lambda', 'delta', 'warmup', 'minScale', 'clip'] as const) if (sh[k] !== undefined) p[k] = sh[k];
  return p;
};

const trace = (P: ArrayLike<number>, d: number): number => { let t = 0; for (let i = 0; i < d; i++) t += P[i * d + i]; return t; };

function expectSymmetricFinite(P: ArrayLike<number>, d: number): void {
  for (let i = 0; i < d; i++) {
    expect(P[i * d + i]).toBeGreaterThan(0);
    for (let j = 0; j < d; j++) {
      expect(Number.isFinite(P[i * d + j])).toBe(true);
      expect(Object.is(P[i * d + j], P[j * d + i])).toBe(true);
    }
  }
}

/** Whether P is positive definite: a Cholesky factorisation succeeds. */
function positiveDefinite(P: ArrayLike<number>, d: number): boolean {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = P[i * d + j];
      for (let k = 0; k < j; k++) s -= L[i * d + k] * L[j * d + k];
      if (i === j) { if (!(s > 0)) return false; L[i * d + i] = Math.sqrt(s); } else L[i * d + j] = s / L[j * d + j];
    }
  }
  return true;
}

describe.each(BUILDS)('rls kernel (%s build)', (build) => {
  it.each(SHAPES)('scores bit-identically to the twin and ends in the same state: %o', (sh) => {
    const a = new WasmRls(new RlsWasm(build), sh.d, sh.intercept, params(sh));
    const b = new RlsState(sh.d, sh.intercept, params(sh));
    const pts = stream(sh, 4000);
    let nonzero = 0;
    for (let i = 0; i < pts.length; i++) {
      const sa = a.step(pts[i].y, pts[i].x);
      const sb = b.step(pts[i].y, pts[i].x);
      if (!Object.is(sa, sb)) throw new Error(`step ${i}: wasm ${sa} twin ${sb}`);
      if (!(sa >= 0 && sa < Infinity)) throw new Error(`step ${i}: score ${sa}`);
      if (sa > 0) nonzero++;
    }
    expect(nonzero).toBeGreaterThan(3000);
    expect(a.snapshot()).toEqual(b.toBytes());
    expect(a.check()).toBe(0);
    expectSymmetricFinite(b.P, sh.d);
    expect(trace(b.P, sh.d)).toBeLessThanOrEqual(sh.d * b.delta);
    expect(b.resets).toBe(0);
  });

  it('keeps P bounded under constant regressors for 100,000 points, then learns and scores sanely (d 1..8)', () => {
    // Without an intercept a constant x excites one direction; the d - 1 others get no information. Exponential
    // forgetting would divide P by lambda there 100,000 times (see the next test); here P stays put outside x.
    for (let d = 1; d <= 8; d++) {
      for (const lambda of [0.9, 0.995]) {
        for (const intercept of [0, 1] as const) {
          const p = { lambda, delta: 1e4, warmup: 50 };
          const a = new WasmRls(new RlsWasm(build), d, intercept, p);
          const b = new RlsState(d, intercept, p);
          const u = mulberry32(100 * d + intercept);
          const g = gaussian(u);
          const theta = Array.from({ length: d }, (_, j) => (j % 2 ? -1 : 1) * (0.5 + j / 4));
          const c = Array.from({ length: d }, (_, j) => 1 + j);
          const rel = (x: number[]): number => 2 * intercept + theta.reduce((s, t, j) => s + t * x[j], 0);
          for (let i = 0; i < 100_000; i++) {
            const y = rel(c) + 0.1 * g();
            const sa = a.step(y, c);
            const sb = b.step(y, c);
            if (!Object.is(sa, sb)) throw new Error(`d ${d} lambda ${lambda} step ${i}: wasm ${sa} twin ${sb}`);
            if (i >= 50 && !(sa < 8)) throw new Error(`d ${d} lambda ${lambda} step ${i}: score ${sa} on a constant stream`);
          }
          expect(a.snapshot()).toEqual(b.toBytes());
          expect(a.check()).toBe(0);
          expectSymmetricFinite(b.P, d);
          expect(positiveDefinite(b.P, d)).toBe(true);
          expect(trace(b.P, d)).toBeLessThanOrEqual(d * 1e4);
          // The regressors move again: the relation is learnt and the scores are those of noise.
          const scores: number[] = [];
          for (let i = 0; i < 3000; i++) {
            const x = c.map((cj) => cj + g());
            const y = rel(x) + 0.1 * g();
            const sa = a.step(y, x);
            expect(Object.is(sa, b.step(y, x))).toBe(true);
            if (i >= 1000) scores.push(sa);
          }
          scores.sort((p1, p2) => p1 - p2);
          expect(scores[scores.length >> 1]).toBeLessThan(1.2); // |N(0, 1)| has median 0.67
          expect(scores[scores.length - 1]).toBeLessThan(6);
          for (let j = 0; j < d; j++) expect(Math.abs(b.theta[j] - theta[j])).toBeLessThan(0.05);
        }
      }
    }
  }, 120_000);

  it('refuses a point with a non-finite or too large value: score 0, state unchanged', () => {
    for (const intercept of [0, 1] as const) {
      const a = new WasmRls(new RlsWasm(build), 3, intercept, { warmup: 10 });
      const u = mulberry32(6);
      for (let i = 0; i < 50; i++) a.step(u(), [u(), u(), u()]);
      const before = a.snapshot();
      for (const [y, x] of [[NaN, [0, 0, 0]], [Infinity, [0, 0, 0]], [0, [0, -Infinity, 0]], [0, [0, 0, NaN]], [1e16, [0, 0, 0]], [0, [-1.0000001e15, 0, 0]]] as [number, number[]][]) {
        expect(a.step(y, x)).toBe(0);
        expect(a.snapshot()).toEqual(before);
      }
      expect(a.step(1e15, [1e15, 0, 0])).toBeGreaterThan(0); // the limit itself is accepted
    }
  });

  it('scores 0 through the warm-up: warmup 0 scores the first point, warmup 1 the second', () => {
    // Without an intercept the first point has a residual (theta starts at 0): |y| / minScale with warmup 0.
    const w0 = new WasmRls(new RlsWasm(build), 1, 0, { warmup: 0, minScale: 0.5 });
    expect(w0.step(2, [1])).toBe(4);
    const w1 = new WasmRls(new RlsWasm(build), 1, 0, { warmup: 1, minScale: 0.5 });
    expect(w1.step(2, [1])).toBe(0);
    expect(w1.step(2, [1])).toBeGreaterThan(0);
    // With an intercept the first point defines the means: residual 0.
    const c0 = new WasmRls(new RlsWasm(build), 2, 1, { warmup: 0 });
    expect(c0.step(5, [1, 2])).toBe(0);
    const c400 = new WasmRls(new RlsWasm(build), 2, 1, { warmup: 400 });
    const u = mulberry32(3);
    for (let i = 0; i < 400; i++) expect(c400.step(10 * u(), [u(), u()])).toBe(0);
    expect(c400.step(10 * u(), [u(), u()])).toBeGreaterThan(0);
  });

  it('rejects shapes and settings out of range (-5)', () => {
    const w = new RlsWasm(build);
    expect(w.x.rls_model_bytes(0, 0)).toBe(-5);
    expect(w.x.rls_model_bytes(9, 0)).toBe(-5);
    expect(w.x.rls_model_bytes(2, 2)).toBe(-5);
    expect(w.x.rls_state_bytes(9, 1)).toBe(-5);
    expect(w.x.rls_state_bytes(2, -1)).toBe(-5);
    const scratch = w.alloc(64);
    expect(w.x.rls_model_init(scratch, 0, 1)).toBe(-5);
    const m = w.model(2, 1);
    const s = w.alloc(w.x.rls_state_bytes(2, 1));
    const D = RLS_DEFAULTS;
    const init = (o: Partial<RlsParams>): number => {
      const p = { ...D, ...o };
      return w.x.rls_state_init(s, m, p.lambda, p.delta, p.warmup, p.minScale, p.clip);
    };
    expect(init({})).toBe(0);
    for (const bad of [{ lambda: 1 }, { lambda: 0.89 }, { lambda: NaN }, { delta: 0 }, { delta: 1e13 }, { delta: NaN },
      { warmup: -1 }, { minScale: 0 }, { minScale: -1 }, { minScale: Infinity }, { minScale: NaN }, { clip: 0.9 }, { clip: NaN }]) {
      expect(init(bad)).toBe(-5);
    }
    expect(init({ clip: Infinity, lambda: 0.9, delta: 1e12, minScale: 1e15 })).toBe(0);
  });

  it('continues identically after a snapshot is restored into another instance', () => {
    const sh = SHAPES[6];
    const pts = stream(sh, 3000);
    const a = new WasmRls(new RlsWasm(build), sh.d, sh.intercept, params(sh));
    for (let i = 0; i < 1777; i++) a.step(pts[i].y, pts[i].x);
    const b = new WasmRls(new RlsWasm(build), sh.d, sh.intercept, { lambda: 0.91, warmup: 3 }); // other settings: the snapshot carries them
    b.restore(a.snapshot());
    expect(b.check()).toBe(0);
    for (let i = 1777; i < pts.length; i++) expect(Object.is(b.step(pts[i].y, pts[i].x), a.step(pts[i].y, pts[i].x))).toBe(true);
    expect(b.snapshot()).toEqual(a.snapshot());
  });

  it('rls_state_check refuses a state that does not fit its model or holds impossible values (-3)', () => {
    const w = new RlsWasm(build);
    const a = new WasmRls(w, 3, 1, {});
    const u = mulberry32(9);
    for (let i = 0; i < 300; i++) a.step(u(), [u(), u(), u()]);
    expect(a.check()).toBe(0);
    expect(w.x.rls_state_check(a.s, w.model(2, 1))).toBe(-3); // another d
    expect(w.x.rls_state_check(a.s, w.model(3, 0))).toBe(-3); // no intercept
    const good = a.snapshot();
    const v = new DataView(w.memory.buffer, a.s, a.bytes);
    const P = 80 + 8 * 12;
    const edits: [string, () => void][] = [
      ['d 9', () => v.setUint32(0, 9, true)],
      ['intercept 2', () => v.setUint32(4, 2, true)],
      ['warmup < 0', () => v.setInt32(8, -1, true)],
      ['n < 0', () => v.setBigInt64(16, -1n, true)],
      ['lambda 1', () => v.setFloat64(24, 1, true)],
      ['delta 0', () => v.setFloat64(32, 0, true)],
      ['minScale 0', () => v.setFloat64(40, 0, true)],
      ['clip NaN', () => v.setFloat64(48, NaN, true)],
      ['s2 < 0', () => v.setFloat64(56, -1, true)],
      ['s2 Infinity', () => v.setFloat64(56, Infinity, true)],
      ['my NaN', () => v.setFloat64(64, NaN, true)],
      ['prediction NaN', () => v.setFloat64(72, NaN, true)],
      ['theta NaN', () => v.setFloat64(80 + 8, NaN, true)],
      ['mean Infinity', () => v.setFloat64(80 + 24, Infinity, true)],
      ['P asymmetric', () => v.setFloat64(P + 8 * 1, v.getFloat64(P + 8 * 1, true) * (1 + 2 ** -52), true)],
      ['P diagonal 0', () => v.setFloat64(P + 8 * 4, 0, true)],
      ['P NaN off the diagonal', () => { v.setFloat64(P + 8 * 2, NaN, true); v.setFloat64(P + 8 * 6, NaN, true); }],
    ];
    for (const [what, edit] of edits) {
      a.restore(good);
      edit();
      expect(a.check(), what).toBe(-3);
    }
    a.restore(good);
    expect(a.check()).toBe(0);
  });

  it('starts P again from delta I, counted, if it has lost definiteness', () => {
    // Not reachable from a valid state in these tests (every stream keeps P positive definite); the guard for a
    // run of weeks. Forced here by writing -I into P in both the module and the twin.
    const a = new WasmRls(new RlsWasm(build), 2, 0, { warmup: 0 });
    const b = new RlsState(2, 0, { warmup: 0 });
    const v = new DataView(a.w.memory.buffer, a.s, a.bytes);
    const P = 80 + 8 * 8;
    for (const k of [0, 3]) { v.setFloat64(P + 8 * k, -1, true); b.P[k] = -1; }
    expect(a.check()).toBe(-3);
    expect(Object.is(a.step(1, [1, 2]), b.step(1, [1, 2]))).toBe(true);
    expect(b.resets).toBe(1);
    expect(v.getUint32(12, true)).toBe(1);
    expect(a.snapshot()).toEqual(b.toBytes());
    expect(a.check()).toBe(0);
    expect(positiveDefinite(b.P, 2)).toBe(true);
  });
});

/** A plain exponential-forgetting RLS (P <- (P - k Pz') / lambda), for contrast. */
function plainRlsTrace(d: number, lambda: number, x: number[], n: number): number {
  const P = new Float64Array(d * d);
  for (let i = 0; i < d; i++) P[i * d + i] = 1e4;
  const pz = new Float64Array(d);
  for (let t = 0; t < n; t++) {
    let r = 0;
    for (let i = 0; i < d; i++) { let a = 0; for (let j = 0; j < d; j++) a += P[i * d + j] * x[j]; pz[i] = a; r += x[i] * a; }
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) P[i * d + j] = (P[i * d + j] - (pz[i] * pz[j]) / (lambda + r)) / lambda;
  }
  return trace(P, d);
}

describe('rls detector', () => {
  it('exponential forgetting winds up under constant regressors; the kernel does not', () => {
    // The reason for directional forgetting: 100,000 points of x = (1, 2) at lambda 0.995.
    expect(plainRlsTrace(2, 0.995, [1, 2], 100_000)).toBeGreaterThan(1e100);
    const st = new RlsState(2, 0, { lambda: 0.995 });
    for (let i = 0; i < 100_000; i++) st.step(3, [1, 2]);
    expect(trace(st.P, 2)).toBeLessThanOrEqual(2e4);
    // Along the excited direction r = x'Px reaches the fixed point 1 - lambda.
    const x = [1, 2];
    let r = 0;
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) r += x[i] * st.P[i * 2 + j] * x[j];
    expect(r).toBeCloseTo(1 - 0.995, 6);
  });

  it('keeps trace(P) <= d delta when the regressors shrink towards 0 (the bounded-trace rule)', () => {
    // Directional forgetting alone lets P grow along z to (1 - lambda) / |z|^2: 1e13 here.
    for (const d of [1, 3, 8]) {
      const st = new RlsState(d, 0, { lambda: 0.9, delta: 100 });
      const w = new WasmRls(new RlsWasm(), d, 0, { lambda: 0.9, delta: 100 });
      const u = mulberry32(d);
      for (let i = 0; i < 20_000; i++) {
        const x = Array.from({ length: d }, () => 1e-7 * (u() - 0.5));
        const y = 1e-7 * (u() - 0.5);
        expect(Object.is(st.step(y, x), w.step(y, x))).toBe(true);
        const t = trace(st.P, d);
        if (!(t <= d * 100 * (1 + 1e-12))) throw new Error(`d ${d} step ${i}: trace ${t}`);
      }
      expect(positiveDefinite(st.P, d)).toBe(true);
      expect(w.snapshot()).toEqual(st.toBytes());
    }
  });

  it('recovers a known linear relation (with and without an intercept)', () => {
    for (const [d, intercept] of [[1, 1], [3, 1], [4, 0], [8, 0], [8, 1]] as [number, 0 | 1][]) {
      const u = mulberry32(40 + d);
      const g = gaussian(u);
      const theta = Array.from({ length: d }, () => 4 * u() - 2);
      const alpha = intercept ? -7.5 : 0;
      const st = new RlsState(d, intercept, { lambda: 0.999 });
      for (let i = 0; i < 20_000; i++) {
        const x = Array.from({ length: d }, () => 5 + 3 * g());
        st.step(alpha + theta.reduce((s, t, j) => s + t * x[j], 0) + 0.1 * g(), x);
      }
      for (let j = 0; j < d; j++) expect(Math.abs(st.theta[j] - theta[j])).toBeLessThan(0.01);
      expect(Math.abs(st.alpha - alpha)).toBeLessThan(0.05);
      // The prediction kept for the alert's `expected`: the relation's value at a new point, learnt or not.
      const x = new Array<number>(d).fill(6);
      const truth = alpha + theta.reduce((s, t, j) => s + t * x[j], 0);
      expect(st.step(truth + 1, x)).toBeGreaterThan(8);
      expect(Math.abs(st.yhat - truth)).toBeLessThan(0.05);
      expect(Math.sqrt(st.s2)).toBeGreaterThan(0.09); // the noise's sd is 0.1
      expect(Math.sqrt(st.s2)).toBeLessThan(0.11);
    }
  });

  it('scores a step of y away from the relation above every normal point, and a step of y and x along it not', () => {
    for (const [d, seed] of [[1, 1], [1, 2], [3, 3], [3, 4], [6, 5]]) {
      const theta = Array.from({ length: d }, (_, j) => 0.5 + ((seed + j) % 4) / 4);
      // The same stream (same seed) with a step at point 5000: every x moves by dx (y follows through the relation)
      // and y moves by dy off the relation.
      const run = (dx: number, dy: number): { normal: number[]; step: number } => {
        const g = gaussian(mulberry32(seed));
        const st = new RlsState(d, 1, {});
        const normal: number[] = [];
        const walk = new Array<number>(d).fill(0);
        let step = NaN;
        for (let i = 0; i <= 5000; i++) {
          const x = walk.map((_, j) => { walk[j] += 0.3 * g(); return walk[j] + (i === 5000 ? dx : 0); });
          const y = 4 + theta.reduce((s, t, j) => s + t * x[j], 0) + 0.2 * g() + (i === 5000 ? dy : 0);
          const sc = st.step(y, x);
          if (i === 5000) step = sc;
          else if (i >= 1000) normal.push(sc);
        }
        normal.sort((p, q) => p - q);
        return { normal, step };
      };
      // y alone moves by 2 (10 noise sd): away from the relation.
      const away = run(0, 2);
      expect(away.step).toBeGreaterThan(away.normal[away.normal.length - 1]);
      // every x moves by 3 (10 sd of a step of the walk) and y by theta.dx with it: the relation holds.
      const along = run(3, 0);
      expect(along.step).toBeLessThan(along.normal[Math.floor(0.99 * along.normal.length)]);
      expect(along.step).toBeLessThan(3);
    }
  });

  it('learns from a clipped residual: one outlier does not wreck theta (clip 4); without the clip it does', () => {
    const run = (clip: number): { err: number; after: number[]; next: number } => {
      const u = mulberry32(77);
      const g = gaussian(u);
      const st = new RlsState(2, 1, { clip, lambda: 0.995 });
      const theta = [1.5, -0.5];
      const rel = (x: number[]): number => 1 + theta[0] * x[0] + theta[1] * x[1];
      for (let i = 0; i < 3000; i++) { const x = [g(), g()]; st.step(rel(x) + 0.1 * g(), x); }
      st.step(rel([0.5, 0.5]) + 1e4, [0.5, 0.5]); // 100,000 noise sd
      const err = Math.max(Math.abs(st.theta[0] - theta[0]), Math.abs(st.theta[1] - theta[1]), Math.abs(st.alpha - 1));
      const after: number[] = [];
      for (let i = 0; i < 200; i++) { const x = [g(), g()]; after.push(st.step(rel(x) + 0.1 * g(), x)); }
      return { err, after, next: st.step(rel([0, 0]) + 1, [0, 0]) }; // then a 10-sd anomaly
    };
    const clipped = run(4);
    expect(clipped.err).toBeLessThan(0.05);
    expect(Math.max(...clipped.after)).toBeLessThan(6);
    expect(clipped.next).toBeGreaterThan(8); // measured 9.8
    const raw = run(Infinity);
    expect(raw.err).toBeGreaterThan(10); // measured 49
    expect(Math.max(...raw.after)).toBeLessThan(1); // its scale is blown too: the next anomaly is missed
    expect(raw.next).toBeLessThan(1); // measured 0.04
  });

  it("discounts a residual where the model is uncertain: a regressor that starts moving after standing still", () => {
    // The predictive sd sqrt(s2 (1 + r / lambda)) is large along a direction P has learnt nothing about; a scale of
    // the raw residuals alone would flag the first moves of x2 (|e| / sqrt(s2) measured here above 10).
    const u = mulberry32(5);
    const g = gaussian(u);
    const st = new RlsState(2, 1, { warmup: 100 });
    const rel = (x: number[]): number => 2 + 0.8 * x[0] + 0.7 * x[1];
    for (let i = 0; i < 5000; i++) { const x = [g(), 3]; st.step(rel(x) + 0.05 * g(), x); }
    let rawMax = 0;
    let scoreMax = 0;
    for (let i = 0; i < 50; i++) {
      const x = [g(), 3 + 2 * g()];
      const y = rel(x) + 0.05 * g();
      const e = y - st.my - st.theta[0] * (x[0] - st.mx[0]) - st.theta[1] * (x[1] - st.mx[1]);
      rawMax = Math.max(rawMax, Math.abs(e) / Math.sqrt(st.s2));
      scoreMax = Math.max(scoreMax, st.step(y, x));
    }
    expect(rawMax).toBeGreaterThan(10);
    expect(scoreMax).toBeLessThan(4);
    expect(st.theta[1]).toBeCloseTo(0.7, 2);
  });

  it('prices near 1e5 moving by 1e-4: a perpetual mid regressed on its index, raw prices or basis points of an anchor', () => {
    // index: a random walk of 1e-4 relative steps from 1e5; mid = index (1 + 3e-5) + noise of 1e-5 relative (1 USD);
    // at point 6000 the mid drifts away from the index by 1e-4 (10 USD, 1 bp).
    for (const seed of [1, 2, 3]) {
      const u = mulberry32(seed);
      const g = gaussian(u);
      const anchor = 1e5;
      const bps = (p: number): number => ((p - anchor) / anchor) * 1e4;
      const raw = new RlsState(1, 1, { minScale: 0.01 });
      const rawWasm = new WasmRls(new RlsWasm(), 1, 1, { minScale: 0.01 });
      const rel = new RlsState(1, 1, { minScale: 0.001 });
      let index = anchor;
      const normal: number[][] = [[], []];
      let drift: number[] = [];
      for (let i = 0; i <= 6000; i++) {
        index *= 1 + 1e-4 * g();
        const mid = index * (1 + 3e-5) + 1e-5 * anchor * g() + (i === 6000 ? 1e-4 * index : 0);
        const s0 = raw.step(mid, [index]);
        expect(Object.is(s0, rawWasm.step(mid, [index]))).toBe(true);
        const s1 = rel.step(bps(mid), [bps(index)]);
        if (i === 6000) drift = [s0, s1];
        else if (i >= 1000) { normal[0].push(s0); normal[1].push(s1); }
      }
      for (const st of [raw, rel]) expect(Math.abs(st.theta[0] - 1)).toBeLessThan(0.01);
      for (const k of [0, 1]) {
        expect(drift[k]).toBeGreaterThan(Math.max(...normal[k]));
        const sorted = normal[k].slice().sort((p, q) => p - q);
        expect(sorted[sorted.length >> 1]).toBeLessThan(1.2);
      }
      // The same detector in either unit: the scores agree but for the rounding of the unit change (measured
      // 5e-13..1.2e-12 relative).
      expect(Math.abs(drift[0] - drift[1]) / drift[1]).toBeLessThan(1e-9);
    }
  });

  it('state bytes: 176 (d 2), 336 (d 4), 848 (d 8), as the twin counts them', () => {
    const w = new RlsWasm();
    for (const [d, bytes] of [[1, 120], [2, 176], [4, 336], [8, 848]]) {
      for (const intercept of [0, 1]) expect(w.x.rls_state_bytes(d, intercept)).toBe(bytes);
      expect(RlsState.bytes(d)).toBe(bytes);
      expect(w.x.rls_model_bytes(d, 0)).toBe(16);
    }
  });
});
