// `atc eval`: replay labelled series through the engine, as `atc replay` does (same readers, one engine, one
// registry), turn its alerts into detections (an alert marks the row of the event that fired it) and score them
// against anomaly windows: precision, recall and F1 by window, detection delay, false alarms per hour, and the NAB
// score (src/eval/nab.ts), per series and in total. The labels are NAB's combined_windows.json layout.
import { totalEvents, type ReaderStats } from '../adapters/common.js';
import { csvInstrumentName } from '../adapters/csv.js';
import { BinanceSession, INPUT_FORMATS, openInput, type InputFormat } from '../adapters/index.js';
import { Engine } from '../engine.js';
import { InstrumentCatalog } from '../instruments.js';
import { Registry } from '../registry.js';
import { applyInstrumentThresholds } from '../instrument-thresholds.js';
import type { Io } from '../cli.js';
import { checkInput, checkOutputFile, loadReplayConfig, parseCommandArgs, readJson, UsageError } from '../cli-common.js';
import { reportModel, Tracer, writeReport, type Panel, type ReportTable } from '../report/index.js';
import {
  detectionMetrics, isProfileName, LabelsError, NAB_PROFILES, nsToMs, parseLabelWindows, PROBATION_PERCENT, PROFILE_NAMES,
  scoreFile, totalScore, type CostMatrix, type DetectionMetrics, type NabFileScore, type NabTotal, type ProfileName, type TimeWindow,
} from './nab.js';

const EXIT_OK = 0;

export const EVAL_HELP = `Usage: atc eval <file...> --labels FILE [--profile standard|reward_low_FP_rate|reward_low_FN_rate]
                [--config FILE] [--format auto|binance|deribit|ndjson|csv] [--json] [--report FILE]
       atc eval nab --data DIR ...   atc's detectors over a NAB checkout (atc eval nab --help)

Replays the files through the anomaly engine, as atc replay does, and scores its alerts against labelled
anomaly windows. Every event of an instrument is a row of its series (a CSV file: its rows); an alert marks
the row of the event that fired it as a detection. Each labelled series gets:
  precision    windows found / (windows found + false alarms); a false alarm is a detection outside every
               window; a window's later detections count neither way
  recall, F1   windows found / windows
  delay        from a window's first row to its first detection (mean over the windows found)
  alarms/h     false alarms per hour of the scored time
  NAB          the Numenta Anomaly Benchmark score (docs/eval.md): the earliest detection in a window earns
               up to 1 (less the later it comes), a missed window and each false alarm cost what the profile
               says; normalized so that the detector that never fires scores 0 and a perfect one 100
The first 15% of a series' rows (at most 750) are a probation, as in NAB: not scored.

Options:
  --labels FILE  anomaly windows by series, NAB's combined_windows.json layout:
                   {"realKnownCause/nyc_taxi.csv": [["2014-10-30 15:30:00", "2014-11-03 22:30:00"], ...]}
                 times ISO 8601, UTC unless they carry a zone; a key names an instrument ("BTCUSDT"; a CSV
                 series is "<folder>/<file>", with or without ".csv"). A series with no windows is scored for
                 its false alarms. Every CSV file given must have an entry
  --profile P    NAB's cost profile (default: standard):
                   standard            tp 1, fp 0.11, fn 1
                   reward_low_FP_rate  tp 1, fp 0.22, fn 1
                   reward_low_FN_rate  tp 1, fp 0.11, fn 2
  --config FILE  the engine configuration, a JSON object (docs/configuration.md), as for atc replay
  --format FMT   the input format of every file (default: auto), as for atc replay
  --json         one JSON object on stdout instead of the table
  --report FILE  also write an HTML report to FILE (one self-contained file; open it in a browser): per
                 labelled series, the value over time with the band the detectors tolerate, their scores
                 and thresholds as they moved, the alerts and the labelled windows shaded, one panel per
                 feature that alerted or that the series' value feeds; the tables of this command
  -h, --help     show this help

Exit status: 0 done, 1 runtime failure, 2 usage error (bad option, file or labels).
`;

interface EvalArgs {
  files: string[];
  labels: string;
  profile: ProfileName;
  config: string | undefined;
  format: InputFormat | 'auto';
  json: boolean;
  /** Write an HTML report here (docs/eval.md, "Reports"). */
  report?: string;
  /** The command line, for the report's header. */
  command?: string;
}

