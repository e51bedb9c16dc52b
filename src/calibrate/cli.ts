// `atc calibrate`: argument parsing, progress on stderr, the human report on stdout (or JSON), the output file.
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { INPUT_FORMATS, type InputFormat } from '../adapters/index.js';
import type { Io } from '../cli.js';
import { checkInput, checkOutputFile, parseCommandArgs, readConfigObject, UsageError } from '../cli-common.js';
import { resolveConfig } from '../config.js';
import { Labels } from '../eval/cli.js';
import { isProfileName, PROFILE_NAMES, type ProfileName } from '../eval/nab.js';
import { calibrate, CalibrationError, type CalibrateOptions, type CalibrationProgress, type CalibrationReport, type Objective, type RateFigures } from './index.js';

const EXIT_OK = 0;

export const CALIBRATE_HELP = `Usage: atc calibrate <file...> [--target-rate 2/h] [--per channel|instrument] [--config FILE] [--out thresholds.json]
                     [--split 0.7 | --folds K] [--refit] [--instruments A,B] [--format FMT]
                     [--labels FILE [--objective f1|nab] [--max-rate R/h] [--profile P]]
                     [--workers N] [--json] [--progress] [--report FILE]

Runs recorded market data through the anomaly engine and fits one threshold per instrument, feature and
detector (a channel) so that each channel raises the target number of alerts per hour while it scores,
suppression included (hysteresis, cooldown, one alert per episode, CUSUM restarts). Walk-forward: the
thresholds are fitted on the earlier part of the data and replayed, state carried over, on the later
part; the report gives the achieved rate of each part next to the target. The output is a configuration
that atc replay --config, atc serve --config and PUT /thresholds load (docs/calibrate.md).

Options:
  --target-rate R  alerts per hour per channel, "2/h" (default), "0.5/min", "48/d" or a bare number (per
                   hour). A channel's hours are those it scores: from the end of its feature's warm-up
  --per UNIT       what the target counts: channel (default: each instrument's every feature and detector
                   gets it) or instrument (an instrument's total, shared evenly by its channels that score)
  --config FILE    the engine configuration to calibrate (docs/configuration.md); its other settings are
                   kept in the output, which is then a complete configuration. Channels in the "regime"
                   mode get a per-instrument base that the regime factor scales; every other mode becomes
                   "fixed" (a "target" channel would not keep its fitted value)
  --out FILE       write the calibrated configuration: "thresholds" (every enabled channel, its base the
                   median of the instruments' fits) and "instruments" (each instrument's own thresholds,
                   docs/configuration.md "Per-instrument thresholds"); without --out nothing is written
  --split F        fit on the first F of the time span (0 < F <= 1, default 0.7), validate on the rest;
                   1 fits on everything and validates nothing
  --folds K        walk forward in K expanding folds instead (2..20): fold k fits on the first k/(K+1) of
                   the span and validates on the next 1/(K+1). The output holds the last fold's fit
  --refit          after validating, fit the output on the whole span
  --instruments L  calibrate only these instruments (comma-separated names, as the alerts name them);
                   instruments of --config's "instruments" that are not calibrated are kept as they are
  --format FMT     the input format of every file: auto (default), ${INPUT_FORMATS.join(', ')} (atc replay --help)
  --labels FILE    labelled anomaly windows (NAB's combined_windows.json layout, as atc eval reads): choose
                   the target rate instead, among the ceiling (--max-rate) and its halvings (${8} rates),
                   as the one whose alerts score best on the fit split with the achieved rate at most the
                   ceiling; the report lists every rate tried, on the fit and validation splits
  --objective O    with --labels: f1 (windows found, default) or nab (the normalized NAB score)
  --max-rate R     with --labels: the ceiling on the alert rate, per --per (default: --target-rate)
  --profile P      with --objective nab: ${PROFILE_NAMES.join(', ')} (default standard)
  --workers N      worker threads running the engine (default: the cores, ${availableParallelism()} here; 0: none,
                   everything on the main thread). The result does not depend on it
  --json           print the report as one JSON object instead of tables
  --report FILE    also write an HTML report (one self-contained file; docs/report.md): the history replayed
                   with the calibrated configuration, a panel per instrument and feature (values, band,
                   scores and fitted thresholds, alerts, labelled windows; only panels with alerts when
                   there are more than 40), and the tables: splits against the target, thresholds and
                   rates by channel, the rates tried with --labels
  --progress       show progress on stderr even when it is not a terminal
  -h, --help       show this help

How the fit works: each probe is a whole replay of one instrument with one candidate threshold per channel;
channels are independent given their thresholds, so one replay probes all of them. Per channel the
threshold is bisected (in log scale, between thresholdFloor and scoreCap) until the alerts over the fit
period equal the target; when the target is under 10 alerts (short data) the largest alert peaks are
located instead and an exponential tail fitted to them gives the threshold. Channels that cannot reach the
target (fewer alerts than targeted even at the floor, or none at all) are listed, not hidden.

Exit status: 0 done, 1 runtime failure, 2 usage error (bad option, file, configuration or labels).
`;

