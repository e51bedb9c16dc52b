// `atc calibrate`: fit per-instrument thresholds to a target alert rate over recorded history, validate them
// walk-forward, and write a configuration that replay, eval and serve load (and PUT /thresholds accepts).
//
// The steps (docs/calibrate.md says why each is what it is):
//   1. parse the input once into shared columns grouped by instrument (data.ts);
//   2. per fold, search every (instrument, channel)'s threshold so that its alerts over the fit period equal the
//      target rate x its scoring hours (search.ts); each probe is a whole engine run (run.ts) over one instrument's
//      events, all channels at once; probes run on a Piscina pool (worker.ts);
//   3. replay each instrument once more with the fitted thresholds over the fit and validation periods, the state
//      carried from one into the other, and count alerts by split, channel and regime;
//   4. with labels, do 2-3 for a grid of rates under a ceiling and keep the rate whose alerts score best.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { DETECTORS, FEATURES, N_TABLE_CHANNELS, REGIMES, channelName, type DetectorName, type FeatureName, type ModeName, type RegimeName } from '../abi.js';
import type { InputFormat } from '../adapters/index.js';
import { learnedEnabled, resolveConfig, resolveThresholds, THRESHOLD_CHANNELS, type Config, type InstrumentThresholds, type ThresholdConfig } from '../config.js';
import type { Labels } from '../eval/cli.js';
import {
  detectionMetrics, NAB_PROFILES, nsToMs, scoreFile, totalScore, type NabFileScore, type ProfileName,
} from '../eval/nab.js';
import { loadCalibrationData, type CalibrationData, type InstrumentRange } from './data.js';
import { N_CHANNELS, N_REGIMES, runUnit, type UnitResult, type UnitTask } from './run.js';
import { ChannelSearch, DEFAULT_SEARCH, type ChannelFit, type ChannelStatus, type SearchOptions } from './search.js';

const NS_PER_HOUR = 3.6e12;
/** Rates a labelled calibration tries: the ceiling and its halvings. */
export const LABEL_GRID = 8;
/** A search that has not converged after this many rounds stops (it converges in ~15; this is a guard). */
const MAX_ROUNDS = 60;

export type Objective = 'f1' | 'nab';

export interface CalibrateOptions {
  inputs: { path: string; format: InputFormat }[];
  /** The user's configuration as written ({} without --config): merged over the defaults; kept in the output. */
  config: Record<string, unknown>;
  /** Alerts per hour per channel (instrument, feature, detector) while it scores, or per instrument (see `per`). */
  targetPerHour: number;
  /**
   * 'channel' (default): every channel gets the target. 'instrument': the target is an instrument's total, shared
   * evenly by the channels that score in its fit period.
   */
  per?: 'channel' | 'instrument';
  /** Fraction of the time span fitted on; the rest validates (1: fit on everything, no validation). Default 0.7. */
  split?: number;
  /** Expanding-window folds instead of one split: fold k fits on the first k/(K+1) of the span, validates on the next. */
  folds?: number;
  /** Fit the output's thresholds on the whole span (after validating the splits). */
  refit?: boolean;
  /** Piscina worker threads; 0 runs everything on the calling thread. Default: the machine's parallelism. */
  workers?: number;
  /** Calibrate only these instruments (names as the registry knows them). */
  instruments?: string[];
  labels?: { labels: Labels; objective: Objective; maxRatePerHour: number; profile: ProfileName };
  search?: Partial<typeof DEFAULT_SEARCH>;
  /** Return the parsed input with the result (for a report that replays it). */
  keepData?: boolean;
  onProgress?: (p: CalibrationProgress) => void;
}

export interface CalibrationProgress {
  phase: 'read' | 'fit' | 'validate' | 'select';
  /** Fold (1-based) or grid rate being worked on. */
  fold?: number;
  folds?: number;
  round?: number;
  /** Channels whose search is done, of all. */
  channelsDone?: number;
  channels?: number;
  /** Engine runs so far and the events they replayed. */
  runs: number;
  events: number;
  /** Reading: bytes and events read so far. */
  bytesRead?: number;
  eventsRead?: number;
}

