// What a report holds, independent of how it is drawn: panels (one instrument and one feature each: the value
// over time with what the detectors expected, the band they tolerate, their scores and thresholds, the alerts and
// the labelled windows) and tables. The tracer (trace.ts) fills panels while an engine runs; `reportModel` adds
// the labelled windows and tables; html.ts draws it. Series are typed arrays, so that a million points cost
// megabytes, not a million objects, and cross into the page as bytes.
import { DETECTORS, type DetectorName, type ModeName, type RegimeName } from '../abi.js';

/** A labelled window, [start, end] inclusive, in milliseconds since the epoch (as src/eval/nab.ts's TimeWindow). */
export type TimeWindowMs = readonly [startMs: number, endMs: number];

/** A table cell: text as is, a number (formatted by the renderer: integers whole, others to 4 decimals), or empty. */
export type Cell = string | number | null;

export interface ReportTable {
  title: string;
  columns: string[];
  /** Each row has one cell per column. */
  rows: Cell[][];
  /** Plain text under the table (what the columns mean, where the numbers come from). */
  note?: string;
}

/**
 * How the band around the expected value is drawn: `expected ± multiplier × scale`, in the value's own units.
 * - `threshold`: the multiplier is the threshold in force of `detector` (a z-score or robust z: the band is what it
 *   tolerates; an EWMA chart: what it tolerates of the smoothed value), so the band moves as the threshold moved;
 * - `reference`: a fixed multiplier (CUSUM's k, Page-Hinkley's delta): deviations beyond it feed the statistic;
 * - `none`: no detector on this feature, no band.
 */
export interface BandSpec {
  kind: 'threshold' | 'reference' | 'none';
  detector: DetectorName | null;
  /** The fixed multiplier of a `reference` band; NaN otherwise. */
  multiplier: number;
  /**
   * What `expected` is: 'mean' (count window), 'median', 'ewmaMean', or 'range': the middle of the range of values the
   * novelty detector has seen, its band the range widened by the threshold in force (bps of the range) each side.
   */
  expected: 'mean' | 'median' | 'ewmaMean' | 'range';
  /** One sentence for the page: what the band is, for this feature. */
  description: string;
}

/** A detector's score and the threshold it was compared with, at every point of its panel (NaN: no threshold yet). */
export interface PanelDetector {
  detector: DetectorName;
  score: Float32Array;
  threshold: Float32Array;
}

/** An alert as its record says it (docs/abi.md), time in ms. Kept exactly, however a panel is decimated. */
export interface PanelAlert {
  tsMs: number;
  /** The sequence number of the event that fired it, as decimal text (an i64). */
  seq: string;
  detector: DetectorName;
  severity: number;
  regime: RegimeName;
  mode: ModeName;
  value: number;
  expected: number;
  score: number;
  threshold: number;
}

/**
 * One instrument and one feature over time. All series have `tsMs.length` points. Up to the tracer's `maxPoints`
 * a point is one observation; past it each bucket of `bucketObservations` observations is two points holding each
 * series' minimum and maximum over the bucket, in the order they came (so spikes survive), at the times of the
 * value's own minimum and maximum.
 */
export interface Panel {
  instrument: string;
  feature: string;
  /** Observations recorded (>= points). */
  observations: number;
  /** Observations per two-point bucket; 1 when every observation is a point. */
  bucketObservations: number;
  /**
   * Observations without a point of their own: an event that observed the feature twice (a closed bucket and a run
   * of empty ones) is one point. The engine's count of observations is observations + coalesced.
   */
  coalesced: number;
  /** Milliseconds since the epoch, non-decreasing. */
  tsMs: Float64Array;
  value: Float64Array;
  /** What the band's detector expected (its baseline before it learnt the value); NaN before any. */
  expected: Float64Array;
  /** The spread it standardises by (floored by the feature's minScale), in value units; NaN before any. */
  scale: Float32Array;
  /** expected - multiplier × scale and expected + multiplier × scale (BandSpec); NaN where there is no band. */
  lo: Float64Array;
  hi: Float64Array;
  band: BandSpec;
  detectors: PanelDetector[];
  alerts: PanelAlert[];
  windows: TimeWindowMs[];
}

