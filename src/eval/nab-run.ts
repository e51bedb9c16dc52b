// `atc eval nab --data DIR`: atc's detectors over the Numenta Anomaly Benchmark corpus, scored by NAB's method
// (src/eval/nab.ts) at two kinds of threshold:
//   own       - the alerts atc raised with the thresholds it set itself, online, never seeing a label: a row is a
//               detection when one of the channel's alerts fired on it (anomaly score 1, else 0);
//   hindsight - NAB's convention: every row gets an anomaly score in [0, 1] and the one threshold per profile that
//               maximises the corpus score is chosen with the labels (optimizeThreshold).
// The row score of a channel is s / (s + t): its detector score s against the threshold t atc had in force on that
// row, so 0.5 is "at atc's own threshold" for every detector, whatever its units and however its calibrator moved.
// A detector is judged on each feature a value series has: `value` (the value) and `valueChange` (its change since
// the row before). The ensemble is the channels the configuration enables: its own detections are the rows any of
// them alerted on, its row score the largest of theirs.
// The learned (instrument-level) channels the configuration enables over value features (say `learned.hst` with
// `features: ["value", "valueChange"]`) are scored the same way, as channels of their own (`vector.hst`, ...), and
// are part of the ensemble: they are discovered from the configuration (src/abi.ts LEARNED, learnedEnabled), not
// listed, so a learned detector added to the engine appears here once a configuration enables it.
// The scores are also written in NAB's results layout, so that NAB's own scorer can check them.
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CsvReader, csvInstrumentName } from '../adapters/csv.js';
import { ALERT_DETECTORS, ALERT_FEATURES, DETECTORS, FEATURES, LEARNED, N_TABLE_CHANNELS, type AlertDetectorName, type AlertFeatureName } from '../abi.js';
import { type Config, ConfigError, learnedEnabled, resolveConfig } from '../config.js';
import { Engine } from '../engine.js';
import { EventBatch } from '../events.js';
import { Registry } from '../registry.js';
import { applyInstrumentThresholds } from '../instrument-thresholds.js';
import { Tracer } from '../report/index.js';
import type { Panel } from '../report/index.js';
import { UsageError, checkFile, readJson } from '../cli-common.js';
import {
  NAB_PROFILES, PROFILE_NAMES, LabelsError, detectionMetrics, nsToMs, optimizeThreshold, parseLabelWindows, scoreCorpus,
  type ProfileName, type TimeWindow,
} from './nab.js';

/** The features a value series feeds, in this order. */
export const NAB_FEATURES = ['value', 'valueChange'] as const;
export type NabFeature = (typeof NAB_FEATURES)[number];

export interface NabChannel {
  /** A value feature, or the pseudo-feature of a learned channel (`vector`, `fairValue`). */
  feature: AlertFeatureName;
  detector: AlertDetectorName;
  /** `value.novelty`, `vector.hst` */
  name: string;
  /** Enabled by the configuration: part of the ensemble. */
  configured: boolean;
  /** An instrument-level (learned) channel: it has steps, not feature observations. */
  learned: boolean;
}

export interface NabFile {
  /** `realKnownCause/nyc_taxi.csv`: the key of combined_windows.json. */
  key: string;
  category: string;
  file: string;
  path: string;
}

/** One file's rows after the run: times, values, and per channel the row scores and own detections. */
export interface NabFileRun extends NabFile {
  tsNs: BigInt64Array;
  tsMs: Float64Array;
  values: Float64Array;
  /** scores[c][row] in [0, 1]; own[c][row] 1 where channel c alerted. */
  scores: Float32Array[];
  own: Uint8Array[];
  /** The configured channels together: the largest of their row scores, and the rows any of them alerted on. */
  ensemble: { scores: Float32Array; own: Uint8Array };
  alerts: number;
  rejected: number;
}

export interface NabCorpus { dataDir: string; labelsPath: string; files: NabFile[] }

