// Instrument-level ("learned") channels: detectors that score the instrument as a whole (a vector of its latest
// feature values) rather than one feature. Channel index c = N_TABLE_CHANNELS + k (k 0 Half-Space Trees, 1 one-class
// SVM, 2 RLS residuals, 3 the combination). Each has a block in the slot (learned block:
// a feature-block header for the observation rate, the channel state, the vector it last stepped on, the kernel
// state) and goes through the same channelStep as the (feature, detector) channels. docs/architecture.md,
// "Instrument-level channels", has the why.
import { ldf, stf, ldi, sti, ldu, stu, ld32 } from "./util";
import * as L from "./layout";
import { cfgAt, channelStep, rateUpdate } from "./channel";
import { hstStep } from "./hst";
import { ocStep } from "./ocsvm";
import { rlsStep, rlsStateInit, RLS_M_BYTES } from "./rls";

// Configuration index of value i of learned section k; the mode and base threshold of every section sit at 10, 11.
@inline export function learnedCfg(k: i32, i: i32): i32 { return L.C_LEARNED_BASE + L.C_LEARNED_SECTION * k + i; }
export const LS_ENABLED: i32 = 0;
export const LS_FEATURES: i32 = 1;
export const LS_MODE: i32 = 10;
export const LS_THRESHOLD: i32 = 11;

// The learned channel (k) named by an alert's (feature, detector) pair, or -1.
export function learnedOf(feature: i32, detector: i32): i32 {
  if (feature == L.F_VECTOR && detector == L.D_HST) return L.K_HST;
  if (feature == L.F_VECTOR && detector == L.D_OCSVM) return L.K_OCSVM;
  if (feature == L.F_FAIR_VALUE && detector == L.D_RLS) return L.K_RLS;
  if (feature == L.F_VECTOR && detector == L.D_COMBINED) return L.K_COMBINED;
  return -1;
}

// -log2(m) for m in (0, 1): m = f 2^e with f in [sqrt(1/2), sqrt(2)), ln f = 2 atanh(t), t = (f - 1) / (f + 1),
// |t| <= 0.1716, by its series to t^19 (remainder < 1e-17 relative). Plain + * / only, in the same order as the
// twin (src/reference/learned.ts), so both give the same bits: no Math.log, whose implementations differ.
const SQRT2: f64 = 1.4142135623730951;
const LOG2E: f64 = 1.4426950408889634;
export function negLog2(m: f64): f64 {
  const bits = reinterpret<u64>(m);
  let e = <i32>((bits >> 52) & 0x7ff) - 1023;
  let f = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (f > SQRT2) { f = f * 0.5; e += 1; }
  const t = (f - 1) / (f + 1);
  const t2 = t * t;
  let p = 1.0 / 19.0;
  p = p * t2 + 1.0 / 17.0;
  p = p * t2 + 1.0 / 15.0;
  p = p * t2 + 1.0 / 13.0;
  p = p * t2 + 1.0 / 11.0;
  p = p * t2 + 1.0 / 9.0;
  p = p * t2 + 1.0 / 7.0;
  p = p * t2 + 1.0 / 5.0;
  p = p * t2 + 1.0 / 3.0;
  p = p * t2 + 1.0;
  const ln = 2 * t * p;
  return 0 - (<f64>e + ln * LOG2E);
}

// The HST kernel's score s in [0, 1] (1 - mass fraction) as the channel's score: -log2(1 - s), bits of mass
// missing, >= 0; 0 for s = 0 (and NaN), the cap for s >= 1 (the kernel floors a terminal mass at half a point, so
// s < 1 and the score stays below log2(2 x its largest sum)).
export function hstChannelScore(s: f64, cap: f64): f64 {
  const m = 1 - s;
  if (!(m < 1)) return 0; // s <= 0, or NaN
  if (!(m > 0)) return cap;
  const v = negLog2(m);
  return v <= cap ? v : v > cap ? cap : 0;
}

