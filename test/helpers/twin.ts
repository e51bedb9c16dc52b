// Holding the WASM engine against the reference twin: run both on the same events, compare alerts and end state.
// The tolerances are explained at the top of test/reference-engine.test.ts.
import { expect } from 'vitest';
import * as K from '../../src/abi.js';
import { RefEngine, type RefAlert, type RefEvent } from '../../src/reference/engine.js';
import { WasmEngine, type WasmRun } from './wasm-engine.js';
import type { Build } from './wasm.js';
import { expectClose } from './close.js';

export const RTOL = 1e-9;
export const F32_RTOL = 2 ** -23;

export function runTwin(ref: RefEngine, events: readonly RefEvent[]): { status: number[]; seq: bigint[]; alerts: RefAlert[] } {
  const out = { status: [] as number[], seq: [] as bigint[], alerts: [] as RefAlert[] };
  for (const e of events) {
    const r = ref.ingest(e);
    out.status.push(r.status);
    out.seq.push(r.seq);
    out.alerts.push(...r.alerts);
  }
  return out;
}

const key = (a: RefAlert): string =>
  `seq=${a.seq} ts=${a.tsNs} id=${a.instrument} f=${a.feature} d=${a.detector} sev=${a.severity} reg=${a.regime} mode=${a.mode}`;

/**
 * Condition number of a z-type score |x - e| / s: relative errors of x and e of RTOL become a relative error of
 * RTOL (|x| + |e|) / |x - e| in the score. It matters when the scale s is the floor minScale (a window whose MAD
 * or sd is 0): the score then magnifies the last-bit differences of x, which the two sides compute by different
 * but equally valid roundings. CUSUM and Page-Hinkley scores are judged at plain RTOL.
 */
function scoreCondition(a: RefAlert): number {
  if (a.detector > K.D_EWMA) return 1;
  const diff = Math.abs(a.value - a.expected);
  return diff > 0 ? Math.max(1, (Math.abs(a.value) + Math.abs(a.expected)) / diff) : 1;
}

export function expectSameAlerts(wasm: readonly RefAlert[], twin: readonly RefAlert[]): void {
  const n = Math.min(wasm.length, twin.length);
  for (let i = 0; i < n; i++) {
    const a = wasm[i];
    const b = twin[i];
    const label = `alert ${i} (${key(b)})`;
    expect(key(a), label).toBe(key(b));
    expectClose(a.value, b.value, RTOL, `${label} value`);
    expectClose(a.expected, b.expected, RTOL, `${label} expected`, Math.abs(b.value));
    expectClose(a.score, b.score, RTOL * scoreCondition(b), `${label} score`);
    expectClose(a.threshold, b.threshold, RTOL, `${label} threshold`);
    expectClose(a.regimeFactor, b.regimeFactor, F32_RTOL, `${label} regimeFactor`);
  }
  expect(wasm.length, 'alert count').toBe(twin.length);
}

