// The tracer: runs events through an Engine one at a time and records, for every (instrument, feature)
// observation, what the detectors saw and decided: the time, the value, the baseline they expected and the scale
// they standardised by, the band that makes in value units, and each enabled detector's score and the threshold in
// force. That is what a report draws (model.ts, html.ts).
//
// Why one event at a time: the engine's state is readable only between ingest calls (feature_stat, channel_stat),
// and a batch would leave only its last observation of each feature. Each event goes through the engine's batch
// region (no copy of the caller's batch, no allocation), so tracing stays O(events): per event one ingest call
// and one `observations` read per traced feature of its instrument, and per observation a handful of reads.
//
// Why the baseline is exact: detectors score a value against the window *before* they learn it (score first, learn
// second), and a feature's windows change only when the feature is observed. So the window statistics read right
// after an observation are exactly the baseline the next observation of that feature is scored against; the tracer
// keeps them until then (and reads them before an instrument's first traced event). One exception: an event that
// closes a time bucket after a run of empty ones observes intensity, volume and quoteRate twice (the bucket, then
// the empty run); only the second value is readable, so it is recorded with the baseline of the first, and the
// panel counts the observations it has no point of (`coalesced`).
//
// Memory is bounded: each panel keeps at most `maxPoints` points (MinMaxBuffer: past it, buckets of observations
// become their minimum and maximum, so spikes survive); alerts are kept exactly, every one.
import {
  ALERT_BYTES, ARENA, C, C_LEN, DETECTORS, FEATURES, N_FIELDS, REJECT_REASONS,
  featureEnabledIndex, featureMaskIndex, featureMinScaleIndex, type DetectorName, type FeatureName,
} from '../abi.js';
import { decodeAlert, type Alert, type Engine, type IngestResult } from '../engine.js';
import type { EventBatch } from '../events.js';
import type { BandSpec, Panel, PanelAlert } from './model.js';

export const DEFAULT_MAX_POINTS = 1_000_000;
/** The fewest points a panel may be limited to: two buckets of two points, and the open bucket's two. */
export const MIN_MAX_POINTS = 16;
const MAX_MAX_POINTS = 1 << 28;
/** 1 / Phi^-1(3/4): the robust z's MAD-to-sigma factor (assembly/channel.ts). */
const MAD_TO_SIGMA = 1.482602218505602;

/** Milliseconds since the epoch from the engine's nanoseconds, exact to the microsecond. */
export function nsToMsExact(ns: bigint): number {
  return Number(ns / 1000n) / 1000;
}

// ---- Bounded series: min/max decimation ----------------------------------------------------------------------

/** Running extremes of every column over a run of rows, with where in the run each was reached. */
class Extremes {
  /** Observations the run stands for (a row of a compacted table stands for several). */
  n = 0;
  /** Rows added: the positions minAt and maxAt count in. */
  rows = 0;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly minAt: Float64Array;
  readonly maxAt: Float64Array;
  tsFirst = NaN;
  tsLast = NaN;
  // The times of column 0's extremes: the rows a bucket emits sit there.
  tsMin = NaN;
  tsMax = NaN;

  constructor(columns: number) {
    this.min = new Float64Array(columns);
    this.max = new Float64Array(columns);
    this.minAt = new Float64Array(columns);
    this.maxAt = new Float64Array(columns);
    this.reset();
  }

  reset(): void {
    this.n = this.rows = 0;
    this.min.fill(NaN);
    this.max.fill(NaN);
    this.minAt.fill(0);
    this.maxAt.fill(0);
    this.tsFirst = this.tsLast = this.tsMin = this.tsMax = NaN;
  }

  add(ts: number, row: ArrayLike<number>, observations: number): void {
    const k = this.rows++;
    this.n += observations;
    if (k === 0) this.tsFirst = ts;
    this.tsLast = ts;
    for (let c = 0; c < this.min.length; c++) {
      const v = row[c];
      if (v !== v) continue; // NaN: no value here (warm-up, no band)
      // Ties keep the first: a flat run emits its first point.
      if (!(v >= this.min[c])) { this.min[c] = v; this.minAt[c] = k; if (c === 0) this.tsMin = ts; }
      if (!(v <= this.max[c])) { this.max[c] = v; this.maxAt[c] = k; if (c === 0) this.tsMax = ts; }
    }
  }

