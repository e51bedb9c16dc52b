// The engine: arena setup, the instrument table, and ingest (events -> features -> channels -> alerts).
import { ldf, stf, ldi, sti, ldu, stu, ld32, st32, finite, align8 } from "./util";
import * as L from "./layout";
import { windowInit, windowBytes } from "./window";
import { ewmaInit } from "./ewma";
import { timeWindowInit, timeWindowBytes, timeWindowPush, timeWindowAdvance } from "./timewin";
import { cfgAt, featureBlockBytes, channelPtr, observe } from "./channel";
import { hstModelBytes, hstModelInit, hstStateBytes, hstStateInit, hstStateCheck } from "./hst";
import { ocModelBytes, ocModelInit, ocStateBytes, ocStateInit, ocStateCheck } from "./ocsvm";
import { rlsModelInit, rlsStateBytes, rlsStateCheck, RLS_M_BYTES } from "./rls";
import { learnedStep, learnedCfg, LS_MODE, rlsInitState, rlsModelPtr } from "./learned";

// ---- Configuration validation ------------------------------------------------------------------------------
// Returns 0, or -(1000 + index) naming the first configuration value out of range.
@inline function bad(i: i32): i32 { return -(1000 + i); }
@inline function inRange(x: f64, lo: f64, hi: f64): bool { return x >= lo && x <= hi; }
@inline function isInt(x: f64): bool { return finite(x) && Math.floor(x) == x; }

export function validateConfig(cfg: usize): i32 {
  if (cfgAt(cfg, L.C_VERSION) != <f64>L.ABI_VERSION) return L.E_CONFIG_VERSION;
  const maxI = cfgAt(cfg, L.C_MAX_INSTRUMENTS);
  if (!isInt(maxI) || !inRange(maxI, 1, 1048576)) return bad(L.C_MAX_INSTRUMENTS);
  const w = cfgAt(cfg, L.C_WINDOW);
  if (!isInt(w) || !inRange(w, 1, 65536)) return bad(L.C_WINDOW);
  const tw = cfgAt(cfg, L.C_TIME_WINDOW_NS);
  if (!isInt(tw) || !inRange(tw, 1, 9.2e18)) return bad(L.C_TIME_WINDOW_NS);
  const b = cfgAt(cfg, L.C_TIME_BUCKETS);
  if (!isInt(b) || !inRange(b, 1, 4096) || b > tw) return bad(L.C_TIME_BUCKETS);
  if (cfgAt(cfg, L.C_RESERVED_5) != 0) return bad(L.C_RESERVED_5);
  const warm = cfgAt(cfg, L.C_WARMUP);
  if (!isInt(warm) || !inRange(warm, 1, w)) return bad(L.C_WARMUP);
  if (!(cfgAt(cfg, L.C_EWMA_ALPHA) > 0 && cfgAt(cfg, L.C_EWMA_ALPHA) <= 1)) return bad(L.C_EWMA_ALPHA);
  if (!(cfgAt(cfg, L.C_CHART_LAMBDA) > 0 && cfgAt(cfg, L.C_CHART_LAMBDA) <= 1)) return bad(L.C_CHART_LAMBDA);
  if (!inRange(cfgAt(cfg, L.C_CUSUM_K), 0, 1e6)) return bad(L.C_CUSUM_K);
  if (!inRange(cfgAt(cfg, L.C_PH_DELTA), 0, 1e6)) return bad(L.C_PH_DELTA);
  if (!(cfgAt(cfg, L.C_PH_ALPHA) > 0 && cfgAt(cfg, L.C_PH_ALPHA) <= 1)) return bad(L.C_PH_ALPHA);
  if (!inRange(cfgAt(cfg, L.C_VOL_FAST_NS), 1, 9.2e18)) return bad(L.C_VOL_FAST_NS);
  if (!inRange(cfgAt(cfg, L.C_VOL_SLOW_NS), 1, 9.2e18)) return bad(L.C_VOL_SLOW_NS);
  if (!inRange(cfgAt(cfg, L.C_REGIME_VOL_EXP), -10, 10)) return bad(L.C_REGIME_VOL_EXP);
  if (!inRange(cfgAt(cfg, L.C_REGIME_LIQ_EXP), -10, 10)) return bad(L.C_REGIME_LIQ_EXP);
  if (!(cfgAt(cfg, L.C_REGIME_MIN) > 0 && cfgAt(cfg, L.C_REGIME_MIN) <= 1)) return bad(L.C_REGIME_MIN);
  if (!inRange(cfgAt(cfg, L.C_REGIME_MAX), 1, 1e6)) return bad(L.C_REGIME_MAX);
  if (!(cfgAt(cfg, L.C_TARGET_PER_HOUR) > 0 && cfgAt(cfg, L.C_TARGET_PER_HOUR) <= 3.6e12)) return bad(L.C_TARGET_PER_HOUR);
  if (!(cfgAt(cfg, L.C_TAIL_P) > 0 && cfgAt(cfg, L.C_TAIL_P) < 0.5)) return bad(L.C_TAIL_P);
  if (!inRange(cfgAt(cfg, L.C_TAIL_MEMORY), 1, 1e12)) return bad(L.C_TAIL_MEMORY);
  if (!(cfgAt(cfg, L.C_QUANTILE_STEP) > 0 && cfgAt(cfg, L.C_QUANTILE_STEP) <= 10)) return bad(L.C_QUANTILE_STEP);
  if (!inRange(cfgAt(cfg, L.C_CALIB_WARMUP), 0, 1e15)) return bad(L.C_CALIB_WARMUP);
  if (!isInt(cfgAt(cfg, L.C_RATE_EPOCH_NS)) || !inRange(cfgAt(cfg, L.C_RATE_EPOCH_NS), 1, 9.2e18)) return bad(L.C_RATE_EPOCH_NS);
  if (!inRange(cfgAt(cfg, L.C_RATE_MEMORY_NS), 1, 9.2e18)) return bad(L.C_RATE_MEMORY_NS);
  if (!(cfgAt(cfg, L.C_HYSTERESIS) > 0 && cfgAt(cfg, L.C_HYSTERESIS) <= 1)) return bad(L.C_HYSTERESIS);
  if (!isInt(cfgAt(cfg, L.C_COOLDOWN_NS)) || !inRange(cfgAt(cfg, L.C_COOLDOWN_NS), 0, 9.2e18)) return bad(L.C_COOLDOWN_NS);
  if (!isInt(cfgAt(cfg, L.C_MIN_PERSISTENCE)) || !inRange(cfgAt(cfg, L.C_MIN_PERSISTENCE), 1, 1e6)) return bad(L.C_MIN_PERSISTENCE);
  if (!inRange(cfgAt(cfg, L.C_THRESHOLD_FLOOR), 0, 1e12)) return bad(L.C_THRESHOLD_FLOOR);
  const ar = cfgAt(cfg, L.C_AUTO_REGISTER);
  if (ar != 0 && ar != 1) return bad(L.C_AUTO_REGISTER);
  if (!inRange(cfgAt(cfg, L.C_SCORE_CAP), 1, 1e300)) return bad(L.C_SCORE_CAP);
  if (!inRange(cfgAt(cfg, L.C_RATE_GAIN), 0, 1)) return bad(L.C_RATE_GAIN);
  const refractory = cfgAt(cfg, L.C_NOVELTY_REFRACTORY);
  if (!isInt(refractory) || !inRange(refractory, 0, 1e9)) return bad(L.C_NOVELTY_REFRACTORY);
  const phases = cfgAt(cfg, L.C_NOVELTY_PHASES);
  if (!isInt(phases) || !inRange(phases, 0, L.NV_MAX_PHASES)) return bad(L.C_NOVELTY_PHASES);
  if (!inRange(cfgAt(cfg, L.C_NOVELTY_PHASE_WARMUP_NS), 0, 9.2e18)) return bad(L.C_NOVELTY_PHASE_WARMUP_NS);
  for (let i = L.C_NOVELTY_PHASE_WARMUP_NS + 1; i < L.C_LEARNED_BASE; i++) if (cfgAt(cfg, i) != 0) return bad(i);
  for (let f = 0; f < L.N_FEATURES; f++) {
    const i = L.C_FEATURE_BASE + 3 * f;
    const en = cfgAt(cfg, i);
    if (en != 0 && en != 1) return bad(i);
    const mask = cfgAt(cfg, i + 1);
    if (!isInt(mask) || !inRange(mask, 0, <f64>((1 << L.N_DETECTORS) - 1))) return bad(i + 1);
    if (!inRange(cfgAt(cfg, i + 2), 0, 1e300)) return bad(i + 2);
  }
  for (let c = 0; c < L.N_FEATURES * L.N_DETECTORS; c++) {
    const i = L.C_CHANNEL_BASE + 2 * c;
    const mode = cfgAt(cfg, i);
    if (!isInt(mode) || !inRange(mode, 0, 3)) return bad(i);
    const thr = cfgAt(cfg, i + 1);
    if (!(thr > 0)) return bad(i + 1); // +Infinity allowed: never fires
  }
  return validateLearned(cfg);
}

