// The injected-anomaly harness (scripts/inject-eval.ts, `npm run eval:inject`; docs/eval.md, "Injected anomalies
// on real captures"): per capture, anomaly type and seeded placement, the engine runs on a copy of the capture with
// that one anomaly, and each channel (feature.detector) that alerts on the anomaly's instrument within the detection
// window is credited with a detection; each channel's false alarms are its alerts on the untouched capture.
//
// Channels are discovered, not listed: the rows are every channel the configuration enables on a feature the
// captures feed (the features' `detectors`), and every feature.detector name any alert carried, so that a channel
// the engine adds (the learned `vector.hst`, ...) appears as soon as a configuration turns it on. A learned channel
// the configuration enables (src/abi.ts LEARNED, learnedEnabled) is a row once it stepped on a capture, alert or
// not; one that never stepped (RLS without an index) is listed as idle.
//
// Sweeps: the same placements rerun with one channel's threshold at each of a list of values (its mode kept), for
// a detection / false-alarm trade-off per threshold. Index: with `indexFrom`, mark events whose index is another
// capture's mid are merged into each capture's main instrument (withIndexMarks), and the fair-value anomaly can go in.
import { basename } from 'node:path';
import { ALERT_DETECTORS, ALERT_FEATURES, DETECTORS, FEATURES, LEARNED, N_TABLE_CHANNELS, channelIndex, channelName, type AlertDetectorName, type AlertFeatureName, type FeatureName, type ModeName } from '../abi.js';
import { ConfigError, learnedEnabled, resolveConfig, resolveThresholds, type Config } from '../config.js';
import { Engine, type Alert } from '../engine.js';
import type { EventBatch } from '../events.js';
import { mulberry32 } from '../random.js';
import {
  ANOMALY_TYPES, BAND_SECONDS, BAND_Z, checkBands, chiSquareSurvival, hasDepth, indexAt, jointRarity, mainInstrument, measureSeconds, quoteMids, readCapture, SECOND_NS,
  withIndexMarks, type AnomalyType, type BandCheck, type IndexSeries, type SecondFeature,
} from './inject.js';

/**
 * Default detection window: 6 s from the anomaly's start. The longest anomalies last 5 s (the one-sided book, the
 * multivariate ones), and a per-second (bucket) feature is observed when the first event after its second arrives:
 * 6 s sees every anomalous second observed, with a second to spare. Longer would credit slow detections of a brief
 * anomaly and chance alarms (a channel at r false alarms an hour alerts by chance in a window with probability
 * ~ r x 6 / 3600; placements near its untouched alerts are excluded anyway).
 */
export const DEFAULT_DELAY_MS = 6000;
export const DEFAULT_PER = 10;
export const DEFAULT_SEED = 1;

export interface InjectEvalOptions {
  captures: string[];
  /** Engine configuration (merged over the defaults; autoRegister is set). */
  config?: Record<string, unknown>;
  /** Placements per anomaly type per capture. */
  per?: number;
  seed?: number;
  /** Detection window after an anomaly's start, ms. */
  delayMs?: number;
  types?: readonly AnomalyType[];
  /** Channels to rerun at other thresholds ("vector.hst" at 5, 6, 7, 8): the same placements, the channel's mode kept. */
  sweeps?: readonly SweepSpec[];
  /**
   * A capture whose main instrument's mid is the index of the others: each other capture gets a mark event a second
   * for its main instrument (f0 its own mid, f1 this mid; withIndexMarks), and the `needsIndex` types go in. The
   * index capture itself gets none (it is the index). Must overlap the others in time.
   */
  indexFrom?: string;
  /** Progress lines (stderr in the script). */
  log?: (line: string) => void;
}

export interface Cell { found: number; placed: number; rate: number | null; medianDelayMs: number | null }

export interface SweepSpec { channel: string; values: number[] }

export interface SweepRow {
  threshold: number;
  detection: Record<string, Cell>;
  /** The channel's alerts on the untouched captures at this threshold, and per instrument-hour. */
  falseAlarms: number;
  falseAlarmsPerHour: number;
  /**
   * The channel's points at or above the threshold on the untouched captures (never more at a higher threshold of a
   * static channel; its alerts can be: where a lower threshold holds one episode through two peaks, a higher one
   * ends it between them and alerts twice).
   */
  exceedances: number;
  /** The detection rate chance alone gives at that rate: 1 - exp(-rate x window), for comparison with the cells. */
  chance: number;
}

