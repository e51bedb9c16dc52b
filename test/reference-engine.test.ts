// The WASM engine (both builds, driven through its exports) held against the reference twin RefEngine on the same
// seeded streams: every event's status and sequence number, every alert, and the state left behind.
//
// Tolerances, and why:
//  - status codes, sequence numbers, and the alert list (order, event seq, ts, instrument, feature, detector,
//    severity, regime, mode): EXACT.
//  - alert value, expected, threshold: relative 1e-9 (RTOL); score: RTOL times its condition number
//    (|x| + |e|) / |x - e| for the z-type detectors (scoreCondition in helpers/twin.ts), RTOL for CUSUM and
//    Page-Hinkley. The two compute the same formulas; they differ only by rounding: window mean/variance by
//    shifted sliding sums (kernel) vs two passes (twin), bucket sums by shifted sums (kernel) vs plain sums (twin),
//    and Math.exp/log from AssemblyScript's library vs V8's (each within an ulp). Those are ~1e-13 relative on these streams;
//    1e-9 leaves room, a wrong formula or a missed update is off by far more.
//  - regimeFactor, stored as f32: within one f32 ulp (relative 2^-23), since the f64 volatility ratios may
//    differ in the last bits and round to neighbouring f32 values.
//  - state read back at the end (feature_stat, channel_stat, instrument_stat, counters): counts exact, moments
//    and calibrator state relative 1e-9 (variance: plus the sliding-update rounding term of test/kernels.test.ts).
import { describe, expect, it } from 'vitest';
import * as K from '../src/abi.js';
import { RefEngine, type RefAlert, type RefEvent } from '../src/reference/engine.js';
import { runBoth, runTwin } from './helpers/twin.js';
import { BUILDS, type Build } from './helpers/wasm.js';
import { WasmEngine } from './helpers/wasm-engine.js';
import { BASE_THRESHOLDS, engineConfig as config } from './helpers/config.js';
import { market, valueSeries, event, T0, SECOND, MS, type Bad } from './helpers/market.js';
import { gaussian, mulberry32 } from './helpers/random.js';

