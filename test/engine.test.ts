import { describe, expect, it } from 'vitest';
import { Engine, EngineError } from '../src/engine.js';
import { ConfigError } from '../src/config.js';
import { EventBatch } from '../src/events.js';
import { marketStream, valueStream, SECOND, T0 } from './helpers/streams.js';
import { runChunks } from './helpers/run.js';
import { ARENA } from '../src/abi.js';

const IDS = [1, 2, 3];

function sameState(a: Uint8Array, b: Uint8Array): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  x.fill(0, ARENA.CONSUMED, ARENA.CONSUMED + 4);
  y.fill(0, ARENA.CONSUMED, ARENA.CONSUMED + 4);
  return x.equals(y);
}

function marketEngine(extra: Record<string, unknown> = {}): Engine {
  // Low calibration warm-up and a short rate epoch so that every calibrator mode is active within the stream.
  const e = Engine.create({
    window: 64, warmup: 16,
    calibration: { warmup: 200, rateEpochMs: 10_000, targetPerHour: 20 },
    suppression: { cooldownMs: 2_000 },
    thresholds: { default: { mode: 'target', threshold: 6 }, zscore: { mode: 'static', threshold: 5 }, robust: { mode: 'regime', threshold: 6 } },
    ...extra,
  });
  for (const id of IDS) e.register(id);
  return e;
}

