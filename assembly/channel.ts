// Detectors, calibrators and suppression for one feature block. A detector scores first and learns second
// (River's score_one / learn_one); thresholds are a separate layer (the calibrator) wrapped around the score;
// suppression turns exceedances into one alert per episode.
import { ldf, stf, ldi, sti, ldu, stu, ld32, finite } from "./util";
import * as L from "./layout";
import { windowCount, windowMean, windowVar, windowMedian, windowMad, windowPush, windowBytes } from "./window";
import { ewmaPush, ewmaMean, ewmaVar } from "./ewma";
import { noveltyPush, noveltyScore, noveltyJudged, noveltyLearn } from "./novelty";

const EXCESS_CLIP: f64 = 10;

// Largest magnitude of a feature value the detectors take.
const MAX_VALUE: f64 = 1e150;

// Normal consistency constant for the MAD: 1 / Phi^-1(3/4).
const MAD_TO_SIGMA: f64 = 1.482602218505602;

@inline export function cfgAt(cfg: usize, i: i32): f64 { return load<f64>(cfg + (<usize>i << 3)); }
// A feature block: header, count window, one channel per detector, then the novelty state when the feature uses it.
@inline export function featureBlockBytes(w: i32, order: bool, novelty: bool): i32 {
  return L.FB_HEADER_BYTES + windowBytes(w, order) + L.N_DETECTORS * L.CH_BYTES + (novelty ? L.NV_BYTES : 0);
}
@inline export function noveltyPtr(fb: usize): usize { return channelPtr(fb, L.N_DETECTORS); }
@inline export function channelPtr(fb: usize, d: i32): usize {
  return fb + <usize>ldu(fb, L.FB_CHANNELS) + <usize>(d * L.CH_BYTES);
}

// ---- Observation-rate estimate for a feature (used by the target-rate calibrator) -------------------------
// Observations are counted per epoch of E ns; at each epoch boundary the per-hour rate is blended in with
// weight 1 - exp(-E / tau), and epochs that passed without observations decay it further.
export function rateUpdate(fb: usize, cfg: usize, ts: i64): void {
  const obs = ldi(fb, L.FB_OBS);
  if (obs == 0) {
    sti(fb, L.FB_RATE_FIRST, ts);
    sti(fb, L.FB_RATE_EPOCH, ts);
  }
  const epochNs = <i64>cfgAt(cfg, L.C_RATE_EPOCH_NS);
  const start = ldi(fb, L.FB_RATE_EPOCH);
  if (ts - start >= epochNs) {
    const k = (ts - start) / epochNs;
    const hours = <f64>epochNs / 3.6e12;
    const epochRate = ldf(fb, L.FB_RATE_COUNT) / hours;
    const keep = Math.exp(-<f64>epochNs / cfgAt(cfg, L.C_RATE_MEMORY_NS));
    let rate = ldu(fb, L.FB_RATE_READY) ? keep * ldf(fb, L.FB_RATE) + (1 - keep) * epochRate : epochRate;
    // keep^(k-1), written with exp: AssemblyScript's Math.pow keeps a mutable scratch global, and the module has none.
    if (k > 1) rate *= Math.exp(-<f64>(k - 1) * <f64>epochNs / cfgAt(cfg, L.C_RATE_MEMORY_NS));
    stf(fb, L.FB_RATE, rate);
    stu(fb, L.FB_RATE_READY, 1);
    stf(fb, L.FB_RATE_COUNT, 0);
    sti(fb, L.FB_RATE_EPOCH, start + k * epochNs);
  }
  stf(fb, L.FB_RATE_COUNT, ldf(fb, L.FB_RATE_COUNT) + 1);
}

// Observations per hour: the decayed epoch rate once an epoch has completed, else the count so far over the
// time elapsed (0 while no time has elapsed).
export function rateNow(fb: usize, ts: i64): f64 {
  if (ldu(fb, L.FB_RATE_READY)) return ldf(fb, L.FB_RATE);
  const elapsed = ts - ldi(fb, L.FB_RATE_FIRST);
  return elapsed > 0 ? ldf(fb, L.FB_RATE_COUNT) / (<f64>elapsed / 3.6e12) : 0;
}

