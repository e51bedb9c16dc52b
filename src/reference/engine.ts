// Reference engine: events -> features -> detectors (scores) -> calibrators (thresholds) -> suppression -> alerts,
// built from the reference kernels (RefCountWindow, RefEwma, RefTimeWindow) in plain objects instead of an arena.
// It follows assembly/engine.ts and assembly/channel.ts step for step: the same order of observations, scoring
// before learning, the same warm-up rules and state updates, so that the WASM can be held against it alert for
// alert. What it leaves out: the arena, snapshots, the batch/alert-buffer plumbing (one event in, its alerts out).
import * as K from '../abi.js';
import type { AlertRecord } from '../abi.js';
import { I64_MIN, MAX_FEATURE_VALUE } from './constants.js';
import { RefCountWindow } from './window.js';
import { RefEwma } from './ewma.js';
import { RefTimeWindow, floorDiv } from './timewindow.js';
import { RateEstimator } from './calibrator.js';
import { RefChannel, regimeCode, severityOf } from './suppression.js';
import { RefNovelty } from './novelty.js';
import { cusumStep, ewmaChartNext, ewmaChartScore, floorScale, pageHinkleyStep, robustZ, slowMeanWeight, zScore } from './detectors.js';
import { Regime, check } from './features.js';
import { popcount, readParams, type RefParams } from './params.js';
import {
  HstModel, HstState, OcsvmModel, OcsvmState, RefCombineChannel, RefLearned, RefLearnedChannel, RefOcsvmChannel, RefRlsChannel, RlsState,
  hstChannelScore,
} from './learned.js';
import type { ChannelParams } from './params.js';

export interface RefEvent {
  tsNs: bigint;
  /** Sequence number; negative lets the engine number the event (one past the last number it saw). */
  seq: bigint;
  instrument: number;
  kind: number;
  /** f0..f5 (see the K_* kinds); NaN marks an optional field as absent. */
  f: readonly number[];
}

/** An alert as the module's record holds it (ids as numbers). */
export type RefAlert = AlertRecord;

export interface RefResult {
  /** R_* reject reason, R_OK (0) when accepted. */
  status: number;
  /** The event's sequence number after numbering. */
  seq: bigint;
  alerts: RefAlert[];
}

/** Detector and calibrator state of one feature of one instrument. */
export class RefFeature {
  readonly window: RefCountWindow;
  readonly ewma: RefEwma;
  readonly rate = new RateEstimator();
  readonly channels: RefChannel[] = [];
  /** EWMA chart statistic. */
  chart = 0;
  cusumPos = 0;
  cusumNeg = 0;
  /** Page-Hinkley: slow running mean, values in it, and the two faded sums. */
  phMean = 0;
  phN = 0;
  phUp = 0;
  phDn = 0;
  /** Last value observed. */
  last = 0;
  /** Novelty detector state (kept by every feature here; the module keeps it only where the mask enables it). */
  readonly novelty = new RefNovelty();

  constructor(p: RefParams) {
    this.window = new RefCountWindow(p.window);
    this.ewma = new RefEwma(p.ewmaAlpha);
    for (let d = 0; d < K.N_DETECTORS; d++) this.channels.push(new RefChannel());
  }

  get observations(): number { return this.rate.observations; }
}

/**
 * One book feature (imbalance, depth, depth imbalance) of an instrument: the value its last quote set, if one
 * stands, and how long each value stood in the open bucket. A bucket observes sum(value x ns stood) / bucketNs, the
 * time-weighted mean, only when a value stood for the whole bucket (assembly/engine.ts, closeBuckets and onQuote).
 */
export class StandingValue {
  /** The value in force; null when the last quote left the feature undefined (or none came yet). */
  value: number | null = null;
  /** A value has stood since the open bucket began. */
  wholeBucket = false;
  /** The open bucket's (value, ns it stood) pieces, in time order. */
  pieces: Array<[number, number]> = [];

  /** The value in force stood for `ns` more nanoseconds. */
  stood(ns: number): void {
    if (this.value !== null) this.pieces.push([this.value, ns]);
  }

  /** A quote sets the value, or ends it (null): a bucket with a gap is not a whole bucket. */
  set(value: number | null): void {
    this.value = value;
    if (value === null) this.wholeBucket = false;
  }

  /** sum(value x ns) / lengthNs over the pieces, summed in time order from 0 (as the module accumulates). */
  mean(lengthNs: number): number {
    let area = 0;
    for (const [v, ns] of this.pieces) area += v * ns;
    return area / lengthNs;
  }

  /** A new bucket opens: what stands now stands from its start. */
  open(): void {
    this.pieces = [];
    this.wholeBucket = this.value !== null;
  }
}

