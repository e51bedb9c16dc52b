// Anomalies injected into real market data: a capture read into one EventBatch, copied event by event with some
// events edited, dropped or inserted (timestamps kept monotonic), and the engine's own per-second feature values
// measured on a stream, so that an injection can be checked against the capture it went into.
//
// The anomaly types (ANOMALY_TYPES) are the univariate ones of test/real-anomalies.test.ts (one feature pushed far
// out: price jump, volume burst, one-sided book, spread blow-out, depth withdrawal, quote burst) and multivariate
// ones in which every feature stays within its normal range, each second, while their combination is abnormal
// (flowAgainstBook, thinMarket, quoteStuffing, and tradeSwarm, the one that is rare jointly: jointRarity measures each
// placement's squared Mahalanobis distance and its chi-square tail). docs/eval.md, "Injected anomalies on real captures", defines each;
// scripts/inject-eval.ts (src/eval/inject-eval.ts) measures which channel finds which.
//
// "Normal range" (the band): for a feature f and an anomaly starting at second S, the engine's per-second values of
// f over the BAND_SECONDS seconds before S on the untouched capture give a centre, their median, and a scale,
// 1.4826 x their median absolute deviation (the standard deviation when that is 0: more than half the seconds
// equal), but never less than the feature's default minScale (docs/configuration.md: the floor every detector puts
// under the scale it divides by, so a change below it is no change to any detector; without it a spread that stood
// at one tick for two minutes has a scale of 0 and no widening at all is "normal"). A value is within the band when
// |value - median| <= BAND_Z x scale. Robust statistics, not mean and
// standard deviation: the captures' per-second trade counts and volumes are heavy-tailed (a real burst inflates the
// standard deviation of the two minutes after it several-fold, and "1.5 sd" would then allow anything). Per-second
// values are what the engine observes for its bucket features (intensity, volume, flow, rvol, quoteRate, and the
// time-weighted means of imbalance, depth, depthImbalance), read with the Tracer from an engine with the default
// configuration (1 s buckets); spread, observed per quote, is taken as the mean of its per-quote values in each
// second.
import { Kind, type FeatureName } from '../abi.js';
import { BinanceReader, type BinanceOptions } from '../adapters/binance.js';
import { defaultConfig } from '../config.js';
import { Engine } from '../engine.js';
import { EventBatch } from '../events.js';
import { Tracer } from '../report/trace.js';

export const SECOND_NS = 1_000_000_000n;
/** Seconds of untouched history before an anomaly that define its features' normal range. */
export const BAND_SECONDS = 120;
/** Half-width of the normal range, in robust standard deviations. */
export const BAND_Z = 1.5;

// ---- Reading and copying -------------------------------------------------------------------------------------

/** Every event of a Binance capture, in one batch of its own (copied out of the reader's reused batch). */
export async function readCapture(path: string, opts: BinanceOptions = {}): Promise<EventBatch> {
  const out = new EventBatch(1 << 16);
  for await (const b of new BinanceReader(path, opts)) {
    for (let i = 0; i < b.length; i++) copyEvent(b, i, out);
  }
  return out;
}

/**
 * Event i of `src` appended to `out` (optionally at another time); returns its index in `out`. The copy is
 * unnumbered (seq -1): the engine numbers it, so a copy's sequence numbers are its indices.
 */
export function copyEvent(src: EventBatch, i: number, out: EventBatch, tsNs = src.tsNs[i]): number {
  const f = src.f;
  return out.push(src.kind[i], src.instrument[i], tsNs, f[0][i], f[1][i], f[2][i], f[3][i], f[4][i], f[5][i]);
}

/**
 * Called for each event i of the source, in order: appends to `out` what stands for it (a copy with `copyEvent`,
 * edited in `out` through the returned index; nothing, to drop it) and may insert events before or after it.
 */
export type Edit = (out: EventBatch, i: number, tsNs: bigint) => void;

/**
 * A copy of events [from, to) of `src` (all by default) made by `edit`. Throws if the result's timestamps go back
 * anywhere: an injection must keep the stream monotonic, as a capture is.
 */
export function inject(src: EventBatch, edit: Edit, range: { from?: number; to?: number } = {}): EventBatch {
  const from = range.from ?? 0, to = range.to ?? src.length;
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= src.length)) {
    throw new RangeError(`inject: range [${from}, ${to}) is not within the batch's ${src.length} events`);
  }
  const out = new EventBatch(to - from + 4096);
  for (let i = from; i < to; i++) edit(out, i, src.tsNs[i]);
  for (let i = 1; i < out.length; i++) {
    if (out.tsNs[i] < out.tsNs[i - 1]) throw new Error(`inject: event ${i} of the copy (${out.tsNs[i]} ns) is before event ${i - 1} (${out.tsNs[i - 1]} ns)`);
  }
  return out;
}

/** The index of the first event at or after `tsNs` (src.length if none): events are in time order. */
export function indexAt(src: EventBatch, tsNs: bigint): number {
  let lo = 0, hi = src.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (src.tsNs[mid] < tsNs) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** The instrument with the most events (the one a capture is about). */
export function mainInstrument(src: EventBatch): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < src.length; i++) counts.set(src.instrument[i], (counts.get(src.instrument[i]) ?? 0) + 1);
  let best = -1, n = -1;
  for (const [id, c] of counts) if (c > n) { best = id; n = c; }
  if (best < 0) throw new Error('mainInstrument: the batch has no events');
  return best;
}

/** Whether the instrument's quotes carry book depth (depth-diff streams): the depth anomalies need it. */
export function hasDepth(src: EventBatch, instrument: number): boolean {
  for (let i = 0; i < src.length; i++) {
    if (src.kind[i] === Kind.quote && src.instrument[i] === instrument && !Number.isNaN(src.f[4][i]) && !Number.isNaN(src.f[5][i])) return true;
  }
  return false;
}

const isQuote = (b: EventBatch, i: number, id: number) => b.kind[i] === Kind.quote && b.instrument[i] === id;
const isTrade = (b: EventBatch, i: number, id: number) => b.kind[i] === Kind.trade && b.instrument[i] === id;

// ---- Per-second features, as the engine sees them --------------------------------------------------------------

/** The per-second features the band is defined on (BUCKET_FEATURES observed per bucket; spread: per-second mean). */
export const SECOND_FEATURES = ['intensity', 'volume', 'flow', 'rvol', 'quoteRate', 'imbalance', 'depth', 'depthImbalance', 'spread'] as const satisfies readonly FeatureName[];
export type SecondFeature = (typeof SECOND_FEATURES)[number];

/** Per feature, its value in each second (epoch second -> value) for one instrument. */
export type SecondSeries = Record<SecondFeature, Map<number, number>>;

