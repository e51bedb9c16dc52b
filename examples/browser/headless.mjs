#!/usr/bin/env node
// Opens the browser example in Debian's chromium without a display (playwright-core drives it; nothing is
// downloaded), waits for the page to finish and prints what it left on window.atc. test/browser.test.ts and
// bench/embed.ts use the same functions.
//
//   node examples/browser/headless.mjs [--screenshot page.png] [QUERY]     e.g. QUERY = '?case=market'
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serve } from './serve.mjs';

export const CHROMIUM = '/usr/bin/chromium';
// No sandbox (containers, root), no GPU, and none of the background traffic a fresh profile starts.
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Serve the repository (plus `mounts`), open examples/browser/ + `query` in a fresh profile, wait for window.atc.done. */
export async function openExample({ query = '', mounts = {}, timeoutMs = 60_000, viewport = { width: 1280, height: 900 } } = {}) {
  const { chromium } = await import('playwright-core');
  const server = await serve({ root: fileURLToPath(new URL('../../', import.meta.url)), mounts });
  const profile = mkdtempSync(join(tmpdir(), 'atc-chromium-'));
  const errors = [];
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport });
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}examples/browser/${query}`);
    await page.waitForFunction(() => window.atc?.done === true, null, { timeout: timeoutMs });
    const atc = await page.evaluate(() => window.atc);
    const close = async () => {
      await context.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    };
    return { page, atc, errors, close };
  } catch (err) {
    await context?.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const shot = args.indexOf('--screenshot');
  const screenshot = shot >= 0 ? args.splice(shot, 2)[1] : undefined;
  const { page, atc, errors, close } = await openExample({ query: args[0] ?? '' });
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await close();
  for (const [name, r] of Object.entries(atc.results)) {
    console.log(`${name}: ${r.nsPerEvent !== undefined ? `${r.nsPerEvent.toFixed(1)} ns/event` : `${r.alerts} alerts, ${r.accepted} accepted, ${r.match ? 'match' : 'DO NOT match'} the golden bytes`}`);
  }
  if (atc.error || errors.length) console.error(atc.error ?? errors.join('\n'));
  process.exitCode = atc.error || errors.length || Object.values(atc.results).some((r) => r.match === false) ? 1 : 0;
}