// The learned sections (ABI 3). A disabled section is all 0; HST's values are checked as its kernel's init checks
// them (-5 there), the others (one-class SVM, RLS, combination) are reserved: 0.
function validateLearned(cfg: usize): i32 {
  const en = cfgAt(cfg, L.C_HST_ENABLED);
  if (en != 0 && en != 1) return bad(L.C_HST_ENABLED);
  if (en == 0) {
    for (let i = L.C_HST_ENABLED + 1; i < L.C_OCSVM_BASE; i++) if (cfgAt(cfg, i) != 0) return bad(i);
  } else {
    const mask = cfgAt(cfg, L.C_HST_FEATURES);
    if (!isInt(mask) || !inRange(mask, 1, 65535)) return bad(L.C_HST_FEATURES);
    // Every feature of the vector must be enabled: a disabled feature is never observed.
    for (let f = 0; f < L.N_FEATURES; f++) {
      if ((<i32>mask & (1 << f)) && cfgAt(cfg, L.C_FEATURE_BASE + 3 * f) == 0) return bad(L.C_HST_FEATURES);
    }
    const trees = cfgAt(cfg, L.C_HST_TREES);
    if (!isInt(trees) || !inRange(trees, 1, 256)) return bad(L.C_HST_TREES);
    const height = cfgAt(cfg, L.C_HST_HEIGHT);
    if (!isInt(height) || !inRange(height, 1, 15)) return bad(L.C_HST_HEIGHT);
    const window = cfgAt(cfg, L.C_HST_WINDOW);
    if (!isInt(window) || !inRange(window, 1, 65535)) return bad(L.C_HST_WINDOW);
    if (!inRange(cfgAt(cfg, L.C_HST_SIZE_LIMIT), 0, 1)) return bad(L.C_HST_SIZE_LIMIT);
    const padding = cfgAt(cfg, L.C_HST_PADDING);
    if (!(padding >= 0 && padding < 0.5)) return bad(L.C_HST_PADDING);
    const seed = cfgAt(cfg, L.C_HST_SEED);
    if (!isInt(seed) || !inRange(seed, 0, 4294967295)) return bad(L.C_HST_SEED);
    const kind = cfgAt(cfg, L.C_HST_SCORE_KIND);
    if (kind != 0 && kind != 1) return bad(L.C_HST_SCORE_KIND);
    const scaler = cfgAt(cfg, L.C_HST_SCALER);
    if (scaler != 0 && scaler != 1) return bad(L.C_HST_SCALER);
    // The forgetting scaler over a window of 1: its range is the previous point alone, every point scales to 0.5.
    if (scaler == 1 && window == 1) return bad(L.C_HST_WINDOW);
    const mode = cfgAt(cfg, L.C_HST_MODE);
    if (!isInt(mode) || !inRange(mode, 0, 3)) return bad(L.C_HST_MODE);
    if (!(cfgAt(cfg, L.C_HST_THRESHOLD) > 0)) return bad(L.C_HST_THRESHOLD);
    for (let i = L.C_HST_THRESHOLD + 1; i < L.C_OCSVM_BASE; i++) if (cfgAt(cfg, i) != 0) return bad(i);
  }
  let err = validateOcsvm(cfg);
  if (err < 0) return err;
  err = validateRls(cfg);
  if (err < 0) return err;
  return validateCombine(cfg);
}

// A feature mask whose features are all enabled.
function badMask(cfg: usize, i: i32): bool {
  const mask = cfgAt(cfg, i);
  if (!isInt(mask) || !inRange(mask, 1, 65535)) return true;
  for (let f = 0; f < L.N_FEATURES; f++) {
    if ((<i32>mask & (1 << f)) && cfgAt(cfg, L.C_FEATURE_BASE + 3 * f) == 0) return true;
  }
  return false;
}

@inline function badMode(cfg: usize, i: i32): bool { const m = cfgAt(cfg, i); return !isInt(m) || !inRange(m, 0, 3); }

function validateOcsvm(cfg: usize): i32 {
  const b = L.C_OCSVM_BASE;
  const en = cfgAt(cfg, b);
  if (en != 0 && en != 1) return bad(b);
  if (en == 0) {
    for (let i = b + 1; i < b + L.C_LEARNED_SECTION; i++) if (cfgAt(cfg, i) != 0) return bad(i);
    return 0;
  }
  if (badMask(cfg, L.C_OCSVM_FEATURES)) return bad(L.C_OCSVM_FEATURES);
  const D = cfgAt(cfg, L.C_OCSVM_COMPONENTS);
  if (!isInt(D) || !inRange(D, 1, 1024)) return bad(L.C_OCSVM_COMPONENTS);
  const nu = cfgAt(cfg, L.C_OCSVM_NU);
  if (!(nu > 0 && nu <= 1)) return bad(L.C_OCSVM_NU);
  const gamma = cfgAt(cfg, L.C_OCSVM_GAMMA);
  if (!(gamma >= 0 && gamma <= 1e6)) return bad(L.C_OCSVM_GAMMA);
  const window = cfgAt(cfg, L.C_OCSVM_WINDOW);
  if (!isInt(window) || !inRange(window, 1, 16777216)) return bad(L.C_OCSVM_WINDOW);
  const warmup = cfgAt(cfg, L.C_OCSVM_WARMUP);
  if (!isInt(warmup) || !inRange(warmup, 0, 2147483647)) return bad(L.C_OCSVM_WARMUP);
  const seed = cfgAt(cfg, L.C_OCSVM_SEED);
  if (!isInt(seed) || !inRange(seed, 0, 4294967295)) return bad(L.C_OCSVM_SEED);
  const scaler = cfgAt(cfg, L.C_OCSVM_SCALER);
  if (scaler != 0 && scaler != 1) return bad(L.C_OCSVM_SCALER);
  if (cfgAt(cfg, 305) != 0) return bad(305);
  if (badMode(cfg, L.C_OCSVM_MODE)) return bad(L.C_OCSVM_MODE);
  if (!(cfgAt(cfg, L.C_OCSVM_THRESHOLD) > 0)) return bad(L.C_OCSVM_THRESHOLD);
  for (let i = L.C_OCSVM_THRESHOLD + 1; i < L.C_RLS_BASE; i++) if (cfgAt(cfg, i) != 0) return bad(i);
  return 0;
}

// A regressor mask: 1..RLS_MAX_DIMS series, not the target.
function badRegressors(cfg: usize, i: i32, target: f64): bool {
  const mask = cfgAt(cfg, i);
  if (!isInt(mask) || !inRange(mask, 1, <f64>((1 << L.N_SERIES) - 1))) return true;
  if (popcnt<u32>(<u32>mask) > 8) return true;
  return (<u32>mask & (1 << <u32>target)) != 0;
}
@inline function badSeries(x: f64): bool { return !isInt(x) || !inRange(x, 0, <f64>(L.N_SERIES - 1)); }

function validateRls(cfg: usize): i32 {
  const b = L.C_RLS_BASE;
  const en = cfgAt(cfg, b);
  if (en != 0 && en != 1) return bad(b);
  if (en == 0) {
    for (let i = b + 1; i < b + L.C_LEARNED_SECTION; i++) if (cfgAt(cfg, i) != 0) return bad(i);
    return 0;
  }
  const pt = cfgAt(cfg, L.C_RLS_PRICE_TARGET);
  if (badSeries(pt)) return bad(L.C_RLS_PRICE_TARGET);
  if (badRegressors(cfg, L.C_RLS_PRICE_X, pt)) return bad(L.C_RLS_PRICE_X);
  const ot = cfgAt(cfg, L.C_RLS_OPTION_TARGET);
  if (badSeries(ot)) return bad(L.C_RLS_OPTION_TARGET);
  if (badRegressors(cfg, L.C_RLS_OPTION_X, ot)) return bad(L.C_RLS_OPTION_X);
  const lambda = cfgAt(cfg, L.C_RLS_LAMBDA);
  if (!(lambda >= 0.9 && lambda < 1)) return bad(L.C_RLS_LAMBDA);
  if (!inRange(cfgAt(cfg, L.C_RLS_PRICE_DELTA), 1e-6, 1e12)) return bad(L.C_RLS_PRICE_DELTA);
  const warmup = cfgAt(cfg, L.C_RLS_WARMUP);
  if (!isInt(warmup) || !inRange(warmup, 0, 2147483647)) return bad(L.C_RLS_WARMUP);
  const pm = cfgAt(cfg, L.C_RLS_PRICE_MIN_SCALE);
  if (!(pm > 0 && pm <= 1e15)) return bad(L.C_RLS_PRICE_MIN_SCALE);
  const om = cfgAt(cfg, L.C_RLS_OPTION_MIN_SCALE);
  if (!(om > 0 && om <= 1e15)) return bad(L.C_RLS_OPTION_MIN_SCALE);
  if (badMode(cfg, L.C_RLS_MODE)) return bad(L.C_RLS_MODE);
  if (!(cfgAt(cfg, L.C_RLS_THRESHOLD) > 0)) return bad(L.C_RLS_THRESHOLD);
  if (!(cfgAt(cfg, L.C_RLS_CLIP) >= 1)) return bad(L.C_RLS_CLIP); // Infinity: no clipping
  const stale = cfgAt(cfg, L.C_RLS_MAX_STALE_NS);
  if (!isInt(stale) || !inRange(stale, 0, 9.2e18)) return bad(L.C_RLS_MAX_STALE_NS);
  if (!inRange(cfgAt(cfg, L.C_RLS_OPTION_DELTA), 1e-6, 1e12)) return bad(L.C_RLS_OPTION_DELTA);
  if (cfgAt(cfg, L.C_RLS_OPTION_DELTA + 1) != 0) return bad(L.C_RLS_OPTION_DELTA + 1);
  return 0;
}