/** The corpus under a NAB checkout: `<dir>/data/<category>/<file>.csv` and `<dir>/labels/combined_windows.json`. */
export async function listNabCorpus(dir: string): Promise<NabCorpus> {
  const dataDir = join(dir, 'data');
  const isDir = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() === true;
  if (!(await isDir(dir))) throw new UsageError(`--data ${dir}: no such directory`);
  if (!(await isDir(dataDir))) throw new UsageError(`--data ${dir}: no data/ directory in it (expected NAB's layout: data/<category>/<file>.csv, labels/combined_windows.json)`);
  const labelsPath = join(dir, 'labels', 'combined_windows.json');
  await checkFile(labelsPath, `--data ${dir}: labels`);
  const files: NabFile[] = [];
  for (const category of (await readdir(dataDir)).sort()) {
    if (!(await isDir(join(dataDir, category)))) continue;
    for (const file of (await readdir(join(dataDir, category))).sort()) {
      if (file.endsWith('.csv')) files.push({ key: `${category}/${file}`, category, file, path: join(dataDir, category, file) });
    }
  }
  if (files.length === 0) throw new UsageError(`--data ${dir}: no .csv series under data/<category>/`);
  return { dataDir, labelsPath, files };
}

/**
 * Every (feature, detector) channel of a value series, `configured` from the configuration's features; then every
 * learned channel the configuration enables over value features (configured: it alerts in the configuration).
 */
export function nabChannels(config: Config): NabChannel[] {
  const out: NabChannel[] = [];
  for (const feature of NAB_FEATURES) {
    const fc = config.features[feature];
    for (const detector of DETECTORS) {
      out.push({ feature, detector, name: `${feature}.${detector}`, configured: fc.enabled && fc.detectors.includes(detector), learned: false });
    }
  }
  const run = runConfig(config);
  for (const l of LEARNED) {
    if (!learnedEnabled(run, N_TABLE_CHANNELS + l.k)) continue;
    const feature = ALERT_FEATURES[l.feature], detector = ALERT_DETECTORS[l.detector];
    out.push({ feature, detector, name: `${feature}.${detector}`, configured: true, learned: true });
  }
  return out;
}

/** The learned sections of a configuration whose `features` are not all value features (they would never step). */
function offValueFeatures(config: Config): string[] {
  return Object.entries(config.learned as unknown as Record<string, { enabled?: boolean; features?: unknown }>)
    .filter(([, s]) => s?.enabled === true && Array.isArray(s.features) && !s.features.every((f) => (NAB_FEATURES as readonly string[]).includes(f as string)))
    .map(([k]) => k);
}

/**
 * The configuration the run uses: the given one, with every detector on for the value features (channels are
 * independent, so the extra ones change nothing the configured ones do), one instrument, registered on sight.
 */
function runConfig(config: Config): Config {
  const c = resolveConfig({ ...config, maxInstruments: 1, autoRegister: true, instruments: {} }); // each file applies its own
  for (const f of FEATURES) c.features[f] = { ...c.features[f], enabled: false };
  for (const f of NAB_FEATURES) c.features[f] = { ...config.features[f], enabled: true, detectors: [...DETECTORS] };
  // A value series has none of the market features: a learned detector over them (HST's default vector) would never
  // step, and its features are disabled here. It stays on only over value features, when a configuration asks.
  const off = offValueFeatures(c);
  if (off.length > 0) {
    const learned = { ...c.learned } as unknown as Record<string, object>;
    for (const k of off) learned[k] = { ...learned[k], enabled: false };
    c.learned = learned as unknown as Config['learned'];
  }
  // The combination's members may name channels disabled here: NAB runs judge each channel on its own, so it is off.
  // RLS regresses one series of an instrument on others; a NAB series is one series: it would never step.
  c.learned = { ...c.learned, combine: { ...c.learned.combine, mode: 'off' }, rls: { ...c.learned.rls, enabled: false } };
  return c;
}

/**
 * Runs one file through its own engine, one row at a time, recording every channel's score and alerts. With
 * `panels`, the rows go through a report tracer (the same alerts and scores) and its panels are added there.
 */