export interface SweepResult { channel: string; mode: ModeName; rows: SweepRow[] }

export interface ChannelRow {
  channel: string;
  /** By anomaly type. */
  detection: Record<string, Cell>;
  /** Alerts on the untouched captures, all instruments. */
  falseAlarms: number;
  /** falseAlarms per instrument-hour. */
  falseAlarmsPerHour: number;
}

export interface CaptureResult {
  capture: string;
  /** The instrument the anomalies go into (the capture's busiest) and its events. */
  instrument: number;
  events: number;
  /** Every instrument's span, summed. */
  instrumentHours: number;
  depth: boolean;
  untouchedAlerts: { channel: string; second: number }[];
  /** Seconds (since the epoch) eligible for a placement, and by type the ones taken (none: `n/a`, no depth). */
  eligibleSeconds: number;
  placements: Record<string, number[]>;
  /** With an index: the capture it came from, the marks merged in, and the seconds the two overlap. */
  index?: { from: string; marks: number; overlapSeconds: number };
  /** Multivariate placements tried and refused because the injected stream left a band (another was taken). */
  outOfBand: Record<string, number>;
  /** Multivariate placements in band but refused because their d^2 was below the type's minD2 (another was taken). */
  lowD2: Record<string, number>;
  /** Multivariate: per type, the d^2 (jointRarity) of each placement taken, in the order of `placements`. */
  d2: Record<string, number[]>;
  /** By type, by channel: the placements it found in this capture ("any channel" included). */
  found: Record<string, Record<string, number>>;
}

export interface InjectEvalReport {
  options: { per: number; seed: number; delayMs: number; bandSeconds: number; bandZ: number; config: Record<string, unknown> | 'default'; indexFrom?: string };
  types: { name: string; kind: string; summary: string; durationMs: number; needsDepth: boolean; needsIndex: boolean; expected: string[]; sets: string[]; params: Record<string, number | string> }[];
  captures: CaptureResult[];
  instrumentHours: number;
  channels: ChannelRow[];
  /** Channels the configuration enables that never stepped or observed on any capture (no row: nothing to judge). */
  idle: string[];
  any: ChannelRow;
  /** Per swept channel, a row per threshold (the same placements as the table). */
  sweeps: SweepResult[];
  /** Multivariate types: over their placements, per feature the largest |z| against its band. */
  bands: Record<string, {
    placements: number; maxAbsZ: Partial<Record<SecondFeature, number>>;
    /**
     * Joint rarity (jointRarity): each placement's squared Mahalanobis distance (the median over its seconds of the
     * set features' band-standardised point against their Pearson correlation over the band window), their median,
     * the chi-square tail (dof = features set) at that median, and the least and largest placement's d^2.
     */
    d2: number[]; dof: number; medianD2: number | null; medianTail: number | null;
  }>;
  runtimeMs: number;
}

const channelOf = (a: Alert) => `${a.feature}.${a.detector}`;

/** FNV-1a of a string: per capture and type seeds that do not depend on the order things run in. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}

/** The channel index of "feature.detector" (a table channel or a learned one), or -1. */
export function channelOfName(name: string): number {
  const [f, d, extra] = name.split('.');
  if (d === undefined || extra !== undefined) return -1;
  return channelIndex((ALERT_FEATURES as readonly string[]).indexOf(f), (ALERT_DETECTORS as readonly string[]).indexOf(d));
}

/** Whether a resolved configuration enables channel c: its feature and detector, or the learned detector. */
function channelEnabledIn(config: Config, c: number): boolean {
  if (c < 0) return false;
  if (c >= N_TABLE_CHANNELS) return learnedEnabled(config, c);
  const fc = config.features[FEATURES[Math.floor(c / DETECTORS.length)]];
  return fc.enabled && fc.detectors.includes(DETECTORS[c % DETECTORS.length]);
}

/** Channels in the ABI's order (feature then detector, then the learned ones); unknown names after them, alphabetically. */
function channelOrder(a: string, b: string): number {
  const key = (c: string) => {
    const i = channelOfName(c);
    return i < 0 ? Infinity : i;
  };
  const ka = key(a), kb = key(b);
  return ka !== kb ? ka - kb : a < b ? -1 : a > b ? 1 : 0;
}

