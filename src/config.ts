// The engine configuration: a JSON document users write, validated field by field, encoded into the f64 array
// the WASM module reads (docs/configuration.md documents every option; docs/abi.md the encoding).
import {
  ABI_VERSION, ALERT_DETECTORS, ALERT_FEATURES, C, C_LEN, COMBINE_MAX_MEMBERS, DETECTORS, FEATURES, LEARNED, MODES, N_TABLE_CHANNELS, SERIES,
  channelIds, channelIndex, channelModeIndexOf, channelName,
  type DetectorName, type FeatureName, type ModeName, type SeriesName,
} from './abi.js';

export class ConfigError extends Error {
  readonly field: string;
  readonly reason: string;
  constructor(field: string, reason: string) {
    super(`config.${field}: ${reason}`);
    this.name = 'ConfigError';
    this.field = field;
    this.reason = reason;
  }
}

export interface FeatureConfig {
  enabled: boolean;
  detectors: DetectorName[];
  /** Floor on the scale (standard deviation, MAD) a detector divides by, in the feature's units. */
  minScale: number;
}

/** Half-Space Trees over the instrument's latest values of a few features (docs/configuration.md, "learned"). */
export interface HstConfig {
  enabled: boolean;
  /** The features of the vector, each enabled; keep it small (a few features whose combination matters). */
  features: FeatureName[];
  trees: number;
  height: number;
  /** Points per reference window (the masses of the last complete window score the next points). */
  window: number;
  /** A walk stops after the first node whose reference mass is below sizeLimit x window. */
  sizeLimit: number;
  /** Split points are drawn in each node's box less `padding` of its width at each end. */
  padding: number;
  /** u32: the trees are grown from it (same seed, same trees, same scores). */
  seed: number;
  /** 'river': River's sum over the path of mass x 2^depth; 'mass': the paper's, the terminal node's only. */
  score: 'river' | 'mass';
  /** 'window': min/max of the last complete window and the current one (forgets); 'alltime': River's, never forgets. */
  scaler: 'window' | 'alltime';
}

/** One-class SVM over the instrument's latest values of a few features (docs/configuration.md, "learned.ocsvm"). */
export interface OcsvmConfig {
  enabled: boolean;
  /** The features of the vector, each enabled: keep it small (2-3 jointly related features). */
  features: FeatureName[];
  /** Random Fourier features (the RBF kernel's approximation). */
  components: number;
  /** Expected fraction of margin violations. */
  nu: number;
  /** RBF width on standardised features; 0 = 1 / the number of features. */
  gamma: number;
  /** Forgetting horizon in steps (learning rate floor 1/window; the scaler's horizon). */
  window: number;
  /** Steps scored 0 at the start. */
  warmup: number;
  seed: number;
  /** 'ewma': EWMA standardiser with winsorised updates; 'window': min/max of the last two windows. */
  scaler: 'ewma' | 'window';
}

/** One regression of the RLS channel: the series it predicts, its regressors, and their units' settings. */
export interface RlsModelConfig {
  target: SeriesName;
  regressors: SeriesName[];
  /** P = delta I at the start (large: a diffuse start for moves of the regressors' units). */
  delta: number;
  /** Floor of the predictive standard deviation, in the target's units (bps of the anchor for a price). */
  minScale: number;
}

/** RLS "price away from fair value" (docs/configuration.md, "learned.rls"). */
export interface RlsConfig {
  enabled: boolean;
  /** Instruments without option events. */
  price: RlsModelConfig;
  /** Instruments with option events. */
  option: RlsModelConfig;
  lambda: number;
  warmup: number;
  /** Residual clip (in sigma) for learning; Infinity: none (JS configurations). */
  clip: number;
  /** The target's last value must be at most this old when a regressor moves. */
  maxStaleMs: number;
}

/** The combination of channels (docs/configuration.md, "learned.combine"). */
export interface CombineConfig {
  mode: 'off' | 'kOfN' | 'score';
  k: number;
  /** Channel names ("spread.zscore", "vector.hst", "fairValue.rls"), enabled ones, up to 8. */
  members: string[];
  windowMs: number;
  /** The members' own alerts are not emitted, only the combination's. */
  exclusive: boolean;
  /** Combined score: a member counts min(cap, score / threshold). */
  cap: number;
}

export interface LearnedConfig {
  hst: HstConfig;
  ocsvm: OcsvmConfig;
  rls: RlsConfig;
  combine: CombineConfig;
}

/** The keys of `learned` (LEARNED in src/abi.ts lists the channels: hst, ocsvm, rls, combined). */
export const LEARNED_AVAILABLE = ['hst', 'ocsvm', 'rls', 'combine'] as const;

export interface ThresholdConfig {
  mode: ModeName;
  /** The static threshold; the base of the regime mode; the fallback of target (warm-up) and fixed (unset). */
  threshold: number;
}

export interface Config {
  maxInstruments: number;
  autoRegister: boolean;
  window: number;
  timeWindowMs: number;
  timeBuckets: number;
  warmup: number;
  detectors: { ewmaAlpha: number; chartLambda: number; cusumK: number; phDelta: number; phAlpha: number };
  /** The novelty detector: observations it stays silent after a score; time-of-day phases (0 = none); the history
   * a feature needs before its value is judged against the same phase of earlier days. */
  novelty: { refractory: number; phases: number; phaseWarmupMs: number };
  regime: { volFastMs: number; volSlowMs: number; volExponent: number; liquidityExponent: number; min: number; max: number };
  calibration: {
    targetPerHour: number; tailProbability: number; tailMemory: number; quantileStep: number; warmup: number;
    rateEpochMs: number; rateMemoryMs: number; rateGain: number;
  };
  suppression: { hysteresis: number; cooldownMs: number; minPersistence: number };
  thresholdFloor: number;
  scoreCap: number;
  features: Record<FeatureName, FeatureConfig>;
  /** Instrument-level detectors over several features (ABI 3): Half-Space Trees so far. */
  learned: LearnedConfig;
  /**
   * Keys: "default", a detector ("zscore", "hst"), a feature ("spread", "vector") or both ("spread.zscore",
   * "vector.hst"); the most specific wins.
   */
  thresholds: Record<string, ThresholdConfig>;
  /**
   * Per-instrument thresholds (an offline calibration, `atc calibrate`): instrument name -> selector (as in
   * `thresholds`) -> threshold, or null for none. Each replaces its channel's configured base for that instrument in
   * every mode (docs/configuration.md, "Per-instrument thresholds"). The engine knows ids, not names: the host
   * applies them (src/instrument-thresholds.ts).
   */
  instruments: InstrumentThresholds;
}

