// The novelty detector (assembly/novelty.ts): the module against its twin (src/reference/novelty.ts) on seeded
// streams and at the edges, and what its score means, checked by hand.
import { describe, expect, it } from 'vitest';
import * as K from '../src/abi.js';
import { C, featureEnabledIndex, featureMaskIndex } from '../src/abi.js';
import { resolveConfig, encodeConfig, ConfigError } from '../src/config.js';
import { phaseOf } from '../src/reference/novelty.js';
import type { RefEvent } from '../src/reference/engine.js';
import { allModes, engineConfig } from './helpers/config.js';
import { event, valueSeries, SECOND, T0 } from './helpers/market.js';
import { runBoth } from './helpers/twin.js';
import { WasmEngine } from './helpers/wasm-engine.js';
import { BUILDS, type Build } from './helpers/wasm.js';
import { mulberry32 } from '../src/random.js';

const MINUTE = 60n * SECOND;
const DAY = 24n * 60n * MINUTE;
const NOVELTY = 1 << K.D_NOVELTY;

/**
 * Only the value feature, with the novelty detector (and `extra` detectors), static threshold `threshold` (bps of the
 * range), no floor and no cooldown: every non-zero score at or above it is an alert, so the alerts list the scores.
 */
function noveltyConfig(over: Partial<Record<number, number>> = {}, threshold = 1e-9, extra = 0): Float64Array {
  const cfg = engineConfig({
    [C.THRESHOLD_FLOOR]: 0, [C.COOLDOWN_NS]: 0, [C.WARMUP]: 8, [C.NOVELTY_REFRACTORY]: 3,
    [C.NOVELTY_PHASES]: 12, [C.NOVELTY_PHASE_WARMUP_NS]: Number(2n * DAY), ...over,
  }, allModes(K.M_STATIC));
  for (let f = 0; f < K.N_FEATURES; f++) cfg[featureEnabledIndex(f)] = f === K.F_VALUE ? 1 : 0;
  cfg[featureMaskIndex(K.F_VALUE)] = NOVELTY | extra;
  cfg[K.channelThresholdIndex(K.F_VALUE, K.D_NOVELTY)] = threshold;
  return cfg;
}

/** A daily pattern (5-minute rows): level 10 by night, 50 by day, noise, for `days` days, then `tail`. */
function dailyPattern(seed: number, days: number, tail: (i: number, hour: number, g: () => number) => number | undefined = () => undefined): RefEvent[] {
  const n = days * 288;
  return valueSeries({
    seed, id: 1, n, gapNs: 5n * MINUTE, t0: 0n,
    value: (i, g) => {
      const hour = ((i + 1) * 5 / 60) % 24;
      return tail(i, hour, g) ?? (hour >= 8 && hour < 20 ? 50 : 10) + g();
    },
  });
}

const noveltyAlerts = <T extends { detector: number }>(alerts: readonly T[]): T[] => alerts.filter((a) => a.detector === K.D_NOVELTY);