// Whether channel c (0..98) exists: a (feature, detector) channel of an enabled feature whose mask has the detector,
// or an enabled learned channel (not the combination itself).
function channelExists(cfg: usize, c: i32): bool {
  if (c < L.N_TABLE_CHANNELS) {
    const f = c / L.N_DETECTORS, d = c % L.N_DETECTORS;
    return cfgAt(cfg, L.C_FEATURE_BASE + 3 * f) != 0 && (<i32>cfgAt(cfg, L.C_FEATURE_BASE + 3 * f + 1) & (1 << d)) != 0;
  }
  const k = c - L.N_TABLE_CHANNELS;
  return k < L.K_COMBINED && cfgAt(cfg, learnedCfg(k, 0)) != 0;
}

function validateCombine(cfg: usize): i32 {
  const b = L.C_COMBINE_BASE;
  const kind = cfgAt(cfg, L.C_COMBINE_KIND);
  if (kind != 0 && kind != 1 && kind != 2) return bad(b);
  if (kind == 0) {
    for (let i = b + 1; i < b + L.C_LEARNED_SECTION; i++) if (cfgAt(cfg, i) != 0) return bad(i);
    return 0;
  }
  let n = 0;
  for (let m = 0; m < L.COMBINE_MAX_MEMBERS; m++) {
    const i = L.C_COMBINE_MEMBERS + m;
    const c = cfgAt(cfg, i);
    if (c == -1) continue;
    if (!isInt(c) || !inRange(c, 0, <f64>(L.N_TABLE_CHANNELS + L.K_COMBINED - 1)) || !channelExists(cfg, <i32>c)) return bad(i);
    for (let j = L.C_COMBINE_MEMBERS; j < i; j++) if (cfgAt(cfg, j) == c) return bad(i);
    n++;
  }
  if (n == 0) return bad(L.C_COMBINE_MEMBERS);
  const k = cfgAt(cfg, L.C_COMBINE_K);
  if (!isInt(k) || !inRange(k, 1, <f64>n)) return bad(L.C_COMBINE_K);
  if (badMode(cfg, L.C_COMBINE_MODE)) return bad(L.C_COMBINE_MODE);
  const thr = cfgAt(cfg, L.C_COMBINE_THRESHOLD);
  if (!(thr > 0)) return bad(L.C_COMBINE_THRESHOLD);
  // k of n fires at k members, statically: the configuration says so.
  if (kind == 1 && (cfgAt(cfg, L.C_COMBINE_MODE) != L.M_STATIC || thr != k)) return bad(cfgAt(cfg, L.C_COMBINE_MODE) != L.M_STATIC ? L.C_COMBINE_MODE : L.C_COMBINE_THRESHOLD);
  const w = cfgAt(cfg, L.C_COMBINE_WINDOW_NS);
  if (!isInt(w) || !inRange(w, 0, 9.2e18)) return bad(L.C_COMBINE_WINDOW_NS);
  const ex = cfgAt(cfg, L.C_COMBINE_EXCLUSIVE);
  if (ex != 0 && ex != 1) return bad(L.C_COMBINE_EXCLUSIVE);
  if (!inRange(cfgAt(cfg, L.C_COMBINE_CAP), 1, 1e6)) return bad(L.C_COMBINE_CAP);
  if (cfgAt(cfg, L.C_COMBINE_CAP + 1) != 0) return bad(L.C_COMBINE_CAP + 1);
  return 0;
}

@inline function hstEnabled(cfg: usize): bool { return cfgAt(cfg, L.C_HST_ENABLED) != 0; }
function popcount16(mask: i32): i32 { return <i32>popcnt<u32>(<u32>mask & 0xffff); }
@inline function hstDims(cfg: usize): i32 { return popcount16(<i32>cfgAt(cfg, L.C_HST_FEATURES)); }
@inline function hstTrees(cfg: usize): i32 { return <i32>cfgAt(cfg, L.C_HST_TREES); }
@inline function hstHeight(cfg: usize): i32 { return <i32>cfgAt(cfg, L.C_HST_HEIGHT); }
@inline function ocEnabled(cfg: usize): bool { return cfgAt(cfg, L.C_OCSVM_ENABLED) != 0; }
@inline function ocDims(cfg: usize): i32 { return popcount16(<i32>cfgAt(cfg, L.C_OCSVM_FEATURES)); }
@inline function ocComponents(cfg: usize): i32 { return <i32>cfgAt(cfg, L.C_OCSVM_COMPONENTS); }
// gamma 0 in the configuration: 1 / dims (sklearn's "scale" on standardised features).
@inline function ocGamma(cfg: usize): f64 { const g = cfgAt(cfg, L.C_OCSVM_GAMMA); return g > 0 ? g : 1.0 / <f64>ocDims(cfg); }
@inline function rlsEnabled(cfg: usize): bool { return cfgAt(cfg, L.C_RLS_ENABLED) != 0; }
@inline function rlsDims(cfg: usize, option: bool): i32 { return <i32>popcnt<u32>(<u32>cfgAt(cfg, option ? L.C_RLS_OPTION_X : L.C_RLS_PRICE_X)); }
@inline function combineEnabled(cfg: usize): bool { return cfgAt(cfg, L.C_COMBINE_KIND) != 0; }
@inline function anyLearnedEnabled(cfg: usize): bool { return hstEnabled(cfg) || ocEnabled(cfg) || rlsEnabled(cfg) || combineEnabled(cfg); }
@inline function vectorMask(cfg: usize): u32 {
  return (hstEnabled(cfg) ? <u32>cfgAt(cfg, L.C_HST_FEATURES) : 0) | (ocEnabled(cfg) ? <u32>cfgAt(cfg, L.C_OCSVM_FEATURES) : 0);
}

// Bytes of each learned detector's shared model after the configuration (16-aligned each; 0 when disabled): HST's
// trees, the one-class SVM's random features, RLS's two shapes (price model, option model).
function modelBytes(cfg: usize, k: i32): i32 {
  if (k == L.K_HST && hstEnabled(cfg)) return (hstModelBytes(hstDims(cfg), hstTrees(cfg), hstHeight(cfg)) + 15) & ~15;
  if (k == L.K_OCSVM && ocEnabled(cfg)) return (ocModelBytes(ocDims(cfg), ocComponents(cfg)) + 15) & ~15;
  if (k == L.K_RLS && rlsEnabled(cfg)) return 2 * RLS_M_BYTES;
  return 0;
}
function modelsBytes(cfg: usize): i32 {
  let n = 0;
  for (let k = 0; k < L.N_LEARNED; k++) n += modelBytes(cfg, k);
  return n;
}

// Bytes of learned channel k's block in a slot (0 when disabled).
function learnedBlockBytes(cfg: usize, k: i32): i32 {
  if (k == L.K_HST && hstEnabled(cfg)) return align8(L.LB_STATE + hstStateBytes(hstDims(cfg), hstTrees(cfg), hstHeight(cfg)));
  if (k == L.K_OCSVM && ocEnabled(cfg)) return align8(L.LB_STATE + ocStateBytes(ocDims(cfg), ocComponents(cfg)));
  if (k == L.K_RLS && rlsEnabled(cfg)) {
    const a = rlsStateBytes(rlsDims(cfg, false), 1), b = rlsStateBytes(rlsDims(cfg, true), 1);
    return align8(L.LB_STATE + L.RS_BYTES + (a > b ? a : b));
  }
  if (k == L.K_COMBINED && combineEnabled(cfg)) return align8(L.LB_STATE + L.CB_BYTES);
  return 0;
}

// ---- Sizes -------------------------------------------------------------------------------------------------
function tableCapacity(maxI: i32): i32 {
  let cap = 8;
  while (cap < 2 * maxI) cap <<= 1;
  return cap;
}

// Offsets of the enabled feature blocks inside a slot, written to the header; returns the slot size. A block holds
// the sorted copy of its window only when the feature's robust detector needs it.
@inline function keepsOrder(cfg: usize, f: i32): bool {
  return (<i32>cfgAt(cfg, L.C_FEATURE_BASE + 3 * f + 1) & (1 << L.D_ROBUST)) != 0;
}

// The novelty state is kept only by the features whose mask enables the novelty detector.
@inline function keepsNovelty(cfg: usize, f: i32): bool {
  return (<i32>cfgAt(cfg, L.C_FEATURE_BASE + 3 * f + 1) & (1 << L.D_NOVELTY)) != 0;
}

function layoutSlot(arena: usize, cfg: usize): i32 {
  const w = <i32>cfgAt(cfg, L.C_WINDOW);
  const b = <i32>cfgAt(cfg, L.C_TIME_BUCKETS);
  let off = L.SLOT_HEADER_BYTES + L.N_TIME_WINDOWS * align8(timeWindowBytes(b));
  for (let f = 0; f < L.N_FEATURES; f++) {
    if (cfgAt(cfg, L.C_FEATURE_BASE + 3 * f) != 0) {
      if (arena) st32(arena, L.H_FEATURE_OFF + (f << 2), off);
      off += align8(featureBlockBytes(w, keepsOrder(cfg, f), keepsNovelty(cfg, f)));
    } else if (arena) {
      st32(arena, L.H_FEATURE_OFF + (f << 2), -1);
    }
  }
  // With a learned channel, the latest values, then the learned channels' blocks, follow the feature blocks.
  const anyLearned = anyLearnedEnabled(cfg);
  if (arena) st32(arena, L.H_VECTOR_OFF, anyLearned ? off : -1);
  if (anyLearned) off += L.LV_BYTES;
  for (let k = 0; k < L.N_LEARNED; k++) {
    const bytes = learnedBlockBytes(cfg, k);
    if (arena) st32(arena, L.H_LEARNED_OFF + (k << 2), bytes > 0 ? off : -1);
    off += bytes;
  }
  return (off + 63) & ~63;
}

