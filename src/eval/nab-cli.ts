// `atc eval nab --data DIR`: the command around src/eval/nab-run.ts.
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Io } from '../cli.js';
import { checkOutputFile, loadReplayConfig, parseCommandArgs, UsageError } from '../cli-common.js';
import { reportModel, writeReport, type Panel, type ReportTable } from '../report/index.js';
import { PROFILE_NAMES } from './nab.js';
import { evalNab, writeNabResults, type NabEvalReport } from './nab-run.js';

export const EVAL_NAB_HELP = `Usage: atc eval nab --data DIR [--config FILE] [--out DIR] [--report FILE] [--json] [--progress]

Runs atc's detectors over every series of the Numenta Anomaly Benchmark and prints, for each detector on each
feature of a value series (value, valueChange) and for the configured ensemble, the NAB score (standard,
reward_low_FP_rate, reward_low_FN_rate profiles) at two kinds of threshold:
  own        the alerts atc raised with the thresholds it set itself, online, without the labels
  hindsight  NAB's convention: the one threshold per profile that scores best on the whole corpus
A row's anomaly score is s / (s + t), the detector's score s against the threshold t in force (0.5 = at atc's
own threshold). Each series runs in its own engine with the configuration (every detector on for the value
features; the ensemble is the channels the configuration enables: by default value.novelty). A learned detector
the configuration enables over value features (learned.hst with features ["value", "valueChange"]) is scored as
its own row (vector.hst) and joins the ensemble.

Options:
  --data DIR      a NAB checkout: DIR/data/<category>/<file>.csv and DIR/labels/combined_windows.json
                  (../shared/data/nab in this project's CI)
  --config FILE   engine configuration (JSON, docs/configuration.md)
  --out DIR       also write the scores in NAB's results layout, DIR/<detector>/<category>/<detector>_<file>.csv
                  (timestamp,value,anomaly_score), one detector per channel and per ensemble, and an
                  own-threshold twin of each (atc_own_*: scores 0 or 1), plus DIR/thresholds.json in NAB's
                  config/thresholds.json layout. To rescore with NAB's own scorer, copy the detector directories
                  into a NAB checkout's results/ (which holds the null detector's results its normalization
                  needs) and merge thresholds.json into its config/thresholds.json (docs/eval.md)
  --report FILE   also write a self-contained HTML report (docs/report.md): per series its value, the band and
                  every detector's score against its threshold, atc's alerts and the labelled windows shaded;
                  the scores table
  --json          print the report as JSON
  --progress      a progress line on stderr (on by default when stderr is a terminal)

Example:
  atc eval nab --data ../shared/data/nab --out nab-results
`;

/** --out must be a directory, or a path whose parent is one: checked before the run, not after it. */
async function checkOutDir(path: string): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (st) {
    if (!st.isDirectory()) throw new UsageError(`--out ${path}: not a directory`);
    return;
  }
  const parent = dirname(resolve(path));
  const pst = await stat(parent).catch(() => undefined);
  if (!pst?.isDirectory()) throw new UsageError(`--out ${path}: directory ${parent} does not exist`);
}

const fix = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : String(x));

/** The table `atc eval nab` prints. */
export function formatNabReport(r: NabEvalReport): string {
  const lines: string[] = [];
  lines.push(`NAB corpus: ${r.files} series, ${r.rows.toLocaleString('en-US')} rows, ${r.windows} windows; ${r.seconds.toFixed(1)} s`);
  lines.push('');
  lines.push(`${'detector'.padEnd(24)} ${'own thresholds'.padEnd(23)} ${'found'.padStart(8)} ${'false'.padStart(6)}   ${'best threshold in hindsight'.padEnd(23)} ${'threshold'.padStart(9)}`);
  lines.push(`${''.padEnd(24)} ${'std'.padStart(7)} ${'lowFP'.padStart(7)} ${'lowFN'.padStart(7)} ${''.padStart(8)} ${'alarms'.padStart(6)}   ${'std'.padStart(7)} ${'lowFP'.padStart(7)} ${'lowFN'.padStart(7)} ${'(std)'.padStart(9)}`);
  for (const d of r.detectors) {
    const name = `${d.name}${d.configured && d.name !== 'ensemble' ? ' *' : ''}`;
    lines.push(`${name.padEnd(24)} ${PROFILE_NAMES.map((p) => fix(d.own[p]).padStart(7)).join(' ')} ${`${d.own.detected}/${d.own.windows}`.padStart(8)} ${String(d.own.falseAlarms).padStart(6)}   ` +
      `${PROFILE_NAMES.map((p) => fix(d.hindsight[p].score).padStart(7)).join(' ')} ${d.hindsight.standard.threshold.toFixed(3).padStart(9)}`);
  }
  lines.push('');
  lines.push('* in the configured ensemble. Published (NAB v1.1 scoreboard, standard / lowFP / lowFN, best threshold in');
  lines.push('hindsight): Numenta HTM 70.10 / 63.12 / 74.32, windowed Gaussian 39.65 / 20.87 / 47.41, null detector 0.');
  return lines.join('\n') + '\n';
}

