// The sidecar's own options: the `server` section of the configuration file (the rest of the file is the engine
// configuration, src/config.ts), overridden by command-line flags. Validated as a whole; a ConfigError names the
// field. docs/configuration.md documents every option.
import { availableParallelism } from 'node:os';
import { bool, ConfigError, num as checkNumber } from '../config.js';
import type { Level } from './log.js';

export interface ServerOptions {
  /** Interface to bind: loopback unless told otherwise. */
  host: string;
  /** TCP port; 0 picks a free one (tests). */
  port: number;
  /** When set, producers, subscribers and the control endpoints must present it. */
  token: string | undefined;
  /** Piscina worker threads running the shards. */
  workers: number;
  /** Shards the instruments are spread over (instrument id % shards); fixed for the life of the state. */
  shards: number;
  /** Events per chunk, the unit of work a shard takes at once. */
  chunkEvents: number;
  /** Events accepted but not yet processed, over all shards: what credit is granted from. */
  maxQueuedEvents: number;
  /** A shard snapshots its arena after this many events, which bounds its replay journal. */
  snapshotEveryEvents: number;
  /** Credit one producer connection holds at most, in events. */
  producerWindow: number;
  /** A message larger than this is refused with `frameTooLarge`; one over twice this closes the connection. */
  maxFrameBytes: number;
  maxFrameEvents: number;
  /** WebSocket connections, producers and subscribers together. */
  maxConnections: number;
  /** Bytes a subscriber may have queued unsent before its alerts are dropped. */
  subscriberMaxBufferedBytes: number;
  /** Alert messages dropped for one subscriber before it is disconnected. */
  subscriberMaxDropped: number;
  /** Alerts as NDJSON to this file (appended). */
  alertsFile: string | undefined;
  /** Alerts as NDJSON on stdout. */
  stdout: boolean;
  /** Where SIGTERM and POST /snapshot write the checkpoint, and `--restore` reads it. */
  checkpointPath: string;
  /** Seconds between automatic checkpoints; 0 turns them off. */
  checkpointIntervalS: number;
  /** Seconds of silence after which a WebSocket is closed (pings keep healthy ones open). */
  idleTimeoutS: number;
  /** Seconds a new WebSocket has to complete its hello (producers) or subscribe (subscribers), token included. */
  helloTimeoutS: number;
  logLevel: Level;
}

export function defaultServerOptions(): ServerOptions {
  return {
    host: '127.0.0.1',
    port: 8787,
    token: undefined,
    workers: Math.max(1, availableParallelism()),
    shards: 8,
    chunkEvents: 2048,
    maxQueuedEvents: 1 << 19,
    snapshotEveryEvents: 1 << 16,
    producerWindow: 1 << 17,
    maxFrameBytes: 8 << 20,
    maxFrameEvents: 65_536,
    maxConnections: 256,
    subscriberMaxBufferedBytes: 4 << 20,
    subscriberMaxDropped: 1000,
    alertsFile: undefined,
    stdout: true,
    checkpointPath: 'atc-checkpoint.bin',
    checkpointIntervalS: 0,
    idleTimeoutS: 120,
    helloTimeoutS: 10,
    logLevel: 'info',
  };
}

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'];

/** Merge `input` (the configuration file's `server` section, then flags) over the defaults and validate. */
export function resolveServerOptions(...inputs: unknown[]): ServerOptions {
  const o = defaultServerOptions();
  const known = Object.keys(o);
  for (const input of inputs) {
    if (input === undefined) continue;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ConfigError('server', 'must be a JSON object');
    for (const [key, value] of Object.entries(input)) {
      if (!known.includes(key)) throw new ConfigError(`server.${key}`, `unknown option (known: ${known.join(', ')})`);
      if (value !== undefined) (o as unknown as Record<string, unknown>)[key] = value;
    }
  }
  str(o.host, 'host');
  int(o.port, 'port', 0, 65_535);
  if (o.token !== undefined) {
    str(o.token, 'token');
    if (o.token.length < 8) throw new ConfigError('server.token', 'must be at least 8 characters');
  }
  int(o.workers, 'workers', 1, 256);
  int(o.shards, 'shards', 1, 4096);
  int(o.chunkEvents, 'chunkEvents', 16, 1 << 20);
  int(o.maxQueuedEvents, 'maxQueuedEvents', o.chunkEvents, 1 << 28);
  int(o.snapshotEveryEvents, 'snapshotEveryEvents', 1, 1 << 30);
  int(o.producerWindow, 'producerWindow', 1, o.maxQueuedEvents);
  int(o.maxFrameBytes, 'maxFrameBytes', 1024, 1 << 30);
  int(o.maxFrameEvents, 'maxFrameEvents', 1, 1 << 24);
  if (o.maxFrameEvents > o.producerWindow) {
    throw new ConfigError('server.maxFrameEvents', `must not exceed producerWindow (${o.producerWindow}): such a frame could never be sent`);
  }
  int(o.maxConnections, 'maxConnections', 1, 1 << 20);
  int(o.subscriberMaxBufferedBytes, 'subscriberMaxBufferedBytes', 1024, 1 << 30);
  int(o.subscriberMaxDropped, 'subscriberMaxDropped', 0, 1e12);
  if (o.alertsFile !== undefined) str(o.alertsFile, 'alertsFile');
  bool(o.stdout, 'server.stdout');
  str(o.checkpointPath, 'checkpointPath');
  // 0 (off) or whole seconds up to what a Node timer can wait (2^31 - 1 ms).
  int(o.checkpointIntervalS, 'checkpointIntervalS', 0, 2_147_483);
  // uWebSockets.js counts idle time in steps of 4 s.
  int(o.idleTimeoutS, 'idleTimeoutS', 8, 960);
  num(o.helloTimeoutS, 'helloTimeoutS', 0.1, 600);
  if (o.idleTimeoutS % 4 !== 0) throw new ConfigError('server.idleTimeoutS', `must be a multiple of 4, got ${o.idleTimeoutS}`);
  if (!LEVELS.includes(o.logLevel)) throw new ConfigError('server.logLevel', `must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(o.logLevel)}`);
  return o;
}

function str(v: unknown, field: string): asserts v is string {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`server.${field}`, `must be a non-empty string, got ${JSON.stringify(v)}`);
}
function num(v: unknown, field: string, lo: number, hi: number): void {
  checkNumber(v, `server.${field}`, lo, hi);
}
function int(v: unknown, field: string, lo: number, hi: number): void {
  checkNumber(v, `server.${field}`, lo, hi, { integer: true });
}
