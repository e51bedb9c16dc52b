// Exact reference statistics by integer arithmetic, for judging floating-point kernels where two-pass sums are
// themselves too close to call.

/**
 * Exact sample variance of doubles that are all integer multiples of 2^-shift (checked), by integer arithmetic:
 * var = (n sum X^2 - (sum X)^2) / (n (n - 1)) / 4^shift with X = x 2^shift, rounded once at the end. As the
 * kernels define it: 0 for one value, NaN for none.
 */
export function exactVariance(xs: readonly number[], shift: number): number {
  if (xs.length < 2) return xs.length === 1 ? 0 : NaN;
  const n = BigInt(xs.length);
  let s = 0n;
  let s2 = 0n;
  for (const x of xs) {
    const scaled = x * 2 ** shift;
    if (!Number.isInteger(scaled) || !Number.isSafeInteger(scaled)) throw new Error(`${x} is not a multiple of 2^-${shift}`);
    const X = BigInt(scaled);
    s += X;
    s2 += X * X;
  }
  const num = n * s2 - s * s; // >= 0, exact
  const den = n * (n - 1n);
  // num / den to double with one rounding: scale the quotient to 64+ significant bits first.
  const q = (num << 128n) / den;
  return (Number(q) / 2 ** 128) / 4 ** shift;
}

/** x rounded to the nearest multiple of 2^-shift (exactVariance needs its inputs on such a grid). */
export const onGrid = (x: number, shift: number): number => Math.round(x * 2 ** shift) / 2 ** shift;