/** What happened in an instrument's open time bucket. */
export class OpenBucket {
  /** Per trade: size and signed size (+size buyer-initiated, -size seller, 0 unknown side). */
  readonly sizes: number[] = [];
  readonly signed: number[] = [];
  /** Trade returns (bps), one per trade after the instrument's first. */
  readonly tradeReturns: number[] = [];
  /** Returns that feed the regime: mid changes, and trade returns while the instrument has no quotes. */
  readonly regimeReturns: number[] = [];
  /** Spreads (bps) of the quotes. */
  readonly spreads: number[] = [];
}

export class RefInstrument {
  readonly id: number;
  lastTs = I64_MIN;
  events = 0;
  lastTradePx = 0;
  lastMid = 0;
  lastIv = 0;
  lastValue = 0;
  hasTrade = false;
  hasMid = false;
  hasQuotes = false;
  hasIv = false;
  hasValue = false;
  /** Bucket clock: started with the first event; the first bucket began before we watched (partial). */
  bucketStarted = false;
  bucketPartial = false;
  /** Id (floor(ts / bucketNs)) of the open bucket. */
  bucket = 0n;
  /** Book features, per bucket as time-weighted means; values stand from bookTs (the last quote, or the open
   * bucket's start) until the next quote or the bucket's end. */
  readonly imbalance = new StandingValue();
  readonly depth = new StandingValue();
  readonly depthImbalance = new StandingValue();
  bookTs = 0n;
  /** Volatility and liquidity regime, updated per closed bucket. */
  readonly regime = new Regime();
  /** The open bucket's events, kept as lists; every bucket feature is computed from them when it closes. */
  open = new OpenBucket();
  /**
   * Time windows over the last B closed buckets, each closed bucket pushing its totals: trades, size traded,
   * signed size, squared trade returns, quote updates.
   */
  readonly trades: RefTimeWindow;
  readonly volume: RefTimeWindow;
  readonly flow: RefTimeWindow;
  readonly ret2: RefTimeWindow;
  readonly quotes: RefTimeWindow;
  /** Per feature; null when the feature is disabled. */
  readonly features: (RefFeature | null)[] = [];
  /** The latest value of each feature (0 until observed): the vector detectors' coordinates. */
  readonly lastF = new Float64Array(K.N_FEATURES);
  /** Bit f: the event being processed observed feature f. */
  observed = 0;
  /** The Half-Space Trees channel (learned channel 96), when enabled. */
  readonly hst: RefLearned | null;
  /** The one-class SVM (97), RLS fair value (98) and combination (99) channels, when enabled. */
  readonly ocsvm: RefOcsvmChannel | null;
  readonly rls: RefRlsChannel | null;
  readonly combine: RefCombineChannel | null;

  constructor(id: number, p: RefParams, hstModel: HstModel | null, ocModel: OcsvmModel | null = null) {
    this.id = id;
    this.trades = new RefTimeWindow(p.timeBuckets, p.timeBucketNs);
    this.volume = new RefTimeWindow(p.timeBuckets, p.timeBucketNs);
    this.flow = new RefTimeWindow(p.timeBuckets, p.timeBucketNs);
    this.ret2 = new RefTimeWindow(p.timeBuckets, p.timeBucketNs);
    this.quotes = new RefTimeWindow(p.timeBuckets, p.timeBucketNs);
    for (let f = 0; f < K.N_FEATURES; f++) this.features.push(p.features[f].enabled ? new RefFeature(p) : null);
    const h = p.hst;
    this.hst = h && hstModel ? new RefLearned(new HstState(hstModel, h.window, h.sizeLimit, h.scoreKind, h.scaler)) : null;
    const o = p.ocsvm;
    this.ocsvm = o && ocModel ? new RefOcsvmChannel(new OcsvmState(ocModel, o.nu, o.window, o.warmup, o.scaler)) : null;
    // On the price model until the instrument's first option event.
    this.rls = p.rls ? new RefRlsChannel(rlsState(p.rls, 1)) : null;
    this.combine = p.combine ? new RefCombineChannel() : null;
  }
}

/** A fresh RLS state on the price (1) or option (2) model. */
export function rlsState(r: NonNullable<RefParams['rls']>, model: 1 | 2): RlsState {
  const o = model === 2;
  return new RlsState(popcount(o ? r.optionX : r.priceX), 1, {
    lambda: r.lambda, delta: o ? r.optionDelta : r.priceDelta, warmup: r.warmup,
    minScale: o ? r.optionMinScale : r.priceMinScale, clip: r.clip,
  });
}

