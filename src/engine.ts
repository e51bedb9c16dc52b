// The engine API: a validated configuration, batches of events in, alerts out, thresholds changed live,
// state snapshotted to bytes and restored. One WASM instance and one arena per Engine; an Engine either owns its
// memory (create, restore) or is bound to a memory and a layout someone else made (attach: the worker pool's shards).
import {
  ALERT_BYTES, ALERT_DETECTORS, ALERT_FEATURES, readAlertRecord, BATCH_BYTES_PER_EVENT, C_LEN, CHANNEL_STATS, ERRORS, FEATURES, FEATURE_STATS,
  INSTRUMENT_STATS, MAX_ALERTS_PER_EVENT, MODES, N_FIELDS, N_TABLE_CHANNELS, REGIMES, REJECT_REASONS, channelEnabled, channelIds, channelIndex,
  C, channelModeIndexOf, channelName, featureEnabledIndex,
  type AlertDetectorName, type AlertFeatureName, type AtcExports, type FeatureName, type ModeName, type RegimeName, type RejectReason,
} from './abi.js';
import {
  ConfigError, encodeConfig, parseInstruments, parseSelector, parseThreshold, refuseKOfNKey, resolveConfig, resolveInstrumentChannels, THRESHOLD_CHANNELS,
  type Config, type ThresholdConfig,
} from './config.js';
import type { EventBatch } from './events.js';
import { align, createMemory, instantiate, instantiateOn, MAX_PAGES, PAGE, RESERVED_BYTES, type Build } from './wasm/load.js';

export interface Alert {
  instrument: number;
  tsNs: bigint;
  /** Sequence number of the event that fired. */
  seq: bigint;
  /** A feature, or `vector` / `fairValue` for an instrument-level (learned) detector. */
  feature: AlertFeatureName;
  detector: AlertDetectorName;
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

/**
 * Where an engine's regions lie in its memory (all offsets in bytes, 64-aligned):
 * ```
 * 0        RESERVED_BYTES  configPtr        arena                        alerts               chunkBase
 * |-static-|---------------|-config f64[240]-|-header|config|table|slots-|-64-byte records----|-chunk 0-|-chunk 1-|...
 * ```
 * A chunk is a batch region of `chunkEvents` events (docs/abi.md, "Events"). The chunks come last so that a
 * memory can grow by whole chunks without moving anything. Plain numbers: a layout crosses to workers as is.
 */
export interface EngineLayout {
  /** Configuration scratch: init reads the configuration from here (the arena keeps its own copy). */
  configPtr: number;
  arena: number;
  arenaBytes: number;
  alerts: number;
  alertCapacity: number;
  chunkEvents: number;
  /** Bytes from one chunk to the next (the batch region, rounded up to 64). */
  chunkBytes: number;
  chunkBase: number;
  /** Chunks the memory holds at `pages`. */
  chunks: number;
  pages: number;
  /** Chunks a memory of MAX_PAGES pages would hold. */
  maxChunks: number;
}

/** The layout of a memory holding one arena of `arenaBytes`, an alert region and `chunks` chunk regions. */
export function engineLayout(arenaBytes: number, o: { chunkEvents: number; chunks?: number; alertCapacity?: number }): EngineLayout {
  const chunkEvents = o.chunkEvents, chunks = o.chunks ?? 1;
  const alertCapacity = Math.max(o.alertCapacity ?? 4096, MAX_ALERTS_PER_EVENT);
  if (!Number.isInteger(arenaBytes) || arenaBytes < 512) throw new RangeError(`arenaBytes must be an integer >= 512, got ${arenaBytes}`);
  if (!Number.isInteger(chunkEvents) || chunkEvents < 1) throw new RangeError(`chunkEvents must be a positive integer, got ${chunkEvents}`);
  if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`chunks must be a positive integer, got ${chunks}`);
  if (!Number.isInteger(alertCapacity)) throw new RangeError(`alertCapacity must be an integer, got ${alertCapacity}`);
  const configPtr = RESERVED_BYTES;
  const arena = align(configPtr + C_LEN * 8, 64);
  const alerts = align(arena + arenaBytes, 64);
  const chunkBytes = align(chunkEvents * BATCH_BYTES_PER_EVENT, 64);
  const chunkBase = align(alerts + alertCapacity * ALERT_BYTES, 64);
  const maxChunks = Math.floor((MAX_PAGES * PAGE - chunkBase) / chunkBytes);
  if (chunks > maxChunks) throw new RangeError(`${chunks} chunks of ${chunkEvents} events do not fit in a 4 GiB memory (at most ${maxChunks})`);
  const pages = Math.ceil((chunkBase + chunks * chunkBytes) / PAGE);
  return { configPtr, arena, arenaBytes, alerts, alertCapacity, chunkEvents, chunkBytes, chunkBase, chunks, pages, maxChunks };
}

