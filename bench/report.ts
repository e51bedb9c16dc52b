// `npm run bench:report`: what an HTML report of a million points costs. Printed, and saved to
// bench/results/report.json. Speed is measured here, never asserted in tests.
//
//   - tracing: ns per event of Tracer.ingest (one event at a time, every observation read back) against
//     Engine.ingest of the same events (batched, nothing recorded);
//   - rendering: ms for renderReport to build the HTML string, and its size;
//   - drawing, in headless chromium (skipped, saying why, without /usr/bin/chromium): from navigation to the page's
//     script ready (the browser has parsed the whole file), the panel's decode (base64 to typed arrays) and draw
//     (uPlot: scales, paths, paint), navigation to drawn, and a redraw with paths rebuilt (what each zoom costs).
// Medians of several runs: `--quick` runs fewer, over 200,000 points, and saves nothing.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Engine } from '../src/engine.js';
import type { EventBatch } from '../src/events.js';
import { renderReport, reportModel, Tracer, type ReportModel } from '../src/report/index.js';
import { SECOND, T0, valueStream } from '../src/synthetic.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const quick = process.argv.includes('--quick');
const POINTS = quick ? 200_000 : 1_000_000;
const RUNS = quick ? 3 : 5;
const BROWSER_RUNS = quick ? 2 : 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

// A value series at 1 s with a spike; z-score and CUSUM on it, so the score plot has two scores and two thresholds.
const CONFIG = {
  autoRegister: true,
  features: { value: { detectors: ['zscore', 'cusum'] } },
  thresholds: { zscore: { mode: 'static', threshold: 6 }, cusum: { mode: 'target', threshold: 20 } },
};

function stream(): EventBatch {
  const b = valueStream({ seed: 1, id: 1, n: POINTS, gapNs: SECOND, t0: T0 });
  b.f[0][Math.floor(POINTS * 0.6)] = 25;
  return b;
}

function tracing(): { tracedNs: number; plainNs: number; model: ReportModel } {
  const traced: number[] = [], plain: number[] = [];
  let model: ReportModel | undefined;
  for (let r = 0; r < RUNS; r++) {
    const a = stream(), b = stream();
    const engine = Engine.create(CONFIG);
    let t0 = process.hrtime.bigint();
    const plainAlerts = engine.ingest(a).alerts.length;
    plain.push(Number(process.hrtime.bigint() - t0) / POINTS);
    const tracer = new Tracer(Engine.create(CONFIG), { features: ['value'], name: () => 'bench' });
    t0 = process.hrtime.bigint();
    const tracedAlerts = tracer.ingest(b).alerts.length;
    traced.push(Number(process.hrtime.bigint() - t0) / POINTS);
    if (tracedAlerts !== plainAlerts) throw new Error(`tracer: ${tracedAlerts} alerts, the engine ${plainAlerts}`);
    model = reportModel(tracer.panels(), { title: `bench: ${POINTS.toLocaleString('en-US')} points`, command: 'npm run bench:report' });
  }
  return { tracedNs: median(traced), plainNs: median(plain), model: model! };
}

interface BrowserFigures { readyMs: number; decodeMs: number; drawMs: number; drawnMs: number; redrawMs: number }

async function drawing(file: string): Promise<BrowserFigures | string> {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found (Debian: apt-get install chromium)`;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  const runs: BrowserFigures[] = [];
  try {
    for (let r = 0; r < BROWSER_RUNS; r++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(pathToFileURL(file).href, { timeout: 300_000 });
      await page.waitForSelector('#panel-0[data-drawn]', { timeout: 300_000 });
      // The page's own clock, which counts from the navigation's start.
      const t = await page.evaluate(() => {
        const s = (window as unknown as { atcReport: { readyMs: number; timings: Record<number, { decodeMs: number; drawMs: number; atMs: number }> } }).atcReport;
        return { readyMs: s.readyMs, ...s.timings[0] };
      });
      const redraws: number[] = [];
      for (let k = 0; k < 5; k++) {
        redraws.push(await page.evaluate(() => (window as unknown as { atcReport: { redraw(k: number): Promise<number> } }).atcReport.redraw(0)));
      }
      if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
      runs.push({ readyMs: t.readyMs, decodeMs: t.decodeMs, drawMs: t.drawMs, drawnMs: t.atMs, redrawMs: median(redraws) });
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const pick = (k: keyof BrowserFigures) => median(runs.map((x) => x[k]));
  return { readyMs: pick('readyMs'), decodeMs: pick('decodeMs'), drawMs: pick('drawMs'), drawnMs: pick('drawnMs'), redrawMs: pick('redrawMs') };
}

const { tracedNs, plainNs, model } = tracing();
const renders: number[] = [];
let html = '';
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  html = renderReport(model);
  renders.push(performance.now() - t0);
}
const dir = mkdtempSync(join(tmpdir(), 'atc-bench-report-'));
const file = join(dir, 'report.html');
// renderReport returns a string V8 may not have flattened yet: writing it out is part of what a command pays.
const writes: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  writeFileSync(file, renderReport(model));
  writes.push(performance.now() - t0);
}
const bytes = Buffer.byteLength(html);
let browser: BrowserFigures | string;
try {
  browser = await drawing(file);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const points = model.panels[0].tsMs.length;
console.log(`\n## HTML report of ${points.toLocaleString('en-US')} points (one panel: value, expected, band; z-score and CUSUM scores and thresholds)`);
console.log('| what | figure |');
console.log('|---|---:|');
console.log(`| tracing, Tracer.ingest (one event at a time, every observation recorded) | ${tracedNs.toFixed(0)} ns/event |`);
console.log(`| the same events, Engine.ingest (batched, nothing recorded) | ${plainNs.toFixed(0)} ns/event |`);
console.log(`| renderReport (the HTML string) | ${ms(median(renders))} ms |`);
console.log(`| renderReport and write the file | ${ms(median(writes))} ms |`);
console.log(`| HTML size | ${(bytes / 2 ** 20).toFixed(1)} MiB (${(bytes / points).toFixed(1)} bytes/point) |`);
if (typeof browser === 'string') {
  console.log(`| chromium | skipped: ${browser} |`);
} else {
  console.log(`| chromium: navigation to script ready (file parsed) | ${ms(browser.readyMs)} ms |`);
  console.log(`| chromium: decode the panel's bytes | ${ms(browser.decodeMs)} ms |`);
  console.log(`| chromium: draw the panel (uPlot, 2 plots) | ${ms(browser.drawMs)} ms |`);
  console.log(`| chromium: navigation to drawn | ${ms(browser.drawnMs)} ms |`);
  console.log(`| chromium: redraw with paths rebuilt (a zoom) | ${ms(browser.redrawMs)} ms |`);
}
console.log(`(medians: ${RUNS} runs in Node, ${BROWSER_RUNS} page loads in chromium${quick ? '; --quick' : ''})`);

// A quick pass is a smoke run: printed, not saved over the full figures.
if (!quick) {
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const out = join(ROOT, 'bench/results/report.json');
  writeFileSync(out, `${JSON.stringify({
    date: new Date().toISOString(), points, bytes, bytesPerPoint: bytes / points,
    tracerNsPerEvent: tracedNs, engineNsPerEvent: plainNs, renderMs: median(renders), renderAndWriteMs: median(writes),
    chromium: browser,
  }, null, 2)}\n`);
  console.log(`saved ${out}`);
}