export class RefEngine {
  readonly params: RefParams;
  readonly instruments = new Map<number, RefInstrument>();
  /** Registration order (slot index -> instrument). */
  readonly slots: RefInstrument[] = [];
  nextSeq = 0n;
  accepted = 0;
  alertCount = 0;
  readonly rejects: number[] = new Array<number>(K.N_REJECT).fill(0);
  /** The shared HST trees (once per engine, as once per arena), when HST is enabled. */
  readonly hstModel: HstModel | null;
  /** The shared random features of the one-class SVM, when enabled. */
  readonly ocModel: OcsvmModel | null;

  constructor(config: Float64Array) {
    this.params = readParams(config);
    const h = this.params.hst;
    this.hstModel = h ? new HstModel(popcount(h.mask), h.trees, h.height, h.seed, h.padding) : null;
    const o = this.params.ocsvm;
    this.ocModel = o ? new OcsvmModel(popcount(o.mask), o.components, o.gamma, o.seed) : null;
  }

  /** The learned channels' settings by k (null when disabled). */
  learnedParams(k: number): ChannelParams | null {
    const p = this.params;
    return [p.hst, p.ocsvm, p.rls, p.combine][k]?.channel ?? null;
  }

  /** The learned channel k of an instrument (null when disabled). */
  static learnedOf(inst: RefInstrument, k: number): RefLearnedChannel | null {
    return [inst.hst, inst.ocsvm, inst.rls, inst.combine][k] ?? null;
  }

  /** True when some channel uses the regime-scaled mode (only then is the regime factor kept up to date). */
  get anyRegime(): boolean {
    return this.params.channels.some((row) => row.some((c) => c.mode === K.M_REGIME))
      || [0, 1, 2, 3].some((k) => this.learnedParams(k)?.mode === K.M_REGIME);
  }

  /** Slot index of the instrument (registering it if new), or E_TABLE_FULL. */
  register(id: number): number {
    const u = id >>> 0;
    const existing = this.instruments.get(u);
    if (existing) return this.slots.indexOf(existing);
    if (this.slots.length >= this.params.maxInstruments) return K.E_TABLE_FULL;
    const inst = new RefInstrument(u, this.params, this.hstModel, this.ocModel);
    this.instruments.set(u, inst);
    this.slots.push(inst);
    return this.slots.length - 1;
  }

  /** As the set_channel export: mode and base threshold of (feature, detector) for every instrument. */
  setChannel(feature: number, detector: number, mode: number, threshold: number): number {
    const c = K.channelIndex(feature, detector);
    if (c < 0) return K.E_BAD_ARGUMENT;
    if (mode < 0 || mode > 3 || !(threshold > 0)) return K.E_BAD_ARGUMENT;
    if (c >= K.N_TABLE_CHANNELS) {
      const p = this.params;
      const sec = [p.hst, p.ocsvm, p.rls, p.combine][c - K.N_TABLE_CHANNELS];
      if (!sec) return K.E_NOT_FOUND;
      // k of n fires at k members, statically (as the module: a configuration the engine would refuse otherwise).
      if (sec === p.combine && p.combine.kind === 1 && (mode !== 0 || threshold !== p.combine.k)) return K.E_BAD_ARGUMENT;
      sec.channel = { mode, threshold };
      return 0;
    }
    this.params.channels[feature][detector] = { mode, threshold };
    return 0;
  }

  /** As the set_instrument_threshold export: the fixed-mode threshold of one instrument's channel (NaN clears). */
  setInstrumentThreshold(id: number, feature: number, detector: number, threshold: number): number {
    const c = K.channelIndex(feature, detector);
    if (c >= K.N_TABLE_CHANNELS) {
      const inst = this.instruments.get(id >>> 0);
      const h = inst ? RefEngine.learnedOf(inst, c - K.N_TABLE_CHANNELS) : null;
      if (!h) return K.E_NOT_FOUND;
      if (!Number.isNaN(threshold) && !(threshold > 0)) return K.E_BAD_ARGUMENT;
      if (c === K.N_TABLE_CHANNELS + 3 && this.params.combine!.kind === 1) return K.E_BAD_ARGUMENT; // k of n: k for all
      h.channel.fixedThreshold = threshold;
      return 0;
    }
    if (detector < 0 || detector >= K.N_DETECTORS || feature < 0 || feature >= K.N_FEATURES) return K.E_NOT_FOUND;
    const fs = this.instruments.get(id >>> 0)?.features[feature];
    if (!fs) return K.E_NOT_FOUND;
    if (!Number.isNaN(threshold) && !(threshold > 0)) return K.E_BAD_ARGUMENT;
    fs.channels[detector].fixedThreshold = threshold;
    return 0;
  }