// Bytes of arena needed for a configuration, or a negative error code.
export function arenaBytes(cfg: usize): i64 {
  const err = validateConfig(cfg);
  if (err < 0) return err;
  const maxI = <i32>cfgAt(cfg, L.C_MAX_INSTRUMENTS);
  const slot = layoutSlot(0, cfg);
  const total: i64 = <i64>L.HEADER_BYTES + <i64>(L.C_LEN << 3) + <i64>modelsBytes(cfg) + (<i64>tableCapacity(maxI) << 3) + <i64>maxI * <i64>slot;
  if (total > 0x7fff0000) return bad(L.C_MAX_INSTRUMENTS);
  return total;
}

export function init(arena: usize, cfg: usize): i32 {
  if (arena & 15) return L.E_BAD_ARGUMENT;
  const total = arenaBytes(cfg);
  if (total < 0) return <i32>total;
  memory.fill(arena, 0, <usize>total);
  stu(arena, L.H_MAGIC, L.MAGIC);
  stu(arena, L.H_MAGIC + 4, L.ABI_VERSION);
  sti(arena, L.H_TOTAL_BYTES, total);
  const cfgOff = L.HEADER_BYTES;
  memory.copy(arena + <usize>cfgOff, cfg, <usize>(L.C_LEN << 3));
  const maxI = <i32>cfgAt(cfg, L.C_MAX_INSTRUMENTS);
  const cap = tableCapacity(maxI);
  // The shared models (read-only after init) lie between the configuration and the table.
  const modelOff = cfgOff + (L.C_LEN << 3);
  let mo = modelOff;
  for (let k = 0; k < L.N_LEARNED; k++) {
    const bytes = modelBytes(cfg, k);
    st32(arena, L.H_MODEL_OFF + (k << 2), bytes > 0 ? mo : 0);
    const m = arena + <usize>mo;
    if (k == L.K_HST && bytes > 0) {
      hstModelInit(m, hstDims(cfg), hstTrees(cfg), hstHeight(cfg), <u32>cfgAt(cfg, L.C_HST_SEED), cfgAt(cfg, L.C_HST_PADDING));
    } else if (k == L.K_OCSVM && bytes > 0) {
      ocModelInit(m, ocDims(cfg), ocComponents(cfg), ocGamma(cfg), <u32>cfgAt(cfg, L.C_OCSVM_SEED));
    } else if (k == L.K_RLS && bytes > 0) {
      rlsModelInit(m, rlsDims(cfg, false), 1);
      rlsModelInit(m + <usize>RLS_M_BYTES, rlsDims(cfg, true), 1);
    }
    mo += bytes;
  }
  stu(arena, L.H_LEARNED_MASK, vectorMask(cfg));
  const tableOff = modelOff + modelsBytes(cfg);
  st32(arena, L.H_CFG, cfgOff);
  st32(arena, L.H_TABLE, tableOff);
  stu(arena, L.H_TABLE_MASK, <u32>(cap - 1));
  st32(arena, L.H_SLOTS, tableOff + (cap << 3));
  stu(arena, L.H_SLOT_BYTES, <u32>layoutSlot(arena, cfg));
  refreshDerived(arena);
  return 0;
}

// Values derived from the configuration that the hot path reads from the header.
export function refreshDerived(arena: usize): void {
  const cfg = configPtr(arena);
  let anyRegime: u32 = 0;
  for (let c = 0; c < L.N_FEATURES * L.N_DETECTORS; c++) {
    if (<i32>cfgAt(cfg, L.C_CHANNEL_BASE + 2 * c) == L.M_REGIME) anyRegime = 1;
  }
  for (let k = 0; k < L.N_LEARNED; k++) {
    if (ld32(arena, L.H_LEARNED_OFF + (k << 2)) >= 0 && <i32>cfgAt(cfg, learnedCfg(k, LS_MODE)) == L.M_REGIME) anyRegime = 1;
  }
  stu(arena, L.H_ANY_REGIME, anyRegime);
  stu(arena, L.H_COMBINE, <u32>cfgAt(cfg, L.C_COMBINE_KIND));
}

@inline export function configPtr(arena: usize): usize { return arena + <usize>ld32(arena, L.H_CFG); }
@inline export function slotPtr(arena: usize, slot: i32): usize {
  return arena + <usize>ld32(arena, L.H_SLOTS) + <usize>slot * <usize>ldu(arena, L.H_SLOT_BYTES);
}

export function arenaValid(arena: usize): bool {
  return (arena & 15) == 0 && ldu(arena, L.H_MAGIC) == L.MAGIC && ldu(arena, L.H_MAGIC + 4) == L.ABI_VERSION;
}

