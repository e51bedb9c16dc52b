// atc WASM ABI (version: abi_version()): numbers and pointers only. docs/abi.md documents every export.
//
// Linear memory, as the host lays it out (the module imports it as env.memory):
//   [0, heap_base)            the module's static data (math tables); never written by the host
//   arena (16-byte aligned)    header | config f64[C_LEN] | learned models | instrument table | slots  (arena_bytes(config))
//   batch (8-byte aligned)     ts i64[C] | seq i64[C] | id u32[C] | kind u32[C] | f0..f5 f64[C] | status u8[C]
//   alerts                     64-byte records
// Nothing here allocates; no state lives in globals: every call names the arena it works on.
import * as L from "./layout";
import { ldf, ldi, ldu, ld32, stf } from "./util";
import * as E from "./engine";
import { cfgAt, channelPtr, noveltyPtr, rateNow } from "./channel";
import * as W from "./window";
import * as X from "./ewma";
import * as T from "./timewin";
import { learnedOf, learnedBlock, learnedCfg, LS_MODE } from "./learned";

export function abi_version(): u32 { return L.ABI_VERSION; }
export function heap_base(): usize { return __heap_base; }
export function config_len(): i32 { return L.C_LEN; }
export function max_alerts_per_event(): i32 { return L.MAX_ALERTS_PER_EVENT; }
export function alert_bytes(): i32 { return L.AL_BYTES; }
export function batch_bytes(capacity: i32): i32 { return capacity * L.BATCH_BYTES_PER_EVENT; }

// ---- Arena -------------------------------------------------------------------------------------------------
// Bytes of arena for the configuration at `config` (C_LEN f64 values), or a negative error code.
export function arena_bytes(config: usize): i32 { return <i32>E.arenaBytes(config); }
export function validate_config(config: usize): i32 { return E.validateConfig(config); }
// Lays out a fresh arena (16-byte aligned) from the configuration. 0 or a negative error code.
export function init(arena: usize, config: usize): i32 { return E.init(arena, config); }
// After the host copies snapshot bytes to `arena`: 0 if they are an arena of this ABI of exactly `bytes` bytes.
export function restore_check(arena: usize, bytes: i32): i32 {
  if (!E.arenaValid(arena)) return L.E_BAD_ARENA;
  if (ldi(arena, L.H_TOTAL_BYTES) != <i64>bytes) return L.E_BAD_ARENA;
  if (ld32(arena, L.H_CFG) != L.HEADER_BYTES) return L.E_BAD_ARENA;
  const err = E.validateConfig(E.configPtr(arena));
  if (err < 0) return err;
  if (!E.layoutMatches(arena)) return L.E_BAD_ARENA;
  E.refreshDerived(arena);
  return 0;
}
export function arena_total(arena: usize): i32 { return <i32>ldi(arena, L.H_TOTAL_BYTES); }
export function config_ptr(arena: usize): usize { return E.configPtr(arena); }
export function slot_bytes(arena: usize): i32 { return <i32>ldu(arena, L.H_SLOT_BYTES); }

// ---- Instruments -------------------------------------------------------------------------------------------
export function register(arena: usize, id: u32): i32 { return E.register(arena, id); }
export function slot_of(arena: usize, id: u32): i32 { return E.findSlot(arena, id); }
export function instrument_count(arena: usize): i32 { return <i32>ldu(arena, L.H_N_INSTRUMENTS); }
export function instrument_id(arena: usize, slot: i32): u32 {
  if (slot < 0 || slot >= <i32>ldu(arena, L.H_N_INSTRUMENTS)) return 0xffffffff;
  return ldu(E.slotPtr(arena, slot), L.S_ID);
}

