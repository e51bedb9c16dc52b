// One unit of a calibration's work: one instrument's events replayed through a fresh engine with one candidate
// threshold per channel, counting alerts by split, channel and regime. The calibration's workers (worker.ts) and
// its inline mode run exactly this function, so the result cannot depend on where it ran.
import { AL, ALERT_BYTES, FEATURES, N_CHANNELS as N_ALL_CHANNELS, N_FIELDS, REGIMES, channelIndex } from '../abi.js';
import type { Config } from '../config.js';
import { Engine } from '../engine.js';
import type { CalibrationColumns, InstrumentRange } from './data.js';

/** Channel indices: the 96 (feature, detector) channels, then the learned ones (96 + k). */
export const N_CHANNELS = N_ALL_CHANNELS;
export const N_REGIMES = REGIMES.length;
/** Events per ingest call: also the resolution at which warm-up ends and regime time are observed. */
export const RUN_BATCH = 1024;

export interface UnitTask {
  /** The engine configuration of every run of this calibration phase (modes set for fitting; see index.ts). */
  config: Config;
  /** A key for `config`: workers keep one engine per key. */
  configKey: string;
  instrument: InstrumentRange;
  /** Per channel c = feature * N_DETECTORS + detector, the instrument's own threshold (NaN: none, the base). */
  thresholds: number[];
  /** Events from the instrument's first up to (not including) the first at or after this time are replayed. */
  endTsNs: bigint;
  /** Split boundaries B_0 < ... < B_K: split s is [B_s, B_s+1). Alerts and time outside every split are not counted. */
  boundaries: bigint[];
  /** Also return the rows (event index within the instrument) that alerted: labelled objectives score them. */
  rows: boolean;
}

export interface UnitResult {
  /** Alerts by [split][channel][regime]: index (s * N_CHANNELS + c) * N_REGIMES + r. */
  counts: Int32Array;
  /** Per feature, the time from which its detectors score (ns; -1 when it never did in the events replayed). */
  warmNs: BigInt64Array;
  /** Time spent in each regime, by [split][regime] (ns, as seen after each batch of RUN_BATCH events). */
  regimeNs: Float64Array;
  events: number;
  /** Rows that alerted, ascending, each once (when asked for). */
  alertRows: Int32Array | null;
}

interface Cached { engine: Engine; fresh: Uint8Array }
const engines = new Map<string, Cached>();

function engineFor(task: UnitTask): Cached {
  let c = engines.get(task.configKey);
  if (c === undefined) {
    if (engines.size >= 4) engines.clear(); // a phase uses one configuration; keep memory bounded across phases
    const engine = Engine.create({ ...task.config, maxInstruments: 1, autoRegister: true, instruments: {} }, { batchCapacity: RUN_BATCH, alertCapacity: 2048 });
    c = { engine, fresh: engine.snapshot() };
    engines.set(task.configKey, c);
  }
  return c;
}

/** Index of the split holding time t, or -1. */
function splitOf(boundaries: bigint[], t: bigint): number {
  if (t < boundaries[0]) return -1;
  for (let s = 0; s + 1 < boundaries.length; s++) if (t < boundaries[s + 1]) return s;
  return -1;
}

export function runUnit(columns: CalibrationColumns, task: UnitTask): UnitResult {
  const { engine, fresh } = engineFor(task);
  engine.load(fresh);
  const inst = task.instrument;
  const id = inst.id;
  const plan: number[] = [];
  task.thresholds.forEach((t, c) => { if (!Number.isNaN(t)) plan.push(c, t); });
  engine.applyInstrumentPlan(id, plan);

  const splits = task.boundaries.length - 1;
  const counts = new Int32Array(Math.max(0, splits) * N_CHANNELS * N_REGIMES);
  const regimeNs = new Float64Array(Math.max(0, splits) * N_REGIMES);
  const warmNs = new BigInt64Array(FEATURES.length).fill(-1n);
  const warmup = task.config.warmup;
  const watch = FEATURES.map((name, f) => (task.config.features[name].enabled ? f : -1)).filter((f) => f >= 0);
  const rows: number[] = [];

  // The events to replay: from the start up to the first at or after endTsNs.
  const ts = columns.tsNs;
  let end = inst.start;
  while (end < inst.end && ts[end] < task.endTsNs) end++;

  const r = engine.region();
  // Sequence numbers written as u32 pairs: a BigInt per event would cost as much as a quarter of the engine's time.
  const seq32 = new Uint32Array(r.seq.buffer, r.seq.byteOffset, 2 * r.capacity);
  let lastAlertRow = -1;
  const onAlerts = (v: DataView, count: number) => {
    for (let k = 0; k < count; k++) {
      const o = k * ALERT_BYTES;
      const s = splitOf(task.boundaries, v.getBigInt64(o + AL.TS, true));
      const row = Number(v.getBigInt64(o + AL.SEQ, true));
      if (task.rows && row !== lastAlertRow) { rows.push(row); lastAlertRow = row; }
      if (s < 0) continue;
      const c = channelIndex(v.getUint8(o + AL.FEATURE), v.getUint8(o + AL.DETECTOR));
      if (c < 0) continue;
      counts[(s * N_CHANNELS + c) * N_REGIMES + v.getUint8(o + AL.REGIME)]++;
    }
  };
  let prevNs: bigint | undefined;
  for (let i = inst.start; i < end; i += RUN_BATCH) {
    const n = Math.min(RUN_BATCH, end - i);
    r.tsNs.set(ts.subarray(i, i + n));
    // Sequence number = the event's row within its instrument: an alert names the row it marks.
    for (let j = 0, row = i - inst.start; j < n; j++, row++) { seq32[2 * j] = row; seq32[2 * j + 1] = 0; }
    r.instrument.fill(id, 0, n);
    const kind = columns.kind;
    for (let j = 0; j < n; j++) r.kind[j] = kind[i + j];
    for (let k = 0; k < N_FIELDS; k++) r.f[k].set(columns.f[k].subarray(i, i + n));
    engine.ingestRegion(n, onAlerts);

    const nowNs = ts[i + n - 1];
    for (let w = 0; w < watch.length; w++) {
      const f = watch[w];
      if (f < 0) continue;
      if (engine.featureStat(id, FEATURES[f], 'count') >= warmup) { warmNs[f] = nowNs; watch[w] = -1; }
    }
    // Time since the previous batch, in the regime the instrument is in now, cut at split boundaries.
    if (prevNs !== undefined && nowNs > prevNs) {
      const regime = engine.instrumentStat(id, 'regime');
      for (let s = 0; s < splits; s++) {
        const lo = prevNs > task.boundaries[s] ? prevNs : task.boundaries[s];
        const hi = nowNs < task.boundaries[s + 1] ? nowNs : task.boundaries[s + 1];
        if (hi > lo) regimeNs[s * N_REGIMES + regime] += Number(hi - lo);
      }
    }
    if (prevNs === undefined || nowNs > prevNs) prevNs = nowNs;
  }
  return { counts, warmNs, regimeNs, events: end - inst.start, alertRows: task.rows ? Int32Array.from(rows) : null };
}