// The header lays the arena out as its (valid) configuration implies: offsets, table and slot sizes, feature block
// offsets, and no more instruments than the table was sized for. A snapshot whose configuration was altered would
// otherwise have register() and ingest() place slots, windows and sorted copies past the arena's end.
export function layoutMatches(arena: usize): bool {
  if (ld32(arena, L.H_CFG) != L.HEADER_BYTES) return false;
  const cfg = configPtr(arena);
  if (arenaBytes(cfg) != ldi(arena, L.H_TOTAL_BYTES)) return false;
  const maxI = <i32>cfgAt(cfg, L.C_MAX_INSTRUMENTS);
  const cap = tableCapacity(maxI);
  const modelOff = L.HEADER_BYTES + (L.C_LEN << 3);
  const tableOff = modelOff + modelsBytes(cfg);
  if (ld32(arena, L.H_TABLE) != tableOff || ldu(arena, L.H_TABLE_MASK) != <u32>(cap - 1)) return false;
  if (ld32(arena, L.H_SLOTS) != tableOff + (cap << 3)) return false;
  if (ldu(arena, L.H_N_INSTRUMENTS) > <u32>maxI) return false;
  if (ldu(arena, L.H_LAST_ID) != 0 && <u32>ld32(arena, L.H_LAST_SLOT) >= ldu(arena, L.H_N_INSTRUMENTS)) return false;
  const w = <i32>cfgAt(cfg, L.C_WINDOW);
  const b = <i32>cfgAt(cfg, L.C_TIME_BUCKETS);
  let off = L.SLOT_HEADER_BYTES + L.N_TIME_WINDOWS * align8(timeWindowBytes(b));
  for (let f = 0; f < L.N_FEATURES; f++) {
    const expected = cfgAt(cfg, L.C_FEATURE_BASE + 3 * f) != 0 ? off : -1;
    if (ld32(arena, L.H_FEATURE_OFF + (f << 2)) != expected) return false;
    if (expected >= 0) off += align8(featureBlockBytes(w, keepsOrder(cfg, f), keepsNovelty(cfg, f)));
  }
  const anyLearned = anyLearnedEnabled(cfg);
  if (ld32(arena, L.H_VECTOR_OFF) != (anyLearned ? off : -1)) return false;
  if (anyLearned) off += L.LV_BYTES;
  for (let k = 0; k < L.N_LEARNED; k++) {
    const bytes = learnedBlockBytes(cfg, k);
    if (ld32(arena, L.H_LEARNED_OFF + (k << 2)) != (bytes > 0 ? off : -1)) return false;
    off += bytes;
  }
  if (ldu(arena, L.H_SLOT_BYTES) != <u32>((off + 63) & ~63)) return false;
  // The models: where the configuration puts them, with the shapes and seeds it asks for, and (HST) split dimensions
  // within the shape (the walk indexes the scaled point by them). Split points and random features are not checked
  // (a snapshot store should carry a checksum).
  let mo = modelOff;
  for (let k = 0; k < L.N_LEARNED; k++) {
    const bytes = modelBytes(cfg, k);
    if (ld32(arena, L.H_MODEL_OFF + (k << 2)) != (bytes > 0 ? mo : 0)) return false;
    mo += bytes;
  }
  if (ldu(arena, L.H_LEARNED_MASK) != vectorMask(cfg)) return false;
  const hst = hstEnabled(cfg);
  const model = arena + <usize>modelOff;
  if (hst) {
    const dims = hstDims(cfg), trees = hstTrees(cfg), height = hstHeight(cfg);
    const internal = (1 << height) - 1;
    if (ldu(model, 0) != <u32>dims || ldu(model, 4) != <u32>trees || ldu(model, 8) != <u32>height || ldu(model, 12) != <u32>internal) return false;
    if (ldu(model, 16) != <u32>cfgAt(cfg, L.C_HST_SEED) || ldf(model, 24) != cfgAt(cfg, L.C_HST_PADDING)) return false;
    const sdims = model + 32 + (<usize>(trees * internal) << 3);
    for (let i = 0; i < trees * internal; i++) if (<i32>load<u8>(sdims + <usize>i) >= dims) return false;
  }
  const oc = ocEnabled(cfg);
  const ocModel = arena + <usize>ld32(arena, L.H_MODEL_OFF + (L.K_OCSVM << 2));
  if (oc) {
    if (ldu(ocModel, 0) != <u32>ocDims(cfg) || ldu(ocModel, 4) != <u32>ocComponents(cfg)) return false;
    if (ldu(ocModel, 8) != <u32>cfgAt(cfg, L.C_OCSVM_SEED) || ldf(ocModel, 16) != ocGamma(cfg)) return false;
  }
  const rls = rlsEnabled(cfg);
  if (rls) {
    for (let o = 1; o <= 2; o++) {
      const m = rlsModelPtr(arena, <u32>o);
      if (ldu(m, 0) != <u32>rlsDims(cfg, o == 2) || ldu(m, 4) != 1) return false;
    }
  }
  const comb = combineEnabled(cfg);
  // Every index the hot path writes through stays inside its block: table entries name registered slots, and each
  // slot's rings and time windows have the configured sizes and cursors within them. (Values are not checked: a
  // snapshot store should carry a checksum.)
  const n = ldu(arena, L.H_N_INSTRUMENTS);
  const table = arena + <usize>tableOff;
  for (let i = 0; i < cap; i++) if (load<u32>(table + (<usize>i << 3), 4) > n) return false;
  const twBytes = align8(timeWindowBytes(b));
  for (let i = 0; i < <i32>n; i++) {
    const slot = slotPtr(arena, i);
    for (let t = 0; t < L.N_TIME_WINDOWS; t++) {
      const tw = slot + <usize>(L.SLOT_HEADER_BYTES + t * twBytes);
      if (ldu(tw, L.T_BUCKETS) != <u32>b || ldu(tw, L.T_CUR) >= <u32>b) return false;
    }
    for (let f = 0; f < L.N_FEATURES; f++) {
      const fo = ld32(arena, L.H_FEATURE_OFF + (f << 2));
      if (fo < 0) continue;
      const fb = slot + <usize>fo;
      const win = fb + <usize>L.FB_HEADER_BYTES;
      const order = keepsOrder(cfg, f);
      if (ldu(win, L.W_CAP) != <u32>w || ldu(win, L.W_N) > <u32>w || ldu(win, L.W_HEAD) >= <u32>w) return false;
      if (ldu(win, L.W_ORDER) != (order ? 1 : 0) || ldu(fb, L.FB_CHANNELS) != <u32>(L.FB_HEADER_BYTES + windowBytes(w, order))) return false;
    }
    // Each kernel state fits its model and holds values its step relies on (<k>_state_check), with the settings of
    // the configuration.
    if (hst) {
      const st = slot + <usize>ld32(arena, L.H_LEARNED_OFF + (L.K_HST << 2)) + <usize>L.LB_STATE;
      if (hstStateCheck(st, model) != 0) return false;
      if (ldu(st, 4) != <u32>cfgAt(cfg, L.C_HST_WINDOW) || ldu(st, 48) != <u32>cfgAt(cfg, L.C_HST_SCORE_KIND) || ldu(st, 52) != <u32>cfgAt(cfg, L.C_HST_SCALER)) return false;
    }
    if (oc) {
      const st = slot + <usize>ld32(arena, L.H_LEARNED_OFF + (L.K_OCSVM << 2)) + <usize>L.LB_STATE;
      if (ocStateCheck(st, ocModel) != 0) return false;
      if (ldf(st, 24) != cfgAt(cfg, L.C_OCSVM_NU) || ldu(st, 8) != <u32>cfgAt(cfg, L.C_OCSVM_WINDOW)) return false;
      if (ldu(st, 12) != <u32>cfgAt(cfg, L.C_OCSVM_WARMUP) || ldu(st, 16) != <u32>cfgAt(cfg, L.C_OCSVM_SCALER)) return false;
    }
    if (rls) {
      const rs = slot + <usize>ld32(arena, L.H_LEARNED_OFF + (L.K_RLS << 2)) + <usize>L.LB_STATE;
      const which = ldu(rs, L.RS_MODEL);
      if (which != 1 && which != 2 || (ldu(rs, L.RS_FLAGS) & ~2) != 0 || ldu(rs, L.RS_SEEN) >= (1 << L.N_SERIES)) return false;
      // Anchors: price series only, finite.
      const anchored = ldu(rs, L.RS_ANCHORED);
      if ((anchored & ~L.RS_PRICES) != 0) return false;
      for (let s = 0; s < L.N_SERIES; s++) {
        const a = ldf(rs, L.RS_ANCHORS + (s << 3));
        if ((anchored & (1 << s)) ? !(a - a == 0) : a != 0) return false;
      }
      const st = rs + <usize>L.RS_BYTES;
      if (rlsStateCheck(st, rlsModelPtr(arena, which)) != 0) return false;
      const o = which == 2;
      if (ldf(st, 24) != cfgAt(cfg, L.C_RLS_LAMBDA) || ldf(st, 32) != cfgAt(cfg, o ? L.C_RLS_OPTION_DELTA : L.C_RLS_PRICE_DELTA)) return false;
      if (ldu(st, 8) != <u32>cfgAt(cfg, L.C_RLS_WARMUP) || ldf(st, 40) != cfgAt(cfg, o ? L.C_RLS_OPTION_MIN_SCALE : L.C_RLS_PRICE_MIN_SCALE)) return false;
      if (ldf(st, 48) != cfgAt(cfg, L.C_RLS_CLIP)) return false;
    }
    if (comb) {
      const cb = slot + <usize>ld32(arena, L.H_LEARNED_OFF + (L.K_COMBINED << 2)) + <usize>L.LB_STATE;
      if (ldu(cb, L.CB_EVENT) != 0) return false; // cleared after every event
    }
  }
  return true;
}

// ---- Instrument table: open addressing with linear probing; entry = (id u32, slot + 1 u32), 0 = empty -------
@inline function hash(id: u32): u32 {
  let h = id * 0x9E3779B1;
  return h ^ (h >>> 16);
}

export function findSlot(arena: usize, id: u32): i32 {
  if (ldu(arena, L.H_LAST_ID) == id + 1 && id != 0xffffffff) return ld32(arena, L.H_LAST_SLOT);
  const table = arena + <usize>ld32(arena, L.H_TABLE);
  const mask = ldu(arena, L.H_TABLE_MASK);
  let i = hash(id) & mask;
  while (true) {
    const e = table + (<usize>i << 3);
    const s = load<u32>(e, 4);
    if (s == 0) return -1;
    if (load<u32>(e) == id) {
      stu(arena, L.H_LAST_ID, id + 1);
      st32(arena, L.H_LAST_SLOT, <i32>s - 1);
      return <i32>s - 1;
    }
    i = (i + 1) & mask;
  }
}

// Register an instrument: its slot index (existing or new), or E_TABLE_FULL.
export function register(arena: usize, id: u32): i32 {
  const found = findSlot(arena, id);
  if (found >= 0) return found;
  const cfg = configPtr(arena);
  const n = ldu(arena, L.H_N_INSTRUMENTS);
  if (<f64>n >= cfgAt(cfg, L.C_MAX_INSTRUMENTS)) return L.E_TABLE_FULL;
  const table = arena + <usize>ld32(arena, L.H_TABLE);
  const mask = ldu(arena, L.H_TABLE_MASK);
  let i = hash(id) & mask;
  while (load<u32>(table + (<usize>i << 3), 4) != 0) i = (i + 1) & mask;
  store<u32>(table + (<usize>i << 3), id);
  store<u32>(table + (<usize>i << 3), n + 1, 4);
  stu(arena, L.H_N_INSTRUMENTS, n + 1);
  initSlot(arena, cfg, slotPtr(arena, <i32>n), id);
  return <i32>n;
}

