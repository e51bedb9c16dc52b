// Novelty detector: how far a value lies outside everything the feature has shown before.
//
// Many anomalies are values, or short-run levels, that the series has never reached: a spike past every earlier
// peak, a level shift beyond the old range, an outage flat at a level never held before. Such a "record" test
// needs no distribution assumption and no scale: the score is the excess beyond the range seen so far, in basis
// points of that range (100 = 1% of the range). It is taken at three time scales, the value and the means of its
// last 5 and 20 values, so that a shift too small to break the range in one value still breaks it on average,
// and against the range of the 20-mean at the same time of day (P phases of the day, neighbouring phases
// included) once the feature has a long enough history: a night-time level that only day-time ever reached.
// After a score that reaches the threshold in force the detector stays silent for `refractory` observations while it
// keeps learning, so that the slower scales, which cross the range a few values after the value itself, do not
// report the same episode again.
// This is the idea of the "spatial anomaly" rule of Numenta's detectors and of a refractory ("rest") period as in
// CAD OSE (both in the NAB repository), made scale-free and streaming; it keeps 624 bytes per feature.
import { ldf, stf, ldi, sti, ldu, stu } from "./util";
import * as L from "./layout";

const DAY_NS: i64 = 86_400_000_000_000;
const N_SCALES: i32 = 3;

@inline function cfgAt(cfg: usize, i: i32): f64 { return load<f64>(cfg + (<usize>i << 3)); }
// Ring slot of the i-th value pushed. Unsigned, so that even a corrupted count (a restored arena is checked for its
// structure, not its values) stays inside the ring.
@inline function ringSlot(i: i64): i32 { return <i32>(<u64>i % <u64>L.NV_RING) << 3; }
@inline function ringAt(nv: usize, i: i64): f64 { return ldf(nv, L.NV_RING_OFF + ringSlot(i)); }

// Mean of the last k values pushed (k <= NV_RING), oldest first, or NaN while fewer than k have been pushed.
function lastMean(nv: usize, k: i32): f64 {
  const n = ldi(nv, L.NV_COUNT);
  if (n < <i64>k) return NaN;
  let s = 0.0;
  for (let i = n - <i64>k; i < n; i++) s += ringAt(nv, i);
  return s / <f64>k;
}

@inline function scaleValue(nv: usize, k: i32, x: f64): f64 { return k == 0 ? x : lastMean(nv, k == 1 ? 5 : 20); }

// Phase of the day of ts in [0, P).
@inline export function phaseOf(ts: i64, phases: i32): i32 {
  const t = ((ts % DAY_NS) + DAY_NS) % DAY_NS;
  return <i32>(t * <i64>phases / DAY_NS);
}

// Width the excess is measured in: the range, or the magnitude of a constant series, or 1.
@inline function width(lo: f64, hi: f64): f64 {
  const r = hi - lo;
  if (r > 0) return r;
  const a = Math.abs(hi);
  return a > 0 ? a : 1;
}

// Learn first of all the value itself: x enters the ring (the scales of this observation include it).
export function noveltyPush(nv: usize, x: f64, ts: i64): void {
  if (!ldu(nv, L.NV_READY)) {
    for (let k = 0; k < N_SCALES; k++) { stf(nv, L.NV_LO + (k << 3), Infinity); stf(nv, L.NV_HI + (k << 3), -Infinity); }
    for (let p = 0; p < L.NV_MAX_PHASES; p++) { stf(nv, L.NV_PLO + (p << 3), Infinity); stf(nv, L.NV_PHI + (p << 3), -Infinity); }
    sti(nv, L.NV_T0, ts);
    stu(nv, L.NV_READY, 1);
  }
  const n = ldi(nv, L.NV_COUNT);
  stf(nv, L.NV_RING_OFF + ringSlot(n), x);
  sti(nv, L.NV_COUNT, n + 1);
}

// Score x (already pushed) against the ranges learnt before it, in bps of the range, capped at `cap`.
export function noveltyScore(nv: usize, cfg: usize, x: f64, ts: i64, cap: f64): f64 {
  let best = 0.0;
  let expected = x;
  for (let k = 0; k < N_SCALES; k++) {
    const y = scaleValue(nv, k, x);
    const lo = ldf(nv, L.NV_LO + (k << 3));
    const hi = ldf(nv, L.NV_HI + (k << 3));
    if (y != y || !(lo <= hi)) continue;
    const r = width(lo, hi);
    const ex = y > hi ? (y - hi) / r : (y < lo ? (lo - y) / r : 0);
    if (ex > best) { best = ex; expected = y > hi ? hi : lo; }
  }
  const phases = <i32>cfgAt(cfg, L.C_NOVELTY_PHASES);
  if (phases > 0 && <f64>(ts - ldi(nv, L.NV_T0)) >= cfgAt(cfg, L.C_NOVELTY_PHASE_WARMUP_NS)) {
    const y = lastMean(nv, 20);
    if (y == y) {
      const ph = phaseOf(ts, phases);
      let lo = Infinity;
      let hi = -Infinity;
      for (let q = -1; q <= 1; q++) {
        const p = (ph + q + phases) % phases;
        const plo = ldf(nv, L.NV_PLO + (p << 3));
        const phi = ldf(nv, L.NV_PHI + (p << 3));
        if (plo < lo) lo = plo;
        if (phi > hi) hi = phi;
      }
      if (lo <= hi) {
        // Measured in the 20-mean's whole range, so that a phase that has seen little does not magnify its excess.
        const r = width(ldf(nv, L.NV_LO + (2 << 3)), ldf(nv, L.NV_HI + (2 << 3)));
        const ex = y > hi ? (y - hi) / r : (y < lo ? (lo - y) / r : 0);
        if (ex > best) { best = ex; expected = y > hi ? hi : lo; }
      }
    }
  }
  let s = best * 1e4;
  if (!(s <= cap)) s = cap;
  const silent = ldu(nv, L.NV_REFRACTORY);
  if (silent > 0) {
    stu(nv, L.NV_REFRACTORY, silent - 1);
    s = 0;
    expected = x;
  }
  stf(nv, L.NV_EXPECTED, expected);
  return s;
}

// After the channel judged score s against the threshold it had in force: a score that reached it starts the silent
// period. Only such a score: a new record by a hair (a fraction of a bps) must not hide the spike that follows it.
export function noveltyJudged(nv: usize, cfg: usize, s: f64, threshold: f64): void {
  if (s > 0 && s >= threshold) stu(nv, L.NV_REFRACTORY, <u32>cfgAt(cfg, L.C_NOVELTY_REFRACTORY));
}

// Learn: widen the ranges to take this observation's scales.
export function noveltyLearn(nv: usize, cfg: usize, x: f64, ts: i64): void {
  for (let k = 0; k < N_SCALES; k++) {
    const y = scaleValue(nv, k, x);
    if (y != y) continue;
    if (y < ldf(nv, L.NV_LO + (k << 3))) stf(nv, L.NV_LO + (k << 3), y);
    if (y > ldf(nv, L.NV_HI + (k << 3))) stf(nv, L.NV_HI + (k << 3), y);
  }
  const phases = <i32>cfgAt(cfg, L.C_NOVELTY_PHASES);
  if (phases > 0) {
    const y = lastMean(nv, 20);
    if (y == y) {
      const p = phaseOf(ts, phases);
      if (y < ldf(nv, L.NV_PLO + (p << 3))) stf(nv, L.NV_PLO + (p << 3), y);
      if (y > ldf(nv, L.NV_PHI + (p << 3))) stf(nv, L.NV_PHI + (p << 3), y);
    }
  }
}
