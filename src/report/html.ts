// One self-contained HTML file from a ReportModel: no network, no CDN, nothing beside it. uPlot (MIT; made for
// large time series: it draws a million points by keeping one min/max per pixel column) and its CSS are read
// from node_modules when the report is rendered and inlined; each panel's series are inlined as base64 bytes of
// typed arrays (a float64 or float32 per point per series, not JSON number lists) and decoded only when the panel
// is drawn; panels are drawn lazily, one per animation frame, when they scroll into view (IntersectionObserver),
// and fold away (<details>), so a report with many panels opens at once. Every piece of text is escaped.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DETECTORS } from '../abi.js';
import type { Cell, Panel, ReportModel, ReportTable } from './model.js';
import { checkReportModel } from './model.js';

const require = createRequire(import.meta.url);

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * JSON for the inside of a <script type="application/json">: the parser reads it back exactly, and no `</script>`,
 * `<!--` or line separator in a string can end the element or change how the HTML parser reads it.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))
    .replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * JavaScript source for the inside of a <script>: `</script` and `<!--` can only occur inside its strings, regular
 * expressions or comments, where `<\/script` and `<\!--` mean the same.
 */
function scriptSource(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

let uplotAssets: { js: string; css: string; version: string } | undefined;
/** uPlot's browser build and stylesheet, from node_modules (read once per process). */
export function uplotSources(): { js: string; css: string; version: string } {
  if (!uplotAssets) {
    const pkg = JSON.parse(readFileSync(require.resolve('uplot/package.json'), 'utf8')) as { version: string };
    uplotAssets = {
      js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
      version: pkg.version,
    };
  }
  return uplotAssets;
}

// ---- Series as bytes ---------------------------------------------------------------------------------------------

interface ColumnRef { name: string; type: 'f64' | 'f32'; offset: number; length: number }

/**
 * A float64 series as float32 when that changes no point by more than a millionth of the series' range: a
 * thousandth of a pixel on a 1,000-pixel plot, and half the bytes. Prices near 1e5 that move by cents keep float64.
 */
function narrow(a: Float64Array): Float64Array | Float32Array {
  const f = new Float32Array(a);
  let lo = Infinity, hi = -Infinity, err = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v !== v) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    const e = Math.abs(f[i] - v);
    if (!(e <= err)) err = e; // Infinity in float32 (a value beyond 3.4e38) is an error of Infinity: keep float64
  }
  if (err === 0) return f;
  return err <= 1e-6 * (hi - lo) ? f : a;
}

/** A panel's series as one base64 string (each column 8-byte aligned) and where each column lies in it. */
function encodePanel(p: Panel): { base64: string; columns: ColumnRef[] } {
  const cols: [string, Float64Array | Float32Array][] = [
    ['ts', p.tsMs], ['value', narrow(p.value)], ['expected', narrow(p.expected)], ['lo', narrow(p.lo)], ['hi', narrow(p.hi)],
  ];
  for (const d of p.detectors) cols.push([`score:${d.detector}`, d.score], [`threshold:${d.detector}`, d.threshold]);
  const columns: ColumnRef[] = [];
  let offset = 0;
  for (const [name, a] of cols) {
    columns.push({ name, type: a instanceof Float64Array ? 'f64' : 'f32', offset, length: a.length });
    offset += Math.ceil(a.byteLength / 8) * 8;
  }
  const bytes = Buffer.alloc(offset);
  cols.forEach(([, a], k) => bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), columns[k].offset));
  return { base64: bytes.toString('base64'), columns };
}

// ---- The page ----------------------------------------------------------------------------------------------------

