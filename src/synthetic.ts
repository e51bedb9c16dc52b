// Synthetic market streams, seeded, with anomalies injected at known events: for tests, benchmarks and demos.
import { EventBatch } from './events.js';
import { gaussian, mulberry32 } from './random.js';

export const T0 = 1_723_161_600_000_000_000n; // 2024-08-09T00:00:00Z in ns
export const SECOND = 1_000_000_000n;

export interface MarketOptions {
  seed: number;
  instruments: number[];
  /** Events in all. */
  n: number;
  /** Mean gap between events (all instruments), ns. */
  gapNs?: bigint;
  /** Inject anomalies: at these event indices a price jump of 60 bps on the event's instrument. */
  jumps?: number[];
}

/**
 * A mixed stream of trades, quotes, marks, option tickers and values for several instruments, shaped like a
 * perpetual near 60,000 with a 0.1 tick: random-walk mid, 1-3 tick spreads, sizes from an exponential.
 */
export function marketStream(o: MarketOptions): EventBatch {
  const u = mulberry32(o.seed);
  const g = gaussian(u);
  const b = new EventBatch(o.n);
  const mid = new Map<number, number>(o.instruments.map((id, k) => [id, 60_000 + 1000 * k]));
  const iv = new Map<number, number>(o.instruments.map((id) => [id, 0.55]));
  const jumps = new Set(o.jumps ?? []);
  const gap = Number(o.gapNs ?? 50_000_000n);
  let t = T0;
  for (let i = 0; i < o.n; i++) {
    t += BigInt(Math.max(1, Math.round(-Math.log(1 - u()) * gap)));
    const id = o.instruments[Math.floor(u() * o.instruments.length)];
    let m = mid.get(id)! * (1 + 2e-5 * g());
    if (jumps.has(i)) m *= 1.006;
    mid.set(id, m);
    const r = u();
    if (r < 0.35) {
      b.trade(id, t, Math.round((m + (u() < 0.5 ? -0.05 : 0.05)) * 10) / 10, -Math.log(1 - u()) * 0.2, u() < 0.5 ? 1 : -1);
    } else if (r < 0.8) {
      const half = (1 + Math.floor(u() * 3)) * 0.05;
      b.quote(id, t, Math.round((m - half) * 10) / 10, 0.5 + 5 * u(), Math.round((m + half) * 10) / 10, 0.5 + 5 * u(), 50 + 10 * u(), 50 + 10 * u());
    } else if (r < 0.88) {
      b.mark(id, t, m, m * (1 - 1e-4 + 2e-5 * g()), 1e-4 + 1e-6 * g());
    } else if (r < 0.95) {
      const v = iv.get(id)! + 0.002 * g();
      iv.set(id, v);
      b.option(id, t, v, m, 0.02 * m);
    } else {
      b.value(id, t, 100 + g());
    }
  }
  return b;
}

/** A value series: i.i.d. N(0, sd) at a fixed rate, optionally with sd changing at `changeAt`. */
export function valueStream(o: { seed: number; id: number; n: number; gapNs: bigint; sd?: number; changeAt?: number; sdAfter?: number; t0?: bigint }): EventBatch {
  const g = gaussian(mulberry32(o.seed));
  const b = new EventBatch(o.n);
  let t = o.t0 ?? T0;
  for (let i = 0; i < o.n; i++) {
    t += o.gapNs;
    const sd = o.changeAt !== undefined && i >= o.changeAt ? (o.sdAfter ?? 1) : (o.sd ?? 1);
    b.value(o.id, t, sd * g());
  }
  return b;
}