/** A count of alerts against its target over some hours. */
export interface RateFigures {
  alerts: number;
  /** Hours the channels scored (summed over channels). */
  hours: number;
  perHour: number;
  /** Alerts the target asks for over those hours. */
  targetAlerts: number;
  /** alerts / targetAlerts (NaN without hours). */
  ratio: number;
  /** 95% band of the ratio from Poisson noise alone at the target (1 +- 1.96 / sqrt(targetAlerts)): how finely these hours can resolve a rate. */
  poisson95: [number, number];
}

export interface ChannelReport {
  instrument: string;
  feature: FeatureName;
  detector: DetectorName;
  /** The mode the output configures for the channel. */
  mode: ModeName;
  status: ChannelStatus;
  /** The instrument's own threshold (null: none, the channel's base applies). */
  threshold: number | null;
  /** Probes (engine runs) the search used. */
  probes: number;
  tail?: ChannelFit['tail'];
  /** Per split: alerts, scoring hours, rate, ratio to the target; by regime when the split has regime time. */
  splits: (RateFigures & { byRegime: Record<RegimeName, number> })[];
}

export interface SplitReport {
  name: 'fit' | 'validation';
  fromNs: string;
  toNs: string;
  /** Instrument-hours of data in the split (summed over instruments). */
  instrumentHours: number;
  /** Channels the search fitted (fitted, tail, capped): the ones the target applies to. */
  fitted: RateFigures;
  /** Every channel that scored, whatever its status. */
  all: RateFigures;
  byInstrumentFeature: { instrument: string; feature: FeatureName; alerts: number; hours: number; perHour: number; targetPerHour: number }[];
  byDetector: { detector: DetectorName; alerts: number; hours: number; perHour: number; ratio: number }[];
  /** Alerts of fitted channels per regime: alerts over instrument-hours in that regime (x channels). */
  byRegime: { regime: RegimeName; alerts: number; instrumentHours: number; perHourPerChannel: number; ratio: number }[];
}

export interface FoldReport {
  fold: number;
  splits: SplitReport[];
  channels: ChannelReport[];
  runs: number;
}

export interface CalibrationReport {
  targetPerHour: number;
  per: 'channel' | 'instrument';
  method: { split: number | null; folds: number | null; refit: boolean; workers: number; eps: number; nMin: number; floor: number; scoreCap: number };
  data: {
    files: { path: string; format: string; events: number }[];
    events: number;
    fromNs: string;
    toNs: string;
    hours: number;
    instruments: { name: string; events: number; hours: number }[];
  };
  folds: FoldReport[];
  /** The fit the output holds: the last fold's, or the whole span's with refit. */
  output: { fittedOn: { fromNs: string; toNs: string }; instruments: number; channels: number; keptFromConfig: string[] };
  /** Channels the fit could not bring to the target (belowTarget, silent, capped) in the output's fit. */
  unfitted: { instrument: string; channel: string; status: ChannelStatus; alertsAtFloor?: number; note: string }[];
  selection?: {
    objective: Objective; profile: ProfileName; maxRatePerHour: number; chosenPerHour: number;
    grid: { targetPerHour: number; achievedPerHour: number; objective: number; underCeiling: boolean; validationObjective: number | null }[];
  };
  runs: number;
  events: number;
  seconds: number;
}

export interface CalibrationResult {
  report: CalibrationReport;
  /** The configuration to write (--out): loads with --config in replay and serve, and through PUT /thresholds. */
  output: Record<string, unknown>;
  /** The parsed input, when keepData was asked for. */
  data?: CalibrationData;
}

export class CalibrationError extends Error {
  override name = 'CalibrationError';
}

// ---- Executors -----------------------------------------------------------------------------------------------------
interface Executor {
  run(tasks: UnitTask[]): Promise<UnitResult[]>;
  close(): Promise<void>;
}

/** dist/src/calibrate/worker.js: next to this file when running from dist, under dist/ when running from source. */
export function calibrateWorkerPath(): string {
  const candidates = ['./worker.js', '../../dist/src/calibrate/worker.js'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the calibration worker script is missing (looked for ${candidates.join(', ')}); run \`npm run build\``);
  return found;
}

function executor(data: CalibrationData, workers: number): Executor {
  if (workers === 0) {
    return { run: async (tasks) => tasks.map((t) => runUnit(data.columns, t)), close: async () => {} };
  }
  const piscina = new Piscina({
    filename: calibrateWorkerPath(), minThreads: workers, maxThreads: workers, workerData: { columns: data.columns },
  });
  return {
    run: (tasks) => Promise.all(tasks.map((t) => piscina.run(t) as Promise<UnitResult>)),
    close: () => piscina.destroy(),
  };
}