function initSlot(arena: usize, cfg: usize, slot: usize, id: u32): void {
  memory.fill(slot, 0, <usize>ldu(arena, L.H_SLOT_BYTES));
  stu(slot, L.S_ID, id);
  stu(slot, L.S_FLAGS, L.SF_USED);
  sti(slot, L.S_LAST_TS, i64.MIN_VALUE);
  sti(slot, L.S_BUCKET_END, i64.MIN_VALUE);
  stf(slot, L.S_REGIME, 1);
  stf(slot, L.S_VOL_RATIO, 1);
  stf(slot, L.S_LIQ_RATIO, 1);
  const b = <i32>cfgAt(cfg, L.C_TIME_BUCKETS);
  const bucketNs = <i64>cfgAt(cfg, L.C_TIME_WINDOW_NS) / <i64>b;
  const twBytes = align8(timeWindowBytes(b));
  for (let t = 0; t < L.N_TIME_WINDOWS; t++) {
    timeWindowInit(slot + <usize>(L.SLOT_HEADER_BYTES + t * twBytes), b, bucketNs);
  }
  const w = <i32>cfgAt(cfg, L.C_WINDOW);
  const alpha = cfgAt(cfg, L.C_EWMA_ALPHA);
  for (let f = 0; f < L.N_FEATURES; f++) {
    const off = ld32(arena, L.H_FEATURE_OFF + (f << 2));
    if (off < 0) continue;
    const fb = slot + <usize>off;
    ewmaInit(fb + <usize>L.FB_EWMA, alpha);
    const order = keepsOrder(cfg, f);
    windowInit(fb + <usize>L.FB_HEADER_BYTES, w, order);
    stu(fb, L.FB_CHANNELS, <u32>(L.FB_HEADER_BYTES + windowBytes(w, order)));
    for (let d = 0; d < L.N_DETECTORS; d++) {
      const ch = channelPtr(fb, d);
      stf(ch, L.CH_FIXED, NaN);
      sti(ch, L.CH_COOL_UNTIL, i64.MIN_VALUE);
      stu(ch, L.CH_SINCE, 1 << 30); // the first calibrated score computes the threshold
    }
  }
  for (let k = 0; k < L.N_LEARNED; k++) {
    const off = ld32(arena, L.H_LEARNED_OFF + (k << 2));
    if (off < 0) continue;
    const lb = slot + <usize>off;
    const ch = lb + <usize>L.LB_CHANNEL;
    stf(ch, L.CH_FIXED, NaN);
    sti(ch, L.CH_COOL_UNTIL, i64.MIN_VALUE);
    stu(ch, L.CH_SINCE, 1 << 30);
    const model = arena + <usize>ld32(arena, L.H_MODEL_OFF + (k << 2));
    const st = lb + <usize>L.LB_STATE;
    if (k == L.K_HST) {
      hstStateInit(st, model, <i32>cfgAt(cfg, L.C_HST_WINDOW), cfgAt(cfg, L.C_HST_SIZE_LIMIT),
                   <i32>cfgAt(cfg, L.C_HST_SCORE_KIND), <i32>cfgAt(cfg, L.C_HST_SCALER));
    } else if (k == L.K_OCSVM) {
      ocStateInit(st, model, cfgAt(cfg, L.C_OCSVM_NU), <i32>cfgAt(cfg, L.C_OCSVM_WINDOW), <i32>cfgAt(cfg, L.C_OCSVM_WARMUP),
                  <i32>cfgAt(cfg, L.C_OCSVM_SCALER));
    } else if (k == L.K_RLS) {
      // On the price model until the instrument's first option event (learned.ts, rlsEvent).
      rlsInitState(arena, cfg, st, 1);
    } else {
      for (let m = 0; m < L.COMBINE_MAX_MEMBERS; m++) {
        const p = st + <usize>(L.CB_MEMBERS + m * L.CB_MEMBER_BYTES);
        sti(p, L.CB_EXCEED_TS, i64.MIN_VALUE);
        sti(p, L.CB_OBS_TS, i64.MIN_VALUE);
      }
    }
  }
}

export function timeWindowOf(arena: usize, slot: usize, t: i32): usize { return timeWindow(arena, slot, t); }
@inline function timeWindow(arena: usize, slot: usize, t: i32): usize {
  const b = <i32>cfgAt(configPtr(arena), L.C_TIME_BUCKETS);
  return slot + <usize>(L.SLOT_HEADER_BYTES + t * align8(timeWindowBytes(b)));
}

// ---- Regime: time-EWMAs of each bucket's realised variance and mean spread ------------------------------------
// Updated once per closed bucket, not per event: realised variance from 1 s buckets is the usual estimator, and it
// keeps divisions and powers off the per-event path. Returns are the quotes' mid changes, or the trades' price
// changes for an instrument without quotes.
// Weight of a new value after dt: dt / (tau + dt), the first-order form of 1 - exp(-dt / tau), exact at dt = 0 (no
// weight) and dt -> infinity (all weight). Until tau of history exists the weight is dt / elapsed instead (the
// time-average since the first bucket), so a slow estimate does not start from one value and call a calm market
// stressed.
@inline function timeWeight(dt: f64, tau: f64, elapsed: f64): f64 {
  const w = dt / (tau + dt);
  return elapsed > 0 && dt / elapsed > w ? dt / elapsed : w;
}

function updateRegime(arena: usize, cfg: usize, slot: usize, ts: i64, buckets: i64, bucketNs: i64): void {
  let flags = ldu(slot, L.S_FLAGS);
  const priced = (flags & (L.SF_MID | L.SF_TRADE)) != 0;
  const quotes = ldf(slot, L.S_BK_QUOTES);
  if (!priced && quotes == 0) return;
  if (!(flags & L.SF_VAR)) {
    flags |= L.SF_VAR;
    stu(slot, L.S_FLAGS, flags);
    sti(slot, L.S_REGIME_FIRST, ts - buckets * bucketNs);
  }
  const tauFast = cfgAt(cfg, L.C_VOL_FAST_NS), tauSlow = cfgAt(cfg, L.C_VOL_SLOW_NS);
  const dt = <f64>(buckets * bucketNs);
  const elapsed = <f64>(ts - ldi(slot, L.S_REGIME_FIRST));
  const wf = timeWeight(dt, tauFast, elapsed), ws = timeWeight(dt, tauSlow, elapsed);
  // A run of empty buckets had no price change: their realised variance, 0, is averaged in with the last one. A
  // return whose square overflowed makes rv Infinity: refused, as observe() refuses it, or the averages would hold
  // Infinity, then NaN, for ever.
  const rv = ldf(slot, L.S_BK_R2) / <f64>buckets;
  if (priced && finite(rv)) {
    const vf = ldf(slot, L.S_VAR_FAST) + wf * (rv - ldf(slot, L.S_VAR_FAST));
    const vs = ldf(slot, L.S_VAR_SLOW) + ws * (rv - ldf(slot, L.S_VAR_SLOW));
    stf(slot, L.S_VAR_FAST, vf);
    stf(slot, L.S_VAR_SLOW, vs);
    stf(slot, L.S_VOL_RATIO, vs > 0 ? Math.sqrt(vf / vs) : 1);
  }
  if (quotes > 0) {
    const spread = ldf(slot, L.S_BK_SPREAD) / quotes;
    if (!(flags & L.SF_SPR)) {
      stf(slot, L.S_SPR_FAST, spread); stf(slot, L.S_SPR_SLOW, spread);
      stu(slot, L.S_FLAGS, flags | L.SF_SPR);
    } else {
      stf(slot, L.S_SPR_FAST, ldf(slot, L.S_SPR_FAST) + wf * (spread - ldf(slot, L.S_SPR_FAST)));
      stf(slot, L.S_SPR_SLOW, ldf(slot, L.S_SPR_SLOW) + ws * (spread - ldf(slot, L.S_SPR_SLOW)));
    }
    const ss = ldf(slot, L.S_SPR_SLOW);
    stf(slot, L.S_LIQ_RATIO, ss > 0 ? ldf(slot, L.S_SPR_FAST) / ss : 1);
  }
  if (ldu(arena, L.H_ANY_REGIME)) {
    // factor = clamp(volRatio^a * liqRatio^b, min, max): only computed when a channel uses the regime mode.
    // a^x as exp(x ln a): AssemblyScript's Math.pow keeps a mutable scratch global. An exponent of 0 gives 1
    // whatever the ratio (as pow(0, 0) = 1), a ratio of 0 with a positive exponent gives 0 (then the minimum).
    const ev = cfgAt(cfg, L.C_REGIME_VOL_EXP), el = cfgAt(cfg, L.C_REGIME_LIQ_EXP);
    let f = Math.exp((ev != 0 ? ev * Math.log(ldf(slot, L.S_VOL_RATIO)) : 0) + (el != 0 ? el * Math.log(ldf(slot, L.S_LIQ_RATIO)) : 0));
    const lo = cfgAt(cfg, L.C_REGIME_MIN), hi = cfgAt(cfg, L.C_REGIME_MAX);
    if (!(f >= lo)) f = lo;
    if (f > hi) f = hi;
    stf(slot, L.S_REGIME, f);
  }
}

// ---- Event validation --------------------------------------------------------------------------------------
// Optional fields: NaN means absent; +-Infinity is never accepted.
@inline function optionalBad(x: f64): bool { return x == Infinity || x == -Infinity; }

function check(kind: u32, f0: f64, f1: f64, f2: f64, f3: f64, f4: f64, f5: f64): u8 {
  if (kind == L.K_TRADE) {
    if (!finite(f0) || !finite(f1) || !finite(f2)) return L.R_NONFINITE;
    if (f0 <= 0 || f1 < 0) return L.R_NEGATIVE;
  } else if (kind == L.K_QUOTE) {
    if (!finite(f0) || !finite(f1) || !finite(f2) || !finite(f3) || optionalBad(f4) || optionalBad(f5)) return L.R_NONFINITE;
    if (f0 <= 0 || f2 <= 0 || f1 < 0 || f3 < 0 || f4 < 0 || f5 < 0) return L.R_NEGATIVE;
    if (f2 < f0) return L.R_CROSSED;
  } else if (kind == L.K_MARK) {
    // mark? index? funding?, at least one of mark and index (an index-only event feeds the fair-value regression).
    if (optionalBad(f0) || optionalBad(f1) || optionalBad(f2) || (f0 != f0 && f1 != f1)) return L.R_NONFINITE;
    if (f0 <= 0 || f1 <= 0) return L.R_NEGATIVE;
  } else if (kind == L.K_OPTION) {
    if (!finite(f0) || optionalBad(f1) || optionalBad(f2) || optionalBad(f3) || optionalBad(f4) || optionalBad(f5)) return L.R_NONFINITE;
    if (f0 < 0 || f1 <= 0 || f2 < 0 || f3 < 0 || f4 < 0 || f5 < 0) return L.R_NEGATIVE;
  } else if (kind == L.K_VALUE) {
    if (!finite(f0)) return L.R_NONFINITE;
  } else {
    return L.R_BAD_KIND;
  }
  return L.R_OK;
}

