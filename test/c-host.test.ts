// The module embedded in C: examples/c-host/build.sh turns build/atc.wasm into C with wasm2c and builds it with the
// system compiler (into a temporary directory); the program must reproduce every golden case's alert and status
// bytes. Skipped, with the reason, where wasm2c or cc is missing (.ci/run installs them: wabt, build-essential).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../scripts/golden.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GOLDEN = join(ROOT, 'test/golden');
const manifest: Manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest.json'), 'utf8'));

const missing = ['wasm2c', process.env.CC ?? 'cc'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
const reason = missing.length ? ` (SKIPPED: ${missing.join(' and ')} not found; Debian: apt-get install wabt build-essential)` : '';
if (missing.length) console.warn(`test/c-host.test.ts${reason}`);

// .ci/run sets ATC_REQUIRE_HOSTS=1 once it has installed the tools: there a skip would hide a broken install.
it.runIf(missing.length > 0 && process.env.ATC_REQUIRE_HOSTS === '1')('the C host\'s tools are installed (ATC_REQUIRE_HOSTS=1)', () => {
  expect(missing, 'wasm2c and cc are required here').toEqual([]);
});

describe.skipIf(missing.length > 0)(`C host via wasm2c (examples/c-host)${reason}`, () => {
  let dir: string;
  let host: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'atc-c-host-'));
    host = execFileSync('sh', [join(ROOT, 'examples/c-host/build.sh'), dir], { encoding: 'utf8' }).trim();
  });
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  for (const c of manifest.cases) {
    // The golden alert capacity (mostly 84: a call per alerting event), and one large enough for a single call.
    for (const capacity of [c.alertCapacity, 4096]) {
      it(`${c.name}: the golden alert and status bytes, alert capacity ${capacity}`, () => {
        const out = join(dir, `${c.name}-${capacity}`);
        const run = spawnSync(host, ['--quiet', '--alert-capacity', String(capacity), '--out', out, join(GOLDEN, c.name)], { encoding: 'utf8' });
        expect(run.status, run.stderr).toBe(0);
        expect(run.stderr).toContain(`${c.n} events, ${c.accepted} accepted, ${c.alerts} alerts`);
        const alerts = readFileSync(join(out, 'alerts.bin'));
        expect(alerts.length / 64).toBe(c.alerts);
        expect(alerts.equals(readFileSync(join(GOLDEN, c.files.alerts.path))), 'alert records differ').toBe(true);
        expect(readFileSync(join(out, 'status.u8')).equals(readFileSync(join(GOLDEN, c.files.status.path))), 'status bytes differ').toBe(true);
      });
    }
  }

  it('prints the alerts it found, one line each, with names from docs/abi.md', () => {
    const c = manifest.cases.find((m) => m.name === 'value-shift')!;
    const run = spawnSync(host, [join(GOLDEN, c.name)], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(c.alerts);
    expect(lines[0]).toMatch(/^ts \d+ seq +\d+ id +7 value(Change)?\.(zscore|robust|ewma|cusum|pageHinkley|novelty) sev [1-4] normal value /);
  });

  it('refuses an alert capacity below 84 with the module\'s error code', () => {
    const run = spawnSync(host, ['--quiet', '--alert-capacity', '83', join(GOLDEN, 'market')], { encoding: 'utf8' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('ingest: error -5');
  });
});