// ---- Target-rate calibrator: peaks over a tracked base quantile, declustered, with a generalised Pareto tail --
// u tracks the (1 - p_u) quantile of the scores by stochastic approximation (Robbins and Monro 1951) with a
// step proportional to the tail scale. Scores are autocorrelated (a CUSUM climbs for many steps), so excesses
// are declustered by runs (Smith and Weissman 1994; Coles 2001, 5.3.2): a run of scores above u is one cluster
// and contributes one excess, its peak, when it ends; a developing anomaly therefore teaches the tail nothing
// until it is over. The peaks feed decayed first and second moments, from which the GPD is fitted by the
// method of moments (Hosking and Wallis 1987): xi = (1 - m1^2/var) / 2, beta = m1 (1 - xi). With pc the
// fraction of scores that open a cluster and p the alert probability per score that the target asks for, the
// threshold is the GPD quantile (Pickands 1975; SPOT, Siffer et al. 2017):
//   t = u + beta/xi ((pc/p)^xi - 1),  or u + beta ln(pc/p) as xi -> 0.
// The calibrator learns only from what was not flagged: a flagged score enters censored at the threshold, and
// a peak counts for at most EXCESS_CLIP mean excesses.
function calibLearn(ch: usize, cfg: usize, s: f64): void {
  const n = ldi(ch, L.CH_N);
  const pu = cfgAt(cfg, L.C_TAIL_P);
  let u = ldf(ch, L.CH_U);
  if (n == 0) {
    u = s;
    stf(ch, L.CH_M1, 1); stf(ch, L.CH_M2, 2); stf(ch, L.CH_W, 1); stf(ch, L.CH_PC, pu);
  }
  const m1 = ldf(ch, L.CH_M1);
  const memory = cfgAt(cfg, L.C_TAIL_MEMORY);
  let starts = 0.0;
  if (s > u) {
    const y = s - u;
    if (ldu(ch, L.CH_CLUSTER)) {
      if (y > ldf(ch, L.CH_CMAX)) stf(ch, L.CH_CMAX, y);
    } else {
      stu(ch, L.CH_CLUSTER, 1);
      stf(ch, L.CH_CMAX, y);
      starts = 1;
    }
  } else if (ldu(ch, L.CH_CLUSTER)) {
    stu(ch, L.CH_CLUSTER, 0);
    let y = ldf(ch, L.CH_CMAX);
    if (y > EXCESS_CLIP * m1) y = EXCESS_CLIP * m1;
    const w = ldf(ch, L.CH_W) * (1 - 1 / memory) + 1;
    stf(ch, L.CH_W, w);
    stf(ch, L.CH_M1, m1 + (y - m1) / w);
    const m2 = ldf(ch, L.CH_M2);
    stf(ch, L.CH_M2, m2 + (y * y - m2) / w);
    stu(ch, L.CH_SINCE, 1 << 30); // the tail changed: recompute the threshold now
  }
  // Cluster-start rate, remembered over as many scores as tailMemory clusters take at the base rate.
  const pc = ldf(ch, L.CH_PC);
  stf(ch, L.CH_PC, pc + (starts - pc) * (pu / memory));
  const step = cfgAt(cfg, L.C_QUANTILE_STEP) * m1;
  u = s > u ? u + step * (1 - pu) : u - step * pu;
  stf(ch, L.CH_U, u < 0 ? 0 : u);
  sti(ch, L.CH_N, n + 1);
}

function calibThreshold(ch: usize, p: f64): f64 {
  const u = ldf(ch, L.CH_U);
  const r = ldf(ch, L.CH_PC) / p;
  if (!(r > 1)) return u;
  const m1 = ldf(ch, L.CH_M1);
  const v = ldf(ch, L.CH_M2) - m1 * m1;
  let xi = v > 0 ? 0.5 * (1 - m1 * m1 / v) : 0;
  if (xi > 0.45) xi = 0.45;
  if (xi < -0.45) xi = -0.45;
  const beta = m1 * (1 - xi);
  if (Math.abs(xi) < 1e-9) return u + beta * Math.log(r);
  return u + beta / xi * (Math.exp(xi * Math.log(r)) - 1); // r^xi (r > 1), without Math.pow's scratch global
}

// ---- Regime ------------------------------------------------------------------------------------------------
export function regimeCode(volRatio: f64): u8 {
  if (volRatio < 0.75) return 0;
  if (volRatio < 1.5) return 1;
  if (volRatio < 3) return 2;
  return 3;
}

// ---- One channel: threshold, suppression, alert ------------------------------------------------------------
// Returns the number of alert records written (0 or 1).
// ci: the configuration index of the channel's mode (its base threshold at ci + 1): C_CHANNEL_BASE + 2 (6f + d) for
// a (feature, detector) channel, the section's mode index for a learned channel. fb: the block whose observation
// rate the target mode reads (the feature block, or the learned channel's block).
@inline export function tableChannelIndex(f: i32, d: i32): i32 { return L.C_CHANNEL_BASE + 2 * (f * L.N_DETECTORS + d); }

