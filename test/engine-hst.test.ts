// Half-Space Trees wired into the engine as learned channel 96 (feature byte 16 `vector`, detector byte 6 `hst`):
// the module held against the reference twin alert for alert, bit for bit (the kernel's scores are bit-identical,
// the channel score -log2(1 - s) is computed by the same operations on both sides), the stepping rule, snapshots,
// seeds, and the configuration checks.
import { describe, expect, it } from 'vitest';
import * as K from '../src/abi.js';
import { RefEngine, type RefAlert, type RefEvent } from '../src/reference/engine.js';
import { hstChannelScore, negLog2 } from '../src/reference/learned.js';
import { runBoth, runTwin, expectSameHst } from './helpers/twin.js';
import { BUILDS, type Build } from './helpers/wasm.js';
import { WasmEngine } from './helpers/wasm-engine.js';
import { allModes, engineConfig, withHst } from './helpers/config.js';
import { market, valueSeries, event, SECOND } from './helpers/market.js';
import { ConfigError, encodeConfig, resolveConfig } from '../src/config.js';
import { Engine } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import { Registry } from '../src/registry.js';
import { applyInstrumentThresholds } from '../src/instrument-thresholds.js';

const { C } = K;
const BOOK = [K.F_FLOW, K.F_IMBALANCE, K.F_DEPTH_IMB, K.F_SPREAD];
const hstAlerts = (alerts: readonly RefAlert[]): RefAlert[] => alerts.filter((a) => a.detector === K.D_HST);

/** Static thresholds everywhere (so that thresholds are exact on both sides), HST over `features`. */
function staticHst(features: number[], over: Partial<Record<number, number>> = {}): Float64Array {
  return withHst(engineConfig({}, allModes(K.M_STATIC)), features, over);
}

/** A value series with a few rejected events (NaN, +-Infinity) and, from row `at`, values off their usual relation. */
function valueStream(n: number, seed: number, at: number): RefEvent[] {
  const events = valueSeries({ seed, id: 5, n, gapNs: SECOND, value: (i, g) => (i >= at && i < at + 3 ? 140 + 10 * g() : 100 + 3 * Math.sin(i / 7) + g()) });
  const bad = [K.K_VALUE, K.K_VALUE, K.K_VALUE];
  [NaN, Infinity, -Infinity].forEach((x, k) => events.splice(50 + 40 * k, 0, event(events[50 + 40 * k].tsNs, -1n, 5, bad[k], x)));
  return events.map((e, i) => ({ ...e, seq: BigInt(i) }));
}

describe('the channel score -log2(1 - s)', () => {
  it('is -log2 to within 2 ulp of Math.log2 and exactly 0 for s = 0, the cap for s = 1', () => {
    for (let i = 1; i < 2000; i++) {
      const m = i / 2000 + (i % 7) * 1e-9;
      const got = negLog2(m);
      const want = -Math.log2(m);
      expect(Math.abs(got - want), `m ${m}`).toBeLessThanOrEqual(4.5e-16 * Math.max(1, Math.abs(want)));
    }
    expect(negLog2(0.5)).toBe(1);
    expect(negLog2(2 ** -20)).toBe(20);
    expect(hstChannelScore(0, 1e6)).toBe(0);
    expect(Object.is(hstChannelScore(0, 1e6), 0)).toBe(true);
    expect(hstChannelScore(1, 1e6)).toBe(1e6);
    expect(hstChannelScore(1 - 2 ** -30, 25)).toBe(25);
  });
});

