// The engine: arena setup, the instrument table, and ingest (events -> features -> channels -> alerts).
import { ldf, stf, ldi, sti, ldu, stu, ld32, st32, finite, align8 } from "./util";
import * as L from "./layout";
import { windowInit, windowBytes } from "./window";
import { ewmaInit } from "./ewma";
import { timeWindowInit, timeWindowBytes, timeWindowPush, timeWindowCount, timeWindowSum, timeWindowSumSq } from "./timewin";
import { cfgAt, featureBlockBytes, channelPtr, observe } from "./channel";

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
  const vb = cfgAt(cfg, L.C_VOLUME_BUCKET_NS);
  if (!isInt(vb) || !inRange(vb, 1, 9.2e18)) return bad(L.C_VOLUME_BUCKET_NS);
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
  for (let f = 0; f < L.N_FEATURES; f++) {
    const i = L.C_FEATURE_BASE + 3 * f;
    const en = cfgAt(cfg, i);
    if (en != 0 && en != 1) return bad(i);
    const mask = cfgAt(cfg, i + 1);
    if (!isInt(mask) || !inRange(mask, 0, 31)) return bad(i + 1);
    if (!inRange(cfgAt(cfg, i + 2), 0, 1e300)) return bad(i + 2);
  }
  for (let c = 0; c < L.N_FEATURES * L.N_DETECTORS; c++) {
    const i = L.C_CHANNEL_BASE + 2 * c;
    const mode = cfgAt(cfg, i);
    if (!isInt(mode) || !inRange(mode, 0, 3)) return bad(i);
    const thr = cfgAt(cfg, i + 1);
    if (!(thr > 0)) return bad(i + 1); // +Infinity allowed: never fires
  }
  return 0;
}

// ---- Sizes -------------------------------------------------------------------------------------------------
function tableCapacity(maxI: i32): i32 {
  let cap = 8;
  while (cap < 2 * maxI) cap <<= 1;
  return cap;
}

// Offsets of the enabled feature blocks inside a slot, written to the header; returns the slot size.
function layoutSlot(arena: usize, cfg: usize): i32 {
  const w = <i32>cfgAt(cfg, L.C_WINDOW);
  const b = <i32>cfgAt(cfg, L.C_TIME_BUCKETS);
  let off = L.SLOT_HEADER_BYTES + L.N_TIME_WINDOWS * align8(timeWindowBytes(b));
  const fbBytes = align8(featureBlockBytes(w));
  for (let f = 0; f < L.N_FEATURES; f++) {
    if (cfgAt(cfg, L.C_FEATURE_BASE + 3 * f) != 0) {
      if (arena) st32(arena, L.H_FEATURE_OFF + (f << 2), off);
      off += fbBytes;
    } else if (arena) {
      st32(arena, L.H_FEATURE_OFF + (f << 2), -1);
    }
  }
  if (arena) stu(arena, L.H_BLOCK_BYTES, <u32>fbBytes);
  return (off + 63) & ~63;
}

// Bytes of arena needed for a configuration, or a negative error code.
export function arenaBytes(cfg: usize): i64 {
  const err = validateConfig(cfg);
  if (err < 0) return err;
  const maxI = <i32>cfgAt(cfg, L.C_MAX_INSTRUMENTS);
  const slot = layoutSlot(0, cfg);
  const total: i64 = <i64>L.HEADER_BYTES + <i64>(L.C_LEN << 3) + (<i64>tableCapacity(maxI) << 3) + <i64>maxI * <i64>slot;
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
  const tableOff = cfgOff + (L.C_LEN << 3);
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
  stu(arena, L.H_ANY_REGIME, anyRegime);
}

@inline export function configPtr(arena: usize): usize { return arena + <usize>ld32(arena, L.H_CFG); }
@inline export function slotPtr(arena: usize, slot: i32): usize {
  return arena + <usize>ld32(arena, L.H_SLOTS) + <usize>slot * <usize>ldu(arena, L.H_SLOT_BYTES);
}

