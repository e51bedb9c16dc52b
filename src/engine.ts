// The engine API: a validated configuration, batches of events in, alerts out, thresholds changed live,
// state snapshotted to bytes and restored. One WASM instance and one arena per Engine.
import {
  ALERT_BYTES, readAlertRecord, BATCH_BYTES_PER_EVENT, C, C_LEN, CHANNEL_STATS, DETECTORS, ERRORS, FEATURES, FEATURE_STATS,
  INSTRUMENT_STATS, MAX_ALERTS_PER_EVENT, MODES, N_FIELDS, REGIMES, REJECT_REASONS,
  type AtcExports, type DetectorName, type FeatureName, type ModeName, type RegimeName, type RejectReason,
} from './abi.js';
import { encodeConfig, parseSelector, parseThreshold, resolveConfig, type Config, type ThresholdConfig } from './config.js';
import type { EventBatch } from './events.js';
import { align, instantiate, type Build } from './wasm/load.js';

export interface Alert {
  instrument: number;
  tsNs: bigint;
  /** Sequence number of the event that fired. */
  seq: bigint;
  feature: FeatureName;
  detector: DetectorName;
  /** 1 (score < 1.5x threshold) .. 4 (>= 4x). */
  severity: number;
  regime: RegimeName;
  value: number;
  expected: number;
  score: number;
  threshold: number;
  /** Fast/slow realised volatility ratio of the instrument when the alert fired. */
  volRatio: number;
  mode: ModeName;
}

export interface IngestResult {
  alerts: Alert[];
  accepted: number;
  /** Index in the batch and reason of every rejected event. */
  rejects: { index: number; reason: RejectReason }[];
}

export interface EngineOptions {
  build?: Build;
  /** Events copied into WASM memory per ingest call. */
  batchCapacity?: number;
  /** Alert records per ingest call (at least MAX_ALERTS_PER_EVENT). */
  alertCapacity?: number;
}

export class EngineError extends Error {
  readonly code: number;
  constructor(what: string, code: number) {
    super(`atc: ${what}: ${describeError(code)} (code ${code})`);
    this.name = 'EngineError';
    this.code = code;
  }
}

export function describeError(code: number): string {
  if (code <= -1000) return `configuration value ${-code - 1000} is out of range`;
  return ERRORS[code] ?? 'unknown error';
}

/** Column views into the engine's batch region: write events here and call ingestRegion(n), with no copy. */
export interface BatchRegion {
  capacity: number;
  tsNs: BigInt64Array;
  seq: BigInt64Array;
  instrument: Uint32Array;
  kind: Uint32Array;
  f: Float64Array[];
  status: Uint8Array;
}

export class Engine {
  readonly #x: AtcExports;
  readonly #memory: WebAssembly.Memory;
  readonly #arena: number;
  readonly #batchPtr: number;
  readonly #batchCap: number;
  readonly #alertsPtr: number;
  readonly #alertCap: number;
  #region: BatchRegion | undefined;

