import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import type { DetectorName } from '../src/abi.js';
import { valueStream, SECOND, T0 } from './helpers/streams.js';

// 10 observations per second, 100 hours: 3.6 million events per detector, ~0.7 s of engine time each.
const PER_HOUR = 36_000;
const HOURS = 100;
const CHANGE = 50; // volatility x5 from this hour on
const TARGET = 2;

function alertsByHour(detector: DetectorName, seed: number): number[] {
  const e = Engine.create({
    autoRegister: true,
    features: { value: { detectors: [detector] }, valueChange: { enabled: false } },
    calibration: { targetPerHour: TARGET },
    thresholds: { default: { mode: 'target', threshold: 8 } },
  });
  const hours: number[] = [];
  for (let h = 0; h < HOURS; h++) {
    const batch = valueStream({ seed: seed + h, id: 1, n: PER_HOUR, gapNs: SECOND / 10n, sd: h >= CHANGE ? 5 : 1, t0: T0 + BigInt(h) * 3600n * SECOND });
    hours.push(e.ingest(batch).alerts.length);
  }
  return hours;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('target-rate calibrator', () => {
  for (const detector of ['zscore', 'cusum'] as DetectorName[]) {
    it(`${detector}: meets ${TARGET}/h within 25% on a stationary stream and again after volatility x5`, () => {
      const hours = alertsByHour(detector, 11);
      // Hour 0 is warm-up; hours 1..49 stationary; hour 50 the change; 51..99 the new regime.
      const before = mean(hours.slice(1, CHANGE));
      const after = mean(hours.slice(CHANGE + 1));
      expect(Math.abs(before - TARGET) / TARGET).toBeLessThan(0.25);
      expect(Math.abs(after - TARGET) / TARGET).toBeLessThan(0.25);
      // No alarm storm at the change: a handful of alerts, not thousands.
      expect(hours[CHANGE]).toBeLessThan(10);
    });
  }

  it('a static threshold, by contrast, does not adapt its rate to the target', () => {
    const e = Engine.create({ autoRegister: true, features: { value: { detectors: ['zscore'] }, valueChange: { enabled: false } }, thresholds: { default: { mode: 'static', threshold: 3 } } });
    const n = e.ingest(valueStream({ seed: 5, id: 1, n: PER_HOUR, gapNs: SECOND / 10n })).alerts.length;
    // |z| >= 3 on ~0.3% of 36,000 scores: far above 2 per hour.
    expect(n).toBeGreaterThan(20 * TARGET);
  });
});
