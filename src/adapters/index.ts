// Input formats: which one a file is, and the reader for it. Every reader streams its file as EventBatch chunks,
// keeps ReaderStats while it goes, and names instruments in the one Registry it is given, so that several files
// replayed one after another feed the same instruments of the same engine.
import type { EventBatch } from '../events.js';
import { InstrumentCatalog } from '../instruments.js';
import { Registry } from '../registry.js';
import { BinanceReader, BinanceSession, type BinanceStats } from './binance.js';
import { emptyEventCounts, newReaderStats, type OnMalformed, type ReaderStats } from './common.js';
import { CsvReader, isCsvHeader } from './csv.js';
import { DeribitReader, type DeribitOptions, type DeribitStats } from './deribit.js';
import { LineReader } from './lines.js';
import { NdjsonReader } from './ndjson.js';

export const INPUT_FORMATS = ['binance', 'deribit', 'ndjson', 'csv'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

export interface Detection {
  /** undefined when the lines look like none of the formats. */
  format: InputFormat | undefined;
  /** A Deribit instrument listing (get_instruments responses): contract terms, no events. */
  deribitListing: boolean;
  /** detectFileFormat: the file holds no non-blank line at all (nothing to detect, nothing to read). */
  empty?: true;
}

/**
 * The format of a file from its first non-empty lines (a few are enough; the first usually decides):
 *   binance  `<receive ns> {json}`
 *   deribit  `<receive time>: {"jsonrpc"...}` or `<receive time> {"jsonrpc"...}`, `wss://...deribit... <-> <time>`,
 *            a listing `https://...deribit... -> <time>: {`, or a bare `{"jsonrpc"...}`
 *   ndjson   any other line starting with `{`
 *   csv      the header `timestamp,value`
 * A bare Binance REST depth snapshot (`{"lastUpdateId"...}`, written by some recorders without a receive time before
 * the stream) says nothing of the lines after it: the next line decides.
 */
export function detectFormat(lines: readonly string[]): Detection {
  for (const raw of lines) {
    const line = raw.replace(/^\uFEFF/, '').trim();
    if (line.length === 0) continue;
    // The recorder's own settings line says nothing of the messages: decide on the next line.
    if (/^configuration\s*:\s*\{/.test(line)) continue;
    if (/^\{\s*"lastUpdateId"\s*:/.test(line)) continue;
    const jsonRpc = line.includes('"jsonrpc"');
    // A receive time and a JSON-RPC message, with or without a colon between them: Deribit.
    if (/^\d+(\.\d+)?\s*:?\s*\{/.test(line) && jsonRpc) return { format: 'deribit', deribitListing: false };
    if (/^\d{1,19} +\{/.test(line)) return { format: 'binance', deribitListing: false };
    if (/^(wss?|https?):\/\/\S*deribit\.com/i.test(line)) {
      return { format: 'deribit', deribitListing: /^https?:\/\/\S*\/get_instruments\S* +-> /.test(line) };
    }
    if (line.startsWith('{')) return { format: jsonRpc ? 'deribit' : 'ndjson', deribitListing: false };
    if (isCsvHeader(line)) return { format: 'csv', deribitListing: false };
    return { format: undefined, deribitListing: false };
  }
  return { format: undefined, deribitListing: false };
}

/** The first `max` non-blank lines of a file (gzip or plain), reading no more of it than that. */
export async function headLines(path: string, max = 3): Promise<string[]> {
  const out: string[] = [];
  for await (const lines of new LineReader(path)) {
    for (const line of lines) {
      if (line.trim().length === 0) continue;
      out.push(line);
      if (out.length === max) return out;
    }
  }
  return out;
}

/** detectFormat over the head of a file; `empty: true` when the file has no non-blank line. */
export async function detectFileFormat(path: string): Promise<Detection> {
  const head = await headLines(path);
  return head.length === 0 ? { format: undefined, deribitListing: false, empty: true } : detectFormat(head);
}

/** A reader of any format: EventBatch chunks, and its statistics kept up to date as it streams. */
export interface InputReader extends AsyncIterable<EventBatch> {
  readonly format: InputFormat;
  readonly path: string;
  readonly stats: ReaderStats;
  /** Binance: the reader's own statistics (messages by shape, books, out-of-order lines, unattributed snapshots). */
  readonly binance?: BinanceStats;
}

export interface InputOptions {
  /** Events per yielded batch (default 4096). */
  batchSize?: number;
  /** Shared by every reader of a replay. A new one by default. */
  registry?: Registry;
  /** Contract terms (Deribit listings fill it); must use `registry`. A new one by default. */
  catalog?: InstrumentCatalog;
  /** Reuse one EventBatch for every yield (default): consume each batch before asking for the next. */
  reuseBatch?: boolean;
  /** Called for every malformed line (Deribit, NDJSON and CSV readers). */
  onMalformed?: OnMalformed;
  /** Deribit's choices of time source, ticker quotes and depth. */
  deribit?: Pick<DeribitOptions, 'time' | 'tickerQuotes' | 'depthLevels' | 'market'>;
  /** The instrument name of a CSV series (default: folder/file). */
  csvInstrument?: string;
  /**
   * Binance: the state carried from file to file (order books, last ids), BinanceSession. Give every reader of a
   * replay the same one, so that a capture split into files replays as the whole; none by default.
   */
  binanceSession?: BinanceSession;
}

/** Binance's reader under the common statistics (its own say more: books, out-of-order messages, quote sources). */
class BinanceInput implements InputReader {
  readonly format = 'binance' as const;
  readonly path: string;
  readonly stats: ReaderStats = newReaderStats();
  readonly #reader: BinanceReader;

  constructor(path: string, opts: InputOptions, registry: Registry) {
    this.path = path;
    this.#reader = new BinanceReader(path, { registry, batchSize: opts.batchSize, reuseBatch: opts.reuseBatch, session: opts.binanceSession });
  }

  get binance(): BinanceStats { return this.#reader.stats; }

  #sync(): void {
    const from: BinanceStats = this.#reader.stats;
    const to = this.stats;
    to.lines = from.lines;
    to.events = { ...emptyEventCounts(), ...from.events };
    to.skipped = from.skipped;
    to.malformed = from.malformed as ReaderStats['malformed'];
    to.bookGaps = from.bookGaps;
    to.firstTsNs = from.firstTsNs;
    to.lastTsNs = from.lastTsNs;
    to.gzip = from.gzip;
    to.bytesRead = from.bytesRead;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<EventBatch> {
    for await (const batch of this.#reader) {
      this.#sync();
      yield batch;
    }
    this.#sync();
  }
}

class Input<R extends AsyncIterable<EventBatch> & { stats: ReaderStats; path: string }> implements InputReader {
  constructor(readonly format: InputFormat, readonly reader: R) {}
  get path(): string { return this.reader.path; }
  get stats(): ReaderStats { return this.reader.stats; }
  [Symbol.asyncIterator](): AsyncIterator<EventBatch> { return this.reader[Symbol.asyncIterator](); }
}

export class UnknownFormatError extends Error {
  override name = 'UnknownFormatError';
}

/**
 * The reader of a file in `format` ('auto': detected from its first lines; an UnknownFormatError when that
 * fails). Give every reader of a replay the same registry and catalog.
 */
export async function openInput(path: string, format: InputFormat | 'auto' = 'auto', opts: InputOptions = {}): Promise<InputReader> {
  const registry = opts.catalog?.registry ?? opts.registry ?? new Registry();
  let f: InputFormat | undefined = format === 'auto' ? undefined : format;
  if (f === undefined) {
    f = (await detectFileFormat(path)).format;
    if (f === undefined) throw new UnknownFormatError(`${path}: cannot tell the format from its first lines`);
  }
  const common = { registry, batchSize: opts.batchSize, reuseBatch: opts.reuseBatch, onMalformed: opts.onMalformed };
  switch (f) {
    case 'binance': return new BinanceInput(path, opts, registry);
    case 'deribit': return new Input<DeribitReader>('deribit', new DeribitReader(path, { ...common, ...opts.deribit, catalog: opts.catalog ?? new InstrumentCatalog(registry) }));
    case 'ndjson': return new Input('ndjson', new NdjsonReader(path, common));
    case 'csv': return new Input('csv', new CsvReader(path, { ...common, instrument: opts.csvInstrument }));
  }
}

export type { ReaderStats, DeribitStats, BinanceStats };
export { BinanceSession };
