// The configuration array (f64[C_LEN], indices in src/abi.ts) read into named fields for the reference twin.
// Integer-valued nanosecond settings become bigint the way the AssemblyScript converts them (<i64>x truncates).
import { ABI_VERSION, C, C_LEN, COMBINE_MAX_MEMBERS, N_DETECTORS, N_FEATURES, channelModeIndex, channelThresholdIndex, featureEnabledIndex, featureMaskIndex, featureMinScaleIndex } from '../abi.js';

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

/** Half-Space Trees channel (configuration section 280..295); null when disabled. */
export interface HstParams {
  /** Bit f: feature f is a coordinate of the vector (in feature order). */
  mask: number;
  trees: number;
  height: number;
  window: number;
  sizeLimit: number;
  padding: number;
  seed: number;
  scoreKind: 0 | 1;
  scaler: 0 | 1;
  channel: ChannelParams;
}

/** One-class SVM channel (configuration section 296..311); null when disabled. */
export interface OcsvmParams {
  mask: number;
  components: number;
  nu: number;
  /** The RBF width the model is drawn with (the configuration's 0 resolved to 1 / dims). */
  gamma: number;
  window: number;
  warmup: number;
  seed: number;
  scaler: 0 | 1;
  channel: ChannelParams;
}

/** RLS fair-value channel (configuration section 312..327); null when disabled. Series ids as RS_* in src/abi.ts. */
export interface RlsChannelParams {
  priceTarget: number;
  priceX: number;
  optionTarget: number;
  optionX: number;
  lambda: number;
  priceDelta: number;
  optionDelta: number;
  warmup: number;
  priceMinScale: number;
  optionMinScale: number;
  clip: number;
  maxStaleNs: number;
  channel: ChannelParams;
}

/** The combination (configuration section 328..343); null when off. */
export interface CombineParams {
  /** 1 k of n, 2 combined score. */
  kind: 1 | 2;
  k: number;
  /** Eight slots of channel indices, -1 = none. */
  members: number[];
  windowNs: bigint;
  exclusive: boolean;
  cap: number;
  channel: ChannelParams;
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
  /** Step of the alert-rate correction (log threshold per alert). */
  rateGain: number;
  noveltyRefractory: number;
  noveltyPhases: number;
  noveltyPhaseWarmupNs: number;
  features: FeatureParams[];
  hst: HstParams | null;
  ocsvm: OcsvmParams | null;
  rls: RlsChannelParams | null;
  combine: CombineParams | null;
  /** channels[f][d] */
  channels: ChannelParams[][];
}

const i64 = (x: number): bigint => BigInt(Math.trunc(x));

