// The WASM ABI seen from the host: ids, configuration indices, record and state offsets, and the signatures of the
// module's exports. assembly/layout.ts and assembly/index.ts are the source of truth; this file is the host's one
// copy of them, imported by the engine API, the reference twin (src/reference/) and the tests alike, and
// test/abi.test.ts holds it against both builds of the module so the two cannot drift apart silently.

export const ABI_VERSION = 3;
export const C_LEN = 344;
export const ALERT_BYTES = 64;
export const BATCH_BYTES_PER_EVENT = 73;
export const MAX_ALERTS_PER_EVENT = 84;
export const N_FIELDS = 6;

// ---- Features: id = index in FEATURES ------------------------------------------------------------------------
export const FEATURES = [
  'return', 'rvol', 'intensity', 'volume', 'flow', 'spread', 'midJump', 'imbalance',
  'depth', 'depthImbalance', 'quoteRate', 'basis', 'funding', 'ivChange', 'value', 'valueChange',
] as const;
export type FeatureName = (typeof FEATURES)[number];
export const F_RETURN = 0;        // trade price return since the previous trade, bps
// Bucket features (rvol, intensity, volume, flow, quoteRate) are observed once per closed time bucket, when the
// instrument's next event arrives.
export const F_RVOL = 1;          // realised volatility in the bucket: sqrt(sum r^2) of trade returns, bps
export const F_INTENSITY = 2;     // trades per second in the bucket
export const F_VOLUME = 3;        // ln(1 + size traded in the bucket)
export const F_FLOW = 4;          // signed flow in the bucket: (buy - sell) / (buy + sell)
export const F_SPREAD = 5;        // (ask - bid) / mid, bps
export const F_MID_JUMP = 6;      // mid change since the previous quote, bps
export const F_IMBALANCE = 7;     // top of book (bidSize - askSize) / (bidSize + askSize)
export const F_DEPTH = 8;         // bidDepth + askDepth
export const F_DEPTH_IMB = 9;     // (bidDepth - askDepth) / (bidDepth + askDepth)
export const F_QUOTE_RATE = 10;   // quote updates per second in the bucket
export const F_BASIS = 11;        // (mark - index) / index, bps
export const F_FUNDING = 12;      // funding rate as given
export const F_IV_CHANGE = 13;    // mark IV change since the previous ticker
export const F_VALUE = 14;        // generic value
export const F_VALUE_CHANGE = 15; // generic value change since the previous value
export const N_FEATURES = FEATURES.length;
/**
 * Features as alert records name them: the 16 observed features, then the pseudo-features of the instrument-level
 * ("learned") channels, which have no feature block: 16 `vector` (the instrument's latest feature values: HST,
 * one-class SVM, combination), 17 `fairValue` (RLS residuals).
 */
export const ALERT_FEATURES = [...FEATURES, 'vector', 'fairValue'] as const;
export type AlertFeatureName = (typeof ALERT_FEATURES)[number];
export const F_VECTOR = 16;
export const F_FAIR_VALUE = 17;

// ---- Detectors: id = index in DETECTORS ----------------------------------------------------------------------
export const DETECTORS = ['zscore', 'robust', 'ewma', 'cusum', 'pageHinkley', 'novelty'] as const;
export type DetectorName = (typeof DETECTORS)[number];
export const D_ZSCORE = 0;
export const D_ROBUST = 1;
export const D_EWMA = 2;
export const D_CUSUM = 3;
export const D_PH = 4;
export const D_NOVELTY = 5;
export const N_DETECTORS = DETECTORS.length;
/** Detectors as alert records name them: the 6 per-feature detectors, then the learned ones (ids 6..9). */
export const ALERT_DETECTORS = [...DETECTORS, 'hst', 'ocsvm', 'rls', 'combined'] as const;
export type AlertDetectorName = (typeof ALERT_DETECTORS)[number];
export const D_HST = 6;
export const D_OCSVM = 7;
export const D_RLS = 8;
export const D_COMBINED = 9;