// ---- Channels and modes ----------------------------------------------------------------------------------------------
interface Channel { c: number; feature: FeatureName; detector: DetectorName; key: string }

/** The (feature, detector) channels the configuration turns on. */
function enabledChannels(config: Config): Channel[] {
  const out: Channel[] = [];
  FEATURES.forEach((feature, f) => {
    const fc = config.features[feature];
    if (!fc.enabled) return;
    DETECTORS.forEach((detector, d) => {
      if (fc.detectors.includes(detector)) out.push({ c: f * DETECTORS.length + d, feature, detector, key: `${feature}.${detector}` });
    });
  });
  return out;
}

/**
 * The mode a channel gets in the output: `regime` stays (the per-instrument value is its base, scaled by the regime
 * factor), `target` becomes `fixed` (a self-calibrating threshold would not keep the fitted value), `static` and
 * `fixed` stay (both use the per-instrument value as it is).
 */
function outputMode(mode: ModeName): ModeName {
  return mode === 'target' ? 'fixed' : mode;
}

/** The threshold table with every channel's mode converted, and the given fallback thresholds (per channel). */
function thresholdTable(config: Config, channels: Channel[], fallback: Map<number, number>): Record<string, ThresholdConfig> {
  const resolved = resolveThresholds(config.thresholds);
  const def = config.thresholds.default;
  const table: Record<string, ThresholdConfig> = { default: { mode: outputMode(def.mode), threshold: def.threshold } };
  for (const ch of channels) {
    const t = resolved[ch.c];
    table[ch.key] = { mode: outputMode(t.mode), threshold: fallback.get(ch.c) ?? t.threshold };
  }
  // Learned channels are not fitted per instrument (yet): they keep their configured setting, written out so that the
  // table's "default" does not replace it.
  for (const c of THRESHOLD_CHANNELS) {
    if (c < N_TABLE_CHANNELS || !learnedEnabled(config, c)) continue;
    table[channelName(c)] = { ...resolved[c] };
  }
  return table;
}

// ---- The calibration ---------------------------------------------------------------------------------------------------
interface InstrumentFit {
  inst: InstrumentRange;
  /** Per channel of `channels`, in that order. */
  fits: ChannelFit[];
  /** The target count of each channel over the fit period, and its rate per scoring hour. */
  targets: number[];
  rates: number[];
}

interface Context {
  data: CalibrationData;
  /** The user's configuration, resolved. */
  config: Config;
  /** The configuration the search runs under: the output's modes (no channel self-calibrates), no named instruments. */
  searchConfig: Config;
  channels: Channel[];
  instruments: InstrumentRange[];
  exec: Executor;
  search: SearchOptions;
  per: 'channel' | 'instrument';
  runs: number;
  events: number;
  progress: (p: Omit<CalibrationProgress, 'runs' | 'events'>) => void;
}

const configKeyOf = (() => { let k = 0; const keys = new WeakMap<Config, string>(); return (c: Config) => { let v = keys.get(c); if (!v) keys.set(c, (v = `cfg${++k}`)); return v; }; })();

/** Run tasks, counting runs and events. */
async function runAll(ctx: Context, tasks: UnitTask[]): Promise<UnitResult[]> {
  const results = await ctx.exec.run(tasks);
  ctx.runs += tasks.length;
  for (const r of results) ctx.events += r.events;
  return results;
}

/** Scoring hours of each feature of an instrument over [fromNs, toNs): from its warm-up's end (or the split's start). */
function exposureHours(inst: InstrumentRange, warmNs: BigInt64Array, f: number, fromNs: bigint, toNs: bigint): number {
  const w = warmNs[f];
  if (w < 0n) return 0;
  let lo = fromNs;
  if (inst.firstTsNs > lo) lo = inst.firstTsNs;
  if (w > lo) lo = w;
  let hi = toNs;
  if (inst.lastTsNs < hi) hi = inst.lastTsNs;
  return hi > lo ? Number(hi - lo) / NS_PER_HOUR : 0;
}