/**
 * The engine's per-second feature values of one instrument over events [from, to) of `batch`, measured with the
 * Tracer on a fresh engine with the default configuration (1 s buckets). A bucket feature's observation is made when
 * the first event past its bucket arrives and is recorded here under its bucket's second (the second before the
 * observing event's; after a run of empty seconds only the empty run's value is readable, docs in report/trace.ts).
 * A bucket's values depend on its own events and the book standing at its start only, so a range that starts a few
 * seconds early gives the same values for its later seconds as the whole stream does (the first second's bucket
 * is partial and not observed, the next one's rvol lacks the return from the trade before the range).
 */
export function measureSeconds(batch: EventBatch, instrument: number, range: { from?: number; to?: number } = {}): SecondSeries {
  const from = range.from ?? 0, to = range.to ?? batch.length;
  const engine = Engine.create({ autoRegister: true, maxInstruments: 1024 });
  const tracer = new Tracer(engine, { instruments: (id) => id === instrument, features: [...SECOND_FEATURES] });
  // A copy: ingesting writes sequence numbers into the batch, and the caller's stays as it was.
  tracer.ingest(inject(batch, (out, i) => { copyEvent(batch, i, out); }, { from, to }));
  const out = Object.fromEntries(SECOND_FEATURES.map((f) => [f, new Map<number, number>()])) as SecondSeries;
  for (const p of tracer.panels()) {
    const f = p.feature as SecondFeature;
    const m = out[f];
    if (m === undefined) continue;
    if (p.observations !== p.tsMs.length) throw new Error(`measureSeconds: the ${f} panel was decimated (${p.observations} observations, ${p.tsMs.length} points)`);
    if (f === 'spread') {
      const sums = new Map<number, [number, number]>();
      for (let k = 0; k < p.tsMs.length; k++) {
        const s = Math.floor(p.tsMs[k] / 1000);
        const acc = sums.get(s) ?? [0, 0];
        acc[0] += p.value[k]; acc[1]++;
        sums.set(s, acc);
      }
      for (const [s, [sum, n]] of sums) m.set(s, sum / n);
    } else {
      for (let k = 0; k < p.tsMs.length; k++) m.set(Math.floor(p.tsMs[k] / 1000) - 1, p.value[k]);
    }
  }
  return out;
}

/** A feature's normal range before an anomaly: median and robust scale of its per-second values. */
export interface Band { median: number; scale: number; n: number }

const MAD_TO_SIGMA = 1.482602218505602;
/** The default configuration's minScale of each per-second feature: the least scale a band has. */
const MIN_SCALE = Object.fromEntries(SECOND_FEATURES.map((f) => [f, defaultConfig().features[f].minScale])) as Record<SecondFeature, number>;
/** A feature the injection moved by at most this many scales is where the market put it, in band or not. */
export const MOVED_SCALES = 0.25;

/** The band of `feature` from the BAND_SECONDS seconds before `second` (undefined with fewer than 30 values). */
export function bandOf(series: SecondSeries, feature: SecondFeature, second: number, seconds = BAND_SECONDS): Band | undefined {
  const xs: number[] = [];
  const m = series[feature];
  for (let s = second - seconds; s < second; s++) {
    const v = m.get(s);
    if (v !== undefined && Number.isFinite(v)) xs.push(v);
  }
  if (xs.length < 30) return undefined;
  const median = quantileSorted(xs.sort((a, b) => a - b));
  const mad = quantileSorted(xs.map((x) => Math.abs(x - median)).sort((a, b) => a - b));
  let scale = MAD_TO_SIGMA * mad;
  if (!(scale > 0)) {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    scale = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length);
  }
  return { median, scale: Math.max(scale, MIN_SCALE[feature]), n: xs.length };
}

function quantileSorted(xs: number[]): number {
  const n = xs.length, h = n >>> 1;
  return n % 2 === 1 ? xs[h] : 0.5 * (xs[h - 1] + xs[h]);
}

/** How a multivariate injection sits against the bands, per feature over the anomaly's seconds. */
export interface BandCheck {
  /**
   * feature -> over the seconds the injection moved it (by more than MOVED_SCALES scales): the largest |value -
   * median| / scale, and how many such seconds.
   */
  features: Partial<Record<SecondFeature, { maxAbsZ: number; seconds: number }>>;
  /** Every feature within BAND_Z in every second the injection moved it. */
  inBand: boolean;
}

/**
 * Measures the injected stream's own per-second features over the anomaly's seconds [second, second + seconds) and
 * compares each with its band on the untouched capture. The features the type sets (`sets`) must be within their
 * band in every second. Any other feature, in a second in which the injection moved it by at most MOVED_SCALES
 * scales from the untouched value, passes whatever the value: the normal market is allowed its own excursions, and
 * pinning the book at each second's start (setSeconds) adds one quote a second.
 */
export function checkBands(
  untouched: SecondSeries, injected: SecondSeries, second: number, seconds: number, bandSeconds = BAND_SECONDS, sets: readonly SecondFeature[] = [],
): BandCheck {
  const features: BandCheck['features'] = {};
  let inBand = true;
  for (const f of SECOND_FEATURES) {
    const band = bandOf(untouched, f, second, bandSeconds);
    let maxAbsZ = 0, n = 0;
    for (let s = second; s < second + seconds; s++) {
      const v = injected[f].get(s);
      if (v === undefined) continue;
      const u = untouched[f].get(s);
      if (!sets.includes(f) && u !== undefined && band && Math.abs(v - u) <= MOVED_SCALES * band.scale) continue;
      n++;
      const z = band ? Math.abs(v - band.median) / band.scale : Infinity;
      if (z > maxAbsZ) maxAbsZ = z;
    }
    if (n > 0) features[f] = { maxAbsZ, seconds: n };
    if (n > 0 && !(maxAbsZ <= BAND_Z + 1e-9)) inBand = false;
  }
  return { features, inBand };
}

// ---- Anomaly types ------------------------------------------------------------------------------------------------

export interface Placement {
  /** The capture, untouched. */
  src: EventBatch;
  /** The instrument the anomaly goes into. */
  instrument: number;
  /** When it starts (ns). The harness places anomalies at whole seconds (bucket starts); the tests need not. */
  at: bigint;
  /** Seeded uniform [0, 1): directions and sides. */
  rng: () => number;
  /** The untouched capture's per-second features (multivariate types set theirs against these bands). */
  series?: SecondSeries;
  /** Seconds of history a band is taken over (default BAND_SECONDS; shorter for short slices). */
  bandSeconds?: number;
}