// ---- Channels: c = feature * N_DETECTORS + detector (0..95), then the learned channels c = 96 + k ----------------
export const N_TABLE_CHANNELS = N_FEATURES * N_DETECTORS;
/** The learned channels by k (channel 96 + k), with the ids their alert records carry. */
export const LEARNED = [
  { k: 0, name: 'hst', feature: F_VECTOR, detector: D_HST },
  { k: 1, name: 'ocsvm', feature: F_VECTOR, detector: D_OCSVM },
  { k: 2, name: 'rls', feature: F_FAIR_VALUE, detector: D_RLS },
  { k: 3, name: 'combined', feature: F_VECTOR, detector: D_COMBINED },
] as const;
export const N_LEARNED = LEARNED.length;
export const N_CHANNELS = N_TABLE_CHANNELS + N_LEARNED;
/** Channel index of an alert's (feature, detector) ids, or -1 when the pair names no channel. */
export function channelIndex(feature: number, detector: number): number {
  if (feature >= 0 && feature < N_FEATURES && detector >= 0 && detector < N_DETECTORS) return feature * N_DETECTORS + detector;
  const l = LEARNED.find((x) => x.feature === feature && x.detector === detector);
  return l ? N_TABLE_CHANNELS + l.k : -1;
}
/** The (feature, detector) ids of channel c (as alert records and set_channel name it). */
export function channelIds(c: number): { feature: number; detector: number } {
  if (c < N_TABLE_CHANNELS) return { feature: Math.floor(c / N_DETECTORS), detector: c % N_DETECTORS };
  const l = LEARNED[c - N_TABLE_CHANNELS];
  return { feature: l.feature, detector: l.detector };
}
/** "feature.detector" of channel c: "return.zscore", "vector.hst". */
export function channelName(c: number): string {
  const { feature, detector } = channelIds(c);
  return `${ALERT_FEATURES[feature]}.${ALERT_DETECTORS[detector]}`;
}

// ---- Calibrator modes: id = index in MODES -------------------------------------------------------------------
export const MODES = ['static', 'regime', 'target', 'fixed'] as const;
export type ModeName = (typeof MODES)[number];
export const M_STATIC = 0;
export const M_REGIME = 1;
export const M_TARGET = 2;
export const M_FIXED = 3;

export const REGIMES = ['calm', 'normal', 'volatile', 'stressed'] as const;
export type RegimeName = (typeof REGIMES)[number];

// ---- Event kinds and batch columns ---------------------------------------------------------------------------
export const Kind = { trade: 1, quote: 2, mark: 3, option: 4, value: 5 } as const;
export type KindName = keyof typeof Kind;
export const K_TRADE = Kind.trade;   // f0 price, f1 size, f2 side (+1 buyer-initiated, -1 seller, 0 unknown)
export const K_QUOTE = Kind.quote;   // f0 bid, f1 bidSize, f2 ask, f3 askSize, f4 bidDepth?, f5 askDepth?
export const K_MARK = Kind.mark;     // f0 mark, f1 index?, f2 funding?
export const K_OPTION = Kind.option; // f0 markIv, f1 underlying?, f2 markPrice?, f3 bidIv?, f4 askIv?
export const K_VALUE = Kind.value;   // f0 value
/** Byte offset of each column in a batch region of `capacity` events (docs/abi.md, "Events"). */
export const batchColumns = (capacity: number) => ({
  ts: 0, seq: 8 * capacity, instrument: 16 * capacity, kind: 20 * capacity,
  field: (k: number): number => (24 + 8 * k) * capacity, status: 72 * capacity,
});

