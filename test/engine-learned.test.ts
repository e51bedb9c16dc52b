// The one-class SVM (learned channel 97), RLS fair value (98) and the combination (99) wired into the engine: the
// module held against the reference twin alert for alert (the kernels' scores bit for bit), the stepping rules,
// what each detects (a mid drifting off its index, an IV off its neighbours, k members within a window), snapshots,
// seeds, configuration checks, and the JSON configuration and Engine API.
import { describe, expect, it } from 'vitest';
import * as K from '../src/abi.js';
import { RefEngine, type RefAlert, type RefEvent } from '../src/reference/engine.js';
import { runBoth, runTwin, expectSameLearned } from './helpers/twin.js';
import { BUILDS, type Build } from './helpers/wasm.js';
import { WasmEngine } from './helpers/wasm-engine.js';
import { S, allModes, engineConfig, seriesMask, withCombine, withHst, withOcsvm, withRls } from './helpers/config.js';
import { market, event, T0, MS } from './helpers/market.js';
import { gaussian, mulberry32 } from './helpers/random.js';
import { ConfigError, encodeConfig, resolveConfig } from '../src/config.js';
import { Engine } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import { Registry } from '../src/registry.js';
import { applyInstrumentThresholds } from '../src/instrument-thresholds.js';

const { C } = K;
const of = (d: number) => (alerts: readonly RefAlert[]): RefAlert[] => alerts.filter((a) => a.detector === d);
const ocAlerts = of(K.D_OCSVM), rlsAlerts = of(K.D_RLS), combAlerts = of(K.D_COMBINED);
const staticCfg = (): Float64Array => engineConfig({}, allModes(K.M_STATIC));
const ch = (f: number, d: number): number => f * K.N_DETECTORS + d;

/**
 * A market where instruments 1 and 2 are perpetuals (trades, quotes, marks with an index, values: no option
 * events) and 3 an option (option events only, with a neighbour IV near its mark IV); a few index-only marks, and
 * rejected events: a mark with neither mark nor index, neighbour IVs of Infinity and -0.1.
 */
function fairMarket(seed: number, n: number, badRate = 0.02): RefEvent[] {
  const g = gaussian(mulberry32(seed + 1));
  const { events } = market({ seed, n, instruments: [1, 2, 3], badRate });
  const out: RefEvent[] = [];
  for (const e of events) {
    if (e.kind === K.K_OPTION) {
      if (e.instrument !== 3) continue;
      const f = [...e.f];
      f[5] = f[0] + 0.003 + 0.0005 * g();
      out.push({ ...e, f });
    } else if (e.instrument === 3 && e.kind !== K.K_VALUE) {
      continue;
    } else {
      out.push(e);
    }
  }
  const at = (i: number, ev: RefEvent) => out.splice(i, 0, ev);
  for (let k = 0; k < 20; k++) {
    const i = 200 + Math.floor((out.length - 400) * k / 20);
    const t = out[i].tsNs;
    if (k % 4 === 0) at(i, event(t, -1n, 1, K.K_MARK, NaN, 60_000 * (1 + 1e-5 * g()), NaN)); // index only: accepted
    else if (k % 4 === 1) at(i, event(t, -1n, 2, K.K_MARK, NaN, NaN, 1e-4)); // neither: rejected
    else if (k % 4 === 2) at(i, event(t, -1n, 3, K.K_OPTION, 0.5, 60_000, 10, NaN, NaN, Infinity)); // rejected
    else at(i, event(t, -1n, 3, K.K_OPTION, 0.5, 60_000, 10, NaN, NaN, -0.1)); // rejected
  }
  return out;
}

/**
 * A perpetual (id 1): every 200 ms a quote, then a mark at the same time. The index walks by 1 bp steps; the mid sits
 * 5 bps over it with 0.3 bp of noise. From cycle `from`, over 15 cycles (3 s), an extra offset rises linearly to
 * `bps`: on the mid alone (`drift`), or on the index and the mid together.
 */
function perp(seed: number, cycles: number, from: number, bps: number, how: 'drift' | 'together' | 'none'): RefEvent[] {
  const g = gaussian(mulberry32(seed));
  const out: RefEvent[] = [];
  let idx = 60_000;
  let t = T0;
  for (let i = 0; i < cycles; i++) {
    t += 200n * MS;
    idx *= 1 + 1e-4 * g();
    const off = how === 'none' || i < from ? 0 : Math.min(1, (i - from + 1) / 15) * bps * 1e-4;
    const index = how === 'together' ? idx * (1 + off) : idx;
    const mid = index * (1 + 5e-4) * (1 + 3e-5 * g()) * (how === 'drift' ? 1 + off : 1);
    out.push(event(t, BigInt(2 * i), 1, K.K_QUOTE, mid - 0.5, 2, mid + 0.5, 2));
    out.push(event(t, BigInt(2 * i + 1), 1, K.K_MARK, mid, index, 1e-4));
  }
  return out;
}

/**
 * An option (id 9): every 200 ms an option event whose neighbour IV walks by 0.002 and whose mark IV sits 0.01 over
 * it with 0.0003 of noise. From event `from`, for 5 events, the mark IV alone (`off`) or the mark IV and its
 * neighbours (`surface`) are `step` higher.
 */
