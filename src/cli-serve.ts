// `atc serve`, `atc send` and `atc demo`: the sidecar, a producer/load generator for it, and the two together.
// Loaded by src/cli.ts only for these commands, so `atc replay` never loads the WebSocket server.
import { readFile } from 'node:fs/promises';
import WebSocket from 'ws';
import { resolveConfig } from './config.js';
import { EventBatch } from './events.js';
import { BinanceSession, detectFileFormat, INPUT_FORMATS, openInput, type InputFormat } from './adapters/index.js';
import { InstrumentCatalog } from './instruments.js';
import { Registry } from './registry.js';
import { ProducerClient } from './client/producer.js';
import { Sidecar } from './server/sidecar.js';
import { resolveServerOptions, type ServerOptions } from './server/options.js';
import { createLogger } from './server/log.js';
import type { Io } from './cli.js';
import { parseCommandArgs, readConfigObject, UsageError } from './cli-common.js';

export const SERVE_HELP = `Usage: atc serve [--config FILE] [--host 127.0.0.1] [--port 8787] [--workers N] [--shards N]
                 [--out FILE] [--no-stdout] [--checkpoint FILE] [--restore] [--log-level LEVEL]

Runs the sidecar: producers send market data to ws://HOST:PORT/ingest as binary msgpack frames
(docs/protocol.md), subscribers take alerts from ws://HOST:PORT/alerts, and HTTP on the same port serves
GET /health, GET /metrics (Prometheus), GET|PUT /thresholds and POST /snapshot.

Options:
  --config FILE     a JSON object: the engine configuration (docs/configuration.md) plus an optional
                    "server" section (the options below and the limits: docs/configuration.md, "Sidecar")
  --host HOST       interface to bind (default 127.0.0.1; 0.0.0.0 exposes it: set a token first)
  --port N          TCP port (default 8787; 0 picks a free one)
  --workers N       worker threads (default: the number of cores)
  --shards N        shards the instruments are spread over (default 8; fixed for the life of the state)
  --out FILE        also append alerts as NDJSON to FILE
  --no-stdout       do not print alerts on stdout
  --checkpoint FILE where SIGTERM and POST /snapshot write the state (default atc-checkpoint.bin)
  --restore         continue from the checkpoint file instead of starting empty
  --log-level L     debug, info (default), warn, error, silent; logs are JSON lines on stderr
  The token, when wanted, comes from the ATC_TOKEN environment variable or server.token in the config
  (never a flag: flags show in the process list).

SIGTERM or SIGINT: stop taking frames, process everything accepted, write the checkpoint, exit 0.
`;

export const SEND_HELP = `Usage: atc send <file...> [--url ws://127.0.0.1:8787] [--rate N | --speed Nx | --max] [--frame N]
                <file...> [--rows] [--format FMT] [--producer NAME]

Replays recorded market data (every format atc replay reads) into a running sidecar and reports
throughput and latency. Instruments are registered by name as they appear.

Options:
  --url URL        the sidecar (default ws://127.0.0.1:8787)
  --rate N         send N events per second
  --speed Nx       send at N times the data's own pace (1x: as recorded)
  --max            as fast as the server's credit allows (the default)
  --frame N        events per frame (default 1000)
  --rows           send row frames (msgpack maps) instead of columnar frames
  --format FMT     input format, as for atc replay (default auto)
  --producer NAME  a resumable stream name (default: anonymous)
  The token, when the server needs one, comes from ATC_TOKEN.

Prints a JSON summary on stdout: events, frames, seconds, events per second, and the latency from
sending a frame to the server having processed all its events (p50, p99, p99.9, in microseconds).
`;

export const DEMO_HELP = `Usage: atc demo [--speed Nx]

Starts a sidecar on a free local port, subscribes to its alerts, streams the committed real sample
(data/samples/binance-usdm-btcusdt-burst.txt.gz, 2.5 minutes) into it at --speed times its own pace
(default 50x: about 3 seconds) and prints each alert as it arrives, then a summary.
`;

