// The WASM kernels (count window, EWMA, time window) held against their plain-TypeScript twins in
// src/reference/, for both builds through one factory (as ChainSafe's as-sha256 tests do).
//
// Tolerances, and why:
//  - order statistics (min, max, median, MAD, quantiles): EXACT. Both sides pick the same stored doubles and
//    combine them with the same single operations (a + (b - a) h, 0.5 (a + b), |x - m|).
//  - count-window mean: relative 1e-9 (RTOL_MEAN) of max(|mean|, largest |x|). Variance: relative 1e-9
//    (RTOL_VAR) plus the rounding term 8 eps S R of the sliding sums (S = largest |x|, R = range of the last 2w
//    values; derivation at expectSameWindow). On O(1) data the two agree to ~1e-14; a wrong formula is off by O(1).
//  - prices near 1e5 moving by 1e-4 (variance ~1e-8 on values of 1e5, condition number (mean/sd)^2 ~ 1e17, where
//    naive sum-of-squares keeps no correct digit): held against the EXACT variance (BigInt arithmetic) in
//    test/regressions.test.ts, test (d): the kernel within 2e-13 (measured 1.5e-13 at w = 1000), the two-pass twin
//    within 1e-12.
//  - EWMA: relative 1e-9; the twin applies the same recursion (results are in fact bit-identical), and a third,
//    non-recursive form (explicit weights) agrees to 1e-9 (1e-6 for the variance at 1e5, where the weighted
//    two-pass sum over 2000 terms is the less exact side).
//  - time window: count exact; sum, mean, sum of squares relative 1e-9 of the magnitude of the terms (a sum that
//    cancels to ~0 is judged against sum |x|); variance relative 1e-9, and 1e-6 (RTOL_TW_HARD) for bursts of
//    prices near 1e5 (per-bucket shifted sums merged by Chan, Golub and LeVeque; the merge rounds each bucket's mean
//    at 1e5, which costs up to ~5e-8 relative: see test/regressions.test.ts, (c)); min and max exact.
import { describe, expect, it } from 'vitest';
import { RefCountWindow } from '../src/reference/window.js';
import { RefEwma, ewmaFromScratch } from '../src/reference/ewma.js';
import { RefTimeWindow } from '../src/reference/timewindow.js';
import { Scratch, type WasmWindow, type WasmTimeWindow } from './helpers/kernels.js';
import { BUILDS, type Build } from './helpers/wasm.js';
import { expectClose, ErrorMeter } from './helpers/close.js';
import { gaussian, mulberry32 } from './helpers/random.js';

const RTOL_MEAN = 1e-9;
const RTOL_VAR = 1e-9;
const RTOL_TW_HARD = 1e-6;
const RTOL_EWMA = 1e-9;
const RTOL_TW = 1e-9;

const QS = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1];

type AnyWindow = RefCountWindow | WasmWindow;

/**
 * Every statistic of the two windows agrees: order statistics exactly; the mean within RTOL_MEAN of
 * max(|mean|, scale) (a mean that cancels to ~0 is judged against the size of the values); the variance within
 * RTOL_VAR var + VAR_ROUNDING eps S R, with S the largest |x| and R the range of the last 2w values pushed
 * (`recent`, a window of 2w). The second term is the rounding of the sliding sums, not slack: each update adds
 * (x - K)^2 - (a - K)^2 with an error of ~eps (x - K)^2, K lying within the range of the last 2w values; up to w
 * such errors enter the sum of squares between two exact recomputations (every w pushes), and dividing by n - 1
 * brings them back to ~eps R^2 <= 2 eps S R. Two-pass avoids this term, so right after a large value leaves a
 * window of near-equal values the two differ by more than RTOL_VAR relative while both are right to that bound.
 */
