// The input of a calibration, parsed once and held in memory as columns that every worker reads in place
// (SharedArrayBuffers): a calibration runs the engine over the same history 20 to 200 times, and parsing (Binance
// order books from depth diffs, JSON) costs more than the engine itself, so it is paid once.
//
// Events are grouped by instrument (a stable counting sort of the stream as read): one instrument's events are one
// contiguous range, in their order of arrival. Instruments are independent in the engine (its state is per
// instrument, docs/architecture.md "The worker pool"), so an instrument's range replayed alone gives the alerts it
// gets in the merged stream, and instruments can run on different workers.
import { N_FIELDS } from '../abi.js';
import type { ReaderStats } from '../adapters/common.js';
import { BinanceSession, openInput, type InputFormat } from '../adapters/index.js';
import { InstrumentCatalog } from '../instruments.js';
import { Registry } from '../registry.js';

export interface InstrumentRange {
  name: string;
  /** The Registry's id (what the engine and alerts carry). */
  id: number;
  /** Events [start, end) of the columns. */
  start: number;
  end: number;
  firstTsNs: bigint;
  lastTsNs: bigint;
}

/** Columns over SharedArrayBuffers: structured-cloned to a worker, they share memory instead of copying. */
export interface CalibrationColumns {
  n: number;
  tsNs: BigInt64Array;
  kind: Uint8Array;
  /** f[k][i]: field k of event i (docs/abi.md, "Events"). */
  f: Float64Array[];
}

export interface CalibrationData {
  columns: CalibrationColumns;
  /** In order of first appearance (registry id order). */
  instruments: InstrumentRange[];
  /** Earliest and latest event time over every instrument. */
  firstTsNs: bigint;
  lastTsNs: bigint;
  files: { path: string; format: InputFormat; stats: ReaderStats }[];
}

/** A growable column store for the read phase; copied once into shared memory at the end. */
class Growing {
  n = 0;
  ts = new BigInt64Array(1 << 16);
  id = new Uint32Array(1 << 16);
  kind = new Uint8Array(1 << 16);
  f: Float64Array[] = Array.from({ length: N_FIELDS }, () => new Float64Array(1 << 16));

  reserve(more: number): void {
    const need = this.n + more;
    if (need <= this.ts.length) return;
    let cap = this.ts.length;
    while (cap < need) cap *= 2;
    const grow = <T extends BigInt64Array | Uint32Array | Uint8Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a.subarray(0, this.n) as never);
      return b;
    };
    this.ts = grow(this.ts, (k) => new BigInt64Array(k));
    this.id = grow(this.id, (k) => new Uint32Array(k));
    this.kind = grow(this.kind, (k) => new Uint8Array(k));
    this.f = this.f.map((col) => grow(col, (k) => new Float64Array(k)));
  }
}

/**
 * Read every file (in order, through one registry and catalog, as `atc replay` does) into shared columns grouped by
 * instrument. `onProgress` is told the bytes read so far after every batch.
 */
export async function loadCalibrationData(
  files: { path: string; format: InputFormat }[],
  opts: { onProgress?: (bytesRead: number, events: number) => void } = {},
): Promise<CalibrationData> {
  const registry = new Registry();
  const catalog = new InstrumentCatalog(registry);
  const g = new Growing();
  const read: CalibrationData['files'] = [];
  const binanceSession = new BinanceSession(); // books continue from file to file, as in atc replay
  let bytesBefore = 0;
  for (const file of files) {
    const reader = await openInput(file.path, file.format, { registry, catalog, binanceSession });
    for await (const batch of reader) {
      const m = batch.length;
      g.reserve(m);
      g.ts.set(batch.tsNs.subarray(0, m), g.n);
      g.id.set(batch.instrument.subarray(0, m), g.n);
      for (let i = 0; i < m; i++) g.kind[g.n + i] = batch.kind[i];
      for (let k = 0; k < N_FIELDS; k++) g.f[k].set(batch.f[k].subarray(0, m), g.n);
      g.n += m;
      opts.onProgress?.(bytesBefore + reader.stats.bytesRead, g.n);
    }
    bytesBefore += reader.stats.bytesRead;
    read.push({ path: file.path, format: reader.format, stats: reader.stats });
  }
  return groupByInstrument(g, registry, read);
}

function groupByInstrument(g: Growing, registry: Registry, files: CalibrationData['files']): CalibrationData {
  const n = g.n;
  // Counting sort by id: stable, so each instrument keeps its order of arrival.
  const ids = registry.size;
  const count = new Int32Array(ids + 1);
  for (let i = 0; i < n; i++) count[g.id[i] + 1]++;
  for (let k = 0; k < ids; k++) count[k + 1] += count[k];
  const starts = count.slice();
  const at = count.slice(0, ids);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[at[g.id[i]]++] = i;

  const ts = new BigInt64Array(new SharedArrayBuffer(Math.max(8, 8 * n)));
  const kind = new Uint8Array(new SharedArrayBuffer(Math.max(1, n)));
  const f = Array.from({ length: N_FIELDS }, () => new Float64Array(new SharedArrayBuffer(Math.max(8, 8 * n))));
  for (let j = 0; j < n; j++) {
    const i = order[j];
    ts[j] = g.ts[i];
    kind[j] = g.kind[i];
  }
  for (let k = 0; k < N_FIELDS; k++) {
    const from = g.f[k], to = f[k];
    for (let j = 0; j < n; j++) to[j] = from[order[j]];
  }
  const instruments: InstrumentRange[] = [];
  let first: bigint | undefined, last: bigint | undefined;
  for (let id = 0; id < ids; id++) {
    const start = starts[id], end = starts[id + 1];
    if (end === start) continue; // listed (a Deribit listing) but without events
    // Arrival order is not always time order (the engine rejects an event that goes back in time, as in a replay):
    // the span is the earliest and latest time seen.
    let lo = ts[start], hi = ts[start];
    for (let j = start + 1; j < end; j++) { const t = ts[j]; if (t < lo) lo = t; if (t > hi) hi = t; }
    instruments.push({ name: registry.name(id), id, start, end, firstTsNs: lo, lastTsNs: hi });
    if (first === undefined || lo < first) first = lo;
    if (last === undefined || hi > last) last = hi;
  }
  return { columns: { n, tsNs: ts, kind, f }, instruments, firstTsNs: first ?? 0n, lastTsNs: last ?? 0n, files };
}
