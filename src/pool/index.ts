// The shard pool: the engine's state split into shards (instrument id % shards), one shared WebAssembly.Memory per
// shard, Piscina workers that run any shard's batches in place. The main thread copies accepted events straight
// into a shard's chunks; at most one task per shard is in flight and the rest coalesce; a task that dies is
// recovered from the shard's last snapshot plus its journal. docs/architecture.md, "The worker pool (issue 4)".
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ABI_VERSION, ALERT_BYTES, ALERT_DETECTORS, ALERT_FEATURES, DETECTORS, FEATURES, MODES, N_FIELDS, N_TABLE_CHANNELS, REJECT_REASONS, channelIndex, channelName } from '../abi.js';
import { learnedEnabled, parseInstruments, resolveConfig, resolveInstrumentChannels, type Config } from '../config.js';
import { chunkPtr, Engine, engineLayout, pagesFor, planThresholds, type EngineLayout } from '../engine.js';
import { PAGE, type Build } from '../wasm/load.js';
import type { Columns } from '../protocol/columns.js';
import { OP_CHANNEL, OP_EVENTS, OP_INSTRUMENT, OP_REPLAY, OP_SNAPSHOT, type PoolWorkerData, type ShardResult, type ShardTask } from './task.js';

/** What submit() takes: the protocol layer's validated columns (src/protocol/columns.ts). */
export type PoolColumns = Columns;

export interface PoolOptions {
  /** Engine configuration (src/config.ts); the pool forces autoRegister on and ignores `instruments` (by name: see setInstrumentThresholds). */
  config?: unknown;
  /** Piscina threads, default 1. */
  workers?: number;
  /** Default 8; fixed for the life of the state (a checkpoint records it). */
  shards?: number;
  /** Total; each shard's table holds ceil(max / shards) (ids are assigned 0, 1, 2..). Default: config.maxInstruments. */
  maxInstruments?: number;
  /** Events per chunk (a batch region inside the shard's memory), default 2048. */
  chunkEvents?: number;
  /** Accepted but not yet processed, all shards; default 1 << 20. */
  maxQueuedEvents?: number;
  /** Per shard, default 1 << 16: bounds the journal. */
  snapshotEveryEvents?: number;
  build?: 'release' | 'debug';
}

export interface AlertBatch {
  shard: number;
  /** 64-byte alert records (docs/abi.md), in the shard's event order. */
  records: Uint8Array;
  count: number;
  /** Arrival time of the oldest frame whose events the task held (submit's arrivalNs). */
  arrivalNs: bigint;
}

export interface PoolStats {
  shards: number;
  workers: number;
  /** Accepted and not yet processed (queued and running), all shards. */
  queuedEvents: number;
  /** Shards with a task queued in Piscina or running. */
  inFlight: number;
  /** Tasks dispatched, replays after a crash included. */
  tasks: number;
  /** Workers that died (exited, were terminated) while the pool was open; Piscina replaces them. */
  workerRestarts: number;
  /** Tasks lost with their worker and recovered (snapshot restored, journal replayed). */
  recoveries: number;
  /** Events processed once (replays not counted again). */
  eventsProcessed: number;
  /** Piscina's: the fraction of the workers' time spent in tasks since start. */
  utilization: number;
  /** The shard arenas' counters, summed (a snapshot restored after a crash rolls them back with the state). */
  engine: { accepted: number; alerts: number; rejected: Record<string, number> };
}

export class PoolError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(`atc pool: ${message}`, opts);
    this.name = 'PoolError';
  }
}

/** Events a task takes at most, in chunks: large batches under load, yet replays and progress stay fine-grained. */
const TASK_CHUNKS = 4;
/** Journal entries (segments and threshold changes) after which a snapshot is taken whatever the event count. */
const JOURNAL_ENTRIES = 256;
/** A shard whose tasks fail this many times in a row (a bug, not a dead worker) stops the pool. */
const MAX_CONSECUTIVE_FAILURES = 5;
const ALERT_CAPACITY = 1024;

const MAGIC = 'ATCPOOL\0';
const CHECKPOINT_VERSION = 1;

// ---- Per-shard bookkeeping ---------------------------------------------------------------------------------------
interface Chunk {
  ptr: number;
  /** Events written so far. */
  fill: number;
  /** Journal, in-flight and pending segments that lie in this chunk. */
  refs: number;
  /** The chunk new events go to; it is reused only once full and unreferenced. */
  open: boolean;
  // Columns as the main thread writes them.
  ts: BigInt64Array;
  /** As u32 pairs. */
  seq: Uint32Array;
  instrument: Uint32Array;
  kind: Uint32Array;
  f: Float64Array[];
}

/** A run of one shard's events in one chunk, or a threshold change: the unit of queue, task and journal. */
interface Entry {
  /** Events: the chunk and [start, end); null for a threshold change. */
  chunk: Chunk | null;
  start: number;
  end: number;
  /** A threshold change: (channel, mode, threshold) triples. */
  plan: number[] | null;
  /** A per-instrument threshold change: the instrument and its (channel, threshold) pairs (NaN clears). */
  instrument: { id: number; plan: number[] } | null;
  /** Accept index of the first event. */
  firstAccept: number;
  arrivalNs: bigint;
  /** Position in the shard's queue (drain and checkpoint wait for serials). */
  serial: number;
  /** Processed, alerts emitted and counted: a replay after a crash runs it silently. */
  done: boolean;
}