// Returns 1 when an alert record was written, 0 when not, 2 when the channel fired but its alert is not emitted (a
// member of an exclusive combination): callers that restart a statistic on a signal test != 0, and count & 1.
export function channelStep(
  arena: usize, cfg: usize, slot: usize, fb: usize, ch: usize, ci: i32, f: i32, d: i32,
  score: f64, value: f64, expected: f64, ts: i64, seq: i64, id: u32, out: usize,
): i32 {
  const mode = <i32>cfgAt(cfg, ci);
  // A per-instrument threshold (an offline calibration, set_instrument_threshold) replaces the channel's configured
  // base in every mode: fixed and static use it as is, regime scales it by the regime factor (so a regime-scaled
  // channel gets a per-instrument fit), target falls back to it during its warm-up.
  const fixed = ldf(ch, L.CH_FIXED);
  const base = fixed == fixed ? fixed : cfgAt(cfg, ci + 1);
  let thr = base;
  let calibrated = false;
  if (mode == L.M_REGIME) {
    thr = base * ldf(slot, L.S_REGIME);
  } else if (mode == L.M_TARGET) {
    calibrated = <f64>ldi(ch, L.CH_N) >= cfgAt(cfg, L.C_CALIB_WARMUP);
    if (calibrated) {
      let since = ldu(ch, L.CH_SINCE);
      if (since >= 16) {
        const rate = rateNow(fb, ts);
        const p = rate > 0 ? cfgAt(cfg, L.C_TARGET_PER_HOUR) / rate : 0;
        stf(ch, L.CH_P, p);
        stf(ch, L.CH_THR, p > 0 ? calibThreshold(ch, p) * Math.exp(ldf(ch, L.CH_KAPPA)) : base);
        since = 0;
      }
      stu(ch, L.CH_SINCE, since + 1);
      thr = ldf(ch, L.CH_THR);
    }
  }
  if (!(thr > 0)) thr = base;
  // The floor is in the units of the detectors' scores; the combination's is a count or a ratio: no floor.
  const floor = ci == L.C_COMBINE_MODE ? 0 : cfgAt(cfg, L.C_THRESHOLD_FLOOR);
  if (thr < floor) thr = floor;
  // A score of 0 is never an anomaly, whatever threshold a degenerate calibration reached.
  const exceed = score >= thr && score > 0;
  stf(ch, L.CH_LAST_SCORE, score);
  stf(ch, L.CH_LAST_THR, thr);
  if (exceed) sti(ch, L.CH_EXCEED, ldi(ch, L.CH_EXCEED) + 1);
  if (mode == L.M_TARGET) calibLearn(ch, cfg, exceed ? thr : score);

  let fire = false;
  if (ldu(ch, L.CH_EPISODE)) {
    if (score < thr * cfgAt(cfg, L.C_HYSTERESIS)) {
      stu(ch, L.CH_EPISODE, 0);
      // Saturating: the configuration allows cooldowns up to 9.2e18 ns, and ts + cooldown must not wrap negative.
      const cooldown = <i64>cfgAt(cfg, L.C_COOLDOWN_NS);
      sti(ch, L.CH_COOL_UNTIL, ts > i64.MAX_VALUE - cooldown ? i64.MAX_VALUE : ts + cooldown);
    }
  } else {
    const persist: u32 = exceed ? ldu(ch, L.CH_PERSIST) + 1 : 0;
    if (exceed && <f64>persist >= cfgAt(cfg, L.C_MIN_PERSISTENCE) && ts >= ldi(ch, L.CH_COOL_UNTIL)) {
      fire = true;
      stu(ch, L.CH_EPISODE, 1);
      stu(ch, L.CH_PERSIST, 0);
    } else {
      stu(ch, L.CH_PERSIST, persist);
    }
  }
  if (calibrated) {
    // Alert-rate correction (integral control, Robbins and Monro 1951): +gain per alert, -gain p per score, so
    // that the only fixed point is alerts per score = p, i.e. the target per hour, whatever bias the tail fit
    // has and however clustered the detector's exceedances are. Bounded to a factor e^1.5 either way.
    const gain = cfgAt(cfg, L.C_RATE_GAIN);
    let kappa = ldf(ch, L.CH_KAPPA) - gain * ldf(ch, L.CH_P);
    if (fire) { kappa += gain; stu(ch, L.CH_SINCE, 1 << 30); }
    if (kappa > 1.5) kappa = 1.5;
    if (kappa < -1.5) kappa = -1.5;
    stf(ch, L.CH_KAPPA, kappa);
  }
  // A member of the combination: its exceedance and score over threshold are noted for the combined channel.
  if (ldu(arena, L.H_COMBINE) != 0 && ci != L.C_COMBINE_MODE) {
    if (combineNote(arena, cfg, slot, ci, exceed, score / thr, ts) && fire) return 2;
  }
  if (!fire) return 0;
  sti(ch, L.CH_ALERTS, ldi(ch, L.CH_ALERTS) + 1);
  const ratio = score / thr;
  const severity: u8 = ratio < 1.5 ? 1 : ratio < 2.5 ? 2 : ratio < 4 ? 3 : 4;
  const volRatio = ldf(slot, L.S_VOL_RATIO);
  sti(out, L.AL_TS, ts);
  sti(out, L.AL_SEQ, seq);
  stu(out, L.AL_INSTRUMENT, id);
  store<u8>(out + <usize>L.AL_FEATURE, <u8>f);
  store<u8>(out + <usize>L.AL_DETECTOR, <u8>d);
  store<u8>(out + <usize>L.AL_SEVERITY, severity);
  store<u8>(out + <usize>L.AL_REGIME, regimeCode(volRatio));
  stf(out, L.AL_VALUE, value);
  stf(out, L.AL_EXPECTED, expected);
  stf(out, L.AL_SCORE, score);
  stf(out, L.AL_THRESHOLD, thr);
  store<f32>(out + <usize>L.AL_REGIME_FACTOR, <f32>volRatio);
  store<u32>(out + <usize>L.AL_MODE, <u32>mode);
  return 1;
}

