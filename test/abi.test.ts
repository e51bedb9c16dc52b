// src/abi.ts held against both builds of the module itself: sizes, the export list with every arity, configuration
// indices (through the errors validate_config names them by), event kinds, reject reasons, feature, detector and
// mode ids (through what the module does with them), the alert record's offsets, and the state offsets tests read.
// The engine API, the reference twin and the tests all take these numbers from src/abi.ts, so a wrong one there
// would otherwise be wrong everywhere at once, and invisible to the tests that compare them with each other.
import { describe, expect, it } from 'vitest';
import * as K from '../src/abi.js';
import { C } from '../src/abi.js';
import { wasmModule } from '../src/wasm/load.js';
import { BUILDS, loadWasm, type Build } from './helpers/wasm.js';
import { WasmEngine } from './helpers/wasm-engine.js';
import { allModes, engineConfig, withCombine, withHst, withOcsvm, withRls } from './helpers/config.js';
import { event, valueSeries, T0, MS, SECOND } from './helpers/market.js';

/** Just outside the range docs/abi.md gives each named configuration value, and valid wherever that range allows. */
const OUT_OF_RANGE: Record<Exclude<keyof typeof C, 'VERSION' | 'FEATURE_BASE' | 'CHANNEL_BASE' | 'LEARNED_BASE' | 'LEARNED_SECTION'>, number> = {
  MAX_INSTRUMENTS: 2 ** 20 + 1, WINDOW: 65_537, TIME_WINDOW_NS: 0.5, TIME_BUCKETS: 4097, RESERVED_5: 1, WARMUP: 65,
  EWMA_ALPHA: 1.01, CHART_LAMBDA: 0, CUSUM_K: -0.5, PH_DELTA: 1.1e6, PH_ALPHA: 1.5, VOL_FAST_NS: 0.5, VOL_SLOW_NS: -1,
  REGIME_VOL_EXP: 10.5, REGIME_LIQ_EXP: -10.5, REGIME_MIN: 1.01, REGIME_MAX: 0.99, TARGET_PER_HOUR: 3.7e12, TAIL_P: 0.5,
  TAIL_MEMORY: 0.5, QUANTILE_STEP: 10.5, CALIB_WARMUP: -1, RATE_EPOCH_NS: 1.5, RATE_MEMORY_NS: 0, HYSTERESIS: 1.01,
  COOLDOWN_NS: 2.5, MIN_PERSISTENCE: 1.5, THRESHOLD_FLOOR: 1.1e12, AUTO_REGISTER: 0.5, SCORE_CAP: 0.99, RATE_GAIN: 1.01,
  NOVELTY_REFRACTORY: 2.5, NOVELTY_PHASES: 25, NOVELTY_PHASE_WARMUP_NS: -1,
  // With HST enabled (the good configuration below enables it).
  HST_ENABLED: 2, HST_FEATURES: 65_536, HST_TREES: 257, HST_HEIGHT: 16, HST_WINDOW: 65_536, HST_SIZE_LIMIT: 1.5,
  HST_PADDING: 0.5, HST_SEED: 2 ** 32, HST_SCORE_KIND: 2, HST_SCALER: -1, HST_MODE: 4, HST_THRESHOLD: 0,
  // The one-class SVM, RLS and the combination, enabled too.
  OCSVM_BASE: 2, OCSVM_ENABLED: 2, OCSVM_FEATURES: 65_536, OCSVM_COMPONENTS: 1025, OCSVM_NU: 1.01, OCSVM_GAMMA: -0.1,
  OCSVM_WINDOW: 2 ** 24 + 1, OCSVM_WARMUP: -1, OCSVM_SEED: 2 ** 32, OCSVM_SCALER: 2, OCSVM_MODE: 4, OCSVM_THRESHOLD: 0,
  RLS_BASE: 2, RLS_ENABLED: 2, RLS_PRICE_TARGET: 9, RLS_PRICE_X: 512, RLS_OPTION_TARGET: 9, RLS_OPTION_X: 0, RLS_LAMBDA: 1,
  RLS_PRICE_DELTA: 1.1e12, RLS_WARMUP: -1, RLS_PRICE_MIN_SCALE: 0, RLS_OPTION_MIN_SCALE: 1.1e15, RLS_MODE: 4, RLS_THRESHOLD: 0,
  RLS_CLIP: 0.99, RLS_MAX_STALE_NS: -1, RLS_OPTION_DELTA: 0.9e-6,
  COMBINE_BASE: 3, COMBINE_KIND: 3, COMBINE_K: 0, COMBINE_MEMBERS: 99, COMBINE_MODE: 4, COMBINE_THRESHOLD: 0, COMBINE_WINDOW_NS: -1,
  COMBINE_EXCLUSIVE: 2, COMBINE_CAP: 0.99,
};