function describeTwin(build: Build): void {
  describe(`novelty: module against twin (${build} build)`, () => {
    it('a random walk with spikes and level shifts over 20 days of 5-minute rows: same scores, alerts and state', () => {
      const u = mulberry32(5);
      let level = 100;
      const events = valueSeries({
        seed: 11, id: 1, n: 20 * 288, gapNs: 5n * MINUTE, t0: 0n,
        value: (i, g) => {
          level += 0.3 * g();
          if (u() < 0.002) level += 20 * (u() - 0.5);
          return level + (u() < 0.003 ? 40 * (u() - 0.3) : 0) + 5 * Math.sin((2 * Math.PI * i) / 288);
        },
      });
      const { t } = runBoth(build, noveltyConfig(), events);
      // It exercised every part: many scores, the silent period (no two alerts within 3 observations) and, after
      // the 2-day warm-up, scores only the seasonal range explains.
      const alerts = noveltyAlerts(t.alerts);
      expect(alerts.length).toBeGreaterThan(20);
      for (let i = 1; i < alerts.length; i++) expect(alerts[i].seq - alerts[i - 1].seq).toBeGreaterThan(3n);
      expect(alerts.some((a) => a.tsNs > 2n * DAY)).toBe(true);
    });

    it('daily pattern with a night at day level: the seasonal range fires, and the module agrees with the twin', () => {
      const events = dailyPattern(3, 6, (i, hour, g) => (i >= 5 * 288 && i < 5 * 288 + 40 && hour < 8 ? 50 + g() : undefined));
      const { t } = runBoth(build, noveltyConfig(), events);
      const night = noveltyAlerts(t.alerts).filter((a) => a.seq >= 5n * 288n && a.seq < 5n * 288n + 40n);
      expect(night.length).toBeGreaterThan(0);
    });

    it('prices near 1e5 with moves of 1e-4, and a move of 1e-3: exact scores both sides', () => {
      const events = valueSeries({ seed: 2, id: 1, n: 600, gapNs: SECOND, value: (i, g) => (i === 500 ? 1e5 + 1e-3 : 1e5 + 1e-4 * Math.tanh(g())) });
      const { t } = runBoth(build, noveltyConfig(), events);
      const spike = noveltyAlerts(t.alerts).find((a) => a.seq === 500n);
      expect(spike).toBeDefined();
      // The range of 1e5 +- 1e-4 tanh(g) is below 2e-4: the spike is at least 4 ranges out.
      expect(spike!.score).toBeGreaterThan(4e4);
    });

    it('window 1, warm-up 1, partial windows of the means, and negative timestamps', () => {
      const events = valueSeries({ seed: 4, id: 1, n: 300, gapNs: 7n * MINUTE, t0: -3n * DAY, value: (i, g) => (i % 50 === 49 ? 30 : 5 * g()) });
      runBoth(build, noveltyConfig({ [C.WINDOW]: 1, [C.WARMUP]: 1, [C.NOVELTY_PHASE_WARMUP_NS]: 0 }), events);
      runBoth(build, noveltyConfig({ [C.WINDOW]: 1, [C.WARMUP]: 1, [C.NOVELTY_PHASES]: 24, [C.NOVELTY_REFRACTORY]: 0 }), events);
    });

    it('a constant series (0 and then 7), then a step: widths of a degenerate range', () => {
      const events = valueSeries({ seed: 6, id: 1, n: 200, gapNs: SECOND, value: (i) => (i < 60 ? 0 : i < 120 ? 7 : i < 150 ? 7.5 : -1) });
      const { t } = runBoth(build, noveltyConfig(), events);
      // 0 for 60 values (width 1: the step to 7 scores 7 x 1e4), then 7 (width 7 - 0).
      const step = noveltyAlerts(t.alerts).find((a) => a.seq === 60n)!;
      expect(step.score).toBeCloseTo(7e4, 6);
      expect(step.expected).toBe(0);
    });

    it('NaN and Infinity never reach the detector; events after them score as if they had not come', () => {
      const clean = valueSeries({ seed: 8, id: 1, n: 120, gapNs: SECOND, value: (i, g) => (i === 100 ? 20 : g()) });
      const dirty: RefEvent[] = [];
      clean.forEach((e, i) => {
        if (i === 50 || i === 90) dirty.push({ ...e, seq: -1n, f: [i === 50 ? NaN : Infinity, 0, 0, 0, 0, 0] } as RefEvent);
        dirty.push(e);
      });
      const a = runBoth(build, noveltyConfig(), clean).t.alerts;
      const b = runBoth(build, noveltyConfig(), dirty);
      expect(b.t.status.filter((s) => s === K.R_NONFINITE)).toHaveLength(2);
      expect(noveltyAlerts(b.t.alerts).map((x) => [x.tsNs, x.score])).toEqual(noveltyAlerts(a).map((x) => [x.tsNs, x.score]));
    });

    it('beside the statistical detectors of the same feature, and with many instruments', () => {
      const events: RefEvent[] = [];
      for (let id = 1; id <= 4; id++) events.push(...valueSeries({ seed: 20 + id, id, n: 400, gapNs: SECOND, value: (i, g) => id * 10 + g() * id + (i > 300 ? 3 * id : 0) }));
      events.sort((x, y) => (x.tsNs < y.tsNs ? -1 : x.tsNs > y.tsNs ? 1 : x.instrument - y.instrument));
      const cfg = noveltyConfig({}, 50, (1 << K.D_NOVELTY) - 1);
      const { t } = runBoth(build, cfg, events.map((e, i) => ({ ...e, seq: BigInt(i) })));
      expect(new Set(t.alerts.map((a) => a.detector)).size).toBeGreaterThan(2);
    });
  });
}