export interface AnomalyType {
  name: string;
  /** One feature pushed out; several within their bands but not together; a price leaving its fair value (index). */
  kind: 'univariate' | 'multivariate' | 'relation';
  /** One line, for tables and --help. */
  summary: string;
  /** How long the anomaly lasts from `at` (a price jump is a level shift: it lasts to the end; 0 here). */
  durationMs: number;
  /** Needs quotes with book depth (depth-diff streams). */
  needsDepth: boolean;
  /** Needs an index (mark events carrying one: `--index-from`, withIndexMarks); absent = false. */
  needsIndex?: boolean;
  /** The statistical channels that should find it (univariate types; docs/configuration.md's defaults). */
  expected: string[];
  /** Per-second features the type sets (multivariate: each to a value within its band). */
  sets: SecondFeature[];
  /**
   * Multivariate: the least squared Mahalanobis distance (jointRarity, measured on the injected stream) a placement
   * must have; a placement below it is refused and another taken. Absent: none required.
   */
  minD2?: number;
  /** The size parameters, for the report. */
  params: Record<string, number | string>;
  /** The copy of the capture with this anomaly at `p.at`. */
  apply(p: Placement): EventBatch;
}

const sign = (rng: () => number) => (rng() < 0.5 ? -1 : 1);
/** A direction: the one given, else drawn from the placement's seeded source. */
type Side = 1 | -1 | undefined;
const sideOf = (side: Side, rng: () => number) => side ?? sign(rng);

/** A 30 bps price jump (or its size): every price of the instrument from `at` on, quotes and trades, times 1 +- bps. */
export function priceJump(bps = 30, side?: Side): AnomalyType {
  return {
    name: 'priceJump', kind: 'univariate', summary: `mid and trade prices shifted by ${bps} bps from the start on (a level shift)`,
    durationMs: 0, needsDepth: false, expected: ['midJump.zscore'], sets: [], params: { bps },
    apply({ src, instrument: id, at, rng }) {
      const k = 1 + sideOf(side, rng) * bps * 1e-4;
      return inject(src, (out, i, ts) => {
        const j = copyEvent(src, i, out);
        if (ts < at) return;
        if (isQuote(src, i, id)) { out.f[0][j] *= k; out.f[2][j] *= k; } else if (isTrade(src, i, id)) out.f[0][j] *= k;
      });
    },
  };
}

/**
 * A volume burst: `trades` one-sided trades of `size` at the last trade price, 1 ms apart from `at` (1,000 in 1 s:
 * ~25x the USD-M capture's rate); the capture's own events of that second come after them, at `at` + 1 s.
 */
export function volumeBurst(trades = 1000, size = 4, side?: Side): AnomalyType {
  const spanNs = BigInt(trades) * 1_000_000n;
  return {
    name: 'volumeBurst', kind: 'univariate', summary: `${trades} one-sided trades of ${size} within ${trades / 1000} s`,
    durationMs: trades, needsDepth: false, expected: ['volume.robust', 'intensity.cusum'], sets: [], params: { trades, size },
    apply({ src, instrument: id, at, rng }) {
      const s = sideOf(side, rng);
      let inserted = false;
      let price = NaN;
      for (let i = indexAt(src, at) - 1; i >= 0 && Number.isNaN(price); i--) if (isTrade(src, i, id)) price = src.f[0][i];
      return inject(src, (out, i, ts) => {
        if (!inserted && ts >= at) {
          inserted = true;
          for (let n = 0; n < trades; n++) out.trade(id, at + BigInt(n) * 1_000_000n, price, size, s);
        }
        copyEvent(src, i, out, ts < at || ts >= at + spanNs ? ts : at + spanNs);
      });
    },
  };
}

/** A one-sided top of book: sizes `ratio`:1 (bid 50 against ask 0.05 at 1000:1, or the reverse) for `seconds`. */
export function oneSidedBook(seconds = 5, ratio = 1000, side?: Side): AnomalyType {
  const durNs = BigInt(Math.round(seconds * 1e9));
  return {
    name: 'oneSidedBook', kind: 'univariate', summary: `top-of-book sizes ${ratio}:1 for ${seconds} s`,
    durationMs: seconds * 1000, needsDepth: false, expected: ['imbalance.cusum'], sets: [], params: { seconds, ratio },
    apply({ src, instrument: id, at, rng }) {
      const big = 50, small = big / ratio, bidHeavy = sideOf(side, rng) > 0;
      return inject(src, (out, i, ts) => {
        const j = copyEvent(src, i, out);
        if (isQuote(src, i, id) && ts >= at && ts < at + durNs) { out.f[1][j] = bidHeavy ? big : small; out.f[3][j] = bidHeavy ? small : big; }
      });
    },
  };
}

/**
 * A whole book gone one-sided: the top-of-book sizes `ratio`:1 (as oneSidedBook) and the light side's depth within
 * N bps (quote f4 bid, f5 ask) set to the heavy side's over `ratio`, for `seconds`: one side of the book all but
 * withdrawn, the imbalance flipped at every depth. Needs a capture with depth (diffs).
 */
export function oneSidedFullBook(seconds = 5, ratio = 1000, side?: Side): AnomalyType {
  const durNs = BigInt(Math.round(seconds * 1e9));
  return {
    name: 'oneSidedFullBook', kind: 'univariate', summary: `top-of-book sizes and depth ${ratio}:1 for ${seconds} s`,
    durationMs: seconds * 1000, needsDepth: true, expected: ['depthImbalance.zscore'], sets: [], params: { seconds, ratio },
    apply({ src, instrument: id, at, rng }) {
      const big = 50, small = big / ratio, bidHeavy = sideOf(side, rng) > 0;
      return inject(src, (out, i, ts) => {
        const j = copyEvent(src, i, out);
        if (isQuote(src, i, id) && ts >= at && ts < at + durNs) {
          out.f[1][j] = bidHeavy ? big : small;
          out.f[3][j] = bidHeavy ? small : big;
          if (bidHeavy) out.f[5][j] = out.f[4][j] / ratio; else out.f[4][j] = out.f[5][j] / ratio;
        }
      });
    },
  };
}

/** A spread blow-out: bid and ask moved to `bps` apart around the mid for `seconds`. */
export function spreadBlowout(bps = 5, seconds = 2): AnomalyType {
  const durNs = BigInt(Math.round(seconds * 1e9));
  return {
    name: 'spreadBlowout', kind: 'univariate', summary: `spread ${bps} bps for ${seconds} s`,
    durationMs: seconds * 1000, needsDepth: false, expected: ['spread.zscore'], sets: [], params: { bps, seconds },
    apply({ src, instrument: id, at }) {
      const h = bps * 0.5e-4;
      return inject(src, (out, i, ts) => {
        const j = copyEvent(src, i, out);
        if (isQuote(src, i, id) && ts >= at && ts < at + durNs) {
          const mid = (out.f[0][j] + out.f[2][j]) / 2;
          out.f[0][j] = mid * (1 - h); out.f[2][j] = mid * (1 + h);
        }
      });
    },
  };
}