// After an event's observations, every enabled learned channel steps at most once: the vector detectors (HST,
// one-class SVM) when the event observed a feature of their mask, RLS when it updated one of the regressors of the
// instrument's model, then the combination when one of its members scored. Returns the alert records written.
export function learnedStep(arena: usize, cfg: usize, slot: usize, observed: u32, kind: u32,
                            f0: f64, f1: f64, f2: f64, f3: f64, f4: f64, f5: f64,
                            ts: i64, seq: i64, id: u32, out: usize): i32 {
  let written = 0;
  if (observed & ldu(arena, L.H_LEARNED_MASK)) {
    written += vectorStep(arena, cfg, slot, L.K_HST, observed, ts, seq, id, out);
    written += vectorStep(arena, cfg, slot, L.K_OCSVM, observed, ts, seq, id, out + <usize>(written * L.AL_BYTES));
  }
  const rls = ld32(arena, L.H_LEARNED_OFF + (L.K_RLS << 2));
  if (rls >= 0) written += rlsEvent(arena, cfg, slot, slot + <usize>rls, kind, f0, f1, f2, f3, f4, f5, ts, seq, id, out + <usize>(written * L.AL_BYTES));
  const comb = ld32(arena, L.H_LEARNED_OFF + (L.K_COMBINED << 2));
  if (comb >= 0) written += combineStep(arena, cfg, slot, slot + <usize>comb, ts, seq, id, out + <usize>(written * L.AL_BYTES));
  return written;
}

// A vector detector (k = K_HST or K_OCSVM): over the instrument's latest value of each feature in its mask, in
// feature order (0 for one never observed: a constant dimension).
function vectorStep(arena: usize, cfg: usize, slot: usize, k: i32, observed: u32, ts: i64, seq: i64, id: u32, out: usize): i32 {
  const off = ld32(arena, L.H_LEARNED_OFF + (k << 2));
  if (off < 0) return 0;
  const mask = <u32>cfgAt(cfg, learnedCfg(k, LS_FEATURES));
  if (!(observed & mask)) return 0;
  const last = slot + <usize>ld32(arena, L.H_VECTOR_OFF) + <usize>L.LV_LAST_F;
  const lb = slot + <usize>off;
  const x = lb + <usize>L.LB_VECTOR;
  let j: usize = 0;
  for (let f = 0; f < L.N_FEATURES; f++) {
    if (mask & (1 << f)) {
      store<f64>(x + (j << 3), ldf(last, f << 3));
      j++;
    }
  }
  const st = lb + <usize>L.LB_STATE;
  const model = arena + <usize>ld32(arena, L.H_MODEL_OFF + (k << 2));
  const cap = cfgAt(cfg, L.C_SCORE_CAP);
  rateUpdate(lb, cfg, ts);
  sti(lb, L.FB_OBS, ldi(lb, L.FB_OBS) + 1);
  if (k == L.K_HST) {
    const warm = load<u32>(st, 16) != 0; // the kernel scores 0 until its first window is complete
    const s = hstStep(st, model, x);
    stf(lb, L.FB_LAST, s);
    if (!warm) return 0;
    const score = hstChannelScore(s, cap);
    return 1 & channelStep(arena, cfg, slot, lb, lb + <usize>L.LB_CHANNEL, L.C_HST_MODE, L.F_VECTOR, L.D_HST,
                           score, s, NaN, ts, seq, id, out);
  }
  // One-class SVM: the margin violation over its running scale, 0 inside the margin and during the warm-up.
  const warm = load<i64>(st, 40) >= <i64>load<u32>(st, 12);
  const s = ocStep(st, model, x);
  stf(lb, L.FB_LAST, s);
  if (!warm) return 0;
  return 1 & channelStep(arena, cfg, slot, lb, lb + <usize>L.LB_CHANNEL, L.C_OCSVM_MODE, L.F_VECTOR, L.D_OCSVM,
                         s <= cap ? s : s > cap ? cap : 0, s, NaN, ts, seq, id, out);
}

// ---- RLS: price away from fair value --------------------------------------------------------------------------
@inline function isPrice(s: i32): bool { return (L.RS_PRICES & (1 << s)) != 0; }

// Series s takes value v at ts; a price series' first finite value becomes its anchor.
@inline function putSeries(rs: usize, s: i32, v: f64, ts: i64): u32 {
  stf(rs, L.RS_VALUES + (s << 3), v);
  sti(rs, L.RS_TS + (s << 3), ts);
  stu(rs, L.RS_SEEN, ldu(rs, L.RS_SEEN) | (1 << s));
  const anchored = ldu(rs, L.RS_ANCHORED);
  if (isPrice(s) && !(anchored & (1 << s)) && v - v == 0) {
    stf(rs, L.RS_ANCHORS + (s << 3), v);
    stu(rs, L.RS_ANCHORED, anchored | (1 << s));
  }
  return 1 << s;
}