describe('novelty: what the score means', () => {
  it('a value past every earlier one scores its excess in basis points of the range, expects the old edge, then stays silent', () => {
    // 0..9 four times (warm-up 10: the first pass only learns), then 12: range 9, excess 3 -> 3 / 9 x 1e4 = 3333.3 bps
    // (the 5-mean, 8.4, is 0.28 of its range [2, 7] out; the 20-mean 5.1 is 0.13 of 4.5 out: the value wins).
    const values = [...Array.from({ length: 40 }, (_, i) => i % 10), 12, 12, 12, 12, 30, 0, 40, 0, 0];
    const events = values.map((v, i) => event(T0 + BigInt(i + 1) * SECOND, BigInt(i), 1, K.K_VALUE, v));
    const w = new WasmEngine('release', noveltyConfig({ [C.WARMUP]: 10, [C.NOVELTY_PHASES]: 0 }));
    const a = noveltyAlerts(w.run(events).alerts);
    expect(a[0].seq).toBe(40n);
    expect(a[0].score).toBeCloseTo((3 / 9) * 1e4, 9);
    expect(a[0].expected).toBe(9);
    expect(a[0].value).toBe(12);
    // 41..43 are the silent period (refractory 3: the next 12s would not have scored anyway); 44 (30: 18 past the
    // edge of 12, range 12) scores 1.5 ranges.
    expect(a[1].seq).toBe(44n);
    expect(a[1].score).toBeCloseTo(1.5e4, 9);
    expect(a[1].expected).toBe(12);
    // 45..47 are silent again: the 40 at 46 is lost to the refractory period, by design (one episode, one alert).
    expect(a).toHaveLength(2);
  });

  it('only a score that reaches the threshold starts the silent period: a record by a hair does not hide the spike after it', () => {
    // Values cycling over [10, 10.6], then 10.6001 (a new high by 1.7 bps of the range: below the threshold of 100,
    // no alert), then a spike to 20: it must alert. (Found in review: any score above 0 used to silence the detector.)
    const values = [...Array.from({ length: 200 }, (_, i) => 10 + 0.1 * (i % 7)), 10.6001, 20];
    const events = values.map((v, i) => event(T0 + BigInt(i + 1) * SECOND, BigInt(i), 1, K.K_VALUE, v));
    for (const build of BUILDS) {
      const { t } = runBoth(build, noveltyConfig({ [C.NOVELTY_PHASES]: 0, [C.NOVELTY_REFRACTORY]: 10 }, 100), events);
      const a = noveltyAlerts(t.alerts);
      expect(a.map((x) => x.seq), build).toEqual([201n]);
      expect(a[0].score).toBeCloseTo((20 - 10.6001) / (10.6001 - 10) * 1e4, 6);
    }
  });

  it('a shift too small for any one value but outside every earlier 20-mean is found by the 20-mean scale', () => {
    // Uniform noise in [0, 10) for 400 values (20-means stay near 5), then values in [4, 10): each inside the range,
    // their mean (7) far outside the 20-means seen.
    const u = mulberry32(1);
    const values = Array.from({ length: 460 }, (_, i) => (i < 400 ? 10 * u() : 4 + 6 * u()));
    const events = values.map((v, i) => event(T0 + BigInt(i + 1) * SECOND, BigInt(i), 1, K.K_VALUE, v));
    const w = new WasmEngine('release', noveltyConfig({ [C.NOVELTY_PHASES]: 0 }));
    const a = noveltyAlerts(w.run(events).alerts).filter((x) => x.seq >= 400n);
    expect(a.length).toBeGreaterThan(0);
    expect(a.every((x) => x.value >= 4 && x.value < 10)).toBe(true);
    expect(a[0].expected).toBeGreaterThan(5); // the edge of the 20-means seen, not of the values (0..10)
    expect(a[0].expected).toBeLessThan(7);
  });

  it('the seasonal range fires only after its warm-up, and not at all with phases 0', () => {
    // 6 days of night 10 / day 50; on day 6 the night stays at 50 (a level only ever seen by day).
    const events = dailyPattern(9, 6, (i, hour, g) => (i >= 5 * 288 && hour < 6 ? 50 + g() : undefined));
    const night = (cfg: Float64Array) => noveltyAlerts(new WasmEngine('release', cfg).run(events).alerts).filter((a) => a.seq >= 5n * 288n && a.seq < 5n * 288n + 72n);
    expect(night(noveltyConfig()).length).toBeGreaterThan(0);
    expect(night(noveltyConfig({ [C.NOVELTY_PHASES]: 0 }))).toEqual([]);
    expect(night(noveltyConfig({ [C.NOVELTY_PHASE_WARMUP_NS]: Number(7n * DAY) }))).toEqual([]);
  });

  it('phaseOf splits the day into equal phases, negative times included', () => {
    expect(phaseOf(0n, 12)).toBe(0);
    expect(phaseOf(2n * 3_600_000_000_000n - 1n, 12)).toBe(0);
    expect(phaseOf(2n * 3_600_000_000_000n, 12)).toBe(1);
    expect(phaseOf(-1n, 12)).toBe(11);
    expect(phaseOf(DAY * 365n + 23n * 3_600_000_000_000n, 24)).toBe(23);
  });

  it('keeps its 624 bytes only in the features that use it', () => {
    // value (14) then valueChange (15) enabled: the distance between their blocks is value's block, with or without
    // the novelty state (the only difference between the two configurations).
    const blockOfValue = (mask: number): number => {
      const cfg = noveltyConfig();
      cfg[featureEnabledIndex(K.F_VALUE_CHANGE)] = 1;
      cfg[featureMaskIndex(K.F_VALUE_CHANGE)] = 1 << K.D_ZSCORE;
      cfg[featureMaskIndex(K.F_VALUE)] = mask;
      const w = new WasmEngine('release', cfg);
      const v = new DataView(w.wasm.memory.buffer);
      const off = (f: number) => v.getInt32(w.arena + K.ARENA.FEATURE_OFF + 4 * f, true);
      return off(K.F_VALUE_CHANGE) - off(K.F_VALUE);
    };
    expect(blockOfValue((1 << K.D_ZSCORE) | NOVELTY) - blockOfValue(1 << K.D_ZSCORE)).toBe(624);
  });
});

