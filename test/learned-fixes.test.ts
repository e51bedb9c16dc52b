// Review fixes of the learned channels (96 HST, 97 one-class SVM, 98 RLS, 99 combination): a k-of-n combination's
// threshold is static at k (else the engine's own snapshot is refused), the HST "mass" score's terminal mass floor,
// one anchor per RLS price series, RLS staleness over every series, NaN scores, HST window 1 with the forgetting
// scaler. Module and twin alike.
import { describe, expect, it } from 'vitest';
import * as K from '../src/abi.js';
import { ConfigError, resolveConfig } from '../src/config.js';
import { Engine } from '../src/engine.js';
import { RefEngine, type RefEvent } from '../src/reference/engine.js';
import { hstChannelScore } from '../src/reference/learned.js';
import { T0, market, MS } from './helpers/market.js';
import { runBoth, runTwin } from './helpers/twin.js';
import { WasmEngine } from './helpers/wasm-engine.js';
import { S, allModes, engineConfig, seriesMask, withCombine, withHst, withRls } from './helpers/config.js';

const { C } = K;
const ch = (f: number, d: number): number => f * K.N_DETECTORS + d;
const build = 'release' as const;
const ev = (ts: bigint, seq: number, id: number, kind: number, ...f: number[]): RefEvent =>
  ({ tsNs: ts, seq: BigInt(seq), instrument: id, kind, f: [...f, ...new Array(6 - f.length).fill(NaN)] });