// ---- Reject reasons: the status byte of an event, index in REJECT_REASONS ------------------------------------
export const REJECT_REASONS = [
  'ok', 'nonFinite', 'negative', 'timeBackwards', 'unknownInstrument', 'badKind', 'crossedQuote', 'tableFull',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
export const R_OK = 0;
export const R_NONFINITE = 1;          // NaN or Infinity in a required field, Infinity in an optional one
export const R_NEGATIVE = 2;           // price <= 0, size or depth < 0
export const R_TIME_BACKWARDS = 3;     // timestamp earlier than the instrument's previous event
export const R_UNKNOWN_INSTRUMENT = 4;
export const R_BAD_KIND = 5;
export const R_CROSSED = 6;            // ask < bid
export const R_TABLE_FULL = 7;         // auto-registration found the instrument table full
export const N_REJECT = REJECT_REASONS.length;

// ---- Configuration indices (f64 array of C_LEN values) -------------------------------------------------------
export const C = {
  VERSION: 0, MAX_INSTRUMENTS: 1, WINDOW: 2, TIME_WINDOW_NS: 3, TIME_BUCKETS: 4, RESERVED_5: 5, WARMUP: 6,
  EWMA_ALPHA: 7, CHART_LAMBDA: 8, CUSUM_K: 9, PH_DELTA: 10, PH_ALPHA: 11, VOL_FAST_NS: 12, VOL_SLOW_NS: 13,
  REGIME_VOL_EXP: 14, REGIME_LIQ_EXP: 15, REGIME_MIN: 16, REGIME_MAX: 17, TARGET_PER_HOUR: 18, TAIL_P: 19,
  TAIL_MEMORY: 20, QUANTILE_STEP: 21, CALIB_WARMUP: 22, RATE_EPOCH_NS: 23, RATE_MEMORY_NS: 24, HYSTERESIS: 25,
  COOLDOWN_NS: 26, MIN_PERSISTENCE: 27, THRESHOLD_FLOOR: 28, AUTO_REGISTER: 29, SCORE_CAP: 30, RATE_GAIN: 31,
  /** Per feature f: enabled @ +3f, detector mask @ +3f+1, minScale @ +3f+2. */
  FEATURE_BASE: 32,
  /** Per channel c = f * N_DETECTORS + d: mode @ +2c, base threshold @ +2c+1. */
  CHANNEL_BASE: 80,
  /** Novelty detector: silent observations after a score, time-of-day phases, history before phases are judged. */
  NOVELTY_REFRACTORY: 272, NOVELTY_PHASES: 273, NOVELTY_PHASE_WARMUP_NS: 274,
  /** 275..279 reserved, must be 0. */
  /**
   * ABI 3: learned channel k's section of 16 values at LEARNED_BASE + 16k: 0 enabled, 10 calibrator mode, 11 base
   * threshold, the rest the detector's own (a disabled section is all 0).
   */
  LEARNED_BASE: 280, LEARNED_SECTION: 16,
  /** Half-Space Trees (k = 0), 280..291; 292..295 reserved, must be 0. */
  HST_ENABLED: 280, HST_FEATURES: 281, HST_TREES: 282, HST_HEIGHT: 283, HST_WINDOW: 284, HST_SIZE_LIMIT: 285,
  HST_PADDING: 286, HST_SEED: 287, HST_SCORE_KIND: 288, HST_SCALER: 289, HST_MODE: 290, HST_THRESHOLD: 291,
  /** One-class SVM (k = 1), 296..307 (305, 308..311 reserved, must be 0). GAMMA 0 = 1 / dims. */
  OCSVM_BASE: 296, OCSVM_ENABLED: 296, OCSVM_FEATURES: 297, OCSVM_COMPONENTS: 298, OCSVM_NU: 299, OCSVM_GAMMA: 300,
  OCSVM_WINDOW: 301, OCSVM_WARMUP: 302, OCSVM_SEED: 303, OCSVM_SCALER: 304, OCSVM_MODE: 306, OCSVM_THRESHOLD: 307,
  /**
   * RLS fair value (k = 2), 312..326 (327 reserved): targets are series ids, regressors series masks (SERIES);
   * the price model serves instruments without option events, the option model those with.
   */
  RLS_BASE: 312, RLS_ENABLED: 312, RLS_PRICE_TARGET: 313, RLS_PRICE_X: 314, RLS_OPTION_TARGET: 315, RLS_OPTION_X: 316,
  RLS_LAMBDA: 317, RLS_PRICE_DELTA: 318, RLS_WARMUP: 319, RLS_PRICE_MIN_SCALE: 320, RLS_OPTION_MIN_SCALE: 321,
  RLS_MODE: 322, RLS_THRESHOLD: 323, RLS_CLIP: 324, RLS_MAX_STALE_NS: 325, RLS_OPTION_DELTA: 326,
  /** The combination (k = 3), 328..342 (343 reserved): KIND 0 off, 1 k of n, 2 combined score; MEMBERS 330..337. */
  COMBINE_BASE: 328, COMBINE_KIND: 328, COMBINE_K: 329, COMBINE_MEMBERS: 330, COMBINE_MODE: 338, COMBINE_THRESHOLD: 339,
  COMBINE_WINDOW_NS: 340, COMBINE_EXCLUSIVE: 341, COMBINE_CAP: 342,
} as const;
/** Member slots of the combination (C.COMBINE_MEMBERS + m), -1 = none. */
export const COMBINE_MAX_MEMBERS = 8;
/**
 * The series an instrument's events carry, which the RLS fair-value channel regresses (id = index): mid (quote),
 * trade (last trade price), mark, index (mark f1), markIv (option f0), underlying (option f1), ivMid (option (f3 +
 * f4) / 2), neighbourIv (option f5), value. Prices (SERIES_PRICES) enter as basis points of the instrument's anchor.
 */
export const SERIES = ['mid', 'trade', 'mark', 'index', 'markIv', 'underlying', 'ivMid', 'neighbourIv', 'value'] as const;
export type SeriesName = (typeof SERIES)[number];
export const N_SERIES = SERIES.length;
export const SERIES_PRICES = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 5);
export const learnedEnabledIndex = (k: number): number => C.LEARNED_BASE + C.LEARNED_SECTION * k;
export const learnedModeIndex = (k: number): number => C.LEARNED_BASE + C.LEARNED_SECTION * k + 10;
export const learnedThresholdIndex = (k: number): number => C.LEARNED_BASE + C.LEARNED_SECTION * k + 11;
export const featureEnabledIndex = (f: number): number => C.FEATURE_BASE + 3 * f;
export const featureMaskIndex = (f: number): number => C.FEATURE_BASE + 3 * f + 1;
export const featureMinScaleIndex = (f: number): number => C.FEATURE_BASE + 3 * f + 2;
export const channelModeIndex = (f: number, d: number): number => C.CHANNEL_BASE + 2 * (f * N_DETECTORS + d);
export const channelThresholdIndex = (f: number, d: number): number => C.CHANNEL_BASE + 2 * (f * N_DETECTORS + d) + 1;
/** Configuration index of channel c's calibrator mode (its base threshold follows it). */
export const channelModeIndexOf = (c: number): number =>
  c < N_TABLE_CHANNELS ? C.CHANNEL_BASE + 2 * c : learnedModeIndex(c - N_TABLE_CHANNELS);