/** Depth withdrawn from one side of the book: that side's depth times `keep` (5%) for `seconds`. */
export function depthWithdrawal(keep = 0.05, seconds = 3, side?: Side): AnomalyType {
  const durNs = BigInt(Math.round(seconds * 1e9));
  return {
    name: 'depthWithdrawal', kind: 'univariate', summary: `one side's depth to ${keep * 100}% for ${seconds} s`,
    durationMs: seconds * 1000, needsDepth: true, expected: ['depthImbalance.zscore'], sets: [], params: { keep, seconds },
    apply({ src, instrument: id, at, rng }) {
      const col = sideOf(side, rng) > 0 ? 5 : 4; // +1: the ask side's depth withdrawn, -1: the bid side's
      return inject(src, (out, i, ts) => {
        const j = copyEvent(src, i, out);
        if (isQuote(src, i, id) && ts >= at && ts < at + durNs) out.f[col][j] *= keep;
      });
    },
  };
}

/**
 * A burst of quote updates: each quote of the instrument repeated `repeats` more times (the same top of book: updates
 * that change nothing) within the gap before the next event, for `seconds`: 30x the quote rate with 29.
 */
export function quoteBurst(repeats = 29, seconds = 2): AnomalyType {
  const durNs = BigInt(Math.round(seconds * 1e9));
  const r = BigInt(repeats);
  return {
    name: 'quoteBurst', kind: 'univariate', summary: `every quote repeated ${repeats}x for ${seconds} s (${repeats + 1}x the rate)`,
    durationMs: seconds * 1000, needsDepth: false, expected: ['quoteRate.ewma'], sets: [], params: { repeats, seconds },
    apply({ src, instrument: id, at }) {
      return inject(src, (out, i, ts) => {
        copyEvent(src, i, out);
        if (isQuote(src, i, id) && ts >= at && ts < at + durNs) {
          const next = src.tsNs[Math.min(i + 1, src.length - 1)];
          const step = (next - ts) / (r + 1n);
          for (let k = 1n; k <= r; k++) copyEvent(src, i, out, ts + k * step);
        }
      });
    },
  };
}

// ---- Multivariate anomalies: every feature in its band, each second ----------------------------------------------

/** Per-second targets of a multivariate anomaly, for the anomaly's k-th second (undefined: leave it). */
interface SecondTargets {
  /** Signed flow (buy - sell) / (buy + sell) of the second's trades, by size. */
  flow?: number;
  /** Top-of-book imbalance (bidSize - askSize) / (bidSize + askSize) of every quote. */
  imbalance?: number;
  /** ln(1 + total size traded in the second). */
  volume?: number;
  /** Spread of every quote, bps, around its own mid. */
  spread?: number;
  /** Time-weighted mean of bidDepth + askDepth over the second. */
  depth?: number;
  /** Quotes in the second (at least the capture's own: repeats are added, none dropped). */
  quoteRate?: number;
  /**
   * Trades in the second: fewer by dropping (at least one kept), more by splitting the second's trades into equal
   * parts at their own price and side (a second with no trade stays without).
   */
  intensity?: number;
}

/**
 * A copy of the capture in which each second [at + k s, at + (k+1) s), k < seconds, of the instrument has the
 * per-second values `targets(k)`. How each is set (the engine's definitions, assembly/engine.ts):
 * - the book's state at each second's start is pinned by a quote inserted there (a copy of the latest quote, edited
 *   as that second's quotes are), so that a second's time-weighted means are exactly its quotes' values; at the end a
 *   copy of the latest untouched quote puts the real book back;
 * - flow: sides reassigned (largest trades first, each to the side still short of its share), then each side's
 *   sizes scaled to exactly (1 +- flow) / 2 of the second's size (so the volume is unchanged);
 * - volume: every trade's size scaled by the same factor;
 * - intensity: trades dropped (never one at which the price moved: the second's nonzero returns, hence its rvol,
 *   stay), evenly through the second, the kept ones' sides and sizes reassigned to keep the second's volume and flow;
 *   or, to raise it, trades split: a trade repeated right after itself (inside the gap before the next event and the
 *   second), at its price and side, its size shared equally among the copies (volume, flow and the returns, hence
 *   rvol, unchanged), the extra trades spread evenly over the second's trades;
 * - imbalance: every quote's top sizes split (1 +- imbalance) / 2 of their sum;
 * - spread: every quote's bid and ask put at mid (1 -+ spread / 2e4);
 * - depth: both sides' depth of every quote scaled by the second's target / its time-weighted mean (depthImbalance
 *   unchanged);
 * - quoteRate: quotes repeated (identical copies right after the original, inside the second), or dropped evenly
 *   through the second when it had more than the target.
 */