function describeHst(build: Build): void {
  describe(`HST channel: module vs twin (${build} build)`, () => {
    it('market stream, static thresholds: HST alerts bit for bit, every kernel state equal at the end', () => {
      const cfg = staticHst(BOOK, { [C.HST_THRESHOLD]: 4 });
      const { events } = market({ seed: 31, n: 12_000, instruments: [1, 2, 3], badRate: 0.03 });
      const { wasm, ref, w, t } = runBoth(build, cfg, events, { alertCapacity: K.MAX_ALERTS_PER_EVENT });
      const hw = hstAlerts(w.alerts), ht = hstAlerts(t.alerts);
      expect(ht.length, 'HST alerts').toBeGreaterThan(5);
      expect(hw).toEqual(ht);
      for (let i = 0; i < ht.length; i++) {
        expect(Object.is(hw[i].score, ht[i].score) && Object.is(hw[i].value, ht[i].value), `alert ${i} score bits`).toBe(true);
        expect(hw[i].feature).toBe(K.F_VECTOR);
        expect(Number.isNaN(hw[i].expected)).toBe(true);
        expect(hw[i].value).toBeGreaterThanOrEqual(0);
        expect(hw[i].value).toBeLessThanOrEqual(1);
      }
      for (const id of [1, 2, 3]) expect(wasm.channelStat(id, K.F_VECTOR, K.D_HST, 8)).toBeGreaterThan(50);
      expect(ref.slots.every((s) => s.hst !== null)).toBe(true);
    });

    it('target, regime and fixed modes on the HST channel: the same alerts (thresholds within 1e-9)', () => {
      const { events } = market({ seed: 32, n: 8000, instruments: [1, 2], badRate: 0.02 });
      for (const mode of [K.M_TARGET, K.M_REGIME, K.M_FIXED]) {
        const cfg = withHst(engineConfig(), BOOK, { [C.HST_MODE]: mode, [C.HST_THRESHOLD]: 3 });
        runBoth(build, cfg, events, {
          prepare: (wasm, ref) => {
            for (const id of [1, 2]) expect(wasm.register(id)).toBe(ref.register(id));
            expect(wasm.setInstrumentThreshold(2, K.F_VECTOR, K.D_HST, 2.5)).toBe(0);
            expect(ref.setInstrumentThreshold(2, K.F_VECTOR, K.D_HST, 2.5)).toBe(0);
          },
        });
      }
    });

    it('a value series with NaN and Infinity events, window 1: one step per accepted row, the same alerts', () => {
      // Window 1 with the all-time scaler (with the forgetting one every point would scale to 0.5: its range would be
      // the previous point alone).
      const cfg = staticHst([K.F_VALUE, K.F_VALUE_CHANGE], { [C.HST_WINDOW]: 1, [C.HST_SCALER]: 0, [C.HST_THRESHOLD]: 3 });
      const events = valueStream(600, 41, 400);
      const { wasm, w, t } = runBoth(build, cfg, events);
      expect(t.status.filter((s) => s === K.R_NONFINITE).length).toBe(3);
      const accepted = t.status.filter((s) => s === K.R_OK).length;
      expect(wasm.channelStat(5, K.F_VECTOR, K.D_HST, 8)).toBe(accepted);
      expect(hstAlerts(w.alerts)).toEqual(hstAlerts(t.alerts));
      expect(hstAlerts(t.alerts).length).toBeGreaterThan(0);
    });

    it('steps once per event that observed a feature of its mask, after all of them (bucket features: once per closed bucket)', () => {
      const cfg = staticHst([K.F_INTENSITY, K.F_VOLUME, K.F_QUOTE_RATE]);
      const { events } = market({ seed: 33, n: 6000, instruments: [7], gapNs: 400e6 });
      const ref = new RefEngine(cfg);
      let stepping = 0, multi = 0;
      const obs = (): number => [K.F_INTENSITY, K.F_VOLUME, K.F_QUOTE_RATE].reduce((n, f) => n + (ref.instruments.get(7)?.features[f]?.observations ?? 0), 0);
      for (const e of events) {
        const before = obs();
        ref.ingest(e);
        const d = obs() - before;
        if (d > 0) stepping++;
        if (d > 3) multi++; // a closed bucket and a run of empty ones in the same event
      }
      expect(multi).toBeGreaterThan(0);
      expect(ref.instruments.get(7)!.hst!.steps).toBe(stepping);
      const wasm = new WasmEngine(build, cfg);
      wasm.run(events);
      expect(wasm.channelStat(7, K.F_VECTOR, K.D_HST, 8)).toBe(stepping);
      expectSameHst(wasm, ref, 7);
    });

    it('continues identically after a snapshot restored mid-window; restore_check refuses a corrupted HST state', () => {
      const cfg = staticHst(BOOK, { [C.HST_THRESHOLD]: 4, [C.HST_WINDOW]: 97 });
      const { events } = market({ seed: 34, n: 9000, instruments: [1, 2], badRate: 0.01 });
      const whole = new WasmEngine(build, cfg);
      const all = whole.run(events).alerts;
      const first = new WasmEngine(build, cfg);
      const cut = 4321;
      const a = first.run(events.slice(0, cut)).alerts;
      // Mid-window for both instruments (window 97).
      for (const id of [1, 2]) expect(first.channelStat(id, K.F_VECTOR, K.D_HST, 8) % 97).not.toBe(0);
      const snap = new Uint8Array(first.wasm.memory.buffer, first.arena, first.arenaBytes).slice();
      const second = new WasmEngine(build, cfg);
      new Uint8Array(second.wasm.memory.buffer, second.arena, snap.length).set(snap);
      expect(second.x.restore_check(second.arena, snap.length)).toBe(0);
      const b = second.run(events.slice(cut)).alerts;
      expect([...a, ...b]).toEqual(all);
      expect(hstAlerts(all).length).toBeGreaterThan(0);
      // A state whose open-window count reaches its window, or a model split on a dimension it does not have.
      const v = new DataView(second.wasm.memory.buffer);
      const slot0 = second.arena + v.getInt32(second.arena + K.ARENA.SLOTS, true);
      const st = slot0 + v.getInt32(second.arena + K.ARENA.LEARNED_OFF, true) + K.LEARNED_BLOCK.STATE;
      const keep = v.getUint32(st + 8, true);
      v.setUint32(st + 8, 97, true);
      expect(second.x.restore_check(second.arena, snap.length)).toBe(K.E_BAD_ARENA);
      v.setUint32(st + 8, keep, true);
      expect(second.x.restore_check(second.arena, snap.length)).toBe(0);
      const model = second.arena + v.getInt32(second.arena + K.ARENA.MODEL_OFF, true);
      const dimsAt = model + 32 + 8 * 10 * 255;
      const d0 = v.getUint8(dimsAt);
      v.setUint8(dimsAt, 4);
      expect(second.x.restore_check(second.arena, snap.length)).toBe(K.E_BAD_ARENA);
      v.setUint8(dimsAt, d0);
      expect(second.x.restore_check(second.arena, snap.length)).toBe(0);
    });

    it('same seed, same alerts; another seed, other trees and other scores', () => {
      const { events } = market({ seed: 35, n: 6000, instruments: [1], badRate: 0 });
      const run = (seed: number) => {
        const wasm = new WasmEngine(build, staticHst(BOOK, { [C.HST_SEED]: seed, [C.HST_THRESHOLD]: 3 }));
        const w = wasm.run(events);
        const ref = new RefEngine(staticHst(BOOK, { [C.HST_SEED]: seed, [C.HST_THRESHOLD]: 3 }));
        const t = runTwin(ref, events);
        expect(hstAlerts(w.alerts)).toEqual(hstAlerts(t.alerts));
        return { alerts: hstAlerts(w.alerts), last: wasm.channelStat(1, K.F_VECTOR, K.D_HST, 9), scores: ref };
      };
      const a = run(7), b = run(7), c = run(0xfffffffe);
      expect(a.alerts.length).toBeGreaterThan(0);
      expect(b.alerts).toEqual(a.alerts);
      expect(b.last).toBe(a.last);
      expect(c.alerts.map((x) => x.score)).not.toEqual(a.alerts.map((x) => x.score));
    });

    it('HST off: no latest-values area, no learned block, and the slot is as large as before ABI 3', () => {
      const off = new WasmEngine(build, engineConfig());
      const on = new WasmEngine(build, withHst(engineConfig(), BOOK));
      const v = new DataView(off.wasm.memory.buffer);
      expect(v.getInt32(off.arena + K.ARENA.VECTOR_OFF, true)).toBe(-1);
      for (let k = 0; k < K.N_LEARNED; k++) expect(v.getInt32(off.arena + K.ARENA.LEARNED_OFF + 4 * k, true)).toBe(-1);
      expect(off.x.channel_stat(off.arena, 1, K.F_VECTOR, K.D_HST, 0)).toBeNaN();
      expect(off.x.set_channel(off.arena, K.F_VECTOR, K.D_HST, 0, 5)).toBe(K.E_NOT_FOUND);
      expect(on.x.set_channel(on.arena, K.F_VECTOR, K.D_HST, 0, 5)).toBe(0);
      expect(on.x.set_channel(on.arena, K.F_VECTOR, K.D_ZSCORE, 0, 5)).toBe(K.E_BAD_ARGUMENT);
      // 10 trees of height 8 over 4 features: 64 + 40 * 4 + 2 * 10,224 bytes of kernel state (two u16 profiles of
      // 10 x 511 nodes, 8-aligned), + 440 of block, + 136 of latest values: 21,248 (slots are rounded to 64 bytes).
      const grow = on.x.slot_bytes(on.arena) - off.x.slot_bytes(off.arena);
      expect(Math.abs(grow - (136 + 440 + 64 + 160 + 2 * 10_224))).toBeLessThan(64);
    });
  });

  describe(`HST configuration checks (${build} build)`, () => {
    it('names the offending index of each HST value, of a disabled section, and of the reserved sections', () => {
      const w = new WasmEngine(build, engineConfig());
      const at = w.configPtr;
      const check = (cfg: Float64Array): number => { new Float64Array(w.wasm.memory.buffer, at, K.C_LEN).set(cfg); return w.x.validate_config(at); };
      const good = (): Float64Array => withHst(engineConfig(), BOOK);
      expect(check(good())).toBe(0);
      const cases: [number, number][] = [
        [C.HST_ENABLED, 2], [C.HST_FEATURES, 0], [C.HST_FEATURES, 65536], [C.HST_FEATURES, 1.5], [C.HST_TREES, 0], [C.HST_TREES, 257],
        [C.HST_HEIGHT, 0], [C.HST_HEIGHT, 16], [C.HST_WINDOW, 0], [C.HST_WINDOW, 65536], [C.HST_SIZE_LIMIT, 1.01],
        [C.HST_SIZE_LIMIT, -0.1], [C.HST_PADDING, 0.5], [C.HST_PADDING, -0.01], [C.HST_SEED, -1], [C.HST_SEED, 2 ** 32],
        [C.HST_SEED, 0.5], [C.HST_SCORE_KIND, 2], [C.HST_SCALER, 2], [C.HST_MODE, 4], [C.HST_THRESHOLD, 0], [292, 1], [295, 1],
        [C.OCSVM_BASE, 2], [C.RLS_BASE + 10, 1], [C.COMBINE_BASE + 15, 1],
      ];
      for (const [i, bad] of cases) {
        const cfg = good();
        cfg[i] = bad;
        expect(check(cfg), `index ${i} = ${bad}`).toBe(K.E_CONFIG_RANGE - i);
      }
      // A feature of the vector that is disabled.
      const off = good();
      off[K.featureEnabledIndex(K.F_SPREAD)] = 0;
      expect(check(off)).toBe(K.E_CONFIG_RANGE - C.HST_FEATURES);
      // A disabled section must be all 0.
      for (let i = C.HST_FEATURES; i < C.OCSVM_BASE; i++) {
        const cfg = engineConfig();
        cfg[i] = 1;
        expect(check(cfg), `disabled, index ${i}`).toBe(K.E_CONFIG_RANGE - i);
      }
      // The extremes are accepted.
      expect(check(withHst(engineConfig(), [0, 15], { [C.HST_SEED]: 2 ** 32 - 1, [C.HST_WINDOW]: 65535, [C.HST_HEIGHT]: 1, [C.HST_TREES]: 256, [C.HST_THRESHOLD]: Infinity }))).toBe(0);
    });
  });

  describe(`HST and the alert buffer (${build} build)`, () => {
    it('an event can fire the table channels and the HST channel: never more than MAX_ALERTS_PER_EVENT', () => {
      const cfg = staticHst(BOOK, { [C.HST_THRESHOLD]: 1e-12, [C.HST_WINDOW]: 1, [C.HST_SCALER]: 0, [C.COOLDOWN_NS]: 0, [C.HYSTERESIS]: 1, [C.WARMUP]: 1 });
      for (let f = 0; f < K.N_FEATURES; f++) for (let d = 0; d < K.N_DETECTORS; d++) cfg[K.channelThresholdIndex(f, d)] = 1e-12;
      const { events } = market({ seed: 36, n: 4000, instruments: [1, 2, 3] });
      const { w } = runBoth(build, cfg, events, { alertCapacity: K.MAX_ALERTS_PER_EVENT });
      const per = new Map<bigint, number>();
      for (const a of w.alerts) per.set(a.seq, (per.get(a.seq) ?? 0) + 1);
      expect(Math.max(...per.values())).toBeLessThanOrEqual(K.MAX_ALERTS_PER_EVENT);
      expect(hstAlerts(w.alerts).length).toBeGreaterThan(0);
      // HST fires with other channels in the same event.
      expect(hstAlerts(w.alerts).some((a) => (per.get(a.seq) ?? 0) > 1)).toBe(true);
    });
  });
}