/** Byte offset of chunk k. */
export function chunkPtr(layout: EngineLayout, k: number): number {
  return layout.chunkBase + k * layout.chunkBytes;
}

/** Pages a memory with this layout needs to hold `chunks` chunks. */
export function pagesFor(layout: EngineLayout, chunks: number): number {
  return Math.ceil((layout.chunkBase + chunks * layout.chunkBytes) / PAGE);
}

/**
 * A validated threshold change: per channel c = feature * N_DETECTORS + detector (or 96 + k for a learned channel),
 * (c, mode id, threshold) triples.
 */
export type ThresholdPlan = number[];

/** One channel's threshold setting, as Engine.thresholds() lists them. */
export interface ChannelThreshold { feature: AlertFeatureName; detector: AlertDetectorName; mode: ModeName; threshold: number }

/**
 * Plan a threshold change against the current thresholds (Engine.thresholds()): keys as in the configuration's
 * `thresholds`, more specific keys win. Throws ConfigError naming the bad key or value; plans are absolute, so the
 * same plan applied to engines with the same thresholds leaves them equal. With a k-of-n combination (`kOfN`) its
 * channel is static at k: broad keys ("default", "vector") leave it alone, "combined" / "vector.combined" are refused.
 */
export function planThresholds(current: readonly ChannelThreshold[], update: Record<string, unknown>, kOfN = false): ThresholdPlan {
  if (typeof update !== 'object' || update === null) throw new TypeError('setThresholds: expected an object');
  const entries = Object.entries(update).map(([key, value]) => ({ key, sel: parseSelector(key), value }));
  entries.sort((a, b) => a.sel.rank - b.sel.rank);
  // The channels the engine has (a learned channel only when enabled), by channel index.
  const byChannel = new Map<number, ChannelThreshold>();
  for (const t of current) byChannel.set(channelIndex(ALERT_FEATURES.indexOf(t.feature), ALERT_DETECTORS.indexOf(t.detector)), t);
  const plan = new Map<number, ThresholdConfig>();
  const combined = N_TABLE_CHANNELS + 3;
  for (const { key, sel, value } of entries) {
    if (kOfN) refuseKOfNKey(key, `thresholds.${key}`);
    const had = sel.channels.filter((c) => byChannel.has(c));
    const present = had.filter((c) => !(kOfN && c === combined));
    if (had.length === 0 && sel.rank > 0) throw new ConfigError(`thresholds.${key}`, 'names only channels this engine does not have (a learned detector that is not enabled)');
    for (const c of present) {
      const cur = byChannel.get(c)!;
      const base = plan.get(c) ?? { mode: cur.mode, threshold: cur.threshold };
      plan.set(c, parseThreshold(key, value, base));
    }
  }
  const out: ThresholdPlan = [];
  for (const [c, t] of plan) out.push(c, MODES.indexOf(t.mode), t.threshold);
  return out;
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

  private constructor(x: AtcExports, memory: WebAssembly.Memory, layout: EngineLayout) {
    this.#x = x;
    this.#memory = memory;
    this.#arena = layout.arena;
    // The first chunk is this engine's own batch region (region(), ingest()).
    this.#batchPtr = layout.chunkBase;
    this.#batchCap = layout.chunkEvents;
    this.#alertsPtr = layout.alerts;
    this.#alertCap = layout.alertCapacity;
  }

  /** An engine over a new memory of its own, laid out for an arena of `arenaBytes`. */
  static #own(arenaBytes: number, opts: EngineOptions): { engine: Engine; layout: EngineLayout } {
    const batchCap = opts.batchCapacity ?? 4096;
    if (!Number.isInteger(batchCap) || batchCap < 1) throw new RangeError(`batchCapacity must be a positive integer, got ${batchCap}`);
    const layout = engineLayout(arenaBytes, { chunkEvents: batchCap, chunks: 1, alertCapacity: opts.alertCapacity });
    const { exports, memory } = instantiateOn(createMemory(layout.pages, opts.build), opts.build);
    return { engine: new Engine(exports, memory, layout), layout };
  }

  /** Bytes of arena a configuration needs (merged over the defaults and validated: throws ConfigError). */
  static arenaBytes(config: unknown = {}, build: Build = 'release'): number {
    return Engine.#arenaBytesOf(encodeConfig(resolveConfig(config)), build);
  }

  static #arenaBytesOf(encoded: Float64Array, build: Build | undefined): number {
    const probe = instantiate(C_LEN * 8, build);
    new Float64Array(probe.memory.buffer, probe.heapBase, C_LEN).set(encoded);
    const bytes = probe.exports.arena_bytes(probe.heapBase);
    if (bytes < 0) throw new EngineError('arena_bytes', bytes);
    return bytes;
  }

  /** A new engine from a configuration (merged over the defaults and validated: throws ConfigError). */
  static create(config: unknown = {}, opts: EngineOptions = {}): Engine {
    const encoded = encodeConfig(resolveConfig(config));
    const { engine, layout } = Engine.#own(Engine.#arenaBytesOf(encoded, opts.build), opts);
    engine.#init(encoded, layout);
    return engine;
  }

  /** An engine that continues exactly where the one that took `snapshot` stopped. */
  static restore(snapshot: Uint8Array, opts: EngineOptions = {}): Engine {
    if (!(snapshot instanceof Uint8Array) || snapshot.byteLength < 512) throw new EngineError('restore', -3);
    const { engine } = Engine.#own(snapshot.byteLength, opts);
    engine.load(snapshot);
    return engine;
  }

  /**
   * An engine bound to a memory and a layout it did not create (a pool shard's): `memory` must be of the kind
   * `build` imports (shared for the shared builds) and hold `layout.pages` pages. With `config`, lays out a fresh
   * arena there; without, the arena is taken as it is (laid out earlier, or restored with `load`). Instantiating
   * writes the module's static data below the reserved page (see instantiateOn).
   */
  static attach(memory: WebAssembly.Memory, layout: EngineLayout, opts: { build?: Build; config?: unknown } = {}): Engine {
    if (memory.buffer.byteLength < layout.pages * PAGE) {
      throw new RangeError(`attach: the memory has ${memory.buffer.byteLength / PAGE} pages, the layout needs ${layout.pages}`);
    }
    const { exports } = instantiateOn(memory, opts.build);
    const engine = new Engine(exports, memory, layout);
    if (opts.config !== undefined) {
      const encoded = encodeConfig(resolveConfig(opts.config));
      const bytes = Engine.#arenaBytesOf(encoded, opts.build);
      if (bytes !== layout.arenaBytes) throw new RangeError(`attach: the configuration needs an arena of ${bytes} bytes, the layout has ${layout.arenaBytes}`);
      engine.#init(encoded, layout);
    }
    return engine;
  }

  #init(encoded: Float64Array, layout: EngineLayout): void {
    new Float64Array(this.#memory.buffer, layout.configPtr, C_LEN).set(encoded);
    const rc = this.#x.init(this.#arena, layout.configPtr);
    if (rc < 0) throw new EngineError('init', rc);
  }

  /** Replace this engine's whole state with a snapshot's bytes (checked by the module's restore_check). */
  load(snapshot: Uint8Array): void {
    new Uint8Array(this.#memory.buffer, this.#arena, snapshot.byteLength).set(snapshot);
    const rc = this.#x.restore_check(this.#arena, snapshot.byteLength);
    if (rc < 0) throw new EngineError('restore', rc);
  }

  /** Copy the arena into `target` (at least arenaBytes long), allocating nothing; returns the bytes copied. */
  snapshotInto(target: Uint8Array): number {
    const n = this.#x.arena_total(this.#arena);
    if (target.byteLength < n) throw new RangeError(`snapshotInto: the target holds ${target.byteLength} bytes, the arena has ${n}`);
    target.set(new Uint8Array(this.#memory.buffer, this.#arena, n));
    return n;
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
    return this.ingestBatch(this.#batchPtr, this.#batchCap, 0, n, onAlerts);
  }

  /**
   * Ingest events [start, end) of the batch region of `capacity` events at byte offset `batchPtr` of this engine's
   * memory (any region the host laid out: a pool shard's chunks). Same alerts, same records as ingestRegion.
   */
  ingestBatch(batchPtr: number, capacity: number, start: number, end: number, onAlerts?: (records: DataView, count: number) => void): number {
    const x = this.#x;
    let total = 0;
    // The module stops early when the alert buffer could overflow; it says where, and we go on from there.
    for (let done = start; done < end; ) {
      const written = x.ingest(this.#arena, batchPtr, capacity, done, end, this.#alertsPtr, this.#alertCap);
      if (written < 0) throw new EngineError(`ingest(batch ${batchPtr}, capacity ${capacity}, [${done}, ${end}))`, written);
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
  /** True when the combination is k of n (its threshold is k, static: setThresholds leaves it alone). */
  combineKOfN(): boolean {
    return new Float64Array(this.#memory.buffer, this.#x.config_ptr(this.#arena), C_LEN)[C.COMBINE_KIND] === 1;
  }

  /** The mode and base threshold of every (feature, detector) channel, then of each enabled learned channel. */
  thresholds(): ChannelThreshold[] {
    const cfg = new Float64Array(this.#memory.buffer, this.#x.config_ptr(this.#arena), C_LEN);
    const out: ChannelThreshold[] = [];
    for (const c of THRESHOLD_CHANNELS) {
      if (!channelEnabled(cfg, c)) continue;
      const { feature, detector } = channelIds(c);
      const i = channelModeIndexOf(c);
      out.push({ feature: ALERT_FEATURES[feature], detector: ALERT_DETECTORS[detector], mode: MODES[cfg[i]], threshold: cfg[i + 1] });
    }
    return out;
  }

  /**
   * Change thresholds live, keeping all state. Keys as in the configuration's `thresholds` ("default", a detector,
   * a feature, "feature.detector"); more specific keys win. Validated as a whole before anything changes.
   */
  setThresholds(update: Record<string, Partial<ThresholdConfig>>): void {
    this.applyThresholdPlan(planThresholds(this.thresholds(), update, this.combineKOfN()));
  }

  /** Apply a plan from planThresholds (validated already): the channels' modes and base thresholds, in order. */
  applyThresholdPlan(plan: ArrayLike<number>): void {
    for (let i = 0; i + 2 < plan.length; i += 3) {
      const { feature, detector } = channelIds(plan[i]);
      const rc = this.#x.set_channel(this.#arena, feature, detector, plan[i + 1], plan[i + 2]);
      if (rc < 0) throw new EngineError('set_channel', rc);
    }
  }

  /**
   * One instrument's own base threshold for one channel (an offline calibration): it replaces the configured base in
   * every mode (docs/abi.md, "Calibrator modes"). NaN clears it. The instrument must be registered.
   */
  setInstrumentThreshold(id: number, feature: AlertFeatureName, detector: AlertDetectorName, threshold: number): void {
    const rc = this.#x.set_instrument_threshold(this.#arena, id, alertFeatureIndex(feature), detectorIndex(detector), threshold);
    if (rc < 0) throw new EngineError(`setInstrumentThreshold(${id}, ${feature}, ${detector})`, rc);
  }

  /**
   * Per-instrument thresholds from a selector map, as the configuration's `instruments.<name>` (src/config.ts
   * parseInstruments; null clears). Registers the instrument if it is not yet. Validated before anything changes.
   */
  setInstrumentThresholds(id: number, selectors: Record<string, number | null>): void {
    const plan = resolveInstrumentChannels(parseInstruments({ [String(id)]: selectors })[String(id)]);
    this.applyInstrumentPlan(id, plan);
  }

  /**
   * Apply (channel, threshold) pairs (config.ts resolveInstrumentChannels) to instrument `id`, registering it first
   * if needed. Channels of disabled features, and learned channels not enabled, hold no state and are skipped.
   */
  applyInstrumentPlan(id: number, plan: ArrayLike<number>): void {
    checkId(id);
    if (this.#x.slot_of(this.#arena, id) < 0) this.register(id);
    const cfg = new Float64Array(this.#memory.buffer, this.#x.config_ptr(this.#arena), C_LEN);
    for (let i = 0; i + 1 < plan.length; i += 2) {
      const c = plan[i];
      if (c < N_TABLE_CHANNELS ? cfg[featureEnabledIndex(Math.floor(c / 6))] === 0 : !channelEnabled(cfg, c)) continue;
      if (c === N_TABLE_CHANNELS + 3 && cfg[C.COMBINE_KIND] === 1) continue; // k of n: k for every instrument
      const { feature: f, detector: d } = channelIds(c);
      const rc = this.#x.set_instrument_threshold(this.#arena, id, f, d, plan[i + 1]);
      if (rc < 0) throw new EngineError(`setInstrumentThreshold(${id}, ${channelName(c)})`, rc);
    }
  }

  /** The instruments registered in this arena, by slot. */
  instrumentIds(): number[] {
    const out: number[] = [];
    for (let s = 0, n = this.#x.instrument_count(this.#arena); s < n; s++) out.push(this.#x.instrument_id(this.#arena, s) >>> 0);
    return out;
  }

  /**
   * One instrument's own thresholds, by "feature.detector" (enabled features and learned channels only; channels
   * without one left out).
   */
  instrumentThresholds(id: number): Record<string, number> {
    const out: Record<string, number> = {};
    const cfg = new Float64Array(this.#memory.buffer, this.#x.config_ptr(this.#arena), C_LEN);
    const stat = CHANNEL_STATS.indexOf('instrumentThreshold');
    for (const c of THRESHOLD_CHANNELS) {
      if (c < N_TABLE_CHANNELS ? cfg[featureEnabledIndex(Math.floor(c / 6))] === 0 : !channelEnabled(cfg, c)) continue;
      const { feature: f, detector: d } = channelIds(c);
      const v = this.#x.channel_stat(this.#arena, id, f, d, stat);
      if (!Number.isNaN(v)) out[channelName(c)] = v;
    }
    return out;
  }

  // ---- Reading state -------------------------------------------------------------------------------------------
  featureStat(id: number, feature: FeatureName, stat: (typeof FEATURE_STATS)[number]): number {
    return this.#x.feature_stat(this.#arena, id, featureIndex(feature), FEATURE_STATS.indexOf(stat));
  }
  featureQuantile(id: number, feature: FeatureName, q: number): number {
    return this.#x.feature_quantile(this.#arena, id, featureIndex(feature), q);
  }
  /** A channel's state: a (feature, detector) channel, or a learned one by its alert ids ("vector", "hst"). */
  channelStat(id: number, feature: AlertFeatureName, detector: AlertDetectorName, stat: (typeof CHANNEL_STATS)[number]): number {
    return this.#x.channel_stat(this.#arena, id, alertFeatureIndex(feature), detectorIndex(detector), CHANNEL_STATS.indexOf(stat));
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
function alertFeatureIndex(f: AlertFeatureName): number {
  const i = ALERT_FEATURES.indexOf(f);
  if (i < 0) throw new RangeError(`unknown feature ${JSON.stringify(f)} (known: ${ALERT_FEATURES.join(', ')})`);
  return i;
}
function detectorIndex(d: AlertDetectorName): number {
  const i = ALERT_DETECTORS.indexOf(d);
  if (i < 0) throw new RangeError(`unknown detector ${JSON.stringify(d)} (known: ${ALERT_DETECTORS.join(', ')})`);
  return i;
}

/** An alert record (docs/abi.md) with its ids named: the raw record is read by src/abi.ts's readAlertRecord. */
export function decodeAlert(v: DataView, o: number): Alert {
  const r = readAlertRecord(v, o);
  return {
    tsNs: r.tsNs, seq: r.seq, instrument: r.instrument,
    feature: ALERT_FEATURES[r.feature], detector: ALERT_DETECTORS[r.detector], severity: r.severity, regime: REGIMES[r.regime],
    value: r.value, expected: r.expected, score: r.score, threshold: r.threshold, volRatio: r.regimeFactor,
    mode: MODES[r.mode],
  };
}

export type { Config };
