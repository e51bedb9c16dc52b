// Seeded synthetic event streams (plain RefEvent objects) for holding the WASM engine against the reference twin:
// all five event kinds on several instruments, optionally with malformed events mixed in.
import * as K from '../../src/abi.js';
import type { RefEvent } from '../../src/reference/engine.js';
import { gaussian, mulberry32 } from './random.js';
import { SECOND, T0 } from '../../src/synthetic.js';

export const MS = 1_000_000n;
export { T0, SECOND };

export interface MarketOptions {
  seed: number;
  n: number;
  instruments: number[];
  /** Mean gap between consecutive events (all instruments), ns. */
  gapNs?: number;
  /** Fraction of events that are malformed or out of order (rejected). */
  badRate?: number;
  /** Ids never registered, used by some bad events (unknown instrument / table full). */
  strangers?: number[];
  /** Fraction of events the producer leaves unnumbered (seq -1). */
  unnumbered?: number;
}

/** What a malformed event is meant to be rejected for (for the test's own bookkeeping). */
export type Bad = 'nan-price' | 'inf-depth' | 'neg-size' | 'crossed' | 'backwards' | 'bad-kind' | 'zero-index' | 'inf-index' | 'stranger';

export interface MarketStream {
  events: RefEvent[];
  /** Index -> the defect injected there. */
  bad: Map<number, Bad>;
}

const ev = (tsNs: bigint, seq: bigint, instrument: number, kind: number, ...f: number[]): RefEvent => {
  const fields = [...f];
  while (fields.length < K.N_FIELDS) fields.push(NaN);
  return { tsNs, seq, instrument, kind, f: fields };
};

/**
 * A market: per instrument a random-walk mid near 60,000 (+1000 per instrument) on a 0.1 tick, 1-3 tick
 * half-spreads, exponential trade sizes, depth on both sides (sometimes absent), marks with an index and
 * funding, option tickers with a random-walk IV, and a generic N(100, 1) value. Time moves by exponential gaps
 * with occasional pauses of 3 to 40 s (empty buckets, rate epochs) and some equal timestamps.
 */
export function market(o: MarketOptions): MarketStream {
  const u = mulberry32(o.seed);
  const g = gaussian(u);
  const gap = o.gapNs ?? 40e6;
  const mid = new Map(o.instruments.map((id, k) => [id, 60_000 + 1000 * k]));
  const iv = new Map(o.instruments.map((id) => [id, 0.55]));
  const last = new Map<number, bigint>();
  const events: RefEvent[] = [];
  const bad = new Map<number, Bad>();
  let t = T0;
  for (let i = 0; i < o.n; i++) {
    const r0 = u();
    if (r0 < 0.003) t += BigInt(3 + Math.floor(u() * 37)) * SECOND;
    else if (r0 > 0.05) t += BigInt(Math.max(1, Math.round(-Math.log(1 - u()) * gap)));
    // else: same timestamp as the previous event
    const seq = u() < (o.unnumbered ?? 0.1) ? -1n : BigInt(1000 + i);
    const id = o.instruments[Math.floor(u() * o.instruments.length)];
    if (u() < (o.badRate ?? 0)) {
      const m = mid.get(id)!;
      const kinds: Bad[] = ['nan-price', 'inf-depth', 'neg-size', 'crossed', 'backwards', 'bad-kind', 'zero-index', 'inf-index', 'stranger'];
      const b = kinds[Math.floor(u() * kinds.length)];
      switch (b) {
        case 'nan-price': events.push(ev(t, seq, id, K.K_TRADE, NaN, 1, 1)); break;
        case 'inf-depth': events.push(ev(t, seq, id, K.K_QUOTE, m - 0.1, 1, m + 0.1, 1, Infinity, 50)); break;
        case 'neg-size': events.push(ev(t, seq, id, K.K_TRADE, m, -0.5, 1)); break;
        case 'crossed': events.push(ev(t, seq, id, K.K_QUOTE, m + 0.1, 1, m - 0.1, 1, 50, 50)); break;
        case 'backwards': events.push(ev((last.get(id) ?? t) - MS, seq, id, K.K_VALUE, 100)); break;
        case 'bad-kind': events.push(ev(t, seq, id, [0, 6, 99][Math.floor(u() * 3)], 100)); break;
        case 'zero-index': events.push(ev(t, seq, id, K.K_MARK, m, 0, 1e-4)); break;
        case 'inf-index': events.push(ev(t, seq, id, K.K_MARK, m, -Infinity, 1e-4)); break;
        case 'stranger': {
          const s = o.strangers ?? [];
          events.push(ev(t, seq, s.length ? s[Math.floor(u() * s.length)] : 4_000_000_000, K.K_VALUE, 100 + g()));
          break;
        }
      }
      bad.set(i, b);
      continue;
    }
    last.set(id, t);
    const m = mid.get(id)! * (1 + 2e-5 * g());
    mid.set(id, m);
    const r = u();
    if (r < 0.35) {
      const side = u() < 0.05 ? 0 : u() < 0.5 ? 1 : -1;
      events.push(ev(t, seq, id, K.K_TRADE, Math.round((m + (u() < 0.5 ? -0.05 : 0.05)) * 10) / 10, -Math.log(1 - u()) * 0.2, side));
    } else if (r < 0.75) {
      const half = (1 + Math.floor(u() * 3)) * 0.05;
      const bid = Math.round((m - half) * 10) / 10;
      const ask = Math.round((m + half) * 10) / 10;
      const d = u();
      const bidDepth = d < 0.05 ? NaN : 50 + 10 * u();
      const askDepth = d > 0.95 ? NaN : 50 + 10 * u();
      events.push(ev(t, seq, id, K.K_QUOTE, bid, 0.5 + 5 * u(), ask, 0.5 + 5 * u(), bidDepth, askDepth));
    } else if (r < 0.83) {
      const a = u();
      events.push(ev(t, seq, id, K.K_MARK, m, a < 0.1 ? NaN : m * (1 - 1e-4 + 2e-5 * g()), a > 0.9 ? NaN : 1e-4 + 1e-6 * g()));
    } else if (r < 0.91) {
      const v = iv.get(id)! + 0.002 * g();
      iv.set(id, v);
      events.push(ev(t, seq, id, K.K_OPTION, v, m, 0.02 * m, v - 0.01, v + 0.01));
    } else {
      events.push(ev(t, seq, id, K.K_VALUE, 100 + g()));
    }
  }
  return { events, bad };
}

/** A value series for one instrument: value(i, gaussian) every gapNs, seq = i. */
export function valueSeries(o: { seed: number; id: number; n: number; gapNs: bigint; t0?: bigint; value: (i: number, g: () => number) => number }): RefEvent[] {
  const g = gaussian(mulberry32(o.seed));
  const out: RefEvent[] = [];
  let t = o.t0 ?? T0;
  for (let i = 0; i < o.n; i++) {
    t += o.gapNs;
    out.push(ev(t, BigInt(i), o.id, K.K_VALUE, o.value(i, g)));
  }
  return out;
}

export { ev as event };