function expectSameWindow(wasm: WasmWindow, ref: RefCountWindow, recent: RefCountWindow, label: string): void {
  expect(wasm.count, `${label} count`).toBe(ref.count);
  expect(wasm.min(), `${label} min`).toBe(ref.min());
  expect(wasm.max(), `${label} max`).toBe(ref.max());
  expect(wasm.median(), `${label} median`).toBe(ref.median());
  expect(wasm.mad(), `${label} mad`).toBe(ref.mad());
  for (const q of QS) expect(wasm.quantile(q), `${label} q${q}`).toBe(ref.quantile(q));
  expectClose(wasm.mean(), ref.mean(), RTOL_MEAN, `${label} mean`, Math.max(Math.abs(recent.min()), Math.abs(recent.max())));
  expectVarClose(wasm.variance(), ref, recent, `${label} var`);
}

/** Multiple of eps S R allowed for the rounding of sliding variance updates (see expectSameWindow). */
const VAR_ROUNDING = 8;

function expectVarClose(actual: number, ref: RefCountWindow, recent: RefCountWindow, label: string): void {
  const expected = ref.variance();
  if (ref.count === 0) { expect(actual, label).toBeNaN(); return; }
  const s = Math.max(Math.abs(recent.min()), Math.abs(recent.max()));
  const tol = RTOL_VAR * expected + VAR_ROUNDING * Number.EPSILON * s * (recent.max() - recent.min());
  const err = Math.abs(actual - expected);
  if (!(err <= tol)) expect.fail(`${label}: ${actual} vs ${expected}, error ${err.toExponential(3)} > ${tol.toExponential(3)}`);
}

/** The kernel under test, its twin, and the last 2w values (for the variance bound), pushed together. */
class Trio {
  readonly ref: RefCountWindow;
  readonly recent: RefCountWindow;
  constructor(readonly wasm: WasmWindow, w: number) {
    this.ref = new RefCountWindow(w);
    this.recent = new RefCountWindow(2 * w);
  }
  push(x: number): void { this.wasm.push(x); this.ref.push(x); this.recent.push(x); }
  check(label: string): void { expectSameWindow(this.wasm, this.ref, this.recent, label); }
}

function stats(w: AnyWindow): number[] {
  return [w.count, w.mean(), w.variance(), w.min(), w.max(), w.median(), w.mad(), ...QS.map((q) => w.quantile(q))];
}

function expectSameTimeWindow(wasm: WasmTimeWindow, ref: RefTimeWindow, label: string, rtolVar = RTOL_TW): void {
  const v = ref.values();
  let absSum = 0;
  for (const x of v) absSum += Math.abs(x);
  expect(wasm.count(), `${label} count`).toBe(ref.count());
  expectClose(wasm.sum(), ref.sum(), RTOL_TW, `${label} sum`, absSum);
  expectClose(wasm.sumSq(), ref.sumSq(), RTOL_TW, `${label} sumSq`);
  expectClose(wasm.mean(), ref.mean(), RTOL_TW, `${label} mean`, v.length ? absSum / v.length : 0);
  expectClose(wasm.variance(), ref.variance(), rtolVar, `${label} var`);
  expect(wasm.min(), `${label} min`).toBe(ref.min());
  expect(wasm.max(), `${label} max`).toBe(ref.max());
}

