// scripts/alert-rate.ts: the alert-rate measurement of the defaults (docs/configuration.md, "Alert rate of the
// defaults on normal data"). Runs on the committed sample; the full captures are test/shared/alert-rate.test.ts.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alertRate, poissonInterval } from '../scripts/alert-rate.js';

const SAMPLE = fileURLToPath(new URL('../data/samples/binance-usdm-btcusdt.txt.gz', import.meta.url));

describe('alert-rate', () => {
  it('poissonInterval: the exact (Garwood) 95% interval of a count', () => {
    // Reference values (chi-square quantiles / 2): 0 -> [0, 3.689], 1 -> [0.0253, 5.572], 11 -> [5.491, 19.68].
    const close = (got: [number, number], want: [number, number]) => {
      expect(got[0]).toBeCloseTo(want[0], 3);
      expect(got[1]).toBeCloseTo(want[1], 2);
    };
    close(poissonInterval(0), [0, 3.689]);
    close(poissonInterval(1), [0.0253, 5.572]);
    close(poissonInterval(11), [5.491, 19.68]);
  });

  it('--loops 3 replays the sample three times into one engine: every event accepted, hours tripled, copies counted apart', async () => {
    const one = await alertRate(SAMPLE);
    const three = await alertRate(SAMPLE, {}, undefined, 3);
    expect(one.loops).toBe(1);
    expect(one.laterHours).toBe(0);
    expect(one.rejected).toBe(0);
    expect(three.rejected).toBe(0); // the seams keep time monotonic
    expect(three.accepted).toBe(3 * one.accepted);
    // Three spans and two 1 ms seams.
    expect(three.instrumentHours).toBeCloseTo(3 * one.instrumentHours + 2e-3 / 3600, 9);
    expect(three.laterHours).toBeCloseTo((three.instrumentHours * 2) / 3, 12);
    // The first copy is the single replay.
    expect(three.firstCopy).toEqual(Object.fromEntries(Object.entries(one.perHour).map(([k, r]) => [k, Math.round(r * one.instrumentHours)])));
    // Features watched: the ones a trades+bookTicker feed observes (no depth diffs in this sample, no marks).
    expect(Object.values(three.watched)[0]).toEqual(expect.arrayContaining(['return', 'rvol', 'intensity', 'volume', 'flow', 'spread', 'midJump', 'imbalance', 'quoteRate']));
    expect(Object.values(three.watched)[0]).not.toContain('basis');
  });

  it('refuses a bad loop count', async () => {
    await expect(alertRate(SAMPLE, {}, undefined, 0)).rejects.toThrow(/--loops: must be an integer in \[1, 1000\], got 0/);
    await expect(alertRate(SAMPLE, {}, undefined, 1.5)).rejects.toThrow(/--loops/);
  });
});