describe('determinism', () => {
  const stream = marketStream({ seed: 7, instruments: IDS, n: 30_000, jumps: [9_000, 21_000] });

  it('gives byte-identical alerts for batches of 1, 7 and 10,000 events', () => {
    const runs = [1, 7, 10_000].map((chunk) => runChunks(marketEngine(), stream, chunk));
    expect(runs[0].alerts.length).toBeGreaterThan(10);
    // Several detectors and calibrator modes take part.
    expect(new Set(runs[0].alerts.map((a) => a.detector)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(runs[0].alerts.map((a) => a.mode)).size).toBeGreaterThanOrEqual(2);
    expect(Buffer.from(runs[1].bytes).equals(Buffer.from(runs[0].bytes))).toBe(true);
    expect(Buffer.from(runs[2].bytes).equals(Buffer.from(runs[0].bytes))).toBe(true);
    expect(runs[1].status).toEqual(runs[0].status);
  });

  it('ingest() through copies equals the zero-copy region path', () => {
    const a = marketEngine().ingest(stream);
    const b = runChunks(marketEngine(), stream, 4096);
    expect(a.alerts).toEqual(b.alerts);
  });

  it('continues exactly after snapshot and restore', () => {
    const half = 15_000;
    const original = marketEngine();
    runChunks(original, stream.slice(0, half), 4096);
    const snap = original.snapshot();
    const restored = Engine.restore(snap);
    const rest = stream.slice(half);
    const a = runChunks(original, rest, 4096);
    const b = runChunks(restored, rest, 999);
    expect(a.alerts.length).toBeGreaterThan(0);
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    // The whole state is equal, but for the header's per-call scratch (events consumed by the last call).
    expect(sameState(restored.snapshot(), original.snapshot())).toBe(true);
    // And both equal a run that never stopped.
    const straight = runChunks(marketEngine(), stream, 4096);
    const tail = straight.alerts.filter((x) => x.seq >= BigInt(half));
    expect(a.alerts).toEqual(tail);
  });

  it('refuses snapshots that are not arenas', () => {
    const snap = marketEngine().snapshot();
    const bad = snap.slice();
    bad[0] ^= 0xff;
    expect(() => Engine.restore(bad)).toThrow(/not an arena/);
    expect(() => Engine.restore(snap.slice(0, snap.length - 64))).toThrow(EngineError);
    expect(() => Engine.restore(new Uint8Array(10))).toThrow(EngineError);
  });
});

describe('bad events are counted and never folded into state', () => {
  it('rejects NaN, Infinity, negative sizes, crossed quotes, time going backwards, unknown instruments and kinds', () => {
    const e = Engine.create({ autoRegister: false, warmup: 4 });
    e.register(1);
    const b = new EventBatch();
    for (let i = 0; i < 10; i++) b.value(1, T0 + BigInt(i) * SECOND, i);
    const before = { n: 10 };
    b.value(1, T0 + 20n * SECOND, NaN);                                   // nonFinite
    b.value(1, T0 + 21n * SECOND, Infinity);                              // nonFinite
    b.trade(1, T0 + 22n * SECOND, 100, -1, 1);                             // negative
    b.trade(1, T0 + 22n * SECOND, 0, 1, 1);                                // negative (price 0)
    b.quote(1, T0 + 23n * SECOND, 101, 1, 100, 1);                         // crossed
    b.quote(1, T0 + 23n * SECOND, 100, 1, 101, 1, -Infinity, 5);           // nonFinite depth
    b.value(1, T0 + 5n * SECOND, 3);                                       // timeBackwards
    b.value(2, T0 + 30n * SECOND, 3);                                      // unknownInstrument
    b.push(9, 1, T0 + 31n * SECOND, 1);                                    // badKind
    const r = e.ingest(b);
    expect(r.accepted).toBe(before.n);
    expect(r.rejects).toEqual([
      { index: 10, reason: 'nonFinite' }, { index: 11, reason: 'nonFinite' }, { index: 12, reason: 'negative' },
      { index: 13, reason: 'negative' }, { index: 14, reason: 'crossedQuote' }, { index: 15, reason: 'nonFinite' },
      { index: 16, reason: 'timeBackwards' }, { index: 17, reason: 'unknownInstrument' }, { index: 18, reason: 'badKind' },
    ]);
    const c = e.counters();
    expect(c.accepted).toBe(10);
    expect(c.rejected).toMatchObject({ nonFinite: 3, negative: 2, crossedQuote: 1, timeBackwards: 1, unknownInstrument: 1, badKind: 1 });
    // State saw only the ten good values 0..9.
    expect(e.featureStat(1, 'value', 'observations')).toBe(10);
    expect(e.featureStat(1, 'value', 'mean')).toBeCloseTo(4.5, 12);
    expect(e.featureStat(1, 'value', 'last')).toBe(9);
    expect(e.featureStat(1, 'spread', 'observations')).toBe(0);
    expect(e.instrumentStat(1, 'events')).toBe(10);
    expect(Number.isNaN(e.featureStat(2, 'value', 'count'))).toBe(true);
  });

  it('numbers unnumbered events and keeps producer numbers', () => {
    const e = Engine.create({ autoRegister: true });
    const b = new EventBatch();
    b.value(1, T0, 1); b.value(1, T0 + 1n, 1, 100n); b.value(1, T0 + 2n, 1);
    e.ingest(b);
    expect([...b.seq.subarray(0, b.length)]).toEqual([0n, 100n, 101n]);
  });

  it('reports a full instrument table clearly', () => {
    const e = Engine.create({ maxInstruments: 2, autoRegister: true });
    e.register(10); e.register(11);
    expect(() => e.register(12)).toThrow(/instrument table is full/);
    const b = new EventBatch();
    b.value(13, T0, 1);
    expect(e.ingest(b).rejects).toEqual([{ index: 0, reason: 'tableFull' }]);
  });
});

describe('configuration', () => {
  it('names the field and the reason', () => {
    const cases: [unknown, RegExp][] = [
      [{ window: -1 }, /^config\.window: must be >= 1, got -1$/],
      [{ window: 1.5 }, /^config\.window: must be an integer/],
      [{ warmup: 500 }, /^config\.warmup: must be <= 128/],
      [{ detectors: { ewmaAlpha: 0 } }, /^config\.detectors\.ewmaAlpha: must be > 0/],
      [{ detectors: { nope: 1 } }, /^config\.detectors\.nope: unknown option/],
      [{ features: { sprd: {} } }, /^config\.features\.sprd: unknown option/],
      [{ features: { spread: { detectors: ['zz'] } } }, /^config\.features\.spread\.detectors: unknown detector "zz"/],
      [{ thresholds: { 'spread.nope': { threshold: 3 } } }, /^config\.thresholds\.spread\.nope: unknown detector/],
      [{ thresholds: { default: { mode: 'magic' } } }, /^config\.thresholds\.default\.mode: unknown mode/],
      [{ thresholds: { default: { threshold: -2 } } }, /^config\.thresholds\.default\.threshold: must be a number > 0/],
      [{ calibration: { tailProbability: 0.7 } }, /^config\.calibration\.tailProbability/],
      [{ timeWindowMs: 1000, timeBuckets: 7 }, /^config\.timeBuckets: must divide/],
      [{ autoRegister: 'yes' }, /^config\.autoRegister: must be true or false/],
      [[], /^config\.\(root\): must be a JSON object/],
    ];
    for (const [input, re] of cases) {
      let err: unknown;
      try { Engine.create(input); } catch (e) { err = e; }
      expect(err, JSON.stringify(input)).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(re);
    }
  });

  it('applies the most specific threshold key', () => {
    const e = Engine.create({ thresholds: { default: { mode: 'static', threshold: 7 }, spread: { threshold: 5 }, 'spread.cusum': { mode: 'target', threshold: 9 } } });
    const t = e.thresholds();
    const get = (f: string, d: string) => t.find((x) => x.feature === f && x.detector === d)!;
    expect(get('return', 'zscore')).toMatchObject({ mode: 'static', threshold: 7 });
    expect(get('spread', 'zscore')).toMatchObject({ mode: 'static', threshold: 5 });
    expect(get('spread', 'cusum')).toMatchObject({ mode: 'target', threshold: 9 });
  });
});

describe('thresholds change live without losing state', () => {
  it('keeps statistics and follows the new threshold from the next event', () => {
    const e = Engine.create({ autoRegister: true, features: { value: { detectors: ['zscore'] } }, thresholdFloor: 0, thresholds: { default: { mode: 'static', threshold: 100 } } });
    const s = valueStream({ seed: 3, id: 1, n: 4000, gapNs: SECOND });
    expect(e.ingest(s.slice(0, 2000)).alerts.length).toBe(0);
    const count = e.featureStat(1, 'value', 'count');
    const mean = e.featureStat(1, 'value', 'mean');
    e.setThresholds({ 'value.zscore': { threshold: 2 } });
    expect(e.featureStat(1, 'value', 'count')).toBe(count);
    expect(e.featureStat(1, 'value', 'mean')).toBe(mean);
    const after = e.ingest(s.slice(2000));
    // |z| >= 2 about 4.6% of the time; with one alert per episode and the cooldown, fewer, but many.
    expect(after.alerts.length).toBeGreaterThan(20);
    expect(after.alerts.every((a) => a.threshold === 2 && a.score >= 2)).toBe(true);
    expect(() => e.setThresholds({ 'value.zscore': { threshold: 0 } })).toThrow(ConfigError);
    // Fixed mode: per-instrument values from an offline calibration.
    e.setThresholds({ value: { mode: 'fixed', threshold: 100 } });
    e.setInstrumentThreshold(1, 'value', 'zscore', 3.5);
    expect(e.channelStat(1, 'value', 'zscore', 'instrumentThreshold')).toBe(3.5);
    const fixed = e.ingest(valueStream({ seed: 4, id: 1, n: 3000, gapNs: SECOND, t0: T0 + 10_000n * SECOND }));
    expect(fixed.alerts.length).toBeGreaterThan(0);
    expect(fixed.alerts.every((a) => a.threshold === 3.5 && a.mode === 'fixed')).toBe(true);
  });
});