// ---- The combination's members ---------------------------------------------------------------------------------
// The channel index of a channel's mode index ci: (feature, detector) channel (ci - C_CHANNEL_BASE) / 2, learned
// channel 96 + k.
@inline function channelOfModeIndex(ci: i32): i32 {
  return ci < L.C_LEARNED_BASE ? (ci - L.C_CHANNEL_BASE) >> 1 : L.N_TABLE_CHANNELS + (ci - L.C_LEARNED_BASE) / L.C_LEARNED_SECTION;
}

// Notes one score of channel `ci` when it is a member of the combination: the time of its last exceedance, of its
// last score, and that score over its threshold. Returns true when the channel is a member of an exclusive
// combination (its own alerts are not emitted).
function combineNote(arena: usize, cfg: usize, slot: usize, ci: i32, exceed: bool, ratio: f64, ts: i64): bool {
  const c = <f64>channelOfModeIndex(ci);
  for (let m = 0; m < L.COMBINE_MAX_MEMBERS; m++) {
    if (cfgAt(cfg, L.C_COMBINE_MEMBERS + m) != c) continue;
    const cb = slot + <usize>ld32(arena, L.H_LEARNED_OFF + (L.K_COMBINED << 2)) + <usize>L.LB_STATE;
    const p = cb + <usize>(L.CB_MEMBERS + m * L.CB_MEMBER_BYTES);
    let ev = ldu(cb, L.CB_EVENT) | 2;
    if (exceed) { sti(p, L.CB_EXCEED_TS, ts); ev |= 1; }
    sti(p, L.CB_OBS_TS, ts);
    stf(p, L.CB_RATIO, ratio);
    stu(cb, L.CB_EVENT, ev);
    return cfgAt(cfg, L.C_COMBINE_EXCLUSIVE) != 0;
  }
  return false;
}