// ---- Ingest ------------------------------------------------------------------------------------------------
// Processes events [start, end) of the batch until done or until the alert buffer could overflow on the next
// event (fewer than MAX_ALERTS_PER_EVENT records free). Returns the alert records written; H_CONSUMED holds the
// index of the first event not processed, so the host calls again from there.
export function ingest(arena: usize, batch: usize, capacity: i32, start: i32, end: i32, out: usize, outCapacity: i32): i32 {
  const cfg = configPtr(arena);
  const c = <usize>capacity;
  const tsCol = batch, seqCol = batch + (c << 3), idCol = batch + (c << 4), kindCol = batch + c * 20;
  const f0c = batch + c * 24, f1c = batch + c * 32, f2c = batch + c * 40, f3c = batch + c * 48;
  const f4c = batch + c * 56, f5c = batch + c * 64, statusCol = batch + c * 72;
  const auto = cfgAt(cfg, L.C_AUTO_REGISTER) != 0;
  let written = 0;
  let i = start;
  let accepted: i64 = 0;
  for (; i < end; i++) {
    if (outCapacity - written < L.MAX_ALERTS_PER_EVENT) break;
    const k = <usize>i;
    const ts = load<i64>(tsCol + (k << 3));
    let seq = load<i64>(seqCol + (k << 3));
    // Events the producer did not number get the next number; numbered ones move the counter past them.
    if (seq < 0) {
      seq = ldi(arena, L.H_NEXT_SEQ);
      store<i64>(seqCol + (k << 3), seq);
    }
    if (seq >= ldi(arena, L.H_NEXT_SEQ)) sti(arena, L.H_NEXT_SEQ, seq + 1);
    const id = load<u32>(idCol + (k << 2));
    const kind = load<u32>(kindCol + (k << 2));
    const f0 = load<f64>(f0c + (k << 3)), f1 = load<f64>(f1c + (k << 3)), f2 = load<f64>(f2c + (k << 3));
    const f3 = load<f64>(f3c + (k << 3)), f4 = load<f64>(f4c + (k << 3)), f5 = load<f64>(f5c + (k << 3));
    let status = check(kind, f0, f1, f2, f3, f4, f5);
    let slotIndex = -1;
    if (status == L.R_OK) {
      slotIndex = findSlot(arena, id);
      if (slotIndex < 0) {
        if (auto) {
          slotIndex = register(arena, id);
          if (slotIndex < 0) status = L.R_TABLE_FULL;
        } else {
          status = L.R_UNKNOWN_INSTRUMENT;
        }
      }
    }
    let slot: usize = 0;
    if (status == L.R_OK) {
      slot = slotPtr(arena, slotIndex);
      if (ts < ldi(slot, L.S_LAST_TS)) status = L.R_TIME_BACKWARDS;
    }
    store<u8>(statusCol + k, status);
    if (status != L.R_OK) {
      const r = L.H_REJECTS + (<i32>status << 3);
      sti(arena, r, ldi(arena, r) + 1);
      continue;
    }
    sti(slot, L.S_LAST_TS, ts);
    sti(slot, L.S_EVENTS, ldi(slot, L.S_EVENTS) + 1);
    accepted++;
    if (ts >= ldi(slot, L.S_BUCKET_END)) written += closeBuckets(arena, cfg, slot, ts, seq, id, out + <usize>(written * L.AL_BYTES));
    const o = out + <usize>(written * L.AL_BYTES);
    if (kind == L.K_TRADE) written += onTrade(arena, cfg, slot, ts, seq, id, f0, f1, f2, o);
    else if (kind == L.K_QUOTE) written += onQuote(arena, cfg, slot, ts, seq, id, f0, f1, f2, f3, f4, f5, o);
    else if (kind == L.K_MARK) written += onMark(arena, cfg, slot, ts, seq, id, f0, f1, f2, o);
    else if (kind == L.K_OPTION) written += onOption(arena, cfg, slot, ts, seq, id, f0, o);
    else written += onValue(arena, cfg, slot, ts, seq, id, f0, o);
    // The learned channels step at most once each, after all of the event's observations (learned.ts).
    const lv = ld32(arena, L.H_VECTOR_OFF);
    if (lv >= 0) {
      const lvp = slot + <usize>lv;
      const observed = ldu(lvp, L.LV_OBSERVED);
      written += learnedStep(arena, cfg, slot, observed, kind, f0, f1, f2, f3, f4, f5, ts, seq, id, out + <usize>(written * L.AL_BYTES));
      stu(lvp, L.LV_OBSERVED, 0);
    }
  }
  stu(arena, L.H_CONSUMED, <u32>i);
  sti(arena, L.H_ACCEPTED, ldi(arena, L.H_ACCEPTED) + accepted);
  sti(arena, L.H_ALERTS, ldi(arena, L.H_ALERTS) + <i64>written);
  return written;
}

@inline function at(o: usize, k: i32): usize { return o + <usize>(k * L.AL_BYTES); }

// ---- Bucket features -----------------------------------------------------------------------------------------
// Every event adds to its instrument's open-bucket totals (a few scalars in the slot header). The first event past
// the bucket's end closes it: its trade count, size, signed size, squared returns and quote count become one
// observation each of intensity, volume, flow, rvol and quoteRate (features of trades only once trades were seen,
// of quotes once quotes were); the time-weighted means of the book values its quotes set become one observation
// each of imbalance, depth and depthImbalance; the totals are pushed into the time windows; the regime estimators
// take the bucket's realised variance and mean spread. A run of empty buckets in between is observed once, as an
// empty bucket (0 trades, 0 quotes; the book features are not observed for it: nothing on the book changed, and
// leaving them out keeps an event's observations at 13, MAX_ALERTS_PER_EVENT). The bucket the instrument's first
// event fell in began before we were watching, so it is not observed.
//
// Why the book is observed per bucket and not per quote: at ~170 quotes a second the 128-value count window of a
// per-quote feature held under a second of history, so a book that turned one-sided became its own baseline
// within a second; consecutive quotes were near-duplicates, and a flood of them weighed as much as a minute of
// book. A bucket's time-weighted mean, sum(v_i dt_i) / bucketNs (v_i standing for dt_i), counts each state of the
// book by how long it stood, so 29 repeats of a quote within a millisecond weigh a millisecond; the window then
// holds 128 s of book. A book feature is observed for a bucket that had at least one quote and over which the
// value stood throughout (docs/architecture.md has the measurements).
function closeBuckets(arena: usize, cfg: usize, slot: usize, ts: i64, seq: i64, id: u32, out: usize): i32 {
  const flags = ldu(slot, L.S_FLAGS);
  const bucketNs = <i64>cfgAt(cfg, L.C_TIME_WINDOW_NS) / <i64>cfgAt(cfg, L.C_TIME_BUCKETS);
  const b = ts >= 0 ? ts / bucketNs : (ts - bucketNs + 1) / bucketNs;
  sti(slot, L.S_BUCKET_END, (b + 1) * bucketNs);
  if (!(flags & L.SF_BUCKET)) {
    sti(slot, L.S_BUCKET, b);
    stu(slot, L.S_FLAGS, flags | L.SF_BUCKET | L.SF_PARTIAL);
    return 0;
  }
  const cur = ldi(slot, L.S_BUCKET);
  let k = 0;
  const seconds = <f64>bucketNs * 1e-9;
  const trades = (flags & L.SF_TRADE) != 0, quoting = (flags & L.SF_QUOTES) != 0;
  const n = ldf(slot, L.S_BK_TRADES), size = ldf(slot, L.S_BK_VOLUME), signed = ldf(slot, L.S_BK_SIGNED);
  const r2 = ldf(slot, L.S_BK_TRADE_R2), returns = ldf(slot, L.S_BK_RETURNS), quotes = ldf(slot, L.S_BK_QUOTES);
  if (!(flags & L.SF_PARTIAL)) {
    if (trades) {
      k += observe(arena, cfg, slot, L.F_INTENSITY, n / seconds, ts, seq, id, at(out, k));
      k += observe(arena, cfg, slot, L.F_VOLUME, Math.log1p(size), ts, seq, id, at(out, k));
      if (size > 0) k += observe(arena, cfg, slot, L.F_FLOW, signed / size, ts, seq, id, at(out, k));
      if (returns > 0) k += observe(arena, cfg, slot, L.F_RVOL, Math.sqrt(r2), ts, seq, id, at(out, k));
    }
    if (quoting) k += observe(arena, cfg, slot, L.F_QUOTE_RATE, quotes / seconds, ts, seq, id, at(out, k));
    if (quotes > 0 && (flags & L.SF_BOOK_FULL)) {
      // The values standing at the bucket's end complete its areas: mean = (area + v (end - S_BOOK_TS)) / bucketNs.
      const standNs = <f64>((cur + 1) * bucketNs - ldi(slot, L.S_BOOK_TS));
      const lengthNs = <f64>bucketNs;
      if (flags & L.SF_IMB_FULL) {
        const mean = (ldf(slot, L.S_BK_IMB_AREA) + ldf(slot, L.S_BOOK_IMB) * standNs) / lengthNs;
        k += observe(arena, cfg, slot, L.F_IMBALANCE, mean, ts, seq, id, at(out, k));
      }
      if (flags & L.SF_DEPTH_FULL) {
        const mean = (ldf(slot, L.S_BK_DEPTH_AREA) + ldf(slot, L.S_BOOK_DEPTH) * standNs) / lengthNs;
        k += observe(arena, cfg, slot, L.F_DEPTH, mean, ts, seq, id, at(out, k));
      }
      if (flags & L.SF_DIMB_FULL) {
        const mean = (ldf(slot, L.S_BK_DIMB_AREA) + ldf(slot, L.S_BOOK_DIMB) * standNs) / lengthNs;
        k += observe(arena, cfg, slot, L.F_DEPTH_IMB, mean, ts, seq, id, at(out, k));
      }
    }
    updateRegime(arena, cfg, slot, ts, b - cur, bucketNs);
  }
  if (b > cur + 1) {
    if (trades) {
      k += observe(arena, cfg, slot, L.F_INTENSITY, 0, ts, seq, id, at(out, k));
      k += observe(arena, cfg, slot, L.F_VOLUME, 0, ts, seq, id, at(out, k));
    }
    if (quoting) k += observe(arena, cfg, slot, L.F_QUOTE_RATE, 0, ts, seq, id, at(out, k));
  }
  // The closed bucket's totals join the time windows (they hold the last B closed buckets).
  const closedTs = cur * bucketNs;
  if (n > 0) {
    timeWindowPush(timeWindow(arena, slot, L.TW_TRADES), closedTs, n);
    timeWindowPush(timeWindow(arena, slot, L.TW_VOLUME), closedTs, size);
    timeWindowPush(timeWindow(arena, slot, L.TW_FLOW), closedTs, signed);
  }
  if (returns > 0) timeWindowPush(timeWindow(arena, slot, L.TW_RET2), closedTs, r2);
  if (quotes > 0) timeWindowPush(timeWindow(arena, slot, L.TW_QUOTES), closedTs, quotes);
  // Every window moves on to the last closed bucket, pushed into or not, so that it holds the last B closed buckets
  // (not B - 1 and the open one, always empty) and its totals age out when trading stops.
  const lastClosed = (b - 1) * bucketNs;
  for (let t = 0; t < L.N_TIME_WINDOWS; t++) timeWindowAdvance(timeWindow(arena, slot, t), lastClosed);
  sti(slot, L.S_BUCKET, b);
  // The book values standing now stand from the new bucket's start: they have stood for all of it so far.
  const after = ldu(slot, L.S_FLAGS);
  stu(slot, L.S_FLAGS, (after & ~(L.SF_PARTIAL | L.SF_BOOK_FULL)) | ((after & L.SF_BOOK) << 1));
  sti(slot, L.S_BOOK_TS, b * bucketNs);
  stf(slot, L.S_BK_R2, 0); stf(slot, L.S_BK_SPREAD, 0); stf(slot, L.S_BK_QUOTES, 0);
  stf(slot, L.S_BK_TRADES, 0); stf(slot, L.S_BK_VOLUME, 0); stf(slot, L.S_BK_SIGNED, 0);
  stf(slot, L.S_BK_TRADE_R2, 0); stf(slot, L.S_BK_RETURNS, 0);
  stf(slot, L.S_BK_IMB_AREA, 0); stf(slot, L.S_BK_DEPTH_AREA, 0); stf(slot, L.S_BK_DIMB_AREA, 0);
  return k;
}