export async function evalNabCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('eval nab', {
    args: argv, allowPositionals: true, strict: true,
    options: {
      data: { type: 'string' }, config: { type: 'string' }, out: { type: 'string' }, report: { type: 'string' }, json: { type: 'boolean' },
      progress: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { io.stdout.write(EVAL_NAB_HELP); return 0; }
  if (positionals.length > 0) throw new UsageError(`eval nab: unexpected argument ${JSON.stringify(positionals[0])} (the corpus comes from --data DIR); see atc eval nab --help`);
  if (values.data === undefined) throw new UsageError('eval nab: --data DIR is required (a NAB checkout with data/ and labels/); see atc eval nab --help');
  if (values.report !== undefined) await checkOutputFile(values.report, '--report', 'nab.html');
  if (values.out !== undefined) await checkOutDir(values.out);
  const config = await loadReplayConfig(values.config);
  const progress = values.progress ?? io.stderr.isTTY === true;
  const panels: Panel[] | undefined = values.report === undefined ? undefined : [];
  const { report, runs, channels, labels } = await evalNab({
    dataDir: values.data, config, panels,
    onProgress: progress ? (done, total) => io.stderr.write(`\ratc eval nab: ${done}/${total} series`) : undefined,
  });
  if (progress) io.stderr.write('\n');
  if (values.out !== undefined) {
    const n = await writeNabResults(values.out, runs, channels, report.detectors);
    io.stderr.write(`atc eval nab: wrote ${n} result files and thresholds.json under ${values.out}\n`);
  }
  if (values.report !== undefined) {
    const table: ReportTable = {
      title: 'NAB scores (normalized; own thresholds and best threshold in hindsight)',
      columns: ['detector', 'in ensemble', 'own std', 'own lowFP', 'own lowFN', 'windows found', 'false alarms', 'hindsight std', 'hindsight lowFP', 'hindsight lowFN', 'threshold (std)'],
      rows: report.detectors.map((d) => [d.name, d.configured ? 'yes' : '', ...PROFILE_NAMES.map((p) => d.own[p]), `${d.own.detected}/${d.own.windows}`, d.own.falseAlarms,
        ...PROFILE_NAMES.map((p) => d.hindsight[p].score), d.hindsight.standard.threshold]),
      note: 'Row score s / (s + t): the detector score against the threshold in force (0.5 = atc\'s own threshold). Published (hindsight): Numenta HTM 70.10 / 63.12 / 74.32, windowed Gaussian 39.65 / 20.87 / 47.41.',
    };
    const model = reportModel(panels!, {
      title: `atc eval nab: ${report.files} series, ensemble ${fix(report.detectors[0].own.standard)} own / ${fix(report.detectors[0].hindsight.standard.score)} hindsight (standard)`,
      command: `atc eval nab ${argv.join(' ')}`,
      tables: [table],
      notes: [
        'Every detector runs on the value features here, so that each can be scored: the panels show all their alerts and scores. ' +
        `The configured ensemble (its alerts are atc's own detections) is ${report.detectors.filter((d) => d.configured && d.name !== 'ensemble').map((d) => d.name).join(', ')}.`,
      ],
      windows: (name) => labels.get(name)?.map(([a, b]) => [a, b] as const),
    });
    const bytes = await writeReport(values.report, model);
    io.stderr.write(`atc eval nab: wrote ${values.report} (${(bytes / 1e6).toFixed(1)} MB, ${model.panels.length} panels)\n`);
  }
  io.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatNabReport(report));
  return 0;
}