export async function runNabFile(file: NabFile, config: Config, channels: readonly NabChannel[], panels?: Panel[]): Promise<NabFileRun> {
  const registry = new Registry();
  // The instrument is named as every other command names a CSV series (`realKnownCause/nyc_taxi`), so that a
  // configuration from `atc calibrate` applies here too; labels are looked up by the file's key.
  const name = csvInstrumentName(file.path);
  const reader = new CsvReader(file.path, { registry, instrument: name, reuseBatch: true });
  const ts: bigint[] = [];
  const vals: number[] = [];
  for await (const b of reader) {
    for (let i = 0; i < b.length; i++) { ts.push(b.tsNs[i]); vals.push(b.f[0][i]); }
  }
  // NAB lines its scores up with the data file's rows by index: a row dropped here would shift every later one.
  const bad = Object.entries(reader.stats.malformed);
  if (bad.length > 0) {
    throw new UsageError(`--data: ${file.path}: ${bad.reduce((a, [, m]) => a + m.count, 0)} malformed rows (${bad.map(([reason, m]) => `${reason}: ${m.example}`).join('; ')}); every row of a NAB series must be readable`);
  }
  const n = ts.length;
  const engine = Engine.create(runConfig(config), { batchCapacity: 1, alertCapacity: 256 });
  const id = registry.id(name);
  engine.register(id); // idempotent: the id's slot
  // Per-instrument thresholds (`atc calibrate`'s output) for this series.
  const mine = config.instruments[name];
  if (mine !== undefined) applyInstrumentThresholds(engine, registry, { [name]: mine }, 1);
  const region = engine.region();
  const scores = channels.map(() => new Float32Array(n));
  const own = channels.map(() => new Uint8Array(n));
  const chIndex = new Map(channels.map((c, k) => [`${ALERT_FEATURES.indexOf(c.feature)}.${ALERT_DETECTORS.indexOf(c.detector)}`, k]));
  const obs = NAB_FEATURES.map(() => 0);
  const learned = channels.map((c, k) => ({ c, k, steps: 0 })).filter((x) => x.c.learned);
  let alerts = 0, rejected = 0, row = 0;
  const onAlerts = (v: DataView, count: number) => {
    for (let k = 0; k < count; k++) {
      const c = chIndex.get(`${v.getUint8(k * 64 + 20)}.${v.getUint8(k * 64 + 21)}`);
      if (c !== undefined) own[c][row] = 1;
      alerts++;
    }
  };
  // The report shows the features the configuration enables (the ensemble's), with every detector's trace.
  const traced = NAB_FEATURES.filter((f) => channels.some((c) => c.configured && c.feature === f)) as NabFeature[];
  const tracer = panels ? new Tracer(engine, { name: () => file.key, features: traced }) : undefined; // panels by label key
  const one = new EventBatch(1);
  for (row = 0; row < n; row++) {
    if (tracer) {
      one.clear().value(id, ts[row], vals[row], BigInt(row));
      const r = tracer.ingest(one);
      for (const a of r.alerts) {
        const c = chIndex.get(`${(ALERT_FEATURES as readonly string[]).indexOf(a.feature)}.${(ALERT_DETECTORS as readonly string[]).indexOf(a.detector)}`);
        if (c !== undefined) own[c][row] = 1;
        alerts++;
      }
      if (r.rejects.length > 0) { rejected++; continue; }
    } else {
      region.tsNs[0] = ts[row];
      region.seq[0] = BigInt(row);
      region.instrument[0] = id;
      region.kind[0] = 5;
      region.f[0][0] = vals[row];
      engine.ingestRegion(1, onAlerts);
      if (region.status[0] !== 0) { rejected++; continue; }
    }
    // A feature's channels hold this row's scores only if the row made the feature observe (valueChange starts
    // at the second row).
    NAB_FEATURES.forEach((f, j) => {
      const o = engine.featureStat(id, f, 'observations');
      const observed = o !== obs[j];
      obs[j] = o;
      if (!observed) return;
      channels.forEach((c, k) => {
        if (c.feature !== f) return;
        const s = engine.channelStat(id, f, c.detector, 'score');
        const t = engine.channelStat(id, f, c.detector, 'threshold');
        scores[k][row] = s > 0 && t > 0 ? s / (s + t) : 0;
      });
    });
    // A learned channel holds this row's score if it stepped on the row (HST over value features: every row).
    for (const x of learned) {
      const st = engine.channelStat(id, x.c.feature, x.c.detector, 'steps');
      if (st === x.steps) continue;
      x.steps = st;
      const s = engine.channelStat(id, x.c.feature, x.c.detector, 'score');
      const t = engine.channelStat(id, x.c.feature, x.c.detector, 'threshold');
      scores[x.k][row] = s > 0 && t > 0 ? s / (s + t) : 0;
    }
  }
  if (tracer) panels!.push(...tracer.panels());
  const tsNs = BigInt64Array.from(ts);
  return {
    ...file, tsNs, tsMs: Float64Array.from(ts, (t) => nsToMs(t)), values: Float64Array.from(vals), scores, own,
    ensemble: ensembleOf({ scores, own }, channels, n), alerts, rejected,
  };
}