describe('k-of-n combination: threshold static at k', () => {
  const kOfN = (): Float64Array => withCombine(withRls(engineConfig({}, allModes(0))), 1, [98, ch(K.F_SPREAD, K.D_ZSCORE)], 2);

  it('set_channel refuses another mode or threshold for channel 99; the snapshot after the accepted one restores', () => {
    const w = new WasmEngine(build, kOfN());
    w.run(market({ seed: 1, n: 500, instruments: [1, 2] }).events);
    expect(w.x.set_channel(w.arena, K.F_VECTOR, K.D_COMBINED, 0, 5)).toBe(K.E_BAD_ARGUMENT);
    expect(w.x.set_channel(w.arena, K.F_VECTOR, K.D_COMBINED, 1, 2)).toBe(K.E_BAD_ARGUMENT);
    expect(w.x.set_channel(w.arena, K.F_VECTOR, K.D_COMBINED, 0, 2)).toBe(0); // mode static, threshold k
    expect(w.x.set_instrument_threshold(w.arena, 1, K.F_VECTOR, K.D_COMBINED, 3)).toBe(K.E_BAD_ARGUMENT);
    expect(w.x.set_instrument_threshold(w.arena, 1, K.F_FAIR_VALUE, K.D_RLS, 3)).toBe(0);
    const snap = new Uint8Array(w.wasm.memory.buffer, w.arena, w.arenaBytes).slice();
    const w2 = new WasmEngine(build, kOfN());
    new Uint8Array(w2.wasm.memory.buffer, w2.arena, snap.byteLength).set(snap);
    expect(w2.x.restore_check(w2.arena, snap.byteLength)).toBe(0);
  });

  it('the twin refuses the same', () => {
    const r = new RefEngine(kOfN());
    runTwin(r, market({ seed: 1, n: 200, instruments: [1] }).events);
    expect(r.setChannel(K.F_VECTOR, K.D_COMBINED, 0, 5)).toBe(K.E_BAD_ARGUMENT);
    expect(r.setChannel(K.F_VECTOR, K.D_COMBINED, 1, 2)).toBe(K.E_BAD_ARGUMENT);
    expect(r.setChannel(K.F_VECTOR, K.D_COMBINED, 0, 2)).toBe(0);
    expect(r.setInstrumentThreshold(1, K.F_VECTOR, K.D_COMBINED, 3)).toBe(K.E_BAD_ARGUMENT);
    // The combined score (kind 2) keeps a configurable threshold.
    const s = new RefEngine(withCombine(withRls(engineConfig({}, allModes(0))), 2, [98, ch(K.F_SPREAD, K.D_ZSCORE)], 2));
    expect(s.setChannel(K.F_VECTOR, K.D_COMBINED, 1, 0.7)).toBe(0);
  });

  const kOfNJson = { learned: { hst: { enabled: false }, rls: { enabled: true }, combine: { mode: 'kOfN', k: 2, members: ['spread.zscore', 'fairValue.rls'] } } };

  it('Engine.setThresholds with "default" or "vector" leaves channel 99 alone: the snapshot restores', () => {
    const e = Engine.create(kOfNJson as never);
    e.setThresholds({ default: { threshold: 5 } } as never);
    e.setThresholds({ vector: { mode: 'regime', threshold: 4 } } as never);
    const t = e.thresholds().find((x) => x.detector === 'combined')!;
    expect(t).toMatchObject({ mode: 'static', threshold: 2 });
    expect(e.thresholds().find((x) => x.detector === 'rls')!.threshold).toBe(5);
    const back = Engine.restore(e.snapshot());
    expect(back.thresholds()).toEqual(e.thresholds());
    e.setInstrumentThresholds(7, { default: 3 }); // per-instrument "default": channel 99 skipped, the others set
    expect(e.instrumentThresholds(7)['fairValue.rls']).toBe(3);
    expect(e.instrumentThresholds(7)['vector.combined']).toBeUndefined();
  });

  it('"combined" / "vector.combined" are refused with kOfN, naming the key (setThresholds and the configuration)', () => {
    const e = Engine.create(kOfNJson as never);
    for (const key of ['combined', 'vector.combined']) {
      expect(() => e.setThresholds({ [key]: { threshold: 3 } } as never)).toThrow(ConfigError);
      expect(() => e.setThresholds({ [key]: { threshold: 3 } } as never)).toThrow(new RegExp(`thresholds\\.${key.replace('.', '\\.')}.*k-of-n`));
      expect(() => resolveConfig({ ...kOfNJson, thresholds: { [key]: { threshold: 3 } } })).toThrow(new RegExp(`thresholds\\.${key.replace('.', '\\.')}.*not configurable`));
    }
    // In score mode the combined threshold is the user's.
    const score = { learned: { hst: { enabled: false }, rls: { enabled: true }, combine: { mode: 'score', members: ['spread.zscore', 'fairValue.rls'] } } };
    expect(resolveConfig({ ...score, thresholds: { combined: { threshold: 0.7 } } }).thresholds.combined.threshold).toBe(0.7);
  });

  it('combine.k in score mode is refused; members are validated whatever the mode', () => {
    const combine = { mode: 'score', k: 2, members: ['spread.zscore', 'fairValue.rls'] };
    expect(() => resolveConfig({ learned: { rls: { enabled: true }, combine } })).toThrow(/learned\.combine\.k.*kOfN/);
    expect(() => resolveConfig({ learned: { combine: { mode: 'off', members: ['vector.ocsvm'] } } })).toThrow(/learned\.combine\.members.*not enabled/);
    expect(() => resolveConfig({ learned: { combine: { mode: 'off', members: ['nope.zscore'] } } })).toThrow(/learned\.combine\.members/);
  });
});

describe('HST "mass" score: a terminal node of mass 0 counts half a point', () => {
  it('no score reaches the cap; the largest is at most log2(trees x window x 2^height / 0.5); module == twin', () => {
    const cfg = withHst(engineConfig({}, allModes(0)), [K.F_SPREAD, K.F_MID_JUMP], { [C.HST_SCORE_KIND]: 1, [C.HST_THRESHOLD]: 8 });
    const { t } = runBoth(build, cfg, market({ seed: 5, n: 6000, instruments: [1] }).events, { alertCapacity: K.MAX_ALERTS_PER_EVENT });
    const scores = t.alerts.filter((a) => a.detector === K.D_HST).map((a) => a.score);
    expect(scores.length).toBeGreaterThan(0);
    const most = Math.log2(cfg[C.HST_TREES] * cfg[C.HST_WINDOW] * 2 ** cfg[C.HST_HEIGHT] / 0.5);
    expect(Math.max(...scores)).toBeLessThanOrEqual(most + 1e-9);
    expect(scores.filter((s) => s === 1e6)).toEqual([]);
  });

  it('hstChannelScore: NaN scores 0, not the cap', () => {
    expect(hstChannelScore(NaN, 1e6)).toBe(0);
    expect(hstChannelScore(-0.5, 1e6)).toBe(0);
    expect(hstChannelScore(1, 1e6)).toBe(1e6);
  });
});

