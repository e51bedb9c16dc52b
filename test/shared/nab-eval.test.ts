// Needs ../shared/data (the NAB corpus): run by .ci/run with ATC_SHARED_DATA set, skipped otherwise.
// `atc eval nab` over all 58 series with the default configuration. The targets are benchmarks
// (NAB standard >= 65 at the best threshold in hindsight, >= 60 at atc's own thresholds, under 30 s); the scores
// are deterministic, so they are also held here, as floors, so that a change that loses them cannot land unseen.
// The time is printed, not asserted.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { evalNab } from '../../src/eval/nab-run.js';
import { formatNabReport } from '../../src/eval/nab-cli.js';

const DATA = process.env.ATC_SHARED_DATA;

describe.skipIf(!DATA)('atc eval nab over the NAB corpus (../shared/data/nab)', () => {
  it('value.novelty, the default ensemble: >= 65 in hindsight and >= 60 at its own thresholds (standard profile)', async () => {
    const { report } = await evalNab({ dataDir: join(DATA!, 'nab'), config: resolveConfig({ autoRegister: true }) });
    process.stdout.write(formatNabReport(report));
    expect(report.files).toBe(58);
    expect(report.rows).toBe(365_558);
    expect(report.windows).toBe(116);
    const ens = report.detectors.find((d) => d.name === 'ensemble')!;
    expect(ens.hindsight.standard.score).toBeGreaterThanOrEqual(65);
    expect(ens.own.standard).toBeGreaterThanOrEqual(60);
    // Better than the windowed Gaussian baseline on every profile, both ways.
    for (const [p, published] of [['standard', 39.65], ['reward_low_FP_rate', 20.87], ['reward_low_FN_rate', 47.41]] as const) {
      expect(ens.own[p], p).toBeGreaterThan(published);
      expect(ens.hindsight[p].score, p).toBeGreaterThan(published);
    }
  });
});