/** Whether channel c exists in an arena of configuration `cfg`: a table channel always, a learned one when enabled. */
export const channelEnabled = (cfg: ArrayLike<number>, c: number): boolean =>
  c < N_TABLE_CHANNELS || cfg[learnedEnabledIndex(c - N_TABLE_CHANNELS)] !== 0;

// ---- Alert record (ALERT_BYTES) ------------------------------------------------------------------------------
export const AL = {
  TS: 0, SEQ: 8, INSTRUMENT: 16, FEATURE: 20, DETECTOR: 21, SEVERITY: 22, REGIME: 23, VALUE: 24, EXPECTED: 32,
  SCORE: 40, THRESHOLD: 48, REGIME_FACTOR: 56, MODE: 60,
} as const;

/** An alert record with its ids as numbers (src/engine.ts decodes the same record into names). */
export interface AlertRecord {
  tsNs: bigint;
  seq: bigint;
  instrument: number;
  feature: number;
  detector: number;
  severity: number;
  regime: number;
  value: number;
  expected: number;
  score: number;
  threshold: number;
  /** The instrument's volatility ratio, an f32 in the record. */
  regimeFactor: number;
  mode: number;
}

export function readAlertRecord(v: DataView, o: number): AlertRecord {
  return {
    tsNs: v.getBigInt64(o + AL.TS, true),
    seq: v.getBigInt64(o + AL.SEQ, true),
    instrument: v.getUint32(o + AL.INSTRUMENT, true),
    feature: v.getUint8(o + AL.FEATURE),
    detector: v.getUint8(o + AL.DETECTOR),
    severity: v.getUint8(o + AL.SEVERITY),
    regime: v.getUint8(o + AL.REGIME),
    value: v.getFloat64(o + AL.VALUE, true),
    expected: v.getFloat64(o + AL.EXPECTED, true),
    score: v.getFloat64(o + AL.SCORE, true),
    threshold: v.getFloat64(o + AL.THRESHOLD, true),
    regimeFactor: v.getFloat32(o + AL.REGIME_FACTOR, true),
    mode: v.getUint32(o + AL.MODE, true),
  };
}

// ---- State offsets a host or a test may read straight from memory ---------------------------------------------
/**
 * Arena header: total bytes (i64), offsets of the configuration copy and of slot 0 (i32), events consumed by the last
 * ingest (u32), and per feature the offset of its block inside a slot (i32 x N_FEATURES, -1 when disabled).
 */