/** End state: the module's stat exports against the twin's objects. */
export function expectSameState(w: WasmEngine, ref: RefEngine): void {
  expect(w.counter(0), 'accepted').toBe(ref.accepted);
  expect(w.counter(1), 'alerts').toBe(ref.alertCount);
  for (let r = 1; r < K.N_REJECT; r++) expect(w.counter(2 + r), `rejects ${r}`).toBe(ref.rejects[r]);
  for (const inst of ref.slots) {
    const id = inst.id;
    const lbl = `instrument ${id}`;
    expect(w.instrumentStat(id, 4), `${lbl} events`).toBe(inst.events);
    expect(w.instrumentStat(id, 5), `${lbl} last ts`).toBe(Number(inst.lastTs));
    expectClose(w.instrumentStat(id, 0), inst.regime.volRatio, RTOL, `${lbl} volRatio`);
    expectClose(w.instrumentStat(id, 1), inst.regime.liqRatio, RTOL, `${lbl} liqRatio`);
    expectClose(w.instrumentStat(id, 2), inst.regime.factor, RTOL, `${lbl} regimeFactor`);
    // Counts, but the module sums them as n * mean over merged buckets, so not always an exact integer.
    expectClose(w.instrumentStat(id, 6), inst.trades.sum(), RTOL, `${lbl} trades in window`);
    expectClose(w.instrumentStat(id, 7), inst.volume.sum(), RTOL, `${lbl} size in window`);
    expectClose(w.instrumentStat(id, 8), inst.flow.sum(), RTOL, `${lbl} signed size in window`, inst.volume.sum());
    expectClose(w.instrumentStat(id, 9), inst.quotes.sum(), RTOL, `${lbl} quotes in window`);
    expectClose(w.instrumentStat(id, 10), Math.sqrt(inst.ret2.sum()), RTOL, `${lbl} rvol`);
    if (inst.hst) expectSameHst(w, ref, id);
    for (const k of [1, 2, 3]) if (RefEngine.learnedOf(inst, k)) expectSameLearned(w, ref, id, k);
    for (let f = 0; f < K.N_FEATURES; f++) {
      const fs = inst.features[f];
      if (!fs) continue;
      const fl = `${lbl} feature ${f}`;
      expect(w.featureStat(id, f, 9), `${fl} observations`).toBe(fs.observations);
      expect(w.featureStat(id, f, 0), `${fl} count`).toBe(fs.window.count);
      if (fs.window.count === 0) continue;
      const scale = Math.max(Math.abs(fs.window.min()), Math.abs(fs.window.max()));
      expectClose(w.featureStat(id, f, 1), fs.window.mean(), RTOL, `${fl} mean`, scale);
      const v = fs.window.variance();
      // A window holding values near +-1e308 has a variance beyond the doubles: Infinity on both sides.
      if (Number.isFinite(v)) expect(Math.abs(w.featureStat(id, f, 2) - v), `${fl} variance`).toBeLessThanOrEqual(RTOL * v + 8 * Number.EPSILON * scale * scale);
      else expect(w.featureStat(id, f, 2), `${fl} variance`).toBe(v);
      // The held values themselves may differ in the last bits (bucket sums as n * mean vs a plain sum,
      // Math.log from two libraries), so order statistics are compared within RTOL here, exactly in kernels.test.ts.
      expectClose(w.featureStat(id, f, 3), fs.window.min(), RTOL, `${fl} min`, scale);
      expectClose(w.featureStat(id, f, 4), fs.window.max(), RTOL, `${fl} max`, scale);
      if (ref.params.features[f].mask & (1 << K.D_ROBUST)) {
        expectClose(w.featureStat(id, f, 5), fs.window.median(), RTOL, `${fl} median`, scale);
        expectClose(w.featureStat(id, f, 6), fs.window.mad(), RTOL, `${fl} mad`, scale);
        expectClose(w.x.feature_quantile(w.arena, id, f, 0.9), fs.window.quantile(0.9), RTOL, `${fl} q0.9`, scale);
      } else {
        // Without the robust detector the module keeps no sorted copy: order statistics read NaN.
        expect(w.featureStat(id, f, 5), `${fl} median`).toBeNaN();
        expect(w.featureStat(id, f, 6), `${fl} mad`).toBeNaN();
      }
      expectClose(w.featureStat(id, f, 7), fs.ewma.mean(), RTOL, `${fl} ewma mean`, scale);
      expectClose(w.featureStat(id, f, 8), fs.ewma.variance(), RTOL, `${fl} ewma var`, scale * scale * 1e-6);
      expectClose(w.featureStat(id, f, 10), fs.last, RTOL, `${fl} last`, scale);
      expectClose(w.featureStat(id, f, 11), fs.rate.perHour(inst.lastTs), RTOL, `${fl} rate`);
      if ((ref.params.features[f].mask & (1 << K.D_NOVELTY)) && Number.isFinite(fs.novelty.lo[0])) {
        expect(w.featureStat(id, f, 12), `${fl} novelty low`).toBe(fs.novelty.lo[0]);
        expect(w.featureStat(id, f, 13), `${fl} novelty high`).toBe(fs.novelty.hi[0]);
      } else {
        expect(w.featureStat(id, f, 12), `${fl} novelty low`).toBeNaN();
        expect(w.featureStat(id, f, 13), `${fl} novelty high`).toBeNaN();
      }
      for (let d = 0; d < K.N_DETECTORS; d++) {
        const ch = fs.channels[d];
        const cl = `${fl} detector ${d}`;
        expect(w.channelStat(id, f, d, 2), `${cl} alerts`).toBe(ch.alerts);
        expect(w.channelStat(id, f, d, 3), `${cl} exceedances`).toBe(ch.exceedances);
        expect(w.channelStat(id, f, d, 4), `${cl} calibrated`).toBe(ch.calibrator.n);
        expect(w.channelStat(id, f, d, 6), `${cl} in episode`).toBe(ch.suppressor.inEpisode ? 1 : 0);
        expectClose(w.channelStat(id, f, d, 0), ch.lastScore, RTOL, `${cl} last score`, 1e-6);
        expectClose(w.channelStat(id, f, d, 1), ch.lastThreshold, RTOL, `${cl} last threshold`);
        expectClose(w.channelStat(id, f, d, 5), ch.calibrator.u, RTOL, `${cl} base quantile`, 1e-6);
        const fixed = w.channelStat(id, f, d, 7);
        if (Number.isNaN(ch.fixedThreshold)) expect(fixed).toBeNaN(); else expect(fixed).toBe(ch.fixedThreshold);
      }
    }
  }
}