export function arenaValid(arena: usize): bool {
  return (arena & 15) == 0 && ldu(arena, L.H_MAGIC) == L.MAGIC && ldu(arena, L.H_MAGIC + 4) == L.ABI_VERSION;
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
    windowInit(fb + <usize>L.FB_HEADER_BYTES, w);
    for (let d = 0; d < L.N_DETECTORS; d++) stf(channelPtr(fb, w, d), L.CH_FIXED, NaN);
  }
}

@inline function timeWindow(arena: usize, slot: usize, t: i32): usize {
  const b = <i32>cfgAt(configPtr(arena), L.C_TIME_BUCKETS);
  return slot + <usize>(L.SLOT_HEADER_BYTES + t * align8(timeWindowBytes(b)));
}

// ---- Regime: time-EWMAs of squared returns and of the spread, irregularly spaced --------------------------
// Weight of a new value after dt: dt / (tau + dt), the first-order form of 1 - exp(-dt / tau) that stays exact
// at dt = 0 (no weight) and dt -> infinity (all weight).
@inline function timeWeight(dt: i64, tau: f64): f64 {
  const d = <f64>dt;
  return d / (tau + d);
}

function updateVol(slot: usize, cfg: usize, ts: i64, r: f64): void {
  const r2 = r * r;
  const flags = ldu(slot, L.S_FLAGS);
  if (!(flags & L.SF_VAR)) {
    stf(slot, L.S_VAR_FAST, r2); stf(slot, L.S_VAR_SLOW, r2);
    stu(slot, L.S_FLAGS, flags | L.SF_VAR);
  } else {
    const dt = ts - ldi(slot, L.S_VAR_TS);
    const wf = timeWeight(dt, cfgAt(cfg, L.C_VOL_FAST_NS));
    const ws = timeWeight(dt, cfgAt(cfg, L.C_VOL_SLOW_NS));
    const vf = ldf(slot, L.S_VAR_FAST), vs = ldf(slot, L.S_VAR_SLOW);
    stf(slot, L.S_VAR_FAST, vf + wf * (r2 - vf));
    stf(slot, L.S_VAR_SLOW, vs + ws * (r2 - vs));
  }
  sti(slot, L.S_VAR_TS, ts);
  const vs = ldf(slot, L.S_VAR_SLOW);
  stf(slot, L.S_VOL_RATIO, vs > 0 ? Math.sqrt(ldf(slot, L.S_VAR_FAST) / vs) : 1);
}

function updateSpread(slot: usize, cfg: usize, ts: i64, spread: f64): void {
  const flags = ldu(slot, L.S_FLAGS);
  if (!(flags & L.SF_SPR)) {
    stf(slot, L.S_SPR_FAST, spread); stf(slot, L.S_SPR_SLOW, spread);
    stu(slot, L.S_FLAGS, flags | L.SF_SPR);
  } else {
    const dt = ts - ldi(slot, L.S_SPR_TS);
    const wf = timeWeight(dt, cfgAt(cfg, L.C_VOL_FAST_NS));
    const ws = timeWeight(dt, cfgAt(cfg, L.C_VOL_SLOW_NS));
    const sf = ldf(slot, L.S_SPR_FAST), ss = ldf(slot, L.S_SPR_SLOW);
    stf(slot, L.S_SPR_FAST, sf + wf * (spread - sf));
    stf(slot, L.S_SPR_SLOW, ss + ws * (spread - ss));
  }
  sti(slot, L.S_SPR_TS, ts);
  const ss = ldf(slot, L.S_SPR_SLOW);
  stf(slot, L.S_LIQ_RATIO, ss > 0 ? ldf(slot, L.S_SPR_FAST) / ss : 1);
}