function setSeconds(src: EventBatch, id: number, at: bigint, seconds: number, targets: (k: number) => SecondTargets): EventBatch {
  const end = at + BigInt(seconds) * SECOND_NS;
  const from = indexAt(src, at), to = indexAt(src, end);
  const bucketOf = (ts: bigint) => Number((ts - at) / SECOND_NS);
  const trades: number[][] = Array.from({ length: seconds }, () => []);
  const quotes: number[][] = Array.from({ length: seconds }, () => []);
  for (let i = from; i < to; i++) {
    if (isTrade(src, i, id)) trades[bucketOf(src.tsNs[i])].push(i);
    else if (isQuote(src, i, id)) quotes[bucketOf(src.tsNs[i])].push(i);
  }
  let lastQuote = -1; // the latest quote before `at`: the book standing when the anomaly starts
  for (let i = from - 1; i >= 0 && lastQuote < 0; i--) if (isQuote(src, i, id)) lastQuote = i;

  const prevTrade = (i: number): number => { for (let j = i - 1; j >= 0; j--) if (isTrade(src, j, id)) return j; return -1; };
  // Per trade: new size and side, or dropped. Per quote: the second's targets apply; repeats after it.
  const tradeSize = new Map<number, number>(), tradeSide = new Map<number, number>(), dropped = new Set<number>();
  const repeats = new Map<number, number>();
  /** Per split trade: the extra copies of it (each carries its size: a trade stands for 1 + copies trades). */
  const tradeRepeats = new Map<number, number>();
  const mult = (i: number) => 1 + (tradeRepeats.get(i) ?? 0);
  const T = Array.from({ length: seconds }, (_, k) => targets(k));
  for (let k = 0; k < seconds; k++) {
    const t = T[k];
    let list = trades[k];
    const size = (i: number) => tradeSize.get(i) ?? src.f[1][i];
    const side = (i: number) => tradeSide.get(i) ?? src.f[2][i];
    let flow = t.flow;
    if (t.intensity !== undefined && list.length > Math.max(1, t.intensity)) {
      const sums = sideSums(list, size, side);
      // At least one trade, two when the second had both sides (one trade's flow is +-1).
      const keep = Math.max(sums.buy > 0 && sums.sell > 0 ? 2 : 1, Math.round(t.intensity));
      // The kept trades' sides are reassigned to give the second its own flow back (below).
      if (flow === undefined && sums.buy + sums.sell > 0) flow = (sums.buy - sums.sell) / (sums.buy + sums.sell + sums.none);
      // Every trade at which the price moved is kept, so that the kept trades' returns are the second's nonzero
      // returns and its realised volatility is unchanged; then trades evenly through the second up to `keep`.
      const moved = new Set<number>();
      let prev = prevTrade(list[0]);
      for (const i of list) { if (prev >= 0 && src.f[0][i] !== src.f[0][prev]) moved.add(i); prev = i; }
      const still = list.filter((i) => !moved.has(i)), room = Math.max(0, keep - moved.size);
      const chosen = new Set(moved);
      for (let n = 0; n < Math.min(room, still.length); n++) chosen.add(still[Math.floor((n + 0.5) * still.length / room)]);
      const kept = list.filter((i) => chosen.has(i));
      for (const i of list) if (!chosen.has(i)) dropped.add(i);
      list = trades[k] = kept;
      const keptSums = sideSums(list, size, side);
      for (const i of list) {
        const s = side(i), had = s > 0 ? keptSums.buy : s < 0 ? keptSums.sell : keptSums.none;
        const want = s > 0 ? sums.buy : s < 0 ? sums.sell : sums.none;
        // A side with no kept trade loses its size: the total is put back on all kept trades below.
        if (had > 0) tradeSize.set(i, size(i) * want / had);
      }
      const total = list.reduce((a, i) => a + size(i), 0), was = sums.buy + sums.sell + sums.none;
      if (total > 0 && Math.abs(total - was) > 1e-12 * was) for (const i of list) tradeSize.set(i, size(i) * was / total);
    }
    if (t.intensity !== undefined && list.length > 0 && Math.round(t.intensity) > list.length) {
      const extra = Math.round(t.intensity) - list.length;
      for (let n = 0; n < extra; n++) {
        const i = list[Math.floor(n * list.length / extra)];
        tradeRepeats.set(i, (tradeRepeats.get(i) ?? 0) + 1);
      }
      for (const i of list) if (tradeRepeats.has(i)) tradeSize.set(i, size(i) / mult(i));
    }
    if (flow !== undefined && list.length > 0) {
      const total = list.reduce((a, i) => a + size(i) * mult(i), 0);
      const f = Math.max(-1, Math.min(1, flow));
      const buyWant = total * (1 + f) / 2;
      let buy = 0, sell = 0;
      for (const i of [...list].sort((a, b) => size(b) - size(a))) {
        // Each trade to the side that is further below its share.
        if (buyWant - buy >= (total - buyWant) - sell) { tradeSide.set(i, 1); buy += size(i) * mult(i); } else { tradeSide.set(i, -1); sell += size(i) * mult(i); }
      }
      for (const i of list) {
        const s = tradeSide.get(i)!;
        if (s > 0 && buy > 0) tradeSize.set(i, size(i) * buyWant / buy);
        else if (s < 0 && sell > 0) tradeSize.set(i, size(i) * (total - buyWant) / sell);
      }
      // One side empty (flow +-1 asked of a one-trade second): the flow is +-1 anyway, the size is kept.
    }
    if (t.volume !== undefined && list.length > 0) {
      const total = list.reduce((a, i) => a + size(i) * mult(i), 0);
      const c = Math.expm1(Math.max(0, t.volume)) / total;
      if (total > 0) for (const i of list) tradeSize.set(i, size(i) * c);
    }
    if (t.quoteRate !== undefined && quotes[k].length > 0) {
      const have = quotes[k].length + 1; // the inserted state quote counts
      const want = Math.max(1, Math.round(t.quoteRate));
      const extra = Math.max(0, want - have);
      for (let n = 0; n < extra; n++) {
        const i = quotes[k][Math.floor(n * quotes[k].length / extra)];
        repeats.set(i, (repeats.get(i) ?? 0) + 1);
      }
      // More quotes than the target (a busy second): some dropped, evenly through the second.
      const less = Math.min(quotes[k].length, Math.max(0, have - want));
      for (let n = 0; n < less; n++) dropped.add(quotes[k][Math.floor((n + 0.5) * quotes[k].length / less)]);
    }
  }
  // Depth: per second, the factor that takes its time-weighted mean to the target (the state quote pins its start).
  const depthScale = new Float64Array(seconds).fill(1);
  for (let k = 0; k < seconds; k++) {
    const target = T[k].depth;
    if (target === undefined) continue;
    const start = at + BigInt(k) * SECOND_NS;
    let standing = lastQuote; // the latest quote before this second
    for (let q = k - 1; q >= 0; q--) if (quotes[q].length > 0) { standing = quotes[q][quotes[q].length - 1]; break; }
    let area = 0, t = start, v = standing >= 0 ? src.f[4][standing] + src.f[5][standing] : NaN;
    for (const i of quotes[k]) { area += v * Number(src.tsNs[i] - t); t = src.tsNs[i]; v = src.f[4][i] + src.f[5][i]; }
    area += v * Number(start + SECOND_NS - t);
    const mean = area / 1e9;
    if (Number.isFinite(mean) && mean > 0) depthScale[k] = Math.max(0, target) / mean;
  }

  const editQuote = (out: EventBatch, j: number, k: number): void => {
    const t = T[k], f = out.f;
    if (t.imbalance !== undefined) {
      const top = f[1][j] + f[3][j];
      if (top > 0) { const m = Math.max(-1, Math.min(1, t.imbalance)); f[1][j] = top * (1 + m) / 2; f[3][j] = top * (1 - m) / 2; }
    }
    if (t.spread !== undefined) {
      const mid = (f[0][j] + f[2][j]) / 2, h = Math.max(0, t.spread) * 0.5e-4;
      f[0][j] = mid * (1 - h); f[2][j] = mid * (1 + h);
    }
    if (t.depth !== undefined) { f[4][j] *= depthScale[k]; f[5][j] *= depthScale[k]; }
  };

  let standing = lastQuote; // the latest untouched quote so far
  let nextSecond = 0;
  const pinSeconds = (out: EventBatch, upTo: bigint): void => {
    // State quotes at each second's start reached, and the real book back at the end.
    while (nextSecond <= seconds && at + BigInt(nextSecond) * SECOND_NS <= upTo) {
      const ts = at + BigInt(nextSecond) * SECOND_NS;
      if (standing >= 0) {
        const j = copyEvent(src, standing, out, ts);
        if (nextSecond < seconds) editQuote(out, j, nextSecond);
      }
      nextSecond++;
    }
  };
  return inject(src, (out, i, ts) => {
    if (ts >= at) pinSeconds(out, ts);
    if (ts >= at && ts < end && isQuote(src, i, id)) standing = i; // the real book, dropped quote or not
    if (dropped.has(i)) return;
    const j = copyEvent(src, i, out);
    if (ts < at || ts >= end || src.instrument[i] !== id) return;
    const k = bucketOf(ts);
    // r copies of the edited event j, spread over the gap before the next event (within the anomaly's second k).
    const repeat = (r: number) => {
      if (r <= 0) return;
      const next = i + 1 < src.length ? src.tsNs[i + 1] : ts + 1_000_000n;
      const limit = at + BigInt(k + 1) * SECOND_NS - 1n;
      const span = (next < limit ? next : limit) - ts;
      for (let n = 1; n <= r; n++) copyEvent(out, j, out, ts + span * BigInt(n) / BigInt(r + 1));
    };
    if (isTrade(src, i, id)) {
      if (tradeSize.has(i)) out.f[1][j] = tradeSize.get(i)!;
      if (tradeSide.has(i)) out.f[2][j] = tradeSide.get(i)!;
      repeat(tradeRepeats.get(i) ?? 0);
    } else if (isQuote(src, i, id)) {
      editQuote(out, j, k);
      repeat(repeats.get(i) ?? 0);
    }
  }, {});
}

