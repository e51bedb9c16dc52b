// `timestamp,value` CSV series -> generic value events (kind 5): the layout of the Numenta Anomaly Benchmark
// (../shared/data/nab/data/<category>/<file>.csv), the standard yardstick for streaming anomaly detectors, and of
// any metric exported from a spreadsheet or a time-series database.
//
//   timestamp,value
//   2014-07-01 00:00:00,10844
//
// Timestamps are `YYYY-MM-DD HH:MM[:SS[.fraction]]` (a `T` for the space, a zone or offset allowed); without a
// zone they are read as UTC, because NAB says nothing of its zones and a fixed reading keeps replays
// reproducible wherever they run. The instrument is named after the file and its folder, `realKnownCause/nyc_taxi`,
// the name NAB's label files use. Windows line ends (NAB's realAdExchange files) are read like Unix ones.
import { basename, dirname, resolve } from 'node:path';
import { EventBatch } from '../events.js';
import { Registry } from '../registry.js';
import { batchedLines, countMalformed, isoToNs, newReaderStats, show, type OnMalformed, type ReaderStats } from './common.js';

export const CSV_MALFORMED_REASONS = ['badHeader', 'badColumns', 'badTimestamp', 'badNumber', 'truncated', 'corrupt'] as const;
export type CsvMalformedReason = (typeof CSV_MALFORMED_REASONS)[number];

/** True for the header line `timestamp,value` (any case, spaces around the names allowed). */
export function isCsvHeader(line: string): boolean {
  const cells = line.replace(/^\uFEFF/, '').trim().split(',');
  return cells.length === 2 && cells[0].trim().toLowerCase() === 'timestamp' && cells[1].trim().toLowerCase() === 'value';
}

/** `realKnownCause/nyc_taxi` for .../data/realKnownCause/nyc_taxi.csv(.gz): the folder and the file without extension. */
export function csvInstrumentName(path: string): string {
  const abs = resolve(path);
  const file = basename(abs).replace(/\.gz$/i, '').replace(/\.(csv|txt)$/i, '');
  const folder = basename(dirname(abs));
  return folder ? `${folder}/${file}` : file;
}

const DECIMAL_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function unquote(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.charCodeAt(0) === 34 && t.charCodeAt(t.length - 1) === 34 ? t.slice(1, -1) : t;
}

export interface CsvOptions {
  /** Events per yielded batch (default 4096). */
  batchSize?: number;
  registry?: Registry;
  /** The instrument's name; by default csvInstrumentName(path). */
  instrument?: string;
  reuseBatch?: boolean;
  onMalformed?: OnMalformed;
}

/** A streaming reader of one `timestamp,value` CSV file (gzip or plain), yielding EventBatch chunks of value events. */
export class CsvReader implements AsyncIterable<EventBatch> {
  readonly path: string;
  readonly registry: Registry;
  readonly instrument: string;
  readonly stats: ReaderStats;
  readonly #batchSize: number;
  readonly #reuse: boolean;
  readonly #onMalformed: OnMalformed | undefined;

  constructor(path: string, opts: CsvOptions = {}) {
    const batchSize = opts.batchSize ?? 4096;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    this.path = path;
    this.registry = opts.registry ?? new Registry();
    this.instrument = opts.instrument ?? csvInstrumentName(path);
    this.#batchSize = batchSize;
    this.#reuse = opts.reuseBatch ?? true;
    this.#onMalformed = opts.onMalformed;
    this.stats = newReaderStats();
  }

  [Symbol.asyncIterator](): AsyncIterator<EventBatch> {
    const stats = this.stats;
    const id = this.registry.id(this.instrument);
    const bad = (reason: CsvMalformedReason, line: number, detail: string) => countMalformed(stats, reason, line, detail, this.#onMalformed);
    let seenFirst = false;
    return batchedLines(this.path, stats, { batchSize: this.#batchSize, reuse: this.#reuse, onMalformed: this.#onMalformed }, (line, lineNo, batch) => {
      if (!seenFirst) {
        seenFirst = true;
        if (isCsvHeader(line)) return;
        // No header: a file of rows alone is fine; anything else in the first line is a header we cannot read.
        if (!/^\uFEFF?\s*"?\d{4}-/.test(line)) { bad('badHeader', lineNo, `expected the header "timestamp,value", got ${show(line)}`); return; }
      }
      const cells = line.split(',');
      if (cells.length !== 2) { bad('badColumns', lineNo, `expected 2 columns (timestamp,value), got ${cells.length}: ${show(line)}`); return; }
      const time = unquote(cells[0]), value = unquote(cells[1]);
      const ts = isoToNs(time, true);
      if (typeof ts === 'string') { bad('badTimestamp', lineNo, `timestamp ${show(time)}: ${ts}`); return; }
      const x = DECIMAL_RE.test(value) ? +value : NaN;
      if (!Number.isFinite(x)) { bad('badNumber', lineNo, `value ${show(value)} is not a finite number`); return; }
      batch.value(id, ts, x);
      stats.events.value++;
      if (stats.firstTsNs === undefined) stats.firstTsNs = ts;
      stats.lastTsNs = ts;
    });
  }
}
