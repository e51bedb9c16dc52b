// The HTML report in a real browser: Debian's chromium, headless, driven by playwright-core (no browser is ever
// downloaded), opening the file itself (file://) with every request routed: anything but that file fails the test.
// The plots must have rendered: the canvases exist, have a size, and hold the report's colours (read back inside
// the page with getImageData); the tables hold the given numbers; nothing is logged as an error. Also one panel of
// a million points. Skipped, with the reason, where /usr/bin/chromium is missing (.ci/run installs it).
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { REPORT_COLORS, reportModel, Tracer, writeReport, type Panel } from '../src/report/index.js';
import { CHROMIUM } from '../examples/browser/headless.mjs';
import { marketStream, SECOND, T0, valueStream } from './helpers/streams.js';

const reason = existsSync(CHROMIUM) ? '' : ` (SKIPPED: ${CHROMIUM} not found; Debian: apt-get install chromium)`;
if (reason) console.warn(`test/report-browser.test.ts${reason}`);

// .ci/run sets ATC_REQUIRE_HOSTS=1 once it has installed chromium: there a skip would hide a broken install.
it.runIf(reason !== '' && process.env.ATC_REQUIRE_HOSTS === '1')('chromium is installed (ATC_REQUIRE_HOSTS=1)', () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is required here`).toBe(true);
});

type Rgb = [number, number, number];
const rgb = (hex: string): Rgb => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as Rgb;

interface CanvasPixels { width: number; height: number; painted: number; near: number }

/**
 * Inside the page: the size of canvas `index` under `selector`, its pixels that are not background (alpha > 0),
 * and those within `tolerance` (sum of |channel differences|) of `color` with an alpha in [alphaMin, alphaMax].
 */
async function pixels(page: Page, selector: string, color: Rgb, alpha: [number, number] = [200, 255], tolerance = 60): Promise<CanvasPixels> {
  return page.evaluate(({ selector, color, alpha, tolerance }) => {
    const canvas = document.querySelector(selector) as HTMLCanvasElement | null;
    if (!canvas) return { width: -1, height: -1, painted: 0, near: 0 };
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0, near = 0;
    for (let i = 0; i < data.length; i += 4) {
      const a = data[i + 3];
      if (a === 0) continue;
      painted++;
      const d = Math.abs(data[i] - color[0]) + Math.abs(data[i + 1] - color[1]) + Math.abs(data[i + 2] - color[2]);
      if (d <= tolerance && a >= alpha[0] && a <= alpha[1]) near++;
    }
    return { width: canvas.width, height: canvas.height, painted, near };
  }, { selector, color, alpha, tolerance });
}

interface Opened { context: BrowserContext; page: Page; errors: string[]; requests: string[] }

/** A fresh context: every request routed (only the report's own file may load), console errors and page errors kept. */
async function open(browser: Browser, file: string, timeoutMs: number): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [], requests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requests.push(url);
    return url.startsWith('file:') ? route.continue() : route.abort();
  });
  await page.goto(pathToFileURL(file).href, { timeout: timeoutMs });
  await page.waitForFunction(() => (window as unknown as { atcReport?: { ready: boolean } }).atcReport?.ready === true, null, { timeout: timeoutMs });
  return { context, page, errors, requests };
}

const drawn = (page: Page) => page.evaluate(() => (window as unknown as { atcReport: { drawn: number } }).atcReport.drawn);

describe.skipIf(reason !== '')(`the HTML report in chromium${reason}`, () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    dir = mkdtempSync(join(tmpdir(), 'atc-report-browser-'));
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('a report of a market stream: many panels, tables, windows, alerts', () => {
    let o: Opened;
    let panels: Panel[];
    const jumpMs = { start: 0, end: 0 };

    beforeAll(async () => {
      const engine = Engine.create({
        window: 64, warmup: 16, suppression: { cooldownMs: 2_000 },
        calibration: { warmup: 200, rateEpochMs: 10_000, targetPerHour: 20 },
        thresholds: { default: { mode: 'target', threshold: 6 }, zscore: { mode: 'static', threshold: 5 } },
      });
      for (const id of [1, 2]) engine.register(id);
      const tracer = new Tracer(engine, { name: (id) => `BTC-${id}` });
      const batch = marketStream({ seed: 3, instruments: [1, 2], n: 20_000, jumps: [8_000, 15_000] });
      const { alerts } = tracer.ingest(batch);
      expect(alerts.length).toBeGreaterThan(5);
      jumpMs.start = Number(batch.tsNs[7_900] / 1_000_000n);
      jumpMs.end = Number(batch.tsNs[8_100] / 1_000_000n);
      const model = reportModel(tracer.panels(), {
        title: 'Market <report>', command: 'atc calibrate --report r.html',
        tables: [{ title: 'Rates', columns: ['feature', 'alerts/h', 'NAB'], rows: [['spread', 1.25, 42], ['return', 0.5, -3.125]] }],
        windows: (name) => (name === 'BTC-1' ? [[jumpMs.start, jumpMs.end]] : undefined),
      });
      panels = model.panels;
      expect(panels.length).toBeGreaterThan(10);
      const file = join(dir, 'market.html');
      await writeReport(file, model);
      o = await open(browser, file, 60_000);
    });
    afterAll(async () => { await o?.context.close(); });

    it('loads the file and nothing else', () => {
      expect(o.requests.length).toBeGreaterThan(0);
      expect(o.requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    });

    it('shows the tables with the given numbers', async () => {
      const cells = await o.page.locator('#table-0 tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
      expect(cells).toEqual([['spread', '1.25', '42'], ['return', '0.5', '-3.125']]);
      expect(await o.page.locator('h1').textContent()).toBe('Market <report>');
      expect(await o.page.title()).toBe('Market <report>');
    });

    it('draws panels lazily, as they come into view, then every one', async () => {
      // Panels far below the first screen wait for the reader.
      expect(await drawn(o.page)).toBeLessThan(panels.length);
      for (let k = 0; k < panels.length; k++) {
        await o.page.locator(`#panel-${k}`).scrollIntoViewIfNeeded();
        await o.page.waitForSelector(`#panel-${k}[data-drawn]`, { timeout: 30_000 });
      }
      expect(await drawn(o.page)).toBe(panels.length);
      const states = await o.page.locator('section.panel').evaluateAll((s) => s.map((e) => e.getAttribute('data-drawn')));
      expect(states).toEqual(panels.map((p) => String(p.detectors.length > 0 ? 2 : 1)));
      const expectedCanvases = panels.reduce((a, p) => a + (p.detectors.length > 0 ? 2 : 1), 0);
      expect(await o.page.locator('section.panel canvas').count()).toBe(expectedCanvases);
    });

    it('has painted every plot: values, scores, alerts and labelled windows in their colours', async () => {
      let windowsSeen = 0, alertsSeen = 0;
      for (let k = 0; k < panels.length; k++) {
        const p = panels[k];
        const value = await pixels(o.page, `#panel-${k} .chart.value canvas`, rgb(REPORT_COLORS.value));
        expect(value.width, `panel ${k} value canvas`).toBeGreaterThan(300);
        expect(value.height).toBeGreaterThan(100);
        expect(value.painted).toBeGreaterThan(1000);
        expect(value.near, `panel ${k} (${p.instrument} ${p.feature}): value line pixels`).toBeGreaterThan(p.tsMs.length > 1 ? 50 : 0);
        if (p.detectors.length > 0) {
          const colors = p.detectors.map((d) => rgb(REPORT_COLORS.detectors[d.detector]));
          const score = await Promise.all(colors.map((c) => pixels(o.page, `#panel-${k} .chart.score canvas`, c)));
          expect(score[0].width).toBe(value.width);
          expect(Math.max(...score.map((s) => s.near)), `panel ${k}: score lines`).toBeGreaterThan(20);
        }
        if (p.windows.length > 0) {
          const shade = await pixels(o.page, `#panel-${k} .chart.value canvas`, [44, 160, 44], [30, 70], 30);
          expect(shade.near, `panel ${k}: labelled window`).toBeGreaterThan(100);
          windowsSeen++;
        }
        if (p.alerts.length > 0) {
          const red = await pixels(o.page, `#panel-${k} .chart.value canvas`, rgb(REPORT_COLORS.alert), [200, 255], 40);
          expect(red.near, `panel ${k}: alert marks`).toBeGreaterThan(10);
          alertsSeen++;
        }
      }
      expect(windowsSeen).toBeGreaterThan(3);
      expect(alertsSeen).toBeGreaterThan(1);
    });

    it('syncs the cursor: hovering the value plot moves the score plot\'s legend', async () => {
      const k = panels.findIndex((p) => p.detectors.length > 0 && p.tsMs.length > 100);
      await o.page.locator(`#panel-${k}`).scrollIntoViewIfNeeded();
      const over = o.page.locator(`#panel-${k} .chart.value .u-over`);
      const box = (await over.boundingBox())!;
      await o.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      const legend = await o.page.locator(`#panel-${k} .chart.score .u-legend .u-value`).allTextContents();
      expect(legend[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
      expect(legend.slice(1).every((v) => v !== '-' && v !== '')).toBe(true);
    });

    it('logged no error', async () => {
      expect(await o.page.evaluate(() => (window as unknown as { atcReport: { errors: string[] } }).atcReport.errors)).toEqual([]);
      expect(o.errors).toEqual([]);
    });
  });

  describe('a panel of a million points', () => {
    let o: Opened;
    const n = 1_000_000, spikeAt = 654_321;

    beforeAll(async () => {
      const engine = Engine.create({
        autoRegister: true, features: { value: { detectors: ['zscore'] } },
        thresholds: { zscore: { mode: 'static', threshold: 6 } },
      });
      const tracer = new Tracer(engine, { features: ['value'], name: () => 'big' });
      const batch = valueStream({ seed: 9, id: 1, n, gapNs: SECOND, t0: T0 });
      batch.f[0][spikeAt] = 25;
      tracer.ingest(batch);
      const [panel] = tracer.panels();
      expect(panel.tsMs.length).toBe(n);
      const file = join(dir, 'million.html');
      await writeReport(file, reportModel([panel], { title: 'A million points' }));
      expect(statSync(file).size).toBeGreaterThan(n * 8);
      o = await open(browser, file, 120_000);
      await o.page.waitForSelector('#panel-0[data-drawn]', { timeout: 120_000 });
    }, 300_000);
    afterAll(async () => { await o?.context.close(); });

    it('opens and draws it: the value line, the band and the spike\'s alert', async () => {
      const timing = await o.page.evaluate(() => (window as unknown as { atcReport: { timings: Record<number, { points: number }> } }).atcReport.timings[0]);
      expect(timing.points).toBe(n);
      const value = await pixels(o.page, '#panel-0 .chart.value canvas', rgb(REPORT_COLORS.value));
      expect(value.width).toBeGreaterThan(300);
      expect(value.near).toBeGreaterThan(5_000);
      const band = await pixels(o.page, '#panel-0 .chart.value canvas', [224, 138, 0], [20, 70], 40);
      expect(band.near).toBeGreaterThan(1_000);
      const red = await pixels(o.page, '#panel-0 .chart.value canvas', rgb(REPORT_COLORS.alert), [200, 255], 40);
      expect(red.near).toBeGreaterThan(10);
      const score = await pixels(o.page, '#panel-0 .chart.score canvas', rgb(REPORT_COLORS.detectors.zscore));
      expect(score.near).toBeGreaterThan(1_000);
      expect(o.requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
      expect(o.errors).toEqual([]);
    });

    it('redraws it (a zoom rebuilds the paths) without error', async () => {
      const ms = await o.page.evaluate(() => (window as unknown as { atcReport: { redraw(k: number): Promise<number> } }).atcReport.redraw(0));
      expect(ms).toBeGreaterThan(0);
      const value = await pixels(o.page, '#panel-0 .chart.value canvas', rgb(REPORT_COLORS.value));
      expect(value.near).toBeGreaterThan(5_000);
      expect(o.errors).toEqual([]);
    });
  });
});