interface Shard {
  index: number;
  memory: WebAssembly.Memory;
  layout: EngineLayout;
  /** The main thread's instance on this shard: counters, restore, checkpoints. Never runs ingest. */
  engine: Engine;
  chunks: Chunk[];
  free: Chunk[];
  open: Chunk | null;
  /** The pending segment new events extend (in the open chunk), or null. */
  tail: Entry | null;
  pending: Entry[];
  inFlight: Entry[] | null;
  journal: Entry[];
  journalEvents: number;
  snapshots: [SharedArrayBuffer, SharedArrayBuffer];
  /** The snapshot buffer that holds the last good snapshot. */
  good: 0 | 1;
  /** Events accepted and not yet processed (pending and in flight). */
  queued: number;
  enqueued: number;
  /** Every entry with serial < doneSerial is done. */
  doneSerial: number;
  fault: boolean;
  failures: number;
  /** Pages the memory may grow to: room for the queue and journal bounds. */
  maxPages: number;
}

interface Resolved {
  config: Config;
  shards: number;
  maxInstruments: number;
  workers: number;
  chunkEvents: number;
  maxQueuedEvents: number;
  snapshotEveryEvents: number;
  build: Build;
}

interface CheckpointHeader {
  format: 'atc-pool';
  abi: number;
  config: Config;
  shards: number;
  maxInstruments: number;
  nextAccept: number;
  arenas: { bytes: number; sha256: string }[];
  meta: unknown;
}

function intOption(v: unknown, name: string, lo: number, hi: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`pool: ${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  return v;
}

/** The engine configuration of one shard: the pool's, auto-registering, with its share of the instrument table. */
function shardConfig(config: Config, shards: number, maxInstruments: number): Config {
  return { ...config, autoRegister: true, maxInstruments: Math.ceil(maxInstruments / shards) };
}

/** dist/src/pool/worker.js: next to this file when running from dist, under dist/ when running from source (tests). */
export function workerPath(): string {
  const candidates = ['./worker.js', '../../dist/src/pool/worker.js'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new PoolError(`the worker script is missing (looked for ${candidates.join(', ')}); run \`npm run build\``);
  return found;
}

export class ShardPool {
  /** Called on the main thread as shard tasks finish. Must not throw. */
  onAlerts: (batch: AlertBatch) => void = () => {};
  /** After every task (the server recomputes credit and processed notices). Must not throw. */
  onProgress: () => void = () => {};
  readonly piscina: Piscina;

  readonly #o: Resolved;
  readonly #shards: Shard[];
  #nextAccept: number;
  #queued = 0;
  #processed = 0;
  #tasks = 0;
  #recoveries = 0;
  #workerDeaths = 0;
  #thresholds: ReturnType<Engine['thresholds']>;
  /** The combination is k of n (planThresholds leaves its channel alone). */
  #kOfN: boolean;
  /** Per-instrument thresholds in force for what is submitted next: id -> channel -> threshold (the arenas hold them). */
  #instrumentThresholds = new Map<number, Map<number, number>>();
  /** Checkpoints waiting, oldest first: per shard, the serial below which tasks may run until the first is taken. */
  #barriers: number[][] = [];
  #waiters: { ready: () => boolean; resolve: () => void; reject: (err: Error) => void }[] = [];
  #failed: Error | null = null;
  #closed = false;
  #settled: Promise<void>[] = [];
  // submit()'s scratch, reused: the frame's events grouped by shard.
  #order = new Int32Array(0);
  #shardOf = new Uint16Array(0);
  #start: Int32Array;
  #cursor: Int32Array;
  #src: Source = { ts: null, seq: null, instrument: null, kind: null, f: null, first: 0 };