  /** Extends this run by a later one. */
  append(o: Extremes): void {
    if (o.rows === 0) return;
    if (this.rows === 0) this.tsFirst = o.tsFirst;
    for (let c = 0; c < this.min.length; c++) {
      if (o.min[c] < this.min[c] || (this.min[c] !== this.min[c] && o.min[c] === o.min[c])) {
        this.min[c] = o.min[c]; this.minAt[c] = this.rows + o.minAt[c]; if (c === 0) this.tsMin = o.tsMin;
      }
      if (o.max[c] > this.max[c] || (this.max[c] !== this.max[c] && o.max[c] === o.max[c])) {
        this.max[c] = o.max[c]; this.maxAt[c] = this.rows + o.maxAt[c]; if (c === 0) this.tsMax = o.tsMax;
      }
    }
    this.tsLast = o.tsLast;
    this.rows += o.rows;
    this.n += o.n;
  }
}

type Column = Float64Array | Float32Array;

/**
 * A table of rows (a time and a fixed number of columns) that never holds more than `maxPoints` rows. Up to
 * `maxPoints` observations, every one is a row. Past it, every four rows become two: each column's minimum and
 * maximum over them, in the order they came, at the times of column 0's minimum and maximum (column 0 is the value
 * the alerts are drawn on, so its spikes stay at their own times); from then on each bucket of observations is two
 * rows, and each time the table fills again buckets double. The extremes of every column survive every step; NaNs
 * are skipped. Memory: the arrays grow by doubling up to maxPoints rows, never beyond.
 */
export class MinMaxBuffer {
  readonly maxPoints: number;
  readonly #f32: readonly boolean[];
  #ts: Float64Array;
  #cols: Column[];
  #rows = 0;
  /** Observations per two-row bucket; 0 while every observation is a row. */
  #bucket = 0;
  /** The bucket being filled (decimating only). */
  #open: Extremes;
  #spare: Extremes;
  readonly #scratch: Extremes;
  readonly #row: Float64Array;
  #observations = 0;

  /** `f32[c]`: column c is stored as float32 (scores, thresholds, scales); the others as float64. */
  constructor(f32: readonly boolean[], maxPoints = DEFAULT_MAX_POINTS) {
    if (!Number.isInteger(maxPoints) || maxPoints < MIN_MAX_POINTS || maxPoints > MAX_MAX_POINTS) {
      throw new RangeError(`maxPoints must be an integer in [${MIN_MAX_POINTS}, ${MAX_MAX_POINTS}], got ${maxPoints}`);
    }
    if (!Array.isArray(f32) || f32.length < 1) throw new RangeError('MinMaxBuffer: at least one column');
    this.maxPoints = maxPoints;
    this.#f32 = [...f32];
    // Empty until the first row: a tracer holds a buffer per instrument and feature, and many features of an
    // instrument are never observed (a CSV series observes only its value).
    this.#ts = new Float64Array(0);
    this.#cols = this.#f32.map((s) => (s ? new Float32Array(0) : new Float64Array(0)));
    this.#open = new Extremes(f32.length);
    this.#spare = new Extremes(f32.length);
    this.#scratch = new Extremes(f32.length);
    this.#row = new Float64Array(f32.length);
  }