export interface ReportModel {
  title: string;
  /** The command line that made the report, shown as is (escaped). */
  command?: string;
  /** ISO 8601. */
  generatedAt: string;
  /** Plain-text lines under the header (a summary, caveats). */
  notes?: string[];
  tables: ReportTable[];
  panels: Panel[];
}

export class ReportModelError extends TypeError {
  override name = 'ReportModelError';
  constructor(where: string, what: string) {
    super(`report model: ${where}: ${what}`);
  }
}

const isText = (v: unknown): v is string => typeof v === 'string';

/** Checks a model before it is drawn; throws ReportModelError naming the first bad field. */
export function checkReportModel(model: ReportModel): void {
  if (typeof model !== 'object' || model === null) throw new ReportModelError('model', 'expected an object');
  if (!isText(model.title)) throw new ReportModelError('title', 'must be a string');
  if (model.command !== undefined && !isText(model.command)) throw new ReportModelError('command', 'must be a string');
  if (!isText(model.generatedAt)) throw new ReportModelError('generatedAt', 'must be an ISO 8601 string');
  if (model.notes !== undefined && !(Array.isArray(model.notes) && model.notes.every(isText))) {
    throw new ReportModelError('notes', 'must be a list of strings');
  }
  if (!Array.isArray(model.tables)) throw new ReportModelError('tables', 'must be a list');
  model.tables.forEach((t, k) => checkTable(t, `tables[${k}]`));
  if (!Array.isArray(model.panels)) throw new ReportModelError('panels', 'must be a list');
  model.panels.forEach((p, k) => checkPanel(p, `panels[${k}] (${String(p?.instrument)} ${String(p?.feature)})`));
}

function checkTable(t: ReportTable, where: string): void {
  if (typeof t !== 'object' || t === null) throw new ReportModelError(where, 'expected {title, columns, rows}');
  if (!isText(t.title)) throw new ReportModelError(`${where}.title`, 'must be a string');
  if (!Array.isArray(t.columns) || !t.columns.every(isText)) throw new ReportModelError(`${where}.columns`, 'must be a list of strings');
  if (!Array.isArray(t.rows)) throw new ReportModelError(`${where}.rows`, 'must be a list of rows');
  t.rows.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== t.columns.length) {
      throw new ReportModelError(`${where}.rows[${r}]`, `must have ${t.columns.length} cells, one per column`);
    }
    row.forEach((cell, c) => {
      if (!(cell === null || isText(cell) || typeof cell === 'number')) {
        throw new ReportModelError(`${where}.rows[${r}][${c}]`, `must be a string, a number or null, got ${typeof cell}`);
      }
    });
  });
  if (t.note !== undefined && !isText(t.note)) throw new ReportModelError(`${where}.note`, 'must be a string');
}

