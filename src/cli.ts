#!/usr/bin/env node
// The `atc` command. `atc replay` streams recorded market data (Binance and Deribit captures, canonical NDJSON
// events, `timestamp,value` CSV series) through one engine and writes its alerts as NDJSON; a human summary and,
// on a terminal, a progress line go to stderr, so stdout stays machine-readable.
import { createWriteStream, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import { totalEvents, type ReaderStats } from './adapters/common.js';
import type { DeribitStats } from './adapters/deribit.js';
import { BinanceSession, detectFileFormat, INPUT_FORMATS, openInput, type BinanceStats, type InputFormat } from './adapters/index.js';
import { ConfigError, type Config } from './config.js';
import { Engine } from './engine.js';
import { InstrumentCatalog } from './instruments.js';
import { Registry } from './registry.js';
import { applyInstrumentThresholds } from './instrument-thresholds.js';
import { checkFile, checkInput, loadReplayConfig, parseCommandArgs, UsageError } from './cli-common.js';

export { UsageError } from './cli-common.js';
import { formatAlert, isoNs } from './alert-format.js';

export { formatAlert, isoNs } from './alert-format.js';

export interface Io {
  stdout: Writable;
  /** `isTTY` true (a terminal) turns on the progress line of long replays. */
  stderr: Writable & { isTTY?: boolean };
}

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;


const MAIN_HELP = `atc: streaming anomaly detection for crypto-derivatives market data

Usage:
  atc serve [options]              run the sidecar: market data in over a local WebSocket, alerts out
  atc send <file...> [options]     replay recorded market data into a running sidecar (load generator)
  atc demo                         start a sidecar, replay the committed sample into it, print alerts
  atc replay <file...> [options]   replay recorded market data through the engine and print its alerts
  atc eval <file...> --labels FILE score the alerts against labelled anomaly windows (NAB's method)
  atc calibrate <file...> [options] fit per-instrument thresholds to a target alert rate, walk-forward
  atc eval nab --data DIR          atc's detectors over the NAB corpus: scores at own and hindsight thresholds
  atc <command> --help             the options of a command
  atc --help | --version

Inputs: Binance and Deribit WebSocket captures, canonical events (NDJSON, docs/protocol.md) and
"timestamp,value" CSV series; the format of each file is detected from its first lines.

Examples:
  atc serve --port 8787 --out alerts.ndjson
  atc send data/samples/binance-usdm-btcusdt.txt.gz --speed 10x
  atc replay data/samples/binance-usdm-btcusdt.txt.gz > alerts.ndjson
  atc replay DERIBIT.0 DERIBIT.ws.1.0 --out alerts.ndjson
  atc replay nab/data/realKnownCause/*.csv --format csv
  atc calibrate capture.gz --target-rate 2/h --out thresholds.json && atc replay capture.gz --config thresholds.json
`;

const REPLAY_HELP = `Usage: atc replay <file...> [--format auto|binance|deribit|ndjson|csv] [--config FILE] [--out FILE]
                  [--deribit-instruments FILE] [--progress]

Replays recorded market data through the anomaly engine and writes one JSON line per alert. Files are
streamed, never loaded whole; gzip is recognised by its content, whatever the file is called. Several files
are replayed one after the other through one engine and one instrument registry, so instruments keep their
state across files (give them in time order: an instrument's events that go back in time are rejected).

Options:
  --format FMT   the input format of every file (default: auto)
                   auto     decide per file from its first non-empty lines
                   binance  Binance WebSocket capture, lines of "<receive time ns> <message JSON>":
                            trade (or aggTrade) -> trades, bookTicker -> quotes (time = the receive time:
                            ns since the epoch, or s/ms/us with 10/13/16 digits); depth diffs
                            and the REST snapshot build an order book per instrument (sequence numbers
                            checked, gaps reported by line, a stale book gives quotes without depth) whose
                            depth within 10 bps rides on the quotes, the books carried from file to file;
                            futures markPrice -> marks; other streams (partial books depth5/10/20, kline,
                            ticker, ...) are counted and skipped
                   deribit  Deribit capture, lines of "<receive time>: <JSON-RPC message>" or "<receive time>
                            <JSON-RPC message>" (receive time in seconds with a fraction, or integer
                            s/ms/us/ns): trades.* -> trades;
                            ticker.* -> option tickers (mark/bid/ask IV as fractions, underlying, mark
                            price) for options, mark events (mark, index, funding_8h) for futures, and
                            quotes until the instrument's book is seen; book.* -> a local book, one quote
                            per message with the depth of its 10 best levels, change ids checked for gaps.
                            Time = the receive time, else the message's timestamp. A get_instruments
                            listing (such as DERIBIT.0) registers instruments and their contract terms
                   ndjson   canonical events, one JSON object per line: docs/protocol.md, "Canonical
                            events (NDJSON)"; every line is validated, bad ones reported by line number
                   csv      a "timestamp,value" series (the NAB layout): value events, times read as UTC
                            unless they carry a zone, the instrument named "<folder>/<file>"
  --deribit-instruments FILE
                 a Deribit instrument listing (get_instruments responses, like DERIBIT.0) to register
                 before the replay; may be given more than once. A listing passed among the input files
                 is recognised and read first as well
  --config FILE  the engine configuration, a JSON object (docs/configuration.md); fields it leaves out
                 take their defaults. Instruments are registered on first sight unless it sets
                 "autoRegister": false.
  --out FILE     write the alerts to FILE instead of stdout
  --progress     always show progress on stderr (by default it is shown only when stderr is a terminal
                 and the replay takes more than a second): events read, events per second, percent of
                 the input's bytes read
  -h, --help     show this help

Output, one JSON object per alert:
  time        ISO 8601 UTC, to the nanosecond ("2024-08-08T23:55:01.123456789Z")
  tsNs        the same instant in integer nanoseconds since the epoch, as a string
  instrument  the instrument's name (Binance: the symbol, e.g. "BTCUSDT"; Deribit: the instrument,
              e.g. "BTC-24SEP21-8000-P"; NDJSON: its "instrument"; CSV: "<folder>/<file>")
  feature, detector, severity (1-4), regime, value, expected, score, threshold, volRatio, mode
  seq         the sequence number of the event that fired, as a string
Lines that cannot be read are counted by reason, with their line numbers, and skipped; an empty file is
reported and the others are replayed. The summary on stderr at the end gives the events by kind, where every
line went (messages by type + skipped whole + malformed + blank), order-book gaps, skipped messages by type,
malformed lines, lines out of order, each Binance order book (live from which line, or why it never gave
depth), events the engine rejected (by reason), alerts by feature and detector, events per second, and notes
on data that cannot be right or is silently absent (times before 2000, files out of time order, aggTrade beside
trade streams, partial-book streams, options without listed terms).

Exit status: 0 done (malformed lines do not fail a replay), 1 runtime failure, 2 usage or configuration error.
`;

/** Run the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined) {
      io.stderr.write(MAIN_HELP);
      return EXIT_USAGE;
    }
    if (command === '-h' || command === '--help' || command === 'help') {
      io.stdout.write(MAIN_HELP);
      return EXIT_OK;
    }
    if (command === '--version' || command === '-v') {
      io.stdout.write(`${await version()}\n`);
      return EXIT_OK;
    }
    if (command === 'replay') return await replay(rest, io);
    if (command === 'serve' || command === 'send' || command === 'demo') {
      // Loaded on demand: replay never loads the WebSocket server.
      const commands = await import('./cli-serve.js');
      return await commands[command](rest, io);
    }
    if (command === 'eval' && rest[0] === 'nab') return await (await import('./eval/nab-cli.js')).evalNabCommand(rest.slice(1), io);
    if (command === 'eval') return await (await import('./eval/cli.js')).evalCommand(rest, io);
    if (command === 'calibrate') return await (await import('./calibrate/cli.js')).calibrateCommand(rest, io);
    throw new UsageError(`unknown command ${JSON.stringify(command)} (known: serve, send, demo, replay, eval, calibrate); see atc --help`);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.stderr.write(`atc: ${err.message}\n`);
      return EXIT_USAGE;
    }
    // Unexpected: say what failed; the stack only on request, it helps us more than the user.
    const e = err as Error;
    io.stderr.write(process.env.ATC_DEBUG ? `atc: ${e?.stack ?? String(err)}\n` : `atc: ${e?.message ?? String(err)} (ATC_DEBUG=1 shows the stack)\n`);
    return EXIT_FAILURE;
  }
}

async function version(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

// ---- replay ------------------------------------------------------------------------------------------------------
const FORMATS = ['auto', ...INPUT_FORMATS] as const;
type Format = (typeof FORMATS)[number];

interface ReplayArgs {
  files: string[];
  format: Format;
  config: string | undefined;
  out: string | undefined;
  deribitInstruments: string[];
  progress: boolean;
}

function parseReplayArgs(argv: string[]): ReplayArgs | 'help' {
  const parsed = parseCommandArgs('replay', {
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: 'string', default: 'auto' },
      config: { type: 'string' },
      out: { type: 'string' },
      'deribit-instruments': { type: 'string', multiple: true },
      progress: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const v = parsed.values;
  if (v.help) return 'help';
  if (!FORMATS.includes(v.format as Format)) {
    throw new UsageError(`replay: --format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(v.format)}`);
  }
  if (parsed.positionals.length === 0) throw new UsageError('replay: no input file given; see atc replay --help');
  return {
    files: parsed.positionals, format: v.format as Format, config: v.config, out: v.out,
    deribitInstruments: v['deribit-instruments'] ?? [], progress: v.progress === true,
  };
}



/** Resolves on `event` or on an error (which the stream's 'error' listener records); never rejects. */
function settle(stream: Writable, event: 'drain' | 'finish'): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { stream.off(event, done); stream.off('error', done); resolve(); };
    stream.on(event, done);
    stream.on('error', done);
  });
}