for (const build of BUILDS) describeHst(build);



describe('HST in the JSON configuration and the Engine API', () => {
  it('refuses each bad learned.hst value with a ConfigError naming it', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ enabled: 1 }, 'learned.hst.enabled'], [{ features: [] }, 'learned.hst.features'], [{ features: ['nope'] }, 'learned.hst.features'],
      [{ features: 'flow' }, 'learned.hst.features'], [{ trees: 0 }, 'learned.hst.trees'], [{ trees: 2.5 }, 'learned.hst.trees'],
      [{ height: 16 }, 'learned.hst.height'], [{ window: 0 }, 'learned.hst.window'], [{ window: 65_536 }, 'learned.hst.window'],
      [{ sizeLimit: 2 }, 'learned.hst.sizeLimit'], [{ padding: 0.5 }, 'learned.hst.padding'], [{ seed: -1 }, 'learned.hst.seed'],
      [{ seed: 2 ** 32 }, 'learned.hst.seed'], [{ score: 'paper' }, 'learned.hst.score'], [{ scaler: 'forget' }, 'learned.hst.scaler'],
      [{ enabled: true, window: 1 }, 'learned.hst.window'], [{ typo: 1 }, 'learned.hst.typo'],
    ];
    for (const [hst, field] of bad) {
      expect(() => resolveConfig({ learned: { hst } }), JSON.stringify(hst)).toThrow(ConfigError);
      try { resolveConfig({ learned: { hst } }); } catch (e) { expect((e as ConfigError).field, JSON.stringify(hst)).toBe(field); }
    }
    expect(() => resolveConfig({ learned: { nope: {} } })).toThrow(/config\.learned\.nope: unknown option/);
    // A feature of the vector that is disabled.
    expect(() => resolveConfig({ learned: { hst: { enabled: true } }, features: { flow: { enabled: false } } })).toThrow(/learned\.hst\.features: feature "flow" is disabled/);
    // Disabled, its features need not be.
    expect(resolveConfig({ learned: { hst: { enabled: false } }, features: { flow: { enabled: false } } }).learned.hst.enabled).toBe(false);
    // Window 1 with the all-time scaler is fine.
    expect(resolveConfig({ learned: { hst: { enabled: true, window: 1, scaler: 'alltime' } } }).learned.hst.window).toBe(1);
  });

  it('is off by default; when on: over volume, flow, imbalance and depth imbalance, static 8', () => {
    const d = resolveConfig();
    expect(d.learned.hst).toEqual({
      enabled: false, features: ['volume', 'flow', 'imbalance', 'depthImbalance'], trees: 10, height: 8, window: 250,
      sizeLimit: 0.1, padding: 0.15, seed: 42, score: 'river', scaler: 'window',
    });
    expect(d.thresholds.hst).toEqual({ mode: 'static', threshold: 8 });
  });

  it('encodes learned.hst into 280..291; a disabled section is all 0', () => {
    const on = encodeConfig(resolveConfig({
      learned: { hst: { enabled: true, features: ['spread', 'flow'], trees: 7, height: 6, window: 99, sizeLimit: 0.2, padding: 0.1, seed: 5, score: 'mass', scaler: 'alltime' } },
      thresholds: { 'vector.hst': { mode: 'regime', threshold: 9 } },
    }));
    expect([...on.subarray(C.HST_ENABLED, C.HST_THRESHOLD + 1)]).toEqual([1, (1 << K.F_FLOW) | (1 << K.F_SPREAD), 7, 6, 99, 0.2, 0.1, 5, 1, 0, K.M_REGIME, 9]);
    expect([...on.subarray(C.HST_THRESHOLD + 1, C.OCSVM_BASE)].every((v) => v === 0)).toBe(true);
    const off = encodeConfig(resolveConfig({ learned: { hst: { enabled: false } }, thresholds: { hst: { threshold: 9 } } }));
    expect([...off.subarray(C.LEARNED_BASE, C.OCSVM_BASE)].every((v) => v === 0)).toBe(true);
  });

  it('selectors hst, vector and vector.hst reach channel 96; most specific wins; nonsense pairs are refused', () => {
    const thr = (t: Record<string, unknown>) => {
      const c = resolveConfig({ learned: { hst: { enabled: true } }, thresholds: t });
      const a = encodeConfig(c);
      return [a[C.HST_MODE], a[C.HST_THRESHOLD]];
    };
    expect(thr({ default: { mode: 'static', threshold: 5 } })).toEqual([K.M_STATIC, 5]);
    expect(thr({ default: { threshold: 5 }, hst: { mode: 'fixed', threshold: 6 } })).toEqual([K.M_FIXED, 6]);
    expect(thr({ hst: { threshold: 6 }, vector: { threshold: 7 } })).toEqual([K.M_TARGET, 7]);
    expect(thr({ vector: { threshold: 7 }, 'vector.hst': { threshold: 8 }, zscore: { threshold: 1 } })).toEqual([K.M_TARGET, 8]);
    for (const key of ['vector.zscore', 'return.hst', 'vector.nope', 'fairValue.hst']) {
      expect(() => resolveConfig({ thresholds: { [key]: { threshold: 3 } } }), key).toThrow(ConfigError);
    }
  });

  it('Engine: thresholds() lists vector.hst when enabled, setThresholds reaches it, alerts are named vector / hst', () => {
    const e = Engine.create({
      autoRegister: true, learned: { hst: { enabled: true, window: 50 } },
      thresholds: { default: { mode: 'static', threshold: 1e9 }, hst: { mode: 'static', threshold: 1 } },
    });
    // HST, then RLS (on by default).
    expect(e.thresholds()[K.N_TABLE_CHANNELS]).toEqual({ feature: 'vector', detector: 'hst', mode: 'static', threshold: 1 });
    expect(e.thresholds().length).toBe(K.N_TABLE_CHANNELS + 2);
    e.setThresholds({ 'vector.hst': { threshold: 2 } });
    expect(e.thresholds()[K.N_TABLE_CHANNELS].threshold).toBe(2);
    const { events } = market({ seed: 37, n: 20_000, instruments: [1] });
    const batch = new EventBatch(events.length);
    for (const ev of events) batch.push(ev.kind, ev.instrument, ev.tsNs, ...(ev.f as [number, number, number, number, number, number]), ev.seq);
    const alerts = e.ingest(batch).alerts;
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.every((a) => a.feature === 'vector' && a.detector === 'hst' || a.detector === 'rls')).toBe(true);
    expect(alerts.some((a) => a.detector === 'hst')).toBe(true);
    expect(e.channelStat(1, 'vector', 'hst', 'steps')).toBeGreaterThan(50);
    // Without HST the channel does not exist: naming only it is an error, "default" skips it.
    const plain = Engine.create({ learned: { hst: { enabled: false } } });
    expect(plain.thresholds().length).toBe(K.N_TABLE_CHANNELS + 1); // RLS
    expect(() => plain.setThresholds({ hst: { threshold: 3 } })).toThrow(ConfigError);
    plain.setThresholds({ default: { threshold: 9 } });
  });

  it('per-instrument thresholds reach the HST channel (selectors vector.hst, hst, default), and are skipped without it', () => {
    const e = Engine.create({ learned: { hst: { enabled: true } } });
    e.setInstrumentThresholds(3, { 'vector.hst': 7.5, 'return.zscore': 4 });
    expect(e.instrumentThresholds(3)).toEqual({ 'return.zscore': 4, 'vector.hst': 7.5 });
    e.setInstrumentThresholds(3, { hst: null });
    expect(e.instrumentThresholds(3)).toEqual({ 'return.zscore': 4 });
    const registry = new Registry();
    applyInstrumentThresholds(e, registry, { BTCUSDT: { default: 11 } }, 64);
    const id = registry.id('BTCUSDT');
    expect(e.instrumentThresholds(id)['vector.hst']).toBe(11);
    expect(e.channelStat(id, 'vector', 'hst', 'instrumentThreshold')).toBe(11);
    const plain = Engine.create({ learned: { hst: { enabled: false } } });
    plain.setInstrumentThresholds(3, { 'vector.hst': 7.5 });
    expect(plain.instrumentThresholds(3)).toEqual({});
  });
});
