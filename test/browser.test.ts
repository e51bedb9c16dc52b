// The module embedded in a web page: examples/browser/ served from this repository on 127.0.0.1 (a random port),
// opened in Debian's chromium with a fresh profile (driven by playwright-core; no browser is ever downloaded). The
// page instantiates atc.wasm with the plain WebAssembly API and must reproduce every golden case's alert and status
// bytes. Skipped, with the reason, where /usr/bin/chromium is missing (.ci/run installs it).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../scripts/golden.js';
import { CHROMIUM, openExample, type CaseResult } from '../examples/browser/headless.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GOLDEN = join(ROOT, 'test/golden');
const manifest: Manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest.json'), 'utf8'));

const reason = existsSync(CHROMIUM) ? '' : ` (SKIPPED: ${CHROMIUM} not found; Debian: apt-get install chromium)`;
if (reason) console.warn(`test/browser.test.ts${reason}`);

// .ci/run sets ATC_REQUIRE_HOSTS=1 once it has installed chromium: there a skip would hide a broken install.
it.runIf(reason !== '' && process.env.ATC_REQUIRE_HOSTS === '1')('chromium is installed (ATC_REQUIRE_HOSTS=1)', () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is required here`).toBe(true);
});

describe.skipIf(reason !== '')(`browser host (examples/browser) in chromium${reason}`, () => {
  let opened: Awaited<ReturnType<typeof openExample>>;
  let results: Record<string, CaseResult>;

  beforeAll(async () => {
    opened = await openExample();
    results = opened.atc.results;
  });
  afterAll(async () => { await opened?.close(); });

  it('runs every golden case, with no error on the page or in its console', () => {
    expect(opened.atc.error).toBeNull();
    expect(opened.errors).toEqual([]);
    expect(Object.keys(results)).toEqual(manifest.cases.map((c) => c.name));
  });

  for (const c of manifest.cases) {
    it(`${c.name}: the page's alert and status bytes are the golden ones`, () => {
      const r = results[c.name];
      expect(r.alerts).toBe(c.alerts);
      expect(r.accepted).toBe(c.accepted);
      expect(r.rejected).toEqual(c.rejected);
      expect(r.alertsHex).toBe(readFileSync(join(GOLDEN, c.files.alerts.path)).toString('hex'));
      expect(r.statusHex).toBe(readFileSync(join(GOLDEN, c.files.status.path)).toString('hex'));
      // The page's own verdict, which it shows, must agree.
      expect(r.match).toBe(true);
    });
  }

  it('shows each case with its verdict and one table row per alert', async () => {
    for (const c of manifest.cases) {
      const section = opened.page.locator(`#case-${c.name}`);
      expect(await section.locator('.badge').textContent()).toBe('matches the golden bytes');
      expect(await section.locator('tbody tr').count()).toBe(c.alerts);
    }
  });
});