// ---- Ingest ------------------------------------------------------------------------------------------------
// Events [start, end) of the batch region of `capacity` events at `batch`; alert records to `alerts`.
export function ingest(arena: usize, batch: usize, capacity: i32, start: i32, end: i32, alerts: usize, alertCapacity: i32): i32 {
  if (start < 0 || end < start || end > capacity || alertCapacity < L.MAX_ALERTS_PER_EVENT || (batch & 7) || (alerts & 7)) return L.E_BAD_ARGUMENT;
  return E.ingest(arena, batch, capacity, start, end, alerts, alertCapacity);
}
export function consumed(arena: usize): i32 { return <i32>ldu(arena, L.H_CONSUMED); }
// 0 accepted events, 1 alerts, 2 + r events rejected for reason r (1..7).
export function counter(arena: usize, which: i32): f64 {
  if (which == 0) return <f64>ldi(arena, L.H_ACCEPTED);
  if (which == 1) return <f64>ldi(arena, L.H_ALERTS);
  const r = which - 2;
  if (r >= 1 && r < L.N_REJECT) return <f64>ldi(arena, L.H_REJECTS + (r << 3));
  return NaN;
}

// ---- Thresholds, live ----------------------------------------------------------------------------------------
// Calibrator mode and base threshold of (feature, detector) for every instrument. State is kept. A learned channel
// is named by its alert ids (feature 16 vector, detector 6 hst, ...): E_NOT_FOUND when it is not enabled.
export function set_channel(arena: usize, feature: i32, detector: i32, mode: i32, threshold: f64): i32 {
  const k = learnedOf(feature, detector);
  if (k < 0 && (feature < 0 || feature >= L.N_FEATURES || detector < 0 || detector >= L.N_DETECTORS)) return L.E_BAD_ARGUMENT;
  if (mode < 0 || mode > 3 || !(threshold > 0)) return L.E_BAD_ARGUMENT;
  const cfg = E.configPtr(arena);
  let ci = 0;
  if (k >= 0) {
    if (ld32(arena, L.H_LEARNED_OFF + (k << 2)) < 0) return L.E_NOT_FOUND;
    // k of n fires at k members, statically (validate_config requires it): any other setting would leave a
    // configuration (and so a snapshot) the engine itself refuses.
    if (k == L.K_COMBINED && cfgAt(cfg, L.C_COMBINE_KIND) == 1 && (mode != L.M_STATIC || threshold != cfgAt(cfg, L.C_COMBINE_K))) return L.E_BAD_ARGUMENT;
    ci = learnedCfg(k, LS_MODE);
  } else {
    ci = L.C_CHANNEL_BASE + 2 * (feature * L.N_DETECTORS + detector);
  }
  stf(cfg, ci << 3, <f64>mode);
  stf(cfg, (ci + 1) << 3, threshold);
  E.refreshDerived(arena);
  return 0;
}
// The threshold one instrument uses in the fixed mode (an offline calibration). NaN clears it.
export function set_instrument_threshold(arena: usize, id: u32, feature: i32, detector: i32, threshold: f64): i32 {
  const ch = channel(arena, id, feature, detector);
  if (ch == 0) return L.E_NOT_FOUND;
  if (threshold == threshold && !(threshold > 0)) return L.E_BAD_ARGUMENT;
  // A k-of-n combination's threshold is k, for every instrument.
  if (learnedOf(feature, detector) == L.K_COMBINED && cfgAt(E.configPtr(arena), L.C_COMBINE_KIND) == 1) return L.E_BAD_ARGUMENT;
  stf(ch, L.CH_FIXED, threshold);
  return 0;
}