// One colour per detector, in DETECTORS order (a detector added later takes the next of the palette).
const PALETTE = ['#1f77b4', '#9467bd', '#2ca02c', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const DETECTOR_COLORS: Record<string, string> = Object.fromEntries(DETECTORS.map((d, k) => [d, PALETTE[k % PALETTE.length]]));
/** Colours the page draws with (the browser test looks for them on the canvases). */
export const REPORT_COLORS = {
  value: '#1f4fbf', expected: '#e08a00', bandEdge: 'rgba(224,138,0,0.55)', bandFill: 'rgba(224,138,0,0.16)',
  window: 'rgba(44,160,44,0.18)', alert: '#d62728', detectors: DETECTOR_COLORS,
} as const;

/** A number for a table: integers whole, others to at most 4 decimals; NaN and infinities as a dash. */
export function formatCell(cell: Cell): string {
  if (cell === null) return '–';
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return '–';
  if (Number.isInteger(cell)) return String(cell);
  return String(Number(cell.toFixed(4)));
}

const NUMERIC = /^[-+−]?[\d,.]+(e[-+]?\d+)?\s*(%|s|ms|min|h|d|\/h)?$/i;

function tableHtml(t: ReportTable, k: number): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = t.rows.map((row) => `<tr>${row.map((cell) => {
    const text = formatCell(cell);
    const num = typeof cell === 'number' || NUMERIC.test(text);
    return `<td${num ? ' class="num"' : ''}>${escapeHtml(text)}</td>`;
  }).join('')}</tr>`).join('\n');
  return `<section class="table" id="table-${k}"><h2>${escapeHtml(t.title)}</h2>
<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></div>${t.note ? `<p class="note">${escapeHtml(t.note)}</p>` : ''}</section>`;
}

const int = (n: number) => n.toLocaleString('en-US');

/** The command line; a long one (a corpus of files) folded after its first characters. */
function commandHtml(command: string): string {
  const FOLD_CHARS = 200;
  if (command.length <= FOLD_CHARS) return `<p class="cmd"><code>${escapeHtml(command)}</code></p>`;
  return `<details class="cmd"><summary><code>${escapeHtml(command.slice(0, FOLD_CHARS))}</code> … ` +
    `(${int(command.length - FOLD_CHARS)} more characters)</summary><p><code>${escapeHtml(command)}</code></p></details>`;
}