function sideSums(list: number[], size: (i: number) => number, side: (i: number) => number) {
  let buy = 0, sell = 0, none = 0;
  for (const i of list) { const s = side(i); if (s > 0) buy += size(i); else if (s < 0) sell += size(i); else none += size(i); }
  return { buy, sell, none };
}

/** The value `z` robust standard deviations from the band's centre (clamped to [lo, hi]). */
function at(band: Band | undefined, z: number, lo = -Infinity, hi = Infinity): number | undefined {
  if (!band) return undefined;
  return Math.max(lo, Math.min(hi, band.median + z * band.scale));
}

function needSeries(p: Placement, name: string): SecondSeries {
  if (!p.series) throw new Error(`${name}: needs the capture's per-second features (Placement.series, from measureSeconds)`);
  return p.series;
}

const secondOf = (ts: bigint) => Number(ts / SECOND_NS);

function checkWholeSecond(name: string, at: bigint): void {
  if (at % SECOND_NS !== 0n) throw new RangeError(`${name}: a multivariate anomaly starts at a whole second (a bucket start), got ${at} ns`);
}

/**
 * (a) Trade flow one way, the book leaning the other: for `seconds`, each second's flow at `z` robust sd from its
 * median toward a seeded side (buyers or sellers), and the top-of-book imbalance at `z` toward the opposite side.
 * Each alone is an ordinary second; together they say the resting book disagrees with the aggressive flow (the
 * pattern of size displayed against the trades, as in spoofing).
 */
export function flowAgainstBook(z = 1.2, seconds = 5): AnomalyType {
  return {
    name: 'flowAgainstBook', kind: 'multivariate', summary: `flow +${z} sd one way, book imbalance ${z} sd the other, ${seconds} s`,
    durationMs: seconds * 1000, needsDepth: false, expected: [], sets: ['flow', 'imbalance'], params: { z, seconds },
    apply(p) {
      checkWholeSecond('flowAgainstBook', p.at);
      const s = needSeries(p, 'flowAgainstBook'), S = secondOf(p.at), dir = sign(p.rng);
      const flow = at(bandOf(s, 'flow', S, p.bandSeconds), dir * z, -1, 1), imbalance = at(bandOf(s, 'imbalance', S, p.bandSeconds), -dir * z, -1, 1);
      return setSeconds(p.src, p.instrument, p.at, seconds, () => ({ flow, imbalance }));
    },
  };
}

/**
 * (b) A thinning market: for `seconds`, volume up (ln(1 + size) at +z robust sd), the spread wider (its per-second
 * mean at +z) and the book's depth thinner (its time-weighted mean at -z), all three at once.
 */
export function thinMarket(z = 1.2, seconds = 5): AnomalyType {
  return {
    name: 'thinMarket', kind: 'multivariate', summary: `volume +${z} sd, spread +${z} sd, depth -${z} sd, ${seconds} s`,
    durationMs: seconds * 1000, needsDepth: true, expected: [], sets: ['volume', 'spread', 'depth'], params: { z, seconds },
    apply(p) {
      checkWholeSecond('thinMarket', p.at);
      const s = needSeries(p, 'thinMarket'), S = secondOf(p.at);
      const volume = at(bandOf(s, 'volume', S, p.bandSeconds), z, 0), spread = at(bandOf(s, 'spread', S, p.bandSeconds), z, 0), depth = at(bandOf(s, 'depth', S, p.bandSeconds), -z, 0);
      return setSeconds(p.src, p.instrument, p.at, seconds, () => ({ volume, spread, depth }));
    },
  };
}

/**
 * (c) Quote stuffing: for `seconds`, quote updates up (+z robust sd), trades down (-z, at least one a second kept)
 * and the top-of-book imbalance flipping side every second (+z, -z, ... from a seeded side).
 */
export function quoteStuffing(z = 1.2, seconds = 5): AnomalyType {
  return {
    name: 'quoteStuffing', kind: 'multivariate', summary: `quote rate +${z} sd, trades -${z} sd, imbalance flipping +-${z} sd, ${seconds} s`,
    durationMs: seconds * 1000, needsDepth: false, expected: [], sets: ['quoteRate', 'intensity', 'imbalance'], params: { z, seconds },
    apply(p) {
      checkWholeSecond('quoteStuffing', p.at);
      const s = needSeries(p, 'quoteStuffing'), S = secondOf(p.at), dir = sign(p.rng);
      const quoteRate = at(bandOf(s, 'quoteRate', S, p.bandSeconds), z, 0), intensity = at(bandOf(s, 'intensity', S, p.bandSeconds), -z, 0);
      const imb = bandOf(s, 'imbalance', S, p.bandSeconds);
      return setSeconds(p.src, p.instrument, p.at, seconds, (k) => ({
        quoteRate, intensity, imbalance: at(imb, (k % 2 === 0 ? dir : -dir) * z, -1, 1),
      }));
    },
  };
}

