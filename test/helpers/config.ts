// Raw configuration arrays (f64[C_LEN], docs/abi.md) for the tests that drive the module through its exports:
// every value set explicitly, so a test can name exactly what it changes.
import {
  ABI_VERSION, C, C_LEN, N_DETECTORS, N_FEATURES, channelModeIndex, channelThresholdIndex, featureEnabledIndex,
  featureMaskIndex, featureMinScaleIndex,
} from '../../src/abi.js';

/** Base thresholds by detector: z, robust, EWMA chart, CUSUM, Page-Hinkley, novelty (bps of the range). */
export const BASE_THRESHOLDS = [4, 4.5, 4, 5, 5, 50];

/**
 * Channel modes cycling static, regime, target, fixed over the channels, counted as f * 5 + d: the five detectors
 * older than the novelty detector keep the modes the tests were written for.
 */
export const cyclingModes = (f: number, d: number): number => (f * 5 + d) % 4;

/**
 * A configuration with every feature and detector on, windows of 64 values and 10 s in 10 buckets; `over` sets raw
 * indices (C.*, featureMaskIndex(f), ...) after the defaults, `mode` gives each channel's calibrator mode.
 */
export function engineConfig(over: Partial<Record<number, number>> = {}, mode: (f: number, d: number) => number = cyclingModes): Float64Array {
  const c = new Float64Array(C_LEN);
  c[C.VERSION] = ABI_VERSION;
  c[C.MAX_INSTRUMENTS] = 8;
  c[C.WINDOW] = 64;
  c[C.TIME_WINDOW_NS] = 10e9;
  c[C.TIME_BUCKETS] = 10;
  c[C.RESERVED_5] = 0;
  c[C.WARMUP] = 16;
  c[C.EWMA_ALPHA] = 0.05;
  c[C.CHART_LAMBDA] = 0.2;
  c[C.CUSUM_K] = 0.5;
  c[C.PH_DELTA] = 0.5;
  c[C.PH_ALPHA] = 0.99;
  c[C.VOL_FAST_NS] = 5e9;
  c[C.VOL_SLOW_NS] = 60e9;
  c[C.REGIME_VOL_EXP] = 0.5;
  c[C.REGIME_LIQ_EXP] = 0.5;
  c[C.REGIME_MIN] = 0.5;
  c[C.REGIME_MAX] = 4;
  c[C.TARGET_PER_HOUR] = 5;
  c[C.TAIL_P] = 0.02;
  c[C.TAIL_MEMORY] = 200;
  c[C.QUANTILE_STEP] = 0.05;
  c[C.CALIB_WARMUP] = 200;
  c[C.RATE_EPOCH_NS] = 10e9;
  c[C.RATE_MEMORY_NS] = 600e9;
  c[C.HYSTERESIS] = 0.8;
  c[C.COOLDOWN_NS] = 1e9;
  c[C.MIN_PERSISTENCE] = 1;
  c[C.THRESHOLD_FLOOR] = 0;
  c[C.AUTO_REGISTER] = 1;
  c[C.SCORE_CAP] = 1e6;
  c[C.RATE_GAIN] = 0.05;
  c[C.NOVELTY_REFRACTORY] = 3;
  c[C.NOVELTY_PHASES] = 12;
  c[C.NOVELTY_PHASE_WARMUP_NS] = 60e9; // a minute, so that short streams reach the seasonal range too
  for (let f = 0; f < N_FEATURES; f++) {
    c[featureEnabledIndex(f)] = 1;
    c[featureMaskIndex(f)] = (1 << N_DETECTORS) - 1;
    c[featureMinScaleIndex(f)] = 1e-9;
    for (let d = 0; d < N_DETECTORS; d++) {
      c[channelModeIndex(f, d)] = mode(f, d);
      c[channelThresholdIndex(f, d)] = BASE_THRESHOLDS[d];
    }
  }
  for (const [i, v] of Object.entries(over)) c[Number(i)] = v as number;
  return c;
}

/**
 * Half-Space Trees on (learned channel 96): River's shape (10 trees of height 8, size limit 0.1), a window of 50 so
 * that short streams get past warm-up, padding 0.15, seed 42, River's score, the forgetting scaler, a static
 * threshold of 6 bits; `over` sets raw indices after these.
 */
export function withHst(cfg: Float64Array, features: number[], over: Partial<Record<number, number>> = {}): Float64Array {
  cfg[C.HST_ENABLED] = 1;
  cfg[C.HST_FEATURES] = features.reduce((m, f) => m | (1 << f), 0);
  cfg[C.HST_TREES] = 10;
  cfg[C.HST_HEIGHT] = 8;
  cfg[C.HST_WINDOW] = 50;
  cfg[C.HST_SIZE_LIMIT] = 0.1;
  cfg[C.HST_PADDING] = 0.15;
  cfg[C.HST_SEED] = 42;
  cfg[C.HST_SCORE_KIND] = 0;
  cfg[C.HST_SCALER] = 1;
  cfg[C.HST_MODE] = 0;
  cfg[C.HST_THRESHOLD] = 6;
  for (const [i, v] of Object.entries(over)) cfg[Number(i)] = v as number;
  return cfg;
}