function onTrade(arena: usize, cfg: usize, slot: usize, ts: i64, seq: i64, id: u32, px: f64, size: f64, side: f64, out: usize): i32 {
  let k = 0;
  const flags = ldu(slot, L.S_FLAGS);
  if (flags & L.SF_TRADE) {
    const last = ldf(slot, L.S_LAST_TRADE_PX);
    const r = (px - last) / last * 1e4;
    if (!(flags & L.SF_QUOTES)) stf(slot, L.S_BK_R2, ldf(slot, L.S_BK_R2) + r * r);
    stf(slot, L.S_BK_TRADE_R2, ldf(slot, L.S_BK_TRADE_R2) + r * r);
    stf(slot, L.S_BK_RETURNS, ldf(slot, L.S_BK_RETURNS) + 1);
    k += observe(arena, cfg, slot, L.F_RETURN, r, ts, seq, id, at(out, k));
  }
  stf(slot, L.S_LAST_TRADE_PX, px);
  stf(slot, L.S_BK_TRADES, ldf(slot, L.S_BK_TRADES) + 1);
  stf(slot, L.S_BK_VOLUME, ldf(slot, L.S_BK_VOLUME) + size);
  stf(slot, L.S_BK_SIGNED, ldf(slot, L.S_BK_SIGNED) + (side > 0 ? size : side < 0 ? -size : 0));
  stu(slot, L.S_FLAGS, ldu(slot, L.S_FLAGS) | L.SF_TRADE);
  return k;
}

function onQuote(arena: usize, cfg: usize, slot: usize, ts: i64, seq: i64, id: u32,
                 bid: f64, bidSize: f64, ask: f64, askSize: f64, bidDepth: f64, askDepth: f64, out: usize): i32 {
  let k = 0;
  const flags = ldu(slot, L.S_FLAGS);
  const mid = 0.5 * (bid + ask);
  const spread = (ask - bid) / mid * 1e4;
  stf(slot, L.S_BK_SPREAD, ldf(slot, L.S_BK_SPREAD) + spread);
  stf(slot, L.S_BK_QUOTES, ldf(slot, L.S_BK_QUOTES) + 1);
  k += observe(arena, cfg, slot, L.F_SPREAD, spread, ts, seq, id, at(out, k));
  if (flags & L.SF_MID) {
    const last = ldf(slot, L.S_LAST_MID);
    const jump = (mid - last) / last * 1e4;
    stf(slot, L.S_BK_R2, ldf(slot, L.S_BK_R2) + jump * jump);
    k += observe(arena, cfg, slot, L.F_MID_JUMP, jump, ts, seq, id, at(out, k));
  }
  stf(slot, L.S_LAST_MID, mid);
  // Book features: the values that stood until now join the open bucket's areas (value x ns stood), then this
  // quote's values stand. A quote that leaves a feature undefined (no size at the top, no depth, depth 0) ends its
  // value: the bucket it falls in is not observed for that feature (closeBuckets).
  let bf = ldu(slot, L.S_FLAGS) | L.SF_MID | L.SF_QUOTES;
  const standNs = <f64>(ts - ldi(slot, L.S_BOOK_TS));
  sti(slot, L.S_BOOK_TS, ts);
  if (bf & L.SF_IMB) stf(slot, L.S_BK_IMB_AREA, ldf(slot, L.S_BK_IMB_AREA) + ldf(slot, L.S_BOOK_IMB) * standNs);
  if (bf & L.SF_DEPTH) stf(slot, L.S_BK_DEPTH_AREA, ldf(slot, L.S_BK_DEPTH_AREA) + ldf(slot, L.S_BOOK_DEPTH) * standNs);
  if (bf & L.SF_DIMB) stf(slot, L.S_BK_DIMB_AREA, ldf(slot, L.S_BK_DIMB_AREA) + ldf(slot, L.S_BOOK_DIMB) * standNs);
  const top = bidSize + askSize;
  if (top > 0) {
    stf(slot, L.S_BOOK_IMB, (bidSize - askSize) / top);
    bf |= L.SF_IMB;
  } else {
    bf &= ~(L.SF_IMB | L.SF_IMB_FULL);
  }
  if (bidDepth == bidDepth && askDepth == askDepth) {
    const depth = bidDepth + askDepth;
    stf(slot, L.S_BOOK_DEPTH, depth);
    bf |= L.SF_DEPTH;
    if (depth > 0) {
      stf(slot, L.S_BOOK_DIMB, (bidDepth - askDepth) / depth);
      bf |= L.SF_DIMB;
    } else {
      bf &= ~(L.SF_DIMB | L.SF_DIMB_FULL);
    }
  } else {
    bf &= ~(L.SF_DEPTH | L.SF_DEPTH_FULL | L.SF_DIMB | L.SF_DIMB_FULL);
  }
  stu(slot, L.S_FLAGS, bf);
  return k;
}

function onMark(arena: usize, cfg: usize, slot: usize, ts: i64, seq: i64, id: u32, mark: f64, index: f64, funding: f64, out: usize): i32 {
  let k = 0;
  if (index == index && mark == mark) k += observe(arena, cfg, slot, L.F_BASIS, (mark - index) / index * 1e4, ts, seq, id, at(out, k));
  if (funding == funding) k += observe(arena, cfg, slot, L.F_FUNDING, funding, ts, seq, id, at(out, k));
  return k;
}

function onOption(arena: usize, cfg: usize, slot: usize, ts: i64, seq: i64, id: u32, iv: f64, out: usize): i32 {
  let k = 0;
  const flags = ldu(slot, L.S_FLAGS);
  if (flags & L.SF_IV) k += observe(arena, cfg, slot, L.F_IV_CHANGE, iv - ldf(slot, L.S_LAST_IV), ts, seq, id, at(out, k));
  stf(slot, L.S_LAST_IV, iv);
  stu(slot, L.S_FLAGS, flags | L.SF_IV);
  return k;
}

function onValue(arena: usize, cfg: usize, slot: usize, ts: i64, seq: i64, id: u32, v: f64, out: usize): i32 {
  let k = 0;
  const flags = ldu(slot, L.S_FLAGS);
  k += observe(arena, cfg, slot, L.F_VALUE, v, ts, seq, id, at(out, k));
  if (flags & L.SF_VALUE) k += observe(arena, cfg, slot, L.F_VALUE_CHANGE, v - ldf(slot, L.S_LAST_VALUE), ts, seq, id, at(out, k));
  stf(slot, L.S_LAST_VALUE, v);
  stu(slot, L.S_FLAGS, flags | L.SF_VALUE);
  return k;
}