/** The --out file, opened before the replay starts so that a bad path is a usage error, not a late failure. */
async function openOut(path: string): Promise<Writable> {
  const stream = createWriteStream(path);
  try {
    await once(stream, 'open');
  } catch (err) {
    throw new UsageError(`--out ${path}: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
  }
  return stream;
}

interface FileRun {
  path: string;
  format: InputFormat;
  /** A Deribit instrument listing: read for its contract terms, before the event files. */
  listing: boolean;
  bytes: number;
  stats: ReaderStats | undefined;
  /** The file has no line at all: reported, and nothing read. */
  empty: boolean;
  /** Binance files: the reader's own statistics (books, messages by shape, out-of-order lines). */
  binance?: BinanceStats;
  /** Events of this file the engine rejected as going back in time. */
  timeBackwards: number;
}

/** Which file is which, checked before any output: every file exists and has a known format. */
async function planRuns(args: ReplayArgs): Promise<FileRun[]> {
  const listings: FileRun[] = [];
  const inputs: FileRun[] = [];
  for (const path of args.deribitInstruments) {
    const bytes = await checkFile(path, '--deribit-instruments');
    if (!(await detectFileFormat(path)).deribitListing) {
      throw new UsageError(`--deribit-instruments ${path}: not a Deribit instrument listing (lines of "https://...deribit.com/.../get_instruments... -> <time>: {json}")`);
    }
    listings.push({ path, format: 'deribit', listing: true, bytes, stats: undefined, empty: false, timeBackwards: 0 });
  }
  for (const path of args.files) {
    // An empty file (a recorder that stopped before its first message) is reported, not an error.
    const size = await checkFile(path, 'input');
    if ((await detectFileFormat(path)).empty) {
      inputs.push({ path, format: args.format === 'auto' ? 'ndjson' : args.format, listing: false, bytes: size, stats: undefined, empty: true, timeBackwards: 0 });
      continue;
    }
    const { format, bytes, detected } = await checkInput(path, args.format);
    const run: FileRun = {
      path, format, listing: format === 'deribit' && detected.deribitListing, bytes, stats: undefined, empty: false, timeBackwards: 0,
    };
    // Contract terms first: a ticker read before its listing would be classified from its own fields only.
    (run.listing ? listings : inputs).push(run);
  }
  return [...listings, ...inputs];
}

const PROGRESS_DELAY_MS = 1000;
const PROGRESS_EVERY_MS = 250;

/**
 * One status line on stderr, redrawn in place on a terminal (a line per update otherwise, when forced): events
 * read, their rate and the share of the input's bytes read. Short replays never show it.
 */
class Progress {
  readonly #stream: Io['stderr'];
  readonly #tty: boolean;
  readonly #enabled: boolean;
  readonly #delayMs: number;
  readonly #totalBytes: number;
  readonly #started = performance.now();
  #lastMs = -Infinity;
  #drawn = false;

  constructor(stream: Io['stderr'], forced: boolean, totalBytes: number) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
    this.#enabled = forced || this.#tty;
    this.#delayMs = forced ? 0 : PROGRESS_DELAY_MS;
    this.#totalBytes = totalBytes;
  }

  update(events: number, bytesRead: number, file: number, files: number): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (now - this.#started < this.#delayMs || now - this.#lastMs < PROGRESS_EVERY_MS) return;
    this.#lastMs = now;
    const seconds = (now - this.#started) / 1000;
    const percent = this.#totalBytes > 0 ? Math.min(100, (100 * bytesRead) / this.#totalBytes) : 100;
    const text = `atc replay: ${int(events)} events, ${int(events / Math.max(seconds, 1e-3))} events/s, ` +
      `${percent.toFixed(0)}% of ${bytes(this.#totalBytes)} read${files > 1 ? ` (file ${file + 1} of ${files})` : ''}`;
    this.#stream.write(this.#tty ? `\r\x1b[K${text}` : `${text}\n`);
    this.#drawn = true;
  }

  /** Clears the line so that the summary starts on a clean one. */
  end(): void {
    if (this.#drawn && this.#tty) this.#stream.write('\r\x1b[K');
  }
}

async function replay(argv: string[], io: Io): Promise<number> {
  const args = parseReplayArgs(argv);
  if (args === 'help') {
    io.stdout.write(REPLAY_HELP);
    return EXIT_OK;
  }
  // Check everything the user can get wrong before any output: files, formats, configuration.
  const runs = await planRuns(args);
  const config = await loadReplayConfig(args.config);
  const engine = Engine.create(config);
  // One registry for every file: the same instrument in two files is one instrument. Instruments the configuration
  // names (per-instrument thresholds, `atc calibrate`) are registered first, with their thresholds.
  const registry = new Registry();
  applyInstrumentThresholds(engine, registry, config.instruments, config.maxInstruments);
  const out = args.out === undefined ? io.stdout : await openOut(args.out);

  let outError: Error | undefined;
  const onOutError = (err: Error) => { outError = err; };
  out.on('error', onOutError);
  // Pipes and files may fail synchronously (EPIPE on a closed pipe) or later through 'error': both end up here.
  const write = (text: string): boolean => {
    try {
      return out.write(text);
    } catch (err) {
      outError = err as Error;
      return true;
    }
  };

  const catalog = new InstrumentCatalog(registry);
  // One Binance session for the replay: a capture split into files continues its books from file to file.
  const binanceSession = new BinanceSession();
  /** Instruments that had events (a listing registers hundreds that never trade in the capture). */
  const active = new Set<number>();
  const alertCounts = new Map<string, number>();
  let alerts = 0;
  const totalBytes = runs.reduce((s, r) => s + r.bytes, 0);
  const progress = new Progress(io.stderr, args.progress, totalBytes);
  let eventsBefore = 0, bytesBefore = 0;
  const started = performance.now();
  try {
    files: for (let k = 0; k < runs.length; k++) {
      const run = runs[k];
      if (run.empty) continue;
      const reader = await openInput(run.path, run.format, { registry, catalog, binanceSession });
      run.stats = reader.stats;
      run.binance = reader.binance;
      const backwardsBefore = engine.counters().rejected.timeBackwards;
      for await (const batch of reader) {
        const ids = batch.instrument;
        for (let i = 0; i < batch.length; i++) active.add(ids[i]);
        const result = engine.ingest(batch);
        progress.update(eventsBefore + totalEvents(reader.stats.events), bytesBefore + reader.stats.bytesRead, k, runs.length);
        if (result.alerts.length === 0) continue;
        let text = '';
        for (const a of result.alerts) {
          text += formatAlert(a, registry);
          const key = `${a.feature}.${a.detector}`;
          alertCounts.set(key, (alertCounts.get(key) ?? 0) + 1);
        }
        alerts += result.alerts.length;
        if (outError) break files;
        if (!write(text)) await settle(out, 'drain');
        if (outError) break files;
      }
      eventsBefore += totalEvents(reader.stats.events);
      bytesBefore += run.bytes;
      run.timeBackwards = engine.counters().rejected.timeBackwards - backwardsBefore;
    }
    if (args.out !== undefined && !outError) {
      out.end();
      await settle(out, 'finish');
    }
  } finally {
    out.off('error', onOutError);
    progress.end();
  }
  const wallMs = performance.now() - started;
  // A closed pipe (`atc replay ... | head`) is the reader saying it has seen enough, not a failure.
  const pipeClosed = (outError as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
  if (outError && !pipeClosed) throw new Error(`cannot write alerts to ${args.out ?? 'stdout'}: ${outError.message}`);

  io.stderr.write(summary({ runs, engine, registry, active, alerts, alertCounts, wallMs, config, stoppedEarly: pipeClosed }));
  return EXIT_OK;
}

// ---- The summary -----------------------------------------------------------------------------------------------
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const list = (entries: [string, number][]) => entries.length === 0 ? 'none' : entries.map(([k, n]) => `${k} ${int(n)}`).join(', ');
const byCount = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));

const plural = (n: number, word: string) => `${int(n)} ${word}${n === 1 ? '' : 's'}`;

function bytes(n: number): string {
  if (n < 1024) return `${int(n)} B`;
  if (n < 1_048_576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1_048_576).toFixed(1)} MiB`;
}

interface SummaryInput {
  runs: FileRun[];
  engine: Engine;
  registry: Registry;
  /** Ids of the instruments that had events. */
  active: Set<number>;
  alerts: number;
  alertCounts: Map<string, number>;
  wallMs: number;
  config: Config;
  stoppedEarly: boolean;
}

const KIND_ORDER = ['trade', 'quote', 'mark', 'option', 'value'] as const;

function summary(s: SummaryInput): string {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(12)} ${text}`);
  const events = { trade: 0, quote: 0, mark: 0, option: 0, value: 0 };
  let lineCount = 0, bookGaps = 0;
  let first: bigint | undefined, last: bigint | undefined;
  const skipped = new Map<string, number>();
  const read = s.runs.filter((r): r is FileRun & { stats: ReaderStats } => r.stats !== undefined);
  for (const { stats } of read) {
    for (const k of KIND_ORDER) events[k] += stats.events[k];
    lineCount += stats.lines;
    bookGaps += stats.bookGaps;
    if (stats.firstTsNs !== undefined && (first === undefined || stats.firstTsNs < first)) first = stats.firstTsNs;
    if (stats.lastTsNs !== undefined && (last === undefined || stats.lastTsNs > last)) last = stats.lastTsNs;
    for (const [type, n] of Object.entries(stats.skipped)) skipped.set(type, (skipped.get(type) ?? 0) + n);
  }
  const eventTotal = totalEvents(events);
  const marketS = first !== undefined && last !== undefined ? Number(last - first) / 1e9 : 0;

  lines.push(`atc replay: ${s.stoppedEarly ? 'stopped early (output closed)' : 'done'}`);
  for (const r of s.runs) {
    if (r.empty) { row('input', `${r.path} (empty: no line to read)`); continue; }
    if (r.stats === undefined) continue;
    const what = r.listing
      ? `deribit instrument listing, ${plural((r.stats as DeribitStats).instruments ?? 0, 'instrument')}`
      : `${r.format}${r.stats.gzip ? ', gzip' : ''}, ${bytes(r.stats.bytesRead)}, ${int(r.stats.lines)} lines`;
    row('input', `${r.path} (${what})`);
  }
  if (first !== undefined && last !== undefined) {
    row('market time', `${isoNs(first).replace(/\.\d+Z$/, 'Z')} .. ${isoNs(last).replace(/\.\d+Z$/, 'Z')} (${marketS.toFixed(1)} s)`);
  }
  row('events', `${int(eventTotal)}: ${KIND_ORDER.map((k) => `${k} ${int(events[k])}`).join(', ')}`);
  const inputs = read.filter((r) => !r.listing);
  if (inputs.length > 0) row('lines', lineAccount(inputs));
  row('book gaps', `${int(bookGaps)}${bookGaps > 0 ? ' (book updates lost; quotes resume at the next snapshot)' : ''}`);
  row('skipped', `${int([...skipped.values()].reduce((a, b) => a + b, 0))} by type: ${list(byCount(skipped))}`);

  let malformedTotal = 0;
  const malformedRows: string[] = [];
  for (const r of read) {
    for (const [reason, m] of Object.entries(r.stats.malformed)) {
      malformedTotal += m.count;
      const more = m.count > m.lines.length ? `, ... (first ${m.lines.length} shown)` : '';
      malformedRows.push(`    ${reason} ${int(m.count)}${read.length > 1 ? ` in ${r.path}` : ''}: lines ${m.lines.join(', ')}${more}`);
      malformedRows.push(`      e.g. ${m.example}`);
    }
  }
  row('malformed', malformedTotal === 0 ? 'none' : `${plural(malformedTotal, 'line')} skipped:`);
  lines.push(...malformedRows);
  const disorder = outOfOrderRows(read);
  if (disorder.length > 0) {
    row('out of order', `${plural(disorder.reduce((a, d) => a + d.count, 0), 'line')} (kept; see docs/binance.md):`);
    lines.push(...disorder.map((d) => d.text));
  }
  const books = bookRows(read);
  if (books.length > 0) {
    row('books', '');
    lines[lines.length - 1] = lines[lines.length - 1].trimEnd();
    lines.push(...books);
  }

  const counters = s.engine.counters();
  const rejected = Object.entries(counters.rejected).filter(([, n]) => n > 0);
  const rejectedTotal = rejected.reduce((a, [, n]) => a + n, 0);
  row('accepted', `${int(counters.accepted)} events by the engine`);
  let rejectText = rejectedTotal === 0 ? 'none' : `${int(rejectedTotal)}: ${list(rejected.sort((a, b) => b[1] - a[1]))}`;
  if (counters.rejected.unknownInstrument > 0 && !s.config.autoRegister) rejectText += ' (the config sets "autoRegister": false)';
  row('rejected', rejectText);

  const instruments = s.active.size;
  const perHour = marketS > 0 && instruments > 0 ? s.alerts / instruments / (marketS / 3600) : NaN;
  row('alerts', `${int(s.alerts)}${Number.isFinite(perHour) ? ` (${perHour.toFixed(1)} per instrument-hour of market time; target ${s.config.calibration.targetPerHour} per channel)` : ''}`);
  if (s.alerts > 0) {
    const byFeature = new Map<string, number>(), byDetector = new Map<string, number>();
    for (const [key, n] of s.alertCounts) {
      const [f, d] = key.split('.');
      byFeature.set(f, (byFeature.get(f) ?? 0) + n);
      byDetector.set(d, (byDetector.get(d) ?? 0) + n);
    }
    row('  feature', list(byCount(byFeature)));
    row('  detector', list(byCount(byDetector)));
    row('  channel', list(byCount(s.alertCounts)));
  }
  const seconds = s.wallMs / 1000;
  row('wall time', `${seconds.toFixed(2)} s, ${int(eventTotal / Math.max(seconds, 1e-9))} events/s (${int(lineCount / Math.max(seconds, 1e-9))} lines/s)`);
  const names = [...s.active].slice(0, 8).map((id) => s.registry.name(id));
  const listed = s.registry.size - instruments;
  const notes = replayNotes(s.runs, read);
  if (notes.length > 0) {
    row('notes', '');
    lines[lines.length - 1] = lines[lines.length - 1].trimEnd();
    lines.push(...notes.map((n) => `    ${n}`));
  }
  row('engine', plural(s.engine.instrumentCount, 'instrument') +
    `${instruments > 0 ? ` (${names.join(', ')}${instruments > 8 ? ', ...' : ''})` : ''}` +
    `${listed > 0 ? ` and ${int(listed)} listed without events` : ''}, ` +
    `${bytes(s.engine.bytesPerInstrument)} of state per instrument, arena ${bytes(s.engine.arenaBytes)} for ${int(s.config.maxInstruments)}`);
  return lines.join('\n') + '\n';
}

/** Reasons a line is counted as malformed that name no line of the file (the gzip stream ended inside one). */
const INPUT_DAMAGE = new Set(['truncated', 'corrupt']);

const messageTotal = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

/**
 * Where every line went: `lines = messages + skipped whole + malformed + blank`. Binance and Deribit count their messages
 * by what they are (a message need not give an event: a depth diff waiting for its snapshot, a book change after a
 * gap); NDJSON and CSV lines are one event each.
 */
function lineAccount(runs: (FileRun & { stats: ReaderStats })[]): string {
  let total = 0, skippedLines = 0, malformedLines = 0, messages = 0;
  const types = new Map<string, number>();
  for (const r of runs) {
    const st = r.stats;
    total += st.lines;
    for (const [reason, m] of Object.entries(st.malformed)) if (!INPUT_DAMAGE.has(reason)) malformedLines += m.count;
    let byType: Record<string, number>;
    if (r.binance) {
      const m = r.binance.messages;
      byType = { trade: m.trade, aggTrade: m.aggTrade, bookTicker: m.bookTicker, 'depth diff': m.depth, snapshot: m.snapshot, markPrice: m.markPrice };
      skippedLines += messageTotal(st.skipped);
    } else if (r.format === 'deribit') {
      const d = st as DeribitStats;
      byType = d.messages ?? {};
      skippedLines += d.ignoredLines ?? 0;
    } else {
      byType = { [r.format === 'csv' ? 'row' : 'event']: totalEvents(st.events) };
    }
    for (const [k, n] of Object.entries(byType)) if (n > 0) types.set(k, (types.get(k) ?? 0) + n);
    messages += messageTotal(byType);
  }
  const blank = total - messages - skippedLines - malformedLines;
  const csv = runs.some((r) => r.format === 'csv');
  return `${int(total)} = ${int(messages)} messages${types.size > 0 ? ` (${list(byCount(types))})` : ''} + ` +
    `${int(skippedLines)} skipped whole + ${int(malformedLines)} malformed + ${int(blank)} ${csv ? 'blank or header' : 'blank'}`;
}

/** Binance lines out of order (kept, with a note of what was done), by kind, with their line numbers. */
function outOfOrderRows(runs: (FileRun & { stats: ReaderStats })[]): { count: number; text: string }[] {
  const out: { count: number; text: string }[] = [];
  const what: Record<string, string> = {
    receiveTime: 'received before an earlier line (given its time)', tradeId: 'trade id not above the previous', tickerId: 'bookTicker update id below the previous',
  };
  for (const r of runs) {
    for (const [kind, m] of Object.entries(r.binance?.outOfOrder ?? {})) {
      if (!m) continue;
      const more = m.count > m.lines.length ? `, ... (first ${m.lines.length} shown)` : '';
      out.push({ count: m.count, text: `    ${kind} ${int(m.count)}${runs.length > 1 ? ` in ${r.path}` : ''}, ${what[kind] ?? kind}: lines ${m.lines.join(', ')}${more}` });
    }
  }
  return out;
}

/** Binance order books: whether each gave depth, and if not, why; depth snapshots that matched no book. */
function bookRows(runs: (FileRun & { stats: ReaderStats })[]): string[] {
  const out: string[] = [];
  for (const r of runs) {
    const b = r.binance;
    if (!b) continue;
    const where = runs.length > 1 ? ` in ${r.path}` : '';
    for (const [symbol, book] of Object.entries(b.books).slice(0, 8)) {
      const d = book.diffs;
      let text: string;
      if (book.state === 'live' || book.state === 'stale') {
        text = `${symbol}${where}: live from line ${int(book.firstLiveLine ?? 0)}, ${int(d.applied)} depth diffs applied`;
        if (book.gaps > 0) {
          const g = book.gapList.slice(0, 5).map((x) => `line ${x.line} (${x.kind})`).join(', ');
          text += `; ${plural(book.gaps, 'gap')}: ${g}${book.gaps > 5 ? ', ...' : ''}`;
        }
        if (book.state === 'stale') {
          const st = book.stale[book.stale.length - 1];
          text += `; stale from line ${int(st?.fromLine ?? 0)} to the end: no snapshot after it, so later quotes carry no depth`;
        }
      } else if (book.snapshots === 0) {
        text = `${symbol}${where}: never live: no depth snapshot for it in the file (the capture starts mid-book), ` +
          `${int(d.buffered + d.discarded)} depth diffs unused; its quotes carry no depth (depth features off)`;
      } else {
        text = `${symbol}${where}: never live: no depth diff continued its snapshot; its quotes carry no depth (depth features off)`;
      }
      out.push(`    ${text}`);
    }
    const u = b.unattributedSnapshots;
    if (u) out.push(`    ${plural(u.count, 'depth snapshot')}${where} matched no book: lines ${u.lines.join(', ')} (${u.example})`);
  }
  return out;
}

/** Things a user should know about what was read: data silently absent, times that cannot be right, files out of order. */
function replayNotes(all: FileRun[], runs: (FileRun & { stats: ReaderStats })[]): string[] {
  const notes: string[] = [];
  let lastEnd: bigint | undefined;
  for (const r of runs) {
    const st = r.stats;
    const events = totalEvents(st.events);
    let malformed = 0;
    for (const m of Object.values(st.malformed)) malformed += m.count;
    if (!r.listing && events === 0 && malformed > 0 && malformed >= st.lines - messageTotal(st.skipped) - 1) {
      notes.push(`${r.path}: no line could be read as ${r.format} (${plural(malformed, 'malformed line')}): is it another format? (--format)`);
    }
    if (r.binance) {
      const sk = st.skipped;
      // An aggTrade is skipped only beside its instrument's trade stream (the others are read as trades).
      if ((sk.aggTrade ?? 0) > 0) {
        notes.push(`${r.path}: ${int(sk.aggTrade)} aggTrade messages skipped: their instruments have the trade stream, ` +
          'whose fills they sum (trades come from one stream per instrument: trade when there is one, else aggTrade)');
      }
      const partial = Object.keys(sk).filter((t) => /^depth\d+(@\d+ms)?$/.test(t));
      if (partial.length > 0) {
        notes.push(`${r.path}: partial-book streams (${partial.join(', ')}) are not read: order books come from diff streams (depth, depth@100ms, depth@0ms)`);
      }
      if (r.binance.messages.snapshot > 10) {
        notes.push(`${r.path}: ${int(r.binance.messages.snapshot)} depth snapshots: a raw (not combined) partial-book stream (depth5, depth10, ` +
          'depth20) has the shape of a REST snapshot and is read as one; record partial books as combined streams, or leave them out');
      }
      // Binance receive times are ns since the epoch, or s, ms, us with 10, 13, 16 digits: another length lands in 1970.
      if (st.firstTsNs !== undefined && st.firstTsNs < 946_684_800_000_000_000n) {
        notes.push(`${r.path}: receive times start at ${isoNs(st.firstTsNs)}, before 2000: Binance lines are read as ns since the epoch ` +
          '(s, ms or us when they have 10, 13 or 16 digits); these have another length, and the time features (intensity, volume, rvol) are wrong');
      }
    }
    if (r.format === 'deribit' && !r.listing) {
      const o = (st as DeribitStats).optionsWithoutTerms;
      if (o && o.count > 0) {
        const listed = all.some((x) => x.listing);
        notes.push(`${r.path}: ${plural(o.count, 'option')} without strike, expiry and type from ${listed ? 'the listing' : 'a listing (none was given)'} ` +
          `(${o.names.slice(0, 5).join(', ')}${o.count > 5 ? ', ...' : ''}): no neighbour IV for ${o.count === 1 ? 'it' : 'them'}; ` +
          'pass the get_instruments listing (--deribit-instruments FILE)');
      }
    }
    const exchangeTimed = r.format === 'deribit' ? (st as DeribitStats).exchangeTimed ?? 0 : 0;
    if (exchangeTimed > 0 && r.timeBackwards > 0) {
      notes.push(`${r.path}: messages timed by their own timestamp ${int(exchangeTimed)} times (their lines have no receive time); ` +
        `Deribit's timestamps are not in order across channels, and ${int(r.timeBackwards)} events were rejected as going back in time`);
    }
    if (r.timeBackwards > 0 && lastEnd !== undefined && st.firstTsNs !== undefined && st.firstTsNs < lastEnd) {
      notes.push(`${r.path}: starts at ${isoNs(st.firstTsNs)}, before the end of the files given before it (${isoNs(lastEnd)}); ` +
        `${int(r.timeBackwards)} of its events were rejected as going back in time. Give the files of one market in time order; ` +
        'replay markets that share a symbol (spot and USD-M BTCUSDT) in separate runs');
    }
    if (!r.listing && st.lastTsNs !== undefined && (lastEnd === undefined || st.lastTsNs > lastEnd)) lastEnd = st.lastTsNs;
  }
  return notes;
}

// ---- Entry point -----------------------------------------------------------------------------------------------
function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    // npm's bin is a symlink to this file: compare real paths.
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