/** Fit every instrument's channels to `ratePerHour` over [firstTs, endNs). */
async function fit(ctx: Context, endNs: bigint, ratePerHour: number, label: { fold?: number; folds?: number; phase: CalibrationProgress['phase'] }): Promise<InstrumentFit[]> {
  const { channels, search } = ctx;
  const config = ctx.searchConfig;
  const key = configKeyOf(config);
  const from = ctx.data.firstTsNs;
  const boundaries = [from, endNs];
  const vector = (values: Map<number, number>): number[] => {
    const v = new Array<number>(N_CHANNELS).fill(NaN);
    for (const [c, t] of values) v[c] = t;
    return v;
  };
  const count = (r: UnitResult, c: number): number => {
    let n = 0;
    for (let g = 0; g < N_REGIMES; g++) n += r.counts[c * N_REGIMES + g];
    return n;
  };
  // Round 0: every channel at the floor. It also tells when each feature starts scoring, hence each target.
  const floorVector = vector(new Map(channels.map((ch) => [ch.c, search.lo])));
  const first = await runAll(ctx, ctx.instruments.map((inst) => ({ config, configKey: key, instrument: inst, thresholds: floorVector, endTsNs: endNs, boundaries, rows: false })));
  const rates: number[][] = [];
  const searches = ctx.instruments.map((inst, i) => {
    const hours = channels.map((ch) => exposureHours(inst, first[i].warmNs, FEATURES.indexOf(ch.feature), from, endNs));
    // Per instrument: the channels that score share the instrument's target evenly.
    const scoring = hours.filter((h) => h > 0).length;
    const r = ctx.per === 'instrument' ? ratePerHour / Math.max(1, scoring) : ratePerHour;
    rates.push(channels.map(() => r));
    return channels.map((ch, k) => {
      const s = new ChannelSearch(r * hours[k], hours[k], search);
      if (hours[k] > 0) s.observe(search.lo, count(first[i], ch.c));
      return s;
    });
  });
  const total = ctx.instruments.length * channels.length;
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const tasks: UnitTask[] = [];
    const plan: { i: number; proposals: number[][] }[] = [];
    ctx.instruments.forEach((inst, i) => {
      const proposals = searches[i].map((s) => s.propose());
      const vectors = Math.max(0, ...proposals.map((p) => p.length));
      for (let j = 0; j < vectors; j++) {
        const values = new Map<number, number>();
        channels.forEach((ch, k) => { if (j < proposals[k].length) values.set(ch.c, proposals[k][j]); });
        tasks.push({ config, configKey: key, instrument: inst, thresholds: vector(values), endTsNs: endNs, boundaries, rows: false });
      }
      if (vectors > 0) plan.push({ i, proposals });
    });
    const done = searches.reduce((a, row) => a + row.filter((s) => s.done).length, 0);
    ctx.progress({ ...label, round, channelsDone: done, channels: total });
    if (tasks.length === 0) break;
    const results = await runAll(ctx, tasks);
    let t = 0;
    for (const { i, proposals } of plan) {
      const vectors = Math.max(...proposals.map((p) => p.length));
      for (let j = 0; j < vectors; j++, t++) {
        channels.forEach((ch, k) => { if (j < proposals[k].length) searches[i][k].observe(proposals[k][j], count(results[t], ch.c)); });
      }
    }
  }
  return ctx.instruments.map((inst, i) => ({ inst, fits: searches[i].map((s) => s.result()), targets: searches[i].map((s) => s.target), rates: rates[i] }));
}

/** Per channel, the median of the instruments' fitted thresholds: the base an instrument without its own gets. */
function fallbacks(ctx: Context, fits: InstrumentFit[]): Map<number, number> {
  const out = new Map<number, number>();
  ctx.channels.forEach((ch, k) => {
    const values = fits.map((f) => f.fits[k]).filter((f) => f.status !== 'silent' && f.status !== 'unobserved').map((f) => f.threshold).sort((a, b) => a - b);
    if (values.length === 0) return;
    const mid = values.length >> 1;
    out.set(ch.c, values.length % 2 === 1 ? values[mid] : Math.sqrt(values[mid - 1] * values[mid]));
  });
  return out;
}

/** The configuration fitted thresholds run under: the user's, with the output's modes and fallback thresholds. */
function fittedConfig(ctx: Context, fits: InstrumentFit[]): Config {
  return { ...ctx.config, thresholds: thresholdTable(ctx.config, ctx.channels, fallbacks(ctx, fits)), instruments: {} };
}