function checkPanel(p: Panel, where: string): void {
  if (typeof p !== 'object' || p === null) throw new ReportModelError(where, 'expected a panel');
  if (!isText(p.instrument) || !isText(p.feature)) throw new ReportModelError(where, 'instrument and feature must be strings');
  const n = p.tsMs instanceof Float64Array ? p.tsMs.length : -1;
  if (n < 0) throw new ReportModelError(`${where}.tsMs`, 'must be a Float64Array');
  const f64 = { value: p.value, expected: p.expected, lo: p.lo, hi: p.hi };
  for (const [name, a] of Object.entries(f64)) {
    if (!(a instanceof Float64Array) || a.length !== n) throw new ReportModelError(`${where}.${name}`, `must be a Float64Array of ${n} points`);
  }
  if (!(p.scale instanceof Float32Array) || p.scale.length !== n) throw new ReportModelError(`${where}.scale`, `must be a Float32Array of ${n} points`);
  let prev = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = p.tsMs[i];
    if (!(t >= prev) || !Number.isFinite(t)) throw new ReportModelError(`${where}.tsMs[${i}]`, `must be finite and non-decreasing, got ${t} after ${prev}`);
    prev = t;
  }
  for (const name of ['observations', 'bucketObservations', 'coalesced'] as const) {
    const v = p[name];
    if (!Number.isInteger(v) || v < 0) throw new ReportModelError(`${where}.${name}`, `must be an integer >= 0, got ${v}`);
  }
  if (!Array.isArray(p.detectors)) throw new ReportModelError(`${where}.detectors`, 'must be a list');
  for (const d of p.detectors) {
    if (!(DETECTORS as readonly string[]).includes(d.detector)) throw new ReportModelError(`${where}.detectors`, `unknown detector ${JSON.stringify(d.detector)}`);
    if (!(d.score instanceof Float32Array) || d.score.length !== n || !(d.threshold instanceof Float32Array) || d.threshold.length !== n) {
      throw new ReportModelError(`${where}.detectors.${d.detector}`, `score and threshold must be Float32Arrays of ${n} points`);
    }
  }
  const b = p.band;
  if (typeof b !== 'object' || b === null || !['threshold', 'reference', 'none'].includes(b.kind) || !isText(b.description)) {
    throw new ReportModelError(`${where}.band`, 'must be a BandSpec {kind, detector, multiplier, expected, description}');
  }
  if (!Array.isArray(p.alerts)) throw new ReportModelError(`${where}.alerts`, 'must be a list');
  p.alerts.forEach((a, k) => {
    if (!Number.isFinite(a.tsMs) || !(DETECTORS as readonly string[]).includes(a.detector)) {
      throw new ReportModelError(`${where}.alerts[${k}]`, 'needs a finite tsMs and a known detector');
    }
  });
  if (!Array.isArray(p.windows)) throw new ReportModelError(`${where}.windows`, 'must be a list of [startMs, endMs]');
  p.windows.forEach((w, k) => {
    if (!Array.isArray(w) || w.length !== 2 || !Number.isFinite(w[0]) || !Number.isFinite(w[1]) || w[0] > w[1]) {
      throw new ReportModelError(`${where}.windows[${k}]`, `must be [startMs, endMs] with start <= end, got ${JSON.stringify(w)}`);
    }
  });
}

/** What reportModel needs besides the panels. */
export interface ReportOptions {
  title: string;
  command?: string;
  /** Default: now. */
  generatedAt?: Date;
  notes?: string[];
  tables?: ReportTable[];
  /** The labelled windows of an instrument (by its name), if it has any. */
  windows?: (instrument: string) => readonly TimeWindowMs[] | undefined;
  /** Which panels to keep (default: every panel with at least one point or alert). */
  include?: (panel: Panel) => boolean;
}

/**
 * A report from a tracer's panels (Tracer.panels()) and tables: the panels kept by `include`, each with its
 * instrument's labelled windows. Checked with checkReportModel.
 */
export function reportModel(panels: readonly Panel[], opts: ReportOptions): ReportModel {
  const include = opts.include ?? ((p: Panel) => p.tsMs.length > 0 || p.alerts.length > 0);
  const kept = panels.filter(include).map((p) => ({ ...p, windows: [...(opts.windows?.(p.instrument) ?? p.windows)] }));
  const generatedAt = opts.generatedAt ?? new Date();
  if (!(generatedAt instanceof Date) || Number.isNaN(generatedAt.getTime())) throw new ReportModelError('generatedAt', 'must be a valid Date');
  const model: ReportModel = {
    title: opts.title, command: opts.command, generatedAt: generatedAt.toISOString(), notes: opts.notes,
    tables: opts.tables ?? [], panels: kept,
  };
  checkReportModel(model);
  return model;
}