/** instrument name -> selector -> threshold (null: none, the channel's configured base applies). */
export type InstrumentThresholds = Record<string, Record<string, number | null>>;

export type ConfigInput = DeepPartial<Config>;
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

const feature = (detectors: DetectorName[], minScale: number, enabled = true): FeatureConfig => ({ enabled, detectors, minScale });

/** Defaults for crypto perpetuals and options; see docs/configuration.md for why each is what it is. */
export function defaultConfig(): Config {
  return {
    maxInstruments: 64,
    autoRegister: false,
    window: 128,
    timeWindowMs: 60_000,
    timeBuckets: 60,
    warmup: 64,
    detectors: { ewmaAlpha: 0.02, chartLambda: 0.2, cusumK: 0.5, phDelta: 0.5, phAlpha: 0.99 },
    novelty: { refractory: 20, phases: 12, phaseWarmupMs: 8 * 86_400_000 },
    regime: { volFastMs: 30_000, volSlowMs: 1_800_000, volExponent: 0.5, liquidityExponent: 0.25, min: 0.5, max: 4 },
    calibration: {
      targetPerHour: 0.5, tailProbability: 0.02, tailMemory: 200, quantileStep: 0.05, warmup: 500,
      rateEpochMs: 60_000, rateMemoryMs: 3_600_000, rateGain: 0.05,
    },
    suppression: { hysteresis: 0.8, cooldownMs: 30_000, minPersistence: 1 },
    thresholdFloor: 3,
    scoreCap: 1e6,
    instruments: {},
    features: {
      return: feature(['zscore'], 0.5),
      rvol: feature(['cusum'], 0.5),
      intensity: feature(['cusum'], 0.5),
      volume: feature(['robust'], 0.5),
      flow: feature(['cusum'], 0.05),
      spread: feature(['zscore'], 0.1),
      midJump: feature(['zscore'], 0.5),
      imbalance: feature(['cusum'], 0.05),
      depth: feature(['zscore'], 5),
      depthImbalance: feature(['zscore'], 0.05),
      quoteRate: feature(['ewma'], 0.5),
      basis: feature(['zscore', 'cusum'], 0.1),
      funding: feature(['zscore'], 1e-6),
      ivChange: feature(['zscore', 'robust'], 0.001),
      // Generic series (the NAB corpus, any metric): the novelty detector alone scores best there
      // (docs/eval.md, "NAB"); the change feature only adds false alarms, so it is off unless asked for.
      value: feature(['novelty'], 1e-9),
      valueChange: feature(['zscore'], 1e-9, false),
    },
    learned: {
      // Off by default (docs/configuration.md, "learned.hst", has the measurements): on the normal captures, at a
      // threshold that keeps them quiet it found none of the injected anomalies (npm run eval:inject), and it costs
      // 20.8 KiB per instrument. When enabled: River's defaults (10 trees of height 8, window 250, size limit 0.1)
      // over a small vector of bucket features (one step per closed bucket: a per-event feature such as spread
      // would make it step on every quote), with the forgetting scaler.
      hst: {
        enabled: false, features: ['volume', 'flow', 'imbalance', 'depthImbalance'], trees: 10, height: 8, window: 250,
        sizeLimit: 0.1, padding: 0.15, seed: 42, score: 'river', scaler: 'window',
      },
      // Off by default: its value on market data is not shown yet (docs/configuration.md). When enabled: the kernel's
      // defaults (docs/learned-kernels.md, "One-class SVM") over three jointly related bucket features.
      ocsvm: {
        enabled: false, features: ['flow', 'imbalance', 'depthImbalance'], components: 32, nu: 0.05, gamma: 0, window: 2000,
        warmup: 500, seed: 42, scaler: 'ewma',
      },
      // On: it steps only where the series exist (a perpetual's marks with an index, an option's neighbour IV).
      rls: {
        enabled: true,
        price: { target: 'mid', regressors: ['index'], delta: 1e4, minScale: 0.01 },
        option: { target: 'markIv', regressors: ['neighbourIv'], delta: 1e8, minScale: 1e-4 },
        lambda: 0.995, warmup: 400, clip: 4, maxStaleMs: 5000,
      },
      combine: { mode: 'off', k: 2, members: [], windowMs: 10_000, exclusive: false, cap: 2 },
    },
    thresholds: {
      default: { mode: 'target', threshold: 8 },
      cusum: { mode: 'target', threshold: 20 },
      pageHinkley: { mode: 'target', threshold: 20 },
      // In basis points of the range seen so far, a scale-free unit: 100 is a value 1% of the range outside it.
      novelty: { mode: 'static', threshold: 100 },
      // Bits of reference mass missing, -log2(1 - s) of the HST score s: at most log2(2^(height+1) - 1), 9.0 at height
      // 8 with River's score. The highest normal score measured on the captures was 7.6 (docs/configuration.md).
      hst: { mode: 'static', threshold: 8 },
      // Margin violations in units of the typical one: normal points 1.0-1.5 at p99, 3-7 at most (kernel tests).
      ocsvm: { mode: 'static', threshold: 10 },
      // A standardised residual: |N(0, 1)| has p99 2.6; the kernel tests' normal maxima were 3.3-3.9 over 4,000 points.
      rls: { mode: 'static', threshold: 6 },
      // The combined score (mean of capped score / threshold): 1 = the members at their thresholds on average. In the
      // k-of-n mode the threshold is k, whatever this says.
      combined: { mode: 'static', threshold: 1 },
    },
  };
}

