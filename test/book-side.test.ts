// BookSide (a dense window of the best levels plus a B+tree tail) against Ladder (the B+tree alone), its reference:
// every answer the book reads, after every operation, on seeded streams that make the window move in every way it
// can (levels before it, a best that drifts away, a window that empties, a finer stride, rescales, clears), with
// small windows so that the moves are many, and at the edges (empty sides, removals of absent levels, keys near
// 2^53, a zero key on a bid side, huge books).
import { describe, expect, it } from 'vitest';
import { BookSide } from '../src/adapters/book-side.js';
import { Ladder } from '../src/adapters/ladder.js';
import { mulberry32 } from '../src/random.js';

const TWO_53 = 2 ** 53;

/** Apply the same operations to a BookSide and a Ladder and compare what the book reads. */
class Pair {
  readonly side: BookSide;
  readonly ref = new Ladder(64);
  readonly #keys = new Float64Array(512);
  readonly #sizes = new Float64Array(512);
  #n = 0;
  constructor(slots: number, readonly negative = false) {
    this.side = new BookSide({ slots, negative, levelsHint: 64 });
  }

  set(key: number, size: number): void { this.side.set(key, size); this.ref.set(key, size); }

  /** Queue a level for setMany (a depth message's levels, set in one call). */
  push(key: number, size: number): void {
    this.#keys[this.#n] = key;
    this.#sizes[this.#n] = size;
    if (++this.#n === this.#keys.length) this.flush();
  }

  flush(): void {
    this.side.setMany(this.#keys, this.#sizes, this.#n);
    this.ref.setMany(this.#keys, this.#sizes, this.#n);
    this.#n = 0;
  }

  clear(): void { this.side.clear(); this.ref.clear(); }
  rescale(k: number, s: number): void { this.side.rescale(k, s); this.ref.rescale(k, s); }

  /** The values the book reads, equal bit for bit (Object.is: a -0 must stay -0). */
  same(bounds: number[], ns: number[]): void {
    const a = this.side, b = this.ref;
    expect(a.length).toBe(b.length);
    expect(a.total).toBe(b.total);
    expect(a.bestKey).toBe(b.bestKey);
    expect(a.bestSize).toBe(b.bestSize);
    for (const bound of bounds) expect(a.sumUpTo(bound)).toBe(b.sumUpTo(bound));
    for (const n of ns) expect(a.sumBest(n)).toBe(b.sumBest(n));
  }

  /** Everything, slowly: every level, every invariant. */
  deep(): void {
    expect(this.side.check()).toBe('');
    const got: number[] = [], want: number[] = [];
    this.side.forEach((k, q) => got.push(k, q));
    this.ref.forEach((k, q) => want.push(k, q));
    expect(got).toEqual(want);
    expect(this.side.maxAbsKey()).toBe(this.ref.maxAbsKey());
    for (let i = 0; i < want.length; i += 2 * Math.max(1, want.length >> 6)) {
      expect(this.side.get(want[i])).toBe(want[i + 1]);
      expect(this.side.get(want[i] + 1)).toBe(this.ref.get(want[i] + 1));
      expect(this.side.countUpTo(want[i])).toBe(this.ref.countUpTo(want[i]));
    }
  }
}

/**
 * A book side's life: levels set near a mid that random-walks (sometimes jumping), far levels now and then, removals
 * (of present and absent levels), depth messages of several levels in one setMany; the book's reads after each.
 */
function churn(pair: Pair, seed: number, opts: { steps: number; stride: number; spread: number; walk: number; jump: number; far: number; origin: number }): void {
  const rand = mulberry32(seed);
  const sign = pair.negative ? -1 : 1;
  let mid = opts.origin;
  const key = (ticks: number) => sign * (mid + ticks) * opts.stride;
  for (let step = 0; step < opts.steps; step++) {
    mid += Math.round((rand() - 0.5) * opts.walk);
    if (rand() < opts.jump) mid += Math.round((rand() - 0.5) * 40 * opts.spread);
    if (mid < 1) mid = 1;
    const levels = 1 + Math.floor(rand() * 12);
    for (let l = 0; l < levels; l++) {
      let ticks = Math.floor(Math.abs(rand() - rand()) * opts.spread);
      if (rand() < opts.far) ticks += Math.floor(rand() * 100 * opts.spread);
      const size = rand() < 0.4 ? 0 : 1 + Math.floor(rand() * 5000);
      pair.push(key(ticks), size);
    }
    pair.flush();
    if (rand() < 0.02) pair.set(key(Math.floor(rand() * opts.spread)), rand() < 0.5 ? 0 : 7);
    const best = pair.ref.bestKey;
    const bounds = [best, best + sign * opts.stride * Math.floor(rand() * opts.spread), Math.floor(rand() * 2 * opts.spread * opts.stride) * sign, -TWO_53, TWO_53, best - 1];
    pair.same(bounds.filter((b) => b === b), [1, 10, Math.floor(rand() * 400)]);
    if (step % 500 === 0) pair.deep();
  }
  pair.deep();
}

describe('BookSide (window + B+tree tail) against Ladder', () => {
  for (const slots of [64, 256, 4096]) {
    for (const negative of [false, true]) {
      it(`churn near a drifting mid, ${slots}-slot window, ${negative ? 'bid' : 'ask'} side`, () => {
        const pair = new Pair(slots, negative);
        churn(pair, slots * 7 + (negative ? 1 : 0), { steps: 4_000, stride: 1, spread: slots, walk: slots / 16, jump: 0.01, far: 0.05, origin: 61_000 });
      });
    }
  }

  it('spot-like keys: 8-decimal prices on a 0.01 tick (a stride of 10^6), then one finer price makes the stride shrink', () => {
    const pair = new Pair(256, true);
    churn(pair, 11, { steps: 1_500, stride: 1_000_000, spread: 300, walk: 10, jump: 0.01, far: 0.05, origin: 6_183_763 });
    // A price on a finer tick: every key so far is a multiple of 10^6, this one of 10^3 only.
    const best = pair.ref.bestKey;
    pair.set(best - 1000, 5);
    pair.same([best, best - 1000, best + 5_000_000], [1, 2, 50]);
    pair.deep();
    pair.set(best + 30_000_001, 9); // and one of 1
    pair.deep();
    churn(pair, 12, { steps: 1_000, stride: 1, spread: 300, walk: 10, jump: 0.02, far: 0.05, origin: -best + 77 });
  });

  it('levels before the window, a best that drifts past the middle, a window that empties with the tail still full', () => {
    const pair = new Pair(64);
    for (let k = 1000; k < 3000; k += 3) pair.set(k, k % 17 + 1); // 64 slots hold k < ~1048; the rest in the tail
    pair.deep();
    pair.set(10, 4); // before the window: it moves down, its far levels go to the tail
    pair.deep();
    pair.set(10, 0); // the window empties down to the levels from 1000: the best jumps
    pair.same([999, 1000, 1500, 5000], [1, 5, 1000]);
    pair.deep();
    for (let k = 1000; k < 2500; k += 3) { pair.set(k, 0); if (k % 99 === 1) pair.deep(); } // the best walks up through the tail
    pair.same([2500, 2998, 3000], [1, 3, 1000]);
    pair.deep();
    for (let k = 2500; k < 3000; k++) pair.set(k, 0); // everything, and absent levels too
    expect(pair.side.length).toBe(0);
    pair.same([0, 3000], [0, 1, 5]);
    pair.deep();
    pair.set(5, 0); // a removal on an empty side
    pair.set(TWO_53 - 1, 3); // the first level of an empty side places the window: near 2^53
    pair.set(TWO_53 - 2, 4);
    pair.set(-(TWO_53 - 1), 1); // and the other end: every level moves to the tail
    pair.same([0, TWO_53, -(TWO_53 - 1), TWO_53 - 2], [1, 2, 3]);
    pair.deep();
  });

  it('keys at the ends of the exact range and strides up to the largest the window allows', () => {
    for (const slots of [64, 1 << 16]) {
      const pair = new Pair(slots, true);
      const rand = mulberry32(slots);
      const big = [TWO_53 - 1, TWO_53 - 10, 10 ** 15, 10 ** 15 + 10 ** 10, 9 * 10 ** 15, 1, 0, 10 ** 10, 2 * 10 ** 10, 3];
      for (let i = 0; i < 2000; i++) {
        const k = big[Math.floor(rand() * big.length)] - Math.floor(rand() * 3) * (rand() < 0.5 ? 1 : 10 ** 9);
        pair.set(-Math.max(0, k), rand() < 0.3 ? 0 : 1 + Math.floor(rand() * 100));
        if (i % 100 === 0) { pair.same([-(TWO_53 - 1), -(10 ** 15), 0, -1, -(2 ** 52)], [1, 3, 100]); pair.deep(); }
      }
      pair.deep();
    }
  });

  it('a bid at price 0 is key -0, as Ladder keeps it', () => {
    const pair = new Pair(64, true);
    pair.set(-0, 5);
    expect(Object.is(pair.side.bestKey, -0)).toBe(true);
    pair.same([-0, 0, -1, 1], [1]);
    pair.set(-3, 2);
    pair.set(-3, 0);
    expect(Object.is(pair.side.bestKey, -0)).toBe(true);
    pair.deep();
  });

  it('rescales to a finer tick or lot in the middle of a life, through the stride cap', () => {
    const pair = new Pair(128, false);
    churn(pair, 21, { steps: 500, stride: 10, spread: 100, walk: 5, jump: 0, far: 0.05, origin: 6_000 });
    pair.rescale(10, 1);
    pair.deep();
    pair.rescale(1, 1000);
    pair.deep();
    pair.rescale(10 ** 6, 10);
    pair.deep();
    churn(pair, 22, { steps: 500, stride: 10 ** 8, spread: 100, walk: 5, jump: 0.01, far: 0.05, origin: 600 });
    // The largest stride for 128 slots is 10^13 (128 x 10^13 <= 2^52 < 128 x 10^14): a rescale past it rebuilds.
    pair.clear();
    pair.set(10 ** 12, 1);
    pair.set(3 * 10 ** 12, 2);
    pair.rescale(100, 1);
    pair.deep();
    pair.same([10 ** 14, 2 * 10 ** 14, 3 * 10 ** 14], [1, 2]);
    pair.rescale(1, 1);
    pair.clear();
    pair.same([0], [1]);
    pair.deep();
  });

  it('clears and starts again (a new snapshot), keeping its memory', () => {
    const pair = new Pair(256, true);
    for (let round = 0; round < 5; round++) {
      churn(pair, 30 + round, { steps: 300, stride: round % 2 ? 1 : 100, spread: 200, walk: 4, jump: 0.02, far: 0.05, origin: 50_000 + round * 1000 });
      pair.clear();
      expect(pair.side.length).toBe(0);
      expect(pair.side.bestKey).toBeNaN();
      pair.same([0, -1], [1]);
    }
  });

  it('a huge book: 200,000 levels, most of them in the tail', () => {
    const pair = new Pair(1 << 12);
    const rand = mulberry32(5);
    for (let i = 0; i < 200_000; i++) pair.push(Math.floor(rand() * 1_000_000), 1 + Math.floor(rand() * 1000));
    pair.flush();
    pair.deep();
    expect(pair.side.windowLevels).toBeGreaterThan(0);
    expect(pair.side.tailLevels).toBeGreaterThan(100_000);
    for (let i = 0; i < 150_000; i++) pair.push(Math.floor(rand() * 1_000_000), 0);
    pair.flush();
    pair.same([0, 1000, 500_000, 1_000_000], [1, 10, 5000]);
    pair.deep();
  });

  it('refuses a window size that is not a power of two of at least 64', () => {
    expect(() => new BookSide({ slots: 100 })).toThrow(/power of two/);
    expect(() => new BookSide({ slots: 32 })).toThrow(/power of two/);
  });
});