function option(seed: number, n: number, from: number, step: number, how: 'off' | 'surface' | 'none'): RefEvent[] {
  const g = gaussian(mulberry32(seed));
  const out: RefEvent[] = [];
  let nb = 0.55;
  let t = T0;
  for (let i = 0; i < n; i++) {
    t += 200n * MS;
    nb += 0.002 * g();
    const on = how !== 'none' && i >= from && i < from + 5 ? step : 0;
    const neighbour = nb + (how === 'surface' ? on : 0);
    const iv = nb + 0.01 + 0.0003 * g() + on;
    out.push(event(t, BigInt(i), 9, K.K_OPTION, iv, 60_000, 100, iv - 0.01, iv + 0.01, neighbour));
  }
  return out;
}

/**
 * Instrument 4: every 100 ms a quote with a spread spread uniformly over [0.1, 0.12] around a mid of 60,000 and a trade
 * near the mid (uniform noise of 0.6 bp): neither the spread's nor the return's z-score reaches 4. At the times in
 * `spreadAt` (ms from the start) a quote's spread is 10 times wider; at `returnAt` a trade is 50 bps up.
 */
function combo(seed: number, n: number, spreadAt: number[], returnAt: number[]): RefEvent[] {
  const u = mulberry32(seed);
  const out: RefEvent[] = [];
  for (let i = 0; i < n; i++) {
    const ms = 100 * (i + 1);
    const t = T0 + BigInt(ms) * MS;
    const half = spreadAt.includes(ms) ? 0.5 : 0.05 + 0.01 * u();
    out.push(event(t, -1n, 4, K.K_QUOTE, 60_000 - half, 1, 60_000 + half, 1));
    const px = returnAt.includes(ms) ? 60_300 : 60_000 * (1 + 6e-5 * (u() - 0.5));
    out.push(event(t + MS, -1n, 4, K.K_TRADE, px, 0.1, 1));
  }
  return out;
}