/** Every channel in one mode. */
export const allModes = (mode: number) => (): number => mode;

/**
 * One-class SVM on (learned channel 97): 32 components, nu 0.05, gamma 1/dims (0), a window of 200 and a warm-up of
 * 50 so that short streams get past it, seed 42, the EWMA scaler, a static threshold of 3; `over` sets raw indices.
 */
export function withOcsvm(cfg: Float64Array, features: number[], over: Partial<Record<number, number>> = {}): Float64Array {
  cfg[C.OCSVM_ENABLED] = 1;
  cfg[C.OCSVM_FEATURES] = features.reduce((m, f) => m | (1 << f), 0);
  cfg[C.OCSVM_COMPONENTS] = 32;
  cfg[C.OCSVM_NU] = 0.05;
  cfg[C.OCSVM_GAMMA] = 0;
  cfg[C.OCSVM_WINDOW] = 200;
  cfg[C.OCSVM_WARMUP] = 50;
  cfg[C.OCSVM_SEED] = 42;
  cfg[C.OCSVM_SCALER] = 1;
  cfg[C.OCSVM_MODE] = 0;
  cfg[C.OCSVM_THRESHOLD] = 3;
  for (const [i, v] of Object.entries(over)) cfg[Number(i)] = v as number;
  return cfg;
}

/** Series masks for the RLS section. */
export const seriesMask = (...ids: number[]): number => ids.reduce((m, s) => m | (1 << s), 0);
export const S = { mid: 0, trade: 1, mark: 2, index: 3, markIv: 4, underlying: 5, ivMid: 6, neighbourIv: 7, value: 8 } as const;

/**
 * RLS fair value on (learned channel 98): price model mid on index, option model markIv on neighbourIv, lambda 0.995,
 * delta 1e4 (price) and 1e8 (option: IVs as fractions), a warm-up of 50, minScale 0.01 bp and 1e-5, clip 4, a target
 * at most 5 s old, static threshold 6; `over` sets raw indices.
 */
export function withRls(cfg: Float64Array, over: Partial<Record<number, number>> = {}): Float64Array {
  cfg[C.RLS_ENABLED] = 1;
  cfg[C.RLS_PRICE_TARGET] = S.mid;
  cfg[C.RLS_PRICE_X] = seriesMask(S.index);
  cfg[C.RLS_OPTION_TARGET] = S.markIv;
  cfg[C.RLS_OPTION_X] = seriesMask(S.neighbourIv);
  cfg[C.RLS_LAMBDA] = 0.995;
  cfg[C.RLS_PRICE_DELTA] = 1e4;
  cfg[C.RLS_OPTION_DELTA] = 1e8;
  cfg[C.RLS_WARMUP] = 50;
  cfg[C.RLS_PRICE_MIN_SCALE] = 0.01;
  cfg[C.RLS_OPTION_MIN_SCALE] = 1e-5;
  cfg[C.RLS_CLIP] = 4;
  cfg[C.RLS_MAX_STALE_NS] = 5e9;
  cfg[C.RLS_MODE] = 0;
  cfg[C.RLS_THRESHOLD] = 6;
  for (const [i, v] of Object.entries(over)) cfg[Number(i)] = v as number;
  return cfg;
}

/**
 * The combination on (learned channel 99): kind 1 (k of n) or 2 (combined score) over `members` (channel indices),
 * a window of 2 s, cap 2; k of n statically at k, the combined score statically at 1; `over` sets raw indices.
 */
export function withCombine(cfg: Float64Array, kind: 1 | 2, members: number[], k = 2, over: Partial<Record<number, number>> = {}): Float64Array {
  cfg[C.COMBINE_KIND] = kind;
  cfg[C.COMBINE_K] = k;
  for (let m = 0; m < 8; m++) cfg[C.COMBINE_MEMBERS + m] = m < members.length ? members[m] : -1;
  cfg[C.COMBINE_MODE] = 0;
  cfg[C.COMBINE_THRESHOLD] = kind === 1 ? k : 1;
  cfg[C.COMBINE_WINDOW_NS] = 2e9;
  cfg[C.COMBINE_EXCLUSIVE] = 0;
  cfg[C.COMBINE_CAP] = 2;
  for (const [i, v] of Object.entries(over)) cfg[Number(i)] = v as number;
  return cfg;
}