/**
 * The HST channel of one instrument: steps, the kernel's last raw score (bit for bit), the channel's counters and
 * calibrator, and the kernel state in the arena (window position, l index, both mass profiles) against the twin's.
 */
export function expectSameHst(w: WasmEngine, ref: RefEngine, id: number): void {
  const lc = ref.instruments.get(id)!.hst!;
  const lbl = `instrument ${id} hst`;
  const stat = (i: number): number => w.channelStat(id, K.F_VECTOR, K.D_HST, i);
  expect(stat(8), `${lbl} steps`).toBe(lc.steps);
  expect(Object.is(stat(9), lc.last), `${lbl} raw score ${stat(9)} vs ${lc.last}`).toBe(true);
  expect(stat(2), `${lbl} alerts`).toBe(lc.channel.alerts);
  expect(stat(3), `${lbl} exceedances`).toBe(lc.channel.exceedances);
  expect(stat(4), `${lbl} calibrated`).toBe(lc.channel.calibrator.n);
  expect(stat(6), `${lbl} in episode`).toBe(lc.channel.suppressor.inEpisode ? 1 : 0);
  expect(Object.is(stat(0), lc.channel.lastScore), `${lbl} last score`).toBe(true);
  expectClose(stat(1), lc.channel.lastThreshold, RTOL, `${lbl} last threshold`);
  const v = new DataView(w.wasm.memory.buffer);
  const slot = w.arena + v.getInt32(w.arena + K.ARENA.SLOTS, true) + w.x.slot_of(w.arena, id) * w.x.slot_bytes(w.arena);
  const st = slot + v.getInt32(w.arena + K.ARENA.LEARNED_OFF, true) + K.LEARNED_BLOCK.STATE;
  const h = lc.hst;
  expect(v.getUint32(st + 8, true), `${lbl} points in window`).toBe(h.count);
  expect(v.getUint32(st + 12, true), `${lbl} l index`).toBe(h.cur);
  expect(v.getUint32(st + 16, true), `${lbl} warm`).toBe(h.warm ? 1 : 0);
  const dims = h.model.dims;
  const profile0 = st + 64 + 40 * dims;
  const profileBytes = (2 * h.profiles[0].length + 7) & ~7;
  for (let k = 0; k < 2; k++) {
    const masses = new Uint16Array(w.wasm.memory.buffer.slice(profile0 + k * profileBytes, profile0 + k * profileBytes + 2 * h.profiles[k].length));
    expect(masses, `${lbl} profile ${k}`).toEqual(h.profiles[k]);
  }
}

/**
 * Learned channel k (1 one-class SVM, 2 RLS, 3 combination) of one instrument: steps, the kernel's last raw score
 * (bit for bit for the kernels; within RTOL for the combined score, whose ratios divide by thresholds), the channel's
 * counters and calibrator; the kernel's points learnt (one-class SVM, RLS) from the arena.
 */