const FORMATS = ['auto', ...INPUT_FORMATS] as const;

export interface CalibrateArgs {
  files: string[];
  format: InputFormat | 'auto';
  targetPerHour: number;
  per: 'channel' | 'instrument';
  config: string | undefined;
  out: string | undefined;
  split: number | undefined;
  folds: number | undefined;
  refit: boolean;
  instruments: string[] | undefined;
  labels: string | undefined;
  objective: Objective;
  maxRatePerHour: number | undefined;
  profile: ProfileName;
  workers: number | undefined;
  json: boolean;
  progress: boolean;
  report: string | undefined;
}

const UNITS: Record<string, number> = {
  s: 3600, sec: 3600, second: 3600, m: 60, min: 60, minute: 60, h: 1, hr: 1, hour: 1, d: 1 / 24, day: 1 / 24,
};

/** "2/h", "0.5/min", "48/d", "2" (per hour) -> alerts per hour; a UsageError naming `option` otherwise. */
export function parseRate(text: string, option: string): number {
  const m = /^\s*(\d+(?:\.\d*)?(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?)\s*(?:\/\s*([a-z]+))?\s*$/i.exec(text);
  const unit = m?.[2]?.toLowerCase();
  if (!m || (unit !== undefined && UNITS[unit] === undefined)) {
    throw new UsageError(`calibrate: ${option} must be a rate like 2/h, 0.5/min, 48/d or a number per hour, got ${JSON.stringify(text)}`);
  }
  const perHour = Number(m[1]) * (unit === undefined ? 1 : UNITS[unit]);
  if (!(perHour > 0) || !Number.isFinite(perHour)) throw new UsageError(`calibrate: ${option} must be a rate > 0, got ${JSON.stringify(text)}`);
  return perHour;
}

function number(text: string, option: string, lo: number, hi: number, opts: { integer?: boolean; openLo?: boolean } = {}): number {
  const v = Number(text);
  const ok = text.trim() !== '' && Number.isFinite(v) && (opts.openLo ? v > lo : v >= lo) && v <= hi && (!opts.integer || Number.isInteger(v));
  if (!ok) {
    throw new UsageError(`calibrate: ${option} must be ${opts.integer ? 'an integer' : 'a number'} in ${opts.openLo ? '(' : '['}${lo}, ${hi}], got ${JSON.stringify(text)}`);
  }
  return v;
}

export function parseCalibrateArgs(argv: string[]): CalibrateArgs | 'help' {
  const parsed = parseCommandArgs('calibrate', {
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'target-rate': { type: 'string' },
      per: { type: 'string' },
      config: { type: 'string' },
      out: { type: 'string' },
      split: { type: 'string' },
      folds: { type: 'string' },
      refit: { type: 'boolean' },
      instruments: { type: 'string', multiple: true },
      format: { type: 'string', default: 'auto' },
      labels: { type: 'string' },
      objective: { type: 'string' },
      'max-rate': { type: 'string' },
      profile: { type: 'string' },
      workers: { type: 'string' },
      json: { type: 'boolean' },
      progress: { type: 'boolean' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const v = parsed.values;
  if (v.help) return 'help';
  if (!(FORMATS as readonly string[]).includes(v.format)) {
    throw new UsageError(`calibrate: --format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(v.format)}`);
  }
  if (parsed.positionals.length === 0) throw new UsageError('calibrate: no input file given; see atc calibrate --help');
  if (v.split !== undefined && v.folds !== undefined) throw new UsageError('calibrate: --split and --folds exclude each other (folds walk forward over the whole span)');
  const split = v.split === undefined ? undefined : number(v.split, '--split', 0, 1, { openLo: true });
  const folds = v.folds === undefined ? undefined : number(v.folds, '--folds', 2, 20, { integer: true });
  const targetPerHour = v['target-rate'] === undefined ? 2 : parseRate(v['target-rate'], '--target-rate');
  if (v.labels === undefined) {
    for (const flag of ['objective', 'max-rate', 'profile'] as const) {
      if (v[flag] !== undefined) throw new UsageError(`calibrate: --${flag} needs --labels FILE`);
    }
  }
  const per = v.per ?? 'channel';
  if (per !== 'channel' && per !== 'instrument') throw new UsageError(`calibrate: --per must be channel or instrument, got ${JSON.stringify(v.per)}`);
  const objective = (v.objective ?? 'f1') as Objective;
  if (objective !== 'f1' && objective !== 'nab') throw new UsageError(`calibrate: --objective must be f1 or nab, got ${JSON.stringify(v.objective)}`);
  const profile = v.profile ?? 'standard';
  if (!isProfileName(profile)) throw new UsageError(`calibrate: --profile must be one of ${PROFILE_NAMES.join(', ')}, got ${JSON.stringify(v.profile)}`);
  const instruments = v.instruments?.flatMap((s) => s.split(',')).map((s) => s.trim());
  if (instruments !== undefined && instruments.some((s) => s.length === 0)) {
    throw new UsageError('calibrate: --instruments must be a comma-separated list of instrument names, without empty entries');
  }
  return {
    files: parsed.positionals, format: v.format as InputFormat | 'auto', targetPerHour, per, config: v.config, out: v.out,
    split, folds, refit: v.refit === true, instruments, labels: v.labels, objective,
    maxRatePerHour: v['max-rate'] === undefined ? undefined : parseRate(v['max-rate'], '--max-rate'), profile,
    workers: v.workers === undefined ? undefined : number(v.workers, '--workers', 0, 256, { integer: true }),
    json: v.json === true, progress: v.progress === true, report: v.report,
  };
}

/** `atc calibrate`: resolves to the exit code; usage problems throw UsageError (main prints them, exit 2). */
export async function calibrateCommand(argv: string[], io: Io): Promise<number> {
  const args = parseCalibrateArgs(argv);
  if (args === 'help') {
    io.stdout.write(CALIBRATE_HELP);
    return EXIT_OK;
  }
  // Everything the user can get wrong, before the (long) work: files and formats, configuration, labels, --out.
  const inputs: CalibrateOptions['inputs'] = [];
  for (const path of args.files) {
    inputs.push({ path, format: (await checkInput(path, args.format)).format });
  }
  const config = await readConfigObject(args.config);
  resolveConfig({ autoRegister: true, ...config }); // a bad configuration is a usage error now, not after reading
  const labels = args.labels === undefined ? undefined : await Labels.read(args.labels);
  // Checked, not created: a failed run must not leave an empty configuration behind.
  if (args.out !== undefined) await checkOutputFile(args.out, '--out', 'thresholds.json');
  if (args.report !== undefined) await checkOutputFile(args.report, '--report', 'calibrate.html');

  const progress = new ProgressLine(io.stderr, args.progress);
  let result;
  try {
    result = await calibrate({
      inputs, config, targetPerHour: args.targetPerHour, per: args.per, split: args.split, folds: args.folds, refit: args.refit,
      workers: args.workers, instruments: args.instruments, keepData: args.report !== undefined,
      labels: labels === undefined ? undefined : {
        labels, objective: args.objective, profile: args.profile, maxRatePerHour: args.maxRatePerHour ?? args.targetPerHour,
      },
      onProgress: (p) => progress.update(p),
    });
  } catch (err) {
    if (err instanceof CalibrationError) throw new UsageError(`calibrate: ${err.message}`);
    throw err;
  } finally {
    progress.end();
  }
  const { report, output } = result;
  if (args.out !== undefined) await writeFile(args.out, `${JSON.stringify(output, null, 2)}\n`);
  let written: { bytes: number; panels: number } | undefined;
  if (args.report !== undefined) {
    const { writeCalibrationReport } = await import('./report.js');
    written = await writeCalibrationReport(args.report, { data: result.data!, output, report, labels, command: ['atc', 'calibrate', ...argv].map(shellWord).join(' ') });
  }
  if (args.json) io.stdout.write(`${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
  else io.stdout.write(formatReport(report, args.out));
  if (written !== undefined) io.stderr.write(`atc calibrate: wrote the report ${args.report} (${written.panels} panels, ${(written.bytes / 1_048_576).toFixed(1)} MiB)\n`);
  return EXIT_OK;
}

/** A word of a command line as a shell would need it (for the report's header). */
function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`;
}

// ---- Progress ------------------------------------------------------------------------------------------------------
class ProgressLine {
  readonly #stream: Io['stderr'];
  readonly #tty: boolean;
  readonly #enabled: boolean;
  readonly #started = performance.now();
  #lastMs = -Infinity;
  #drawn = false;

  constructor(stream: Io['stderr'], forced: boolean) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
    this.#enabled = forced || this.#tty;
  }

  update(p: CalibrationProgress): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (now - this.#lastMs < 250) return;
    this.#lastMs = now;
    const s = (now - this.#started) / 1000;
    const rate = `${(p.events / Math.max(s, 1e-3) / 1e6).toFixed(2)} M events/s`;
    let text: string;
    if (p.phase === 'read') text = `atc calibrate: reading, ${int(p.eventsRead ?? 0)} events, ${((p.bytesRead ?? 0) / 1_048_576).toFixed(1)} MiB`;
    else {
      const what = p.phase === 'select' ? `rate ${p.fold} of ${p.folds}` : `fold ${p.fold} of ${p.folds}`;
      const round = p.round === undefined ? '' : `, round ${p.round}, ${p.channelsDone}/${p.channels} channels done`;
      text = `atc calibrate: ${p.phase === 'validate' ? 'validating' : p.phase === 'select' ? 'choosing the rate' : 'fitting'} (${what})${round}; ${int(p.runs)} runs, ${rate}`;
    }
    this.#stream.write(this.#tty ? `\r\x1b[K${text}` : `${text}\n`);
    this.#drawn = true;
  }

  end(): void {
    if (this.#drawn && this.#tty) this.#stream.write('\r\x1b[K');
  }
}

// ---- The human report ----------------------------------------------------------------------------------------------------
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number | null | undefined, digits = 2) => (n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits));
const iso = (ns: string) => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString().replace(/\.\d+Z$/, 'Z');

function table(head: string[], rows: string[][], left = 1): string[] {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (r: string[]) => r.map((cell, c) => (c < left ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}

/** Channel rows printed per fold: a listing of hundreds of option instruments would drown the summary. */
const MAX_ROWS = 200;

const ratioCell = (r: RateFigures) => `${fixed(r.ratio)} (${fixed(r.poisson95[0])}-${fixed(r.poisson95[1])})`;

export function formatReport(r: CalibrationReport, out: string | undefined): string {
  const lines: string[] = [];
  const m = r.method;
  lines.push(`atc calibrate: target ${fmtRate(r.targetPerHour)} ${r.per === 'channel' ? 'per channel (instrument, feature, detector) while it scores' : 'per instrument, shared by its scoring channels'}; ` +
    `${m.folds !== null ? `${m.folds} expanding folds` : m.split !== null && m.split < 1 ? `fit on the first ${m.split} of the span, validate on the rest` : 'fit on the whole span'}`);
  lines.push(`  data: ${int(r.data.events)} events, ${r.data.instruments.length} instrument${r.data.instruments.length === 1 ? '' : 's'}, ` +
    `${iso(r.data.fromNs)} .. ${iso(r.data.toNs)} (${fixed(r.data.hours, 3)} h)`);
  if (r.selection) {
    const s = r.selection;
    lines.push('', `Rate chosen by ${s.objective === 'f1' ? 'F1' : `the NAB score (${s.profile})`} under a ceiling of ${fmtRate(s.maxRatePerHour)}: ${fmtRate(s.chosenPerHour)}`);
    lines.push(...table(['target/h', 'achieved/h (fit)', s.objective, `${s.objective} (validation)`, 'under ceiling'],
      s.grid.map((g) => [fixed(g.targetPerHour, 4), fixed(g.achievedPerHour, 4), fixed(g.objective, 3), fixed(g.validationObjective, 3), g.underCeiling ? 'yes' : 'no']), 0).map((l) => `  ${l}`));
  }
  for (const fold of r.folds) {
    const fit = fold.splits[0], val = fold.splits[1];
    lines.push('', `${r.folds.length > 1 ? `Fold ${fold.fold}: ` : ''}fit ${iso(fit.fromNs)} .. ${iso(fit.toNs)} (${fixed(fit.instrumentHours, 3)} instrument-hours)` +
      (val ? `, validation .. ${iso(val.toNs)} (${fixed(val.instrumentHours, 3)})` : '') + `; ${int(fold.runs)} engine runs`);
    const head = ['instrument', 'channel', 'mode', 'status', 'threshold', 'fit alerts', 'target', 'fit /h'];
    if (val) head.push('val alerts', 'target', 'val /h');
    const rows = fold.channels.filter((c) => c.status !== 'unobserved').map((c) => {
      const row = [c.instrument, `${c.feature}.${c.detector}`, c.mode, c.status, fixed(c.threshold, 3),
        int(c.splits[0].alerts), fixed(c.splits[0].targetAlerts), fixed(c.splits[0].perHour)];
      if (val) row.push(int(c.splits[1].alerts), fixed(c.splits[1].targetAlerts), fixed(c.splits[1].perHour));
      return row;
    });
    if (rows.length === 0) lines.push('  no channel scored in the fit period');
    else lines.push(...table(head, rows.slice(0, MAX_ROWS), 4).map((l) => `  ${l}`));
    if (rows.length > MAX_ROWS) lines.push(`  ... ${int(rows.length - MAX_ROWS)} more channels (--json lists every one)`);
    const unobserved = fold.channels.filter((c) => c.status === 'unobserved').map((c) => `${c.instrument} ${c.feature}.${c.detector}`);
    if (unobserved.length > 0) {
      lines.push(`  not scored in the fit period (feature not observed or still warming up): ${unobserved.slice(0, 12).join(', ')}${unobserved.length > 12 ? `, ... (${int(unobserved.length)} channels)` : ''}`);
    }
    lines.push('', '  split        channels    alerts   target  achieved/target (Poisson 95% at target)   all scored channels: alerts  target  ratio');
    for (const s of fold.splits) {
      lines.push(`  ${s.name.padEnd(10)}  ${fixed(s.fitted.hours, 3).padStart(8)} h ${int(s.fitted.alerts).padStart(8)} ${fixed(s.fitted.targetAlerts).padStart(8)}  ` +
        `${ratioCell(s.fitted).padEnd(40)}  ${int(s.all.alerts).padStart(27)} ${fixed(s.all.targetAlerts).padStart(7)}  ${fixed(s.all.ratio)}`);
    }
    const detectors = fold.splits.map((s) => s.byDetector.map((d) => `${d.detector} ${fixed(d.perHour)}/h (${fixed(d.ratio)})`).join(', '));
    fold.splits.forEach((s, k) => lines.push(`  ${s.name} by detector: ${detectors[k] || 'none'}`));
    if (fold.channels.some((c) => c.mode === 'regime')) {
      for (const s of fold.splits) {
        lines.push(`  ${s.name} by regime (per channel-hour): ${s.byRegime.filter((g) => g.instrumentHours > 0)
          .map((g) => `${g.regime} ${int(g.alerts)} in ${fixed(g.instrumentHours, 3)} h = ${fixed(g.perHourPerChannel)}/h (${fixed(g.ratio)})`).join(', ') || 'none'}`);
      }
    }
  }
  if (r.unfitted.length > 0) {
    lines.push('', `Not brought to the target (${r.unfitted.length}):`);
    for (const u of r.unfitted.slice(0, MAX_ROWS)) lines.push(`  ${u.instrument} ${u.channel}: ${u.status}: ${u.note}`);
    if (r.unfitted.length > MAX_ROWS) lines.push(`  ... ${int(r.unfitted.length - MAX_ROWS)} more (--json lists every one)`);
  }
  lines.push('', out === undefined
    ? `No --out: nothing written (${r.output.instruments} instruments, ${r.output.channels} per-instrument thresholds fitted).`
    : `Wrote ${out}: ${r.output.channels} per-instrument thresholds for ${r.output.instruments} instrument${r.output.instruments === 1 ? '' : 's'}` +
      `${r.output.keptFromConfig.length > 0 ? `, ${r.output.keptFromConfig.length} instruments kept from --config` : ''}; fitted on ${iso(r.output.fittedOn.fromNs)} .. ${iso(r.output.fittedOn.toNs)}.`);
  lines.push(`${int(r.runs)} engine runs, ${int(r.events)} events replayed in ${fixed(r.seconds, 1)} s (${fixed(r.events / Math.max(r.seconds, 1e-9) / 1e6)} M events/s, ${r.method.workers} worker${r.method.workers === 1 ? '' : 's'}).`);
  return `${lines.join('\n')}\n`;
}

function fmtRate(perHour: number): string {
  return `${Number(perHour.toPrecision(4))}/h`;
}