export const ARENA = {
  TOTAL_BYTES: 8, CFG: 16, SLOTS: 28, CONSUMED: 40, FEATURE_OFF: 128, HEADER_BYTES: 256,
  /** i32 x 4: offset in the arena of learned detector k's shared model (0 = none). */
  MODEL_OFF: 216,
  /** i32 x 4: offset in a slot of learned channel k's block (-1 = disabled). */
  LEARNED_OFF: 232,
  /** i32: offset in a slot of the latest values (LATEST), -1 without learned channels. */
  VECTOR_OFF: 252,
} as const;
/** Latest values in a slot: each feature's latest value (f64 x 16), what the vector detectors step on. */
export const LATEST = { LAST_F: 0, OBSERVED: 128, BYTES: 136 } as const;
/** Learned channel block: channel state, the vector last stepped on (f64 x 16), the kernel state. */
export const LEARNED_BLOCK = { CHANNEL: 160, VECTOR: 312, STATE: 440 } as const;
/**
 * RLS block: at STATE the series area (raw values f64 x 9, their times i64 x 9, each price series' anchor f64 x 9,
 * seen mask, anchored mask, model the state is on 1 price / 2 option, flags bit 1 option events), the kernel state
 * after BYTES.
 */
export const RLS_SERIES = { VALUES: 0, TS: 72, ANCHORS: 144, SEEN: 216, ANCHORED: 220, MODEL: 224, FLAGS: 228, BYTES: 232 } as const;
/** Combination block: at STATE the event flags (u32), then per member m at 8 + 24m: last exceedance ts, last score ts, score / threshold. */
export const COMBINE_STATE = { EVENT: 0, MEMBERS: 8, MEMBER_BYTES: 24, BYTES: 200 } as const;
/** Count-window kernel header: capacity and count (u32), values ever pushed and refused (i64), order flag (u32). */
export const WINDOW_STATE = { CAP: 0, N: 4, TOTAL: 32, SKIPPED: 40, ORDER: 48 } as const;
/** EWMA kernel: values taken (i64). */
export const EWMA_STATE = { N: 24 } as const;

// ---- feature_stat / channel_stat / instrument_stat selectors: stat = index ------------------------------------
export const FEATURE_STATS = [
  'count', 'mean', 'variance', 'min', 'max', 'median', 'mad', 'ewmaMean', 'ewmaVariance', 'observations', 'last',
  'ratePerHour', 'noveltyLow', 'noveltyHigh',
] as const;
export const CHANNEL_STATS = [
  'score', 'threshold', 'alerts', 'exceedances', 'calibratorScores', 'baseQuantile', 'inEpisode', 'instrumentThreshold',
  /** Learned channels only: steps taken, the kernel's last raw score (HST: in [0, 1]). */
  'steps', 'rawScore',
] as const;
export const INSTRUMENT_STATS = [
  'volRatio', 'liquidityRatio', 'regimeFactor', 'regime', 'events', 'lastTsNs',
  'windowTrades', 'windowVolume', 'windowSignedVolume', 'windowQuotes', 'windowRealisedVolBps',
] as const;
/** counter(arena, which): 0 accepted events, 1 alerts, 2 + r events rejected for reason r. */
export const COUNTER_ACCEPTED = 0;
export const COUNTER_ALERTS = 1;
export const counterOfReject = (r: number): number => 2 + r;

// ---- Error codes (negative returns) ----------------------------------------------------------------------------
export const E_CONFIG_VERSION = -1;
/** -(1000 + index) names the configuration value out of range. */
export const E_CONFIG_RANGE = -1000;
export const E_BAD_ARENA = -3;
export const E_TABLE_FULL = -4;
export const E_BAD_ARGUMENT = -5;
export const E_NOT_FOUND = -6;
export const ERRORS: Record<number, string> = {
  [E_CONFIG_VERSION]: 'configuration version does not match the module ABI',
  [E_BAD_ARENA]: 'not an arena of this ABI version (bad magic, version or size)',
  [E_TABLE_FULL]: 'instrument table is full (raise maxInstruments)',
  [E_BAD_ARGUMENT]: 'bad argument',
  [E_NOT_FOUND]: 'not found',
};

// ---- The module's exports (docs/abi.md) ------------------------------------------------------------------------
/**
 * Every export of the atc module, both builds. Pointers and u32 ids cross as numbers, i64 as bigint. The kernel
 * exports (window_*, ewma_*, time_window_*) work on kernel state at any 8-aligned address, for embedders, benchmarks
 * and the tests that hold the kernels against their twins.
 */