export function expectSameLearned(w: WasmEngine, ref: RefEngine, id: number, k: number): void {
  const inst = ref.instruments.get(id)!;
  const lc = RefEngine.learnedOf(inst, k)!;
  const { feature, detector } = K.channelIds(K.N_TABLE_CHANNELS + k);
  const lbl = `instrument ${id} ${K.channelName(K.N_TABLE_CHANNELS + k)}`;
  const stat = (i: number): number => w.channelStat(id, feature, detector, i);
  expect(stat(8), `${lbl} steps`).toBe(lc.steps);
  if (k === 3) expectClose(stat(9), lc.last, RTOL, `${lbl} score`);
  else expect(Object.is(stat(9), lc.last), `${lbl} raw score ${stat(9)} vs ${lc.last}`).toBe(true);
  expect(stat(2), `${lbl} alerts`).toBe(lc.channel.alerts);
  expect(stat(3), `${lbl} exceedances`).toBe(lc.channel.exceedances);
  expect(stat(4), `${lbl} calibrated`).toBe(lc.channel.calibrator.n);
  expect(stat(6), `${lbl} in episode`).toBe(lc.channel.suppressor.inEpisode ? 1 : 0);
  expectClose(stat(0), lc.channel.lastScore, RTOL, `${lbl} last score`);
  expectClose(stat(1), lc.channel.lastThreshold, RTOL, `${lbl} last threshold`);
  const v = new DataView(w.wasm.memory.buffer);
  const slot = w.arena + v.getInt32(w.arena + K.ARENA.SLOTS, true) + w.x.slot_of(w.arena, id) * w.x.slot_bytes(w.arena);
  const st = slot + v.getInt32(w.arena + K.ARENA.LEARNED_OFF + 4 * k, true) + K.LEARNED_BLOCK.STATE;
  if (k === 1) {
    const oc = inst.ocsvm!.oc;
    expect(Number(v.getBigInt64(st + 40, true)), `${lbl} points learnt`).toBe(oc.t);
    expect(Object.is(v.getFloat64(st + 48, true), oc.rho), `${lbl} rho`).toBe(true);
    expect(Object.is(v.getFloat64(st + 56, true), oc.scale), `${lbl} scale`).toBe(true);
  } else if (k === 2) {
    const r = inst.rls!;
    expect(v.getUint32(st + K.RLS_SERIES.SEEN, true), `${lbl} series seen`).toBe(r.seen);
    expect(v.getUint32(st + K.RLS_SERIES.MODEL, true), `${lbl} model`).toBe(r.model);
    expect(v.getUint32(st + K.RLS_SERIES.ANCHORED, true), `${lbl} anchored`).toBe(r.anchored);
    expect(new Float64Array(w.wasm.memory.buffer.slice(st + K.RLS_SERIES.ANCHORS, st + K.RLS_SERIES.ANCHORS + 72)), `${lbl} anchors`).toEqual(r.anchors);
    const ks = st + K.RLS_SERIES.BYTES;
    expect(Number(v.getBigInt64(ks + 16, true)), `${lbl} points learnt`).toBe(r.state.n);
    expect(new Uint8Array(w.wasm.memory.buffer.slice(ks, ks + r.state.toBytes().length)), `${lbl} kernel state`).toEqual(r.state.toBytes());
  }
}

export interface BothOptions {
  /** Events per batch region, and alert records per ingest call, on the module's side. */
  capacity?: number;
  alertCapacity?: number;
  /** Called with both engines before the events: register instruments, set thresholds. */
  prepare?: (wasm: WasmEngine, ref: RefEngine) => void;
}

/**
 * The module (one build) and the twin on the same events: statuses, sequence numbers, alerts and end state agree,
 * and the module wrote nothing past its alert buffer.
 */
export function runBoth(build: Build, cfg: Float64Array, events: readonly RefEvent[], o: BothOptions = {}): {
  wasm: WasmEngine; ref: RefEngine; w: WasmRun; t: ReturnType<typeof runTwin>;
} {
  const wasm = new WasmEngine(build, cfg, o.capacity, o.alertCapacity);
  const ref = new RefEngine(cfg);
  o.prepare?.(wasm, ref);
  const w = wasm.run(events);
  const t = runTwin(ref, events);
  expect(w.status).toEqual(t.status);
  expect(w.seq).toEqual(t.seq);
  expectSameAlerts(w.alerts, t.alerts);
  expectSameState(wasm, ref);
  expect(wasm.guardIntact()).toBe(true);
  return { wasm, ref, w, t };
}
