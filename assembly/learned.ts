// Instrument-level ("learned") channels: detectors that score the instrument as a whole (a vector of its latest
// feature values) rather than one feature. Channel index c = N_TABLE_CHANNELS + k (k 0 Half-Space Trees, 1 one-class
// SVM, 2 RLS residuals, 3 the combination; only HST exists so far). Each has a block in the slot (learned block:
// a feature-block header for the observation rate, the channel state, the vector it last stepped on, the kernel
// state) and goes through the same channelStep as the (feature, detector) channels. docs/architecture.md,
// "Instrument-level channels", has the why.
import { ldf, stf, ldi, sti, ld32 } from "./util";
import * as L from "./layout";
import { cfgAt, channelStep, rateUpdate } from "./channel";
import { hstStep } from "./hst";

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
// missing, >= 0 and unbounded; 0 for s = 0, the cap for s = 1 (no mass at all) and above it.
export function hstChannelScore(s: f64, cap: f64): f64 {
  const m = 1 - s;
  if (m >= 1) return 0;
  if (!(m > 0)) return cap;
  const v = negLog2(m);
  return v <= cap ? v : cap;
}

// After an event's observations: every enabled learned channel that one of the observed features (bit mask
// `observed`) feeds steps once. Returns the alert records written at `out`.
export function learnedStep(arena: usize, cfg: usize, slot: usize, observed: u32, ts: i64, seq: i64, id: u32, out: usize): i32 {
  let written = 0;
  const last = slot + <usize>ld32(arena, L.H_VECTOR_OFF) + <usize>L.LV_LAST_F;
  const off = ld32(arena, L.H_LEARNED_OFF + (L.K_HST << 2));
  if (off >= 0) {
    const mask = <u32>cfgAt(cfg, L.C_HST_FEATURES);
    if (observed & mask) {
      const lb = slot + <usize>off;
      const x = lb + <usize>L.LB_VECTOR;
      // The instrument's latest value of each feature in the mask, in feature order (0 for one never observed: a
      // constant dimension, which HST ignores).
      let j: usize = 0;
      for (let f = 0; f < L.N_FEATURES; f++) {
        if (mask & (1 << f)) {
          store<f64>(x + (j << 3), ldf(last, f << 3));
          j++;
        }
      }
      const st = lb + <usize>L.LB_STATE;
      const model = arena + <usize>ld32(arena, L.H_MODEL_OFF + (L.K_HST << 2));
      const warm = load<u32>(st, 16) != 0; // the kernel scores 0 until its first window is complete
      rateUpdate(lb, cfg, ts);
      sti(lb, L.FB_OBS, ldi(lb, L.FB_OBS) + 1);
      const s = hstStep(st, model, x);
      stf(lb, L.FB_LAST, s);
      if (warm) {
        const score = hstChannelScore(s, cfgAt(cfg, L.C_SCORE_CAP));
        written += channelStep(cfg, slot, lb, lb + <usize>L.LB_CHANNEL, L.C_HST_MODE, L.F_VECTOR, L.D_HST,
                               score, s, NaN, ts, seq, id, out + <usize>(written * L.AL_BYTES));
      }
    }
  }
  return written;
}

// Pointer to learned channel k's block in the slot, or 0 when it is disabled.
export function learnedBlock(arena: usize, slot: usize, k: i32): usize {
  const off = ld32(arena, L.H_LEARNED_OFF + (k << 2));
  return off < 0 ? 0 : slot + <usize>off;
}