// Series s in the regression's units: a price as basis points of its own anchor, (p - A_s) / A_s x 1e4; the rest as
// is. Each series has its own anchor so that series in different currencies (an option's premium in BTC, its
// underlying in USD) are each O(their moves) in bps. The offsets between the series' anchors ((A_s - A_t) / A_t x
// 1e4 between two series that track each other) are constants: the kernel centres y and x (running means), so the
// intercept absorbs them and the slopes and residuals are those of one common anchor. Until a series has its anchor
// (no finite value yet) its units are not finite and the kernel refuses the point.
@inline function seriesUnits(rs: usize, s: i32): f64 {
  const v = ldf(rs, L.RS_VALUES + (s << 3));
  if (!isPrice(s)) return v;
  if (!(ldu(rs, L.RS_ANCHORED) & (1 << s))) return NaN;
  const a = ldf(rs, L.RS_ANCHORS + (s << 3));
  return (v - a) / a * 1e4;
}

// The RLS model an instrument uses: 2 (option) once it has had an option event, else 1 (price).
@inline export function rlsModelOf(rs: usize): u32 { return (ldu(rs, L.RS_FLAGS) & 2) != 0 ? 2 : 1; }
@inline export function rlsModelPtr(arena: usize, model: u32): usize {
  return arena + <usize>ld32(arena, L.H_MODEL_OFF + (L.K_RLS << 2)) + (model == 2 ? <usize>RLS_M_BYTES : 0);
}
export function rlsInitState(arena: usize, cfg: usize, rs: usize, model: u32): void {
  const o = model == 2;
  rlsStateInit(rs + <usize>L.RS_BYTES, rlsModelPtr(arena, model), cfgAt(cfg, L.C_RLS_LAMBDA),
               cfgAt(cfg, o ? L.C_RLS_OPTION_DELTA : L.C_RLS_PRICE_DELTA), <i32>cfgAt(cfg, L.C_RLS_WARMUP),
               cfgAt(cfg, o ? L.C_RLS_OPTION_MIN_SCALE : L.C_RLS_PRICE_MIN_SCALE), cfgAt(cfg, L.C_RLS_CLIP));
  stu(rs, L.RS_MODEL, model);
}

function rlsEvent(arena: usize, cfg: usize, slot: usize, lb: usize, kind: u32,
                  f0: f64, f1: f64, f2: f64, f3: f64, f4: f64, f5: f64, ts: i64, seq: i64, id: u32, out: usize): i32 {
  const rs = lb + <usize>L.LB_STATE;
  let upd: u32 = 0;
  if (kind == L.K_QUOTE) {
    upd = putSeries(rs, L.RS_MID, 0.5 * (f0 + f2), ts);
  } else if (kind == L.K_TRADE) {
    upd = putSeries(rs, L.RS_TRADE, f0, ts);
  } else if (kind == L.K_MARK) {
    if (f0 == f0) upd |= putSeries(rs, L.RS_MARK, f0, ts);
    if (f1 == f1) upd |= putSeries(rs, L.RS_INDEX, f1, ts);
  } else if (kind == L.K_OPTION) {
    stu(rs, L.RS_FLAGS, ldu(rs, L.RS_FLAGS) | 2);
    upd = putSeries(rs, L.RS_MARK_IV, f0, ts);
    if (f1 == f1) upd |= putSeries(rs, L.RS_UNDERLYING, f1, ts);
    if (f3 == f3 && f4 == f4) upd |= putSeries(rs, L.RS_IV_MID, 0.5 * (f3 + f4), ts);
    if (f5 == f5) upd |= putSeries(rs, L.RS_NEIGHBOUR_IV, f5, ts);
  } else {
    upd = putSeries(rs, L.RS_VALUE, f0, ts);
  }
  // Step when the event updated a regressor, every series of the model has a value, and every one of them (target
  // and regressors) is at most maxStale old: a series this event updated is fresh, the others must be too.
  const model = rlsModelOf(rs);
  const target = <i32>cfgAt(cfg, model == 2 ? L.C_RLS_OPTION_TARGET : L.C_RLS_PRICE_TARGET);
  const xmask = <u32>cfgAt(cfg, model == 2 ? L.C_RLS_OPTION_X : L.C_RLS_PRICE_X);
  if (!(upd & xmask)) return 0;
  const need = xmask | (1 << target);
  if ((ldu(rs, L.RS_SEEN) & need) != need) return 0;
  const stale = cfgAt(cfg, L.C_RLS_MAX_STALE_NS);
  for (let s = 0; s < L.N_SERIES; s++) {
    if ((need & ~upd) & (1 << s)) {
      if (<f64>(ts - ldi(rs, L.RS_TS + (s << 3))) > stale) return 0;
    }
  }
  if (ldu(rs, L.RS_MODEL) != model) rlsInitState(arena, cfg, rs, model);
  // The point: y, then the regressors in series order.
  const pt = lb + <usize>L.LB_VECTOR;
  store<f64>(pt, seriesUnits(rs, target));
  let j: usize = 1;
  for (let s = 0; s < L.N_SERIES; s++) {
    if (xmask & (1 << s)) {
      store<f64>(pt + (j << 3), seriesUnits(rs, s));
      j++;
    }
  }
  const st = rs + <usize>L.RS_BYTES;
  const n = load<i64>(st, 16);
  const warm = n >= <i64>load<u32>(st, 8);
  rateUpdate(lb, cfg, ts);
  sti(lb, L.FB_OBS, ldi(lb, L.FB_OBS) + 1);
  const s = rlsStep(st, rlsModelPtr(arena, model), pt);
  stf(lb, L.FB_LAST, s);
  // A refused point (a value beyond the kernel's range) is not judged.
  if (!warm || load<i64>(st, 16) == n) return 0;
  const cap = cfgAt(cfg, L.C_SCORE_CAP);
  // The alert reports the target in its own units, and the prediction mapped back to them.
  const v = ldf(rs, L.RS_VALUES + (target << 3));
  const yhat = load<f64>(st, 72);
  let expected = yhat;
  if (isPrice(target)) {
    const a = ldf(rs, L.RS_ANCHORS + (target << 3));
    expected = a + yhat / 1e4 * a;
  }
  return 1 & channelStep(arena, cfg, slot, lb, lb + <usize>L.LB_CHANNEL, L.C_RLS_MODE, L.F_FAIR_VALUE, L.D_RLS,
                         s <= cap ? s : s > cap ? cap : 0, v, expected, ts, seq, id, out);
}