// ---- serve --------------------------------------------------------------------------------------------------
export async function serve(argv: string[], io: Io): Promise<number> {
  const { values: v } = parseCommandArgs('serve', {
    args: argv,
    options: {
      config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, workers: { type: 'string' },
      shards: { type: 'string' }, out: { type: 'string' }, 'no-stdout': { type: 'boolean' }, checkpoint: { type: 'string' },
      restore: { type: 'boolean' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) { io.stdout.write(SERVE_HELP); return 0; }
  const file = await readConfigObject(v.config);
  const { server: serverSection, ...engineConfig } = file;
  const flags: Partial<ServerOptions> = {
    host: v.host, port: intFlag(v.port, '--port'), workers: intFlag(v.workers, '--workers'), shards: intFlag(v.shards, '--shards'),
    alertsFile: v.out, stdout: v['no-stdout'] ? false : undefined, checkpointPath: v.checkpoint,
    logLevel: v['log-level'] as ServerOptions['logLevel'] | undefined,
    token: process.env.ATC_TOKEN || undefined,
  };
  const server = resolveServerOptions(serverSection, flags);
  resolveConfig(engineConfig); // refuse a bad engine configuration before anything starts
  let restore: Uint8Array | undefined;
  if (v.restore) {
    try {
      restore = new Uint8Array(await readFile(server.checkpointPath));
    } catch (err) {
      throw new UsageError(`--restore: cannot read the checkpoint ${server.checkpointPath}: ${(err as Error).message}`);
    }
  }
  const logger = createLogger(server.logLevel, (line) => io.stderr.write(line));
  const sidecar = await Sidecar.start({ server, config: engineConfig, restore, logger, stdout: io.stdout as NodeJS.WritableStream });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info('signal: draining and checkpointing', { signal });
      sidecar.stop({ checkpoint: true }).then(resolve, (err) => {
        logger.error('stop failed', { err });
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return process.exitCode === 1 ? 1 : 0;
}

function intFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

// ---- send ---------------------------------------------------------------------------------------------------
export interface SendOptions {
  url: string;
  files: string[];
  format: InputFormat | 'auto';
  pace: { kind: 'max' } | { kind: 'rate'; eventsPerS: number } | { kind: 'speed'; factor: number };
  frame: number;
  rows: boolean;
  producer?: string;
  token?: string;
}

export interface SendReport {
  events: number;
  frames: number;
  seconds: number;
  eventsPerS: number;
  /** Frame sent -> server processed all its events, microseconds. */
  latencyUs: { p50: number; p99: number; p999: number; max: number };
  instruments: number;
}

export async function send(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parseCommandArgs('send', {
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' }, rate: { type: 'string' }, speed: { type: 'string' }, max: { type: 'boolean' },
      frame: { type: 'string' }, rows: { type: 'boolean' }, format: { type: 'string' }, producer: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) { io.stdout.write(SEND_HELP); return 0; }
  if (positionals.length === 0) throw new UsageError('send: give at least one input file (see atc send --help)');
  const paces = [v.rate !== undefined, v.speed !== undefined, v.max === true].filter(Boolean).length;
  if (paces > 1) throw new UsageError('send: give at most one of --rate, --speed, --max');
  let pace: SendOptions['pace'] = { kind: 'max' };
  if (v.rate !== undefined) {
    const r = Number(v.rate);
    if (!(r > 0 && Number.isFinite(r))) throw new UsageError(`send: --rate must be a positive number of events per second, got ${JSON.stringify(v.rate)}`);
    pace = { kind: 'rate', eventsPerS: r };
  } else if (v.speed !== undefined) {
    const m = /^(\d+(?:\.\d+)?)x?$/.exec(v.speed);
    if (!m || !(Number(m[1]) > 0)) throw new UsageError(`send: --speed must look like 10x, got ${JSON.stringify(v.speed)}`);
    pace = { kind: 'speed', factor: Number(m[1]) };
  }
  const frame = intFlag(v.frame, '--frame') ?? 1000;
  if (frame < 1) throw new UsageError('send: --frame must be at least 1');
  const format = (v.format ?? 'auto') as InputFormat | 'auto';
  if (format !== 'auto' && !INPUT_FORMATS.includes(format)) throw new UsageError(`send: --format must be auto or one of ${INPUT_FORMATS.join(', ')}`);
  for (const f of positionals) {
    if (format === 'auto' && (await detectFileFormat(f).catch((err) => { throw new UsageError(`input ${f}: ${(err as Error).message}`); })).format === undefined) {
      throw new UsageError(`input ${f}: cannot tell its format from its first lines; pass --format`);
    }
  }
  const report = await sendFiles({
    url: v.url ?? 'ws://127.0.0.1:8787', files: positionals, format, pace, frame, rows: v.rows === true,
    producer: v.producer, token: process.env.ATC_TOKEN || undefined,
  });
  io.stdout.write(JSON.stringify(report) + '\n');
  return 0;
}

/** Replay files into a sidecar; resolves when the server has processed every event sent. */
export async function sendFiles(o: SendOptions, onProgress?: (events: number) => void): Promise<SendReport> {
  const client = await ProducerClient.connect(o.url, { token: o.token, producer: o.producer, notify: true });
  // Frames within the server's limits: events, and bytes (a columnar event takes 73 bytes; rows about 150).
  const bytesPerEvent = o.rows ? 160 : 73;
  const frame = Math.max(1, Math.min(o.frame, client.welcome.maxFrameEvents, Math.floor((client.welcome.maxFrameBytes - 512) / bytesPerEvent)));
  const registry = new Registry();
  const catalog = new InstrumentCatalog(registry);
  /** Local id (this reader's registry) -> the server's id. */
  const remote: number[] = [];
  const sentMs = new Map<number, number>();
  const latencies: number[] = [];
  let lastProcessed = -1;
  let processedWaiter: (() => void) | null = null;
  client.onProcessed = (seq, atMs) => {
    for (let s = lastProcessed + 1; s <= seq; s++) {
      const t = sentMs.get(s);
      if (t !== undefined) { latencies.push((atMs - t) * 1000); sentMs.delete(s); }
    }
    lastProcessed = seq;
    processedWaiter?.();
  };
  const out = new EventBatch(frame);
  let events = 0, frames = 0;
  let firstTs: bigint | undefined;
  const started = performance.now();

  /** The first refusal of a frame: the send stops there. */
  let failure: Error | undefined;
  const flushFrame = async () => {
    if (out.length === 0) return;
    const ids = out.instrument;
    for (let i = 0; i < out.length; i++) ids[i] = remote[ids[i]];
    await client.ready(out.length);
    sentMs.set(client.nextSeq, performance.now());
    const ack = o.rows ? client.sendRowsNow(rowsOf(out)) : client.sendColsNow(out);
    ack.catch((err: Error) => { failure ??= err; });
    events += out.length;
    frames++;
    out.clear();
    onProgress?.(events);
  };
  const binanceSession = new BinanceSession(); // books continue from file to file, as in atc replay
  try {
    for (const path of o.files) {
      const reader = await openInput(path, o.format, { registry, catalog, batchSize: frame, binanceSession });
      for await (const batch of reader) {
        // Register the names this batch introduces.
        const fresh: number[] = [];
        for (let i = 0; i < batch.length; i++) {
          const id = batch.instrument[i];
          if (remote[id] === undefined && !fresh.includes(id)) fresh.push(id);
        }
        if (fresh.length > 0) {
          const ids = await client.register(fresh.map((id) => registrationOf(registry.name(id), catalog, id)));
          fresh.forEach((id, k) => { remote[id] = ids[k]; });
        }
        for (let i = 0; i < batch.length; i++) {
          if (o.pace.kind !== 'max') {
            firstTs ??= batch.tsNs[i];
            const dueMs = o.pace.kind === 'rate'
              ? (events + out.length) / o.pace.eventsPerS * 1000
              : Number(batch.tsNs[i] - firstTs) / 1e6 / o.pace.factor;
            const wait = dueMs - (performance.now() - started);
            if (wait > 2) { await flushFrame(); await sleep(wait); }
          }
          out.push(batch.kind[i], batch.instrument[i], batch.tsNs[i], batch.f[0][i], batch.f[1][i], batch.f[2][i], batch.f[3][i], batch.f[4][i], batch.f[5][i], batch.seq[i]);
          if (out.length === frame) await flushFrame();
          if (failure) throw failure;
        }
      }
    }
    await flushFrame();
    await client.flush();
    if (failure) throw failure;
    // Wait until the server says it has processed the last frame.
    const last = client.nextSeq - 1;
    while (lastProcessed < last) {
      await new Promise<void>((resolve, reject) => {
        processedWaiter = resolve;
        setTimeout(() => reject(new Error(`server did not report frame ${last} processed within 60 s`)), 60_000).unref();
      });
    }
  } finally {
    await client.close();
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => (latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]) : NaN);
  return {
    events, frames, seconds: round3(seconds), eventsPerS: Math.round(events / seconds),
    latencyUs: { p50: q(0.5), p99: q(0.99), p999: q(0.999), max: q(1) }, instruments: registry.size,
  };
}

function registrationOf(name: string, catalog: InstrumentCatalog, id: number): Record<string, unknown> {
  const info = catalog.get(id);
  if (!info) return { name };
  const r: Record<string, unknown> = { name, kind: info.kind };
  if (info.tickSize !== undefined) r.tickSize = info.tickSize;
  if (info.contractSize !== undefined) r.contractSize = info.contractSize;
  if (info.expiryMs !== undefined) r.expiry = info.expiryMs;
  if (info.strike !== undefined) r.strike = info.strike;
  if (info.optionType !== undefined) r.optionType = info.optionType;
  return r;
}

const KIND_NAMES = ['', 'trade', 'quote', 'mark', 'option', 'value'];
const FIELD_NAMES: Record<string, string[]> = {
  trade: ['price', 'size', 'side'], quote: ['bid', 'bidSize', 'ask', 'askSize', 'bidDepth', 'askDepth'],
  mark: ['mark', 'index', 'funding'], option: ['markIv', 'underlying', 'markPrice', 'bidIv', 'askIv', 'neighbourIv'], value: ['value'],
};

/** Events as canonical rows (instrument ids already the server's). */
function rowsOf(b: EventBatch): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < b.length; i++) {
    const kind = KIND_NAMES[b.kind[i]];
    const row: Record<string, unknown> = { ts: b.tsNs[i], instrument: b.instrument[i], kind };
    if (b.seq[i] >= 0n) row.seq = b.seq[i];
    FIELD_NAMES[kind].forEach((name, k) => { const x = b.f[k][i]; if (!Number.isNaN(x)) row[name] = x; });
    rows.push(row);
  }
  return rows;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
function round3(x: number): number { return Math.round(x * 1000) / 1000; }

// ---- demo ---------------------------------------------------------------------------------------------------
export const DEMO_SAMPLE = 'data/samples/binance-usdm-btcusdt-burst.txt.gz';

export async function demo(argv: string[], io: Io): Promise<number> {
  const { values: v } = parseCommandArgs('demo', { args: argv, options: { speed: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (v.help) { io.stdout.write(DEMO_HELP); return 0; }
  const sample = new URL(`../../${DEMO_SAMPLE}`, import.meta.url);
  const speed = Number(/^(\d+(?:\.\d+)?)x?$/.exec(v.speed ?? '50x')?.[1]);
  if (!(speed > 0)) throw new UsageError(`demo: --speed must look like 50x, got ${JSON.stringify(v.speed)}`);
  const logger = createLogger('warn', (line) => io.stderr.write(line));
  const server = resolveServerOptions({ port: 0, stdout: false, workers: 2, logLevel: 'warn' });
  const sidecar = await Sidecar.start({ server, config: {}, logger });
  try {
    io.stderr.write(`atc demo: sidecar listening on ${sidecar.url} (HTTP: ${sidecar.url.replace('ws:', 'http:')}/metrics)\n`);
    const sub = new WebSocket(`${sidecar.url}/alerts`);
    await new Promise<void>((resolve, reject) => { sub.once('open', () => resolve()); sub.once('error', reject); });
    let alerts = 0;
    const subscribed = new Promise<void>((resolve) => {
      sub.on('message', (data: Buffer) => {
        const m = JSON.parse(data.toString('utf8')) as { t: string; alerts?: Record<string, unknown>[] };
        if (m.t === 'subscribed') resolve();
        for (const a of m.alerts ?? []) {
          alerts++;
          io.stdout.write(`${a.time}  ${String(a.instrument).padEnd(10)} ${String(a.feature).padEnd(10)} ${String(a.detector).padEnd(11)} ` +
            `severity ${a.severity}  value ${fmt(a.value as number)} (expected ${fmt(a.expected as number)})  score ${fmt(a.score as number)} > ${fmt(a.threshold as number)}\n`);
        }
      });
    });
    sub.send(JSON.stringify({ t: 'subscribe', format: 'json' }));
    await subscribed;
    const report = await sendFiles({
      url: sidecar.url, files: [decodeURIComponent(sample.pathname)], format: 'auto',
      pace: { kind: 'speed', factor: speed }, frame: 1000, rows: false,
    });
    // Alerts of the last batches travel after the processed notice: give them a moment.
    await sleep(200);
    sub.close();
    io.stderr.write(`atc demo: ${report.events} events from ${DEMO_SAMPLE} in ${report.seconds} s ` +
      `(${report.eventsPerS} events/s), ${alerts} alerts; frame latency p50 ${report.latencyUs.p50} us, p99 ${report.latencyUs.p99} us\n`);
  } finally {
    await sidecar.stop();
  }
  return 0;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3) : String(Math.round(x * 1000) / 1000);
}