function describeLearned(build: Build): void {
  describe(`one-class SVM channel: module vs twin (${build} build)`, () => {
    it('market stream with rejected events: alerts bit for bit, kernel states equal; value is the raw score, expected NaN', () => {
      const cfg = withOcsvm(staticCfg(), [K.F_SPREAD, K.F_MID_JUMP], { [C.OCSVM_THRESHOLD]: 2.5 });
      const events = fairMarket(51, 12_000);
      const { wasm, w, t } = runBoth(build, cfg, events, { alertCapacity: K.MAX_ALERTS_PER_EVENT });
      const ow = ocAlerts(w.alerts), ot = ocAlerts(t.alerts);
      expect(ot.length, 'OCSVM alerts').toBeGreaterThan(3);
      expect(ow).toEqual(ot);
      for (const a of ow) {
        expect(a.feature).toBe(K.F_VECTOR);
        expect(Number.isNaN(a.expected)).toBe(true);
        expect(a.value).toBe(a.score);
      }
      for (const id of [1, 2]) expect(wasm.channelStat(id, K.F_VECTOR, K.D_OCSVM, 8)).toBeGreaterThan(200);
    });

    it('target, regime and fixed modes, window 1, the all-time scaler: the same alerts', () => {
      const events = fairMarket(52, 6000);
      for (const [mode, over] of [[K.M_TARGET, {}], [K.M_REGIME, { [C.OCSVM_WINDOW]: 1 }], [K.M_FIXED, { [C.OCSVM_SCALER]: 0, [C.OCSVM_GAMMA]: 0.3 }]] as const) {
        const cfg = withOcsvm(engineConfig(), [K.F_SPREAD, K.F_MID_JUMP, K.F_BASIS], { [C.OCSVM_MODE]: mode, [C.OCSVM_THRESHOLD]: 2, ...over });
        runBoth(build, cfg, events, {
          prepare: (wasm, ref) => {
            for (const id of [1, 2]) expect(wasm.register(id)).toBe(ref.register(id));
            expect(wasm.setInstrumentThreshold(2, K.F_VECTOR, K.D_OCSVM, 1.5)).toBe(0);
            expect(ref.setInstrumentThreshold(2, K.F_VECTOR, K.D_OCSVM, 1.5)).toBe(0);
          },
        });
      }
    });

    it('HST and the one-class SVM together: both step on the same events, alerts bit for bit', () => {
      const cfg = withOcsvm(withHst(staticCfg(), [K.F_SPREAD, K.F_FLOW], { [C.HST_THRESHOLD]: 4 }), [K.F_SPREAD, K.F_MID_JUMP]);
      const { wasm, ref } = runBoth(build, cfg, fairMarket(53, 6000));
      const inst = ref.instruments.get(1)!;
      expect(wasm.channelStat(1, K.F_VECTOR, K.D_OCSVM, 8)).toBe(inst.ocsvm!.steps);
      // Each steps once per event that observed a feature of its own: spread and midJump on every quote, flow per bucket.
      expect(inst.ocsvm!.steps).toBeGreaterThan(500);
      expect(inst.hst!.steps).toBeGreaterThan(inst.ocsvm!.steps);
    });

    it('same seed, same alerts; another seed, other scores', () => {
      const events = fairMarket(54, 6000, 0);
      const run = (seed: number) => {
        const cfg = withOcsvm(staticCfg(), [K.F_SPREAD, K.F_MID_JUMP], { [C.OCSVM_SEED]: seed, [C.OCSVM_THRESHOLD]: 2 });
        const wasm = new WasmEngine(build, cfg);
        const w = wasm.run(events);
        expect(ocAlerts(w.alerts)).toEqual(ocAlerts(runTwin(new RefEngine(cfg), events).alerts));
        return { alerts: ocAlerts(w.alerts), last: wasm.channelStat(1, K.F_VECTOR, K.D_OCSVM, 0) };
      };
      const a = run(7), b = run(7), c = run(0xfffffffe);
      expect(a.alerts.length).toBeGreaterThan(0);
      expect(b.alerts).toEqual(a.alerts);
      expect(b.last).toBe(a.last);
      expect(c.alerts.map((x) => x.score)).not.toEqual(a.alerts.map((x) => x.score));
    });
  });

  describe(`RLS fair-value channel (${build} build)`, () => {
    it('market stream (perpetuals on the price model, an option on the option model): alerts and kernel states bit for bit', () => {
      const cfg = withRls(staticCfg(), { [C.RLS_THRESHOLD]: 3 });
      const events = fairMarket(61, 15_000);
      const { wasm, ref, w, t } = runBoth(build, cfg, events, { alertCapacity: K.MAX_ALERTS_PER_EVENT });
      const rw = rlsAlerts(w.alerts), rt = rlsAlerts(t.alerts);
      expect(rt.length, 'RLS alerts').toBeGreaterThan(2);
      expect(rw).toEqual(rt);
      for (const a of rw) expect(a.feature).toBe(K.F_FAIR_VALUE);
      expect(ref.instruments.get(1)!.rls!.model).toBe(1);
      expect(ref.instruments.get(3)!.rls!.model).toBe(2);
      for (const id of [1, 2, 3]) expect(wasm.channelStat(id, K.F_FAIR_VALUE, K.D_RLS, 8), `steps ${id}`).toBeGreaterThan(100);
      // Index-only marks were accepted, marks with neither refused, and the bad neighbour IVs.
      expect(t.status.filter((s) => s === K.R_NONFINITE).length).toBeGreaterThanOrEqual(10);
      expect(t.status.filter((s) => s === K.R_NEGATIVE).length).toBeGreaterThanOrEqual(5);
    });

    it('steps on each event that updates a regressor while the target and the other regressors are fresh: at most once per event', () => {
      const cfg = withRls(staticCfg(), { [C.RLS_MAX_STALE_NS]: 150e6, [C.RLS_PRICE_X]: seriesMask(S.index, S.trade) });
      const events = fairMarket(62, 6000, 0);
      const ref = new RefEngine(cfg);
      let expected = 0;
      let lastMid: bigint | null = null, lastIndex: bigint | null = null, lastTrade: bigint | null = null;
      const fresh = (t: bigint | null, now: bigint): boolean => t !== null && now - t <= 150_000_000n;
      for (const e of events) {
        const r = ref.ingest(e);
        if (r.status !== K.R_OK || e.instrument !== 1) continue;
        if (e.kind === K.K_QUOTE) lastMid = e.tsNs;
        const upd = (e.kind === K.K_MARK && !Number.isNaN(e.f[1])) || e.kind === K.K_TRADE;
        if (e.kind === K.K_MARK && !Number.isNaN(e.f[1])) lastIndex = e.tsNs;
        if (e.kind === K.K_TRADE) lastTrade = e.tsNs;
        if (upd && fresh(lastMid, e.tsNs) && fresh(lastIndex, e.tsNs) && fresh(lastTrade, e.tsNs)) expected++;
      }
      expect(expected).toBeGreaterThan(40); // 54: the trade and the index both within 150 ms of each step
      expect(ref.instruments.get(1)!.rls!.steps).toBe(expected);
      const wasm = new WasmEngine(build, cfg);
      wasm.run(events);
      expect(wasm.channelStat(1, K.F_FAIR_VALUE, K.D_RLS, 8)).toBe(expected);
      expectSameLearned(wasm, ref, 1, 2);
    });

    it('a mid drifting 20 bps off its index over 3 s alerts; the index and the mid moving together do not', () => {
      const cfg = withRls(staticCfg(), { [C.RLS_WARMUP]: 400 }); // the default warm-up
      const drift = perp(63, 2100, 2000, 20, 'drift');
      const { w } = runBoth(build, cfg, drift);
      const a = rlsAlerts(w.alerts);
      expect(a.length).toBeGreaterThanOrEqual(1);
      expect(Number(a[0].seq)).toBeGreaterThanOrEqual(4000);
      expect(Number(a[0].seq)).toBeLessThan(4030);
      // The alert reports the mid and the mid the index put it at, in price units (the mid above it).
      expect(a[0].value).toBeGreaterThan(a[0].expected * (1 + 1e-4));
      expect(a[0].expected).toBeGreaterThan(50_000);
      for (const seed of [63, 64, 65]) {
        const { w: together } = runBoth(build, cfg, perp(seed, 2100, 2000, 20, 'together'));
        expect(rlsAlerts(together.alerts), `seed ${seed}`).toEqual([]);
      }
    });

    it('an option whose mark IV leaves its neighbours alerts; a move of the whole surface does not', () => {
      const cfg = withRls(staticCfg(), { [C.RLS_WARMUP]: 400 }); // the default warm-up
      const { w, ref } = runBoth(build, cfg, option(66, 1100, 1000, 0.01, 'off'));
      const a = rlsAlerts(w.alerts);
      expect(a.length).toBeGreaterThanOrEqual(1);
      expect(Number(a[0].seq)).toBe(1000);
      expect(a[0].value - a[0].expected).toBeGreaterThan(0.008); // vol as a fraction: the IV over its prediction
      expect(ref.instruments.get(9)!.rls!.model).toBe(2);
      for (const seed of [66, 67, 68]) {
        const { w: surface } = runBoth(build, cfg, option(seed, 1100, 1000, 0.01, 'surface'));
        expect(rlsAlerts(surface.alerts), `seed ${seed}`).toEqual([]);
      }
    });

    it('without the target series it never steps (a capture without marks); with a stale target neither', () => {
      const cfg = withRls(staticCfg());
      const quotesOnly = perp(69, 500, 0, 0, 'none').filter((e) => e.kind === K.K_QUOTE);
      const { wasm } = runBoth(build, cfg, quotesOnly);
      expect(wasm.channelStat(1, K.F_FAIR_VALUE, K.D_RLS, 8)).toBe(0);
      const stale = withRls(staticCfg(), { [C.RLS_MAX_STALE_NS]: 0 });
      const late = perp(69, 500, 0, 0, 'none').map((e) => (e.kind === K.K_MARK ? { ...e, tsNs: e.tsNs + 1n } : e));
      const { wasm: w2 } = runBoth(build, stale, late);
      expect(w2.channelStat(1, K.F_FAIR_VALUE, K.D_RLS, 8)).toBe(0);
      const { wasm: w3 } = runBoth(build, stale, perp(69, 500, 0, 0, 'none'));
      expect(w3.channelStat(1, K.F_FAIR_VALUE, K.D_RLS, 8)).toBe(500);
    });
  });

  describe(`combination channel (${build} build)`, () => {
    const members = [ch(K.F_SPREAD, K.D_ZSCORE), ch(K.F_RETURN, K.D_ZSCORE)];
    it('k of n fires only when k members exceeded within the window', () => {
      const events = combo(71, 400, [20_000], [21_000]);
      const cfg = (windowNs: number) => withCombine(staticCfg(), 1, members, 2, { [C.COMBINE_WINDOW_NS]: windowNs });
      const { w } = runBoth(build, cfg(2e9), events);
      const c = combAlerts(w.alerts);
      expect(c.length).toBe(1);
      expect(c[0].score).toBe(2);
      expect(c[0].threshold).toBe(2);
      expect(c[0].tsNs).toBe(T0 + 21_000n * MS + MS); // the trade 1 s after the wide quote
      // Both members alerted on their own too.
      expect(w.alerts.some((a) => a.feature === K.F_SPREAD && a.detector === K.D_ZSCORE)).toBe(true);
      expect(w.alerts.some((a) => a.feature === K.F_RETURN && a.detector === K.D_ZSCORE)).toBe(true);
      expect(combAlerts(runBoth(build, cfg(0.5e9), events).w.alerts)).toEqual([]);
      expect(combAlerts(runBoth(build, cfg(1), events).w.alerts)).toEqual([]);
      // One member alone, however far out, is not 2 of 2.
      expect(combAlerts(runBoth(build, cfg(2e9), combo(71, 400, [20_000], [])).w.alerts)).toEqual([]);
      // 1 of 2 fires on either.
      const one = withCombine(staticCfg(), 1, members, 1, { [C.COMBINE_WINDOW_NS]: 1 });
      expect(combAlerts(runBoth(build, one, combo(71, 400, [20_000], [30_000])).w.alerts).length).toBe(2);
    });

    it('exclusive: the members\u2019 own alerts are not emitted, the combination\u2019s are', () => {
      const events = combo(72, 400, [20_000], [21_000]);
      const cfg = withCombine(staticCfg(), 1, members, 2, { [C.COMBINE_EXCLUSIVE]: 1 });
      const { w, wasm } = runBoth(build, cfg, events);
      expect(combAlerts(w.alerts).length).toBe(1);
      expect(w.alerts.some((a) => (a.feature === K.F_SPREAD || a.feature === K.F_RETURN) && a.detector === K.D_ZSCORE)).toBe(false);
      // Other channels of the same features still alert.
      expect(w.alerts.some((a) => a.feature === K.F_SPREAD && a.detector !== K.D_ZSCORE)).toBe(true);
      expect(wasm.channelStat(4, K.F_SPREAD, K.D_ZSCORE, 2)).toBe(0);
      expect(wasm.channelStat(4, K.F_SPREAD, K.D_ZSCORE, 3)).toBeGreaterThan(0);
    });

    it('combined score: the mean of capped score / threshold of the members\u2019 latest scores within the window', () => {
      // The wide quote and the jump 1 ms apart: at the trade both members' latest scores are far out.
      const cfg = withCombine(staticCfg(), 2, members, 1, { [C.COMBINE_CAP]: 1.2 });
      const { w } = runBoth(build, cfg, combo(73, 400, [21_000], [21_000]));
      const c = combAlerts(w.alerts);
      expect(c.length).toBe(1);
      expect(c[0].score).toBe(1.2);
      expect(c[0].tsNs).toBe(T0 + 21_000n * MS + MS);
      expect(combAlerts(runBoth(build, cfg, combo(73, 400, [20_000], [])).w.alerts)).toEqual([]);
    });

    it('learned members on a market stream, every channel in its mode: alerts and states as the twin\u2019s', () => {
      const cfg = withCombine(withRls(withOcsvm(withHst(engineConfig(), [K.F_SPREAD, K.F_FLOW]), [K.F_SPREAD, K.F_MID_JUMP]), { [C.RLS_THRESHOLD]: 3 }),
        2, [96, 97, 98, ch(K.F_SPREAD, K.D_ZSCORE)], 1, { [C.COMBINE_THRESHOLD]: 0.5, [C.COMBINE_EXCLUSIVE]: 1 });
      const { w, t } = runBoth(build, cfg, fairMarket(74, 8000), { alertCapacity: K.MAX_ALERTS_PER_EVENT });
      expect(combAlerts(t.alerts).length).toBeGreaterThan(0);
      expect(w.alerts.filter((a) => a.detector === K.D_HST || a.detector === K.D_OCSVM || a.detector === K.D_RLS)).toEqual([]);
    });
  });

  describe(`learned channels and snapshots (${build} build)`, () => {
    it('continues identically after a snapshot restored mid-stream; restore_check refuses corrupted states', () => {
      const cfg = withCombine(withRls(withOcsvm(staticCfg(), [K.F_SPREAD, K.F_MID_JUMP], { [C.OCSVM_THRESHOLD]: 2 }), { [C.RLS_THRESHOLD]: 3 }),
        1, [97, 98, ch(K.F_SPREAD, K.D_ZSCORE)], 2, { [C.COMBINE_WINDOW_NS]: 30e9 });
      const events = fairMarket(81, 12_000);
      const whole = new WasmEngine(build, cfg);
      const all = whole.run(events).alerts;
      expect(ocAlerts(all).length + rlsAlerts(all).length).toBeGreaterThan(0);
      const first = new WasmEngine(build, cfg);
      const cut = 5555;
      const a = first.run(events.slice(0, cut)).alerts;
      const snap = new Uint8Array(first.wasm.memory.buffer, first.arena, first.arenaBytes).slice();
      const second = new WasmEngine(build, cfg);
      new Uint8Array(second.wasm.memory.buffer, second.arena, snap.length).set(snap);
      expect(second.x.restore_check(second.arena, snap.length)).toBe(0);
      expect([...a, ...second.run(events.slice(cut)).alerts]).toEqual(all);
      const v = new DataView(second.wasm.memory.buffer);
      const slot0 = second.arena + v.getInt32(second.arena + K.ARENA.SLOTS, true);
      const block = (k: number) => slot0 + v.getInt32(second.arena + K.ARENA.LEARNED_OFF + 4 * k, true) + K.LEARNED_BLOCK.STATE;
      const corrupt = (at: number, write: (x: number) => void, read: () => number) => {
        const keep = read();
        write(at);
        expect(second.x.restore_check(second.arena, snap.length)).toBe(K.E_BAD_ARENA);
        write(keep);
        expect(second.x.restore_check(second.arena, snap.length)).toBe(0);
      };
      const u32 = (p: number) => [(x: number) => v.setUint32(p, x, true), () => v.getUint32(p, true)] as const;
      const f64 = (p: number) => [(x: number) => v.setFloat64(p, x, true), () => v.getFloat64(p, true)] as const;
      corrupt(0.5, ...f64(block(1) + 24)); // OCSVM nu other than the configuration's
      corrupt(NaN, ...f64(block(1) + 48)); // rho
      corrupt(3, ...u32(block(2) + K.RLS_SERIES.MODEL)); // no such RLS model
      corrupt(NaN, ...f64(block(2) + K.RLS_SERIES.BYTES + 80)); // theta
      corrupt(1, ...u32(block(3) + K.COMBINE_STATE.EVENT)); // an event's flags left set
      // The OCSVM model's seed.
      const model = second.arena + v.getInt32(second.arena + K.ARENA.MODEL_OFF + 4, true);
      corrupt(43, ...u32(model + 8));
    });

    it('off: no block, the slot as before; on: the bytes each adds per instrument', () => {
      const off = new WasmEngine(build, engineConfig());
      const v = new DataView(off.wasm.memory.buffer);
      expect(v.getInt32(off.arena + K.ARENA.VECTOR_OFF, true)).toBe(-1);
      for (const [feature, detector] of [[K.F_VECTOR, K.D_OCSVM], [K.F_FAIR_VALUE, K.D_RLS], [K.F_VECTOR, K.D_COMBINED]]) {
        expect(off.x.set_channel(off.arena, feature, detector, 0, 5)).toBe(K.E_NOT_FOUND);
        expect(off.x.channel_stat(off.arena, 1, feature, detector, 0)).toBeNaN();
      }
      const base = off.x.slot_bytes(off.arena);
      const grow = (cfg: Float64Array) => { const w = new WasmEngine(build, cfg); return w.x.slot_bytes(w.arena) - base; };
      // Latest values 136, block 440, then: OCSVM 80 + 40 x 2 + 16 x 32; RLS series 168 + 80 + 8 (4 + 1); combination 200.
      expect(Math.abs(grow(withOcsvm(engineConfig(), [K.F_SPREAD, K.F_FLOW])) - (136 + 440 + 80 + 80 + 512))).toBeLessThan(64);
      expect(Math.abs(grow(withRls(engineConfig())) - (136 + 440 + 168 + 120))).toBeLessThan(64);
      expect(Math.abs(grow(withCombine(engineConfig(), 1, [0, 1])) - (136 + 440 + 200))).toBeLessThan(64);
    });
  });

  describe(`learned configuration checks (${build} build)`, () => {
    it('names the offending index of each OCSVM, RLS and combination value', () => {
      const w = new WasmEngine(build, engineConfig());
      const at = w.configPtr;
      const check = (cfg: Float64Array): number => { new Float64Array(w.wasm.memory.buffer, at, K.C_LEN).set(cfg); return w.x.validate_config(at); };
      const good = (): Float64Array => withCombine(withRls(withOcsvm(engineConfig(), [K.F_SPREAD, K.F_FLOW])), 1, [0, 97, 98], 2);
      expect(check(good())).toBe(0);
      const cases: [number, number][] = [
        [C.OCSVM_ENABLED, 2], [C.OCSVM_FEATURES, 0], [C.OCSVM_FEATURES, 65536], [C.OCSVM_COMPONENTS, 0], [C.OCSVM_COMPONENTS, 1025],
        [C.OCSVM_NU, 0], [C.OCSVM_NU, 1.5], [C.OCSVM_GAMMA, -1], [C.OCSVM_GAMMA, 2e6], [C.OCSVM_WINDOW, 0], [C.OCSVM_WINDOW, 2 ** 24 + 1],
        [C.OCSVM_WARMUP, -1], [C.OCSVM_WARMUP, 0.5], [C.OCSVM_SEED, 2 ** 32], [C.OCSVM_SCALER, 2], [305, 1], [C.OCSVM_MODE, 4],
        [C.OCSVM_THRESHOLD, 0], [308, 1], [311, 1],
        [C.RLS_ENABLED, 2], [C.RLS_PRICE_TARGET, 9], [C.RLS_PRICE_TARGET, -1], [C.RLS_PRICE_X, 0], [C.RLS_PRICE_X, 512],
        [C.RLS_PRICE_X, seriesMask(S.mid, S.index)], [C.RLS_PRICE_X, 1.5], [C.RLS_OPTION_TARGET, 1.5], [C.RLS_OPTION_X, seriesMask(S.markIv)],
        [C.RLS_LAMBDA, 0.89], [C.RLS_LAMBDA, 1], [C.RLS_PRICE_DELTA, 0], [C.RLS_OPTION_DELTA, 1e13], [C.RLS_WARMUP, -1],
        [C.RLS_PRICE_MIN_SCALE, 0], [C.RLS_OPTION_MIN_SCALE, 1e16], [C.RLS_MODE, -1], [C.RLS_THRESHOLD, 0], [C.RLS_CLIP, 0.9],
        [C.RLS_MAX_STALE_NS, -1], [C.RLS_MAX_STALE_NS, 0.5], [327, 1],
        [C.COMBINE_KIND, 3], [C.COMBINE_K, 0], [C.COMBINE_K, 4], [C.COMBINE_MEMBERS, 99], [C.COMBINE_MEMBERS + 1, 0],
        [C.COMBINE_MEMBERS + 2, 96], [C.COMBINE_MEMBERS + 3, 1.5], [C.COMBINE_MEMBERS + 7, -2], [C.COMBINE_MODE, 2], [C.COMBINE_THRESHOLD, 3],
        [C.COMBINE_WINDOW_NS, -1], [C.COMBINE_EXCLUSIVE, 2], [C.COMBINE_CAP, 0.5], [343, 1],
      ];
      for (const [i, bad] of cases) {
        const cfg = good();
        cfg[i] = bad;
        expect(check(cfg), `index ${i} = ${bad}`).toBe(K.E_CONFIG_RANGE - i);
      }
      // A member whose feature is disabled, or whose detector is not in the feature's mask.
      const disabled = good();
      disabled[K.featureEnabledIndex(0)] = 0;
      expect(check(disabled)).toBe(K.E_CONFIG_RANGE - C.COMBINE_MEMBERS);
      const masked = good();
      masked[K.featureMaskIndex(0)] = 2;
      expect(check(masked)).toBe(K.E_CONFIG_RANGE - C.COMBINE_MEMBERS);
      // Disabled sections must be all 0.
      for (const [from, to] of [[C.OCSVM_ENABLED + 1, C.RLS_BASE], [C.RLS_ENABLED + 1, C.COMBINE_BASE], [C.COMBINE_KIND + 1, K.C_LEN]]) {
        for (let i = from; i < to; i++) {
          const cfg = engineConfig();
          cfg[i] = 1;
          expect(check(cfg), `disabled, index ${i}`).toBe(K.E_CONFIG_RANGE - i);
        }
      }
      expect(check(withRls(engineConfig(), { [C.RLS_CLIP]: Infinity, [C.RLS_PRICE_X]: 510, [C.RLS_PRICE_TARGET]: 0 }))).toBe(0);
    });
  });
}