function panelHtml(p: Panel, k: number): string {
  const points = p.tsMs.length;
  const facts = [
    `${int(p.observations)} observations`,
    p.bucketObservations > 1 ? `drawn as ${int(points)} points (minimum and maximum of every ${int(p.bucketObservations)})` : `${int(points)} points`,
    `${int(p.alerts.length)} alert${p.alerts.length === 1 ? '' : 's'}`,
    p.windows.length > 0 ? `${int(p.windows.length)} labelled window${p.windows.length === 1 ? '' : 's'}` : '',
    p.detectors.length > 0 ? `detectors: ${p.detectors.map((d) => d.detector).join(', ')}` : 'no detector',
  ].filter(Boolean);
  const caveat = p.coalesced > 0 ? ` ${int(p.coalesced)} observations came in the same event as another (a bucket and a run of empty ones): one point each, the later value.` : '';
  return `<section class="panel" id="panel-${k}" data-panel="${k}">
<details open><summary><span class="name">${escapeHtml(p.instrument)} · ${escapeHtml(p.feature)}</span> <span class="facts">${escapeHtml(facts.join(' · '))}</span></summary>
<p class="band">Band: ${escapeHtml(p.band.description)}.${escapeHtml(caveat)}</p>
<div class="charts" data-panel="${k}"><div class="chart value"></div><div class="chart score"></div></div>
</details></section>`;
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1400px; padding: 0 16px 48px; color: #1b1b1b; }
header h1 { font-size: 1.4em; margin: 16px 0 4px; }
header .cmd summary { cursor: pointer; color: #555; }
header .cmd code { background: #f3f3f3; padding: 2px 6px; border-radius: 3px; word-break: break-all; }
header .meta { color: #555; }
.legend { background: #fafafa; border: 1px solid #e4e4e4; border-radius: 4px; padding: 8px 12px; margin: 12px 0; }
.legend p { margin: 4px 0; }
.sw { display: inline-block; width: 14px; height: 10px; vertical-align: baseline; border-radius: 2px; margin-right: 3px; }
h2 { font-size: 1.1em; margin: 18px 0 6px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e6e6e6; padding: 3px 10px; text-align: left; white-space: nowrap; }
th { background: #f5f5f5; position: sticky; top: 0; }
td.num { text-align: right; }
.note { color: #555; margin: 4px 0; }
nav.index { columns: 3 240px; margin: 8px 0 16px; }
nav.index a { display: block; text-decoration: none; color: #1f4fbf; }
.panel { border-top: 1px solid #ddd; padding: 6px 0; }
.panel summary { cursor: pointer; }
.panel .name { font-weight: 600; }
.panel .facts, .panel .band { color: #555; }
.panel .band { margin: 2px 0 4px; font-size: 0.93em; }
.charts { min-height: 500px; }
.panel[data-drawn] .charts { min-height: 0; }
`;

const LEGEND = (c: typeof REPORT_COLORS) => `<section class="legend">
<p><strong>How to read a panel.</strong> One instrument and one feature. Top: the feature's value
(<span class="sw" style="background:${c.value}"></span>) at each observation, the value the detectors expected
(<span class="sw" style="background:${c.expected}"></span>, their baseline before they learnt the value) and the
band (<span class="sw" style="background:${c.bandFill};border:1px solid ${c.bandEdge}"></span>): expected ± multiplier
× scale, in the value's units. For a z-score or robust z the multiplier is the detector's threshold in force at that
moment, so the band is what the detector tolerates, and it moves as a calibrated threshold moved; each panel says what
its band is. Triangles (<span class="sw" style="background:${c.alert}"></span>) are alerts, at the alerted value;
shaded spans (<span class="sw" style="background:${c.window}"></span>) are labelled anomaly windows. No band before a
feature's warm-up ends: no detector scores then.</p>
<p>Bottom, on the same time axis with a synced cursor: each detector's score (solid) and the threshold it was
compared with (dashed, same colour), on an asinh scale (linear near 0, logarithmic far from it); an alert's dot
sits on its score. Drag across either plot to zoom both, double-click to zoom out. Panels with more points than the
tracer keeps show the minimum and maximum of each bucket of observations, so spikes stay visible; alerts and
windows are always exact. Times are UTC.</p>
</section>`;

/** The page's script: decodes a panel's bytes and draws it with uPlot when it comes into view. */
const CLIENT = String.raw`
(function () {
  'use strict';
  var model = JSON.parse(document.getElementById('atc-model').textContent);
  var C = model.colors;
  // For tests and benchmarks: panels drawn, errors, and per panel the milliseconds to decode its bytes and to draw
  // it, and when it was drawn (readyMs and atMs count from the navigation's start).
  var state = window.atcReport = {
    panels: model.panels.length, drawn: 0, errors: [], ready: false, timings: {}, drawAll: drawAll, redraw: redraw,
  };
  var charts = [];
  var queue = [];
  var queued = {};

  function decode(text) {
    if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
    var bin = atob(text), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  // uPlot reads null as a gap; NaN (no baseline, no threshold yet) would poison its ranges.
  function gaps(a) {
    for (var i = 0; i < a.length; i++) {
      if (a[i] !== a[i]) { var out = new Array(a.length); for (var k = 0; k < a.length; k++) out[k] = a[k] === a[k] ? a[k] : null; return out; }
    }
    return a;
  }
  function fmtTime(ts) { return new Date(ts).toISOString().replace('T', ' ').replace('Z', ''); }
  function fmtNum(v) { return v == null ? '-' : (Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(4) : String(+v.toPrecision(7))); }

  function clip(u, fn) {
    var ctx = u.ctx, b = u.bbox;
    ctx.save();
    ctx.beginPath(); ctx.rect(b.left, b.top, b.width, b.height); ctx.clip();
    fn(ctx, b);
    ctx.restore();
  }
  function shadeWindows(p) {
    return function (u) {
      if (p.windows.length === 0) return;
      clip(u, function (ctx, b) {
        ctx.fillStyle = C.window;
        for (var i = 0; i < p.windows.length; i++) {
          var x0 = u.valToPos(p.windows[i][0], 'x', true), x1 = u.valToPos(p.windows[i][1], 'x', true);
          if (x1 < b.left || x0 > b.left + b.width) continue;
          ctx.fillRect(x0, b.top, Math.max(2, x1 - x0), b.height);
        }
      });
    };
  }
  // alerts: [tsMs, detector index, severity, value, score, threshold, expected]
  function alertMarks(p, onScore) {
    return function (u) {
      clip(u, function (ctx, b) {
        var r = 5 * devicePixelRatio;
        var seen = new Set();
        for (var i = 0; i < p.alerts.length; i++) {
          var a = p.alerts[i];
          var x = u.valToPos(a[0], 'x', true), y = u.valToPos(onScore ? a[4] : a[3], 'y', true);
          if (!(x >= b.left && x <= b.left + b.width) || !isFinite(y)) continue;
          // Thousands of alerts on one pixel draw as one mark.
          var key = Math.round(x) * 65536 + Math.round(y) + (onScore ? a[1] * 1e9 : 0);
          if (seen.has(key)) continue;
          seen.add(key);
          ctx.fillStyle = onScore ? C.detectors[p.detectors[a[1]]] : C.alert;
          ctx.strokeStyle = '#fff';
          ctx.beginPath();
          if (onScore) ctx.arc(x, y, r * 0.8, 0, 2 * Math.PI);
          else { ctx.moveTo(x, y - r * 1.6); ctx.lineTo(x - r, y - r * 3.2); ctx.lineTo(x + r, y - r * 3.2); ctx.closePath(); }
          ctx.fill(); ctx.stroke();
        }
      });
    };
  }

  function draw(k) {
    var t0 = performance.now();
    var p = model.panels[k];
    var section = document.getElementById('panel-' + k);
    var box = section.querySelector('.charts');
    var bytes = decode(document.getElementById('atc-data-' + k).textContent);
    var t1 = performance.now();
    var col = {};
    p.columns.forEach(function (c) {
      col[c.name] = c.type === 'f64' ? new Float64Array(bytes.buffer, bytes.byteOffset + c.offset, c.length)
        : new Float32Array(bytes.buffer, bytes.byteOffset + c.offset, c.length);
    });
    var width = Math.max(300, box.clientWidth);
    var pair = [];
    var syncing = false;
    function syncX(u, key) {
      if (key !== 'x' || syncing || pair.length < 2) return;
      var other = pair[0] === u ? pair[1] : pair[0];
      syncing = true;
      other.setScale('x', { min: u.scales.x.min, max: u.scales.x.max });
      syncing = false;
    }
    var common = {
      width: width, ms: 1,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts), 'Etc/UTC'); },
      cursor: { sync: { key: 'atc-panel-' + k }, drag: { x: true, y: false } },
      legend: { live: true },
    };
    var xSeries = { label: 'time (UTC)', value: function (u, v) { return v == null ? '-' : fmtTime(v); } };
    var line = function (label, stroke, dash) {
      return { label: label, stroke: stroke, width: 1, dash: dash, points: { show: false }, value: function (u, v) { return fmtNum(v); } };
    };
    var valueOpts = Object.assign({}, common, {
      height: 280,
      // Drawn in this order: the band under the lines, the value on top.
      series: [xSeries, line('band low', C.bandEdge), line('band high', C.bandEdge), line('expected', C.expected, [5, 3]), line('value', C.value)],
      bands: [{ series: [2, 1], fill: C.bandFill }],
      scales: { x: { time: true } },
      axes: [{}, { size: 72 }],
      hooks: { drawClear: [shadeWindows(p)], draw: [alertMarks(p, false)], setScale: [syncX] },
    });
    pair.push(new uPlot(valueOpts, [col.ts, gaps(col.lo), gaps(col.hi), gaps(col.expected), col.value], box.querySelector('.chart.value')));
    if (p.detectors.length > 0) {
      var series = [xSeries], data = [col.ts];
      p.detectors.forEach(function (d) {
        series.push(line(d + ' score', C.detectors[d]));
        series.push(line(d + ' threshold', C.detectors[d], [6, 4]));
        data.push(col['score:' + d], gaps(col['threshold:' + d]));
      });
      var scoreOpts = Object.assign({}, common, {
        height: 170, series: series,
        scales: { x: { time: true }, y: { distr: 4, asinh: 1 } },
        axes: [{}, { size: 72 }],
        hooks: { drawClear: [shadeWindows(p)], draw: [alertMarks(p, true)], setScale: [syncX] },
      });
      pair.push(new uPlot(scoreOpts, data, box.querySelector('.chart.score')));
    }
    pair.forEach(function (u) { charts.push({ u: u, box: box, k: k }); });
    // uPlot draws in a microtask it queued: this one runs after it.
    queueMicrotask(function () {
      var now = performance.now();
      // atMs: since the navigation started.
      state.timings[k] = { points: col.ts.length, decodeMs: t1 - t0, drawMs: now - t1, atMs: now };
      section.setAttribute('data-drawn', String(pair.length));
      state.drawn++;
    });
  }

  /** Redraws panel k from its data (paths rebuilt, as a zoom does); resolves to the milliseconds it took. */
  function redraw(k) {
    var t0 = performance.now();
    charts.forEach(function (c) { if (c.k === k) c.u.redraw(true, true); });
    return new Promise(function (resolve) { queueMicrotask(function () { resolve(performance.now() - t0); }); });
  }

  function run(k) {
    try { draw(k); }
    catch (err) {
      state.errors.push('panel ' + k + ': ' + (err && err.stack || err));
      console.error('atc report: panel ' + k + ':', err);
      document.getElementById('panel-' + k).setAttribute('data-drawn', 'error');
    }
  }
  function pump() {
    var k = queue.shift();
    if (k !== undefined) run(k);
    if (queue.length > 0) requestAnimationFrame(pump);
  }
  function request(k) {
    if (queued[k]) return;
    queued[k] = true;
    queue.push(k);
    if (queue.length === 1) requestAnimationFrame(pump);
  }
  function drawAll() {
    for (var k = 0; k < model.panels.length; k++) if (!queued[k]) { queued[k] = true; run(k); }
  }

  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (e) { if (e.isIntersecting) { request(+e.target.getAttribute('data-panel')); observer.unobserve(e.target); } });
  }, { rootMargin: '300px 0px' });
  // A closed <details> hides its charts box: it starts to intersect when the panel is opened.
  document.querySelectorAll('.charts').forEach(function (el) { observer.observe(el); });

  var resizing = 0;
  window.addEventListener('resize', function () {
    cancelAnimationFrame(resizing);
    resizing = requestAnimationFrame(function () {
      charts.forEach(function (c) { var w = c.box.clientWidth; if (w > 0) c.u.setSize({ width: Math.max(300, w), height: c.u.height }); });
    });
  });
  state.readyMs = performance.now();
  state.ready = true;
})();
`;

/** The report as one HTML document (a string: write it with writeFile). Checks the model first (checkReportModel). */
export function renderReport(model: ReportModel): string {
  checkReportModel(model);
  const uplot = uplotSources();
  const encoded = model.panels.map(encodePanel);
  const detectorIndex = (p: Panel, d: string) => p.detectors.findIndex((x) => x.detector === d);
  const meta = {
    colors: REPORT_COLORS,
    panels: model.panels.map((p, k) => ({
      instrument: p.instrument, feature: p.feature,
      detectors: p.detectors.map((d) => d.detector),
      columns: encoded[k].columns,
      windows: p.windows.map((w) => [w[0], w[1]]),
      alerts: p.alerts.map((a) => [a.tsMs, detectorIndex(p, a.detector), a.severity, a.value, a.score, a.threshold, a.expected]),
    })),
  };
  const points = model.panels.reduce((a, p) => a + p.tsMs.length, 0);
  const alerts = model.panels.reduce((a, p) => a + p.alerts.length, 0);
  const facts = `Generated ${model.generatedAt} · ${int(model.panels.length)} panel${model.panels.length === 1 ? '' : 's'} · ` +
    `${int(points)} points · ${int(alerts)} alerts · uPlot ${uplot.version}`;
  const index = model.panels.length > 1
    ? `<h2>Panels</h2><nav class="index">${model.panels.map((p, k) =>
      `<a href="#panel-${k}">${escapeHtml(`${p.instrument} · ${p.feature}`)}${p.alerts.length > 0 ? ` (${int(p.alerts.length)} alerts)` : ''}</a>`).join('')}</nav>`
    : '';
  const parts = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(model.title)}</title>`,
    `<style>${uplot.css.replace(/<\//g, '<\\/')}</style>`,
    `<style>${CSS}</style>`,
    '</head><body>',
    `<header><h1>${escapeHtml(model.title)}</h1>`,
    model.command !== undefined ? commandHtml(model.command) : '',
    `<p class="meta">${escapeHtml(facts)}</p>`,
    ...(model.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`),
    '</header>',
    model.panels.length > 0 ? LEGEND(REPORT_COLORS) : '',
    ...model.tables.map(tableHtml),
    index,
    '<main id="panels">',
    ...model.panels.map(panelHtml),
    '</main>',
    `<script type="application/json" id="atc-model">${scriptJson(meta)}</script>`,
  ];
  // Base64 needs no escaping: its alphabet has no <, & or quote.
  encoded.forEach((e, k) => parts.push(`<script type="application/octet-stream" id="atc-data-${k}">${e.base64}</script>`));
  parts.push(`<script>${scriptSource(uplot.js)}</script>`, `<script>${scriptSource(CLIENT)}</script>`, '</body></html>', '');
  return parts.join('\n');
}