describe('HST window 1 with the forgetting scaler', () => {
  it('validate_config refuses it, naming the window', () => {
    const w = new WasmEngine(build, engineConfig());
    const at = w.configPtr;
    const check = (cfg: Float64Array): number => { new Float64Array(w.wasm.memory.buffer, at, K.C_LEN).set(cfg); return w.x.validate_config(at); };
    expect(check(withHst(engineConfig(), [K.F_SPREAD], { [C.HST_WINDOW]: 1, [C.HST_SCALER]: 1 }))).toBe(-(1000 + C.HST_WINDOW));
    expect(check(withHst(engineConfig(), [K.F_SPREAD], { [C.HST_WINDOW]: 1, [C.HST_SCALER]: 0 }))).toBe(0);
    expect(check(withHst(engineConfig(), [K.F_SPREAD], { [C.HST_WINDOW]: 2, [C.HST_SCALER]: 1 }))).toBe(0);
  });
});

describe('RLS fair value', () => {
  it('one anchor per price series: an option quoted in BTC with its underlying in USD stays O(moves) in bps', () => {
    const cfg = withRls(engineConfig({}, allModes(0)), { [C.RLS_OPTION_TARGET]: S.markIv, [C.RLS_OPTION_X]: seriesMask(S.underlying), [C.RLS_WARMUP]: 5 });
    const events: RefEvent[] = [ev(T0, 0, 1, K.K_QUOTE, 0.049, 1, 0.051, 1)];
    for (let i = 1; i < 60; i++) events.push(ev(T0 + BigInt(i) * 100n * MS, i, 1, K.K_OPTION, 0.5 + 1e-4 * (i % 7), 60_000 + 3 * (i % 5), 0.05));
    const { ref } = runBoth(build, cfg, events, { alertCapacity: K.MAX_ALERTS_PER_EVENT });
    const lc = ref.slots[0].rls!;
    expect(lc.anchors[S.mid]).toBe(0.05);
    expect(lc.anchors[S.underlying]).toBe(60_003);
    expect(Math.abs(lc.units(S.underlying))).toBeLessThan(10);
    expect(lc.steps).toBeGreaterThan(40);
  });

  it('a stale regressor stops the step, not only a stale target (module == twin)', () => {
    const cfg = withRls(engineConfig({}, allModes(0)), { [C.RLS_PRICE_X]: seriesMask(S.index, S.trade), [C.RLS_MAX_STALE_NS]: 1e9, [C.RLS_WARMUP]: 5 });
    const events: RefEvent[] = [ev(T0, 0, 1, K.K_TRADE, 100, 1, 1)];
    for (let i = 1; i < 100; i++) {
      const ts = T0 + BigInt(i) * 100n * MS;
      events.push(ev(ts, 2 * i - 1, 1, K.K_QUOTE, 99.9 + 0.01 * (i % 3), 1, 100.1, 1));
      events.push(ev(ts, 2 * i, 1, K.K_MARK, 100, 100 + 0.01 * (i % 4)));
    }
    const { ref } = runBoth(build, cfg, events, { alertCapacity: K.MAX_ALERTS_PER_EVENT });
    // The trade is at most 1 s old for the index updates of the first 10 events (ts 0.1 s .. 1.0 s): 10 steps.
    expect(ref.slots[0].rls!.steps).toBe(10);
  });
});