for (const build of BUILDS) describeLearned(build);

describe('learned.ocsvm, learned.rls and learned.combine in the JSON configuration and the Engine API', () => {
  const field = (input: Record<string, unknown>): string => {
    try { resolveConfig(input); } catch (e) { return (e as ConfigError).field; }
    return '(accepted)';
  };

  it('refuses each bad value with a ConfigError naming it', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ ocsvm: { enabled: 1 } }, 'learned.ocsvm.enabled'], [{ ocsvm: { features: [] } }, 'learned.ocsvm.features'],
      [{ ocsvm: { components: 0 } }, 'learned.ocsvm.components'], [{ ocsvm: { nu: 0 } }, 'learned.ocsvm.nu'],
      [{ ocsvm: { gamma: -1 } }, 'learned.ocsvm.gamma'], [{ ocsvm: { window: 0 } }, 'learned.ocsvm.window'],
      [{ ocsvm: { warmup: 1.5 } }, 'learned.ocsvm.warmup'], [{ ocsvm: { seed: -1 } }, 'learned.ocsvm.seed'],
      [{ ocsvm: { scaler: 'minmax' } }, 'learned.ocsvm.scaler'], [{ ocsvm: { typo: 1 } }, 'learned.ocsvm.typo'],
      [{ rls: { enabled: 'yes' } }, 'learned.rls.enabled'], [{ rls: { price: { target: 'bid' } } }, 'learned.rls.price.target'],
      [{ rls: { price: { regressors: [] } } }, 'learned.rls.price.regressors'], [{ rls: { price: { regressors: ['mid'] } } }, 'learned.rls.price.regressors'],
      [{ rls: { option: { regressors: ['nope'] } } }, 'learned.rls.option.regressors'], [{ rls: { option: { delta: 0 } } }, 'learned.rls.option.delta'],
      [{ rls: { option: { minScale: 0 } } }, 'learned.rls.option.minScale'], [{ rls: { lambda: 1 } }, 'learned.rls.lambda'],
      [{ rls: { lambda: 0.5 } }, 'learned.rls.lambda'], [{ rls: { warmup: -1 } }, 'learned.rls.warmup'], [{ rls: { clip: 0.5 } }, 'learned.rls.clip'],
      [{ rls: { maxStaleMs: -1 } }, 'learned.rls.maxStaleMs'], [{ rls: { price: { typo: 1 } } }, 'learned.rls.price.typo'],
      [{ combine: { mode: 'all' } }, 'learned.combine.mode'], [{ combine: { mode: 'kOfN', members: [] } }, 'learned.combine.members'],
      [{ combine: { mode: 'kOfN', members: ['spread.zscore', 'nope.zscore'] } }, 'learned.combine.members'],
      [{ combine: { mode: 'kOfN', members: ['spread.zscore', 'vector.hst'] } }, 'learned.combine.members'], // HST off
      [{ combine: { mode: 'kOfN', members: ['spread.zscore', 'spread.robust'] } }, 'learned.combine.members'], // not in spread's list
      [{ combine: { mode: 'kOfN', members: ['spread.zscore', 'spread.zscore'] } }, 'learned.combine.members'],
      [{ combine: { mode: 'kOfN', members: ['spread.zscore', 'vector.combined'] } }, 'learned.combine.members'],
      [{ combine: { mode: 'kOfN', members: ['spread.zscore', 'return.zscore'], k: 3 } }, 'learned.combine.k'],
      [{ combine: { windowMs: -1 } }, 'learned.combine.windowMs'], [{ combine: { exclusive: 1 } }, 'learned.combine.exclusive'],
      [{ combine: { cap: 0.5 } }, 'learned.combine.cap'],
    ];
    for (const [learned, name] of bad) expect(field({ learned }), JSON.stringify(learned)).toBe(name);
    expect(field({ learned: { ocsvm: { enabled: true } }, features: { imbalance: { enabled: false } } })).toBe('learned.ocsvm.features');
  });

  it('defaults: OCSVM off, RLS on (mid on index, markIv on neighbourIv) at static 6, the combination off', () => {
    const d = resolveConfig();
    expect(d.learned.ocsvm).toEqual({
      enabled: false, features: ['flow', 'imbalance', 'depthImbalance'], components: 32, nu: 0.05, gamma: 0, window: 2000, warmup: 500, seed: 42, scaler: 'ewma',
    });
    expect(d.learned.rls).toEqual({
      enabled: true, price: { target: 'mid', regressors: ['index'], delta: 1e4, minScale: 0.01 },
      option: { target: 'markIv', regressors: ['neighbourIv'], delta: 1e8, minScale: 1e-4 }, lambda: 0.995, warmup: 400, clip: 4, maxStaleMs: 5000,
    });
    expect(d.learned.combine).toEqual({ mode: 'off', k: 2, members: [], windowMs: 10_000, exclusive: false, cap: 2 });
    expect([d.thresholds.ocsvm, d.thresholds.rls, d.thresholds.combined]).toEqual([
      { mode: 'static', threshold: 10 }, { mode: 'static', threshold: 6 }, { mode: 'static', threshold: 1 }]);
    const a = encodeConfig(d);
    expect([...a.subarray(C.RLS_BASE, C.RLS_BASE + 15)]).toEqual([1, S.mid, 1 << S.index, S.markIv, 1 << S.neighbourIv, 0.995, 1e4, 400, 0.01, 1e-4, K.M_STATIC, 6, 4, 5e9, 1e8]);
    expect([...a.subarray(C.OCSVM_BASE, C.RLS_BASE)].every((x) => x === 0)).toBe(true);
    expect([...a.subarray(C.COMBINE_BASE)].every((x) => x === 0)).toBe(true);
  });

  it('encodes the sections; k of n at static k whatever its threshold says; members by channel index', () => {
    const a = encodeConfig(resolveConfig({
      learned: {
        hst: { enabled: true },
        ocsvm: { enabled: true, features: ['midJump', 'spread'], components: 16, nu: 0.1, gamma: 0.5, window: 300, warmup: 10, seed: 3, scaler: 'window' },
        rls: { price: { target: 'trade', regressors: ['index', 'mark'] }, maxStaleMs: 1.5 },
        combine: { mode: 'kOfN', k: 2, members: ['vector.hst', 'spread.zscore', 'fairValue.rls'], windowMs: 250, exclusive: true, cap: 3 },
      },
      thresholds: { vector: { mode: 'target', threshold: 9 }, 'vector.ocsvm': { mode: 'regime', threshold: 4 } },
    }));
    expect([...a.subarray(C.OCSVM_BASE, C.OCSVM_THRESHOLD + 1)]).toEqual([1, (1 << K.F_SPREAD) | (1 << K.F_MID_JUMP), 16, 0.1, 0.5, 300, 10, 3, 0, 0, K.M_REGIME, 4]);
    expect([a[C.RLS_PRICE_TARGET], a[C.RLS_PRICE_X], a[C.RLS_MAX_STALE_NS]]).toEqual([S.trade, seriesMask(S.mark, S.index), 1.5e6]);
    expect([...a.subarray(C.COMBINE_BASE, K.C_LEN)]).toEqual([1, 2, 96, ch(K.F_SPREAD, K.D_ZSCORE), 98, -1, -1, -1, -1, -1, K.M_STATIC, 2, 250e6, 1, 3, 0]);
    const score = encodeConfig(resolveConfig({ learned: { combine: { mode: 'score', members: ['spread.zscore'] } }, thresholds: { combined: { mode: 'target', threshold: 0.8 } } }));
    expect([score[C.COMBINE_KIND], score[C.COMBINE_MODE], score[C.COMBINE_THRESHOLD]]).toEqual([2, K.M_TARGET, 0.8]);
  });

  it('selectors: ocsvm, rls, fairValue, fairValue.rls, combined, vector.combined; nonsense pairs refused', () => {
    const c = resolveConfig({
      learned: { ocsvm: { enabled: true }, combine: { mode: 'score', members: ['spread.zscore'] } },
      thresholds: { vector: { threshold: 7 }, fairValue: { mode: 'fixed', threshold: 5 }, 'vector.combined': { threshold: 2 } },
    });
    const a = encodeConfig(c);
    expect([a[C.OCSVM_MODE], a[C.OCSVM_THRESHOLD], a[C.RLS_MODE], a[C.RLS_THRESHOLD], a[C.COMBINE_THRESHOLD]]).toEqual([K.M_TARGET, 7, K.M_FIXED, 5, 2]);
    for (const key of ['fairValue.zscore', 'vector.rls', 'return.ocsvm', 'fairValue.combined']) {
      expect(() => resolveConfig({ thresholds: { [key]: { threshold: 3 } } }), key).toThrow(ConfigError);
    }
  });

  it('Engine: thresholds() lists the enabled learned channels, setThresholds reaches them, alerts are named fairValue / rls', () => {
    const e = Engine.create({
      autoRegister: true, learned: { ocsvm: { enabled: true, features: ['spread', 'midJump'], warmup: 50 }, rls: { warmup: 50 }, combine: { mode: 'kOfN', k: 1, members: ['fairValue.rls'] } },
      thresholds: { default: { mode: 'static', threshold: 1e9 }, rls: { mode: 'static', threshold: 3 } },
    });
    expect(e.thresholds().slice(K.N_TABLE_CHANNELS).map((t) => `${t.feature}.${t.detector}`)).toEqual(['vector.ocsvm', 'fairValue.rls', 'vector.combined']);
    e.setThresholds({ 'fairValue.rls': { threshold: 2.5 }, ocsvm: { mode: 'target' } });
    expect(e.thresholds()[K.N_TABLE_CHANNELS + 1]).toEqual({ feature: 'fairValue', detector: 'rls', mode: 'static', threshold: 2.5 });
    expect(e.thresholds()[K.N_TABLE_CHANNELS].mode).toBe('target');
    const events = fairMarket(91, 15_000);
    const batch = new EventBatch(events.length);
    for (const ev of events) batch.push(ev.kind, ev.instrument, ev.tsNs, ...(ev.f as [number, number, number, number, number, number]), ev.seq);
    const alerts = e.ingest(batch).alerts;
    expect(alerts.some((a) => a.feature === 'fairValue' && a.detector === 'rls')).toBe(true);
    expect(alerts.some((a) => a.feature === 'vector' && a.detector === 'combined')).toBe(true);
    expect(e.channelStat(1, 'fairValue', 'rls', 'steps')).toBeGreaterThan(100);
    expect(e.channelStat(1, 'vector', 'ocsvm', 'steps')).toBeGreaterThan(100);
    // RLS off: naming only it is an error.
    const plain = Engine.create({ learned: { rls: { enabled: false } } });
    expect(plain.thresholds().length).toBe(K.N_TABLE_CHANNELS);
    expect(() => plain.setThresholds({ rls: { threshold: 3 } })).toThrow(ConfigError);
  });

  it('per-instrument thresholds reach the new channels (their selectors and default), and are skipped where disabled', () => {
    const e = Engine.create({ learned: { ocsvm: { enabled: true }, combine: { mode: 'score', members: ['spread.zscore', 'fairValue.rls'] } } });
    e.setInstrumentThresholds(3, { 'fairValue.rls': 7.5, ocsvm: 4, 'vector.combined': 1.5 });
    expect(e.instrumentThresholds(3)).toEqual({ 'vector.ocsvm': 4, 'fairValue.rls': 7.5, 'vector.combined': 1.5 });
    e.setInstrumentThresholds(3, { rls: null });
    expect(e.instrumentThresholds(3)['fairValue.rls']).toBeUndefined();
    const registry = new Registry();
    applyInstrumentThresholds(e, registry, { 'BTC-PERPETUAL': { default: 11 } }, 64);
    const id = registry.id('BTC-PERPETUAL');
    for (const [f, d] of [['vector', 'ocsvm'], ['fairValue', 'rls'], ['vector', 'combined']] as const) {
      expect(e.channelStat(id, f, d, 'instrumentThreshold'), `${f}.${d}`).toBe(11);
    }
    const plain = Engine.create({ learned: { rls: { enabled: false } } });
    plain.setInstrumentThresholds(3, { 'fairValue.rls': 7.5 });
    expect(plain.instrumentThresholds(3)).toEqual({});
  });
});