const thresholdsOf = (ctx: Context, f: InstrumentFit): number[] => {
  const v = new Array<number>(N_CHANNELS).fill(NaN);
  ctx.channels.forEach((ch, k) => { v[ch.c] = f.fits[k].threshold; });
  return v;
};

function rate(alerts: number, hours: number, targetAlerts: number): RateFigures {
  const half = targetAlerts > 0 ? 1.96 / Math.sqrt(targetAlerts) : NaN;
  return {
    alerts, hours, perHour: hours > 0 ? alerts / hours : NaN, targetAlerts,
    ratio: targetAlerts > 0 ? alerts / targetAlerts : NaN, poisson95: [Math.max(0, 1 - half), 1 + half],
  };
}

const FITTED: ReadonlySet<ChannelStatus> = new Set(['fitted', 'tail', 'capped']);

/** Replay the fitted thresholds over the splits (state carried across) and report each split. */
async function validate(ctx: Context, fits: InstrumentFit[], boundaries: bigint[], rows: boolean): Promise<{ splits: SplitReport[]; channels: ChannelReport[]; results: UnitResult[] }> {
  const config = fittedConfig(ctx, fits);
  const key = configKeyOf(config);
  const endNs = boundaries[boundaries.length - 1];
  const results = await runAll(ctx, fits.map((f) => ({ config, configKey: key, instrument: f.inst, thresholds: thresholdsOf(ctx, f), endTsNs: endNs, boundaries, rows })));
  const resolved = resolveThresholds(config.thresholds);
  const splits: SplitReport[] = [];
  const channels: ChannelReport[] = [];
  fits.forEach((f) => {
    ctx.channels.forEach((ch, k) => {
      const fitK = f.fits[k];
      channels.push({
        instrument: f.inst.name, feature: ch.feature, detector: ch.detector, mode: resolved[ch.c].mode, status: fitK.status,
        threshold: Number.isNaN(fitK.threshold) ? null : fitK.threshold, probes: fitK.probes, ...(fitK.tail ? { tail: fitK.tail } : {}),
        splits: [],
      });
    });
  });
  for (let s = 0; s + 1 < boundaries.length; s++) {
    const from = boundaries[s], to = boundaries[s + 1];
    let instrumentHours = 0;
    let fa = 0, fh = 0, ft = 0, aa = 0, ah = 0, at = 0;
    const byIF = new Map<string, { instrument: string; feature: FeatureName; alerts: number; hours: number; targetPerHour: number }>();
    const byDet = new Map<DetectorName, { alerts: number; hours: number; target: number }>();
    const regimeAlerts = new Array<number>(N_REGIMES).fill(0);
    const regimeHours = new Array<number>(N_REGIMES).fill(0);
    const regimeTarget = new Array<number>(N_REGIMES).fill(0);
    fits.forEach((f, i) => {
      const r = results[i];
      const lo = f.inst.firstTsNs > from ? f.inst.firstTsNs : from;
      const hi = f.inst.lastTsNs < to ? f.inst.lastTsNs : to;
      instrumentHours += hi > lo ? Number(hi - lo) / NS_PER_HOUR : 0;
      let instFitted = 0, instRate = 0;
      ctx.channels.forEach((ch, k) => {
        const perHour = f.rates[k];
        const hours = exposureHours(f.inst, r.warmNs, FEATURES.indexOf(ch.feature), from, to);
        const byRegime = {} as Record<RegimeName, number>;
        let alerts = 0;
        for (let g = 0; g < N_REGIMES; g++) {
          const n = r.counts[(s * N_CHANNELS + ch.c) * N_REGIMES + g];
          byRegime[REGIMES[g]] = n;
          alerts += n;
        }
        const target = perHour * hours;
        channels[i * ctx.channels.length + k].splits.push({ ...rate(alerts, hours, target), byRegime });
        if (hours <= 0) return;
        aa += alerts; ah += hours; at += target;
        if (FITTED.has(f.fits[k].status)) {
          fa += alerts; fh += hours; ft += target; instFitted++; instRate += perHour;
          for (let g = 0; g < N_REGIMES; g++) regimeAlerts[g] += byRegime[REGIMES[g]];
        }
        const kIF = `${f.inst.name}\u0000${ch.feature}`;
        const e = byIF.get(kIF) ?? { instrument: f.inst.name, feature: ch.feature, alerts: 0, hours: 0, targetPerHour: 0 };
        e.alerts += alerts; e.hours = Math.max(e.hours, hours); e.targetPerHour += perHour;
        byIF.set(kIF, e);
        const d = byDet.get(ch.detector) ?? { alerts: 0, hours: 0, target: 0 };
        d.alerts += alerts; d.hours += hours; d.target += target;
        byDet.set(ch.detector, d);
      });
      // Regime time counts once per fitted channel (the rate per regime is per channel-hour), and at their targets.
      for (let g = 0; g < N_REGIMES; g++) {
        const h = r.regimeNs[s * N_REGIMES + g] / NS_PER_HOUR;
        regimeHours[g] += h * instFitted;
        regimeTarget[g] += h * instRate;
      }
    });
    splits.push({
      name: s === 0 ? 'fit' : 'validation', fromNs: from.toString(), toNs: to.toString(), instrumentHours,
      fitted: rate(fa, fh, ft), all: rate(aa, ah, at),
      byInstrumentFeature: [...byIF.values()].map((e) => ({
        instrument: e.instrument, feature: e.feature, alerts: e.alerts, hours: e.hours,
        perHour: e.hours > 0 ? e.alerts / e.hours : NaN, targetPerHour: e.targetPerHour,
      })),
      byDetector: [...byDet].map(([detector, d]) => ({ detector, alerts: d.alerts, hours: d.hours, perHour: d.hours > 0 ? d.alerts / d.hours : NaN, ratio: d.target > 0 ? d.alerts / d.target : NaN })),
      byRegime: REGIMES.map((regime, g) => ({
        regime, alerts: regimeAlerts[g], instrumentHours: regimeHours[g],
        perHourPerChannel: regimeHours[g] > 0 ? regimeAlerts[g] / regimeHours[g] : NaN,
        ratio: regimeTarget[g] > 0 ? regimeAlerts[g] / regimeTarget[g] : NaN,
      })),
    });
  }
  return { splits, channels, results };
}

