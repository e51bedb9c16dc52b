// The configuration array (f64[C_LEN], indices in constants.ts) read into named fields for the reference twin.
// Integer-valued nanosecond settings become bigint the way the AssemblyScript converts them (<i64>x truncates).
import * as K from './constants.js';

export interface FeatureParams {
  enabled: boolean;
  /** Bit d set: detector d scores this feature. */
  mask: number;
  /** Lower bound of every scale (sd, MAD scale, EWMA sd) a detector divides by. */
  minScale: number;
}

export interface ChannelParams {
  mode: number;
  threshold: number;
}

export interface RefParams {
  maxInstruments: number;
  window: number;
  timeWindowNs: number;
  timeBuckets: number;
  /** timeWindowNs / timeBuckets, integer division. */
  timeBucketNs: bigint;
  warmup: number;
  ewmaAlpha: number;
  chartLambda: number;
  cusumK: number;
  phDelta: number;
  phAlpha: number;
  volFastNs: number;
  volSlowNs: number;
  regimeVolExp: number;
  regimeLiqExp: number;
  regimeMin: number;
  regimeMax: number;
  targetPerHour: number;
  tailP: number;
  tailMemory: number;
  quantileStep: number;
  calibWarmup: number;
  rateEpochNs: bigint;
  rateMemoryNs: number;
  hysteresis: number;
  cooldownNs: bigint;
  minPersistence: number;
  thresholdFloor: number;
  autoRegister: boolean;
  scoreCap: number;
  rateGain: number;
  features: FeatureParams[];
  /** channels[f][d] */
  channels: ChannelParams[][];
}

const i64 = (x: number): bigint => BigInt(Math.trunc(x));

/** Named view of a configuration array. Throws on a wrong length or version; range checks are the module's job. */
export function readParams(cfg: Float64Array): RefParams {
  if (cfg.length !== K.C_LEN) throw new RangeError(`configuration must hold ${K.C_LEN} values, got ${cfg.length}`);
  if (cfg[K.C_VERSION] !== K.ABI_VERSION) throw new RangeError(`configuration version ${cfg[K.C_VERSION]} is not ${K.ABI_VERSION}`);
  const features: FeatureParams[] = [];
  const channels: ChannelParams[][] = [];
  for (let f = 0; f < K.N_FEATURES; f++) {
    features.push({
      enabled: cfg[K.featureEnabledIndex(f)] !== 0,
      mask: Math.trunc(cfg[K.featureMaskIndex(f)]),
      minScale: cfg[K.featureMinScaleIndex(f)],
    });
    const row: ChannelParams[] = [];
    for (let d = 0; d < K.N_DETECTORS; d++) {
      row.push({ mode: Math.trunc(cfg[K.channelModeIndex(f, d)]), threshold: cfg[K.channelThresholdIndex(f, d)] });
    }
    channels.push(row);
  }
  const timeBuckets = Math.trunc(cfg[K.C_TIME_BUCKETS]);
  return {
    maxInstruments: Math.trunc(cfg[K.C_MAX_INSTRUMENTS]),
    window: Math.trunc(cfg[K.C_WINDOW]),
    timeWindowNs: cfg[K.C_TIME_WINDOW_NS],
    timeBuckets,
    timeBucketNs: i64(cfg[K.C_TIME_WINDOW_NS]) / BigInt(timeBuckets),
    warmup: cfg[K.C_WARMUP],
    ewmaAlpha: cfg[K.C_EWMA_ALPHA],
    chartLambda: cfg[K.C_CHART_LAMBDA],
    cusumK: cfg[K.C_CUSUM_K],
    phDelta: cfg[K.C_PH_DELTA],
    phAlpha: cfg[K.C_PH_ALPHA],
    volFastNs: cfg[K.C_VOL_FAST_NS],
    volSlowNs: cfg[K.C_VOL_SLOW_NS],
    regimeVolExp: cfg[K.C_REGIME_VOL_EXP],
    regimeLiqExp: cfg[K.C_REGIME_LIQ_EXP],
    regimeMin: cfg[K.C_REGIME_MIN],
    regimeMax: cfg[K.C_REGIME_MAX],
    targetPerHour: cfg[K.C_TARGET_PER_HOUR],
    tailP: cfg[K.C_TAIL_P],
    tailMemory: cfg[K.C_TAIL_MEMORY],
    quantileStep: cfg[K.C_QUANTILE_STEP],
    calibWarmup: cfg[K.C_CALIB_WARMUP],
    rateEpochNs: i64(cfg[K.C_RATE_EPOCH_NS]),
    rateMemoryNs: cfg[K.C_RATE_MEMORY_NS],
    hysteresis: cfg[K.C_HYSTERESIS],
    cooldownNs: i64(cfg[K.C_COOLDOWN_NS]),
    minPersistence: cfg[K.C_MIN_PERSISTENCE],
    thresholdFloor: cfg[K.C_THRESHOLD_FLOOR],
    autoRegister: cfg[K.C_AUTO_REGISTER] !== 0,
    scoreCap: cfg[K.C_SCORE_CAP],
    rateGain: cfg[K.C_RATE_GAIN],
    features,
    channels,
  };
}
