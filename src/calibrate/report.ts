// `atc calibrate --report FILE`: the calibrated configuration replayed over the whole history through the report's
// tracer (src/report/: the same alerts as the validation replay, one event at a time), one self-contained HTML page
// with a panel per instrument and feature (values, band, scores and the fitted thresholds, alerts, labelled windows)
// and the calibration's tables: thresholds and rates by channel, the splits against the target, the rates tried.
import { resolveConfig, resolveInstrumentChannels, type InstrumentThresholds } from '../config.js';
import { Engine } from '../engine.js';
import { EventBatch } from '../events.js';
import type { Labels } from '../eval/cli.js';
import { reportModel, Tracer, writeReport, type Panel, type ReportTable } from '../report/index.js';
import type { CalibrationData } from './data.js';
import type { CalibrationReport } from './index.js';

/** Panels a report keeps when every one is small enough to show; past that, those with alerts. */
const ALL_PANELS_UP_TO = 40;

const fx = (n: number | null | undefined, digits = 2): string => (n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));

export async function writeCalibrationReport(path: string, o: {
  data: CalibrationData; output: Record<string, unknown>; report: CalibrationReport; labels?: Labels; command?: string;
}): Promise<{ bytes: number; panels: number }> {
  const { data, report } = o;
  const calibrated = new Set(report.data.instruments.map((i) => i.name));
  const instruments = data.instruments.filter((i) => calibrated.has(i.name));
  const config = resolveConfig({ autoRegister: true, ...o.output, maxInstruments: Math.max(instruments.length, 1), instruments: {} });
  const engine = Engine.create(config);
  const perInstrument = (o.output.instruments ?? {}) as InstrumentThresholds;
  for (const inst of instruments) engine.applyInstrumentPlan(inst.id, resolveInstrumentChannels(perInstrument[inst.name] ?? {}));
  const names = new Map(instruments.map((i) => [i.id, i.name]));
  const tracer = new Tracer(engine, { name: (id) => names.get(id) ?? String(id) });
  // Instrument by instrument, as the calibration replayed them (instruments are independent in the engine).
  const batch = new EventBatch(4096);
  const { columns } = data;
  for (const inst of instruments) {
    for (let i = inst.start; i < inst.end; i += 4096) {
      const n = Math.min(4096, inst.end - i);
      batch.clear();
      for (let j = 0; j < n; j++) {
        const k = i + j;
        batch.push(columns.kind[k], inst.id, columns.tsNs[k], columns.f[0][k], columns.f[1][k], columns.f[2][k], columns.f[3][k], columns.f[4][k], columns.f[5][k]);
      }
      tracer.ingest(batch);
    }
  }
  const all = tracer.panels();
  const panels: Panel[] = all.length <= ALL_PANELS_UP_TO ? all.filter((p) => p.tsMs.length > 0 || p.alerts.length > 0) : all.filter((p) => p.alerts.length > 0);
  const fold = report.folds[report.folds.length - 1];
  const [fit, val] = fold.splits;
  const model = reportModel(panels, {
    title: `atc calibrate: ${fmtRate(report.targetPerHour)} per ${report.per}; fit ${fx(fit.fitted.ratio)} of the target${val ? `, validation ${fx(val.fitted.ratio)}` : ''}`,
    command: o.command,
    notes: [
      `${report.data.instruments.length} instruments, ${report.data.events.toLocaleString('en-US')} events, ${fx(report.data.hours, 3)} h; ` +
      `${report.runs.toLocaleString('en-US')} engine runs in ${fx(report.seconds, 1)} s.`,
      'The panels replay the whole history with the calibrated configuration (the validation replay: the same alerts).',
      ...(all.length > ALL_PANELS_UP_TO ? [`${all.length} panels traced; the ${panels.length} with alerts are shown.`] : []),
    ],
    tables: tables(report),
    windows: (instrument) => o.labels?.get(instrument)?.windows,
    include: () => true,
  });
  const bytes = await writeReport(path, model);
  return { bytes, panels: model.panels.length };
}

function tables(r: CalibrationReport): ReportTable[] {
  const out: ReportTable[] = [];
  r.folds.forEach((fold) => {
    const hasVal = fold.splits.length > 1;
    const suffix = r.folds.length > 1 ? ` (fold ${fold.fold})` : '';
    out.push({
      title: `Splits against the target${suffix}`,
      columns: ['split', 'channel-hours', 'alerts', 'target', 'achieved/target', 'Poisson 95% at target', 'all scored: alerts', 'target', 'ratio'],
      rows: fold.splits.map((s) => [
        s.name, fx(s.fitted.hours, 3), s.fitted.alerts, fx(s.fitted.targetAlerts), fx(s.fitted.ratio),
        `${fx(s.fitted.poisson95[0])}–${fx(s.fitted.poisson95[1])}`, s.all.alerts, fx(s.all.targetAlerts), fx(s.all.ratio),
      ]),
      note: 'Fitted channels (by count, by the tail model, or capped) against the target; the Poisson band is what noise alone allows at the target.',
    });
    out.push({
      title: `Thresholds and rates by channel${suffix}`,
      columns: ['instrument', 'channel', 'mode', 'status', 'threshold', 'fit alerts', 'fit target', 'fit /h', ...(hasVal ? ['validation alerts', 'validation target', 'validation /h'] : [])],
      rows: fold.channels.filter((c) => c.status !== 'unobserved').map((c) => [
        c.instrument, `${c.feature}.${c.detector}`, c.mode, c.status, c.threshold === null ? '–' : fx(c.threshold, 4),
        c.splits[0].alerts, fx(c.splits[0].targetAlerts), fx(c.splits[0].perHour),
        ...(hasVal ? [c.splits[1].alerts, fx(c.splits[1].targetAlerts), fx(c.splits[1].perHour)] : []),
      ]),
    });
  });
  if (r.selection) {
    const s = r.selection;
    out.push({
      title: `Rates tried (${s.objective}, ceiling ${fmtRate(s.maxRatePerHour)}): chosen ${fmtRate(s.chosenPerHour)}`,
      columns: ['target/h', 'achieved/h (fit)', s.objective, `${s.objective} (validation)`, 'under the ceiling'],
      rows: s.grid.map((g) => [fx(g.targetPerHour, 4), fx(g.achievedPerHour, 4), fx(g.objective, 3), fx(g.validationObjective, 3), g.underCeiling ? 'yes' : 'no']),
    });
  }
  if (r.unfitted.length > 0) {
    out.push({ title: 'Not brought to the target', columns: ['instrument', 'channel', 'status', 'why'], rows: r.unfitted.map((u) => [u.instrument, u.channel, u.status, u.note]) });
  }
  return out;
}

function fmtRate(perHour: number): string {
  return `${Number(perHour.toPrecision(4))}/h`;
}