// factor = clamp(volRatio^a * liqRatio^b, min, max): only computed when a channel uses the regime mode.
function updateRegime(arena: usize, slot: usize, cfg: usize): void {
  if (!ldu(arena, L.H_ANY_REGIME)) return;
  let f = Math.pow(ldf(slot, L.S_VOL_RATIO), cfgAt(cfg, L.C_REGIME_VOL_EXP)) *
          Math.pow(ldf(slot, L.S_LIQ_RATIO), cfgAt(cfg, L.C_REGIME_LIQ_EXP));
  const lo = cfgAt(cfg, L.C_REGIME_MIN), hi = cfgAt(cfg, L.C_REGIME_MAX);
  if (!(f >= lo)) f = lo;
  if (f > hi) f = hi;
  stf(slot, L.S_REGIME, f);
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
    if (!finite(f0) || optionalBad(f1) || optionalBad(f2)) return L.R_NONFINITE;
    if (f0 <= 0 || f1 <= 0) return L.R_NEGATIVE;
  } else if (kind == L.K_OPTION) {
    if (!finite(f0) || optionalBad(f1) || optionalBad(f2) || optionalBad(f3) || optionalBad(f4)) return L.R_NONFINITE;
    if (f0 < 0 || f1 <= 0 || f2 < 0 || f3 < 0 || f4 < 0) return L.R_NEGATIVE;
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
    sti(arena, L.H_NEXT_SEQ, seq + 1);
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
    const o = out + <usize>(written * L.AL_BYTES);
    if (kind == L.K_TRADE) written += onTrade(arena, cfg, slot, ts, seq, id, f0, f1, f2, o);
    else if (kind == L.K_QUOTE) written += onQuote(arena, cfg, slot, ts, seq, id, f0, f1, f2, f3, f4, f5, o);
    else if (kind == L.K_MARK) written += onMark(arena, cfg, slot, ts, seq, id, f0, f1, f2, o);
    else if (kind == L.K_OPTION) written += onOption(arena, cfg, slot, ts, seq, id, f0, o);
    else written += onValue(arena, cfg, slot, ts, seq, id, f0, o);
  }
  stu(arena, L.H_CONSUMED, <u32>i);
  sti(arena, L.H_ACCEPTED, ldi(arena, L.H_ACCEPTED) + accepted);
  sti(arena, L.H_ALERTS, ldi(arena, L.H_ALERTS) + <i64>written);
  return written;
}

@inline function at(o: usize, k: i32): usize { return o + <usize>(k * L.AL_BYTES); }

function onTrade(arena: usize, cfg: usize, slot: usize, ts: i64, seq: i64, id: u32, px: f64, size: f64, side: f64, out: usize): i32 {
  let k = 0;
  const flags = ldu(slot, L.S_FLAGS);
  const windowSeconds = cfgAt(cfg, L.C_TIME_WINDOW_NS) * 1e-9;
  const ret = timeWindow(arena, slot, L.TW_RET);
  if (flags & L.SF_TRADE) {
    const r = Math.log(px / ldf(slot, L.S_LAST_TRADE_PX)) * 1e4;
    if (!(flags & L.SF_QUOTES)) { updateVol(slot, cfg, ts, r); updateRegime(arena, slot, cfg); }
    k += observe(arena, cfg, slot, L.F_RETURN, r, ts, seq, id, at(out, k));
    timeWindowPush(ret, ts, r);
    k += observe(arena, cfg, slot, L.F_RVOL, Math.sqrt(timeWindowSumSq(ret)), ts, seq, id, at(out, k));
  }
  stf(slot, L.S_LAST_TRADE_PX, px);
  const signed = side > 0 ? size : side < 0 ? -size : 0;
  const flow = timeWindow(arena, slot, L.TW_FLOW);
  const abs = timeWindow(arena, slot, L.TW_ABS);
  timeWindowPush(flow, ts, signed);
  timeWindowPush(abs, ts, size);
  k += observe(arena, cfg, slot, L.F_INTENSITY, timeWindowCount(abs) / windowSeconds, ts, seq, id, at(out, k));
  const total = timeWindowSum(abs);
  if (total > 0) k += observe(arena, cfg, slot, L.F_FLOW, timeWindowSum(flow) / total, ts, seq, id, at(out, k));
  // Volume per bucket: when a trade opens a new bucket, the closed bucket's size is observed; a run of empty
  // buckets in between is observed as one zero.
  const vbNs = <i64>cfgAt(cfg, L.C_VOLUME_BUCKET_NS);
  const b = ts >= 0 ? ts / vbNs : (ts - vbNs + 1) / vbNs;
  let f2 = ldu(slot, L.S_FLAGS) | L.SF_TRADE;
  if (!(f2 & L.SF_VBUCKET)) {
    f2 |= L.SF_VBUCKET;
    sti(slot, L.S_VBUCKET, b);
    stf(slot, L.S_VBUCKET_SUM, 0);
  } else if (b > ldi(slot, L.S_VBUCKET)) {
    k += observe(arena, cfg, slot, L.F_VOLUME, ldf(slot, L.S_VBUCKET_SUM), ts, seq, id, at(out, k));
    if (b > ldi(slot, L.S_VBUCKET) + 1) k += observe(arena, cfg, slot, L.F_VOLUME, 0, ts, seq, id, at(out, k));
    sti(slot, L.S_VBUCKET, b);
    stf(slot, L.S_VBUCKET_SUM, 0);
  }
  stf(slot, L.S_VBUCKET_SUM, ldf(slot, L.S_VBUCKET_SUM) + size);
  stu(slot, L.S_FLAGS, f2);
  return k;
}

