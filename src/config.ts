// The engine configuration: a JSON document users write, validated field by field, encoded into the f64 array
// the WASM module reads (docs/configuration.md documents every option; docs/abi.md the encoding).
import { ABI_VERSION, C, C_LEN, DETECTORS, FEATURES, MODES, type DetectorName, type FeatureName, type ModeName } from './abi.js';

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
  /** Keys: "default", a detector ("zscore"), a feature ("spread") or both ("spread.zscore"); the most specific wins. */
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
    thresholds: {
      default: { mode: 'target', threshold: 8 },
      cusum: { mode: 'target', threshold: 20 },
      pageHinkley: { mode: 'target', threshold: 20 },
      // In basis points of the range seen so far, a scale-free unit: 100 is a value 1% of the range outside it.
      novelty: { mode: 'static', threshold: 100 },
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

  const tin = input.thresholds === undefined ? {} : input.thresholds;
  if (!isObj(tin)) throw new ConfigError('thresholds', 'must be an object');
  // A user's table replaces the built-in one (only the built-in "default" stays, as the fallback), so that a
  // user's "default" is never outranked by a more specific built-in key they did not write.
  const given = Object.keys(tin).length > 0;
  const thresholds: Record<string, ThresholdConfig> = given ? { default: d.thresholds.default } : { ...d.thresholds };
  for (const [key, value] of Object.entries(tin)) {
    thresholds[key] = parseThreshold(key, value, thresholds[key] ?? thresholds.default);
  }
  c.thresholds = thresholds;
  c.instruments = parseInstruments(input.instruments);
  return c;
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

/** "default" | detector | feature | "feature.detector" -> which channels it covers. */
export function parseSelector(key: string, path = `thresholds.${key}`): { features: FeatureName[]; detectors: DetectorName[]; rank: number } {
  if (key === 'default') return { features: [...FEATURES], detectors: [...DETECTORS], rank: 0 };
  const [a, b, extra] = key.split('.');
  if (extra === undefined && b !== undefined) {
    if (!FEATURES.includes(a as FeatureName)) throw new ConfigError(path, `unknown feature ${JSON.stringify(a)} (known: ${FEATURES.join(', ')})`);
    if (!DETECTORS.includes(b as DetectorName)) throw new ConfigError(path, `unknown detector ${JSON.stringify(b)} (known: ${DETECTORS.join(', ')})`);
    return { features: [a as FeatureName], detectors: [b as DetectorName], rank: 3 };
  }
  if (b === undefined) {
    if (FEATURES.includes(a as FeatureName)) return { features: [a as FeatureName], detectors: [...DETECTORS], rank: 2 };
    if (DETECTORS.includes(a as DetectorName)) return { features: [...FEATURES], detectors: [a as DetectorName], rank: 1 };
  }
  throw new ConfigError(path, 'key must be "default", a detector, a feature, or "feature.detector"');
}

/** The threshold setting each (feature, detector) channel gets: the most specific key wins. */
export function resolveThresholds(thresholds: Record<string, ThresholdConfig>): ThresholdConfig[] {
  const out: ThresholdConfig[] = [];
  const rank: number[] = [];
  for (const [key, t] of Object.entries(thresholds)) {
    const sel = parseSelector(key);
    for (const f of sel.features) {
      for (const det of sel.detectors) {
        const c = FEATURES.indexOf(f) * DETECTORS.length + DETECTORS.indexOf(det);
        if (rank[c] === undefined || sel.rank >= rank[c]) { out[c] = t; rank[c] = sel.rank; }
      }
    }
  }
  for (let c = 0; c < FEATURES.length * DETECTORS.length; c++) {
    if (!out[c]) throw new ConfigError('thresholds', `no threshold for ${FEATURES[Math.floor(c / DETECTORS.length)]}.${DETECTORS[c % DETECTORS.length]} (add a "default")`);
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
  resolveThresholds(c.thresholds).forEach((t, ch) => {
    a[C.CHANNEL_BASE + 2 * ch] = MODES.indexOf(t.mode);
    a[C.CHANNEL_BASE + 2 * ch + 1] = t.threshold;
  });
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
 * (channel c = feature * N_DETECTORS + detector, threshold) pairs, NaN where the map says null (clear). Channels no
 * selector covers are left out.
 */
export function resolveInstrumentChannels(selectors: Record<string, number | null>): number[] {
  const value: number[] = [];
  const rank: number[] = [];
  for (const [key, v] of Object.entries(selectors)) {
    const sel = parseSelector(key);
    for (const f of sel.features) {
      for (const det of sel.detectors) {
        const c = FEATURES.indexOf(f) * DETECTORS.length + DETECTORS.indexOf(det);
        if (rank[c] === undefined || sel.rank >= rank[c]) { value[c] = v === null ? NaN : v; rank[c] = sel.rank; }
      }
    }
  }
  const out: number[] = [];
  value.forEach((v, c) => { out.push(c, v); });
  return out;
}