  private constructor(arenaBytes: number, opts: EngineOptions, setup: (x: AtcExports, memory: WebAssembly.Memory, arena: number) => void) {
    const batchCap = opts.batchCapacity ?? 4096;
    const alertCap = Math.max(opts.alertCapacity ?? 4096, MAX_ALERTS_PER_EVENT);
    if (!Number.isInteger(batchCap) || batchCap < 1) throw new RangeError(`batchCapacity must be a positive integer, got ${batchCap}`);
    const scratch = align(C_LEN * 8, 64);
    const batchBytes = align(batchCap * BATCH_BYTES_PER_EVENT, 64);
    const { exports, memory, heapBase } = instantiate(scratch + arenaBytes + batchBytes + alertCap * ALERT_BYTES + 256, opts.build);
    this.#x = exports;
    this.#memory = memory;
    this.#arena = align(heapBase + scratch, 64);
    this.#batchPtr = align(this.#arena + arenaBytes, 64);
    this.#batchCap = batchCap;
    this.#alertsPtr = align(this.#batchPtr + batchBytes, 64);
    this.#alertCap = alertCap;
    setup(exports, memory, this.#arena);
  }

  /** A new engine from a configuration (merged over the defaults and validated: throws ConfigError). */
  static create(config: unknown = {}, opts: EngineOptions = {}): Engine {
    const resolved = resolveConfig(config);
    const encoded = encodeConfig(resolved);
    const probe = instantiate(C_LEN * 8, opts.build);
    new Float64Array(probe.memory.buffer, probe.heapBase, C_LEN).set(encoded);
    const bytes = probe.exports.arena_bytes(probe.heapBase);
    if (bytes < 0) throw new EngineError('arena_bytes', bytes);
    return new Engine(bytes, opts, (x, memory, arena) => {
      const cfgPtr = arena - align(C_LEN * 8, 64);
      new Float64Array(memory.buffer, cfgPtr, C_LEN).set(encoded);
      const rc = x.init(arena, cfgPtr);
      if (rc < 0) throw new EngineError('init', rc);
    });
  }

  /** An engine that continues exactly where the one that took `snapshot` stopped. */
  static restore(snapshot: Uint8Array, opts: EngineOptions = {}): Engine {
    if (!(snapshot instanceof Uint8Array) || snapshot.byteLength < 512) throw new EngineError('restore', -3);
    return new Engine(snapshot.byteLength, opts, (x, memory, arena) => {
      new Uint8Array(memory.buffer, arena, snapshot.byteLength).set(snapshot);
      const rc = x.restore_check(arena, snapshot.byteLength);
      if (rc < 0) throw new EngineError('restore', rc);
    });
  }

  /** Arena bytes: the whole state, configuration and thresholds included. */
  snapshot(): Uint8Array {
    return new Uint8Array(this.#memory.buffer, this.#arena, this.#x.arena_total(this.#arena)).slice();
  }

  get arenaBytes(): number { return this.#x.arena_total(this.#arena); }
  /** Bytes of state each instrument slot takes. */
  get bytesPerInstrument(): number { return this.#x.slot_bytes(this.#arena); }
  get instrumentCount(): number { return this.#x.instrument_count(this.#arena); }

  register(id: number): number {
    checkId(id);
    const slot = this.#x.register(this.#arena, id);
    if (slot < 0) throw new EngineError(`register(${id})`, slot);
    return slot;
  }

  /** Ingest a batch of any length: copied into WASM memory in chunks, alerts decoded. */
  ingest(batch: EventBatch): IngestResult {
    const result: IngestResult = { alerts: [], accepted: 0, rejects: [] };
    const r = this.region();
    for (let start = 0; start < batch.length; start += this.#batchCap) {
      const n = Math.min(this.#batchCap, batch.length - start);
      const end = start + n;
      r.tsNs.set(batch.tsNs.subarray(start, end));
      r.seq.set(batch.seq.subarray(start, end));
      r.instrument.set(batch.instrument.subarray(start, end));
      r.kind.set(batch.kind.subarray(start, end));
      for (let k = 0; k < N_FIELDS; k++) r.f[k].set(batch.f[k].subarray(start, end));
      this.ingestRegion(n, (view, count) => { for (let i = 0; i < count; i++) result.alerts.push(decodeAlert(view, i * ALERT_BYTES)); });
      // Write back the numbers the engine gave unnumbered events, so the caller can match alerts to events.
      batch.seq.set(r.seq.subarray(0, n), start);
      for (let i = 0; i < n; i++) {
        const s = r.status[i];
        if (s === 0) result.accepted++;
        else result.rejects.push({ index: start + i, reason: REJECT_REASONS[s] ?? 'badKind' });
      }
    }
    return result;
  }

  /** The batch region in WASM memory (zero-copy ingest). Views are refreshed if memory changed. */
  region(): BatchRegion {
    const buf = this.#memory.buffer;
    if (this.#region && this.#region.kind.buffer === buf) return this.#region;
    const c = this.#batchCap, p = this.#batchPtr;
    this.#region = {
      capacity: c,
      tsNs: new BigInt64Array(buf, p, c),
      seq: new BigInt64Array(buf, p + 8 * c, c),
      instrument: new Uint32Array(buf, p + 16 * c, c),
      kind: new Uint32Array(buf, p + 20 * c, c),
      f: Array.from({ length: N_FIELDS }, (_, k) => new Float64Array(buf, p + (24 + 8 * k) * c, c)),
      status: new Uint8Array(buf, p + 72 * c, c),
    };
    return this.#region;
  }

  /**
   * Ingest the first n events of the batch region. `onAlerts` receives the raw records (64 bytes each, docs/abi.md)
   * as they are produced; returns the number of alerts.
   */
  ingestRegion(n: number, onAlerts?: (records: DataView, count: number) => void): number {
    if (!(n >= 0 && n <= this.#batchCap)) throw new RangeError(`n must be within [0, ${this.#batchCap}], got ${n}`);
    const x = this.#x;
    let total = 0;
    // The module stops early when the alert buffer could overflow; it says where, and we go on from there.
    for (let done = 0; done < n; ) {
      const written = x.ingest(this.#arena, this.#batchPtr, this.#batchCap, done, n, this.#alertsPtr, this.#alertCap);
      if (written < 0) throw new EngineError('ingest', written);
      total += written;
      if (written > 0 && onAlerts) onAlerts(new DataView(this.#memory.buffer, this.#alertsPtr, written * ALERT_BYTES), written);
      done = x.consumed(this.#arena);
    }
    return total;
  }

  /** Accepted events, alerts and rejected events by reason, since the arena was created. */
  counters(): { accepted: number; alerts: number; rejected: Record<Exclude<RejectReason, 'ok'>, number> } {
    const x = this.#x, a = this.#arena;
    const rejected = {} as Record<Exclude<RejectReason, 'ok'>, number>;
    REJECT_REASONS.forEach((reason, r) => { if (r > 0) rejected[reason as Exclude<RejectReason, 'ok'>] = x.counter(a, 2 + r); });
    return { accepted: x.counter(a, 0), alerts: x.counter(a, 1), rejected };
  }

  // ---- Thresholds --------------------------------------------------------------------------------------------
  /** The mode and base threshold of every (feature, detector) channel. */
  thresholds(): { feature: FeatureName; detector: DetectorName; mode: ModeName; threshold: number }[] {
    const cfg = new Float64Array(this.#memory.buffer, this.#x.config_ptr(this.#arena), C_LEN);
    const out = [];
    for (let f = 0; f < FEATURES.length; f++) {
      for (let d = 0; d < DETECTORS.length; d++) {
        const c = f * DETECTORS.length + d;
        out.push({ feature: FEATURES[f], detector: DETECTORS[d], mode: MODES[cfg[C.CHANNEL_BASE + 2 * c]], threshold: cfg[C.CHANNEL_BASE + 2 * c + 1] });
      }
    }
    return out;
  }

  /**
   * Change thresholds live, keeping all state. Keys as in the configuration's `thresholds` ("default", a detector,
   * a feature, "feature.detector"); more specific keys win. Validated as a whole before anything changes.
   */
  setThresholds(update: Record<string, Partial<ThresholdConfig>>): void {
    if (typeof update !== 'object' || update === null) throw new TypeError('setThresholds: expected an object');
    const current = this.thresholds();
    const entries = Object.entries(update).map(([key, value]) => ({ key, sel: parseSelector(key), value }));
    entries.sort((a, b) => a.sel.rank - b.sel.rank);
    const plan = new Map<number, ThresholdConfig>();
    for (const { key, sel, value } of entries) {
      for (const f of sel.features) {
        for (const det of sel.detectors) {
          const c = FEATURES.indexOf(f) * DETECTORS.length + DETECTORS.indexOf(det);
          const base = plan.get(c) ?? { mode: current[c].mode, threshold: current[c].threshold };
          plan.set(c, parseThreshold(key, value, base));
        }
      }
    }
    for (const [c, t] of plan) {
      const rc = this.#x.set_channel(this.#arena, Math.floor(c / DETECTORS.length), c % DETECTORS.length, MODES.indexOf(t.mode), t.threshold);
      if (rc < 0) throw new EngineError('set_channel', rc);
    }
  }

  /** The threshold one instrument uses in the `fixed` mode (from an offline calibration); NaN clears it. */
  setInstrumentThreshold(id: number, feature: FeatureName, detector: DetectorName, threshold: number): void {
    const rc = this.#x.set_instrument_threshold(this.#arena, id, featureIndex(feature), detectorIndex(detector), threshold);
    if (rc < 0) throw new EngineError(`setInstrumentThreshold(${id}, ${feature}, ${detector})`, rc);
  }

  // ---- Reading state -------------------------------------------------------------------------------------------
  featureStat(id: number, feature: FeatureName, stat: (typeof FEATURE_STATS)[number]): number {
    return this.#x.feature_stat(this.#arena, id, featureIndex(feature), FEATURE_STATS.indexOf(stat));
  }
  featureQuantile(id: number, feature: FeatureName, q: number): number {
    return this.#x.feature_quantile(this.#arena, id, featureIndex(feature), q);
  }
  channelStat(id: number, feature: FeatureName, detector: DetectorName, stat: (typeof CHANNEL_STATS)[number]): number {
    return this.#x.channel_stat(this.#arena, id, featureIndex(feature), detectorIndex(detector), CHANNEL_STATS.indexOf(stat));
  }
  instrumentStat(id: number, stat: (typeof INSTRUMENT_STATS)[number]): number {
    return this.#x.instrument_stat(this.#arena, id, INSTRUMENT_STATS.indexOf(stat));
  }
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) throw new RangeError(`instrument id must be an integer in [0, 2^32 - 2], got ${id}`);
}
function featureIndex(f: FeatureName): number {
  const i = FEATURES.indexOf(f);
  if (i < 0) throw new RangeError(`unknown feature ${JSON.stringify(f)} (known: ${FEATURES.join(', ')})`);
  return i;
}
function detectorIndex(d: DetectorName): number {
  const i = DETECTORS.indexOf(d);
  if (i < 0) throw new RangeError(`unknown detector ${JSON.stringify(d)} (known: ${DETECTORS.join(', ')})`);
  return i;
}

/** An alert record (docs/abi.md) with its ids named: the raw record is read by src/abi.ts's readAlertRecord. */
export function decodeAlert(v: DataView, o: number): Alert {
  const r = readAlertRecord(v, o);
  return {
    tsNs: r.tsNs, seq: r.seq, instrument: r.instrument,
    feature: FEATURES[r.feature], detector: DETECTORS[r.detector], severity: r.severity, regime: REGIMES[r.regime],
    value: r.value, expected: r.expected, score: r.score, threshold: r.threshold, volRatio: r.regimeFactor,
    mode: MODES[r.mode],
  };
}

export type { Config };