/** The labelled objective of alert rows over rows [fromRow, toRow) of each labelled instrument. */
function objectiveOf(ctx: Context, labels: NonNullable<CalibrateOptions['labels']>, results: UnitResult[], rowRange: (i: number) => [number, number]): number {
  const files: NabFileScore[] = [];
  const cost = NAB_PROFILES[labels.profile];
  ctx.instruments.forEach((inst, i) => {
    const label = labels.labels.get(inst.name);
    if (!label) return;
    const [from, to] = rowRange(i);
    if (to <= from) return;
    const tsMs = new Array<number>(to - from);
    for (let j = from; j < to; j++) tsMs[j - from] = nsToMs(ctx.data.columns.tsNs[inst.start + j]);
    const scores = new Uint8Array(to - from);
    for (const row of results[i].alertRows ?? []) if (row >= from && row < to) scores[row - from] = 1;
    files.push(scoreFile({ tsMs, scores, windows: label.windows }, 1, cost));
  });
  if (files.length === 0) return NaN;
  return labels.objective === 'f1' ? detectionMetrics(files).f1 : totalScore(files).normalized;
}

/** Rows (event indices within the instrument) before time t. */
function rowsBefore(ctx: Context, inst: InstrumentRange, t: bigint): number {
  const ts = ctx.data.columns.tsNs;
  let j = inst.start;
  while (j < inst.end && ts[j] < t) j++;
  return j - inst.start;
}