function parseEvalArgs(argv: string[]): EvalArgs | 'help' {
  const parsed = parseCommandArgs('eval', {
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      labels: { type: 'string' },
      profile: { type: 'string', default: 'standard' },
      config: { type: 'string' },
      format: { type: 'string', default: 'auto' },
      json: { type: 'boolean' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const v = parsed.values;
  if (v.help) return 'help';
  const formats = ['auto', ...INPUT_FORMATS] as const;
  if (!(formats as readonly string[]).includes(v.format)) {
    throw new UsageError(`eval: --format must be one of ${formats.join(', ')}, got ${JSON.stringify(v.format)}`);
  }
  if (!isProfileName(v.profile)) {
    throw new UsageError(`eval: --profile must be one of ${PROFILE_NAMES.join(', ')}, got ${JSON.stringify(v.profile)}`);
  }
  if (v.labels === undefined) throw new UsageError('eval: --labels FILE is required (anomaly windows, NAB\'s combined_windows.json layout); see atc eval --help');
  if (parsed.positionals.length === 0) throw new UsageError('eval: no input file given; see atc eval --help');
  if (v.report === '') throw new UsageError('eval: --report needs a file name, like --report eval.html');
  return {
    files: parsed.positionals, labels: v.labels, profile: v.profile, config: v.config,
    format: v.format as InputFormat | 'auto', json: v.json === true, report: v.report,
    command: ['atc', 'eval', ...argv].map(shellWord).join(' '),
  };
}

/** The series a label key names: "realKnownCause/nyc_taxi.csv" -> "realKnownCause/nyc_taxi"; "BTCUSDT" as is. */
export function labelSeriesName(key: string): string {
  return key.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\.gz$/i, '').replace(/\.(csv|txt)$/i, '');
}

/** Labels by series name (see labelSeriesName), read and checked: every problem is a UsageError naming the file. */
export class Labels {
  readonly #byName = new Map<string, { key: string; windows: TimeWindow[] }>();

  constructor(windows: Map<string, TimeWindow[]>) {
    for (const [key, list] of windows) {
      const name = labelSeriesName(key);
      const other = this.#byName.get(name);
      if (other) throw new LabelsError(`keys ${JSON.stringify(other.key)} and ${JSON.stringify(key)} name the same series`);
      this.#byName.set(name, { key, windows: list });
    }
  }

  static async read(path: string): Promise<Labels> {
    const json = await readJson(path, '--labels');
    try {
      return new Labels(parseLabelWindows(json));
    } catch (err) {
      if (err instanceof LabelsError) throw new UsageError(`--labels ${path}: ${err.message}`);
      throw err;
    }
  }

  get size(): number { return this.#byName.size; }
  keys(): string[] { return [...this.#byName.values()].map((v) => v.key); }

  /** The windows of an instrument: its name as a key, or as a key without its extension. */
  get(instrument: string): { key: string; windows: TimeWindow[] } | undefined {
    return this.#byName.get(instrument) ?? this.#byName.get(labelSeriesName(instrument));
  }
}

/** One instrument's rows as the replay saw them: times (ms) and the rows an alert marked. */
interface SeriesRows {
  tsMs: number[];
  alertRows: number[];
  alerts: number;
}

export interface SeriesReport {
  name: string;
  /** The key of its windows in the labels file. */
  label: string;
  rows: number;
  probationRows: number;
  /** Alerts on its events, and the rows they marked (probation included). */
  alerts: number;
  alertRows: number;
  metrics: DetectionMetrics;
  nab: NabTotal & { tpScore: number; fpScore: number; fnScore: number };
  windows: {
    start: string; end: string; rows: number; scoredRows: number;
    detectedAt: string | null; delayMs: number | null; score: number;
  }[];
}

export interface EvalReport {
  profile: ProfileName;
  cost: CostMatrix;
  probationPercent: number;
  series: SeriesReport[];
  total: { rows: number; alerts: number; metrics: DetectionMetrics; nab: NabTotal };
  /** Instruments with events but no labels (not scored), and label keys no input had. */
  unlabelled: string[];
  notInInput: string[];
  events: number;
  rejected: Record<string, number>;
  malformedLines: number;
  /** With --report: the file written, its size and its panels. */
  report?: { path: string; bytes: number; panels: number };
}

const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));

/** Replays the files, scores the labelled series; throws UsageError for what the user can fix. */
export async function runEval(args: Omit<EvalArgs, 'json'>): Promise<EvalReport> {
  if (args.report !== undefined) await checkOutputFile(args.report, '--report', 'eval.html');
  const labels = await Labels.read(args.labels);
  // Everything the user can get wrong, before the replay: files, formats, labels of CSV series, configuration.
  const runs: { path: string; format: InputFormat }[] = [];
  for (const path of args.files) {
    const { format } = await checkInput(path, args.format);
    if (format === 'csv' && labels.get(csvInstrumentName(path)) === undefined) {
      const some = labels.keys().slice(0, 3).map((k) => JSON.stringify(k)).join(', ');
      throw new UsageError(`input ${path}: its series "${csvInstrumentName(path)}" has no entry in --labels ${args.labels}` +
        ` (keys are "<folder>/<file>.csv", like ${some || 'none: the file is empty'})`);
    }
    runs.push({ path, format });
  }
  const config = await loadReplayConfig(args.config);
  const engine = Engine.create(config);
  const registry = new Registry();
  // Per-instrument thresholds (`atc calibrate`'s output) apply here as in replay: registered before any event.
  applyInstrumentThresholds(engine, registry, config.instruments, config.maxInstruments);
  const catalog = new InstrumentCatalog(registry);
  // With --report, events go through a tracer (the same alerts, one event at a time) that records the labelled
  // series' observations.
  const tracer = args.report === undefined ? undefined
    : new Tracer(engine, { name: (id) => registry.name(id), instruments: (id) => labels.get(registry.name(id)) !== undefined });
  const series = new Map<number, SeriesRows>();
  const stats: ReaderStats[] = [];
  let rowOf = new Int32Array(4096);
  const binanceSession = new BinanceSession(); // books continue from file to file, as in atc replay

  for (const run of runs) {
    const reader = await openInput(run.path, run.format, { registry, catalog, binanceSession });
    stats.push(reader.stats);
    for await (const batch of reader) {
      const n = batch.length;
      if (rowOf.length < n) rowOf = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const id = batch.instrument[i];
        let s = series.get(id);
        if (!s) series.set(id, (s = { tsMs: [], alertRows: [], alerts: 0 }));
        rowOf[i] = s.tsMs.length;
        s.tsMs.push(nsToMs(batch.tsNs[i]));
      }
      const { alerts } = (tracer ?? engine).ingest(batch);
      // Alerts come in the order of their events; the engine wrote every event's sequence number into the batch.
      let j = 0;
      for (const a of alerts) {
        const at = (k: number) => batch.seq[k] === a.seq && batch.instrument[k] === a.instrument;
        while (j < n && !at(j)) j++;
        if (j === n) { j = 0; while (j < n && !at(j)) j++; }
        if (j === n) throw new Error(`alert of event ${a.seq} (instrument ${registry.name(a.instrument)}) matches no event of its batch`);
        const s = series.get(a.instrument)!;
        s.alerts++;
        const row = rowOf[j];
        if (s.alertRows[s.alertRows.length - 1] !== row) s.alertRows.push(row);
      }
    }
  }

  const cost = NAB_PROFILES[args.profile];
  const reports: SeriesReport[] = [];
  const scored: NabFileScore[] = [];
  const unlabelled: string[] = [];
  const seenKeys = new Set<string>();
  let rowsTotal = 0, alertsTotal = 0;
  for (const [id, s] of series) {
    const name = registry.name(id);
    const label = labels.get(name);
    if (!label) { unlabelled.push(name); continue; }
    seenKeys.add(label.key);
    const rows = s.tsMs.length;
    const detections = new Uint8Array(rows);
    for (const r of s.alertRows) detections[r] = 1;
    const f = scoreFile({ tsMs: s.tsMs, scores: detections, windows: label.windows }, 1, cost);
    scored.push(f);
    rowsTotal += rows;
    alertsTotal += s.alerts;
    const rowsOf = (w: { first: number; last: number }) => Math.max(0, w.last - w.first + 1);
    reports.push({
      name, label: label.key, rows, probationRows: f.probationRows, alerts: s.alerts, alertRows: s.alertRows.length,
      metrics: detectionMetrics(f),
      nab: { ...totalScore([f]), tpScore: f.tpScore, fpScore: f.fpScore, fnScore: f.fnScore },
      windows: f.windows.map((w) => ({
        start: iso(w.startMs), end: iso(w.endMs), rows: rowsOf(w), scoredRows: w.scoredRows,
        detectedAt: w.detectedRow >= 0 ? iso(s.tsMs[w.detectedRow]) : null,
        delayMs: w.detectedRow >= 0 ? w.delayMs : null, score: w.score,
      })),
    });
  }
  if (reports.length === 0) {
    const names = unlabelled.slice(0, 5).map((n) => JSON.stringify(n)).join(', ');
    const keys = labels.keys().slice(0, 5).map((k) => JSON.stringify(k)).join(', ');
    throw new UsageError(`--labels ${args.labels}: no instrument of the input has windows there ` +
      `(instruments: ${names || 'none: no events were read'}; label keys: ${keys || 'none'})`);
  }
  const counters = engine.counters();
  const result: EvalReport = {
    profile: args.profile, cost: { ...cost }, probationPercent: PROBATION_PERCENT,
    series: reports,
    total: { rows: rowsTotal, alerts: alertsTotal, metrics: detectionMetrics(scored), nab: totalScore(scored) },
    unlabelled, notInInput: labels.keys().filter((k) => !seenKeys.has(k)),
    events: stats.reduce((a, st) => a + totalEvents(st.events), 0),
    rejected: Object.fromEntries(Object.entries(counters.rejected).filter(([, v]) => v > 0)),
    malformedLines: stats.reduce((a, st) => a + Object.values(st.malformed).reduce((b, m) => b + m.count, 0), 0),
  };
  if (tracer && args.report !== undefined) {
    const spans = new Map<string, number>();
    for (const [id, s] of series) if (s.tsMs.length > 1) spans.set(registry.name(id), (s.tsMs[s.tsMs.length - 1] - s.tsMs[0]) / 3.6e6);
    const hoursOf = (name: string) => spans.get(name) ?? NaN;
    const panels = reportPanels(tracer.panels(), new Set(reports.map((r) => r.name)));
    const model = reportModel(panels, {
      title: `atc eval: NAB ${fixed(result.total.nab.normalized)} (${args.profile}), ${int(reports.length)} series`,
      command: args.command,
      notes: notes(result).trimEnd().split('\n').map((line) => line.trim()),
      tables: reportTables(result, panels, hoursOf),
      windows: (instrument) => labels.get(instrument)?.windows,
      include: () => true,
    });
    const bytes = await writeReport(args.report, model);
    result.report = { path: args.report, bytes, panels: model.panels.length };
  }
  return result;
}

/** --report FILE: its directory must exist and FILE must not be one (checked before the replay). */
/** The features a series' value feeds directly (a CSV series' rows are value events). */
const VALUE_FEATURES = new Set(['value', 'valueChange']);

/**
 * The panels of a report: per scored series, every feature that alerted or that its value feeds; a series with
 * neither (a market instrument that never alerted) keeps every feature it observed.
 */
function reportPanels(all: Panel[], scored: Set<string>): Panel[] {
  const byInstrument = new Map<string, Panel[]>();
  for (const p of all) {
    if (!scored.has(p.instrument)) continue;
    let list = byInstrument.get(p.instrument);
    if (!list) byInstrument.set(p.instrument, (list = []));
    list.push(p);
  }
  const out: Panel[] = [];
  for (const list of byInstrument.values()) {
    const chosen = list.filter((p) => p.alerts.length > 0 || (VALUE_FEATURES.has(p.feature) && p.observations > 0));
    out.push(...(chosen.length > 0 ? chosen : list.filter((p) => p.observations > 0)));
  }
  return out;
}

function reportTables(r: EvalReport, panels: Panel[], hoursOf: (series: string) => number): ReportTable[] {
  const c = r.cost, t = r.total.nab;
  const tables: ReportTable[] = [
    {
      title: 'Scores by series', columns: [...TABLE_HEAD], rows: tableBody(r),
      note: `The first ${r.probationPercent * 100}% of a series' rows (at most 750) are a probation, not scored. ` +
        'A false alarm is a detection outside every window; NAB is normalized: the detector that never fires scores 0, a perfect one 100.',
    },
    {
      title: 'NAB score', columns: ['profile', 'tp weight', 'fp weight', 'fn weight', 'NAB', 'raw', 'null detector', 'perfect'],
      rows: [[r.profile, c.tpWeight, c.fpWeight, c.fnWeight, fixed(t.normalized), fixed(t.raw, 4), fixed(t.nullScore, 4), fixed(t.perfectScore, 4)]],
    },
  ];
  const windows = r.series.flatMap((s) => s.windows.map((w, k) => [
    s.name, k + 1, w.start, w.end, int(w.rows), w.detectedAt ?? 'missed', w.delayMs === null ? '–' : duration(w.delayMs), fixed(w.score, 4),
  ]));
  if (windows.length > 0) {
    tables.push({ title: 'Labelled windows', columns: ['series', 'window', 'start', 'end', 'rows', 'first detection', 'delay', 'score'], rows: windows });
  }
  const rates = panels.filter((p) => p.alerts.length > 0).flatMap((p) => {
    const hours = hoursOf(p.instrument);
    const byDetector = new Map<string, number>();
    for (const a of p.alerts) byDetector.set(a.detector, (byDetector.get(a.detector) ?? 0) + 1);
    return [...byDetector].map(([d, n]) => [p.instrument, p.feature, d, int(n), hours > 0 ? fixed(n / hours, 3) : '–']);
  });
  if (rates.length > 0) {
    tables.push({
      title: 'Alerts by feature and detector', columns: ['series', 'feature', 'detector', 'alerts', 'alerts/h'], rows: rates,
      note: 'Every alert, probation included, per hour from the series\' first row to its last.',
    });
  }
  return tables;
}

/** A word of a command line as a shell would need it. */
function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** `atc eval`: resolves to the exit code; usage problems throw UsageError (main prints them, exit 2). */
export async function evalCommand(argv: string[], io: Io): Promise<number> {
  const args = parseEvalArgs(argv);
  if (args === 'help') {
    io.stdout.write(EVAL_HELP);
    return EXIT_OK;
  }
  const report = await runEval(args);
  if (args.json) io.stdout.write(`${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
  else io.stdout.write(formatTable(report));
  io.stderr.write(notes(report));
  if (report.report) {
    const r = report.report;
    io.stderr.write(`  report: ${r.path} (${int(r.panels)} panels, ${(r.bytes / 2 ** 20).toFixed(1)} MiB)\n`);
  }
  return EXIT_OK;
}

// ---- Human output ------------------------------------------------------------------------------------------------
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** A duration for people: 0 s, 45 s, 12.5 min, 3.2 h, 2.1 d. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const s = ms / 1000;
  if (Math.abs(s) < 60) return `${Number.isInteger(s) ? s : s.toFixed(s < 10 ? 3 : 1)} s`;
  if (Math.abs(s) < 3600) return `${(s / 60).toFixed(1)} min`;
  if (Math.abs(s) < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

const TABLE_HEAD = ['series', 'rows', 'windows', 'found', 'false alarms', 'precision', 'recall', 'F1', 'mean delay', 'alarms/h', 'NAB raw', 'NAB'] as const;

/** The table's rows, as printed: one per series, then the total. */
function tableBody(r: EvalReport): string[][] {
  const line = (name: string, rows: number, m: DetectionMetrics, nab: NabTotal) => [
    name, int(rows), int(m.windows), int(m.detected), int(m.falseAlarms), fixed(m.precision), fixed(m.recall), fixed(m.f1),
    duration(m.meanDelayMs), fixed(m.falseAlarmsPerHour, 3), fixed(nab.raw), fixed(nab.normalized),
  ];
  const body = r.series.map((s) => line(s.name, s.rows, s.metrics, s.nab));
  body.push(line('total', r.total.rows, r.total.metrics, r.total.nab));
  return body;
}

function formatTable(r: EvalReport): string {
  const head = [...TABLE_HEAD];
  const body = tableBody(r);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((row) => row[c].length)));
  const fmt = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  const out = [fmt(head), ...body.slice(0, -1).map(fmt), fmt(widths.map((w) => '-'.repeat(w))), fmt(body[body.length - 1])];
  const t = r.total.nab, c = r.cost;
  out.push('', `NAB score, profile ${r.profile} (tp ${c.tpWeight}, fp ${c.fpWeight}, fn ${c.fnWeight}): ${fixed(t.normalized)} ` +
    `(raw ${fixed(t.raw, 4)}; null detector ${fixed(t.nullScore, 4)}, perfect ${fixed(t.perfectScore, 4)})`);
  return `${out.join('\n')}\n`;
}

function notes(r: EvalReport): string {
  const lines = [`atc eval: ${int(r.series.length)} series scored, ${int(r.events)} events, ${int(r.total.alerts)} alerts`];
  if (r.unlabelled.length > 0) {
    lines.push(`  not scored (no windows in --labels): ${r.unlabelled.slice(0, 8).join(', ')}${r.unlabelled.length > 8 ? `, ... (${int(r.unlabelled.length)})` : ''}`);
  }
  if (r.notInInput.length > 0) lines.push(`  labelled series not in the input: ${int(r.notInInput.length)} of ${int(r.notInInput.length + r.series.length)}`);
  const rejected = Object.entries(r.rejected);
  if (rejected.length > 0) {
    lines.push(`  rejected by the engine (rows without detections): ${rejected.map(([k, v]) => `${k} ${int(v)}`).join(', ')}`);
  }
  if (r.malformedLines > 0) lines.push(`  malformed lines skipped (not rows): ${int(r.malformedLines)}`);
  return `${lines.join('\n')}\n`;
}
