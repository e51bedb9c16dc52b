// Tolerance checks with the tolerance in the failure message.
import { expect } from 'vitest';

/**
 * |actual - expected| <= rel * max(|expected|, scale). `scale` sets the magnitude below which the error is
 * judged in absolute terms (a sum that cancels to ~0 is judged against the size of its terms). NaN only
 * matches NaN.
 */
export function expectClose(actual: number, expected: number, rel: number, label = '', scale = 0): void {
  if (Number.isNaN(expected) || Number.isNaN(actual)) {
    expect(actual, `${label}: NaN mismatch`).toBe(expected);
    return;
  }
  if (!Number.isFinite(expected)) {
    expect(actual, label).toBe(expected);
    return;
  }
  const tol = rel * Math.max(Math.abs(expected), scale);
  const err = Math.abs(actual - expected);
  if (!(err <= tol)) {
    expect.fail(`${label}: ${actual} vs ${expected}, error ${err.toExponential(3)} > ${tol.toExponential(3)} (rel ${rel})`);
  }
}

/** Largest relative error seen so far; for reporting the precision actually reached. */
export class ErrorMeter {
  max = 0;
  add(actual: number, expected: number, scale = 0): number {
    const e = Math.abs(actual - expected) / Math.max(Math.abs(expected), scale, Number.MIN_VALUE);
    if (e > this.max) this.max = e;
    return e;
  }
}