export async function calibrate(o: CalibrateOptions): Promise<CalibrationResult> {
  const started = performance.now();
  const config = resolveConfig({ autoRegister: true, ...o.config });
  const searchOpts = { ...DEFAULT_SEARCH, ...o.search };
  const floor = config.thresholdFloor > 0 ? config.thresholdFloor : 1e-3;
  const search: SearchOptions = { ...searchOpts, lo: floor, hi: config.scoreCap };
  const workers = o.workers ?? Math.max(1, availableParallelism());
  let runs = 0, events = 0;
  const progress = (p: Omit<CalibrationProgress, 'runs' | 'events'>) => o.onProgress?.({ ...p, runs, events });

  const data = await loadCalibrationData(o.inputs, { onProgress: (bytesRead, n) => progress({ phase: 'read', bytesRead, eventsRead: n }) });
  let instruments = data.instruments;
  if (o.instruments !== undefined) {
    const known = new Map(instruments.map((i) => [i.name, i]));
    for (const name of o.instruments) {
      if (!known.has(name)) throw new CalibrationError(`--instruments: no instrument ${JSON.stringify(name)} in the input (instruments: ${[...known.keys()].slice(0, 10).join(', ') || 'none'})`);
    }
    instruments = o.instruments.map((n) => known.get(n)!);
  }
  if (instruments.length === 0) throw new CalibrationError('the input holds no events');
  const channels = enabledChannels(config);
  if (channels.length === 0) throw new CalibrationError('the configuration enables no channel (every feature is off, or has no detector)');
  if (o.labels) {
    const labelled = instruments.filter((i) => o.labels!.labels.get(i.name) !== undefined);
    if (labelled.length === 0) {
      throw new CalibrationError(`--labels: no instrument of the input has windows there (instruments: ${instruments.slice(0, 5).map((i) => JSON.stringify(i.name)).join(', ')}; label keys: ${o.labels.labels.keys().slice(0, 5).map((k) => JSON.stringify(k)).join(', ')})`);
    }
  }

  // Split boundaries over the whole span (every instrument's): B_0 = first event, the last boundary one past the last.
  const T0 = data.firstTsNs, T1 = data.lastTsNs + 1n;
  const span = T1 - T0;
  const at = (fraction: number) => T0 + BigInt(Math.round(Number(span) * fraction));
  const folds: { fitEnd: bigint; valEnd: bigint | null }[] = [];
  if (o.folds !== undefined) {
    for (let k = 1; k <= o.folds; k++) folds.push({ fitEnd: at(k / (o.folds + 1)), valEnd: k === o.folds ? T1 : at((k + 1) / (o.folds + 1)) });
  } else {
    const split = o.split ?? 0.7;
    folds.push(split >= 1 ? { fitEnd: T1, valEnd: null } : { fitEnd: at(split), valEnd: T1 });
  }

  const exec = executor(data, workers);
  const searchConfig: Config = { ...config, thresholds: thresholdTable(config, channels, new Map()), instruments: {} };
  const ctx: Context = { data, config, searchConfig, channels, instruments, exec, search, per: o.per ?? 'channel', runs: 0, events: 0, progress: () => {} };
  const sync = () => { runs = ctx.runs; events = ctx.events; };
  ctx.progress = (p) => { sync(); progress(p); };
  try {
    // Labels: choose the rate first, on the (last) fit split.
    let ratePerHour = o.targetPerHour;
    let selection: CalibrationReport['selection'];
    if (o.labels) {
      const L = o.labels;
      const { fitEnd, valEnd } = folds[folds.length - 1];
      const grid: NonNullable<CalibrationReport['selection']>['grid'] = [];
      for (let k = 0; k < LABEL_GRID; k++) {
        const r = L.maxRatePerHour / 2 ** k;
        const fits = await fit(ctx, fitEnd, r, { phase: 'select', fold: k + 1, folds: LABEL_GRID });
        const boundaries = valEnd === null ? [T0, fitEnd] : [T0, fitEnd, valEnd];
        const v = await validate(ctx, fits, boundaries, true);
        const fitRows = (i: number): [number, number] => [0, rowsBefore(ctx, instruments[i], fitEnd)];
        const valRows = (i: number): [number, number] => [rowsBefore(ctx, instruments[i], fitEnd), v.results[i].events];
        // The ceiling is in the target's unit: per channel-hour, or per instrument-hour.
        const fitSplit = v.splits[0];
        const achieved = ctx.per === 'instrument' ? fitSplit.all.alerts / fitSplit.instrumentHours : fitSplit.all.perHour;
        grid.push({
          targetPerHour: r, achievedPerHour: achieved, objective: objectiveOf(ctx, L, v.results, fitRows),
          underCeiling: !(achieved > L.maxRatePerHour), validationObjective: valEnd === null ? null : objectiveOf(ctx, L, v.results, valRows),
        });
      }
      // The best objective under the ceiling; ties go to the lower rate (fewer alerts for the same score).
      let best = -1;
      grid.forEach((g, k) => {
        if (!g.underCeiling || Number.isNaN(g.objective)) return;
        if (best < 0 || g.objective > grid[best].objective) best = k;
      });
      if (best < 0) best = grid.length - 1;
      ratePerHour = grid[best].targetPerHour;
      selection = { objective: L.objective, profile: L.profile, maxRatePerHour: L.maxRatePerHour, chosenPerHour: ratePerHour, grid };
    }

    const foldReports: FoldReport[] = [];
    let outputFits: InstrumentFit[] = [];
    let fittedOn = { from: T0, to: T0 };
    for (let k = 0; k < folds.length; k++) {
      const { fitEnd, valEnd } = folds[k];
      const before = ctx.runs;
      const label = { phase: 'fit' as const, fold: k + 1, folds: folds.length };
      const fits = await fit(ctx, fitEnd, ratePerHour, label);
      ctx.progress({ ...label, phase: 'validate' });
      const v = await validate(ctx, fits, valEnd === null ? [T0, fitEnd] : [T0, fitEnd, valEnd], false);
      foldReports.push({ fold: k + 1, splits: v.splits, channels: v.channels, runs: ctx.runs - before });
      outputFits = fits;
      fittedOn = { from: T0, to: fitEnd };
    }
    if (o.refit && folds[folds.length - 1].fitEnd < T1) {
      outputFits = await fit(ctx, T1, ratePerHour, { phase: 'fit', fold: folds.length + 1, folds: folds.length + 1 });
      fittedOn = { from: T0, to: T1 };
    }

    // The output: the user's configuration with the fitted table and per-instrument values.
    const table = thresholdTable(config, channels, fallbacks(ctx, outputFits));
    const fitted: InstrumentThresholds = {};
    const unfitted: CalibrationReport['unfitted'] = [];
    for (const f of outputFits) {
      const entry: Record<string, number> = {};
      channels.forEach((ch, k) => {
        const r = f.fits[k];
        if (!Number.isNaN(r.threshold)) entry[ch.key] = r.threshold;
        const note = {
          belowTarget: `${r.expectedAlerts} alerts at the floor ${floor}, fewer than the ${f.targets[k].toFixed(2)} targeted: the threshold is the floor`,
          silent: `no alert even at the floor ${floor}: no per-instrument threshold (the channel's base, ${table[ch.key].threshold}, applies)`,
          capped: `more alerts than targeted even at the score cap ${config.scoreCap}`,
        } as Partial<Record<ChannelStatus, string>>;
        const text = note[r.status];
        if (text !== undefined) unfitted.push({ instrument: f.inst.name, channel: ch.key, status: r.status, ...(r.status === 'belowTarget' ? { alertsAtFloor: r.expectedAlerts } : {}), note: text });
      });
      if (Object.keys(entry).length > 0) fitted[f.inst.name] = entry;
    }
    const kept = Object.keys(config.instruments).filter((name) => !outputFits.some((f) => f.inst.name === name));
    const instrumentsOut: InstrumentThresholds = {};
    for (const name of kept) instrumentsOut[name] = config.instruments[name];
    Object.assign(instrumentsOut, fitted);
    const output: Record<string, unknown> = { ...o.config, thresholds: table, instruments: instrumentsOut };

    sync();
    const report: CalibrationReport = {
      targetPerHour: ratePerHour, per: ctx.per,
      method: {
        split: o.folds === undefined ? (o.split ?? 0.7) : null, folds: o.folds ?? null, refit: o.refit === true, workers,
        eps: search.eps, nMin: search.nMin, floor, scoreCap: config.scoreCap,
      },
      data: {
        files: data.files.map((f) => ({ path: f.path, format: f.format, events: f.stats.events.trade + f.stats.events.quote + f.stats.events.mark + f.stats.events.option + f.stats.events.value })),
        events: data.columns.n, fromNs: T0.toString(), toNs: (T1 - 1n).toString(), hours: Number(span) / NS_PER_HOUR,
        instruments: instruments.map((i) => ({ name: i.name, events: i.end - i.start, hours: Number(i.lastTsNs - i.firstTsNs) / NS_PER_HOUR })),
      },
      folds: foldReports,
      output: {
        fittedOn: { fromNs: fittedOn.from.toString(), toNs: fittedOn.to.toString() },
        instruments: Object.keys(fitted).length, channels: Object.values(fitted).reduce((a, e) => a + Object.keys(e).length, 0), keptFromConfig: kept,
      },
      unfitted,
      ...(selection ? { selection } : {}),
      runs, events, seconds: (performance.now() - started) / 1000,
    };
    return { report, output, ...(o.keepData ? { data } : {}) };
  } finally {
    await exec.close();
  }
}