function describeKernels(build: Build): void {
  describe(`kernels (${build} build)`, () => {
    // ---- count window ----------------------------------------------------------------------------------------
    describe('count window', () => {
      it('window 3 over [1, 2, 3, 4, 5]: hand-computed statistics of [3, 4, 5]', () => {
        const s = new Scratch(build);
        const w = s.window(3);
        const r = new RefCountWindow(3);
        for (const x of [1, 2, 3, 4, 5]) { w.push(x); r.push(x); }
        for (const k of [w, r] as AnyWindow[]) {
          expect(k.count).toBe(3);
          expect(k.mean()).toBe(4);
          expect(k.variance()).toBe(1);
          expect(k.median()).toBe(4);
          expect(k.mad()).toBe(1);
          expect(k.min()).toBe(3);
          expect(k.max()).toBe(5);
          expect(k.quantile(0)).toBe(3);
          expect(k.quantile(0.25)).toBe(3.5);
          expect(k.quantile(0.5)).toBe(4);
          expect(k.quantile(0.75)).toBe(4.5);
          expect(k.quantile(1)).toBe(5);
        }
        expect(w.guardIntact()).toBe(true);
      });

      it('even count: median and MAD average the two middle values; type-7 quantiles', () => {
        const s = new Scratch(build);
        const w = s.window(4);
        const r = new RefCountWindow(4);
        // [1, 2, 4, 10]: median 3; |x - 3| = [2, 1, 1, 7] -> sorted [1, 1, 2, 7], MAD 1.5.
        for (const x of [10, 1, 4, 2]) { w.push(x); r.push(x); }
        for (const k of [w, r] as AnyWindow[]) {
          expect(k.median()).toBe(3);
          expect(k.mad()).toBe(1.5);
          expect(k.quantile(0.5)).toBe(3);     // h = 1.5: 2 + 0.5 (4 - 2)
          expect(k.quantile(0.75)).toBe(5.5);  // h = 2.25: 4 + 0.25 (10 - 4), numpy.quantile gives 5.5
          expect(k.quantile(0.125)).toBe(1.375); // h = 0.375: 1 + 0.375 (2 - 1)
          expect(k.mean()).toBe(4.25);
          expect(k.variance()).toBe(16.25); // sum (x - 4.25)^2 = 10.5625 + 5.0625 + 0.0625 + 33.0625 = 48.75, / 3
        }
        // MAD where the deviations come from both sides unevenly: [1, 2, 3, 4, 100, 200]: median 3.5,
        // |x - 3.5| = [2.5, 1.5, 0.5, 0.5, 96.5, 196.5] -> sorted [0.5, 0.5, 1.5, 2.5, 96.5, 196.5], MAD 2.
        const w6 = s.window(6);
        const r6 = new RefCountWindow(6);
        for (const x of [200, 1, 100, 3, 2, 4]) { w6.push(x); r6.push(x); }
        expect(w6.median()).toBe(3.5);
        expect(w6.mad()).toBe(2);
        expect(r6.mad()).toBe(2);
      });

      it('quantile outside [0, 1], NaN q, or an empty window: NaN', () => {
        const s = new Scratch(build);
        const w = s.window(5);
        const r = new RefCountWindow(5);
        for (const k of [w, r] as AnyWindow[]) {
          expect(k.count).toBe(0);
          for (const v of [k.mean(), k.variance(), k.min(), k.max(), k.median(), k.mad(), k.quantile(0.5)]) expect(v).toBeNaN();
        }
        for (const x of [5, 1, 3]) { w.push(x); r.push(x); }
        for (const k of [w, r] as AnyWindow[]) {
          for (const q of [-0.01, 1.01, NaN, Infinity, -Infinity]) expect(k.quantile(q)).toBeNaN();
          expect(k.quantile(0.5)).toBe(3);
        }
      });

      it('a single value: mean = median = min = max = x, variance 0, MAD 0', () => {
        const s = new Scratch(build);
        const w = s.window(8);
        const r = new RefCountWindow(8);
        w.push(-7.25); r.push(-7.25);
        for (const k of [w, r] as AnyWindow[]) {
          expect(stats(k)).toEqual([1, -7.25, 0, -7.25, -7.25, -7.25, 0, ...QS.map(() => -7.25)]);
        }
      });

      it('window 1 holds only the newest value', () => {
        const s = new Scratch(build);
        const w = s.window(1);
        const r = new RefCountWindow(1);
        const g = gaussian(mulberry32(11));
        for (let i = 0; i < 500; i++) {
          const x = 1000 * g();
          w.push(x); r.push(x);
          expect(stats(w)).toEqual([1, x, 0, x, x, x, 0, ...QS.map(() => x)]);
          expect(stats(r)).toEqual(stats(w));
        }
        expect(w.guardIntact()).toBe(true);
      });

      it('partial windows: 1..k in a window of 10 (mean (k+1)/2, variance k(k+1)/12)', () => {
        const s = new Scratch(build);
        const t = new Trio(s.window(10), 10);
        const w = t.wasm;
        for (let k = 1; k <= 10; k++) {
          t.push(k);
          expect(w.count).toBe(k);
          expect(w.mean()).toBe((k + 1) / 2);
          expectClose(w.variance(), k === 1 ? 0 : (k * (k + 1)) / 12, 1e-15, `var k=${k}`);
          expect(w.median()).toBe((k + 1) / 2);
          expect(w.min()).toBe(1);
          expect(w.max()).toBe(k);
          t.check(`k=${k}`);
        }
        t.push(11); // now 2..11
        expect(w.count).toBe(10);
        expect(w.mean()).toBe(6.5);
        expect(w.min()).toBe(2);
        t.check('slid');
      });

      it('NaN and +-Infinity are refused and counted; nothing else changes', () => {
        const s = new Scratch(build);
        const t = new Trio(s.window(4), 4);
        const { wasm: w, ref: r } = t;
        for (const x of [NaN, Infinity]) t.push(x);
        expect(w.count).toBe(0);
        expect(w.skipped).toBe(2);
        expect(r.skipped).toBe(2);
        for (const x of [3, 1, 2, 8, 5]) t.push(x);
        const before = stats(w);
        for (const x of [NaN, Infinity, -Infinity, -NaN]) t.push(x);
        expect(stats(w)).toEqual(before);
        expect(stats(r)).toEqual(before);
        expect(w.skipped).toBe(6);
        expect(r.skipped).toBe(6);
        expect(w.total).toBe(5);
        expect(r.total).toBe(5);
        // The oldest value is still the next one out: [1, 2, 8, 5] -> push 9 -> [2, 8, 5, 9].
        t.push(9);
        expect(w.min()).toBe(2);
        expect(w.mean()).toBe(6);
        t.check('after refusals');
      });

      it('duplicates and ties: the sorted copy stays right when equal values enter and leave', () => {
        const s = new Scratch(build);
        // Hand case: window 3 over [2, 2, 2, 1, 2, 3] ends at [1, 2, 3]; replacing a 2 by a 2 on the way.
        const t3 = new Trio(s.window(3), 3);
        for (const x of [2, 2, 2, 1, 2, 3]) { t3.push(x); t3.check(`ties3 ${x}`); }
        expect(stats(t3.wasm)).toEqual([3, 2, 1, 1, 3, 2, 1, 1, 1.02, 1.2, 1.5, 2, 2.5, 2.8, 2.98, 3]);
        // Random values from a set of 4 (every replacement is among ties), several window sizes.
        for (const size of [2, 5, 7, 32]) {
          const t = new Trio(s.window(size), size);
          const u = mulberry32(100 + size);
          for (let i = 0; i < 3000; i++) {
            t.push(Math.floor(u() * 4));
            t.check(`ties w=${size} i=${i}`);
          }
          expect(t.wasm.guardIntact()).toBe(true);
        }
      });

      it('seeded gaussian streams, window sizes 2..257: every statistic after every push', () => {
        const s = new Scratch(build);
        for (const [size, seed] of [[2, 1], [3, 2], [16, 3], [64, 4], [257, 5]] as const) {
          const t = new Trio(s.window(size), size);
          const g = gaussian(mulberry32(seed));
          for (let i = 0; i < 4000; i++) {
            // Some heavy tails and a level shift, so that the sorted copy moves a lot.
            t.push((i < 2000 ? 0 : 50) + (i % 97 === 0 ? 30 * g() : g()));
            t.check(`w=${size} i=${i}`);
          }
          expect(t.wasm.guardIntact()).toBe(true);
        }
      });

      it('without the sorted copy: mean, variance, min, max as before; order statistics NaN', () => {
        const s = new Scratch(build);
        for (const [size, seed] of [[1, 71], [5, 72], [64, 73]] as const) {
          const t = new Trio(s.window(size, false), size);
          const { wasm: w, ref: r } = t;
          const g = gaussian(mulberry32(seed));
          for (let i = 0; i < 1500; i++) {
            t.push(i % 50 === 0 ? NaN : 10 * g());
            expect(w.count).toBe(r.count);
            expect(w.min(), `min ${i}`).toBe(r.min());
            expect(w.max(), `max ${i}`).toBe(r.max());
            expectClose(w.mean(), r.mean(), RTOL_MEAN, `mean ${i}`, 10);
            expectVarClose(w.variance(), r, t.recent, `var ${i}`);
            expect(w.median()).toBeNaN();
            expect(w.mad()).toBeNaN();
            expect(w.quantile(0.5)).toBeNaN();
          }
          expect(w.skipped).toBe(30);
          expect(w.guardIntact()).toBe(true);
        }
      });

      it('window_push_many gives the state window_push does', () => {
        const s = new Scratch(build);
        const g = gaussian(mulberry32(31));
        const xs = Array.from({ length: 300 }, (_, i) => (i === 150 ? NaN : g()));
        const a = s.window(40);
        const b = s.window(40);
        for (const x of xs) a.push(x);
        b.pushMany(xs);
        expect(stats(b)).toEqual(stats(a));
        expect(b.skipped).toBe(1);
        expect(b.total).toBe(299);
        // Without the sorted copy push_many keeps the state in locals; the arithmetic must be the same, value for
        // value, so the results are bit-identical (checked after several calls, across recomputations).
        const c = s.window(40, false);
        const d = s.window(40, false);
        for (let k = 0; k < 5; k++) {
          const part = Array.from({ length: 37 + k }, (_, i) => (i === 7 ? Infinity : 1e5 + g() * 1e-3));
          for (const x of part) c.push(x);
          d.pushMany(part);
          expect([d.count, d.mean(), d.variance(), d.min(), d.max(), d.total, d.skipped]).toEqual([c.count, c.mean(), c.variance(), c.min(), c.max(), c.total, c.skipped]);
        }
      });
    });

    // ---- EWMA -----------------------------------------------------------------------------------------------
    describe('EWMA', () => {
      it('alpha 0.5 on [1, 3, 5]: means 1, 2, 3.5 and variances 0, 1, 2.75 by hand', () => {
        // x=1: mean 1, var 0. x=3: d 2, mean 2, var 0.5 (0 + 0.5*4) = 1. x=5: d 3, mean 3.5, var 0.5 (1 + 0.5*9) = 2.75.
        const s = new Scratch(build);
        const e = s.ewma(0.5);
        const r = new RefEwma(0.5);
        expect(e.mean()).toBeNaN();
        expect(e.variance()).toBeNaN();
        expect(r.mean()).toBeNaN();
        const expected = [[1, 0], [2, 1], [3.5, 2.75]];
        [1, 3, 5].forEach((x, i) => {
          e.push(x); r.push(x);
          expect([e.mean(), e.variance()]).toEqual(expected[i]);
          expect([r.mean(), r.variance()]).toEqual(expected[i]);
        });
        const fs = ewmaFromScratch(0.5, [1, 3, 5]);
        expect(fs.mean).toBe(3.5);
        expect(fs.variance).toBe(2.75);
      });

      it('alpha 1 follows the last value with variance 0', () => {
        const s = new Scratch(build);
        const e = s.ewma(1);
        for (const x of [4, -2, 9.5]) {
          e.push(x);
          expect(e.mean()).toBe(x);
          expect(e.variance()).toBe(0);
        }
      });

      it('NaN and +-Infinity are refused: state unchanged', () => {
        const s = new Scratch(build);
        const e = s.ewma(0.2);
        e.push(NaN);
        expect(e.n).toBe(0);
        expect(e.mean()).toBeNaN();
        e.push(2); e.push(4);
        const before = [e.mean(), e.variance(), e.n];
        for (const x of [NaN, Infinity, -Infinity]) e.push(x);
        expect([e.mean(), e.variance(), e.n]).toEqual(before);
        expect(before[0]).toBe(2.4);
        expectClose(before[1], 0.64, 1e-15, 'var'); // 0.8 (0 + 2 * 0.4)
        expect(before[2]).toBe(2);
      });

      it('seeded streams: WASM = twin (recursion) = explicit weights', () => {
        const s = new Scratch(build);
        for (const [alpha, seed] of [[0.01, 41], [0.05, 42], [0.3, 43], [0.9, 44]] as const) {
          const e = s.ewma(alpha);
          const r = new RefEwma(alpha);
          const g = gaussian(mulberry32(seed));
          const xs: number[] = [];
          for (let i = 0; i < 10_000; i++) {
            const x = 100 + (i > 5000 ? 3 : 0) + 2 * g();
            e.push(x); r.push(x);
            if (i < 400) xs.push(x);
            expectClose(e.mean(), r.mean(), RTOL_EWMA, `mean a=${alpha} i=${i}`);
            expectClose(e.variance(), r.variance(), RTOL_EWMA, `var a=${alpha} i=${i}`);
            if (i === 399) {
              const fs = ewmaFromScratch(alpha, xs);
              expectClose(r.mean(), fs.mean, RTOL_EWMA, `closed-form mean a=${alpha}`);
              expectClose(r.variance(), fs.variance, RTOL_EWMA, `closed-form var a=${alpha}`);
            }
          }
          expect(e.n).toBe(10_000);
        }
      });

      it('prices near 1e5 moving by 1e-4', () => {
        const s = new Scratch(build);
        const e = s.ewma(0.05);
        const r = new RefEwma(0.05);
        const u = mulberry32(45);
        const xs: number[] = [];
        let price = 100_000;
        for (let i = 0; i < 20_000; i++) {
          price += u() < 0.5 ? -1e-4 : 1e-4;
          e.push(price); r.push(price);
          xs.push(price);
        }
        expectClose(e.mean(), r.mean(), RTOL_EWMA, 'mean');
        expectClose(e.variance(), r.variance(), RTOL_EWMA, 'var');
        // The recursion against explicit weights over the last 2000 values (older weights < 1e-44).
        const fs = ewmaFromScratch(0.05, xs.slice(-2000));
        expectClose(e.mean(), fs.mean, 1e-12, 'closed-form mean');
        expectClose(e.variance(), fs.variance, 1e-6, 'closed-form var');
        expect(e.variance()).toBeGreaterThan(1e-9);
      });
    });

    // ---- time window ----------------------------------------------------------------------------------------
    describe('time window', () => {
      it('empty: count 0, sums 0, mean/var/min/max NaN', () => {
        const s = new Scratch(build);
        const t = s.timeWindow(4, 10n);
        const r = new RefTimeWindow(4, 10n);
        expectSameTimeWindow(t, r, 'empty');
        expect([t.count(), t.sum(), t.sumSq()]).toEqual([0, 0, 0]);
        for (const v of [t.mean(), t.variance(), t.min(), t.max()]) expect(v).toBeNaN();
      });

      it('hand-computed: 3 buckets of 10 ns', () => {
        const s = new Scratch(build);
        const t = s.timeWindow(3, 10n);
        const r = new RefTimeWindow(3, 10n);
        const both = (f: (k: WasmTimeWindow | RefTimeWindow) => void): void => { f(t); f(r); };
        const check = (count: number, sum: number, sumSq: number, mean: number, variance: number, min: number, max: number): void => {
          for (const k of [t, r]) {
            expect(k.count()).toBe(count);
            expect(k.sum()).toBe(sum);
            expect(k.sumSq()).toBe(sumSq);
            expect(k.mean()).toBe(mean);
            expectClose(k.variance(), variance, 1e-15, 'var');
            expect(k.min()).toBe(min);
            expect(k.max()).toBe(max);
          }
        };
        // buckets 0, 0, 1, 2: all in [0, 2]
        both((k) => { k.push(0n, 1); k.push(5n, 2); k.push(12n, 3); k.push(25n, 4); });
        check(4, 10, 30, 2.5, 5 / 3, 1, 4);
        // bucket 3: window [1, 3] holds 3, 4, 5
        both((k) => k.push(31n, 5));
        check(3, 12, 50, 4, 1, 3, 5);
        // advance to bucket 5: window [3, 5] holds 5
        both((k) => k.advance(59n));
        check(1, 5, 25, 5, 0, 5, 5);
        // an earlier advance changes nothing
        both((k) => k.advance(20n));
        check(1, 5, 25, 5, 0, 5, 5);
        // bucket 6: window [4, 6] is empty
        both((k) => k.advance(60n));
        expect([t.count(), t.sum(), t.sumSq(), r.count()]).toEqual([0, 0, 0, 0]);
        for (const v of [t.mean(), t.variance(), t.min(), t.max(), r.mean(), r.min()]) expect(v).toBeNaN();
        expect(t.guardIntact()).toBe(true);
      });

      it('gaps: a gap longer than the window clears it; a gap of a few buckets clears only those', () => {
        const s = new Scratch(build);
        const ns = 1_000_000_000n;
        const t = s.timeWindow(10, ns);
        const r = new RefTimeWindow(10, ns);
        for (let b = 0; b < 10; b++) { t.push(BigInt(b) * ns + 1n, b); r.push(BigInt(b) * ns + 1n, b); }
        expect(t.count()).toBe(10);
        expect(t.sum()).toBe(45);
        // 3 buckets later: buckets 3..9 remain (values 3..9)
        t.advance(12n * ns); r.advance(12n * ns);
        expect(t.count()).toBe(7);
        expect(t.sum()).toBe(42);
        expect(t.min()).toBe(3);
        expectSameTimeWindow(t, r, 'gap 3');
        // A gap of exactly the window (10 buckets after 12) clears everything but the new value.
        t.push(22n * ns, 100); r.push(22n * ns, 100);
        expect([t.count(), t.sum(), t.min(), t.max()]).toEqual([1, 100, 100, 100]);
        expectSameTimeWindow(t, r, 'gap 10');
        // A gap of 9 buckets keeps the value (it is in the oldest bucket of the window).
        t.push(31n * ns, 7); r.push(31n * ns, 7);
        expect([t.count(), t.sum()]).toEqual([2, 107]);
        expectSameTimeWindow(t, r, 'gap 9');
        // A long gap (1000 windows).
        t.push(10_031n * ns, -1); r.push(10_031n * ns, -1);
        expect([t.count(), t.sum(), t.variance()]).toEqual([1, -1, 0]);
        expectSameTimeWindow(t, r, 'long gap');
      });

      it('a late timestamp counts in the open bucket', () => {
        const s = new Scratch(build);
        const t = s.timeWindow(3, 10n);
        const r = new RefTimeWindow(3, 10n);
        for (const k of [t, r]) { k.push(50n, 1); k.push(12n, 2); }
        for (const k of [t, r]) expect([k.count(), k.sum()]).toEqual([2, 3]);
        for (const k of [t, r]) k.advance(79n); // window [5, 7]: bucket 5 still in
        for (const k of [t, r]) expect([k.count(), k.sum()]).toEqual([2, 3]);
        for (const k of [t, r]) k.advance(80n); // window [6, 8]
        for (const k of [t, r]) expect(k.count()).toBe(0);
      });

      it('one bucket', () => {
        const s = new Scratch(build);
        const t = s.timeWindow(1, 100n);
        const r = new RefTimeWindow(1, 100n);
        for (const [ts, x] of [[0n, 1], [99n, 2], [100n, 3], [150n, 5], [399n, 8]] as const) {
          t.push(ts, x); r.push(ts, x);
          expectSameTimeWindow(t, r, `ts=${ts}`);
        }
        expect([t.count(), t.sum()]).toEqual([1, 8]);
      });

      it('NaN and +-Infinity are refused and do not move the window', () => {
        const s = new Scratch(build);
        const t = s.timeWindow(4, 10n);
        const r = new RefTimeWindow(4, 10n);
        for (const k of [t, r]) { k.push(0n, 1); k.push(11n, 3); }
        for (const k of [t, r]) { k.push(1000n, NaN); k.push(1000n, Infinity); k.push(1000n, -Infinity); }
        for (const k of [t, r]) expect([k.count(), k.sum(), k.sumSq(), k.mean(), k.min(), k.max()]).toEqual([2, 4, 10, 2, 1, 3]);
        expectSameTimeWindow(t, r, 'after refusals');
      });

      it('bursts: thousands of values in one bucket, then quiet buckets, prices near 1e5', () => {
        const s = new Scratch(build);
        const ns = 100_000_000n;
        const t = s.timeWindow(10, ns);
        const r = new RefTimeWindow(10, ns);
        const u = mulberry32(51);
        const meter = new ErrorMeter();
        let ts = 1_700_000_000_000_000_000n;
        let price = 100_000;
        for (let round = 0; round < 6; round++) {
          const burst = 1000 + Math.floor(u() * 4000);
          for (let i = 0; i < burst; i++) {
            price += u() < 0.5 ? -1e-4 : 1e-4;
            t.push(ts, price); r.push(ts, price);
            ts += 1n + BigInt(Math.floor(u() * 10)); // all inside one 100 ms bucket
          }
          meter.add(t.variance(), r.variance());
          expectSameTimeWindow(t, r, `burst ${round}`, RTOL_TW_HARD);
          // a few quiet values, some buckets apart
          for (let i = 0; i < 5; i++) {
            ts += ns * BigInt(1 + Math.floor(u() * 3));
            price += u() < 0.5 ? -1e-4 : 1e-4;
            t.push(ts, price); r.push(ts, price);
            expectSameTimeWindow(t, r, `quiet ${round}.${i}`, RTOL_TW_HARD);
            meter.add(t.variance(), r.variance());
          }
        }
        expect(meter.max).toBeLessThan(RTOL_TW_HARD);
        expect(t.count()).toBeGreaterThan(0);
      });

      it('seeded random streams with bursts and gaps: every statistic after every operation', () => {
        const s = new Scratch(build);
        for (const [buckets, bucketNs, seed] of [[10, 1_000_000_000n, 61], [3, 7n, 62], [64, 50_000_000n, 63]] as const) {
          const t = s.timeWindow(buckets, bucketNs);
          const r = new RefTimeWindow(buckets, bucketNs);
          const u = mulberry32(seed);
          const g = gaussian(u);
          let ts = 1_000_000_000_000n;
          for (let i = 0; i < 6000; i++) {
            const c = u();
            // mostly small steps, sometimes a bucket or a few, rarely more than the window
            if (c < 0.7) ts += BigInt(Math.floor(u() * Number(bucketNs) * 0.1));
            else if (c < 0.97) ts += bucketNs * BigInt(1 + Math.floor(u() * 3));
            else ts += bucketNs * BigInt(buckets + Math.floor(u() * 100));
            if (u() < 0.1) { t.advance(ts); r.advance(ts); } else {
              const x = u() < 0.02 ? NaN : 5 + 3 * g();
              t.push(ts, x); r.push(ts, x);
            }
            expectSameTimeWindow(t, r, `B=${buckets} i=${i}`);
          }
          expect(t.guardIntact()).toBe(true);
        }
      });
    });
  });
}

for (const build of BUILDS) describeKernels(build);