function describeAbi(build: Build): void {
  describe(`src/abi.ts against the ${build} build`, () => {
    const { exports: x, memory, base } = loadWasm(build);

    it('sizes and version', () => {
      expect(x.abi_version()).toBe(K.ABI_VERSION);
      expect(x.config_len()).toBe(K.C_LEN);
      expect(x.alert_bytes()).toBe(K.ALERT_BYTES);
      expect(x.max_alerts_per_event()).toBe(K.MAX_ALERTS_PER_EVENT);
      expect(x.batch_bytes(1)).toBe(K.BATCH_BYTES_PER_EVENT);
      expect(x.batch_bytes(1000)).toBe(1000 * K.BATCH_BYTES_PER_EVENT);
      const cols = K.batchColumns(1000);
      expect(cols.status + 1000).toBe(x.batch_bytes(1000)); // the status column (u8) ends the region
      expect(cols.field(K.N_FIELDS - 1) + 8 * 1000).toBe(cols.status);
      expect(C.CHANNEL_BASE).toBe(C.FEATURE_BASE + 3 * K.N_FEATURES);
      expect(C.CHANNEL_BASE + 2 * K.N_FEATURES * K.N_DETECTORS).toBe(C.NOVELTY_REFRACTORY);
      expect(C.NOVELTY_PHASE_WARMUP_NS + 6).toBe(C.LEARNED_BASE); // then 5 reserved values
      expect(C.LEARNED_BASE + K.N_LEARNED * C.LEARNED_SECTION).toBe(K.C_LEN);
      expect([C.HST_ENABLED, C.OCSVM_BASE, C.RLS_BASE, C.COMBINE_BASE]).toEqual([0, 1, 2, 3].map(K.learnedEnabledIndex));
      expect([C.HST_MODE, C.HST_THRESHOLD]).toEqual([K.learnedModeIndex(0), K.learnedThresholdIndex(0)]);
      expect(K.channelModeIndexOf(K.N_TABLE_CHANNELS)).toBe(C.HST_MODE);
      expect(K.channelIndex(K.F_VECTOR, K.D_HST)).toBe(96);
      expect(K.channelIndex(K.F_FAIR_VALUE, K.D_RLS)).toBe(98);
      expect(K.channelIndex(K.F_VECTOR, K.D_ZSCORE)).toBe(-1);
      expect(K.channelName(96)).toBe('vector.hst');
      expect([97, 98, 99].map(K.channelName)).toEqual(['vector.ocsvm', 'fairValue.rls', 'vector.combined']);
      expect([C.OCSVM_MODE, C.RLS_MODE, C.COMBINE_MODE]).toEqual([1, 2, 3].map(K.learnedModeIndex));
      expect([C.OCSVM_THRESHOLD, C.RLS_THRESHOLD, C.COMBINE_THRESHOLD]).toEqual([1, 2, 3].map(K.learnedThresholdIndex));
    });

    it('exports exactly the functions of AtcExports, each with its arity', () => {
      const exported = WebAssembly.Module.exports(wasmModule(build));
      expect(exported.every((e) => e.kind === 'function')).toBe(true);
      expect(exported.map((e) => e.name).sort()).toEqual(Object.keys(K.EXPORT_ARITY).sort());
      const fns = x as unknown as Record<string, (...args: unknown[]) => unknown>;
      for (const [name, arity] of Object.entries(K.EXPORT_ARITY)) expect(fns[name].length, name).toBe(arity);
    });

    it('configuration indices: validate_config names each one, in order, by -(1000 + index)', () => {
      const cfgAt = base;
      const cfg = new Float64Array(memory.buffer, cfgAt, K.C_LEN);
      const good = withCombine(withRls(withOcsvm(withHst(engineConfig(), [K.F_FLOW, K.F_SPREAD]), [K.F_FLOW, K.F_SPREAD])), 1, [0, 96, 97, 98], 2);
      cfg.set(good);
      expect(x.validate_config(cfgAt)).toBe(0);
      cfg[C.VERSION] = K.ABI_VERSION + 1;
      expect(x.validate_config(cfgAt)).toBe(K.E_CONFIG_VERSION);
      // Every index is checked (NaN is out of every range), and the first bad one is the one named.
      for (let i = 1; i < K.C_LEN; i++) {
        cfg.set(good);
        cfg[i] = NaN;
        expect(x.validate_config(cfgAt), `index ${i}`).toBe(K.E_CONFIG_RANGE - i);
      }
      // Each name points at the value the module checks against that name's documented range.
      for (const [name, bad] of Object.entries(OUT_OF_RANGE)) {
        const i = C[name as keyof typeof OUT_OF_RANGE];
        cfg.set(good);
        cfg[i] = bad;
        expect(x.validate_config(cfgAt), name).toBe(K.E_CONFIG_RANGE - i);
      }
      for (let f = 0; f < K.N_FEATURES; f++) {
        for (const [i, bad] of [[K.featureEnabledIndex(f), 2], [K.featureMaskIndex(f), 1 << K.N_DETECTORS], [K.featureMinScaleIndex(f), -1]]) {
          cfg.set(good);
          cfg[i] = bad;
          expect(x.validate_config(cfgAt), `feature ${f} index ${i}`).toBe(K.E_CONFIG_RANGE - i);
        }
        for (let d = 0; d < K.N_DETECTORS; d++) {
          for (const [i, bad] of [[K.channelModeIndex(f, d), 4], [K.channelThresholdIndex(f, d), 0]]) {
            cfg.set(good);
            cfg[i] = bad;
            expect(x.validate_config(cfgAt), `channel ${f}.${d} index ${i}`).toBe(K.E_CONFIG_RANGE - i);
          }
        }
      }
    });

    it('names and ids agree', () => {
      const features: [number, K.FeatureName][] = [
        [K.F_RETURN, 'return'], [K.F_RVOL, 'rvol'], [K.F_INTENSITY, 'intensity'], [K.F_VOLUME, 'volume'], [K.F_FLOW, 'flow'],
        [K.F_SPREAD, 'spread'], [K.F_MID_JUMP, 'midJump'], [K.F_IMBALANCE, 'imbalance'], [K.F_DEPTH, 'depth'],
        [K.F_DEPTH_IMB, 'depthImbalance'], [K.F_QUOTE_RATE, 'quoteRate'], [K.F_BASIS, 'basis'], [K.F_FUNDING, 'funding'],
        [K.F_IV_CHANGE, 'ivChange'], [K.F_VALUE, 'value'], [K.F_VALUE_CHANGE, 'valueChange'],
      ];
      for (const [id, name] of features) expect(K.FEATURES[id]).toBe(name);
      expect(features.length).toBe(K.N_FEATURES);
      expect([K.D_ZSCORE, K.D_ROBUST, K.D_EWMA, K.D_CUSUM, K.D_PH, K.D_NOVELTY].map((d) => K.DETECTORS[d])).toEqual([...K.DETECTORS]);
      expect([K.M_STATIC, K.M_REGIME, K.M_TARGET, K.M_FIXED].map((m) => K.MODES[m])).toEqual([...K.MODES]);
      expect([K.R_OK, K.R_NONFINITE, K.R_NEGATIVE, K.R_TIME_BACKWARDS, K.R_UNKNOWN_INSTRUMENT, K.R_BAD_KIND, K.R_CROSSED, K.R_TABLE_FULL])
        .toEqual(K.REJECT_REASONS.map((_, r) => r));
    });

    it('event kinds and feature ids: what each kind of event makes the module observe', () => {
      const cfg = engineConfig({ [C.TIME_WINDOW_NS]: 1e9, [C.TIME_BUCKETS]: 1 }, allModes(K.M_STATIC));
      const at = (ms: number): bigint => T0 + BigInt(ms) * MS;
      const events = [
        event(at(100), -1n, 1, K.K_TRADE, 100, 1, 1), event(at(110), -1n, 1, K.K_TRADE, 101, 2, -1), event(at(120), -1n, 1, K.K_TRADE, 102, 1, 1),
        event(at(200), -1n, 1, K.K_QUOTE, 99, 1, 101, 2, 5, 6), event(at(210), -1n, 1, K.K_QUOTE, 99, 1, 102, 2, 5, 6),
        event(at(300), -1n, 1, K.K_MARK, 100, 99.9, NaN), event(at(310), -1n, 1, K.K_MARK, 100, 99.9, NaN), event(at(320), -1n, 1, K.K_MARK, 100, NaN, 1e-4),
        event(at(400), -1n, 1, K.K_OPTION, 0.5), event(at(410), -1n, 1, K.K_OPTION, 0.6), event(at(420), -1n, 1, K.K_OPTION, 0.7), event(at(430), -1n, 1, K.K_OPTION, 0.8),
        ...[1, 2, 3, 4, 5].map((v, i) => event(at(500 + i), -1n, 1, K.K_VALUE, v)),
        // Two more buckets: the first (partial) bucket is not observed, the second is, when the third begins. Its
        // quote makes it a bucket of the book: imbalance, depth and depth imbalance are its time-weighted means.
        event(at(1100), -1n, 1, K.K_TRADE, 103, 1, 1), event(at(1150), -1n, 1, K.K_QUOTE, 99, 3, 102, 1, 9, 3),
        event(at(1200), -1n, 1, K.K_TRADE, 104, 1, 1),
        event(at(2100), -1n, 1, K.K_VALUE, 6),
      ];
      const wasm = new WasmEngine(build, cfg);
      const run = wasm.run(events);
      expect(run.status.every((s) => s === K.R_OK)).toBe(true);
      const observed = (f: number): number => wasm.featureStat(1, f, K.FEATURE_STATS.indexOf('observations'));
      const expected: Record<number, number> = {
        [K.F_RETURN]: 4, [K.F_SPREAD]: 3, [K.F_MID_JUMP]: 2, [K.F_IMBALANCE]: 1, [K.F_DEPTH]: 1, [K.F_DEPTH_IMB]: 1,
        [K.F_BASIS]: 2, [K.F_FUNDING]: 1, [K.F_IV_CHANGE]: 3, [K.F_VALUE]: 6, [K.F_VALUE_CHANGE]: 5,
        [K.F_INTENSITY]: 1, [K.F_VOLUME]: 1, [K.F_FLOW]: 1, [K.F_RVOL]: 1, [K.F_QUOTE_RATE]: 1,
      };
      for (let f = 0; f < K.N_FEATURES; f++) expect(observed(f), K.FEATURES[f]).toBe(expected[f]);
      expect(wasm.featureStat(1, K.F_VALUE, K.FEATURE_STATS.indexOf('last'))).toBe(6);
      expect(wasm.featureStat(1, K.F_INTENSITY, K.FEATURE_STATS.indexOf('last'))).toBe(2); // 2 trades in a 1 s bucket
      // Bucket 1: the quote at 210 ms stood for 150 ms (imbalance (1 - 2) / 3, depth 11, depth imbalance -1 / 11), the
      // one at 1150 ms for 850 ms (imbalance (3 - 1) / 4, depth 12, depth imbalance 6 / 12).
      const last = (f: number): number => wasm.featureStat(1, f, K.FEATURE_STATS.indexOf('last'));
      expect(last(K.F_IMBALANCE)).toBeCloseTo(0.15 * (-1 / 3) + 0.85 * 0.5, 14);
      expect(last(K.F_DEPTH)).toBeCloseTo(0.15 * 11 + 0.85 * 12, 13);
      expect(last(K.F_DEPTH_IMB)).toBeCloseTo(0.15 * (-1 / 11) + 0.85 * 0.5, 14);
    });

    it('reject reasons and counters', () => {
      const cfg = engineConfig({ [C.MAX_INSTRUMENTS]: 1, [C.AUTO_REGISTER]: 1 });
      const events = [
        event(T0, -1n, 1, K.K_VALUE, 1),
        event(T0 + 1n, -1n, 1, K.K_TRADE, NaN, 1, 1),
        event(T0 + 2n, -1n, 1, K.K_TRADE, 100, -1, 1),
        event(T0 - 1n, -1n, 1, K.K_VALUE, 1),
        event(T0 + 3n, -1n, 1, 9, 1),
        event(T0 + 4n, -1n, 1, K.K_QUOTE, 101, 1, 100, 1),
        event(T0 + 5n, -1n, 2, K.K_VALUE, 1),
      ];
      const wasm = new WasmEngine(build, cfg);
      expect(wasm.run(events).status).toEqual([K.R_OK, K.R_NONFINITE, K.R_NEGATIVE, K.R_TIME_BACKWARDS, K.R_BAD_KIND, K.R_CROSSED, K.R_TABLE_FULL]);
      const strict = new WasmEngine(build, engineConfig({ [C.AUTO_REGISTER]: 0 }));
      expect(strict.run([event(T0, -1n, 5, K.K_VALUE, 1)]).status).toEqual([K.R_UNKNOWN_INSTRUMENT]);
      expect(wasm.counter(K.COUNTER_ACCEPTED)).toBe(1);
      for (let r = 1; r < K.N_REJECT; r++) expect(wasm.counter(K.counterOfReject(r)), K.REJECT_REASONS[r]).toBe(r === K.R_UNKNOWN_INSTRUMENT ? 0 : 1);
      expect(strict.counter(K.counterOfReject(K.R_UNKNOWN_INSTRUMENT))).toBe(1);
    });

    it('the alert record, detector and mode ids: one spike seen by each detector alone, in each mode', () => {
      for (let d = 0; d < K.N_DETECTORS; d++) {
        const cfg = engineConfig({}, allModes(K.M_STATIC));
        for (let f = 0; f < K.N_FEATURES; f++) cfg[K.featureEnabledIndex(f)] = f === K.F_VALUE ? 1 : 0;
        cfg[K.featureMaskIndex(K.F_VALUE)] = 1 << d;
        const wasm = new WasmEngine(build, cfg);
        // Modes 0..3 in turn (the target mode holds its base threshold through its calibration warm-up); CUSUM and
        // Page-Hinkley with thresholds that noise alone does not reach.
        const mode = d % 4;
        const base = d >= K.D_CUSUM ? 8 : 3;
        const fixed = 6;
        expect(wasm.x.set_channel(wasm.arena, K.F_VALUE, d, mode, base)).toBe(0);
        wasm.register(7);
        if (mode === K.M_FIXED) expect(wasm.setInstrumentThreshold(7, K.F_VALUE, d, fixed)).toBe(0);
        const events = valueSeries({ seed: 30 + d, id: 7, n: 200, gapNs: SECOND, value: (i, g) => (i === 150 ? 150 : 100 + g()) });
        const run = wasm.run(events);
        const a = run.alerts.find((r) => r.seq === 150n)!;
        expect(a, `detector ${d}`).toBeDefined();
        expect([a.tsNs, a.instrument, a.feature, a.detector, a.mode]).toEqual([events[150].tsNs, 7, K.F_VALUE, d, mode]);
        expect(a.value).toBe(150);
        expect(a.threshold).toBe(mode === K.M_FIXED ? fixed : base);
        expect(a.score).toBeGreaterThanOrEqual(a.threshold);
        expect(a.severity).toBe(a.score / a.threshold < 1.5 ? 1 : a.score / a.threshold < 2.5 ? 2 : a.score / a.threshold < 4 ? 3 : 4);
        if (d === K.D_NOVELTY) {
          // Novelty expects the edge of the range it crossed: above every earlier value (or mean), below the spike.
          expect(a.expected).toBeGreaterThan(100);
          expect(a.expected).toBeLessThan(110);
        } else {
          expect(Math.abs(a.expected - 100)).toBeLessThan(1);
        }
        expect(a.regime).toBe(1); // a value series has no prices: volatility ratio 1, "normal"
        expect(a.regimeFactor).toBe(Math.fround(wasm.instrumentStat(7, 'volRatio')));
      }
    });

    it('arena header and kernel state offsets', () => {
      const wasm = new WasmEngine(build, engineConfig());
      const v = new DataView(wasm.wasm.memory.buffer);
      expect(wasm.x.config_ptr(wasm.arena) - wasm.arena).toBe(ARENA_CFG(v, wasm.arena));
      expect(ARENA_CFG(v, wasm.arena)).toBe(K.ARENA.HEADER_BYTES);
      expect(Number(v.getBigInt64(wasm.arena + K.ARENA.TOTAL_BYTES, true))).toBe(wasm.x.arena_total(wasm.arena));
      wasm.run([event(T0, -1n, 1, K.K_VALUE, 1), event(T0 + 1n, -1n, 1, K.K_VALUE, 2), event(T0 + 2n, -1n, 1, K.K_VALUE, 3)]);
      expect(v.getUint32(wasm.arena + K.ARENA.CONSUMED, true)).toBe(wasm.x.consumed(wasm.arena));
      expect(wasm.x.consumed(wasm.arena)).toBe(3);

      const p = base + 4096; // past the configuration the test above writes at base
      x.window_init(p, 7, 1);
      const win = new DataView(memory.buffer);
      for (const value of [1, NaN, 2, 3]) x.window_push(p, value);
      expect([win.getUint32(p + K.WINDOW_STATE.CAP, true), win.getUint32(p + K.WINDOW_STATE.N, true), win.getUint32(p + K.WINDOW_STATE.ORDER, true)]).toEqual([7, x.window_count(p), 1]);
      expect([win.getBigInt64(p + K.WINDOW_STATE.TOTAL, true), win.getBigInt64(p + K.WINDOW_STATE.SKIPPED, true)]).toEqual([3n, 1n]);
      x.ewma_init(p, 0.5);
      for (const value of [1, Infinity, 2]) x.ewma_push(p, value);
      expect(win.getBigInt64(p + K.EWMA_STATE.N, true)).toBe(2n);
    });

    it('stat selectors and error codes', () => {
      const wasm = new WasmEngine(build, engineConfig({ [C.MAX_INSTRUMENTS]: 1 }));
      wasm.run([1, 2, 3, 4].map((value, i) => event(T0 + BigInt(i) * SECOND, -1n, 1, K.K_VALUE, value)));
      const fs = (stat: (typeof K.FEATURE_STATS)[number]): number => wasm.featureStat(1, K.F_VALUE, K.FEATURE_STATS.indexOf(stat));
      expect([fs('count'), fs('mean'), fs('min'), fs('max'), fs('median'), fs('observations'), fs('last')]).toEqual([4, 2.5, 1, 4, 2.5, 4, 4]);
      expect(fs('variance')).toBeCloseTo(5 / 3, 12);
      expect(fs('mad')).toBe(1);
      expect(wasm.instrumentStat(1, 'events')).toBe(4);
      expect(wasm.instrumentStat(1, 'lastTsNs')).toBe(Number(T0 + 3n * SECOND));
      expect(wasm.channelStat(1, K.F_VALUE, K.D_ZSCORE, K.CHANNEL_STATS.indexOf('instrumentThreshold'))).toBeNaN();
      expect(wasm.setInstrumentThreshold(1, K.F_VALUE, K.D_ZSCORE, 3)).toBe(0);
      expect(wasm.channelStat(1, K.F_VALUE, K.D_ZSCORE, K.CHANNEL_STATS.indexOf('instrumentThreshold'))).toBe(3);
      expect(wasm.channelStat(1, K.F_VALUE, K.D_ZSCORE, K.CHANNEL_STATS.indexOf('calibratorScores'))).toBe(0);
      // Error codes.
      expect(wasm.setInstrumentThreshold(2, K.F_VALUE, K.D_ZSCORE, 3)).toBe(K.E_NOT_FOUND);
      expect(wasm.setInstrumentThreshold(1, K.F_VALUE, K.D_ZSCORE, -3)).toBe(K.E_BAD_ARGUMENT);
      expect(wasm.register(2)).toBe(K.E_TABLE_FULL);
      expect(wasm.x.init(wasm.arena + 8, wasm.configPtr)).toBe(K.E_BAD_ARGUMENT);
      expect(wasm.x.restore_check(wasm.guard + 4096, wasm.arenaBytes)).toBe(K.E_BAD_ARENA);
      for (const code of [K.E_CONFIG_VERSION, K.E_BAD_ARENA, K.E_TABLE_FULL, K.E_BAD_ARGUMENT, K.E_NOT_FOUND]) expect(K.ERRORS[code]).toBeTypeOf('string');
    });
  });
}

const ARENA_CFG = (v: DataView, arena: number): number => v.getInt32(arena + K.ARENA.CFG, true);

for (const build of BUILDS) describeAbi(build);
