#!/usr/bin/env node
// The `atc` command. `atc replay` streams recorded market data through one engine and writes its alerts as
// NDJSON; a human summary goes to stderr, so stdout stays machine-readable.
import { createWriteStream, realpathSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { BinanceReader, MALFORMED_REASONS, type BinanceStats } from './adapters/binance.js';
import { firstLine } from './adapters/lines.js';
import { ConfigError, resolveConfig, type Config } from './config.js';
import { Engine, type Alert } from './engine.js';
import { Registry } from './registry.js';

export interface Io {
  stdout: Writable;
  stderr: Writable;
}

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** An error the user can fix (bad option, missing file, bad config): its message is printed, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const MAIN_HELP = `atc: streaming anomaly detection for crypto-derivatives market data

Usage:
  atc replay <file...> [options]   replay recorded market data through the engine and print its alerts
  atc <command> --help             the options of a command
  atc --help | --version

Example:
  atc replay data/samples/binance-usdm-btcusdt.txt.gz > alerts.ndjson
`;

const REPLAY_HELP = `Usage: atc replay <file...> [--format auto|binance|ndjson] [--config FILE] [--out FILE]

Replays recorded market data through the anomaly engine and writes one JSON line per alert. Files are
streamed, never loaded whole; gzip is recognised by its content, whatever the file is called. Several files
are replayed one after the other through one engine, so instruments keep their state across files (give
them in time order: an instrument's events that go back in time are rejected).

Options:
  --format FMT   the input format (default: auto)
                   auto     decide per file from its first non-empty line
                   binance  a Binance WebSocket capture, lines of "<receive time ns> <message JSON>":
                            trade -> trade events, bookTicker -> quotes (time = the receive time);
                            depth diffs, the REST depth snapshot and other streams are counted and skipped
                   ndjson   canonical events, one JSON object per line (not supported yet)
  --config FILE  the engine configuration, a JSON object (docs/configuration.md); fields it leaves out
                 take their defaults. Instruments are registered on first sight unless it sets
                 "autoRegister": false.
  --out FILE     write the alerts to FILE instead of stdout
  -h, --help     show this help

Output, one JSON object per alert:
  time        ISO 8601 UTC, to the nanosecond ("2024-08-08T23:55:01.123456789Z")
  tsNs        the same instant in integer nanoseconds since the epoch, as a string
  instrument  the instrument's name (Binance: the symbol, e.g. "BTCUSDT")
  feature, detector, severity (1-4), regime, value, expected, score, threshold, volRatio, mode
  seq         the sequence number of the event that fired, as a string
Lines that cannot be read are counted by reason, with their line numbers, and skipped. A summary of
events, skipped and malformed lines, rejected events, alerts and speed goes to stderr at the end.

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
    throw new UsageError(`unknown command ${JSON.stringify(command)} (known: replay); see atc --help`);
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
const FORMATS = ['auto', 'binance', 'ndjson'] as const;
type Format = (typeof FORMATS)[number];

interface ReplayArgs {
  files: string[];
  format: Format;
  config: string | undefined;
  out: string | undefined;
}

function parseReplayArgs(argv: string[]): ReplayArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string', default: 'auto' },
        config: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs explains itself ("Unknown option '--x'", "Option '--out <value>' argument missing").
    throw new UsageError(`replay: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}; see atc replay --help`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (!FORMATS.includes(v.format as Format)) {
    throw new UsageError(`replay: --format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(v.format)}`);
  }
  if (parsed.positionals.length === 0) throw new UsageError('replay: no input file given; see atc replay --help');
  return { files: parsed.positionals, format: v.format as Format, config: v.config, out: v.out };
}

async function checkFile(path: string, what: string): Promise<void> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${what} ${path}: no such file` : `${what} ${path}: ${(err as Error).message}`);
  }
  if (!s.isFile()) throw new UsageError(`${what} ${path}: not a file`);
}