export interface NabDetectorScore {
  name: string;
  configured: boolean;
  own: Record<ProfileName, number> & { detected: number; windows: number; falseAlarms: number };
  hindsight: Record<ProfileName, { threshold: number; score: number }> & { detected: number; falseAlarms: number };
}

export interface NabEvalReport {
  files: number;
  rows: number;
  windows: number;
  seconds: number;
  detectors: NabDetectorScore[];
}

function ensembleOf(run: Pick<NabFileRun, 'scores' | 'own'>, channels: readonly NabChannel[], n: number): NabFileRun['ensemble'] {
  const scores = new Float32Array(n);
  const own = new Uint8Array(n);
  channels.forEach((c, k) => {
    if (!c.configured) return;
    for (let i = 0; i < n; i++) {
      if (run.scores[k][i] > scores[i]) scores[i] = run.scores[k][i];
      own[i] |= run.own[k][i];
    }
  });
  return { scores, own };
}

/** NAB scores of every channel and of the ensemble, own and hindsight, for the three profiles. */
export function scoreNab(runs: readonly NabFileRun[], labels: Map<string, TimeWindow[]>, channels: readonly NabChannel[]): NabDetectorScore[] {
  const entries: { name: string; configured: boolean; scores: (i: number) => ArrayLike<number>; own: (i: number) => ArrayLike<number> }[] = [
    { name: 'ensemble', configured: true, scores: (i) => runs[i].ensemble.scores, own: (i) => runs[i].ensemble.own },
    ...channels.map((c, k) => ({ name: c.name, configured: c.configured, scores: (i: number) => runs[i].scores[k], own: (i: number) => runs[i].own[k] })),
  ];
  return entries.map((e) => {
    const ownSeries = runs.map((r, i) => ({ tsMs: r.tsMs, scores: e.own(i), windows: labels.get(r.key) ?? [] }));
    const hindSeries = runs.map((r, i) => ({ tsMs: r.tsMs, scores: e.scores(i), windows: labels.get(r.key) ?? [] }));
    const own = {} as NabDetectorScore['own'];
    const hindsight = {} as NabDetectorScore['hindsight'];
    for (const p of PROFILE_NAMES) {
      own[p] = scoreCorpus(ownSeries, 1, NAB_PROFILES[p]).normalized;
      const best = optimizeThreshold(hindSeries, NAB_PROFILES[p]);
      hindsight[p] = { threshold: best.threshold, score: scoreCorpus(hindSeries, best.threshold, NAB_PROFILES[p]).normalized };
    }
    const m = detectionMetrics(scoreCorpus(ownSeries, 1, NAB_PROFILES.standard).files);
    own.detected = m.detected; own.windows = m.windows; own.falseAlarms = m.falseAlarms;
    const h = detectionMetrics(scoreCorpus(hindSeries, hindsight.standard.threshold, NAB_PROFILES.standard).files);
    hindsight.detected = h.detected; hindsight.falseAlarms = h.falseAlarms;
    return { name: e.name, configured: e.configured, own, hindsight };
  });
}