export interface AtcExports {
  abi_version(): number;
  heap_base(): number;
  config_len(): number;
  max_alerts_per_event(): number;
  alert_bytes(): number;
  batch_bytes(capacity: number): number;
  // arena
  arena_bytes(config: number): number;
  validate_config(config: number): number;
  init(arena: number, config: number): number;
  restore_check(arena: number, bytes: number): number;
  arena_total(arena: number): number;
  config_ptr(arena: number): number;
  slot_bytes(arena: number): number;
  // instruments
  register(arena: number, id: number): number;
  slot_of(arena: number, id: number): number;
  instrument_count(arena: number): number;
  instrument_id(arena: number, slot: number): number;
  // ingest
  ingest(arena: number, batch: number, capacity: number, start: number, end: number, alerts: number, alertCapacity: number): number;
  consumed(arena: number): number;
  counter(arena: number, which: number): number;
  // thresholds, live
  set_channel(arena: number, feature: number, detector: number, mode: number, threshold: number): number;
  set_instrument_threshold(arena: number, id: number, feature: number, detector: number, threshold: number): number;
  // reading state
  feature_stat(arena: number, id: number, feature: number, stat: number): number;
  feature_quantile(arena: number, id: number, feature: number, q: number): number;
  channel_stat(arena: number, id: number, feature: number, detector: number, stat: number): number;
  instrument_stat(arena: number, id: number, stat: number): number;
  // count window
  window_bytes(w: number, order: number): number;
  /** order: 1 keeps the sorted copy (median, MAD, quantiles), 0 mean, variance, min and max only. */
  window_init(p: number, w: number, order: number): void;
  window_push(p: number, x: number): void;
  window_push_many(p: number, xs: number, n: number): void;
  window_count(p: number): number;
  window_mean(p: number): number;
  window_var(p: number): number;
  window_min(p: number): number;
  window_max(p: number): number;
  window_median(p: number): number;
  window_mad(p: number): number;
  window_quantile(p: number, q: number): number;
  // EWMA
  ewma_bytes(): number;
  ewma_init(p: number, alpha: number): void;
  ewma_push(p: number, x: number): void;
  ewma_mean(p: number): number;
  ewma_var(p: number): number;
  // time window
  time_window_bytes(b: number): number;
  time_window_init(p: number, b: number, bucketNs: bigint): void;
  time_window_push(p: number, ts: bigint, x: number): void;
  time_window_advance(p: number, ts: bigint): void;
  time_window_count(p: number): number;
  time_window_sum(p: number): number;
  time_window_sum_sq(p: number): number;
  time_window_mean(p: number): number;
  time_window_var(p: number): number;
  time_window_min(p: number): number;
  time_window_max(p: number): number;
}

/**
 * The parameter count of every export: the type makes this list name exactly the functions of AtcExports, each
 * with its arity, so that test/abi.test.ts can hold the interface against a module at run time.
 */
export const EXPORT_ARITY: { readonly [K in keyof AtcExports]: Parameters<AtcExports[K]>['length'] } = {
  abi_version: 0, heap_base: 0, config_len: 0, max_alerts_per_event: 0, alert_bytes: 0, batch_bytes: 1,
  arena_bytes: 1, validate_config: 1, init: 2, restore_check: 2, arena_total: 1, config_ptr: 1, slot_bytes: 1,
  register: 2, slot_of: 2, instrument_count: 1, instrument_id: 2,
  ingest: 7, consumed: 1, counter: 2,
  set_channel: 5, set_instrument_threshold: 5,
  feature_stat: 4, feature_quantile: 4, channel_stat: 5, instrument_stat: 3,
  window_bytes: 2, window_init: 3, window_push: 2, window_push_many: 3, window_count: 1, window_mean: 1,
  window_var: 1, window_min: 1, window_max: 1, window_median: 1, window_mad: 1, window_quantile: 2,
  ewma_bytes: 0, ewma_init: 2, ewma_push: 2, ewma_mean: 1, ewma_var: 1,
  time_window_bytes: 1, time_window_init: 3, time_window_push: 3, time_window_advance: 2, time_window_count: 1,
  time_window_sum: 1, time_window_sum_sq: 1, time_window_mean: 1, time_window_var: 1, time_window_min: 1,
  time_window_max: 1,
};