// ---- The combination ------------------------------------------------------------------------------------------
// On every event where a member scored (so that an episode ends when the members calm down). k of n: the number of
// members whose last exceedance lies within the window (it reaches k on an event where a member exceeds). Combined
// score: the mean over the members of min(cap, score / threshold) of their last score within the window (0 for a
// member without one). Either goes through channelStep.
function combineStep(arena: usize, cfg: usize, slot: usize, lb: usize, ts: i64, seq: i64, id: u32, out: usize): i32 {
  const cb = lb + <usize>L.LB_STATE;
  const ev = ldu(cb, L.CB_EVENT);
  if (ev == 0) return 0;
  stu(cb, L.CB_EVENT, 0);
  const kOfN = cfgAt(cfg, L.C_COMBINE_KIND) == 1;
  const window = <i64>cfgAt(cfg, L.C_COMBINE_WINDOW_NS);
  const lim = ts < i64.MIN_VALUE + window ? i64.MIN_VALUE : ts - window;
  const cap = cfgAt(cfg, L.C_COMBINE_CAP);
  let sum = 0.0;
  let n = 0;
  for (let m = 0; m < L.COMBINE_MAX_MEMBERS; m++) {
    if (!(cfgAt(cfg, L.C_COMBINE_MEMBERS + m) >= 0)) continue;
    n++;
    const p = cb + <usize>(L.CB_MEMBERS + m * L.CB_MEMBER_BYTES);
    if (kOfN) {
      const t = ldi(p, L.CB_EXCEED_TS);
      if (t != i64.MIN_VALUE && t >= lim) sum += 1;
    } else {
      const t = ldi(p, L.CB_OBS_TS);
      if (t != i64.MIN_VALUE && t >= lim) {
        const r = ldf(p, L.CB_RATIO);
        sum += r < cap ? r : cap;
      }
    }
  }
  const score = kOfN ? sum : sum / <f64>n;
  rateUpdate(lb, cfg, ts);
  sti(lb, L.FB_OBS, ldi(lb, L.FB_OBS) + 1);
  stf(lb, L.FB_LAST, score);
  return 1 & channelStep(arena, cfg, slot, lb, lb + <usize>L.LB_CHANNEL, L.C_COMBINE_MODE, L.F_VECTOR, L.D_COMBINED,
                         score, score, NaN, ts, seq, id, out);
}

// Pointer to learned channel k's block in the slot, or 0 when it is disabled.
export function learnedBlock(arena: usize, slot: usize, k: i32): usize {
  const off = ld32(arena, L.H_LEARNED_OFF + (k << 2));
  return off < 0 ? 0 : slot + <usize>off;
}
