// Needs ../shared/data (the full Binance captures): run by .ci/run with ATC_SHARED_DATA set, skipped otherwise.
// The alert rate of the default configuration on the three normal captures (docs/configuration.md, "Alert rate of
// the defaults on normal data"): the figures the docs give, and the target of at most 2 alerts per hour per
// (instrument, feature) once the calibrators are past their warm-up (--loops).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alertRate, poissonInterval, type CaptureRate } from '../../scripts/alert-rate.js';

const DATA = process.env.ATC_SHARED_DATA;
const CAPTURES = ['cm-btcusd_perp-20240808.gz', 'spot-btcusdt-20240808.gz', 'usdm-btcusdt-20240808.gz'];

const alertsOf = (r: CaptureRate) => r.instruments.reduce((s, x) => s + x.alerts, 0);
/** (instrument, feature)-hours of a result's later copies (every copy when later is false). */
function pairHours(r: CaptureRate, later: boolean): number {
  return r.instruments.reduce((s, x) => s + x.hours * (later ? (r.loops - 1) / r.loops : 1) * r.watched[x.name].length, 0);
}

describe.skipIf(!DATA)('alert rate of the defaults on the normal captures (set ATC_SHARED_DATA to run)', () => {
  it('one pass each: 11 alerts in 0.287 instrument-hours, 11 (instrument, feature) pairs watched per capture', async () => {
    const rs = await Promise.all(CAPTURES.map((c) => alertRate(join(DATA!, 'binance', c))));
    expect(rs.map(alertsOf)).toEqual([4, 4, 3]);
    for (const r of rs) {
      expect(r.rejected).toBe(0);
      // Every feature a Binance feed without marks feeds: the 11 of trades, quotes and the book.
      expect(Object.values(r.watched)[0]).toHaveLength(11);
    }
    const hours = rs.reduce((s, r) => s + pairHours(r, false), 0);
    expect(hours).toBeCloseTo(3.16, 2);
  });

  it('ten copies each, past the warm-up: at most 2 per hour per (instrument, feature), pooled, with 95% confidence', async () => {
    const rs = await Promise.all(CAPTURES.map((c) => alertRate(join(DATA!, 'binance', c), {}, undefined, 10)));
    let later = 0, hours = 0;
    for (const r of rs) {
      expect(r.rejected).toBe(0);
      // The first copy is the single pass.
      expect(Object.values(r.firstCopy).reduce((s, x) => s + x, 0)).toBe(alertsOf(r) - Object.values(r.laterCopies).reduce((s, x) => s + x, 0));
      later += Object.values(r.laterCopies).reduce((s, x) => s + x, 0);
      hours += pairHours(r, true);
    }
    const [, high] = poissonInterval(later);
    // Measured: 16 alerts in 28.45 pair-hours, 0.56/h (95%: 0.32-0.91), against the calibrators' 0.5/h per channel.
    expect(later / hours).toBeLessThan(1);
    expect(high / hours).toBeLessThan(2);
  });
});