/** The configuration of one sweep value: the resolved thresholds table with the channel's threshold replaced. */
function sweepConfig(config: Record<string, unknown>, resolved: Config, channel: string, mode: ModeName, threshold: number): Record<string, unknown> {
  return { ...config, thresholds: { ...resolved.thresholds, [channel]: { mode, threshold } } };
}

function run(config: Record<string, unknown>, batch: EventBatch, to = batch.length): Alert[] {
  const engine = Engine.create({ ...config, autoRegister: true });
  return engine.ingest(to === batch.length ? batch : batch.slice(0, to)).alerts;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b), h = s.length >>> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export async function injectEval(opts: InjectEvalOptions): Promise<InjectEvalReport> {
  const started = performance.now();
  const per = opts.per ?? DEFAULT_PER, seed = opts.seed ?? DEFAULT_SEED, delayMs = opts.delayMs ?? DEFAULT_DELAY_MS;
  const types = opts.types ?? ANOMALY_TYPES;
  if (!(Number.isInteger(per) && per >= 1)) throw new RangeError(`per must be an integer >= 1, got ${per}`);
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new RangeError(`seed must be an integer in [0, 2^32 - 1], got ${seed}`);
  if (!(Number.isFinite(delayMs) && delayMs > 0)) throw new RangeError(`delayMs must be a number > 0, got ${delayMs}`);
  if (opts.captures.length === 0) throw new RangeError('no capture given');
  const config = opts.config ?? {};
  const resolved = resolveConfig({ ...config, autoRegister: true }); // validates: a ConfigError names the bad field
  const delayNs = BigInt(Math.round(delayMs * 1e6));
  const log = opts.log ?? (() => {});

  // Sweeps: validated against the configuration before any work.
  const perThreshold = resolveThresholds(resolved.thresholds);
  const variants: { sweep: number; threshold: number; config: Record<string, unknown> }[] = [];
  const sweeps: SweepResult[] = (opts.sweeps ?? []).map((sp, k) => {
    const c = channelOfName(sp.channel);
    if (c < 0) throw new ConfigError('sweep', `${JSON.stringify(sp.channel)} is not a channel ("feature.detector", like "vector.hst" or "spread.zscore")`);
    if (!channelEnabledIn(resolved, c)) throw new ConfigError('sweep', `channel ${sp.channel} is not enabled by the configuration (its feature or detector, or learned.<detector>.enabled)`);
    if (sp.values.length === 0 || !sp.values.every((v) => typeof v === 'number' && v > 0)) throw new ConfigError('sweep', `${sp.channel}: thresholds must be numbers > 0, got ${JSON.stringify(sp.values)}`);
    const mode = perThreshold[c].mode;
    for (const v of sp.values) {
      const cfg = sweepConfig(config, resolved, channelName(c), mode, v);
      resolveConfig({ ...cfg, autoRegister: true });
      variants.push({ sweep: k, threshold: v, config: cfg });
    }
    return { channel: channelName(c), mode, rows: [] };
  });
  const sweepFound = variants.map(() => new Map<string, { found: number; delays: number[] }>()); // type -> ...
  const sweepAlarms = variants.map(() => 0);
  const sweepExceed = variants.map(() => 0);

  // The index: the main instrument's quote mids of one capture.
  let index: { path: string; series: IndexSeries } | undefined;
  if (opts.indexFrom !== undefined) {
    const b = await readCapture(opts.indexFrom);
    if (b.length === 0) throw new Error(`index capture ${opts.indexFrom}: no events`);
    const series = quoteMids(b, mainInstrument(b));
    if (series.tsNs.length === 0) throw new Error(`index capture ${opts.indexFrom}: its main instrument has no two-sided quote`);
    index = { path: opts.indexFrom, series };
  }
  const idle = new Set<string>();

  const channels = new Set<string>();
  const detections = new Map<string, Map<string, { found: number; delays: number[] }>>(); // channel -> type -> ...
  const anyDet = new Map<string, { found: number; delays: number[] }>();
  const placed = new Map<string, number>();
  const falseAlarms = new Map<string, number>();
  const bands: InjectEvalReport['bands'] = {};
  const captures: CaptureResult[] = [];
  let hoursTotal = 0, untouchedTotal = 0;

  for (const path of opts.captures) {
    const t0 = performance.now();
    const src = await readCapture(path);
    if (src.length === 0) throw new Error(`capture ${path}: no events`);
    const id = mainInstrument(src);
    const depth = hasDepth(src, id);
    // With an index (not for the index capture itself): the marks go into every stream the engine sees, untouched and
    // injected, after any injection (so the mark's own mid moves with the anomaly; the index does not).
    const indexed = index !== undefined && basename(index.path) !== basename(path);
    const prep = (b: EventBatch) => (indexed ? withIndexMarks(b, id, index!.series) : b);
    const engineSrc = prep(src);

    // The untouched capture: false alarms, the features it feeds, and what no placement may be near.
    const engine = Engine.create({ ...config, autoRegister: true });
    const untouched = engine.ingest(engineSrc).alerts;
    const spans = new Map<number, [bigint, bigint]>();
    for (let i = 0; i < src.length; i++) {
      const s = spans.get(src.instrument[i]);
      if (s) s[1] = src.tsNs[i]; else spans.set(src.instrument[i], [src.tsNs[i], src.tsNs[i]]);
    }
    const hours = [...spans.values()].reduce((a, [f, l]) => a + Number(l - f) / 3.6e12, 0);
    const untouchedV = variants.map((v, k) => {
      const e = Engine.create({ ...v.config, autoRegister: true });
      const alerts = e.ingest(engineSrc).alerts;
      const ch = sweeps[v.sweep].channel;
      sweepAlarms[k] += alerts.filter((a) => channelOf(a) === ch).length;
      const [f, d] = ch.split('.') as [AlertFeatureName, AlertDetectorName];
      for (const i of spans.keys()) sweepExceed[k] += e.channelStat(i, f, d, 'exceedances');
      return alerts;
    });
    hoursTotal += hours;
    untouchedTotal += untouched.length;
    for (const a of untouched) { channels.add(channelOf(a)); falseAlarms.set(channelOf(a), (falseAlarms.get(channelOf(a)) ?? 0) + 1); }
    for (const f of FEATURES) {
      const fc = resolved.features[f as FeatureName];
      if (!fc?.enabled || fc.detectors.length === 0) continue;
      if (![...spans.keys()].some((i) => engine.featureStat(i, f, 'observations') > 0)) continue;
      for (const d of fc.detectors) channels.add(`${f}.${d}`);
    }
    for (const l of LEARNED) {
      const c = N_TABLE_CHANNELS + l.k;
      if (!learnedEnabled(resolved, c)) continue;
      const f = ALERT_FEATURES[l.feature] as AlertFeatureName, d = ALERT_DETECTORS[l.detector] as AlertDetectorName;
      if ([...spans.keys()].some((i) => engine.channelStat(i, f, d, 'steps') > 0)) channels.add(channelName(c)); else idle.add(channelName(c));
    }
    const series = measureSeconds(src, id);

    // Eligible starts: whole seconds with BAND_SECONDS of history before them (the bands; past every warm-up of the
    // default configuration), the longest anomaly and the window inside the capture, and no untouched alert of the
    // instrument from a cooldown before the start to the window's end (that channel could not alert, or would by
    // itself: either way the placement says nothing about it).
    const firstS = Number(src.tsNs[0] / SECOND_NS) + BAND_SECONDS + 1;
    const longest = Math.max(delayMs, ...types.map((t) => t.durationMs));
    const lastS = Number(src.tsNs[src.length - 1] / SECOND_NS) - Math.ceil(longest / 1000) - 1;
    const quietBefore = BigInt(Math.round((resolved.suppression.cooldownMs + 5000) * 1e6));
    const eligible: number[] = [];
    for (let s = firstS; s <= lastS; s++) {
      const at = BigInt(s) * SECOND_NS;
      if (!untouched.some((a) => a.instrument === id && a.tsNs >= at - quietBefore && a.tsNs <= at + delayNs + SECOND_NS)) eligible.push(s);
    }
    const result: CaptureResult = {
      capture: basename(path), instrument: id, events: src.length, instrumentHours: hours, depth,
      untouchedAlerts: untouched.map((a) => ({ channel: channelOf(a), second: Number(a.tsNs) / 1e9 })),
      eligibleSeconds: eligible.length, placements: {}, outOfBand: {}, lowD2: {}, d2: {}, found: {},
    };
    if (indexed) {
      const s = index!.series, lo = s.tsNs[0] > src.tsNs[0] ? s.tsNs[0] : src.tsNs[0];
      const hi = s.tsNs[s.tsNs.length - 1] < src.tsNs[src.length - 1] ? s.tsNs[s.tsNs.length - 1] : src.tsNs[src.length - 1];
      const overlapSeconds = hi > lo ? Number(hi - lo) / 1e9 : 0;
      if (overlapSeconds === 0) throw new Error(`${basename(path)}: the index capture ${basename(index!.path)} does not overlap it in time`);
      result.index = { from: basename(index!.path), marks: engineSrc.length - src.length, overlapSeconds };
    }
    captures.push(result);
    if (eligible.length === 0) log(`${basename(path)}: no second is eligible for a placement (capture too short, or alerts everywhere)`);

    for (const type of types) {
      if (type.needsDepth && !depth) continue;
      if (type.needsIndex && !indexed) continue;
      const rng = mulberry32((seed ^ hash(`${basename(path)}/${type.name}`)) >>> 0);
      // Stratified: the eligible seconds cut into `per` runs, one placement drawn in each (another of the same run
      // when a multivariate injection leaves its bands).
      const taken: number[] = [], takenD2: number[] = [];
      let refused = 0, lowD2 = 0;
      const n = Math.min(per, eligible.length);
      for (let k = 0; k < n; k++) {
        const chunk = eligible.slice(Math.floor(k * eligible.length / n), Math.floor((k + 1) * eligible.length / n));
        const order = chunk.map((s) => ({ s, r: rng() })).sort((a, b) => a.r - b.r).map((x) => x.s);
        for (const s of order) {
          const at = BigInt(s) * SECOND_NS;
          const batch = type.apply({ src, instrument: id, at, rng, series });
          if (type.kind === 'multivariate') {
            const seconds = Math.ceil(type.durationMs / 1000);
            const measured = measureSeconds(batch, id, { from: indexAt(batch, at - 5n * SECOND_NS), to: indexAt(batch, at + BigInt(seconds + 2) * SECOND_NS) });
            const check: BandCheck = checkBands(series, measured, s, seconds, BAND_SECONDS, type.sets);
            if (!check.inBand) { refused++; continue; }
            const joint = jointRarity(series, measured, type.sets, s, seconds, BAND_SECONDS);
            const d2 = joint?.d2 ?? NaN;
            if (type.minD2 !== undefined && !(d2 >= type.minD2)) { lowD2++; continue; }
            const b = (bands[type.name] ??= { placements: 0, maxAbsZ: {}, d2: [], dof: type.sets.length, medianD2: null, medianTail: null });
            b.placements++;
            b.d2.push(d2);
            takenD2.push(d2);
            for (const [f, v] of Object.entries(check.features)) {
              const key = f as SecondFeature;
              b.maxAbsZ[key] = Math.max(b.maxAbsZ[key] ?? 0, v!.maxAbsZ);
            }
          }
          score(type.name, at, batch);
          taken.push(s);
          break;
        }
      }
      result.placements[type.name] = taken;
      result.outOfBand[type.name] = refused;
      if (type.kind === 'multivariate') { result.lowD2[type.name] = lowD2; result.d2[type.name] = takenD2; }
      placed.set(type.name, (placed.get(type.name) ?? 0) + taken.length);
    }
    log(`${basename(path)}: ${src.length} events, ${eligible.length} eligible seconds, ${untouched.length} untouched alerts, ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // One run: the alerts of the anomaly's instrument from its start to the window's end, per channel the first.
    function score(type: string, at: bigint, injected: EventBatch): void {
      const batch = prep(injected);
      const to = indexAt(batch, at + delayNs + 1n);
      const alerts = run(config, batch, to);
      variants.forEach((v, k) => {
        const ch = sweeps[v.sweep].channel;
        const got = run(v.config, batch, to);
        const before = got.filter((a) => a.tsNs < at).length, was = untouchedV[k].filter((a) => a.tsNs < at).length;
        if (before !== was) throw new Error(`${basename(path)} ${type} at ${at} (${ch} at ${v.threshold}): ${before} alerts before the anomaly, the untouched capture had ${was}`);
        const first = got.find((a) => a.instrument === id && a.tsNs >= at && channelOf(a) === ch);
        if (!first) return;
        const d = sweepFound[k].get(type) ?? { found: 0, delays: [] };
        d.found++; d.delays.push(Number(first.tsNs - at) / 1e6);
        sweepFound[k].set(type, d);
      });
      const before = alerts.filter((a) => a.tsNs < at).length, was = untouched.filter((a) => a.tsNs < at).length;
      if (before !== was) throw new Error(`${basename(path)} ${type} at ${at}: ${before} alerts before the anomaly, the untouched capture had ${was} (the injection changed the stream before its start)`);
      const first = new Map<string, bigint>();
      for (const a of alerts) {
        if (a.instrument !== id || a.tsNs < at) continue;
        channels.add(channelOf(a));
        if (!first.has(channelOf(a))) first.set(channelOf(a), a.tsNs);
      }
      for (const [ch, ts] of first) {
        let byType = detections.get(ch);
        if (!byType) detections.set(ch, (byType = new Map()));
        const d = byType.get(type) ?? { found: 0, delays: [] };
        d.found++; d.delays.push(Number(ts - at) / 1e6);
        byType.set(type, d);
      }
      const mine = (result.found[type] ??= {});
      for (const ch of first.keys()) mine[ch] = (mine[ch] ?? 0) + 1;
      if (first.size > 0) mine['any channel'] = (mine['any channel'] ?? 0) + 1;
      if (first.size > 0) {
        const d = anyDet.get(type) ?? { found: 0, delays: [] };
        d.found++; d.delays.push(Math.min(...[...first.values()].map((ts) => Number(ts - at) / 1e6)));
        anyDet.set(type, d);
      }
    }
  }

  const cell = (d: { found: number; delays: number[] } | undefined, type: string): Cell => {
    const n = placed.get(type) ?? 0, found = d?.found ?? 0;
    return { found, placed: n, rate: n > 0 ? found / n : null, medianDelayMs: median(d?.delays ?? []) };
  };
  const row = (channel: string, det: Map<string, { found: number; delays: number[] }> | undefined, alarms: number): ChannelRow => ({
    channel,
    detection: Object.fromEntries(types.map((t) => [t.name, cell(det?.get(t.name), t.name)])),
    falseAlarms: alarms, falseAlarmsPerHour: hoursTotal > 0 ? alarms / hoursTotal : 0,
  });
  variants.forEach((v, k) => {
    const perHour = hoursTotal > 0 ? sweepAlarms[k] / hoursTotal : 0;
    sweeps[v.sweep].rows.push({
      threshold: v.threshold,
      detection: Object.fromEntries(types.map((t) => [t.name, cell(sweepFound[k].get(t.name), t.name)])),
      falseAlarms: sweepAlarms[k], falseAlarmsPerHour: perHour, exceedances: sweepExceed[k], chance: 1 - Math.exp(-perHour * delayMs / 3.6e6),
    });
  });
  for (const b of Object.values(bands)) {
    const ok = b.d2.filter((x) => Number.isFinite(x));
    b.medianD2 = median(ok);
    b.medianTail = b.medianD2 === null ? null : chiSquareSurvival(b.medianD2, b.dof);
  }
  return {
    options: {
      per, seed, delayMs, bandSeconds: BAND_SECONDS, bandZ: BAND_Z, config: Object.keys(config).length > 0 ? config : 'default',
      ...(index ? { indexFrom: basename(index.path) } : {}),
    },
    types: types.map((t) => ({
      name: t.name, kind: t.kind, summary: t.summary, durationMs: t.durationMs, needsDepth: t.needsDepth, needsIndex: t.needsIndex === true,
      expected: t.expected, sets: t.sets, params: t.params,
    })),
    captures, instrumentHours: hoursTotal,
    channels: [...channels].sort(channelOrder).map((ch) => row(ch, detections.get(ch), falseAlarms.get(ch) ?? 0)),
    idle: [...idle].filter((ch) => !channels.has(ch)).sort(channelOrder),
    any: row('any channel', anyDet, untouchedTotal),
    sweeps,
    bands,
    runtimeMs: performance.now() - started,
  };
}

// ---- The table ---------------------------------------------------------------------------------------------------

const pct = (c: Cell) => (c.rate === null ? 'n/a' : `${Math.round(c.rate * 100)}%`);

/** Rows = channels (and "any channel"), columns = detection rate per anomaly type and false alarms per hour. */
export function formatInjectTable(r: InjectEvalReport): string {
  const head = ['channel', ...r.types.map((t) => t.name), 'false/h'];
  const line = (row: ChannelRow) => [row.channel, ...r.types.map((t) => pct(row.detection[t.name])), row.falseAlarmsPerHour.toFixed(1)];
  const body = r.channels.map(line);
  const anyLine = line(r.any);
  const placedLine = ['placements', ...r.types.map((t) => String(r.any.detection[t.name].placed)), ''];
  const all = [head, ...body, anyLine, placedLine];
  const widths = head.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const fmt = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  const rule = fmt(widths.map((w) => '-'.repeat(w)));
  const out = [fmt(head), ...body.map(fmt), rule, fmt(anyLine), fmt(placedLine)];
  const expected = r.types.filter((t) => t.expected.length > 0).map((t) => `${t.name}: ${t.expected.join(', ')}`);
  out.push('', `expected: ${expected.join('; ')}`);
  if (r.idle.length > 0) out.push(`enabled but never stepped or observed on these captures (no row): ${r.idle.join(', ')}`);
  if (r.options.indexFrom !== undefined) {
    const ix = r.captures.filter((c) => c.index).map((c) => `${c.capture} ${c.index!.marks} marks, ${c.index!.overlapSeconds.toFixed(0)} s overlap`);
    out.push(`index: the mid of ${r.options.indexFrom} (mark events, f1; f0 the instrument's own mid): ${ix.join('; ')}`);
  }
  for (const t of r.types.filter((x) => x.kind === 'multivariate')) {
    const b = r.bands[t.name];
    if (!b) continue;
    const z = Object.entries(b.maxAbsZ).map(([f, v]) => `${f} ${v!.toFixed(2)}`).join(', ');
    const refused = r.captures.reduce((a, c) => a + (c.outOfBand[t.name] ?? 0), 0);
    const low = r.captures.reduce((a, c) => a + (c.lowD2?.[t.name] ?? 0), 0);
    out.push(`${t.name}: largest |z| of a moved feature over ${b.placements} placements: ${z} (band ${r.options.bandZ}; ${refused} placements refused as out of band${low > 0 ? `, ${low} as d^2 below its minimum` : ''})`);
    if (b.medianD2 !== null) {
      const fin = b.d2.filter((x) => Number.isFinite(x));
      out.push(`${' '.repeat(t.name.length)}  joint rarity: median d^2 ${b.medianD2.toFixed(1)} (range ${Math.min(...fin).toFixed(1)}-${Math.max(...fin).toFixed(1)}), chi-square ${b.dof} dof tail ${fmtTail(b.medianTail!)}`);
    }
  }
  for (const sw of r.sweeps) out.push('', formatSweep(r, sw).trimEnd());
  return `${out.join('\n')}\n`;
}

const fmtTail = (p: number) => (p >= 0.01 ? p.toFixed(2) : p.toExponential(1));

/** A sweep: a row per threshold, the channel's detection rate per type, its false alarms per hour, and chance. */
export function formatSweep(r: InjectEvalReport, sw: SweepResult): string {
  const types = r.types.filter((t) => sw.rows.some((x) => x.detection[t.name].placed > 0));
  const head = [`${sw.channel} (${sw.mode})`, ...types.map((t) => t.name), 'false/h', 'chance', 'over/h'];
  const rows = sw.rows.map((x) => [
    String(x.threshold), ...types.map((t) => pct(x.detection[t.name])), x.falseAlarmsPerHour.toFixed(1), `${(x.chance * 100).toFixed(0)}%`,
    (r.instrumentHours > 0 ? x.exceedances / r.instrumentHours : 0).toFixed(0),
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const fmt = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [fmt(head), ...rows.map(fmt), `(chance: the rate an alert at false/h lands in a ${r.options.delayMs / 1000} s window by itself; over/h: points at or above the threshold on the untouched captures per instrument-hour, one alert episode can hold many)`].join('\n') + '\n';
}
