// The WASM ABI seen from the host: ids, names and offsets. assembly/layout.ts is the source of truth; the test
// `test/abi.test.ts` holds this file against the module's own exports so the two cannot drift apart silently.

export const ABI_VERSION = 1;
export const C_LEN = 240;
export const ALERT_BYTES = 64;
export const BATCH_BYTES_PER_EVENT = 73;
export const MAX_ALERTS_PER_EVENT = 70;
export const N_FIELDS = 6;

export const FEATURES = [
  'return', 'rvol', 'intensity', 'volume', 'flow', 'spread', 'midJump', 'imbalance',
  'depth', 'depthImbalance', 'quoteRate', 'basis', 'funding', 'ivChange', 'value', 'valueChange',
] as const;
export type FeatureName = (typeof FEATURES)[number];

export const DETECTORS = ['zscore', 'robust', 'ewma', 'cusum', 'pageHinkley'] as const;
export type DetectorName = (typeof DETECTORS)[number];

export const MODES = ['static', 'regime', 'target', 'fixed'] as const;
export type ModeName = (typeof MODES)[number];

export const REGIMES = ['calm', 'normal', 'volatile', 'stressed'] as const;
export type RegimeName = (typeof REGIMES)[number];

export const Kind = { trade: 1, quote: 2, mark: 3, option: 4, value: 5 } as const;
export type KindName = keyof typeof Kind;

export const REJECT_REASONS = [
  'ok', 'nonFinite', 'negative', 'timeBackwards', 'unknownInstrument', 'badKind', 'crossedQuote', 'tableFull',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

// Configuration indices (f64 array of C_LEN values).
export const C = {
  VERSION: 0, MAX_INSTRUMENTS: 1, WINDOW: 2, TIME_WINDOW_NS: 3, TIME_BUCKETS: 4, RESERVED_5: 5, WARMUP: 6,
  EWMA_ALPHA: 7, CHART_LAMBDA: 8, CUSUM_K: 9, PH_DELTA: 10, PH_ALPHA: 11, VOL_FAST_NS: 12, VOL_SLOW_NS: 13,
  REGIME_VOL_EXP: 14, REGIME_LIQ_EXP: 15, REGIME_MIN: 16, REGIME_MAX: 17, TARGET_PER_HOUR: 18, TAIL_P: 19,
  TAIL_MEMORY: 20, QUANTILE_STEP: 21, CALIB_WARMUP: 22, RATE_EPOCH_NS: 23, RATE_MEMORY_NS: 24, HYSTERESIS: 25,
  COOLDOWN_NS: 26, MIN_PERSISTENCE: 27, THRESHOLD_FLOOR: 28, AUTO_REGISTER: 29, SCORE_CAP: 30, RATE_GAIN: 31,
  FEATURE_BASE: 32, CHANNEL_BASE: 80,
} as const;

// Alert record offsets.
export const AL = {
  TS: 0, SEQ: 8, INSTRUMENT: 16, FEATURE: 20, DETECTOR: 21, SEVERITY: 22, REGIME: 23, VALUE: 24, EXPECTED: 32,
  SCORE: 40, THRESHOLD: 48, REGIME_FACTOR: 56, MODE: 60,
} as const;

// feature_stat / channel_stat / instrument_stat selectors.
export const FEATURE_STATS = [
  'count', 'mean', 'variance', 'min', 'max', 'median', 'mad', 'ewmaMean', 'ewmaVariance', 'observations', 'last',
  'ratePerHour',
] as const;
export const CHANNEL_STATS = ['score', 'threshold', 'alerts', 'exceedances', 'calibratorScores', 'baseQuantile', 'inEpisode', 'instrumentThreshold'] as const;
export const INSTRUMENT_STATS = [
  'volRatio', 'liquidityRatio', 'regimeFactor', 'regime', 'events', 'lastTsNs',
  'windowTrades', 'windowVolume', 'windowSignedVolume', 'windowQuotes', 'windowRealisedVolBps',
] as const;

export const ERRORS: Record<number, string> = {
  [-1]: 'configuration version does not match the module ABI',
  [-3]: 'not an arena of this ABI version (bad magic, version or size)',
  [-4]: 'instrument table is full (raise maxInstruments)',
  [-5]: 'bad argument',
  [-6]: 'not found',
};

/** The exports of the atc module (docs/abi.md). */
export interface AtcExports {
  abi_version(): number;
  heap_base(): number;
  config_len(): number;
  max_alerts_per_event(): number;
  alert_bytes(): number;
  batch_bytes(capacity: number): number;
  arena_bytes(config: number): number;
  validate_config(config: number): number;
  init(arena: number, config: number): number;
  restore_check(arena: number, bytes: number): number;
  arena_total(arena: number): number;
  config_ptr(arena: number): number;
  slot_bytes(arena: number): number;
  register(arena: number, id: number): number;
  slot_of(arena: number, id: number): number;
  instrument_count(arena: number): number;
  instrument_id(arena: number, slot: number): number;
  ingest(arena: number, batch: number, capacity: number, start: number, end: number, alerts: number, alertCapacity: number): number;
  consumed(arena: number): number;
  counter(arena: number, which: number): number;
  set_channel(arena: number, feature: number, detector: number, mode: number, threshold: number): number;
  set_instrument_threshold(arena: number, id: number, feature: number, detector: number, threshold: number): number;
  feature_stat(arena: number, id: number, feature: number, stat: number): number;
  feature_quantile(arena: number, id: number, feature: number, q: number): number;
  channel_stat(arena: number, id: number, feature: number, detector: number, stat: number): number;
  instrument_stat(arena: number, id: number, stat: number): number;
  window_bytes(w: number, order: number): number;
  window_init(p: number, w: number, order: number): void;
  window_push(p: number, x: number): void;
  window_push_many(p: number, xs: number, n: number): void;
  window_mean(p: number): number;
  window_var(p: number): number;
}