/** The input format of a capture from its first non-empty line, or undefined when it is neither. */
export function detectFormat(line: string | undefined): Exclude<Format, 'auto'> | undefined {
  if (line === undefined) return undefined;
  if (/^\d+ +\{/.test(line)) return 'binance';
  if (line.startsWith('{')) return 'ndjson';
  return undefined;
}

async function loadConfig(path: string | undefined): Promise<Config> {
  let input: Record<string, unknown> = {};
  if (path !== undefined) {
    await checkFile(path, 'config');
    const text = await readFile(path, 'utf8');
    try {
      input = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`config ${path}: not valid JSON: ${(err as Error).message}`);
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new UsageError(`config ${path}: must be a JSON object, like {"window": 256}`);
    }
  }
  // A replay cannot know its instruments before it reads them: register them on first sight, unless told not to.
  return resolveConfig({ autoRegister: true, ...input });
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
  format: Exclude<Format, 'auto'>;
  stats: BinanceStats;
}

async function replay(argv: string[], io: Io): Promise<number> {
  const args = parseReplayArgs(argv);
  if (args === 'help') {
    io.stdout.write(REPLAY_HELP);
    return EXIT_OK;
  }
  // Check everything the user can get wrong before any output: files, formats, configuration.
  const formats: Exclude<Format, 'auto'>[] = [];
  for (const file of args.files) {
    await checkFile(file, 'input');
    const format = args.format === 'auto' ? detectFormat(await firstLine(file)) : args.format;
    if (format === undefined) {
      throw new UsageError(`input ${file}: cannot tell its format from the first line (neither "<ns> {json}" nor "{json}"); pass --format`);
    }
    if (format === 'ndjson') throw new UsageError(`input ${file}: format ndjson is not supported yet`);
    formats.push(format);
  }
  const config = await loadConfig(args.config);
  const engine = Engine.create(config);
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

  const registry = new Registry();
  const runs: FileRun[] = [];
  const alertCounts = new Map<string, number>();
  let alerts = 0;
  const started = performance.now();
  try {
    files: for (let k = 0; k < args.files.length; k++) {
      const reader = new BinanceReader(args.files[k], { registry });
      runs.push({ path: args.files[k], format: formats[k], stats: reader.stats });
      for await (const batch of reader) {
        const result = engine.ingest(batch);
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
    }
    if (args.out !== undefined && !outError) {
      out.end();
      await settle(out, 'finish');
    }
  } finally {
    out.off('error', onOutError);
  }
  const wallMs = performance.now() - started;
  // A closed pipe (`atc replay ... | head`) is the reader saying it has seen enough, not a failure.
  const pipeClosed = (outError as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
  if (outError && !pipeClosed) throw new Error(`cannot write alerts to ${args.out ?? 'stdout'}: ${outError.message}`);

  io.stderr.write(summary({ runs, engine, registry, alerts, alertCounts, wallMs, config, stoppedEarly: pipeClosed }));
  return EXIT_OK;
}

// ---- Alerts as NDJSON ------------------------------------------------------------------------------------------
const NS_PER_S = 1_000_000_000n;

/** An instant in integer ns as ISO 8601 UTC with all nine fractional digits. */
export function isoNs(tsNs: bigint): string {
  let s = tsNs / NS_PER_S;
  let ns = tsNs % NS_PER_S;
  if (ns < 0n) { ns += NS_PER_S; s -= 1n; }
  const iso = new Date(Number(s) * 1000).toISOString(); // "...T23:55:01.000Z"
  return `${iso.slice(0, -4)}${ns.toString().padStart(9, '0')}Z`;
}

export function formatAlert(a: Alert, registry: Registry): string {
  return JSON.stringify({
    time: isoNs(a.tsNs),
    tsNs: a.tsNs.toString(),
    instrument: registry.name(a.instrument),
    feature: a.feature,
    detector: a.detector,
    severity: a.severity,
    regime: a.regime,
    value: a.value,
    expected: a.expected,
    score: a.score,
    threshold: a.threshold,
    volRatio: a.volRatio,
    mode: a.mode,
    seq: a.seq.toString(),
  }) + '\n';
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
  alerts: number;
  alertCounts: Map<string, number>;
  wallMs: number;
  config: Config;
  stoppedEarly: boolean;
}

function summary(s: SummaryInput): string {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(12)} ${text}`);
  let trades = 0, quotes = 0, lineCount = 0;
  let first: bigint | undefined, last: bigint | undefined;
  const skipped = new Map<string, number>();
  for (const { stats } of s.runs) {
    trades += stats.events.trade;
    quotes += stats.events.quote;
    lineCount += stats.lines;
    if (stats.firstTsNs !== undefined && (first === undefined || stats.firstTsNs < first)) first = stats.firstTsNs;
    if (stats.lastTsNs !== undefined && (last === undefined || stats.lastTsNs > last)) last = stats.lastTsNs;
    for (const [type, n] of Object.entries(stats.skipped)) skipped.set(type, (skipped.get(type) ?? 0) + n);
  }
  const events = trades + quotes;
  const marketS = first !== undefined && last !== undefined ? Number(last - first) / 1e9 : 0;

  lines.push(`atc replay: ${s.stoppedEarly ? 'stopped early (output closed)' : 'done'}`);
  for (const r of s.runs) {
    row('input', `${r.path} (${r.format}${r.stats.gzip ? ', gzip' : ''}, ${bytes(r.stats.bytesRead)}, ${int(r.stats.lines)} lines)`);
  }
  if (first !== undefined && last !== undefined) {
    row('market time', `${isoNs(first).replace(/\.\d+Z$/, 'Z')} .. ${isoNs(last).replace(/\.\d+Z$/, 'Z')} (${marketS.toFixed(1)} s)`);
  }
  row('events', `${int(events)}: trade ${int(trades)}, quote ${int(quotes)}`);
  row('skipped', `${plural([...skipped.values()].reduce((a, b) => a + b, 0), 'line')} by stream type: ${list(byCount(skipped))}`);

  let malformedTotal = 0;
  const malformedRows: string[] = [];
  for (const r of s.runs) {
    for (const reason of MALFORMED_REASONS) {
      const m = r.stats.malformed[reason];
      if (!m) continue;
      malformedTotal += m.count;
      const more = m.count > m.lines.length ? `, ... (first ${m.lines.length} shown)` : '';
      malformedRows.push(`    ${reason} ${int(m.count)}${s.runs.length > 1 ? ` in ${r.path}` : ''}: lines ${m.lines.join(', ')}${more}`);
      malformedRows.push(`      e.g. ${m.example}`);
    }
  }
  row('malformed', malformedTotal === 0 ? 'none' : `${plural(malformedTotal, 'line')} skipped:`);
  lines.push(...malformedRows);

  const counters = s.engine.counters();
  const rejected = Object.entries(counters.rejected).filter(([, n]) => n > 0);
  const rejectedTotal = rejected.reduce((a, [, n]) => a + n, 0);
  row('accepted', `${int(counters.accepted)} events by the engine`);
  let rejectText = rejectedTotal === 0 ? 'none' : `${int(rejectedTotal)}: ${list(rejected.sort((a, b) => b[1] - a[1]))}`;
  if (counters.rejected.unknownInstrument > 0 && !s.config.autoRegister) rejectText += ' (the config sets "autoRegister": false)';
  row('rejected', rejectText);

  const instruments = s.registry.size;
  const perHour = marketS > 0 && instruments > 0 ? s.alerts / instruments / (marketS / 3600) : NaN;
  row('alerts', `${int(s.alerts)}${Number.isFinite(perHour) ? ` (${perHour.toFixed(1)} per instrument-hour of market time; target ${s.config.calibration.targetPerHour})` : ''}`);
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
  row('wall time', `${seconds.toFixed(2)} s, ${int(events / Math.max(seconds, 1e-9))} events/s (${int(lineCount / Math.max(seconds, 1e-9))} lines/s)`);
  row('engine', plural(s.engine.instrumentCount, 'instrument') +
    `${instruments > 0 ? ` (${s.registry.toJSON().slice(0, 8).join(', ')}${instruments > 8 ? ', ...' : ''})` : ''}, ` +
    `${bytes(s.engine.bytesPerInstrument)} of state per instrument, arena ${bytes(s.engine.arenaBytes)} for ${int(s.config.maxInstruments)}`);
  return lines.join('\n') + '\n';
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