function onQuote(arena: usize, cfg: usize, slot: usize, ts: i64, seq: i64, id: u32,
                 bid: f64, bidSize: f64, ask: f64, askSize: f64, bidDepth: f64, askDepth: f64, out: usize): i32 {
  let k = 0;
  const flags = ldu(slot, L.S_FLAGS);
  const mid = 0.5 * (bid + ask);
  const spread = (ask - bid) / mid * 1e4;
  updateSpread(slot, cfg, ts, spread);
  if (flags & L.SF_MID) {
    const jump = Math.log(mid / ldf(slot, L.S_LAST_MID)) * 1e4;
    updateVol(slot, cfg, ts, jump);
    updateRegime(arena, slot, cfg);
    k += observe(arena, cfg, slot, L.F_SPREAD, spread, ts, seq, id, at(out, k));
    k += observe(arena, cfg, slot, L.F_MID_JUMP, jump, ts, seq, id, at(out, k));
  } else {
    updateRegime(arena, slot, cfg);
    k += observe(arena, cfg, slot, L.F_SPREAD, spread, ts, seq, id, at(out, k));
  }
  stf(slot, L.S_LAST_MID, mid);
  stu(slot, L.S_FLAGS, ldu(slot, L.S_FLAGS) | L.SF_MID | L.SF_QUOTES);
  const top = bidSize + askSize;
  if (top > 0) k += observe(arena, cfg, slot, L.F_IMBALANCE, (bidSize - askSize) / top, ts, seq, id, at(out, k));
  if (bidDepth == bidDepth && askDepth == askDepth) {
    const depth = bidDepth + askDepth;
    k += observe(arena, cfg, slot, L.F_DEPTH, depth, ts, seq, id, at(out, k));
    if (depth > 0) k += observe(arena, cfg, slot, L.F_DEPTH_IMB, (bidDepth - askDepth) / depth, ts, seq, id, at(out, k));
  }
  const q = timeWindow(arena, slot, L.TW_QUOTES);
  timeWindowPush(q, ts, 1);
  k += observe(arena, cfg, slot, L.F_QUOTE_RATE, timeWindowCount(q) / (cfgAt(cfg, L.C_TIME_WINDOW_NS) * 1e-9), ts, seq, id, at(out, k));
  return k;
}

function onMark(arena: usize, cfg: usize, slot: usize, ts: i64, seq: i64, id: u32, mark: f64, index: f64, funding: f64, out: usize): i32 {
  let k = 0;
  if (index == index) k += observe(arena, cfg, slot, L.F_BASIS, (mark - index) / index * 1e4, ts, seq, id, at(out, k));
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

