// Needs ../shared/data (the full Binance captures): run by .ci/run with ATC_SHARED_DATA set, skipped otherwise.
// Walk-forward calibration on each real capture (fit on the first 70%, validate on the rest), the figures that
// docs/calibrate.md records (`npm run calibrate:real` prints them).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../src/calibrate/index.js';

const DATA = process.env.ATC_SHARED_DATA;
const CAPTURES = ['cm-btcusd_perp-20240808.gz', 'spot-btcusdt-20240808.gz', 'usdm-btcusdt-20240808.gz'];

describe.skipIf(!DATA)('calibration on the real Binance captures (set ATC_SHARED_DATA to run)', () => {
  it('at a rate six minutes can count (300/h, cooldown 5 s): the fit split meets the target, validation stays within 30%', async () => {
    let fitAlerts = 0, fitTarget = 0, valAlerts = 0, valTarget = 0;
    for (const file of CAPTURES) {
      const { report } = await calibrate({
        inputs: [{ path: join(DATA!, 'binance', file), format: 'binance' }],
        config: { thresholdFloor: 0.5, suppression: { cooldownMs: 5_000 } }, targetPerHour: 300, split: 0.7, workers: 2,
      });
      const [fit, val] = report.folds[0].splits;
      expect(fit.fitted.ratio, file).toBeGreaterThan(0.9);
      expect(fit.fitted.ratio, file).toBeLessThan(1.1);
      fitAlerts += fit.fitted.alerts; fitTarget += fit.fitted.targetAlerts;
      valAlerts += val.fitted.alerts; valTarget += val.fitted.targetAlerts;
    }
    expect(fitAlerts / fitTarget).toBeGreaterThan(0.95);
    expect(fitAlerts / fitTarget).toBeLessThan(1.05);
    expect(valAlerts / valTarget).toBeGreaterThan(0.7);
    expect(valAlerts / valTarget).toBeLessThan(1.3);
  });

  it('at 2/h: thresholds for every channel that scores, a report of how little six minutes resolve', async () => {
    for (const file of CAPTURES) {
      const { report, output } = await calibrate({ inputs: [{ path: join(DATA!, 'binance', file), format: 'binance' }], config: {}, targetPerHour: 2, workers: 2 });
      const fold = report.folds[0];
      expect(fold.splits[0].fitted.targetAlerts, file).toBeLessThan(2);
      expect(fold.channels.filter((c) => c.status === 'tail').length, file).toBeGreaterThan(3);
      expect(Object.keys(output.instruments as object).length, file).toBe(1);
    }
  });
});