  /** Process one event. */
  ingest(ev: RefEvent): RefResult {
    const p = this.params;
    // Events the producer did not number get the next number; numbered ones move the counter past them.
    const seq = ev.seq < 0n ? this.nextSeq : ev.seq;
    // The counter only moves forward: a producer's lower number does not make later automatic numbers repeat.
    if (seq >= this.nextSeq) this.nextSeq = BigInt.asIntN(64, seq + 1n);
    const id = ev.instrument >>> 0;
    const f = [0, 1, 2, 3, 4, 5].map((k) => (k < ev.f.length ? ev.f[k] : NaN));
    let status = check(ev.kind, f);
    let inst: RefInstrument | undefined;
    if (status === K.R_OK) {
      inst = this.instruments.get(id);
      if (!inst) {
        if (p.autoRegister) {
          if (this.register(id) < 0) status = K.R_TABLE_FULL;
          else inst = this.instruments.get(id);
        } else {
          status = K.R_UNKNOWN_INSTRUMENT;
        }
      }
    }
    if (status === K.R_OK && inst && ev.tsNs < inst.lastTs) status = K.R_TIME_BACKWARDS;
    if (status !== K.R_OK || !inst) {
      this.rejects[status]++;
      return { status, seq, alerts: [] };
    }
    inst.lastTs = ev.tsNs;
    inst.events++;
    this.accepted++;
    const out: RefAlert[] = [];
    const ts = ev.tsNs;
    this.#closeBuckets(inst, ts, seq, out);
    switch (ev.kind) {
      case K.K_TRADE: this.#onTrade(inst, ts, seq, f[0], f[1], f[2], out); break;
      case K.K_QUOTE: this.#onQuote(inst, ts, seq, f[0], f[1], f[2], f[3], f[4], f[5], out); break;
      case K.K_MARK: this.#onMark(inst, ts, seq, f[0], f[1], f[2], out); break;
      case K.K_OPTION: this.#onOption(inst, ts, seq, f[0], out); break;
      default: this.#onValue(inst, ts, seq, f[0], out); break;
    }
    // The learned channels step at most once each, after all of the event's observations: the vector detectors when
    // the event observed a feature of theirs, RLS when it updated a regressor, then the combination.
    if (p.hst && (inst.observed & p.hst.mask)) this.#stepHst(inst, ts, seq, out);
    if (p.ocsvm && (inst.observed & p.ocsvm.mask)) this.#stepOcsvm(inst, ts, seq, out);
    if (p.rls) this.#stepRls(inst, ev.kind, f, ts, seq, out);
    if (p.combine) this.#stepCombine(inst, ts, seq, out);
    inst.observed = 0;
    this.alertCount += out.length;
    return { status, seq, alerts: out };
  }