describe('novelty: configuration', () => {
  it('defaults, encoding and named errors', () => {
    const c = resolveConfig({});
    expect(c.novelty).toEqual({ refractory: 20, phases: 12, phaseWarmupMs: 8 * 86_400_000 });
    expect(c.thresholds.novelty).toEqual({ mode: 'static', threshold: 100 });
    const a = encodeConfig(resolveConfig({ novelty: { refractory: 4, phases: 24, phaseWarmupMs: 1000 } }));
    expect([a[C.NOVELTY_REFRACTORY], a[C.NOVELTY_PHASES], a[C.NOVELTY_PHASE_WARMUP_NS]]).toEqual([4, 24, 1e9]);
    for (const [input, field] of [
      [{ novelty: { refractory: 1.5 } }, 'novelty.refractory'],
      [{ novelty: { phases: 25 } }, 'novelty.phases'],
      [{ novelty: { phaseWarmupMs: -1 } }, 'novelty.phaseWarmupMs'],
      [{ novelty: { window: 3 } }, 'novelty.window'],
      [{ novelty: 3 }, 'novelty'],
    ] as const) {
      expect(() => resolveConfig(input), field).toThrow(ConfigError);
      try { resolveConfig(input); } catch (e) { expect((e as ConfigError).field).toBe(field); }
    }
  });
});

for (const build of BUILDS) describeTwin(build);
