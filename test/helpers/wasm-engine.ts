// Drives the WASM engine straight through its exports (arena_bytes, init, register, ingest, consumed), with the
// batch and alert layouts of assembly/layout.ts, and reads the results into the reference twin's shapes.
//
// Scratch memory, from align16(heap_base()):  config f64[C_LEN] | arena | batch (capacity events) | alerts
// (alertCapacity records) | 4 KiB guard (filled with 0xA5; see guardIntact).
import { ALERT_BYTES, BATCH_BYTES_PER_EVENT, C_LEN, INSTRUMENT_STATS, N_FIELDS, batchColumns, readAlertRecord, type AlertRecord, type AtcExports } from '../../src/abi.js';
import type { RefEvent } from '../../src/reference/engine.js';
import { align16, loadWasm, type Build, type LoadedWasm } from './wasm.js';

export const GUARD_BYTES = 4096;

export interface WasmRun {
  status: number[];
  /** Sequence numbers after numbering (the module writes them back into the batch). */
  seq: bigint[];
  alerts: AlertRecord[];
  /** ingest calls made (more than the number of chunks when the alert buffer filled up). */
  calls: number;
}

export class WasmEngine {
  readonly wasm: LoadedWasm;
  readonly configPtr: number;
  readonly arena: number;
  readonly arenaBytes: number;
  readonly batch: number;
  readonly alerts: number;
  readonly guard: number;

  constructor(build: Build, config: Float64Array, readonly capacity = 256, readonly alertCapacity = 90) {
    this.wasm = loadWasm(build);
    const x = this.x;
    this.configPtr = this.wasm.base;
    new Float64Array(this.wasm.memory.buffer, this.configPtr, C_LEN).set(config);
    this.arena = align16(this.configPtr + C_LEN * 8);
    this.arenaBytes = x.arena_bytes(this.configPtr);
    if (this.arenaBytes < 0) throw new Error(`arena_bytes: error ${this.arenaBytes}`);
    this.batch = align16(this.arena + this.arenaBytes);
    this.alerts = align16(this.batch + capacity * BATCH_BYTES_PER_EVENT);
    this.guard = this.alerts + alertCapacity * ALERT_BYTES;
    const short = this.guard + GUARD_BYTES - this.wasm.memory.buffer.byteLength;
    if (short > 0) this.wasm.memory.grow(Math.ceil(short / 65536));
    const rc = x.init(this.arena, this.configPtr);
    if (rc !== 0) throw new Error(`init: error ${rc}`);
    new Uint8Array(this.wasm.memory.buffer, this.guard, GUARD_BYTES).fill(0xa5);
  }

  get x(): AtcExports { return this.wasm.exports; }

  register(id: number): number { return this.x.register(this.arena, id); }

  /** The bytes after the alert buffer are untouched. */
  guardIntact(): boolean {
    return new Uint8Array(this.wasm.memory.buffer, this.guard, GUARD_BYTES).every((b) => b === 0xa5);
  }

  /** Ingest events in batches of `capacity`, calling again from `consumed` until each batch is done. */
  run(events: readonly RefEvent[]): WasmRun {
    const x = this.x;
    const C = this.capacity;
    const out: WasmRun = { status: [], seq: [], alerts: [], calls: 0 };
    for (let start = 0; start < events.length; start += C) {
      const chunk = events.slice(start, start + C);
      const buf = this.wasm.memory.buffer;
      const col = batchColumns(C);
      const ts = new BigInt64Array(buf, this.batch + col.ts, C);
      const seq = new BigInt64Array(buf, this.batch + col.seq, C);
      const id = new Uint32Array(buf, this.batch + col.instrument, C);
      const kind = new Uint32Array(buf, this.batch + col.kind, C);
      const f = Array.from({ length: N_FIELDS }, (_, k) => new Float64Array(buf, this.batch + col.field(k), C));
      const status = new Uint8Array(buf, this.batch + col.status, C);
      status.fill(0xff);
      chunk.forEach((e, i) => {
        ts[i] = e.tsNs;
        seq[i] = e.seq;
        id[i] = e.instrument >>> 0;
        kind[i] = e.kind >>> 0;
        for (let k = 0; k < N_FIELDS; k++) f[k][i] = k < e.f.length ? e.f[k] : NaN;
      });
      let from = 0;
      while (from < chunk.length) {
        const written = x.ingest(this.arena, this.batch, C, from, chunk.length, this.alerts, this.alertCapacity);
        out.calls++;
        if (written < 0) throw new Error(`ingest: error ${written}`);
        if (written > this.alertCapacity) throw new Error(`ingest wrote ${written} alerts into a buffer of ${this.alertCapacity}`);
        out.alerts.push(...this.readAlerts(written));
        const next = x.consumed(this.arena);
        if (next <= from) throw new Error(`ingest made no progress at event ${start + from}`);
        from = next;
      }
      for (let i = 0; i < chunk.length; i++) {
        out.status.push(status[i]);
        out.seq.push(seq[i]);
      }
    }
    return out;
  }

  readAlerts(n: number): AlertRecord[] {
    const v = new DataView(this.wasm.memory.buffer);
    return Array.from({ length: n }, (_, i) => readAlertRecord(v, this.alerts + i * ALERT_BYTES));
  }

  counter(which: number): number { return this.x.counter(this.arena, which); }
  featureStat(id: number, feature: number, stat: number): number { return this.x.feature_stat(this.arena, id, feature, stat); }
  channelStat(id: number, feature: number, detector: number, stat: number): number { return this.x.channel_stat(this.arena, id, feature, detector, stat); }
  instrumentStat(id: number, stat: number | (typeof INSTRUMENT_STATS)[number]): number {
    return this.x.instrument_stat(this.arena, id, typeof stat === 'number' ? stat : INSTRUMENT_STATS.indexOf(stat));
  }
  setInstrumentThreshold(id: number, feature: number, detector: number, threshold: number): number {
    return this.x.set_instrument_threshold(this.arena, id, feature, detector, threshold);
  }
}