/** NAB's row time: `2014-07-01 00:00:00` (UTC). */
function nabTime(tsNs: bigint): string {
  const ms = nsToMs(tsNs);
  const d = new Date(Math.floor(ms));
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** NAB's detector names: letters, digits and underscores (`atc_value_novelty`, `atc_own_ensemble`). */
export const nabDetectorName = (name: string, own: boolean): string => `atc_${own ? 'own_' : ''}${name.replace(/\./g, '_')}`;

/**
 * Writes `<out>/<detector>/<category>/<detector>_<file>.csv` (timestamp,value,anomaly_score) for every detector, its
 * own-threshold twin (scores 0 or 1), and `<out>/thresholds.json` in NAB's config/thresholds.json layout with the
 * thresholds chosen here, so that NAB's scorer (`run.py --score --normalize`) can rescore them.
 */
export async function writeNabResults(out: string, runs: readonly NabFileRun[], channels: readonly NabChannel[], scores: readonly NabDetectorScore[]): Promise<number> {
  let written = 0;
  // Each row's `timestamp,value`, formatted once per file rather than once per detector.
  const rowHeads = runs.map((r) => Array.from(r.values, (v, j) => `${nabTime(r.tsNs[j])},${v}`));
  // Shortest text that reads back as the same double: a threshold written to thresholds.json is one of these
  // scores, and NAB compares with >=, so a rounded score could fall just below its own threshold.
  const fmt = (x: number) => String(x);
  const thresholds: Record<string, Record<string, { score: number; threshold: number }>> = {};
  for (const s of scores) {
    const k = channels.findIndex((c) => c.name === s.name);
    for (const own of [false, true]) {
      const det = nabDetectorName(s.name, own);
      thresholds[det] = {};
      for (const p of PROFILE_NAMES) {
        thresholds[det][p] = own ? { score: s.own[p], threshold: 0.5 } : { score: s.hindsight[p].score, threshold: s.hindsight[p].threshold };
      }
      for (let i = 0; i < runs.length; i++) {
        const r = runs[i];
        const col = own ? (k < 0 ? r.ensemble.own : r.own[k]) : (k < 0 ? r.ensemble.scores : r.scores[k]);
        const lines = ['timestamp,value,anomaly_score'];
        for (let j = 0; j < r.tsMs.length; j++) lines.push(`${rowHeads[i][j]},${fmt(col[j])}`);
        const dir = join(out, det, r.category);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, `${det}_${r.file}`), lines.join('\n') + '\n');
        written++;
      }
    }
  }
  await writeFile(join(out, 'thresholds.json'), JSON.stringify(thresholds, null, 2) + '\n');
  return written;
}

/** Reads the corpus, runs every file, scores. */
export async function evalNab(o: { dataDir: string; config: Config; onProgress?: (done: number, total: number) => void; panels?: Panel[] }): Promise<{ report: NabEvalReport; runs: NabFileRun[]; channels: NabChannel[]; labels: Map<string, TimeWindow[]> }> {
  const t0 = performance.now();
  const corpus = await listNabCorpus(o.dataDir);
  let labels: Map<string, TimeWindow[]>;
  try {
    labels = parseLabelWindows(await readJson(corpus.labelsPath, 'labels'));
  } catch (err) {
    if (err instanceof LabelsError) throw new UsageError(`labels ${corpus.labelsPath}: ${err.message}`);
    throw err;
  }
  const missing = corpus.files.filter((f) => !labels.has(f.key)).map((f) => f.key);
  if (missing.length > 0) throw new UsageError(`labels ${corpus.labelsPath}: no windows for ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`);
  const names = new Set(corpus.files.map((f) => csvInstrumentName(f.path)));
  const strangers = Object.keys(o.config.instruments).filter((k) => !names.has(k));
  if (strangers.length > 0) {
    throw new UsageError(`config: instruments ${strangers.slice(0, 3).map((k) => JSON.stringify(k)).join(', ')}${strangers.length > 3 ? ` and ${strangers.length - 3} more` : ''} name no series of the corpus (series are named "<category>/<file>" without .csv, like ${JSON.stringify(csvInstrumentName(corpus.files[0].path))})`);
  }
  const channels = nabChannels(o.config);
  if (!channels.some((c) => c.configured)) {
    throw new ConfigError('features.value', 'no detector is enabled on the value features (value, valueChange): the ensemble would be empty');
  }
  const runs: NabFileRun[] = [];
  for (const f of corpus.files) {
    runs.push(await runNabFile(f, o.config, channels, o.panels));
    o.onProgress?.(runs.length, corpus.files.length);
  }
  const detectors = scoreNab(runs, labels, channels);
  const windows = runs.reduce((a, r) => a + (labels.get(r.key)?.length ?? 0), 0);
  const rows = runs.reduce((a, r) => a + r.tsMs.length, 0);
  return { report: { files: runs.length, rows, windows, seconds: (performance.now() - t0) / 1e3, detectors }, runs, channels, labels };
}