// ---- Validation ----------------------------------------------------------------------------------------------
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkKeys(value: Obj, known: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new ConfigError(path ? `${path}.${key}` : key, `unknown option (known: ${known.join(', ')})`);
  }
}

/** A number in [lo, hi] (or (lo, hi]), else a ConfigError naming `path`. Shared with the sidecar's options. */
export function num(v: unknown, path: string, lo: number, hi: number, opts: { integer?: boolean; openLo?: boolean } = {}): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new ConfigError(path, `must be a number, got ${JSON.stringify(v)}`);
  if (opts.integer && !Number.isInteger(v)) throw new ConfigError(path, `must be an integer, got ${v}`);
  if (opts.openLo ? !(v > lo) : !(v >= lo)) throw new ConfigError(path, `must be ${opts.openLo ? '>' : '>='} ${lo}, got ${v}`);
  if (!(v <= hi)) throw new ConfigError(path, `must be <= ${hi}, got ${v}`);
  return v;
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(path, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function section<T extends Obj>(input: unknown, base: T, path: string): T {
  if (input === undefined) return base;
  if (!isObj(input)) throw new ConfigError(path, 'must be an object');
  checkKeys(input, Object.keys(base), path);
  return { ...base, ...input } as T;
}

const MAX_NS = 9.2e18;
const ms = (v: unknown, path: string, lo = 0) => num(v, path, lo, MAX_NS / 1e6, { openLo: true });

/** Merge user input over the defaults and validate every field; throws ConfigError naming the first bad one. */
export function resolveConfig(input: unknown = {}): Config {
  if (!isObj(input)) throw new ConfigError('(root)', 'must be a JSON object');
  const d = defaultConfig();
  checkKeys(input, Object.keys(d), '');
  const c: Config = { ...d, ...(input as Partial<Config>) } as Config;
  c.detectors = section(input.detectors, d.detectors, 'detectors');
  c.regime = section(input.regime, d.regime, 'regime');
  c.calibration = section(input.calibration, d.calibration, 'calibration');
  c.suppression = section(input.suppression, d.suppression, 'suppression');
  c.novelty = section(input.novelty, d.novelty, 'novelty');

  num(c.maxInstruments, 'maxInstruments', 1, 1_048_576, { integer: true });
  bool(c.autoRegister, 'autoRegister');
  num(c.window, 'window', 1, 65_536, { integer: true });
  ms(c.timeWindowMs, 'timeWindowMs');
  num(c.timeBuckets, 'timeBuckets', 1, 4096, { integer: true });
  if (!Number.isInteger(c.timeWindowMs * 1e6 / c.timeBuckets)) {
    // Not an error the module would catch, but a window that is not a whole number of buckets surprises people.
    throw new ConfigError('timeBuckets', `must divide timeWindowMs (${c.timeWindowMs} ms) into whole nanoseconds`);
  }
  num(c.warmup, 'warmup', 1, c.window, { integer: true });
  num(c.detectors.ewmaAlpha, 'detectors.ewmaAlpha', 0, 1, { openLo: true });
  num(c.detectors.chartLambda, 'detectors.chartLambda', 0, 1, { openLo: true });
  num(c.detectors.cusumK, 'detectors.cusumK', 0, 1e6);
  num(c.detectors.phDelta, 'detectors.phDelta', 0, 1e6);
  num(c.detectors.phAlpha, 'detectors.phAlpha', 0, 1, { openLo: true });
  ms(c.regime.volFastMs, 'regime.volFastMs');
  ms(c.regime.volSlowMs, 'regime.volSlowMs');
  num(c.regime.volExponent, 'regime.volExponent', -10, 10);
  num(c.regime.liquidityExponent, 'regime.liquidityExponent', -10, 10);
  num(c.regime.min, 'regime.min', 0, 1, { openLo: true });
  num(c.regime.max, 'regime.max', 1, 1e6);
  num(c.calibration.targetPerHour, 'calibration.targetPerHour', 0, 3.6e12, { openLo: true });
  num(c.calibration.tailProbability, 'calibration.tailProbability', 0, 0.5, { openLo: true });
  if (c.calibration.tailProbability >= 0.5) throw new ConfigError('calibration.tailProbability', 'must be < 0.5');
  num(c.calibration.tailMemory, 'calibration.tailMemory', 1, 1e12);
  num(c.calibration.quantileStep, 'calibration.quantileStep', 0, 10, { openLo: true });
  num(c.calibration.warmup, 'calibration.warmup', 0, 1e15, { integer: true });
  ms(c.calibration.rateEpochMs, 'calibration.rateEpochMs');
  ms(c.calibration.rateMemoryMs, 'calibration.rateMemoryMs');
  num(c.calibration.rateGain, 'calibration.rateGain', 0, 1);
  num(c.suppression.hysteresis, 'suppression.hysteresis', 0, 1, { openLo: true });
  num(c.suppression.cooldownMs, 'suppression.cooldownMs', 0, MAX_NS / 1e6);
  num(c.suppression.minPersistence, 'suppression.minPersistence', 1, 1e6, { integer: true });
  num(c.novelty.refractory, 'novelty.refractory', 0, 1e9, { integer: true });
  num(c.novelty.phases, 'novelty.phases', 0, 24, { integer: true });
  num(c.novelty.phaseWarmupMs, 'novelty.phaseWarmupMs', 0, MAX_NS / 1e6);
  num(c.thresholdFloor, 'thresholdFloor', 0, 1e12);
  num(c.scoreCap, 'scoreCap', 1, 1e300);

  const features = {} as Record<FeatureName, FeatureConfig>;
  const fin = input.features === undefined ? {} : input.features;
  if (!isObj(fin)) throw new ConfigError('features', 'must be an object');
  checkKeys(fin, FEATURES, 'features');
  for (const name of FEATURES) {
    const path = `features.${name}`;
    const f = section(fin[name], d.features[name] as unknown as Obj, path) as unknown as FeatureConfig;
    bool(f.enabled, `${path}.enabled`);
    if (!Array.isArray(f.detectors)) throw new ConfigError(`${path}.detectors`, `must be a list of detector names (${DETECTORS.join(', ')})`);
    for (const det of f.detectors) {
      if (!DETECTORS.includes(det)) throw new ConfigError(`${path}.detectors`, `unknown detector ${JSON.stringify(det)} (known: ${DETECTORS.join(', ')})`);
    }
    num(f.minScale, `${path}.minScale`, 0, 1e300);
    features[name] = { enabled: f.enabled, detectors: [...new Set(f.detectors)], minScale: f.minScale };
  }
  c.features = features;
  c.learned = parseLearned(input.learned, d.learned, features);

  const tin = input.thresholds === undefined ? {} : input.thresholds;
  if (!isObj(tin)) throw new ConfigError('thresholds', 'must be an object');
  // A user's table with a "default" replaces the built-in one, so that their "default" is never outranked by a more
  // specific built-in key they did not write (the built-in `cusum: 20` would otherwise win over it). A table without
  // one is merged over the built-in table: adding `vector.combined` must not drop the built-in `cusum`, `novelty`
  // and learned entries.
  const thresholds: Record<string, ThresholdConfig> = 'default' in tin ? { default: d.thresholds.default } : { ...d.thresholds };
  for (const [key, value] of Object.entries(tin)) {
    thresholds[key] = parseThreshold(key, value, thresholds[key] ?? thresholds.default);
    if (c.learned.combine.mode === 'kOfN') refuseKOfNKey(key, `thresholds.${key}`);
  }
  c.thresholds = thresholds;
  c.instruments = parseInstruments(input.instruments);
  return c;
}

/** True when a thresholds key names the combination alone ("combined", "vector.combined"). */
export function namesCombinedOnly(key: string): boolean { return key === 'combined' || key === 'vector.combined'; }

/**
 * A k-of-n combination fires at k members, statically (learned.combine.k): a key naming the combination alone is
 * refused (broader keys, "default" and "vector", leave it alone).
 */
export function refuseKOfNKey(key: string, path: string): void {
  if (namesCombinedOnly(key)) throw new ConfigError(path, 'the k-of-n combination (learned.combine.mode "kOfN") fires at learned.combine.k members, statically: its threshold is not configurable (change learned.combine.k, or use mode "score")');
}

function parseLearned(input: unknown, d: LearnedConfig, features: Record<FeatureName, FeatureConfig>): LearnedConfig {
  if (input === undefined) input = {};
  if (!isObj(input)) throw new ConfigError('learned', 'must be an object like {"hst": {"enabled": true}}');
  checkKeys(input, LEARNED_AVAILABLE, 'learned');
  const hst = parseHst(input.hst, d.hst, features);
  const ocsvm = parseOcsvm(input.ocsvm, d.ocsvm, features);
  const rls = parseRls(input.rls, d.rls);
  const partial = { hst, ocsvm, rls };
  const combine = parseCombine(input.combine, d.combine, features, partial);
  return { hst, ocsvm, rls, combine };
}

/** A vector's feature list: known, enabled when the detector is, in feature id order (the mask is what is encoded). */
function vectorFeatures(list: unknown, enabled: boolean, path: string, features: Record<FeatureName, FeatureConfig>): FeatureName[] {
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(path, `must be a non-empty list of feature names (${FEATURES.join(', ')})`);
  for (const f of list) {
    if (!FEATURES.includes(f)) throw new ConfigError(path, `unknown feature ${JSON.stringify(f)} (known: ${FEATURES.join(', ')})`);
    if (enabled && !features[f as FeatureName].enabled) throw new ConfigError(path, `feature ${JSON.stringify(f)} is disabled (features.${f}.enabled): it is never observed`);
  }
  return FEATURES.filter((f) => list.includes(f));
}

function parseHst(input: unknown, d: HstConfig, features: Record<FeatureName, FeatureConfig>): HstConfig {
  const h = section(input, { ...d, features: [...d.features] } as unknown as Obj, 'learned.hst') as unknown as HstConfig;
  bool(h.enabled, 'learned.hst.enabled');
  const list = vectorFeatures(h.features, h.enabled, 'learned.hst.features', features);
  num(h.trees, 'learned.hst.trees', 1, 256, { integer: true });
  num(h.height, 'learned.hst.height', 1, 15, { integer: true });
  num(h.window, 'learned.hst.window', 1, 65_535, { integer: true });
  num(h.sizeLimit, 'learned.hst.sizeLimit', 0, 1);
  num(h.padding, 'learned.hst.padding', 0, 0.5);
  if (h.padding >= 0.5) throw new ConfigError('learned.hst.padding', `must be < 0.5, got ${h.padding}`);
  num(h.seed, 'learned.hst.seed', 0, 0xffffffff, { integer: true });
  if (h.score !== 'river' && h.score !== 'mass') throw new ConfigError('learned.hst.score', `must be "river" or "mass", got ${JSON.stringify(h.score)}`);
  if (h.scaler !== 'window' && h.scaler !== 'alltime') throw new ConfigError('learned.hst.scaler', `must be "window" or "alltime", got ${JSON.stringify(h.scaler)}`);
  if (h.enabled && h.window === 1 && h.scaler === 'window') {
    // The forgetting scaler's range would be the previous point alone: every point scales to 0.5, every score is 0.
    throw new ConfigError('learned.hst.window', 'must be >= 2 with the forgetting scaler ("window"): over a window of 1 every point scales to the same value');
  }
  return { ...h, features: list };
}

function parseOcsvm(input: unknown, d: OcsvmConfig, features: Record<FeatureName, FeatureConfig>): OcsvmConfig {
  const o = section(input, { ...d, features: [...d.features] } as unknown as Obj, 'learned.ocsvm') as unknown as OcsvmConfig;
  bool(o.enabled, 'learned.ocsvm.enabled');
  const list = vectorFeatures(o.features, o.enabled, 'learned.ocsvm.features', features);
  num(o.components, 'learned.ocsvm.components', 1, 1024, { integer: true });
  num(o.nu, 'learned.ocsvm.nu', 0, 1, { openLo: true });
  num(o.gamma, 'learned.ocsvm.gamma', 0, 1e6);
  num(o.window, 'learned.ocsvm.window', 1, 2 ** 24, { integer: true });
  num(o.warmup, 'learned.ocsvm.warmup', 0, 2 ** 31 - 1, { integer: true });
  num(o.seed, 'learned.ocsvm.seed', 0, 0xffffffff, { integer: true });
  if (o.scaler !== 'ewma' && o.scaler !== 'window') throw new ConfigError('learned.ocsvm.scaler', `must be "ewma" or "window", got ${JSON.stringify(o.scaler)}`);
  return { ...o, features: list };
}

function seriesName(v: unknown, path: string): SeriesName {
  if (!SERIES.includes(v as SeriesName)) throw new ConfigError(path, `unknown series ${JSON.stringify(v)} (known: ${SERIES.join(', ')})`);
  return v as SeriesName;
}

function parseRlsModel(input: unknown, d: RlsModelConfig, path: string): RlsModelConfig {
  const m = section(input, { ...d, regressors: [...d.regressors] } as unknown as Obj, path) as unknown as RlsModelConfig;
  seriesName(m.target, `${path}.target`);
  if (!Array.isArray(m.regressors) || m.regressors.length === 0 || m.regressors.length > 8) {
    throw new ConfigError(`${path}.regressors`, `must be a list of 1 to 8 series names (${SERIES.join(', ')})`);
  }
  for (const r of m.regressors) {
    seriesName(r, `${path}.regressors`);
    if (r === m.target) throw new ConfigError(`${path}.regressors`, `must not hold the target ${JSON.stringify(m.target)}`);
  }
  num(m.delta, `${path}.delta`, 1e-6, 1e12);
  num(m.minScale, `${path}.minScale`, 0, 1e15, { openLo: true });
  // Regressors in series order (the mask is what is encoded).
  return { ...m, regressors: SERIES.filter((x) => m.regressors.includes(x)) };
}

function parseRls(input: unknown, d: RlsConfig): RlsConfig {
  const r = section(input, d as unknown as Obj, 'learned.rls') as unknown as RlsConfig;
  bool(r.enabled, 'learned.rls.enabled');
  const price = parseRlsModel(r.price, d.price, 'learned.rls.price');
  const option = parseRlsModel(r.option, d.option, 'learned.rls.option');
  num(r.lambda, 'learned.rls.lambda', 0.9, 1);
  if (r.lambda >= 1) throw new ConfigError('learned.rls.lambda', `must be < 1, got ${r.lambda}`);
  num(r.warmup, 'learned.rls.warmup', 0, 2 ** 31 - 1, { integer: true });
  num(r.clip, 'learned.rls.clip', 1, Infinity);
  num(r.maxStaleMs, 'learned.rls.maxStaleMs', 0, MAX_NS / 1e6);
  if (!Number.isInteger(Math.round(r.maxStaleMs * 1e6))) throw new ConfigError('learned.rls.maxStaleMs', 'must be a whole number of nanoseconds');
  return { ...r, price, option };
}

/** Whether channel c is present in a configuration whose learned sections are `learned` (the combination aside). */
function channelPresent(c: number, features: Record<FeatureName, FeatureConfig>, learned: Pick<LearnedConfig, 'hst' | 'ocsvm' | 'rls'>): boolean {
  if (c < N_TABLE_CHANNELS) {
    const { feature, detector } = channelIds(c);
    const f = features[FEATURES[feature]];
    return f.enabled && f.detectors.includes(DETECTORS[detector]);
  }
  return [learned.hst.enabled, learned.ocsvm.enabled, learned.rls.enabled][c - N_TABLE_CHANNELS] === true;
}

function parseCombine(input: unknown, d: CombineConfig, features: Record<FeatureName, FeatureConfig>, learned: Pick<LearnedConfig, 'hst' | 'ocsvm' | 'rls'>): CombineConfig {
  const c = section(input, { ...d, members: [...d.members] } as unknown as Obj, 'learned.combine') as unknown as CombineConfig;
  if (c.mode !== 'off' && c.mode !== 'kOfN' && c.mode !== 'score') throw new ConfigError('learned.combine.mode', `must be "off", "kOfN" or "score", got ${JSON.stringify(c.mode)}`);
  if (!Array.isArray(c.members) || c.members.length > COMBINE_MAX_MEMBERS) {
    throw new ConfigError('learned.combine.members', `must be a list of up to ${COMBINE_MAX_MEMBERS} channel names like "spread.zscore", "vector.hst"`);
  }
  const seen = new Set<number>();
  for (const name of c.members) {
    const [f, det, extra] = typeof name === 'string' ? name.split('.') : [];
    const ch = extra === undefined ? channelIndex(ALERT_FEATURES.indexOf(f as never), ALERT_DETECTORS.indexOf(det as never)) : -1;
    if (ch < 0 || ch >= N_TABLE_CHANNELS + 3) throw new ConfigError('learned.combine.members', `${JSON.stringify(name)} names no channel that can be a member ("feature.detector": "spread.zscore", "vector.hst", "vector.ocsvm", "fairValue.rls")`);
    if (!channelPresent(ch, features, learned)) throw new ConfigError('learned.combine.members', `${JSON.stringify(name)} is not enabled (its feature, its detector in the feature's list, or its learned detector)`);
    if (seen.has(ch)) throw new ConfigError('learned.combine.members', `${JSON.stringify(name)} is listed twice`);
    seen.add(ch);
  }
  if (c.mode !== 'off' && c.members.length === 0) throw new ConfigError('learned.combine.members', 'must name at least one channel');
  if (c.mode === 'score' && isObj(input) && input.k !== undefined) {
    throw new ConfigError('learned.combine.k', 'applies to mode "kOfN" only; mode "score" fires on the combined score\'s threshold (thresholds "combined")');
  }
  if (c.mode !== 'score') num(c.k, 'learned.combine.k', 1, Math.max(1, c.mode === 'off' ? COMBINE_MAX_MEMBERS : c.members.length), { integer: true });
  num(c.windowMs, 'learned.combine.windowMs', 0, MAX_NS / 1e6);
  bool(c.exclusive, 'learned.combine.exclusive');
  num(c.cap, 'learned.combine.cap', 1, 1e6);
  return c;
}

/** The channel indices of the combination's members. */
export function combineMembers(c: CombineConfig): number[] {
  return c.members.map((name) => {
    const [f, det] = name.split('.');
    return channelIndex(ALERT_FEATURES.indexOf(f as never), ALERT_DETECTORS.indexOf(det as never));
  });
}

/** Whether learned channel c (96 + k) is enabled in a resolved configuration. */
export function learnedEnabled(config: Config, c: number): boolean {
  const l = config.learned;
  return [l.hst.enabled, l.ocsvm.enabled, l.rls.enabled, l.combine.mode !== 'off'][c - N_TABLE_CHANNELS] === true;
}

/** Validate one `thresholds` entry: its key names a channel selector, its value a mode and/or a threshold. */
export function parseThreshold(key: string, value: unknown, base: ThresholdConfig = { mode: 'static', threshold: 8 }): ThresholdConfig {
  const path = `thresholds.${key}`;
  parseSelector(key, path);
  if (!isObj(value)) throw new ConfigError(path, 'must be an object like {"mode": "target", "threshold": 8}');
  checkKeys(value, ['mode', 'threshold'], path);
  const mode = (value.mode ?? base.mode) as ModeName;
  if (!MODES.includes(mode)) throw new ConfigError(`${path}.mode`, `unknown mode ${JSON.stringify(value.mode)} (known: ${MODES.join(', ')})`);
  const threshold = value.threshold ?? base.threshold;
  if (typeof threshold !== 'number' || !(threshold > 0)) {
    throw new ConfigError(`${path}.threshold`, `must be a number > 0 (Infinity is allowed in JS configs), got ${JSON.stringify(threshold)}`);
  }
  return { mode, threshold };
}

/** The learned channels selectors can name: channel index, feature name and detector name. */
const LEARNED_SELECTABLE = LEARNED
  .map((l) => ({ c: N_TABLE_CHANNELS + l.k, feature: ALERT_FEATURES[l.feature] as string, detector: ALERT_DETECTORS[l.detector] as string }));
const LEARNED_FEATURES = [...new Set(LEARNED_SELECTABLE.map((l) => l.feature))];
const LEARNED_DETECTORS = LEARNED_SELECTABLE.map((l) => l.detector);
const tableChannels = (fs: readonly string[], ds: readonly string[]): number[] =>
  fs.flatMap((f) => ds.map((det) => FEATURES.indexOf(f as FeatureName) * DETECTORS.length + DETECTORS.indexOf(det as DetectorName)));

/** Every channel a `thresholds` table resolves: the 96 (feature, detector) channels and the selectable learned ones. */
export const THRESHOLD_CHANNELS: readonly number[] = [...tableChannels(FEATURES, DETECTORS), ...LEARNED_SELECTABLE.map((l) => l.c)];

/**
 * "default" | detector | feature | "feature.detector" -> which channels it covers (c = feature * 6 + detector, or
 * 96 + k for a learned channel: "hst", "vector" and "vector.hst" name channel 96). `features` and `detectors` list
 * the (feature, detector) table part only.
 */
export function parseSelector(key: string, path = `thresholds.${key}`): { features: FeatureName[]; detectors: DetectorName[]; channels: number[]; rank: number } {
  const sel = (features: FeatureName[], detectors: DetectorName[], learned: number[], rank: number) =>
    ({ features, detectors, channels: [...tableChannels(features, detectors), ...learned], rank });
  if (key === 'default') return sel([...FEATURES], [...DETECTORS], LEARNED_SELECTABLE.map((l) => l.c), 0);
  const knownFeatures = [...FEATURES, ...LEARNED_FEATURES].join(', ');
  const knownDetectors = [...DETECTORS, ...LEARNED_DETECTORS].join(', ');
  const [a, b, extra] = key.split('.');
  if (extra === undefined && b !== undefined) {
    const l = LEARNED_SELECTABLE.find((x) => x.feature === a && x.detector === b);
    if (l) return sel([], [], [l.c], 3);
    const af = FEATURES.includes(a as FeatureName), ld = LEARNED_DETECTORS.includes(b);
    if (!af && !LEARNED_FEATURES.includes(a)) throw new ConfigError(path, `unknown feature ${JSON.stringify(a)} (known: ${knownFeatures})`);
    if (!DETECTORS.includes(b as DetectorName) && !ld) throw new ConfigError(path, `unknown detector ${JSON.stringify(b)} (known: ${knownDetectors})`);
    if (!af || ld) {
      const pairs = LEARNED_SELECTABLE.map((x) => `${x.feature}.${x.detector}`).join(', ');
      throw new ConfigError(path, `${JSON.stringify(key)} names no channel: the learned detectors score the instrument as a whole (${pairs})`);
    }
    return sel([a as FeatureName], [b as DetectorName], [], 3);
  }
  if (b === undefined) {
    if (FEATURES.includes(a as FeatureName)) return sel([a as FeatureName], [...DETECTORS], [], 2);
    if (DETECTORS.includes(a as DetectorName)) return sel([...FEATURES], [a as DetectorName], [], 1);
    if (LEARNED_FEATURES.includes(a)) return sel([], [], LEARNED_SELECTABLE.filter((l) => l.feature === a).map((l) => l.c), 2);
    if (LEARNED_DETECTORS.includes(a)) return sel([], [], LEARNED_SELECTABLE.filter((l) => l.detector === a).map((l) => l.c), 1);
  }
  throw new ConfigError(path, 'key must be "default", a detector, a feature, or "feature.detector"');
}

/** The threshold setting each channel gets (indexed by channel: 0..95, then 96 + k): the most specific key wins. */
export function resolveThresholds(thresholds: Record<string, ThresholdConfig>): ThresholdConfig[] {
  const out: ThresholdConfig[] = [];
  const rank: number[] = [];
  for (const [key, t] of Object.entries(thresholds)) {
    const sel = parseSelector(key);
    for (const c of sel.channels) {
      if (rank[c] === undefined || sel.rank >= rank[c]) { out[c] = t; rank[c] = sel.rank; }
    }
  }
  for (const c of THRESHOLD_CHANNELS) {
    const { feature, detector } = channelIds(c);
    if (!out[c]) throw new ConfigError('thresholds', `no threshold for ${ALERT_FEATURES[feature]}.${ALERT_DETECTORS[detector]} (add a "default")`);
  }
  return out;
}

/** Encode a resolved configuration into the module's f64 array (docs/abi.md, "Configuration"). */
export function encodeConfig(c: Config): Float64Array {
  const a = new Float64Array(C_LEN);
  const ns = (msValue: number) => Math.round(msValue * 1e6);
  a[C.VERSION] = ABI_VERSION;
  a[C.MAX_INSTRUMENTS] = c.maxInstruments;
  a[C.WINDOW] = c.window;
  a[C.TIME_WINDOW_NS] = ns(c.timeWindowMs);
  a[C.TIME_BUCKETS] = c.timeBuckets;
  a[C.WARMUP] = c.warmup;
  a[C.EWMA_ALPHA] = c.detectors.ewmaAlpha;
  a[C.CHART_LAMBDA] = c.detectors.chartLambda;
  a[C.CUSUM_K] = c.detectors.cusumK;
  a[C.PH_DELTA] = c.detectors.phDelta;
  a[C.PH_ALPHA] = c.detectors.phAlpha;
  a[C.VOL_FAST_NS] = ns(c.regime.volFastMs);
  a[C.VOL_SLOW_NS] = ns(c.regime.volSlowMs);
  a[C.REGIME_VOL_EXP] = c.regime.volExponent;
  a[C.REGIME_LIQ_EXP] = c.regime.liquidityExponent;
  a[C.REGIME_MIN] = c.regime.min;
  a[C.REGIME_MAX] = c.regime.max;
  a[C.TARGET_PER_HOUR] = c.calibration.targetPerHour;
  a[C.TAIL_P] = c.calibration.tailProbability;
  a[C.TAIL_MEMORY] = c.calibration.tailMemory;
  a[C.QUANTILE_STEP] = c.calibration.quantileStep;
  a[C.CALIB_WARMUP] = c.calibration.warmup;
  a[C.RATE_EPOCH_NS] = ns(c.calibration.rateEpochMs);
  a[C.RATE_MEMORY_NS] = ns(c.calibration.rateMemoryMs);
  a[C.HYSTERESIS] = c.suppression.hysteresis;
  a[C.COOLDOWN_NS] = ns(c.suppression.cooldownMs);
  a[C.MIN_PERSISTENCE] = c.suppression.minPersistence;
  a[C.THRESHOLD_FLOOR] = c.thresholdFloor;
  a[C.AUTO_REGISTER] = c.autoRegister ? 1 : 0;
  a[C.SCORE_CAP] = c.scoreCap;
  a[C.RATE_GAIN] = c.calibration.rateGain;
  a[C.NOVELTY_REFRACTORY] = c.novelty.refractory;
  a[C.NOVELTY_PHASES] = c.novelty.phases;
  a[C.NOVELTY_PHASE_WARMUP_NS] = ns(c.novelty.phaseWarmupMs);
  FEATURES.forEach((name, f) => {
    const fc = c.features[name];
    a[C.FEATURE_BASE + 3 * f] = fc.enabled ? 1 : 0;
    a[C.FEATURE_BASE + 3 * f + 1] = fc.detectors.reduce((m, det) => m | (1 << DETECTORS.indexOf(det)), 0);
    a[C.FEATURE_BASE + 3 * f + 2] = fc.minScale;
  });
  // A disabled learned section is all 0 (the module checks it).
  const h = c.learned.hst;
  if (h.enabled) {
    a[C.HST_ENABLED] = 1;
    a[C.HST_FEATURES] = h.features.reduce((m, f) => m | (1 << FEATURES.indexOf(f)), 0);
    a[C.HST_TREES] = h.trees;
    a[C.HST_HEIGHT] = h.height;
    a[C.HST_WINDOW] = h.window;
    a[C.HST_SIZE_LIMIT] = h.sizeLimit;
    a[C.HST_PADDING] = h.padding;
    a[C.HST_SEED] = h.seed;
    a[C.HST_SCORE_KIND] = h.score === 'river' ? 0 : 1;
    a[C.HST_SCALER] = h.scaler === 'alltime' ? 0 : 1;
  }
  const o = c.learned.ocsvm;
  if (o.enabled) {
    a[C.OCSVM_ENABLED] = 1;
    a[C.OCSVM_FEATURES] = o.features.reduce((m, f) => m | (1 << FEATURES.indexOf(f)), 0);
    a[C.OCSVM_COMPONENTS] = o.components;
    a[C.OCSVM_NU] = o.nu;
    a[C.OCSVM_GAMMA] = o.gamma;
    a[C.OCSVM_WINDOW] = o.window;
    a[C.OCSVM_WARMUP] = o.warmup;
    a[C.OCSVM_SEED] = o.seed;
    a[C.OCSVM_SCALER] = o.scaler === 'window' ? 0 : 1;
  }
  const r = c.learned.rls;
  if (r.enabled) {
    const mask = (xs: readonly SeriesName[]) => xs.reduce((m, x) => m | (1 << SERIES.indexOf(x)), 0);
    a[C.RLS_ENABLED] = 1;
    a[C.RLS_PRICE_TARGET] = SERIES.indexOf(r.price.target);
    a[C.RLS_PRICE_X] = mask(r.price.regressors);
    a[C.RLS_OPTION_TARGET] = SERIES.indexOf(r.option.target);
    a[C.RLS_OPTION_X] = mask(r.option.regressors);
    a[C.RLS_LAMBDA] = r.lambda;
    a[C.RLS_PRICE_DELTA] = r.price.delta;
    a[C.RLS_OPTION_DELTA] = r.option.delta;
    a[C.RLS_WARMUP] = r.warmup;
    a[C.RLS_PRICE_MIN_SCALE] = r.price.minScale;
    a[C.RLS_OPTION_MIN_SCALE] = r.option.minScale;
    a[C.RLS_CLIP] = r.clip;
    a[C.RLS_MAX_STALE_NS] = ns(r.maxStaleMs);
  }
  const cb = c.learned.combine;
  if (cb.mode !== 'off') {
    a[C.COMBINE_KIND] = cb.mode === 'kOfN' ? 1 : 2;
    a[C.COMBINE_K] = cb.k;
    const members = combineMembers(cb);
    for (let m = 0; m < COMBINE_MAX_MEMBERS; m++) a[C.COMBINE_MEMBERS + m] = m < members.length ? members[m] : -1;
    a[C.COMBINE_WINDOW_NS] = ns(cb.windowMs);
    a[C.COMBINE_EXCLUSIVE] = cb.exclusive ? 1 : 0;
    a[C.COMBINE_CAP] = cb.cap;
  }
  resolveThresholds(c.thresholds).forEach((t, ch) => {
    if (ch >= N_TABLE_CHANNELS && a[C.LEARNED_BASE + C.LEARNED_SECTION * (ch - N_TABLE_CHANNELS)] === 0) return;
    a[channelModeIndexOf(ch)] = MODES.indexOf(t.mode);
    a[channelModeIndexOf(ch) + 1] = t.threshold;
  });
  // k of n fires at k members, statically.
  if (cb.mode === 'kOfN') { a[C.COMBINE_MODE] = 0; a[C.COMBINE_THRESHOLD] = cb.k; }
  return a;
}

// ---- Per-instrument thresholds -------------------------------------------------------------------------------
/** The path of an instrument's entry in errors: `instruments.BTCUSDT`, or `instruments["a.b"]` when the name has dots. */
export function instrumentPath(name: string, root = 'instruments'): string {
  return /^[A-Za-z0-9_\-/:]+$/.test(name) ? `${root}.${name}` : `${root}[${JSON.stringify(name)}]`;
}

/**
 * Validate an `instruments` section: an object of instrument names, each an object of channel selectors (as in
 * `thresholds`: "default", a detector, a feature, "feature.detector") and thresholds (> 0, or null for none).
 * Throws ConfigError naming the path, e.g. `config.instruments.BTCUSDT.retrun.zscore: unknown feature "retrun"`.
 */
export function parseInstruments(input: unknown, root = 'instruments'): InstrumentThresholds {
  if (input === undefined) return {};
  if (!isObj(input)) throw new ConfigError(root, 'must be an object of instrument names, like {"BTCUSDT": {"return.zscore": 5.2, "cusum": 30}}');
  const out: InstrumentThresholds = {};
  for (const [name, sel] of Object.entries(input)) {
    const path = instrumentPath(name, root);
    if (name.trim().length === 0) throw new ConfigError(path, 'an instrument name must not be empty');
    if (!isObj(sel)) throw new ConfigError(path, 'must be an object of channel selectors and thresholds, like {"return.zscore": 5.2, "cusum": 30}');
    const entry: Record<string, number | null> = {};
    for (const [key, v] of Object.entries(sel)) {
      parseSelector(key, `${path}.${key}`);
      if (v !== null && (typeof v !== 'number' || !(v > 0))) {
        throw new ConfigError(`${path}.${key}`, `must be a threshold > 0, or null for none, got ${JSON.stringify(v)}`);
      }
      entry[key] = v;
    }
    out[name] = entry;
  }
  return out;
}

/**
 * The per-channel values one instrument's selector map gives, most specific selector winning (as resolveThresholds):
 * (channel c = feature * N_DETECTORS + detector, or 96 + k for a learned channel, threshold) pairs, NaN where the map
 * says null (clear). Channels no selector covers are left out.
 */
export function resolveInstrumentChannels(selectors: Record<string, number | null>): number[] {
  const value: number[] = [];
  const rank: number[] = [];
  for (const [key, v] of Object.entries(selectors)) {
    const sel = parseSelector(key);
    for (const c of sel.channels) {
      if (rank[c] === undefined || sel.rank >= rank[c]) { value[c] = v === null ? NaN : v; rank[c] = sel.rank; }
    }
  }
  const out: number[] = [];
  value.forEach((v, c) => { out.push(c, v); });
  return out;
}