// ---- A feature observation: score every enabled detector, then learn --------------------------------------
// Returns the number of alerts written at `out`.
export function observe(arena: usize, cfg: usize, slot: usize, f: i32, x: f64, ts: i64, seq: i64, id: u32, out: usize): i32 {
  const off = ld32(arena, L.H_FEATURE_OFF + (f << 2));
  if (off < 0) return 0;
  const fb = slot + <usize>off;
  // A derived value can overflow from finite inputs (a basis over an index of 5e-324), or come so close to it that
  // its square does (a basis over an index of 1e-300 is 1e306): refuse both, counted as the window's skipped values,
  // so that no detector state ever holds an Infinity or a NaN. Below MAX_VALUE a square, and a window's sum of 65,536
  // of them, still fits a double.
  if (!(Math.abs(x) <= MAX_VALUE)) {
    const win = fb + <usize>L.FB_HEADER_BYTES;
    sti(win, L.W_SKIPPED, ldi(win, L.W_SKIPPED) + 1);
    return 0;
  }
  // The vector detectors read the instrument's latest value of each feature, and step after the event's last
  // observation when it observed a feature of theirs (engine.ts, learnedStep).
  const lv = ld32(arena, L.H_VECTOR_OFF);
  if (lv >= 0) {
    const p = slot + <usize>lv;
    stf(p, L.LV_LAST_F + (f << 3), x);
    stu(p, L.LV_OBSERVED, ldu(p, L.LV_OBSERVED) | (1 << f));
  }
  const win = fb + <usize>L.FB_HEADER_BYTES;
  const mask = <i32>cfgAt(cfg, L.C_FEATURE_BASE + 3 * f + 1);
  const minScale = cfgAt(cfg, L.C_FEATURE_BASE + 3 * f + 2);
  const cap = cfgAt(cfg, L.C_SCORE_CAP);
  const e = fb + <usize>L.FB_EWMA;
  rateUpdate(fb, cfg, ts);
  sti(fb, L.FB_OBS, ldi(fb, L.FB_OBS) + 1);
  stf(fb, L.FB_LAST, x);
  let written = 0;
  const novelty = (mask & (1 << L.D_NOVELTY)) != 0;
  const nv: usize = novelty ? noveltyPtr(fb) : 0; // features without it have no novelty state
  if (novelty) noveltyPush(nv, x, ts);
  const warm = <f64>windowCount(win) >= cfgAt(cfg, L.C_WARMUP);
  if (warm) {
    const mean = windowMean(win);
    let sd = Math.sqrt(windowVar(win));
    if (sd < minScale) sd = minScale;
    // One division for every detector that standardises by the window's deviation.
    const invSd = 1 / sd;
    if (mask & (1 << L.D_ZSCORE)) {
      let s = Math.abs(x - mean) * invSd;
      s = s <= cap ? s : (s > cap ? cap : 0);
      written += 1 & channelStep(arena, cfg, slot, fb, channelPtr(fb, L.D_ZSCORE), tableChannelIndex(f, L.D_ZSCORE), f, L.D_ZSCORE, s, x, mean, ts, seq, id, out + <usize>(written * L.AL_BYTES));
    }
    if (mask & (1 << L.D_ROBUST)) {
      const med = windowMedian(win);
      let scale = MAD_TO_SIGMA * windowMad(win);
      if (scale < minScale) scale = minScale;
      let s = Math.abs(x - med) / scale;
      s = s <= cap ? s : (s > cap ? cap : 0);
      written += 1 & channelStep(arena, cfg, slot, fb, channelPtr(fb, L.D_ROBUST), tableChannelIndex(f, L.D_ROBUST), f, L.D_ROBUST, s, x, med, ts, seq, id, out + <usize>(written * L.AL_BYTES));
    }
    if (mask & (1 << L.D_EWMA)) {
      // EWMA control chart (Roberts 1959): c = lambda x + (1 - lambda) c; its standard deviation in steady state
      // is sigma sqrt(lambda / (2 - lambda)) (Lucas and Saccucci 1990).
      const lambda = cfgAt(cfg, L.C_CHART_LAMBDA);
      const mu = ewmaMean(e);
      let se = Math.sqrt(ewmaVar(e));
      if (se < minScale) se = minScale;
      const chart = lambda * x + (1 - lambda) * ldf(fb, L.FB_CHART);
      stf(fb, L.FB_CHART, chart);
      let s = Math.abs(chart - mu) / (se * Math.sqrt(lambda / (2 - lambda)));
      s = s <= cap ? s : (s > cap ? cap : 0);
      written += 1 & channelStep(arena, cfg, slot, fb, channelPtr(fb, L.D_EWMA), tableChannelIndex(f, L.D_EWMA), f, L.D_EWMA, s, x, mu, ts, seq, id, out + <usize>(written * L.AL_BYTES));
    }
    if (mask & (1 << L.D_CUSUM)) {
      // Two-sided tabular CUSUM on the standardised value (Page 1954; Montgomery, SQC, 9.1):
      // S+ = max(0, S+ + z - k), S- = max(0, S- - z - k).
      const k = cfgAt(cfg, L.C_CUSUM_K);
      const z = (x - mean) * invSd;
      let sp = ldf(fb, L.FB_CUSUM_POS) + z - k;
      let sn = ldf(fb, L.FB_CUSUM_NEG) - z - k;
      if (!(sp > 0)) sp = 0;
      if (!(sn > 0)) sn = 0;
      if (sp > cap) sp = cap;
      if (sn > cap) sn = cap;
      stf(fb, L.FB_CUSUM_POS, sp);
      stf(fb, L.FB_CUSUM_NEG, sn);
      // Restart after a signal (Page 1954; Montgomery 9.1.2): a persisting shift alerts again after the cooldown
      // instead of holding the statistic, and the episode, open for ever.
      const fired = channelStep(arena, cfg, slot, fb, channelPtr(fb, L.D_CUSUM), tableChannelIndex(f, L.D_CUSUM), f, L.D_CUSUM, sp > sn ? sp : sn, x, mean, ts, seq, id, out + <usize>(written * L.AL_BYTES));
      if (fired) { stf(fb, L.FB_CUSUM_POS, 0); stf(fb, L.FB_CUSUM_NEG, 0); }
      written += fired & 1;
    }
    if (mask & (1 << L.D_PH)) {
      // Page-Hinkley (Page 1954; Hinkley 1971) in its recursive form m_t - min m = max(0, prev + dev - delta),
      // with River's fading factor alpha on the sum and deviations from a slow running mean.
      const a = cfgAt(cfg, L.C_PH_ALPHA);
      const delta = cfgAt(cfg, L.C_PH_DELTA);
      const pm = ldf(fb, L.FB_PH_MEAN);
      const dev = (x - pm) * invSd;
      let up = a * ldf(fb, L.FB_PH_UP) + dev - delta;
      let dn = a * ldf(fb, L.FB_PH_DN) - dev - delta;
      if (!(up > 0)) up = 0;
      if (!(dn > 0)) dn = 0;
      if (up > cap) up = cap;
      if (dn > cap) dn = cap;
      stf(fb, L.FB_PH_UP, up);
      stf(fb, L.FB_PH_DN, dn);
      const fired = channelStep(arena, cfg, slot, fb, channelPtr(fb, L.D_PH), tableChannelIndex(f, L.D_PH), f, L.D_PH, up > dn ? up : dn, x, pm, ts, seq, id, out + <usize>(written * L.AL_BYTES));
      if (fired) { stf(fb, L.FB_PH_UP, 0); stf(fb, L.FB_PH_DN, 0); }
      written += fired & 1;
    }
    if (novelty) {
      const s = noveltyScore(nv, cfg, x, ts, cap);
      const ch = channelPtr(fb, L.D_NOVELTY);
      written += 1 & channelStep(arena, cfg, slot, fb, ch, tableChannelIndex(f, L.D_NOVELTY), f, L.D_NOVELTY, s, x, ldf(nv, L.NV_EXPECTED), ts, seq, id, out + <usize>(written * L.AL_BYTES));
      noveltyJudged(nv, cfg, s, ldf(ch, L.CH_LAST_THR));
    }
  } else {
    // Warm-up: statistics start where the baseline is, so that nothing fires from a cold start.
    if (mask & (1 << L.D_EWMA)) stf(fb, L.FB_CHART, ewmaCount(e) == 0 ? x : ewmaMeanAfter(e, x));
  }
  // Learn.
  windowPush(win, x);
  if (novelty) noveltyLearn(nv, cfg, x, ts);
  if (mask & (1 << L.D_EWMA)) ewmaPush(e, x);
  if (mask & (1 << L.D_PH)) {
    // Slow running mean: plain mean for the first 1 / (1 - alpha) values, then EWMA with weight 1 - alpha.
    const n = ldi(fb, L.FB_PH_N) + 1;
    sti(fb, L.FB_PH_N, n);
    let wgt = 1 / <f64>n;
    const floorW = 1 - cfgAt(cfg, L.C_PH_ALPHA);
    if (wgt < floorW) wgt = floorW;
    const pm = ldf(fb, L.FB_PH_MEAN);
    stf(fb, L.FB_PH_MEAN, pm + wgt * (x - pm));
  }
  return written;
}

@inline function ewmaCount(e: usize): i64 { return ldi(e, L.E_N); }
// The EWMA mean once x is included (without storing it).
@inline function ewmaMeanAfter(e: usize, x: f64): f64 {
  const mean = ldf(e, L.E_MEAN);
  return mean + ldf(e, L.E_ALPHA) * (x - mean);
}