// ---- Reading state -------------------------------------------------------------------------------------------
function block(arena: usize, id: u32, feature: i32): usize {
  if (feature < 0 || feature >= L.N_FEATURES) return 0;
  const slot = E.findSlot(arena, id);
  if (slot < 0) return 0;
  const off = ld32(arena, L.H_FEATURE_OFF + (feature << 2));
  if (off < 0) return 0;
  return E.slotPtr(arena, slot) + <usize>off;
}
function channel(arena: usize, id: u32, feature: i32, detector: i32): usize {
  const k = learnedOf(feature, detector);
  if (k >= 0) {
    const slot = E.findSlot(arena, id);
    if (slot < 0) return 0;
    const lb = learnedBlock(arena, E.slotPtr(arena, slot), k);
    return lb == 0 ? 0 : lb + <usize>L.LB_CHANNEL;
  }
  if (detector < 0 || detector >= L.N_DETECTORS) return 0;
  const fb = block(arena, id, feature);
  if (fb == 0) return 0;
  return channelPtr(fb, detector);
}
// stat: 0 count, 1 mean, 2 variance, 3 min, 4 max, 5 median, 6 MAD, 7 EWMA mean, 8 EWMA variance,
// 9 observations, 10 last value, 11 observations per hour, 12 and 13 the lowest and highest value the novelty
// detector has seen (NaN without it). NaN when unknown.
export function feature_stat(arena: usize, id: u32, feature: i32, stat: i32): f64 {
  const fb = block(arena, id, feature);
  if (fb == 0) return NaN;
  const win = fb + <usize>L.FB_HEADER_BYTES;
  const e = fb + <usize>L.FB_EWMA;
  switch (stat) {
    case 0: return <f64>W.windowCount(win);
    case 1: return W.windowMean(win);
    case 2: return W.windowVar(win);
    case 3: return W.windowMin(win);
    case 4: return W.windowMax(win);
    case 5: return W.windowMedian(win);
    case 6: return W.windowMad(win);
    case 7: return X.ewmaMean(e);
    case 8: return X.ewmaVar(e);
    case 9: return <f64>ldi(fb, L.FB_OBS);
    case 10: return ldi(fb, L.FB_OBS) == 0 ? NaN : ldf(fb, L.FB_LAST);
    case 11: return rateNow(fb, ldi(E.slotPtr(arena, E.findSlot(arena, id)), L.S_LAST_TS));
    case 12:
    case 13: {
      // The range of the values the novelty detector has seen (what the next value is judged against).
      const mask = <i32>cfgAt(E.configPtr(arena), L.C_FEATURE_BASE + 3 * feature + 1);
      if (!(mask & (1 << L.D_NOVELTY))) return NaN;
      const nv = noveltyPtr(fb);
      if (!ldu(nv, L.NV_READY)) return NaN;
      const v = ldf(nv, stat == 12 ? L.NV_LO : L.NV_HI);
      return v - v == 0 ? v : NaN; // +-Infinity before the first value is learnt
    }
  }
  return NaN;
}
export function feature_quantile(arena: usize, id: u32, feature: i32, q: f64): f64 {
  const fb = block(arena, id, feature);
  return fb == 0 ? NaN : W.windowQuantile(fb + <usize>L.FB_HEADER_BYTES, q);
}
// stat: 0 last score, 1 last threshold, 2 alerts, 3 exceedances, 4 calibrator scores seen, 5 calibrator base
// quantile u, 6 1 while in an episode, 7 instrument threshold (fixed mode). Learned channels by their alert ids
// (feature 16, detector 6: HST); for them 8 the steps taken, 9 the kernel's last raw score.
export function channel_stat(arena: usize, id: u32, feature: i32, detector: i32, stat: i32): f64 {
  const ch = channel(arena, id, feature, detector);
  if (ch == 0) return NaN;
  switch (stat) {
    case 0: return ldf(ch, L.CH_LAST_SCORE);
    case 1: return ldf(ch, L.CH_LAST_THR);
    case 2: return <f64>ldi(ch, L.CH_ALERTS);
    case 3: return <f64>ldi(ch, L.CH_EXCEED);
    case 4: return <f64>ldi(ch, L.CH_N);
    case 5: return ldf(ch, L.CH_U);
    case 6: return <f64>ldu(ch, L.CH_EPISODE);
    case 7: return ldf(ch, L.CH_FIXED);
    case 8:
    case 9: {
      if (learnedOf(feature, detector) < 0) return NaN;
      const lb = ch - <usize>L.LB_CHANNEL;
      return stat == 8 ? <f64>ldi(lb, L.FB_OBS) : ldf(lb, L.FB_LAST);
    }
  }
  return NaN;
}
// 0 volatility ratio (fast/slow), 1 liquidity ratio (spread fast/slow), 2 regime factor, 3 regime code,
// 4 accepted events, 5 last timestamp (ns, as f64); over the time window (the last B closed buckets): 6 trades,
// 7 size traded, 8 signed size, 9 quote updates, 10 realised volatility (sqrt of the sum of squared trade returns, bps).
export function instrument_stat(arena: usize, id: u32, stat: i32): f64 {
  const s = E.findSlot(arena, id);
  if (s < 0) return NaN;
  const slot = E.slotPtr(arena, s);
  switch (stat) {
    case 0: return ldf(slot, L.S_VOL_RATIO);
    case 1: return ldf(slot, L.S_LIQ_RATIO);
    case 2: return ldf(slot, L.S_REGIME);
    case 3: return <f64>regimeOf(ldf(slot, L.S_VOL_RATIO));
    case 4: return <f64>ldi(slot, L.S_EVENTS);
    case 5: return <f64>ldi(slot, L.S_LAST_TS);
    case 6: return T.timeWindowSum(E.timeWindowOf(arena, slot, L.TW_TRADES));
    case 7: return T.timeWindowSum(E.timeWindowOf(arena, slot, L.TW_VOLUME));
    case 8: return T.timeWindowSum(E.timeWindowOf(arena, slot, L.TW_FLOW));
    case 9: return T.timeWindowSum(E.timeWindowOf(arena, slot, L.TW_QUOTES));
    case 10: return Math.sqrt(T.timeWindowSum(E.timeWindowOf(arena, slot, L.TW_RET2)));
  }
  return NaN;
}
import { regimeCode as regimeOf } from "./channel";