/**
 * (d) A trade swarm: for `seconds`, many trades of little size while the book goes quiet: trades (intensity) up
 * +z robust sd (the second's trades split into equal parts), volume (ln(1 + size)) down -z, quote updates
 * (quoteRate) down -z. Each within its band; together rare, because trade count rises with volume and with quoting
 * on the captures (r ~0.7 and ~0.6 per second): at z = 1.4 the point's squared Mahalanobis distance is ~19 under
 * the measured correlations (chi-square 3 dof tail ~3e-4, about one normal second an hour). No seeded direction:
 * the mirror (few large trades, a busy book) is another pattern. Placements whose measured d^2 falls below `minD2`
 * (a band window in which the three happen to be uncorrelated) are refused. The volume target is never below the
 * second's trades times the smallest trade size of the band window.
 */
export function tradeSwarm(z = 1.4, seconds = 5, minD2 = 12): AnomalyType {
  return {
    name: 'tradeSwarm', kind: 'multivariate', summary: `trades +${z} sd, volume -${z} sd, quote rate -${z} sd, ${seconds} s`,
    durationMs: seconds * 1000, needsDepth: false, expected: [], sets: ['intensity', 'volume', 'quoteRate'], minD2, params: { z, seconds, minD2 },
    apply(p) {
      checkWholeSecond('tradeSwarm', p.at);
      const s = needSeries(p, 'tradeSwarm'), S = secondOf(p.at);
      const intensity = at(bandOf(s, 'intensity', S, p.bandSeconds), z, 0);
      // Trades of no size are no trades: the second's volume is at least its trades times the smallest size traded
      // in the band window (a lot), which keeps a band reaching below 0 from zeroing the sizes (the point then sits
      // less far out, and the measured d^2 says so).
      let lot = Infinity;
      const bandNs = BigInt(p.bandSeconds ?? BAND_SECONDS) * SECOND_NS;
      for (let i = indexAt(p.src, p.at - bandNs); i < p.src.length && p.src.tsNs[i] < p.at; i++) {
        if (isTrade(p.src, i, p.instrument) && p.src.f[1][i] > 0 && p.src.f[1][i] < lot) lot = p.src.f[1][i];
      }
      const least = intensity !== undefined && Number.isFinite(lot) ? Math.log1p(Math.max(1, Math.round(intensity)) * lot) : 0;
      const volume = at(bandOf(s, 'volume', S, p.bandSeconds), -z, least);
      const quoteRate = at(bandOf(s, 'quoteRate', S, p.bandSeconds), -z, 1);
      return setSeconds(p.src, p.instrument, p.at, seconds, () => ({ intensity, volume, quoteRate }));
    },
  };
}

// ---- Joint rarity: how far out a multivariate point is in the joint distribution ----------------------------------

/** erfc(x), x >= 0: a series for erf below 2 (positive terms), a continued fraction (modified Lentz) above. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1))
    let term = x, sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))): b_k = x, a_k = k/2.
  const tiny = 1e-300;
  let f = x, c = x, d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d; if (Math.abs(d) < tiny) d = tiny; d = 1 / d;
    c = x + a / c; if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/**
 * P(X >= x) for X chi-square with `dof` degrees of freedom (an integer 1..64), in closed form: even dof
 * exp(-x/2) sum_{k < dof/2} (x/2)^k / k!; odd dof erfc(sqrt(x/2)) + exp(-x/2) sum_{k=1}^{(dof-1)/2}
 * (x/2)^(k-1/2) / Gamma(k + 1/2). (1 dof: erfc(sqrt(x/2)); 2: exp(-x/2); 3: erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2);
 * 4: exp(-x/2)(1 + x/2).)
 */
export function chiSquareSurvival(x: number, dof: number): number {
  if (!(Number.isInteger(dof) && dof >= 1 && dof <= 64)) throw new RangeError(`chiSquareSurvival: dof must be an integer in [1, 64], got ${dof}`);
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  const h = x / 2, e = Math.exp(-h);
  if (dof % 2 === 0) {
    let term = e, sum = e;
    for (let k = 1; k < dof / 2; k++) { term *= h / k; sum += term; }
    return Math.min(1, sum);
  }
  let sum = erfc(Math.sqrt(h));
  let term = e * Math.sqrt(h) / (Math.sqrt(Math.PI) / 2); // k = 1: h^(1/2) / Gamma(3/2)
  for (let k = 1; k <= (dof - 1) / 2; k++) { sum += term; term *= h / (k + 0.5); }
  return Math.min(1, sum);
}

/** Pearson correlation of paired values (0 when either has no variance). */
export function pearson(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n !== ys.length) throw new RangeError(`pearson: ${n} values against ${ys.length}`);
  if (n < 2) return 0;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += xs[i]; my += ys[i]; }
  mx /= n; my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) { const a = xs[i] - mx, b = ys[i] - my; sxy += a * b; sxx += a * a; syy += b * b; }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** z' R^-1 z for a correlation matrix R (Gaussian elimination with partial pivoting); NaN if R is singular. */