  get columns(): number { return this.#f32.length; }
  /** Observations pushed. */
  get observations(): number { return this.#observations; }
  /** Observations per two-point bucket; 1 while every observation is a point. */
  get bucketObservations(): number { return this.#bucket === 0 ? 1 : this.#bucket; }
  /** Points `read` returns: the rows and the open bucket's (at most maxPoints). */
  get length(): number { return this.#rows + Math.min(this.#open.rows, 2); }
  /** Bytes of the arrays held (at most maxPoints rows' worth; none before the first row). */
  get bytes(): number { return this.#ts.byteLength + this.#cols.reduce((a, c) => a + c.byteLength, 0); }

  push(ts: number, row: ArrayLike<number>): void {
    this.#observations++;
    if (this.#bucket === 0) {
      if (this.#rows < this.maxPoints) {
        this.#write(this.#rows++, ts, row);
        return;
      }
      // Full: from here on, buckets of four observations. The rows beyond the last whole four open the first.
      const whole = this.#rows - (this.#rows % 4);
      this.#compact(whole);
      for (let i = whole; i < this.maxPoints; i++) this.#open.add(this.#ts[i], this.#readRow(i), 1);
      this.#bucket = 4;
    }
    this.#open.add(ts, row, 1);
    if (this.#open.n >= this.#bucket) this.#close();
  }

  /** Copies of the points: times and each column (float64 or float32 as declared), the open bucket included. */
  read(): { tsMs: Float64Array; columns: Column[] } {
    const n = this.length;
    const tsMs = new Float64Array(n);
    tsMs.set(this.#ts.subarray(0, this.#rows));
    const columns = this.#cols.map((col, c) => {
      const out = this.#f32[c] ? new Float32Array(n) : new Float64Array(n);
      out.set(col.subarray(0, this.#rows));
      return out;
    });
    // The open bucket, emitted into the copies only: the buffer goes on as it was.
    if (this.#open.rows > 0) emit(this.#open, tsMs, columns, this.#rows);
    return { tsMs, columns };
  }

  /** The open bucket is full: two rows, after making room (rows + 2, and a later open bucket's 2, <= maxPoints). */
  #close(): void {
    if (this.#rows + 4 > this.maxPoints) {
      const odd = this.#rows % 4 === 2;
      const spare = this.#spare;
      spare.reset();
      // A last bucket without a partner joins the open one: together they are one bucket of the new size.
      if (odd) for (let i = this.#rows - 2; i < this.#rows; i++) spare.add(this.#ts[i], this.#readRow(i), this.#bucket / 2);
      this.#compact(this.#rows - (odd ? 2 : 0));
      this.#bucket *= 2;
      if (!odd) return; // the open bucket is half of the new size: it goes on filling
      spare.append(this.#open);
      this.#spare = this.#open;
      this.#open = spare;
    }
    if (this.#rows + 2 > this.#ts.length) this.#grow();
    emit(this.#open, this.#ts, this.#cols, this.#rows);
    this.#rows += 2;
    this.#open.reset();
  }

  #readRow(i: number): Float64Array {
    const row = this.#row;
    for (let c = 0; c < this.#cols.length; c++) row[c] = this.#cols[c][i];
    return row;
  }

  #write(i: number, ts: number, row: ArrayLike<number>): void {
    if (i >= this.#ts.length) this.#grow();
    this.#ts[i] = ts;
    for (let c = 0; c < this.#cols.length; c++) this.#cols[c][i] = row[c];
  }

  #grow(): void {
    const size = Math.min(this.maxPoints, Math.max(256, this.#ts.length * 2));
    const ts = new Float64Array(size);
    ts.set(this.#ts);
    this.#ts = ts;
    this.#cols = this.#cols.map((col, c) => {
      const next = this.#f32[c] ? new Float32Array(size) : new Float64Array(size);
      next.set(col);
      return next;
    });
  }

  /** Rows [0, whole) (a multiple of 4), every four become two, in place (row 2g is written after 4g..4g+3 are read). */
  #compact(whole: number): void {
    const e = this.#scratch;
    for (let g = 0; g < whole / 4; g++) {
      e.reset();
      for (let i = 4 * g; i < 4 * g + 4; i++) e.add(this.#ts[i], this.#readRow(i), 1);
      emit(e, this.#ts, this.#cols, 2 * g);
    }
    this.#rows = whole / 2;
  }
}

/** A run's two rows (one if it is one row) at `at`: each column's extremes in the order they came. */
function emit(e: Extremes, ts: Float64Array, cols: Column[], at: number): void {
  // The rows sit at the times of column 0's extremes, in order (its first and last times if it has none).
  let t0 = e.tsFirst, t1 = e.tsLast;
  if (e.tsMin === e.tsMin) [t0, t1] = e.minAt[0] <= e.maxAt[0] ? [e.tsMin, e.tsMax] : [e.tsMax, e.tsMin];
  const two = e.rows > 1;
  ts[at] = t0;
  if (two) ts[at + 1] = t1;
  for (let c = 0; c < cols.length; c++) {
    const first = e.minAt[c] <= e.maxAt[c];
    cols[c][at] = first ? e.min[c] : e.max[c];
    if (two) cols[c][at + 1] = first ? e.max[c] : e.min[c];
  }
}

// ---- The tracer ------------------------------------------------------------------------------------------------

export interface TracerOptions {
  /** Points per panel (one instrument, one feature), at least 16; default 1,000,000. Past it: min/max buckets. */
  maxPoints?: number;
  /** Which instruments to trace (asked once per instrument id, at its first event); default all. */
  instruments?: (id: number) => boolean;
  /** Which features to trace; default every feature the engine's configuration enables. */
  features?: readonly FeatureName[];
  /** An instrument's name for its panels (a Registry's `name`); default its id as text. */
  name?: (id: number) => string;
}

/** What the tracer needs of a feature's configuration (read from the engine's own copy, so it cannot disagree). */
interface FeatureInfo {
  f: number;
  name: FeatureName;
  detectors: DetectorName[];
  minScale: number;
  band: BandSpec;
  /** Index in `detectors` of the band's detector for a `threshold` band, else -1. */
  bandDetector: number;
  /** The EWMA chart's deviation per deviation of the values: sqrt(lambda / (2 - lambda)). */
  chartFactor: number;
}

interface FeatureTrace {
  info: FeatureInfo;
  /** Observations seen so far (the engine's counter). */
  obs: number;
  /** The baseline the next observation is scored against: window count, expected value, scale. */
  count: number;
  expected: number;
  scale: number;
  /** For a 'range' band: the range the next value is judged against. */
  lo: number;
  hi: number;
  coalesced: number;
  buffer: MinMaxBuffer;
  alerts: PanelAlert[];
}

interface InstrumentTrace {
  id: number;
  features: FeatureTrace[];
  /** By feature index, for alerts. */
  byFeature: (FeatureTrace | undefined)[];
}

// Row columns: value, expected, lo, hi (float64), scale (float32), then score and threshold per detector (float32).
const COL_VALUE = 0, COL_EXPECTED = 1, COL_LO = 2, COL_HI = 3, COL_SCALE = 4, COL_DETECTORS = 5;

/**
 * Wraps an Engine: `ingest(batch)` gives the same alerts, rejects and sequence numbers as `engine.ingest(batch)`
 * and records every observation of the traced instruments' features; `panels()` returns them for a report.
 * The engine may be used between calls (thresholds changed, snapshots taken); events it ingests without the tracer
 * are not recorded, and their observations are not seen as the tracer's.
 */
export class Tracer {
  readonly #engine: Engine;
  readonly #maxPoints: number;
  readonly #include: (id: number) => boolean;
  readonly #name: (id: number) => string;
  readonly #features: FeatureInfo[];
  readonly #warmup: number;
  readonly #instruments = new Map<number, InstrumentTrace | null>();
  readonly #row: Float64Array;
  #sink: Alert[] = [];
  readonly #onAlerts = (view: DataView, count: number): void => {
    for (let k = 0; k < count; k++) this.#sink.push(decodeAlert(view, k * ALERT_BYTES));
  };

  constructor(engine: Engine, opts: TracerOptions = {}) {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('Tracer: options must be an object');
    const maxPoints = opts.maxPoints ?? DEFAULT_MAX_POINTS;
    if (!Number.isInteger(maxPoints) || maxPoints < MIN_MAX_POINTS || maxPoints > MAX_MAX_POINTS) {
      throw new RangeError(`Tracer: maxPoints must be an integer in [${MIN_MAX_POINTS}, ${MAX_MAX_POINTS}], got ${maxPoints}`);
    }
    for (const key of ['instruments', 'name'] as const) {
      if (opts[key] !== undefined && typeof opts[key] !== 'function') throw new TypeError(`Tracer: ${key} must be a function`);
    }
    this.#engine = engine;
    this.#maxPoints = maxPoints;
    this.#include = opts.instruments ?? (() => true);
    this.#name = opts.name ?? ((id) => String(id));
    const cfg = engineConfig(engine);
    this.#warmup = cfg[C.WARMUP];
    const enabled = FEATURES.filter((_, f) => cfg[featureEnabledIndex(f)] !== 0 && cfg[featureMaskIndex(f)] !== 0);
    let names: readonly FeatureName[] = enabled;
    if (opts.features !== undefined) {
      if (!Array.isArray(opts.features)) throw new TypeError('Tracer: features must be a list of feature names');
      for (const name of opts.features) {
        if (!(FEATURES as readonly string[]).includes(name)) throw new RangeError(`Tracer: unknown feature ${JSON.stringify(name)} (known: ${FEATURES.join(', ')})`);
        if (!enabled.includes(name)) throw new RangeError(`Tracer: feature ${name} has no detector in the engine's configuration (enabled: ${enabled.join(', ')})`);
      }
      names = [...new Set(opts.features)];
    }
    this.#features = names.map((name) => featureInfo(cfg, FEATURES.indexOf(name)));
    this.#row = new Float64Array(COL_DETECTORS + 2 * DETECTORS.length);
  }

  get engine(): Engine { return this.#engine; }
  get maxPoints(): number { return this.#maxPoints; }

  /** Bytes the traced series hold (alerts aside): bounded by panels x maxPoints x the bytes of a row. */
  get bytes(): number {
    let n = 0;
    for (const t of this.#instruments.values()) for (const ft of t?.features ?? []) n += ft.buffer.bytes;
    return n;
  }

  /** Ingest a batch one event at a time; the same result as engine.ingest(batch), sequence numbers written back. */
  ingest(batch: EventBatch): IngestResult {
    const engine = this.#engine;
    const result: IngestResult = { alerts: [], accepted: 0, rejects: [] };
    this.#sink = result.alerts;
    const r = engine.region();
    const f = r.f;
    for (let i = 0; i < batch.length; i++) {
      const id = batch.instrument[i];
      let traced = this.#instruments.get(id);
      const first = traced === undefined;
      // Its baselines before its first event (empty unless the engine saw it before the tracer); kept once the
      // engine accepts one of its events, so that an instrument it never knew makes no panels.
      if (traced === undefined) {
        traced = this.#include(id) ? this.#start(id) : null;
        if (traced === null) this.#instruments.set(id, null);
      }
      r.tsNs[0] = batch.tsNs[i];
      r.seq[0] = batch.seq[i];
      r.instrument[0] = id;
      r.kind[0] = batch.kind[i];
      for (let k = 0; k < N_FIELDS; k++) f[k][0] = batch.f[k][i];
      const before = result.alerts.length;
      engine.ingestRegion(1, this.#onAlerts);
      // The engine numbers events sent with seq < 0: written back so that the caller can match alerts to events.
      batch.seq[i] = r.seq[0];
      const status = r.status[0];
      if (status !== 0) {
        result.rejects.push({ index: i, reason: REJECT_REASONS[status] ?? 'badKind' });
        continue;
      }
      result.accepted++;
      if (first) this.#instruments.set(id, traced);
      if (traced === null) continue;
      for (let k = before; k < result.alerts.length; k++) {
        const a = result.alerts[k];
        // Panels are per feature: an instrument-level (learned) channel's alert has none (feature id 16 or 17).
        const f = (FEATURES as readonly string[]).indexOf(a.feature);
        if (f < 0) continue;
        traced.byFeature[f]?.alerts.push({
          tsMs: nsToMsExact(a.tsNs), seq: a.seq.toString(), detector: a.detector as DetectorName, severity: a.severity, regime: a.regime,
          mode: a.mode, value: a.value, expected: a.expected, score: a.score, threshold: a.threshold,
        });
      }
      this.#observe(traced, batch.tsNs[i]);
    }
    return result;
  }

  /** The panels traced so far (copies: tracing may go on), one per traced instrument and feature, in first-seen order. */
  panels(): Panel[] {
    const out: Panel[] = [];
    for (const t of this.#instruments.values()) {
      if (t === null) continue;
      const instrument = this.#name(t.id);
      for (const ft of t.features) {
        const { tsMs, columns } = ft.buffer.read();
        const info = ft.info;
        out.push({
          instrument, feature: info.name,
          observations: ft.buffer.observations, bucketObservations: ft.buffer.bucketObservations, coalesced: ft.coalesced,
          tsMs,
          value: columns[COL_VALUE] as Float64Array,
          expected: columns[COL_EXPECTED] as Float64Array,
          lo: columns[COL_LO] as Float64Array,
          hi: columns[COL_HI] as Float64Array,
          scale: columns[COL_SCALE] as Float32Array,
          band: { ...info.band },
          detectors: info.detectors.map((detector, j) => ({
            detector,
            score: columns[COL_DETECTORS + 2 * j] as Float32Array,
            threshold: columns[COL_DETECTORS + 2 * j + 1] as Float32Array,
          })),
          alerts: ft.alerts.map((a) => ({ ...a })),
          windows: [],
        });
      }
    }
    return out;
  }

  /** An instrument seen for the first time: its baselines as they are before its event (empty unless it has history). */
  #start(id: number): InstrumentTrace {
    const features = this.#features.map((info): FeatureTrace => {
      const f32 = [false, false, false, false, true, ...info.detectors.flatMap(() => [true, true])];
      const ft: FeatureTrace = {
        info, obs: 0, count: 0, expected: NaN, scale: NaN, lo: NaN, hi: NaN, coalesced: 0,
        buffer: new MinMaxBuffer(f32, this.#maxPoints), alerts: [],
      };
      const obs = this.#engine.featureStat(id, info.name, 'observations');
      ft.obs = obs === obs ? obs : 0; // NaN: not registered yet (auto-registration registers it on this event)
      this.#readBaseline(id, ft);
      return ft;
    });
    const byFeature: (FeatureTrace | undefined)[] = new Array(FEATURES.length);
    for (const ft of features) byFeature[ft.info.f] = ft;
    return { id, features, byFeature };
  }

  #observe(t: InstrumentTrace, tsNs: bigint): void {
    const engine = this.#engine, id = t.id, row = this.#row;
    let tsMs = NaN;
    for (const ft of t.features) {
      const obs = engine.featureStat(id, ft.info.name, 'observations');
      if (!(obs > ft.obs)) continue;
      ft.coalesced += obs - ft.obs - 1;
      ft.obs = obs;
      if (tsMs !== tsMs) tsMs = nsToMsExact(tsNs);
      const info = ft.info;
      // As the engine decides: no detector scores (and no threshold is in force) until the window holds `warmup`.
      const warm = ft.count >= this.#warmup;
      row[COL_VALUE] = engine.featureStat(id, info.name, 'last');
      row[COL_EXPECTED] = ft.expected;
      row[COL_SCALE] = ft.scale;
      for (let j = 0; j < info.detectors.length; j++) {
        const d = info.detectors[j];
        row[COL_DETECTORS + 2 * j] = warm ? engine.channelStat(id, info.name, d, 'score') : 0;
        row[COL_DETECTORS + 2 * j + 1] = warm ? engine.channelStat(id, info.name, d, 'threshold') : NaN;
      }
      const k = !warm ? NaN
        : info.band.kind === 'threshold' ? row[COL_DETECTORS + 2 * info.bandDetector + 1]
          : info.band.multiplier;
      if (info.band.expected === 'range') {
        // Novelty: no alert while the value stays within the range seen, widened by the threshold (bps of its width).
        row[COL_LO] = ft.lo - k * ft.scale;
        row[COL_HI] = ft.hi + k * ft.scale;
      } else {
        row[COL_LO] = ft.expected - k * ft.scale;
        row[COL_HI] = ft.expected + k * ft.scale;
      }
      ft.buffer.push(tsMs, row);
      this.#readBaseline(id, ft);
    }
  }

  /** The baseline the feature's next observation will be scored against (its windows change only when observed). */
  #readBaseline(id: number, ft: FeatureTrace): void {
    const engine = this.#engine, info = ft.info, name = info.name;
    const count = engine.featureStat(id, name, 'count');
    ft.count = count === count ? count : 0;
    let expected: number, scale: number;
    switch (info.band.expected) {
      case 'median':
        expected = engine.featureStat(id, name, 'median');
        scale = floor(MAD_TO_SIGMA * engine.featureStat(id, name, 'mad'), info.minScale);
        break;
      case 'range': {
        const lo = engine.featureStat(id, name, 'noveltyLow');
        const hi = engine.featureStat(id, name, 'noveltyHigh');
        ft.lo = lo;
        ft.hi = hi;
        expected = (lo + hi) / 2;
        // The width the engine measures an excess in (assembly/novelty.ts), per basis point.
        const r = hi - lo;
        scale = (r > 0 ? r : Math.abs(hi) > 0 ? Math.abs(hi) : 1) / 1e4;
        break;
      }
      case 'ewmaMean':
        expected = engine.featureStat(id, name, 'ewmaMean');
        scale = floor(Math.sqrt(engine.featureStat(id, name, 'ewmaVariance')), info.minScale) * info.chartFactor;
        break;
      default:
        expected = engine.featureStat(id, name, 'mean');
        scale = floor(Math.sqrt(engine.featureStat(id, name, 'variance')), info.minScale);
    }
    // An empty window has no baseline yet.
    ft.expected = ft.count > 0 ? expected : NaN;
    ft.scale = ft.count > 0 ? scale : NaN;
  }
}

/** The engine's floor on a scale, as it applies it (a NaN stays NaN). */
function floor(scale: number, minScale: number): number {
  return scale < minScale ? minScale : scale;
}

/** The engine's configuration as its arena holds it (thresholds changed live included), from one snapshot. */
export function engineConfig(engine: Engine): Float64Array {
  const bytes = engine.snapshot();
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = v.getInt32(ARENA.CFG, true);
  const cfg = new Float64Array(C_LEN);
  for (let i = 0; i < C_LEN; i++) cfg[i] = v.getFloat64(at + 8 * i, true);
  return cfg;
}

function featureInfo(cfg: Float64Array, f: number): FeatureInfo {
  const name = FEATURES[f];
  const mask = cfg[featureMaskIndex(f)];
  const detectors = DETECTORS.filter((_, d) => (mask & (1 << d)) !== 0);
  const has = (d: DetectorName) => detectors.includes(d);
  const w = cfg[C.WINDOW];
  const lambda = cfg[C.CHART_LAMBDA];
  let band: BandSpec;
  if (has('zscore')) {
    band = { kind: 'threshold', detector: 'zscore', multiplier: NaN, expected: 'mean',
      description: `mean ± threshold × standard deviation of the last ${w} values: the z-score flags values outside it` };
  } else if (has('robust')) {
    band = { kind: 'threshold', detector: 'robust', multiplier: NaN, expected: 'median',
      description: `median ± threshold × 1.4826 MAD of the last ${w} values: the robust z flags values outside it` };
  } else if (has('ewma')) {
    band = { kind: 'threshold', detector: 'ewma', multiplier: NaN, expected: 'ewmaMean',
      description: `EWMA mean ± threshold × the EWMA chart's deviation: the chart flags when the smoothed value (not each value) leaves it` };
  } else if (has('cusum')) {
    const k = cfg[C.CUSUM_K];
    band = { kind: 'reference', detector: 'cusum', multiplier: k, expected: 'mean',
      description: `mean ± k × standard deviation of the last ${w} values (k = ${k}): values beyond it add to the CUSUM, which fires when its sum passes the threshold (scores below)` };
  } else if (has('pageHinkley')) {
    const delta = cfg[C.PH_DELTA];
    band = { kind: 'reference', detector: 'pageHinkley', multiplier: delta, expected: 'mean',
      description: `mean ± delta × standard deviation of the last ${w} values (delta = ${delta}): deviations beyond it add to the Page-Hinkley sum (which measures them from a slower running mean, not drawn)` };
  } else if (has('novelty')) {
    band = { kind: 'threshold', detector: 'novelty', multiplier: NaN, expected: 'range',
      description: 'the range of every value seen so far, widened each side by the novelty threshold (bps of its width): novelty flags values outside it, and also 5- and 20-value means outside their own ranges (not drawn); the line is the middle of the range' };
  } else {
    const what = detectors.length === 0 ? 'no detector on this feature' : `${detectors.join(', ')} does not standardise by a scale`;
    band = { kind: 'none', detector: null, multiplier: NaN, expected: 'mean',
      description: `no band: ${what}; the line is the mean of the last ${w} values` };
  }
  return {
    f, name, detectors, minScale: cfg[featureMinScaleIndex(f)], band,
    bandDetector: band.kind === 'threshold' && band.detector !== null ? detectors.indexOf(band.detector) : -1,
    chartFactor: Math.sqrt(lambda / (2 - lambda)),
  };
}