  // ---- Events -> features --------------------------------------------------------------------------------------
  /**
   * Bucket features. Every accepted event first moves the instrument's bucket clock (buckets of timeWindowNs /
   * timeBuckets). When the event falls past the open bucket, that bucket's trades, size, signed size, squared
   * returns and quote updates become one observation each of intensity, volume, flow, rvol and quote rate
   * (trade features once a trade was seen, quote rate once a quote was), and, if it had a quote, the time-weighted
   * means of the book values that stood for the whole bucket one observation each of imbalance, depth and depth
   * imbalance; a run of empty buckets in between is observed once more, as one empty bucket (the book is not
   * observed again: it stood still). The instrument's first bucket began before we watched: not observed.
   */
  #closeBuckets(inst: RefInstrument, ts: bigint, seq: bigint, out: RefAlert[]): void {
    const p = this.params;
    const bucketNs = p.timeBucketNs;
    const b = floorDiv(ts, bucketNs);
    if (!inst.bucketStarted) {
      inst.bucketStarted = true;
      inst.bucketPartial = true;
      inst.bucket = b;
      return;
    }
    if (b <= inst.bucket) return;
    const seconds = Number(bucketNs) * 1e-9;
    const trades = inst.hasTrade;
    const quoting = inst.hasQuotes;
    const o = inst.open;
    const sum = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0);
    const size = sum(o.sizes);
    const r2 = sum(o.tradeReturns.map((r) => r * r));
    if (!inst.bucketPartial) {
      if (trades) {
        this.#observe(inst, K.F_INTENSITY, o.sizes.length / seconds, ts, seq, out);
        this.#observe(inst, K.F_VOLUME, Math.log1p(size), ts, seq, out);
        if (size > 0) this.#observe(inst, K.F_FLOW, sum(o.signed) / size, ts, seq, out);
        if (o.tradeReturns.length > 0) this.#observe(inst, K.F_RVOL, Math.sqrt(r2), ts, seq, out);
      }
      if (quoting) this.#observe(inst, K.F_QUOTE_RATE, o.spreads.length / seconds, ts, seq, out);
      if (o.spreads.length > 0) {
        // The values standing at the closed bucket's end stood until it.
        const endNs = Number(BigInt.asIntN(64, (inst.bucket + 1n) * bucketNs - inst.bookTs));
        const book: Array<[number, StandingValue]> = [[K.F_IMBALANCE, inst.imbalance], [K.F_DEPTH, inst.depth], [K.F_DEPTH_IMB, inst.depthImbalance]];
        for (const [f, v] of book) {
          if (!v.wholeBucket) continue;
          v.stood(endNs);
          this.#observe(inst, f, v.mean(Number(bucketNs)), ts, seq, out);
        }
      }
      // The regime moves after the closed bucket's own features were judged.
      inst.regime.close(ts, b - inst.bucket, bucketNs, inst.hasMid || inst.hasTrade, o.regimeReturns, o.spreads, this.anyRegime, p);
    }
    if (b > inst.bucket + 1n) {
      if (trades) {
        this.#observe(inst, K.F_INTENSITY, 0, ts, seq, out);
        this.#observe(inst, K.F_VOLUME, 0, ts, seq, out);
      }
      if (quoting) this.#observe(inst, K.F_QUOTE_RATE, 0, ts, seq, out);
    }
    // The closed bucket's totals join the time windows, at the closed bucket's start.
    const closedTs = inst.bucket * bucketNs;
    if (o.sizes.length > 0) {
      inst.trades.push(closedTs, o.sizes.length);
      inst.volume.push(closedTs, size);
      inst.flow.push(closedTs, sum(o.signed));
    }
    if (o.tradeReturns.length > 0) inst.ret2.push(closedTs, r2);
    if (o.spreads.length > 0) inst.quotes.push(closedTs, o.spreads.length);
    // Every window moves on to the last closed bucket, so that it holds the last B closed buckets and its totals age
    // out when trading stops.
    for (const w of [inst.trades, inst.volume, inst.flow, inst.ret2, inst.quotes]) w.advance((b - 1n) * bucketNs);
    inst.bucket = b;
    inst.bucketPartial = false;
    inst.open = new OpenBucket();
    for (const v of [inst.imbalance, inst.depth, inst.depthImbalance]) v.open();
    inst.bookTs = BigInt.asIntN(64, b * bucketNs);
  }

  #onTrade(inst: RefInstrument, ts: bigint, seq: bigint, px: number, size: number, side: number, out: RefAlert[]): void {
    if (inst.hasTrade) {
      const last = inst.lastTradePx;
      const r = ((px - last) / last) * 1e4; // simple return, bps
      // Trade returns feed the regime only on instruments without quotes (mid changes are better).
      if (!inst.hasQuotes) inst.open.regimeReturns.push(r);
      inst.open.tradeReturns.push(r);
      this.#observe(inst, K.F_RETURN, r, ts, seq, out);
    }
    inst.lastTradePx = px;
    inst.open.sizes.push(size);
    inst.open.signed.push(side > 0 ? size : side < 0 ? -size : 0);
    inst.hasTrade = true;
  }

  #onQuote(inst: RefInstrument, ts: bigint, seq: bigint, bid: number, bidSize: number, ask: number, askSize: number,
           bidDepth: number, askDepth: number, out: RefAlert[]): void {
    const mid = 0.5 * (bid + ask);
    const spread = ((ask - bid) / mid) * 1e4; // bps
    inst.open.spreads.push(spread);
    this.#observe(inst, K.F_SPREAD, spread, ts, seq, out);
    if (inst.hasMid) {
      const last = inst.lastMid;
      const jump = ((mid - last) / last) * 1e4; // bps
      inst.open.regimeReturns.push(jump);
      this.#observe(inst, K.F_MID_JUMP, jump, ts, seq, out);
    }
    inst.lastMid = mid;
    inst.hasMid = true;
    inst.hasQuotes = true;
    // Book features are observed per bucket (#closeBuckets): here the values that stood until now are recorded,
    // and this quote's values take their place (null where the quote leaves a feature undefined).
    const standNs = Number(BigInt.asIntN(64, ts - inst.bookTs));
    inst.bookTs = ts;
    for (const v of [inst.imbalance, inst.depth, inst.depthImbalance]) v.stood(standNs);
    const top = bidSize + askSize;
    inst.imbalance.set(top > 0 ? (bidSize - askSize) / top : null);
    const hasDepth = !Number.isNaN(bidDepth) && !Number.isNaN(askDepth);
    const depth = bidDepth + askDepth;
    inst.depth.set(hasDepth ? depth : null);
    inst.depthImbalance.set(hasDepth && depth > 0 ? (bidDepth - askDepth) / depth : null);
  }

  #onMark(inst: RefInstrument, ts: bigint, seq: bigint, mark: number, index: number, funding: number, out: RefAlert[]): void {
    if (!Number.isNaN(index) && !Number.isNaN(mark)) this.#observe(inst, K.F_BASIS, ((mark - index) / index) * 1e4, ts, seq, out);
    if (!Number.isNaN(funding)) this.#observe(inst, K.F_FUNDING, funding, ts, seq, out);
  }

  #onOption(inst: RefInstrument, ts: bigint, seq: bigint, iv: number, out: RefAlert[]): void {
    if (inst.hasIv) this.#observe(inst, K.F_IV_CHANGE, iv - inst.lastIv, ts, seq, out);
    inst.lastIv = iv;
    inst.hasIv = true;
  }

  #onValue(inst: RefInstrument, ts: bigint, seq: bigint, v: number, out: RefAlert[]): void {
    this.#observe(inst, K.F_VALUE, v, ts, seq, out);
    if (inst.hasValue) this.#observe(inst, K.F_VALUE_CHANGE, v - inst.lastValue, ts, seq, out);
    inst.lastValue = v;
    inst.hasValue = true;
  }

  // ---- Learned channels -----------------------------------------------------------------------------------------
  /** Half-Space Trees over the latest values of the mask's features (feature order); scored from its first full window. */
  #stepHst(inst: RefInstrument, ts: bigint, seq: bigint, out: RefAlert[]): void {
    const p = this.params;
    const h = p.hst!;
    const lc = inst.hst!;
    const x: number[] = [];
    for (let f = 0; f < K.N_FEATURES; f++) if (h.mask & (1 << f)) x.push(inst.lastF[f]);
    const warm = lc.hst.warm;
    lc.rate.observe(ts, p);
    const s = lc.hst.step(x);
    lc.last = s;
    if (!warm) return;
    this.#judge(inst, lc, 0, K.F_VECTOR, K.D_HST, hstChannelScore(s, p.scoreCap), s, NaN, ts, seq, out);
  }

  /** One-class SVM over the latest values of its mask's features; judged from the end of its warm-up. */
  #stepOcsvm(inst: RefInstrument, ts: bigint, seq: bigint, out: RefAlert[]): void {
    const p = this.params;
    const o = p.ocsvm!;
    const lc = inst.ocsvm!;
    const x: number[] = [];
    for (let f = 0; f < K.N_FEATURES; f++) if (o.mask & (1 << f)) x.push(inst.lastF[f]);
    const warm = lc.oc.t >= lc.oc.warmup;
    lc.rate.observe(ts, p);
    const s = lc.oc.step(x);
    lc.last = s;
    if (!warm) return;
    this.#judge(inst, lc, 1, K.F_VECTOR, K.D_OCSVM, s <= p.scoreCap ? s : s > p.scoreCap ? p.scoreCap : 0, s, NaN, ts, seq, out);
  }

  /**
   * RLS fair value: the event's series values are recorded; when it updated a regressor of the instrument's model,
   * every series of the model has a value and each is at most maxStaleNs old, the kernel steps on (y, x)
   * in the model's units. The alert reports the target and the prediction in the target's own units.
   */
  #stepRls(inst: RefInstrument, kind: number, f: readonly number[], ts: bigint, seq: bigint, out: RefAlert[]): void {
    const p = this.params;
    const r = p.rls!;
    const lc = inst.rls!;
    let upd = 0;
    const put = (s: number, v: number): void => {
      lc.values[s] = v;
      lc.ts[s] = ts;
      lc.seen |= 1 << s;
      if ((K.SERIES_PRICES & (1 << s)) && !(lc.anchored & (1 << s)) && v - v === 0) { lc.anchors[s] = v; lc.anchored |= 1 << s; }
      upd |= 1 << s;
    };
    const [f0, f1, , f3, f4, f5] = f;
    if (kind === K.K_QUOTE) put(0, 0.5 * (f0 + f[2]));
    else if (kind === K.K_TRADE) put(1, f0);
    else if (kind === K.K_MARK) {
      if (!Number.isNaN(f0)) put(2, f0);
      if (!Number.isNaN(f1)) put(3, f1);
    } else if (kind === K.K_OPTION) {
      lc.option = true;
      put(4, f0);
      if (!Number.isNaN(f1)) put(5, f1);
      if (!Number.isNaN(f3) && !Number.isNaN(f4)) put(6, 0.5 * (f3 + f4));
      if (!Number.isNaN(f5)) put(7, f5);
    } else put(8, f0);
    const model: 1 | 2 = lc.option ? 2 : 1;
    const target = model === 2 ? r.optionTarget : r.priceTarget;
    const xmask = model === 2 ? r.optionX : r.priceX;
    if (!(upd & xmask)) return;
    const need = xmask | (1 << target);
    if ((lc.seen & need) !== need) return;
    // Every series of the model (target and regressors) at most maxStaleNs old; those this event updated are fresh.
    for (let s = 0; s < K.N_SERIES; s++) if ((need & ~upd & (1 << s)) && Number(ts - lc.ts[s]) > r.maxStaleNs) return;
    if (lc.model !== model) { lc.state = rlsState(r, model); lc.model = model; }
    const xs: number[] = [];
    for (let s = 0; s < K.N_SERIES; s++) if (xmask & (1 << s)) xs.push(lc.units(s));
    const st = lc.state;
    const n = st.n;
    const warm = n >= st.warmup;
    lc.rate.observe(ts, p);
    const s = st.step(lc.units(target), xs);
    lc.last = s;
    if (!warm || st.n === n) return; // a point the kernel refused is not judged
    const a = lc.anchors[target];
    const expected = K.SERIES_PRICES & (1 << target) ? a + st.yhat / 1e4 * a : st.yhat;
    this.#judge(inst, lc, 2, K.F_FAIR_VALUE, K.D_RLS, s <= p.scoreCap ? s : s > p.scoreCap ? p.scoreCap : 0, lc.values[target], expected, ts, seq, out);
  }

  /**
   * The combination, on every event where a member scored: k of n (the members whose last exceedance is within the
   * window), or the combined score (the mean over the members of min(cap, score / threshold) of their last score
   * within the window, 0 for a member without one).
   */
  #stepCombine(inst: RefInstrument, ts: bigint, seq: bigint, out: RefAlert[]): void {
    const p = this.params;
    const c = p.combine!;
    const lc = inst.combine!;
    const ev = lc.event;
    if (ev === 0) return;
    lc.event = 0;
    const kOfN = c.kind === 1;
    const lim = ts < I64_MIN + c.windowNs ? I64_MIN : ts - c.windowNs;
    let sum = 0;
    let n = 0;
    for (let m = 0; m < c.members.length; m++) {
      if (!(c.members[m] >= 0)) continue;
      n++;
      if (kOfN) {
        const t = lc.exceedTs[m];
        if (t !== I64_MIN && t >= lim) sum += 1;
      } else {
        const t = lc.obsTs[m];
        if (t !== I64_MIN && t >= lim) {
          const r = lc.ratio[m];
          sum += r < c.cap ? r : c.cap;
        }
      }
    }
    const score = kOfN ? sum : sum / n;
    lc.rate.observe(ts, p);
    lc.last = score;
    this.#judge(inst, lc, 3, K.F_VECTOR, K.D_COMBINED, score, score, NaN, ts, seq, out);
  }

  /**
   * Judge a learned channel's score (k, with its alert ids); push its alert unless it is a member of an exclusive
   * combination. True when it fired.
   */
  #judge(inst: RefInstrument, lc: RefLearnedChannel, k: number, feature: number, detector: number, score: number,
         value: number, expected: number, ts: bigint, seq: bigint, out: RefAlert[]): boolean {
    const p = this.params;
    const { mode, threshold: base } = this.learnedParams(k)!;
    // The threshold floor is in the units of the detectors' scores; the combination's is a count or a ratio: no floor.
    const thr = lc.channel.step(mode, base, inst.regime.factor, lc.rate, score, ts, k === 3 ? { ...p, thresholdFloor: 0 } : p);
    const silent = this.#note(inst, K.N_TABLE_CHANNELS + k, lc.channel);
    if (thr === null) return false;
    if (silent) { lc.channel.alerts--; return true; }
    out.push({
      tsNs: ts, seq, instrument: inst.id, feature, detector,
      severity: severityOf(score, thr), regime: regimeCode(inst.regime.volRatio),
      value, expected, score, threshold: thr, regimeFactor: Math.fround(inst.regime.volRatio), mode,
    });
    return true;
  }

  /**
   * After channel c judged a score: when c is a member of the combination, its exceedance (score at or above the
   * threshold in force, before suppression), the time and its score over the threshold are noted. True when c is a
   * member of an exclusive combination (its own alert is not emitted).
   */
  #note(inst: RefInstrument, c: number, ch: RefChannel): boolean {
    const cp = this.params.combine;
    if (!cp || c === K.N_TABLE_CHANNELS + 3) return false;
    const m = cp.members.indexOf(c);
    if (m < 0) return false;
    const lc = inst.combine!;
    const ts = inst.lastTs;
    const score = ch.lastScore, thr = ch.lastThreshold;
    lc.event |= 2;
    if (score >= thr && score > 0) { lc.exceedTs[m] = ts; lc.event |= 1; }
    lc.obsTs[m] = ts;
    lc.ratio[m] = score / thr;
    return cp.exclusive;
  }

  // ---- A feature observation: score every enabled detector, then learn --------------------------------------
  #observe(inst: RefInstrument, f: number, x: number, ts: bigint, seq: bigint, out: RefAlert[]): void {
    const fs = inst.features[f];
    if (!fs) return; // feature disabled
    // A derived value can overflow from finite inputs (a basis over an index of 5e-324), or its square can (a basis
    // over an index of 1e-300): refused beyond MAX_FEATURE_VALUE, counted as the window's skipped values (as the
    // module does), never learnt.
    if (!(Math.abs(x) <= MAX_FEATURE_VALUE)) { fs.window.skipped++; return; }
    // The vector detectors' coordinates: the latest value of each feature, and which ones this event observed.
    inst.lastF[f] = x;
    inst.observed |= 1 << f;
    const p = this.params;
    const { mask, minScale } = p.features[f];
    const cap = p.scoreCap;
    const has = (d: number): boolean => (mask & (1 << d)) !== 0;
    /** Judge the score on channel (f, d); true when it fired. */
    const emit = (d: number, score: number, expected: number): boolean => {
      const { mode, threshold: base } = p.channels[f][d];
      const thr = fs.channels[d].step(mode, base, inst.regime.factor, fs.rate, score, ts, p);
      const silent = p.combine !== null && this.#note(inst, f * K.N_DETECTORS + d, fs.channels[d]);
      if (thr === null) return false;
      if (silent) { fs.channels[d].alerts--; return true; }
      out.push({
        tsNs: ts, seq, instrument: inst.id, feature: f, detector: d,
        severity: severityOf(score, thr), regime: regimeCode(inst.regime.volRatio),
        value: x, expected, score, threshold: thr, regimeFactor: Math.fround(inst.regime.volRatio), mode,
      });
      return true;
    };

    fs.rate.observe(ts, p);
    fs.last = x;
    if (has(K.D_NOVELTY)) fs.novelty.push(x, ts);
    // Score (against the state before x) ...
    const warm = fs.window.count >= p.warmup;
    if (warm) {
      const mean = fs.window.mean();
      const sd = floorScale(Math.sqrt(fs.window.variance()), minScale);
      if (has(K.D_ZSCORE)) emit(K.D_ZSCORE, zScore(x, mean, sd, cap), mean);
      if (has(K.D_ROBUST)) {
        const med = fs.window.median();
        emit(K.D_ROBUST, robustZ(x, med, fs.window.mad(), minScale, cap), med);
      }
      if (has(K.D_EWMA)) {
        const mu = fs.ewma.mean();
        const se = floorScale(Math.sqrt(fs.ewma.variance()), minScale);
        fs.chart = ewmaChartNext(fs.chart, x, p.chartLambda);
        emit(K.D_EWMA, ewmaChartScore(fs.chart, mu, se, p.chartLambda, cap), mu);
      }
      if (has(K.D_CUSUM)) {
        const s = cusumStep(fs.cusumPos, fs.cusumNeg, (x - mean) / sd, p.cusumK, cap);
        fs.cusumPos = s.pos;
        fs.cusumNeg = s.neg;
        // Restart after a signal (Page 1954; Montgomery 9.1.2): a persisting shift alerts again after the cooldown.
        if (emit(K.D_CUSUM, s.score, mean)) { fs.cusumPos = 0; fs.cusumNeg = 0; }
      }
      if (has(K.D_PH)) {
        const pm = fs.phMean;
        const s = pageHinkleyStep(fs.phUp, fs.phDn, (x - pm) / sd, p.phDelta, p.phAlpha, cap);
        fs.phUp = s.up;
        fs.phDn = s.dn;
        if (emit(K.D_PH, s.score, pm)) { fs.phUp = 0; fs.phDn = 0; }
      }
      if (has(K.D_NOVELTY)) {
        const s = fs.novelty.score(x, ts, p, cap);
        emit(K.D_NOVELTY, s, fs.novelty.expected);
        fs.novelty.judged(s, fs.channels[K.D_NOVELTY].lastThreshold, p);
      }
    } else if (has(K.D_EWMA)) {
      // Warm-up: the chart starts where the baseline will be once x is in, so nothing fires from a cold start.
      fs.chart = fs.ewma.n === 0 ? x : fs.ewma.meanAfter(x);
    }
    // ... then learn (the EWMA baseline only serves the EWMA chart).
    fs.window.push(x);
    if (has(K.D_NOVELTY)) fs.novelty.learn(x, ts, p);
    if (has(K.D_EWMA)) fs.ewma.push(x);
    if (has(K.D_PH)) {
      fs.phN++;
      fs.phMean = fs.phMean + slowMeanWeight(fs.phN, p.phAlpha) * (x - fs.phMean);
    }
  }
}