export function mahalanobis2(z: readonly number[], R: readonly (readonly number[])[]): number {
  const n = z.length;
  if (R.length !== n || R.some((row) => row.length !== n)) throw new RangeError(`mahalanobis2: a ${n}-vector needs an ${n} x ${n} matrix`);
  const A = R.map((row, i) => [...row, z[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    if (!(Math.abs(A[p][c]) > 1e-12)) return NaN;
    [A[c], A[p]] = [A[p], A[c]];
    for (let r = c + 1; r < n; r++) {
      const f = A[r][c] / A[c][c];
      for (let k = c; k <= n; k++) A[r][k] -= f * A[c][k];
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let v = A[r][n];
    for (let k = r + 1; k < n; k++) v -= A[r][k] * y[k];
    y[r] = v / A[r][r];
  }
  return z.reduce((a, zi, i) => a + zi * y[i], 0);
}

/** Where a multivariate anomaly's point sits in the joint distribution of the features it moved. */
export interface JointRarity {
  /** The features, in the type's order, and their correlation over the band window (Pearson). */
  features: SecondFeature[];
  corr: number[][];
  /** Per anomaly second with every feature observed: the standardised point and its squared distance. */
  seconds: { second: number; z: number[]; d2: number }[];
  /** The median of the seconds' d^2, and its chi-square tail with as many dof as features. */
  d2: number;
  tail: number;
}

/**
 * The squared Mahalanobis distance of a multivariate anomaly's point: in each of its seconds, the injected stream's
 * values of the features it set, standardised by their bands (z = (value - median) / scale), against R, the
 * Pearson correlation of the same features over the band window of the untouched capture (the seconds before the
 * start in which all of them were observed): d^2 = z' R^-1 z. For a normal second, if the robust z's were jointly
 * Gaussian with correlation R, d^2 would be chi-square with as many dof as features; its survival at the point's d^2
 * says what share of normal seconds are at least as far out. The placement's figure is the median over its seconds.
 * Undefined when a feature has no band, no second is observed or R is singular.
 */
export function jointRarity(
  untouched: SecondSeries, injected: SecondSeries, features: readonly SecondFeature[], second: number, seconds: number, bandSeconds = BAND_SECONDS,
): JointRarity | undefined {
  const bands = features.map((f) => bandOf(untouched, f, second, bandSeconds));
  if (features.length === 0 || bands.some((b) => b === undefined)) return undefined;
  const cols: number[][] = features.map(() => []);
  for (let s = second - bandSeconds; s < second; s++) {
    const v = features.map((f) => untouched[f].get(s));
    if (v.every((x) => x !== undefined && Number.isFinite(x))) v.forEach((x, k) => cols[k].push(x!));
  }
  const corr = features.map((_, a) => features.map((__, b) => (a === b ? 1 : pearson(cols[a], cols[b]))));
  const out: JointRarity['seconds'] = [];
  for (let s = second; s < second + seconds; s++) {
    const v = features.map((f) => injected[f].get(s));
    if (!v.every((x) => x !== undefined && Number.isFinite(x))) continue;
    const z = v.map((x, k) => (x! - bands[k]!.median) / bands[k]!.scale);
    const d2 = mahalanobis2(z, corr);
    if (Number.isFinite(d2)) out.push({ second: s, z, d2 });
  }
  if (out.length === 0) return undefined;
  const d2s = out.map((x) => x.d2).sort((a, b) => a - b);
  const d2 = quantileSorted(d2s);
  return { features: [...features], corr, seconds: out, d2, tail: chiSquareSurvival(d2, features.length) };
}

// ---- Fair value: an index for the perpetuals, and a price that leaves it ------------------------------------------

/** An index series: times (ns) and values, in time order. */
export interface IndexSeries { tsNs: BigInt64Array; value: Float64Array }

/** The mid ((bid + ask) / 2) of every quote of `instrument` with both sides finite and positive: an index series. */
export function quoteMids(b: EventBatch, instrument: number): IndexSeries {
  const ts: bigint[] = [], v: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (!isQuote(b, i, instrument)) continue;
    const bid = b.f[0][i], ask = b.f[2][i];
    if (bid > 0 && ask > 0 && Number.isFinite(bid) && Number.isFinite(ask)) { ts.push(b.tsNs[i]); v.push((bid + ask) / 2); }
  }
  return { tsNs: BigInt64Array.from(ts), value: Float64Array.from(v) };
}

/** Where the marks go in each second: half past (never on a bucket boundary, where a multivariate type pins the book). */
export const MARK_OFFSET_NS = 500_000_000n;
/** An index value older than this is not used (no mark that second). */
export const INDEX_STALE_NS = 5n * SECOND_NS;

/**
 * A copy of `b` with a mark event for `instrument` at half past every second of its span (the cadence of Binance's
 * markPrice@1s): f0 the instrument's own mid as of that time in `b` (a proxy for the mark price), f1 the index as
 * of that time (its latest value at or before it, at most INDEX_STALE_NS old; no mark otherwise), f2 NaN (no
 * funding). The marks are derived from `b` itself, so an anomaly that moves the instrument's quotes moves f0 with
 * them while the index goes on following its own series: the proxy for a perpetual whose capture has no index
 * (`npm run eval:inject -- --index-from spot`: the spot capture's mid as the index of the USD-M and COIN-M ones).
 */
export function withIndexMarks(b: EventBatch, instrument: number, index: IndexSeries): EventBatch {
  if (b.length === 0) return inject(b, () => {});
  let mid = NaN, k = 0;
  let next = (b.tsNs[0] / SECOND_NS) * SECOND_NS + MARK_OFFSET_NS;
  if (next < b.tsNs[0]) next += SECOND_NS;
  const mark = (out: EventBatch, until: bigint) => {
    while (next <= until) {
      while (k < index.tsNs.length && index.tsNs[k] <= next) k++;
      const idx = k > 0 && next - index.tsNs[k - 1] <= INDEX_STALE_NS ? index.value[k - 1] : NaN;
      if (Number.isFinite(mid) && Number.isFinite(idx)) out.push(Kind.mark, instrument, next, mid, idx);
      next += SECOND_NS;
    }
  };
  return inject(b, (out, i, ts) => {
    mark(out, ts - 1n); // marks strictly before this event; one at the same time goes after it
    copyEvent(b, i, out);
    if (isQuote(b, i, instrument)) {
      const bid = b.f[0][i], ask = b.f[2][i];
      if (bid > 0 && ask > 0 && Number.isFinite(bid) && Number.isFinite(ask)) mid = (bid + ask) / 2;
    }
    if (i === b.length - 1) mark(out, ts);
  });
}

/**
 * A price leaving its fair value: from `at`, every quote and trade price of the instrument times
 * 1 +- bps x min(1, (t - at) / seconds) / 1e4, a ramp to `bps` over `seconds` that then holds, while the index (the
 * mark events' f1, added by withIndexMarks after the injection) keeps following its own series. Each quote moves
 * the mid by a fraction of a basis point; what moves by `bps` is mid minus index. The detector meant for it is the
 * RLS residual (`fairValue.rls`, mid regressed on index).
 */
export function fairValueDrift(bps = 10, seconds = 5, side?: Side): AnomalyType {
  const spanNs = BigInt(seconds) * SECOND_NS;
  return {
    name: 'fairValueDrift', kind: 'relation',
    summary: `mid and trade prices moved away from the index by ${bps} bps over ${seconds} s (then held), the index unmoved`,
    durationMs: seconds * 1000, needsDepth: false, needsIndex: true, expected: ['fairValue.rls'], sets: [], params: { bps, seconds },
    apply({ src, instrument: id, at, rng }) {
      const dir = sideOf(side, rng);
      return inject(src, (out, i, ts) => {
        const j = copyEvent(src, i, out);
        if (ts < at) return;
        const k = 1 + dir * bps * 1e-4 * Math.min(1, Number(ts - at) / Number(spanNs));
        if (isQuote(src, i, id)) { out.f[0][j] *= k; out.f[2][j] *= k; } else if (isTrade(src, i, id)) out.f[0][j] *= k;
      });
    },
  };
}

/** The anomaly types of the harness, with their default sizes. */
export const ANOMALY_TYPES: readonly AnomalyType[] = [
  priceJump(), volumeBurst(), oneSidedBook(), spreadBlowout(), depthWithdrawal(), quoteBurst(),
  flowAgainstBook(), thinMarket(), quoteStuffing(), tradeSwarm(), fairValueDrift(), oneSidedFullBook(),
];
