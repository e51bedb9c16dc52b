// Self-contained HTML reports: per instrument and feature, the value over time with the band the detectors
// tolerate, their scores and thresholds as they moved, the alerts and the labelled windows; tables of rates and
// scores. One file, nothing to fetch: uPlot and the data are inlined (docs/eval.md, "Reports").
//
// The API, in the order a command uses it:
//
//   const tracer = new Tracer(engine, { name: (id) => registry.name(id) });   // options: maxPoints (per panel,
//                                                                             // default 1e6), instruments (id => bool),
//                                                                             // features (names)
//   for (const batch of batches) {
//     const { alerts, rejects } = tracer.ingest(batch);   // instead of engine.ingest(batch): the same result,
//   }                                                     // one event at a time, every observation recorded
//   const model = reportModel(tracer.panels(), {
//     title: 'atc calibrate', command: 'atc calibrate ...',
//     tables: [{ title: 'Alert rates', columns: ['feature', 'alerts/h'], rows: [['spread', 1.9]] }],
//     windows: (instrument) => labelled.get(instrument),  // [startMs, endMs][] (optional)
//     include: (panel) => panel.alerts.length > 0,        // which panels (default: those with points or alerts)
//   });
//   await writeReport('report.html', model);              // or renderReport(model): the HTML as a string
//
// Panels and tables can also be made by hand (model.ts's types); renderReport checks every field first
// (ReportModelError names the bad one).
import { writeFile } from 'node:fs/promises';
import { renderReport } from './html.js';
import type { ReportModel } from './model.js';

export { Tracer, MinMaxBuffer, DEFAULT_MAX_POINTS, MIN_MAX_POINTS, engineConfig, nsToMsExact, type TracerOptions } from './trace.js';
export { renderReport, escapeHtml, formatCell, REPORT_COLORS, uplotSources } from './html.js';
export {
  reportModel, checkReportModel, ReportModelError,
  type ReportModel, type ReportOptions, type ReportTable, type Panel, type PanelAlert, type PanelDetector, type BandSpec,
  type Cell, type TimeWindowMs,
} from './model.js';

/** Renders the model and writes it to `path` (one file); resolves to its size in bytes. */
export async function writeReport(path: string, model: ReportModel): Promise<number> {
  const html = renderReport(model);
  await writeFile(path, html);
  return Buffer.byteLength(html);
}