// ---- Kernels, exported for embedders and for the tests that hold them against the TypeScript twin --------
export function window_bytes(w: i32, order: i32): i32 { return W.windowBytes(w, order != 0); }
// order: 1 to keep the sorted copy (quantiles, median, MAD), 0 for mean and variance only.
export function window_init(p: usize, w: i32, order: i32): void { W.windowInit(p, w, order != 0); }
export function window_push(p: usize, x: f64): void { W.windowPush(p, x); }
export function window_count(p: usize): i32 { return W.windowCount(p); }
export function window_mean(p: usize): f64 { return W.windowMean(p); }
export function window_var(p: usize): f64 { return W.windowVar(p); }
export function window_min(p: usize): f64 { return W.windowMin(p); }
export function window_max(p: usize): f64 { return W.windowMax(p); }
export function window_median(p: usize): f64 { return W.windowMedian(p); }
export function window_mad(p: usize): f64 { return W.windowMad(p); }
export function window_quantile(p: usize, q: f64): f64 { return W.windowQuantile(p, q); }
// Push n values from a f64 array: the batched form for benchmarks and hosts.
export function window_push_many(p: usize, xs: usize, n: i32): void { W.windowPushMany(p, xs, n); }

export function ewma_bytes(): i32 { return L.E_BYTES; }
export function ewma_init(p: usize, alpha: f64): void { X.ewmaInit(p, alpha); }
export function ewma_push(p: usize, x: f64): void { X.ewmaPush(p, x); }
export function ewma_mean(p: usize): f64 { return X.ewmaMean(p); }
export function ewma_var(p: usize): f64 { return X.ewmaVar(p); }

export function time_window_bytes(b: i32): i32 { return T.timeWindowBytes(b); }
export function time_window_init(p: usize, b: i32, bucketNs: i64): void { T.timeWindowInit(p, b, bucketNs); }
export function time_window_push(p: usize, ts: i64, x: f64): void { T.timeWindowPush(p, ts, x); }
export function time_window_advance(p: usize, ts: i64): void { T.timeWindowAdvance(p, ts); }
export function time_window_count(p: usize): f64 { return T.timeWindowCount(p); }
export function time_window_sum(p: usize): f64 { return T.timeWindowSum(p); }
export function time_window_sum_sq(p: usize): f64 { return T.timeWindowSumSq(p); }
export function time_window_mean(p: usize): f64 { return T.timeWindowMean(p); }
export function time_window_var(p: usize): f64 { return T.timeWindowVar(p); }
export function time_window_min(p: usize): f64 { return T.timeWindowMin(p); }
export function time_window_max(p: usize): f64 { return T.timeWindowMax(p); }