/** Named view of a configuration array. Throws on a wrong length or version; range checks are the module's job. */
export function readParams(cfg: Float64Array): RefParams {
  if (cfg.length !== C_LEN) throw new RangeError(`configuration must hold ${C_LEN} values, got ${cfg.length}`);
  if (cfg[C.VERSION] !== ABI_VERSION) throw new RangeError(`configuration version ${cfg[C.VERSION]} is not ${ABI_VERSION}`);
  const features: FeatureParams[] = [];
  const channels: ChannelParams[][] = [];
  for (let f = 0; f < N_FEATURES; f++) {
    features.push({
      enabled: cfg[featureEnabledIndex(f)] !== 0,
      mask: Math.trunc(cfg[featureMaskIndex(f)]),
      minScale: cfg[featureMinScaleIndex(f)],
    });
    const row: ChannelParams[] = [];
    for (let d = 0; d < N_DETECTORS; d++) {
      row.push({ mode: Math.trunc(cfg[channelModeIndex(f, d)]), threshold: cfg[channelThresholdIndex(f, d)] });
    }
    channels.push(row);
  }
  const timeBuckets = Math.trunc(cfg[C.TIME_BUCKETS]);
  return {
    maxInstruments: Math.trunc(cfg[C.MAX_INSTRUMENTS]),
    window: Math.trunc(cfg[C.WINDOW]),
    timeWindowNs: cfg[C.TIME_WINDOW_NS],
    timeBuckets,
    timeBucketNs: i64(cfg[C.TIME_WINDOW_NS]) / BigInt(timeBuckets),
    warmup: cfg[C.WARMUP],
    ewmaAlpha: cfg[C.EWMA_ALPHA],
    chartLambda: cfg[C.CHART_LAMBDA],
    cusumK: cfg[C.CUSUM_K],
    phDelta: cfg[C.PH_DELTA],
    phAlpha: cfg[C.PH_ALPHA],
    volFastNs: cfg[C.VOL_FAST_NS],
    volSlowNs: cfg[C.VOL_SLOW_NS],
    regimeVolExp: cfg[C.REGIME_VOL_EXP],
    regimeLiqExp: cfg[C.REGIME_LIQ_EXP],
    regimeMin: cfg[C.REGIME_MIN],
    regimeMax: cfg[C.REGIME_MAX],
    targetPerHour: cfg[C.TARGET_PER_HOUR],
    tailP: cfg[C.TAIL_P],
    tailMemory: cfg[C.TAIL_MEMORY],
    quantileStep: cfg[C.QUANTILE_STEP],
    calibWarmup: cfg[C.CALIB_WARMUP],
    rateEpochNs: i64(cfg[C.RATE_EPOCH_NS]),
    rateMemoryNs: cfg[C.RATE_MEMORY_NS],
    hysteresis: cfg[C.HYSTERESIS],
    cooldownNs: i64(cfg[C.COOLDOWN_NS]),
    minPersistence: cfg[C.MIN_PERSISTENCE],
    thresholdFloor: cfg[C.THRESHOLD_FLOOR],
    autoRegister: cfg[C.AUTO_REGISTER] !== 0,
    scoreCap: cfg[C.SCORE_CAP],
    rateGain: cfg[C.RATE_GAIN],
    noveltyRefractory: Math.trunc(cfg[C.NOVELTY_REFRACTORY]),
    noveltyPhases: Math.trunc(cfg[C.NOVELTY_PHASES]),
    noveltyPhaseWarmupNs: cfg[C.NOVELTY_PHASE_WARMUP_NS],
    features,
    hst: cfg[C.HST_ENABLED] === 0 ? null : {
      mask: Math.trunc(cfg[C.HST_FEATURES]),
      trees: Math.trunc(cfg[C.HST_TREES]),
      height: Math.trunc(cfg[C.HST_HEIGHT]),
      window: Math.trunc(cfg[C.HST_WINDOW]),
      sizeLimit: cfg[C.HST_SIZE_LIMIT],
      padding: cfg[C.HST_PADDING],
      seed: cfg[C.HST_SEED] >>> 0,
      scoreKind: cfg[C.HST_SCORE_KIND] === 0 ? 0 : 1,
      scaler: cfg[C.HST_SCALER] === 0 ? 0 : 1,
      channel: { mode: Math.trunc(cfg[C.HST_MODE]), threshold: cfg[C.HST_THRESHOLD] },
    },
    ocsvm: cfg[C.OCSVM_ENABLED] === 0 ? null : {
      mask: Math.trunc(cfg[C.OCSVM_FEATURES]),
      components: Math.trunc(cfg[C.OCSVM_COMPONENTS]),
      nu: cfg[C.OCSVM_NU],
      gamma: cfg[C.OCSVM_GAMMA] > 0 ? cfg[C.OCSVM_GAMMA] : 1 / popcount(Math.trunc(cfg[C.OCSVM_FEATURES])),
      window: Math.trunc(cfg[C.OCSVM_WINDOW]),
      warmup: Math.trunc(cfg[C.OCSVM_WARMUP]),
      seed: cfg[C.OCSVM_SEED] >>> 0,
      scaler: cfg[C.OCSVM_SCALER] === 0 ? 0 : 1,
      channel: { mode: Math.trunc(cfg[C.OCSVM_MODE]), threshold: cfg[C.OCSVM_THRESHOLD] },
    },
    rls: cfg[C.RLS_ENABLED] === 0 ? null : {
      priceTarget: Math.trunc(cfg[C.RLS_PRICE_TARGET]),
      priceX: Math.trunc(cfg[C.RLS_PRICE_X]),
      optionTarget: Math.trunc(cfg[C.RLS_OPTION_TARGET]),
      optionX: Math.trunc(cfg[C.RLS_OPTION_X]),
      lambda: cfg[C.RLS_LAMBDA],
      priceDelta: cfg[C.RLS_PRICE_DELTA],
      optionDelta: cfg[C.RLS_OPTION_DELTA],
      warmup: Math.trunc(cfg[C.RLS_WARMUP]),
      priceMinScale: cfg[C.RLS_PRICE_MIN_SCALE],
      optionMinScale: cfg[C.RLS_OPTION_MIN_SCALE],
      clip: cfg[C.RLS_CLIP],
      maxStaleNs: cfg[C.RLS_MAX_STALE_NS],
      channel: { mode: Math.trunc(cfg[C.RLS_MODE]), threshold: cfg[C.RLS_THRESHOLD] },
    },
    combine: cfg[C.COMBINE_KIND] === 0 ? null : {
      kind: cfg[C.COMBINE_KIND] === 1 ? 1 : 2,
      k: Math.trunc(cfg[C.COMBINE_K]),
      members: Array.from({ length: COMBINE_MAX_MEMBERS }, (_, m) => cfg[C.COMBINE_MEMBERS + m]),
      windowNs: i64(cfg[C.COMBINE_WINDOW_NS]),
      exclusive: cfg[C.COMBINE_EXCLUSIVE] !== 0,
      cap: cfg[C.COMBINE_CAP],
      channel: { mode: Math.trunc(cfg[C.COMBINE_MODE]), threshold: cfg[C.COMBINE_THRESHOLD] },
    },
    channels,
  };
}

export function popcount(mask: number): number {
  let n = 0;
  for (let m = mask >>> 0; m !== 0; m &= m - 1) n++;
  return n;
}