  private constructor(o: Resolved, shards: Shard[], nextAccept: number) {
    this.#o = o;
    this.#shards = shards;
    this.#nextAccept = nextAccept;
    this.#thresholds = shards[0].engine.thresholds();
    this.#kOfN = shards[0].engine.combineKOfN();
    // A restored pool's arenas hold per-instrument thresholds: read them back (no worker runs yet).
    for (const sh of shards) {
      for (const id of sh.engine.instrumentIds()) {
        const values = new Map<number, number>();
        for (const [key, v] of Object.entries(sh.engine.instrumentThresholds(id))) {
          const [f, d] = key.split('.');
          values.set(channelIndex(ALERT_FEATURES.indexOf(f as never), ALERT_DETECTORS.indexOf(d as never)), v);
        }
        if (values.size > 0) this.#instrumentThresholds.set(id, values);
      }
    }
    this.#start = new Int32Array(o.shards + 1);
    this.#cursor = new Int32Array(o.shards);
    const workerData: PoolWorkerData = {
      build: o.build,
      memories: shards.map((s) => s.memory),
      layouts: shards.map((s) => s.layout),
      snapshots: shards.map((s) => s.snapshots),
    };
    this.piscina = new Piscina({
      filename: workerPath(),
      minThreads: o.workers,
      maxThreads: o.workers,
      // At most one task per shard is ever queued or running, so Piscina's queue holds at most `shards` tasks.
      maxQueue: o.shards,
      // A replacement worker gets the same workerData: the memories, layouts and snapshot buffers.
      workerData,
    });
    // Piscina removes a worker only when it exits (minThreads = maxThreads: idle ones stay) or when the pool is
    // destroyed, and starts a replacement at once or at the next task.
    this.piscina.on('workerDestroy', () => { if (!this.#closed) this.#workerDeaths++; });
    // A worker that dies between tasks loses nothing (its state is in the shared memories): nothing to do. Piscina
    // also reports here a result that arrives after its worker's death was handled (the task was replayed).
    this.piscina.on('error', () => {});
  }

  static #resolve(opts: PoolOptions, fixed?: { config: Config; shards: number; maxInstruments: number }): Resolved {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('pool: options must be an object');
    // The `instruments` section names instruments; the pool knows ids: the caller applies it (setInstrumentThresholds),
    // and the arenas, not the configuration, then hold the values (so a checkpoint's configuration does not list them).
    const config = { ...(fixed?.config ?? resolveConfig(opts.config ?? {})), instruments: {} };
    const build = opts.build ?? 'release';
    if (build !== 'release' && build !== 'debug') throw new RangeError(`pool: build must be 'release' or 'debug', got ${JSON.stringify(build)}`);
    const chunkEvents = intOption(opts.chunkEvents, 'chunkEvents', 1, 1 << 20, 2048);
    return {
      config,
      shards: fixed?.shards ?? intOption(opts.shards, 'shards', 1, 1024, 8),
      maxInstruments: fixed?.maxInstruments ?? intOption(opts.maxInstruments, 'maxInstruments', 1, 1_048_576, config.maxInstruments),
      workers: intOption(opts.workers, 'workers', 1, 256, 1),
      chunkEvents,
      maxQueuedEvents: intOption(opts.maxQueuedEvents, 'maxQueuedEvents', 1, 1 << 28, 1 << 20),
      snapshotEveryEvents: intOption(opts.snapshotEveryEvents, 'snapshotEveryEvents', 1, 1 << 28, 1 << 16),
      build: build === 'debug' ? 'shared-debug' : 'shared',
    };
  }

  /**
   * Lay out shard memories for arenas of the given sizes. A shard holds at most maxQueuedEvents queued events plus
   * fewer than snapshotEveryEvents journaled ones; its memory starts with a few chunks and grows as they are needed,
   * up to that bound (docs/architecture.md, "Memory bound").
   */
  static #layoutShards(o: Resolved, arenaBytes: number[], bind: (shard: number, memory: WebAssembly.Memory, layout: EngineLayout) => Engine): Shard[] {
    const maxChunks = Math.ceil((o.maxQueuedEvents + o.snapshotEveryEvents) / o.chunkEvents) + 2;
    return arenaBytes.map((bytes, index) => {
      const layout = engineLayout(bytes, { chunkEvents: o.chunkEvents, chunks: Math.min(4, maxChunks), alertCapacity: ALERT_CAPACITY });
      if (maxChunks > layout.maxChunks) {
        throw new RangeError(`pool: maxQueuedEvents + snapshotEveryEvents (${o.maxQueuedEvents + o.snapshotEveryEvents}) events in chunks of ${o.chunkEvents} do not fit in a 4 GiB shard memory`);
      }
      const maxPages = pagesFor(layout, maxChunks);
      const memory = new WebAssembly.Memory({ initial: layout.pages, maximum: maxPages, shared: true });
      const engine = bind(index, memory, layout);
      const snapshots: [SharedArrayBuffer, SharedArrayBuffer] = [new SharedArrayBuffer(bytes), new SharedArrayBuffer(bytes)];
      engine.snapshotInto(new Uint8Array(snapshots[0]));
      const shard: Shard = {
        index, memory, layout, engine, chunks: [], free: [], open: null, tail: null, pending: [], inFlight: null,
        journal: [], journalEvents: 0, snapshots, good: 0, queued: 0, enqueued: 0, doneSerial: 0, fault: false, failures: 0, maxPages,
      };
      for (let k = 0; k < layout.chunks; k++) newChunk(shard, k);
      shard.free = shard.chunks.slice().reverse(); // chunk 0 is taken first
      return shard;
    });
  }

  static async create(opts: PoolOptions): Promise<ShardPool> {
    const o = ShardPool.#resolve(opts);
    const cfg = shardConfig(o.config, o.shards, o.maxInstruments);
    const bytes = Engine.arenaBytes(cfg, o.build);
    const shards = ShardPool.#layoutShards(o, new Array<number>(o.shards).fill(bytes), (_i, memory, layout) => Engine.attach(memory, layout, { build: o.build, config: cfg }));
    return new ShardPool(o, shards, 0);
  }

  static async restore(checkpoint: Uint8Array, opts: Omit<PoolOptions, 'config' | 'shards' | 'maxInstruments'> = {}): Promise<ShardPool> {
    const { header, arenas } = parseCheckpoint(checkpoint);
    let config: Config;
    try {
      config = resolveConfig(header.config);
    } catch (err) {
      throw new PoolError(`checkpoint: its configuration is invalid: ${(err as Error).message}`, { cause: err });
    }
    const o = ShardPool.#resolve(opts as PoolOptions, { config, shards: header.shards, maxInstruments: header.maxInstruments });
    const expected = Engine.arenaBytes(shardConfig(config, o.shards, o.maxInstruments), o.build);
    const shards = ShardPool.#layoutShards(o, header.arenas.map((a) => a.bytes), (i, memory, layout) => {
      if (arenas[i].byteLength !== expected) {
        throw new PoolError(`checkpoint: shard ${i}'s arena has ${arenas[i].byteLength} bytes, its configuration needs ${expected}`);
      }
      const engine = Engine.attach(memory, layout, { build: o.build });
      try {
        engine.load(arenas[i]);
      } catch (err) {
        throw new PoolError(`checkpoint: shard ${i}'s arena is refused by the module (restore_check): ${(err as Error).message}`, { cause: err });
      }
      return engine;
    });
    return new ShardPool(o, shards, header.nextAccept);
  }

  /** The meta a checkpoint was written with (checkpoint(meta)); validates the file's framing and header. */
  static readCheckpointMeta(bytes: Uint8Array): unknown {
    return parseCheckpoint(bytes).header.meta;
  }

  // ---- Accepting events -------------------------------------------------------------------------------------------
  get freeEvents(): number { return this.#o.maxQueuedEvents - this.#queued; }
  /** Total instruments (ids 0 .. maxInstruments - 1 fit). */
  get maxInstruments(): number { return this.#o.maxInstruments; }
  /** The accept index the next submitted event gets: events accepted over the life of the state. */
  get nextAccept(): number { return this.#nextAccept; }
  get shards(): number { return this.#o.shards; }

  /**
   * Accepts all n events or none (returns -1 when there is no room). Copies them into the shards' chunks.
   * Assigns seq = the pool's next accept index where cols.seq is null (or an element is negative).
   * Returns the accept index of the first event; the frame's events get [ret, ret + n).
   */
  submit(cols: PoolColumns, arrivalNs: bigint): number {
    if (this.#failed) throw this.#failed;
    if (this.#closed) throw new PoolError('submit after close()');
    const n = cols.n;
    checkColumns(cols);
    if (n > this.freeEvents) return -1;
    const first = this.#nextAccept;
    if (n === 0) return first;
    const S = this.#o.shards, shards = this.#shards, cap = this.#o.chunkEvents;
    // Group the frame's events by shard (a stable counting sort), then copy each shard's run column by column:
    // tight loops with sequential writes, several times faster than moving one event's twelve fields at a time.
    if (this.#order.length < n) { this.#order = new Int32Array(2 * n); this.#shardOf = new Uint16Array(2 * n); }
    const order = this.#order, shardOf = this.#shardOf, start = this.#start;
    const inst = cols.instrument;
    start.fill(0);
    for (let i = 0; i < n; i++) { const sh = inst[i] % S; shardOf[i] = sh; start[sh + 1]++; }
    for (let sh = 0; sh < S; sh++) start[sh + 1] += start[sh];
    const at = this.#cursor;
    at.set(start.subarray(0, S));
    for (let i = 0; i < n; i++) order[at[shardOf[i]]++] = i;

    const src: Source = this.#src;
    src.ts = cols.ts;
    src.seq = cols.seq === null ? null : new Uint32Array(cols.seq.buffer, cols.seq.byteOffset, 2 * n);
    src.instrument = inst;
    src.kind = cols.kind;
    src.f = cols.f;
    src.first = first;
    for (let sh = 0; sh < S; sh++) {
      const shard = shards[sh];
      for (let k = start[sh], end = start[sh + 1]; k < end; ) {
        let tail = shard.tail;
        if (tail === null || tail.chunk!.fill === cap) tail = this.#newSegment(shard, first + order[k], arrivalNs);
        const c = tail.chunk!;
        const m = Math.min(end - k, cap - c.fill);
        copyEvents(src, order, k, m, c, c.fill);
        c.fill += m;
        shard.queued += m;
        k += m;
      }
    }
    src.ts = src.seq = null; src.instrument = null; src.kind = null; src.f = null;
    this.#nextAccept = first + n;
    this.#queued += n;
    for (let sh = 0; sh < S; sh++) this.#dispatch(shards[sh]);
    return first;
  }

  /** A new pending segment at the end of the shard's open chunk (a fresh chunk when it is full). */
  #newSegment(sh: Shard, firstAccept: number, arrivalNs: bigint): Entry {
    this.#sealTail(sh);
    let c = sh.open;
    if (c === null || c.fill === this.#o.chunkEvents) {
      if (c !== null) { c.open = false; release(sh, c, 0); }
      c = this.#takeChunk(sh);
      c.open = true;
      sh.open = c;
    }
    c.refs++;
    const seg: Entry = { chunk: c, start: c.fill, end: c.fill, plan: null, instrument: null, firstAccept, arrivalNs, serial: sh.enqueued++, done: false };
    sh.pending.push(seg);
    sh.tail = seg;
    return seg;
  }

  /** The tail segment takes no more events (it is about to run, or something must come after it). */
  #sealTail(sh: Shard): void {
    const t = sh.tail;
    if (t !== null) { t.end = t.chunk!.fill; sh.tail = null; }
  }

  #takeChunk(sh: Shard): Chunk {
    const c = sh.free.pop();
    if (c !== undefined) { c.fill = 0; return c; }
    // Grow by a quarter at least, so that a backlog building up does not grow the memory chunk by chunk.
    const k = sh.chunks.length;
    const have = sh.memory.buffer.byteLength / PAGE;
    const want = Math.min(pagesFor(sh.layout, k + Math.max(1, k >> 2)), sh.maxPages);
    if (pagesFor(sh.layout, k + 1) > want) throw new PoolError(`shard ${sh.index}: chunk ${k} would pass the memory bound (${sh.maxPages} pages): the queue and journal accounting is broken`);
    if (want > have) sh.memory.grow(want - have);
    const total = Math.floor((sh.memory.buffer.byteLength - sh.layout.chunkBase) / sh.layout.chunkBytes);
    const fresh: Chunk[] = [];
    for (let i = k; i < total; i++) fresh.push(newChunk(sh, i));
    for (let i = fresh.length - 1; i > 0; i--) sh.free.push(fresh[i]);
    return fresh[0];
  }

  // ---- Running tasks ----------------------------------------------------------------------------------------------
  #dispatch(sh: Shard): void {
    if (sh.inFlight !== null || sh.pending.length === 0 || this.#failed || this.#closed) return;
    const barrier = this.#barriers.length === 0 ? Infinity : this.#barriers[0][sh.index];
    const maxEvents = TASK_CHUNKS * this.#o.chunkEvents;
    if (sh.pending[0].serial >= barrier) return;
    const ops: number[] = [];
    let events = 0, taken = 0;
    while (taken < sh.pending.length && events < maxEvents) {
      const e = sh.pending[taken];
      if (e.serial >= barrier) break;
      if (e === sh.tail) this.#sealTail(sh);
      taken++;
      if (e.chunk !== null) {
        ops.push(e.done ? OP_REPLAY : OP_EVENTS, e.chunk.ptr, e.start, e.end);
        events += e.end - e.start;
      } else if (e.instrument !== null) {
        const { id, plan } = e.instrument;
        for (let i = 0; i < plan.length; i += 2) ops.push(OP_INSTRUMENT, id, plan[i], plan[i + 1]);
      } else {
        const p = e.plan!;
        for (let i = 0; i < p.length; i += 3) ops.push(OP_CHANNEL, p[i], p[i + 1], p[i + 2]);
      }
    }
    const entries = sh.pending.splice(0, taken);
    // Snapshot at the end of this task when the journal would otherwise pass its bound: the journal then empties.
    let snapshot = -1;
    if (sh.journalEvents + events >= this.#o.snapshotEveryEvents || sh.journal.length + entries.length >= JOURNAL_ENTRIES) {
      snapshot = 1 - sh.good;
      ops.push(OP_SNAPSHOT, snapshot, 0, 0);
    }
    const task: ShardTask = { shard: sh.index, ops, fault: sh.fault ? 1 : 0 };
    sh.fault = false;
    sh.inFlight = entries;
    this.#tasks++;
    const settled = this.piscina.run(task).then(
      (result: ShardResult) => this.#done(sh, entries, events, snapshot, result),
      (err: unknown) => this.#lost(sh, entries, err),
    );
    this.#settled[sh.index] = settled;
  }

  #done(sh: Shard, entries: Entry[], events: number, snapshot: number, records: ShardResult): void {
    sh.inFlight = null;
    sh.failures = 0;
    let fresh = 0;
    for (const e of entries) {
      if (!e.done) {
        e.done = true;
        if (e.chunk !== null) fresh += e.end - e.start;
      }
      if (e.serial >= sh.doneSerial) sh.doneSerial = e.serial + 1;
    }
    sh.queued -= fresh;
    this.#queued -= fresh;
    this.#processed += fresh;
    if (snapshot >= 0) {
      // The snapshot covers the journal and this task: both can go, and their chunks be reused.
      sh.good = snapshot as 0 | 1;
      for (const e of sh.journal) if (e.chunk !== null) release(sh, e.chunk, 1);
      for (const e of entries) if (e.chunk !== null) release(sh, e.chunk, 1);
      sh.journal = [];
      sh.journalEvents = 0;
    } else {
      for (const e of entries) sh.journal.push(e);
      sh.journalEvents += events;
    }
    this.#dispatch(sh);
    this.#wake();
    // The pool's state is complete before the callbacks run: one that throws (a bug in it, surfacing as an unhandled
    // rejection) leaves nothing half done here, and progress is still reported.
    try {
      if (records !== null) {
        const first = entries.find((e) => e.chunk !== null);
        this.onAlerts({ shard: sh.index, records, count: records.byteLength / ALERT_BYTES, arrivalNs: first ? first.arrivalNs : 0n });
      }
    } finally {
      this.onProgress();
    }
  }

  /** The worker running this shard's task died (or the task threw): restore the last snapshot, replay the journal. */
  #lost(sh: Shard, entries: Entry[], err: unknown): void {
    sh.inFlight = null;
    if (this.#closed) return;
    this.#recoveries++;
    if (++sh.failures >= MAX_CONSECUTIVE_FAILURES) {
      this.#fail(new PoolError(`shard ${sh.index}: ${sh.failures} tasks in a row failed; the last: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
      return;
    }
    // The arena may be half-way through a batch: put it back to the last good snapshot, and everything since in
    // front of the queue. Entries already done replay silently: their alerts were emitted once.
    try {
      sh.engine.load(new Uint8Array(sh.snapshots[sh.good]));
    } catch (loadErr) {
      this.#fail(new PoolError(`shard ${sh.index}: its last snapshot does not restore: ${(loadErr as Error).message}`, { cause: loadErr }));
      return;
    }
    sh.pending = sh.journal.concat(entries, sh.pending);
    sh.journal = [];
    sh.journalEvents = 0;
    this.#dispatch(sh);
  }

  #fail(err: Error): void {
    this.#failed = err;
    for (const w of this.#waiters) w.reject(err);
    this.#waiters = [];
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const still = [];
    for (const w of this.#waiters) if (w.ready()) w.resolve(); else still.push(w);
    this.#waiters = still;
  }

  #until(ready: () => boolean): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ ready, resolve, reject }));
  }

  /** All events with accept index < watermark have been processed by the engine. */
  get processedWatermark(): number {
    let wm = this.#nextAccept;
    for (const sh of this.#shards) {
      // A shard's events are in accept order, and its first unfinished segment holds its oldest unprocessed event.
      if (sh.inFlight !== null) for (const e of sh.inFlight) if (!e.done && e.chunk !== null) { if (e.firstAccept < wm) wm = e.firstAccept; break; }
      for (const e of sh.pending) if (!e.done && e.chunk !== null) { if (e.firstAccept < wm) wm = e.firstAccept; break; }
    }
    return wm;
  }

  /** Resolves when everything submitted so far is processed. */
  drain(): Promise<void> {
    const target = this.#shards.map((s) => s.enqueued);
    return this.#until(() => this.#shards.every((s, i) => s.doneSerial >= target[i]));
  }

  // ---- Thresholds -------------------------------------------------------------------------------------------------
  /**
   * Validated first (ConfigError), then journaled per shard: every shard applies it between the events submitted
   * before and after this call, like Engine.setThresholds at that point of the stream.
   */
  setThresholds(update: Record<string, unknown>): void {
    if (this.#failed) throw this.#failed;
    const plan = planThresholds(this.#thresholds, update, this.#kOfN);
    for (let i = 0; i < plan.length; i += 3) {
      const t = this.#thresholds[plan[i]];
      this.#thresholds[plan[i]] = { ...t, mode: MODES[plan[i + 1]], threshold: plan[i + 2] };
    }
    for (const sh of this.#shards) {
      this.#sealTail(sh);
      sh.pending.push({ chunk: null, start: 0, end: 0, plan, instrument: null, firstAccept: this.#nextAccept, arrivalNs: 0n, serial: sh.enqueued++, done: false });
      this.#dispatch(sh);
    }
  }

  /**
   * One instrument's own thresholds (a selector map as the configuration's `instruments.<name>`; null clears), on the
   * shard that owns the instrument (id % shards), which registers it if it has not yet. Validated first (ConfigError),
   * then journaled like setThresholds: it applies between the events submitted before and after this call, is
   * replayed after a worker's death, and lives in the arena, so checkpoints keep it.
   */
  setInstrumentThresholds(id: number, selectors: Record<string, number | null>): void {
    if (this.#failed) throw this.#failed;
    if (!Number.isInteger(id) || id < 0 || id >= this.#o.maxInstruments) {
      // Ids below maxInstruments always fit their shard's table (ceil(maxInstruments / shards) slots, ids dealt in order).
      throw new RangeError(`setInstrumentThresholds: instrument id must be an integer in [0, ${this.#o.maxInstruments - 1}], got ${id}`);
    }
    const plan = resolveInstrumentChannels(parseInstruments({ [String(id)]: selectors })[String(id)]);
    const enabled: number[] = [];
    for (let i = 0; i < plan.length; i += 2) {
      // Channels that hold no state are left out: a disabled feature's, a learned channel not enabled.
      const c = plan[i];
      if (c < N_TABLE_CHANNELS ? !this.#o.config.features[FEATURES[Math.floor(c / DETECTORS.length)]].enabled : !learnedEnabled(this.#o.config, c)) continue;
      enabled.push(plan[i], plan[i + 1]);
    }
    let mine = this.#instrumentThresholds.get(id);
    if (mine === undefined) this.#instrumentThresholds.set(id, (mine = new Map()));
    for (let i = 0; i < enabled.length; i += 2) {
      if (Number.isNaN(enabled[i + 1])) mine.delete(enabled[i]);
      else mine.set(enabled[i], enabled[i + 1]);
    }
    const sh = this.#shards[id % this.#o.shards];
    this.#sealTail(sh);
    sh.pending.push({ chunk: null, start: 0, end: 0, plan: null, instrument: { id, plan: enabled }, firstAccept: this.#nextAccept, arrivalNs: 0n, serial: sh.enqueued++, done: false });
    this.#dispatch(sh);
  }

  /** Per-instrument thresholds in force for events submitted from now on: id -> "feature.detector" -> threshold. */
  instrumentThresholds(): Map<number, Record<string, number>> {
    const out = new Map<number, Record<string, number>>();
    for (const [id, values] of this.#instrumentThresholds) {
      if (values.size === 0) continue;
      const byName: Record<string, number> = {};
      for (const [c, v] of [...values].sort((a, b) => a[0] - b[0])) byName[channelName(c)] = v;
      out.set(id, byName);
    }
    return out;
  }

  /** The thresholds in force for events submitted from now on. */
  thresholds(): ReturnType<Engine['thresholds']> {
    return this.#thresholds.map((t) => ({ ...t }));
  }

  stats(): PoolStats {
    let inFlight = 0, accepted = 0, alerts = 0;
    const rejected: Record<string, number> = {};
    for (let r = 1; r < REJECT_REASONS.length; r++) rejected[REJECT_REASONS[r]] = 0;
    for (const sh of this.#shards) {
      if (sh.inFlight !== null) inFlight++;
      // Read while a worker may be writing them: each is a whole aligned i64, and counts are for monitoring.
      const c = sh.engine.counters();
      accepted += c.accepted;
      alerts += c.alerts;
      for (const [reason, v] of Object.entries(c.rejected)) rejected[reason] += v;
    }
    return {
      shards: this.#o.shards, workers: this.#o.workers, queuedEvents: this.#queued, inFlight, tasks: this.#tasks,
      workerRestarts: this.#workerDeaths, recoveries: this.#recoveries,
      eventsProcessed: this.#processed, utilization: this.piscina.utilization, engine: { accepted, alerts, rejected },
    };
  }

  // ---- Checkpoints ------------------------------------------------------------------------------------------------
  /**
   * Waits until every event submitted before the call is processed (events submitted meanwhile wait behind a
   * barrier), then writes: magic, version, a JSON header (configuration, shards, maxInstruments, the next accept
   * index, each arena's size and sha256, `meta`) and the shard arenas.
   */
  checkpoint(meta?: unknown): Promise<Uint8Array> {
    // Everything that defines the checkpoint is taken now, synchronously: the barrier, the accept index, the meta.
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new PoolError('checkpoint after close()'));
    const json = JSON.stringify(meta ?? null);
    if (json === undefined) return Promise.reject(new TypeError('checkpoint: meta must be JSON-serialisable'));
    const nextAccept = this.#nextAccept;
    const barrier = this.#shards.map((sh) => { this.#sealTail(sh); return sh.enqueued; });
    this.#barriers.push(barrier);
    return this.#checkpoint(barrier, nextAccept, json);
  }

  async #checkpoint(barrier: number[], nextAccept: number, json: string): Promise<Uint8Array> {
    try {
      // Nothing before the barrier pending or running (a replay after a crash included): every arena is exactly the
      // state after the events accepted before the call. Barriers are taken in order, so the first is the lowest.
      await this.#until(() => this.#shards.every((s, i) => s.inFlight === null && (s.pending.length === 0 || s.pending[0].serial >= barrier[i])));
      const arenas = this.#shards.map((sh) => sh.engine.snapshot());
      const header: CheckpointHeader = {
        format: 'atc-pool', abi: ABI_VERSION, config: this.#o.config, shards: this.#o.shards, maxInstruments: this.#o.maxInstruments,
        nextAccept, arenas: arenas.map((a) => ({ bytes: a.byteLength, sha256: sha256(a) })), meta: JSON.parse(json),
      };
      return writeCheckpoint(header, arenas);
    } finally {
      this.#barriers.splice(this.#barriers.indexOf(barrier), 1);
      for (const sh of this.#shards) this.#dispatch(sh);
    }
  }

  // ---- Life -------------------------------------------------------------------------------------------------------
  /**
   * Stops taking events, waits for the tasks in flight (their alerts are still delivered), and ends the workers.
   * What is still queued is dropped: call drain() (or checkpoint()) first to keep it.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#settled);
    await this.piscina.destroy();
    this.#fail(new PoolError('closed'));
  }

  /** Tests only: make the worker that runs the next task of `shard` die half-way through that batch. */
  injectFault(shard: number): void {
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.#o.shards) throw new RangeError(`injectFault: shard must be an integer in [0, ${this.#o.shards - 1}], got ${shard}`);
    this.#shards[shard].fault = true;
  }
}

// ---- Helpers -----------------------------------------------------------------------------------------------------
/** The frame being copied (seq as u32 pairs: its sign is checked and accept indices written without a BigInt). */
interface Source {
  ts: BigInt64Array | null;
  seq: Uint32Array | null;
  instrument: Uint32Array | null;
  kind: Uint8Array | null;
  f: Float64Array[] | null;
  first: number;
}

/** Copy events order[k .. k + m) of the frame into chunk slots [j, j + m). */
function copyEvents(src: Source, order: Int32Array, k: number, m: number, c: Chunk, j: number): void {
  const ts = src.ts!, inst = src.instrument!, kind = src.kind!, f = src.f!;
  const i0 = order[k];
  if (order[k + m - 1] - i0 === m - 1) {
    // A run of consecutive events (one shard, or a frame of one shard's instruments): block copies.
    const i1 = i0 + m;
    c.ts.set(ts.subarray(i0, i1), j);
    c.instrument.set(inst.subarray(i0, i1), j);
    const dkind = c.kind;
    for (let q = 0; q < m; q++) dkind[j + q] = kind[i0 + q];
    for (let col = 0; col < N_FIELDS; col++) c.f[col].set(f[col].subarray(i0, i1), j);
  } else {
    // BigInt64Array to BigInt64Array element copies compile to plain 64-bit moves: no BigInt is made.
    const dts = c.ts;
    for (let q = 0; q < m; q++) dts[j + q] = ts[order[k + q]];
    const dinst = c.instrument;
    for (let q = 0; q < m; q++) dinst[j + q] = inst[order[k + q]];
    const dkind = c.kind;
    for (let q = 0; q < m; q++) dkind[j + q] = kind[order[k + q]];
    for (let col = 0; col < N_FIELDS; col++) {
      const from = f[col], to = c.f[col];
      for (let q = 0; q < m; q++) to[j + q] = from[order[k + q]];
    }
  }
  const seq = src.seq, dseq = c.seq, first = src.first;
  for (let q = 0; q < m; q++) {
    const i = order[k + q], d = j + q;
    if (seq !== null && seq[2 * i + 1] < 0x80000000) {
      dseq[2 * d] = seq[2 * i];
      dseq[2 * d + 1] = seq[2 * i + 1];
    } else {
      // The accept index, so that alerts do not depend on the sharding (each arena would number its own events).
      const a = first + i;
      dseq[2 * d] = a >>> 0;
      dseq[2 * d + 1] = (a / 4294967296) >>> 0;
    }
  }
}

/** The shape submit() relies on; the protocol layer has validated the values. */
function checkColumns(cols: PoolColumns): void {
  const n = cols.n;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`submit: n must be a non-negative integer, got ${n}`);
  const short = (name: string, len: number) => { if (len < n) throw new RangeError(`submit: column ${name} holds ${len} values, n is ${n}`); };
  short('ts', cols.ts.length);
  if (cols.seq !== null) short('seq', cols.seq.length);
  short('instrument', cols.instrument.length);
  short('kind', cols.kind.length);
  if (cols.f.length !== N_FIELDS) throw new RangeError(`submit: expected ${N_FIELDS} f columns, got ${cols.f.length}`);
  for (let k = 0; k < N_FIELDS; k++) short(`f${k}`, cols.f[k].length);
}

function newChunk(sh: Shard, k: number): Chunk {
  const ptr = chunkPtr(sh.layout, k);
  const cap = sh.layout.chunkEvents, buf = sh.memory.buffer;
  const c: Chunk = {
    ptr, fill: 0, refs: 0, open: false,
    ts: new BigInt64Array(buf, ptr, cap),
    seq: new Uint32Array(buf, ptr + 8 * cap, 2 * cap),
    instrument: new Uint32Array(buf, ptr + 16 * cap, cap),
    kind: new Uint32Array(buf, ptr + 20 * cap, cap),
    f: Array.from({ length: N_FIELDS }, (_, k) => new Float64Array(buf, ptr + (24 + 8 * k) * cap, cap)),
  };
  sh.chunks.push(c);
  return c;
}

/** Drop `by` references to a chunk; a chunk nobody references and that takes no more events is free again. */
function release(sh: Shard, c: Chunk, by: number): void {
  c.refs -= by;
  if (c.refs === 0 && !c.open) sh.free.push(c);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function writeCheckpoint(header: CheckpointHeader, arenas: Uint8Array[]): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const start = align16(16 + json.byteLength);
  let total = start;
  for (const a of arenas) total = align16(total + a.byteLength);
  const out = new Uint8Array(total);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  const v = new DataView(out.buffer);
  v.setUint32(8, CHECKPOINT_VERSION, true);
  v.setUint32(12, json.byteLength, true);
  out.set(json, 16);
  let o = start;
  for (const a of arenas) { out.set(a, o); o = align16(o + a.byteLength); }
  return out;
}

function align16(n: number): number { return Math.ceil(n / 16) * 16; }

function parseCheckpoint(bytes: Uint8Array): { header: CheckpointHeader; arenas: Uint8Array[] } {
  const bad = (what: string): never => { throw new PoolError(`checkpoint: ${what}`); };
  if (!(bytes instanceof Uint8Array)) bad(`expected bytes (Uint8Array), got ${typeof bytes}`);
  if (bytes.byteLength < 16) bad(`truncated: ${bytes.byteLength} bytes, the fixed header alone is 16`);
  const magic = Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString('latin1');
  if (magic !== MAGIC) bad(`wrong magic ${JSON.stringify(magic)} (expected ${JSON.stringify(MAGIC)}): not an atc pool checkpoint`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) bad(`version ${version} is not supported (this build reads version ${CHECKPOINT_VERSION})`);
  const jsonBytes = v.getUint32(12, true);
  if (16 + jsonBytes > bytes.byteLength) bad(`truncated: the header says ${jsonBytes} bytes of JSON, the file has ${bytes.byteLength - 16} after the fixed header`);
  let h: CheckpointHeader;
  try {
    h = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 16, jsonBytes).toString('utf8')) as CheckpointHeader;
  } catch (err) {
    throw new PoolError(`checkpoint: the JSON header does not parse: ${(err as Error).message}`, { cause: err });
  }
  if (typeof h !== 'object' || h === null || h.format !== 'atc-pool') bad(`header.format must be "atc-pool", got ${JSON.stringify((h as { format?: unknown } | null)?.format)}`);
  if (h.abi !== ABI_VERSION) bad(`written for module ABI ${String(h.abi)}, this build is ABI ${ABI_VERSION}`);
  if (!Number.isInteger(h.shards) || h.shards < 1) bad(`header.shards must be a positive integer, got ${JSON.stringify(h.shards)}`);
  if (!Number.isInteger(h.maxInstruments) || h.maxInstruments < 1) bad(`header.maxInstruments must be a positive integer, got ${JSON.stringify(h.maxInstruments)}`);
  if (!Number.isSafeInteger(h.nextAccept) || h.nextAccept < 0) bad(`header.nextAccept must be a non-negative integer, got ${JSON.stringify(h.nextAccept)}`);
  if (!Array.isArray(h.arenas) || h.arenas.length !== h.shards) bad(`header.arenas must list ${h.shards} arenas, got ${Array.isArray(h.arenas) ? h.arenas.length : typeof h.arenas}`);
  const arenas: Uint8Array[] = [];
  let o = align16(16 + jsonBytes);
  h.arenas.forEach((a, i) => {
    if (!Number.isInteger(a?.bytes) || a.bytes < 512) bad(`header.arenas[${i}].bytes must be an integer >= 512, got ${JSON.stringify(a?.bytes)}`);
    if (o + a.bytes > bytes.byteLength) bad(`truncated: shard ${i}'s arena needs bytes [${o}, ${o + a.bytes}), the file has ${bytes.byteLength}`);
    const arena = bytes.subarray(o, o + a.bytes);
    if (sha256(arena) !== a.sha256) bad(`shard ${i}'s arena does not match its sha256 (corrupt file)`);
    arenas.push(arena);
    o = align16(o + a.bytes);
  });
  if (o !== bytes.byteLength) bad(`${bytes.byteLength - o} bytes after the last arena (expected the file to end at ${o})`);
  return { header: h, arenas };
}