function describeEngine(build: Build): void {
  describe(`reference engine vs WASM engine (${build} build)`, () => {
    it('mixed market stream with bad events: same statuses, sequence numbers, alerts and end state', () => {
      const cfg = config();
      const ids = [1, 2, 3, 4, 5, 6];
      const { events, bad } = market({ seed: 7, n: 12_000, instruments: ids, badRate: 0.04, strangers: [100, 101, 102, 103] });
      // A per-instrument threshold for one fixed-mode channel (F_VALUE robust z is channel 85; its mode cycles as
      // 14 * 5 + 1 = 71: 71 % 4 = 3, fixed).
      expect(K.channelModeIndex(K.F_VALUE, K.D_ROBUST)).toBe(K.C.CHANNEL_BASE + 2 * 85);
      expect(cfg[K.channelModeIndex(K.F_VALUE, K.D_ROBUST)]).toBe(K.M_FIXED);
      const { ref, w, t } = runBoth(build, cfg, events, {
        alertCapacity: K.MAX_ALERTS_PER_EVENT,
        prepare: (wasm, ref) => {
          for (const id of ids) expect(wasm.register(id)).toBe(ref.register(id));
          expect(wasm.setInstrumentThreshold(2, K.F_VALUE, K.D_ROBUST, 2.5)).toBe(0);
          expect(ref.setInstrumentThreshold(2, K.F_VALUE, K.D_ROBUST, 2.5)).toBe(0);
          // Per-instrument values replace the configured base in the other modes too: static (value EWMA, channel
          // 86), regime-scaled (value CUSUM, 87) and target's warm-up fallback (value z, 84).
          for (const [d, thr] of [[K.D_EWMA, 1.5], [K.D_CUSUM, 1.2], [K.D_ZSCORE, 3.2]]) {
            expect(wasm.setInstrumentThreshold(3, K.F_VALUE, d, thr)).toBe(0);
            expect(ref.setInstrumentThreshold(3, K.F_VALUE, d, thr)).toBe(0);
          }
        },
      });

      // The stream exercised what it was meant to: every reject reason, every detector, every mode.
      const expected: Record<Bad, number> = {
        'nan-price': K.R_NONFINITE, 'inf-depth': K.R_NONFINITE, 'neg-size': K.R_NEGATIVE, crossed: K.R_CROSSED,
        backwards: K.R_TIME_BACKWARDS, 'bad-kind': K.R_BAD_KIND, 'zero-index': K.R_NEGATIVE, 'inf-index': K.R_NONFINITE,
        stranger: -1,
      };
      for (const [i, b] of bad) {
        if (b === 'stranger') expect([K.R_OK, K.R_TABLE_FULL]).toContain(t.status[i]);
        else expect(t.status[i], `event ${i} (${b})`).toBe(expected[b]);
      }
      for (let r = 1; r < K.N_REJECT; r++) {
        if (r === K.R_UNKNOWN_INSTRUMENT) continue; // autoRegister is on here; see the next test
        expect(t.status.filter((s) => s === r).length, `reject reason ${r}`).toBeGreaterThan(0);
      }
      expect(t.status.filter((s) => s === K.R_OK).length).toBeGreaterThan(10_000);
      // Strangers 100 and up: two fit in the table of 8 (6 registered), the others are refused.
      expect(ref.slots.length).toBe(8);
      expect(t.seq.every((s, i) => s >= 0n && (events[i].seq < 0n || s === events[i].seq))).toBe(true);
      expect(w.calls).toBeGreaterThan(Math.ceil(events.length / 256)); // the alert buffer filled up at least once
      for (let d = 0; d < K.N_DETECTORS; d++) expect(t.alerts.some((a) => a.detector === d), `detector ${d} fired`).toBe(true);
      for (let m = 0; m < 4; m++) expect(t.alerts.some((a) => a.mode === m), `mode ${m} fired`).toBe(true);
      const features = new Set(t.alerts.map((a) => a.feature));
      expect(features.size, `features that fired: ${[...features].join(',')}`).toBeGreaterThanOrEqual(12);
      expect(t.alerts.length).toBeGreaterThan(200);
      // Calibrated target-rate thresholds and regime-scaled ones were in play, not just the base values.
      expect(t.alerts.some((a) => a.mode === K.M_TARGET && a.threshold !== BASE_THRESHOLDS[a.detector])).toBe(true);
      expect(t.alerts.some((a) => a.mode === K.M_REGIME && a.threshold !== BASE_THRESHOLDS[a.detector])).toBe(true);
      expect(t.alerts.some((a) => a.mode === K.M_FIXED && a.instrument === 2 && a.feature === K.F_VALUE && a.threshold === 2.5)).toBe(true);
      expect(t.alerts.some((a) => a.mode === K.M_STATIC && a.instrument === 3 && a.feature === K.F_VALUE && a.threshold === 1.5)).toBe(true);
      expect(t.alerts.some((a) => a.mode === K.M_TARGET && a.instrument === 3 && a.feature === K.F_VALUE && a.threshold === 3.2)).toBe(true);
      expect(t.alerts.some((a) => a.mode === K.M_REGIME && a.instrument === 3 && a.feature === K.F_VALUE && a.detector === K.D_CUSUM)).toBe(true);
    });

    it('detector masks, disabled features and minScale per feature: the same on both sides', () => {
      // Masks cycle through subsets (robust off: no sorted copy; EWMA off: no baseline), every fifth feature is
      // off, minScale varies; thresholds lower than usual so that more channels fire.
      const cfg = config({ [K.C.WARMUP]: 8, [K.C.CALIB_WARMUP]: 50, [K.C.COOLDOWN_NS]: 0, [K.C.MIN_PERSISTENCE]: 2, [K.C.HYSTERESIS]: 1 });
      for (let f = 0; f < K.N_FEATURES; f++) {
        cfg[K.featureEnabledIndex(f)] = f % 5 === 4 ? 0 : 1;
        cfg[K.featureMaskIndex(f)] = [31, 1, 2, 4, 8, 16, 29, 27, 6, 24, 0, 30, 15, 31, 23, 9][f];
        cfg[K.featureMinScaleIndex(f)] = [1e-9, 1e-3, 0.01, 1e-6][f % 4];
        for (let d = 0; d < K.N_DETECTORS; d++) cfg[K.channelThresholdIndex(f, d)] = 3;
      }
      const { events } = market({ seed: 9, n: 6000, instruments: [11, 12, 13], badRate: 0.02 });
      const { wasm, ref, t } = runBoth(build, cfg, events, { capacity: 100, alertCapacity: K.MAX_ALERTS_PER_EVENT });
      for (const a of t.alerts) {
        expect(cfg[K.featureEnabledIndex(a.feature)]).toBe(1);
        expect(cfg[K.featureMaskIndex(a.feature)] & (1 << a.detector)).not.toBe(0);
      }
      expect(t.alerts.length).toBeGreaterThan(100);
      expect(wasm.featureStat(11, K.F_VALUE, 9)).toBeNaN(); // F_VALUE (14) is disabled
      expect(ref.instruments.get(11)!.features[K.F_VALUE]).toBeNull();
    });

    it('unknown instruments are refused with autoRegister 0; registered ones are processed as usual', () => {
      const cfg = config({ [K.C.AUTO_REGISTER]: 0 });
      const { events } = market({ seed: 8, n: 3000, instruments: [1, 2, 3], badRate: 0.05, strangers: [42, 43] });
      const { ref, t } = runBoth(build, cfg, events, {
        prepare: (wasm, ref) => { for (const id of [1, 2, 3]) expect(wasm.register(id)).toBe(ref.register(id)); },
      });
      expect(t.status.filter((s) => s === K.R_UNKNOWN_INSTRUMENT).length).toBeGreaterThan(5);
      expect(ref.slots.length).toBe(3);
    });

    it('a table of one instrument: the second one is refused as table full', () => {
      const cfg = config({ [K.C.MAX_INSTRUMENTS]: 1 });
      const events = [
        event(T0, 0n, 9, K.K_VALUE, 1),
        event(T0 + MS, 1n, 10, K.K_VALUE, 1),
        event(T0 + 2n * MS, -1n, 9, K.K_VALUE, 2),
        event(T0 + MS, -1n, 9, K.K_VALUE, 3), // backwards
      ];
      const wasm = new WasmEngine(build, cfg);
      const ref = new RefEngine(cfg);
      const w = wasm.run(events);
      const t = runTwin(ref, events);
      expect(t.status).toEqual([K.R_OK, K.R_TABLE_FULL, K.R_OK, K.R_TIME_BACKWARDS]);
      expect(t.seq).toEqual([0n, 1n, 2n, 3n]);
      expect(w.status).toEqual(t.status);
      expect(w.seq).toEqual(t.seq);
      expect(wasm.register(10)).toBe(K.E_TABLE_FULL);
      expect(ref.register(10)).toBe(K.E_TABLE_FULL);
    });

    it('events with NaN in optional fields are accepted and skip only what they lack', () => {
      const cfg = config();
      const events = [
        event(T0, 0n, 1, K.K_MARK, 100, NaN, NaN),           // nothing observed
        event(T0 + MS, 1n, 1, K.K_MARK, 100, 99.9, NaN),     // basis only
        event(T0 + 2n * MS, 2n, 1, K.K_MARK, 100, NaN, 1e-4), // funding only
        event(T0 + 3n * MS, 3n, 1, K.K_QUOTE, 99, 1, 101, 3, NaN, 5), // no depth
        event(T0 + 4n * MS, 4n, 1, K.K_QUOTE, 99, 0, 101, 0, 0, 0), // no imbalance (top 0), depth 0, no depth imbalance
        event(T0 + 5n * MS, 5n, 1, K.K_QUOTE, 100, 1, 100, 1, 1, 1), // locked (ask = bid) is not crossed
        event(T0 + 6n * MS, 6n, 1, K.K_TRADE, 100, 0, 0),      // size 0, side 0
        event(T0 + 7n * MS, 7n, 1, K.K_OPTION, 0, NaN, NaN, NaN, NaN), // IV 0 is fine
        event(T0 + 8n * MS, 8n, 1, K.K_OPTION, 0.5, -1, NaN, NaN, NaN), // negative underlying
        event(T0 + 9n * MS, 9n, 1, K.K_QUOTE, 99, 1, 101, 1, -Infinity, NaN), // -Infinity depth
        event(T0 + 10n * MS, 10n, 1, K.K_VALUE, Infinity),
        // The book features are observed per closed bucket (1 s here), for a bucket with a quote over which the value
        // stood throughout. At bucket 0's end every book value stands (the locked quote's).
        event(T0 + 1001n * MS, 11n, 1, K.K_QUOTE, 99, 1, 101, 1, 2, 2),   // closes bucket 0 (partial, not observed)
        event(T0 + 2001n * MS, 12n, 1, K.K_QUOTE, 99, 1, 101, 3, NaN, 5), // closes bucket 1: all three; ends depth
        event(T0 + 3001n * MS, 13n, 1, K.K_QUOTE, 99, 1, 101, 3, 4, 4),   // closes bucket 2: imbalance only
        event(T0 + 4001n * MS, 14n, 1, K.K_QUOTE, 99, 0, 101, 0, 4, 0),   // closes bucket 3: imbalance (depth began in it); ends imbalance
        event(T0 + 5001n * MS, 15n, 1, K.K_QUOTE, 99, 1, 101, 1, 4, 4),   // closes bucket 4: depth, depth imbalance
      ];
      const { ref, t } = runBoth(build, cfg, events);
      expect(t.status).toEqual([0, 0, 0, 0, 0, 0, 0, 0, K.R_NEGATIVE, K.R_NONFINITE, K.R_NONFINITE, 0, 0, 0, 0, 0]);
      const obs = (f: number): number => ref.instruments.get(1)!.features[f]!.observations;
      expect([K.F_BASIS, K.F_FUNDING, K.F_SPREAD, K.F_MID_JUMP, K.F_IMBALANCE, K.F_DEPTH, K.F_DEPTH_IMB].map(obs)).toEqual([1, 1, 8, 7, 3, 2, 2]);
    });

    describe('injected anomalies are found by both', () => {
      const staticCfg = (): Float64Array => config({}, () => K.M_STATIC);

      function both(events: RefEvent[], cfg = staticCfg()): RefAlert[] {
        return runBoth(build, cfg, events).t.alerts;
      }

      it('a 20-sigma spike in a value series', () => {
        const spikeAt = 300;
        const events = valueSeries({ seed: 21, id: 5, n: 400, gapNs: SECOND, value: (i, g) => (i === spikeAt ? 120 : 100 + g()) });
        const alerts = both(events);
        const at = alerts.filter((a) => a.seq === BigInt(spikeAt) && a.feature === K.F_VALUE);
        expect(at.map((a) => a.detector)).toEqual(expect.arrayContaining([K.D_ZSCORE, K.D_ROBUST, K.D_EWMA, K.D_CUSUM, K.D_PH]));
        const z = at.find((a) => a.detector === K.D_ZSCORE)!;
        expect(z.value).toBe(120);
        expect(z.score).toBeGreaterThan(15);
        expect(z.severity).toBe(4);
        expect(Math.abs(z.expected - 100)).toBeLessThan(0.5);
        // The change feature sees the jump up (the jump back down, next event, falls in the same episode).
        const change = alerts.find((a) => a.seq === BigInt(spikeAt) && a.feature === K.F_VALUE_CHANGE && a.detector === K.D_ZSCORE)!;
        expect(change.value).toBeGreaterThan(15);
        // Nothing on the value itself in the 100 events before the spike.
        expect(alerts.filter((a) => a.feature === K.F_VALUE && a.detector === K.D_ZSCORE && a.seq >= 200n && a.seq < BigInt(spikeAt))).toEqual([]);
      });

      it('a level shift of 3 sigma: CUSUM and Page-Hinkley fire within 5 events', () => {
        const shiftAt = 300;
        const events = valueSeries({ seed: 22, id: 5, n: 420, gapNs: SECOND, value: (i, g) => (i >= shiftAt ? 103 : 100) + g() });
        const alerts = both(events);
        const first = (d: number): number => {
          const a = alerts.find((x) => x.feature === K.F_VALUE && x.detector === d && x.seq >= BigInt(shiftAt));
          return a ? Number(a.seq) - shiftAt : Infinity;
        };
        expect(first(K.D_CUSUM)).toBeLessThanOrEqual(5);
        expect(first(K.D_PH)).toBeLessThanOrEqual(5);
        // A persisting shift alerts again after the restart and cooldown (Page's restart after a signal).
        expect(alerts.filter((a) => a.feature === K.F_VALUE && a.detector === K.D_CUSUM && a.seq >= BigInt(shiftAt)).length).toBeGreaterThan(3);
      });

      it('a burst of trades: intensity and volume of the bucket fire', () => {
        const events: RefEvent[] = [];
        let t = T0;
        let seq = 0n;
        let px = 60_000;
        // 1 trade a second for 300 s (random-walk price, random size), then 400 trades within one second, then
        // quiet trading again. (Noise matters: with a price alternating by one tick, rvol takes two values a hair
        // apart, its MAD is ~1e-8, and robust scores become ill-conditioned ratios of rounding differences.)
        const g = gaussian(mulberry32(23));
        for (let i = 0; i < 300; i++) {
          t += SECOND;
          px = Math.round((px + 2 * g()) * 10) / 10;
          events.push(event(t, seq++, 3, K.K_TRADE, px, 0.1 * Math.exp(g() / 2), i % 3 ? 1 : -1));
        }
        const burstSeq = seq;
        for (let i = 0; i < 400; i++) { t += 2n * MS; events.push(event(t, seq++, 3, K.K_TRADE, px, 0.1, 1)); }
        const afterSeq = seq;
        for (let i = 0; i < 20; i++) { t += SECOND; events.push(event(t, seq++, 3, K.K_TRADE, px, 0.1, -1)); }
        const alerts = both(events);
        // The burst's bucket is observed when the first event after it arrives.
        const on = (f: number): RefAlert[] => alerts.filter((a) => a.feature === f && a.seq >= burstSeq && a.seq <= afterSeq + 1n);
        expect(on(K.F_INTENSITY).map((a) => a.detector)).toEqual(expect.arrayContaining([K.D_ZSCORE, K.D_ROBUST]));
        expect(on(K.F_VOLUME).length).toBeGreaterThan(0);
        expect(on(K.F_INTENSITY).find((a) => a.detector === K.D_ZSCORE)!.value).toBeGreaterThan(100);
        expect(alerts.filter((a) => a.feature === K.F_INTENSITY && a.seq < burstSeq)).toEqual([]);
      });
    });
  });
}

for (const build of BUILDS) describeEngine(build);
