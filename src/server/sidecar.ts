// The sidecar: producers' market data in over a WebSocket (binary msgpack frames, docs/protocol.md), through the
// shard pool (src/pool), alerts out to WebSocket subscribers, NDJSON sinks and stdout; control and metrics over
// HTTP on the same port.
//
// The main thread does only what must be serial: check a frame (size, auth, sequence, credit), decode and
// validate it, and copy its events into the shards' chunks. Everything numeric runs on the pool's workers.
import { createHash, timingSafeEqual } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { ConfigError, defaultConfig, parseInstruments, resolveConfig, type InstrumentThresholds } from '../config.js';
import { newInstrumentNames } from '../instrument-thresholds.js';
import { decodeAlert } from '../engine.js';
import { InstrumentCatalog, type InstrumentInfo } from '../instruments.js';
import { ShardPool, type AlertBatch, type PoolStats } from '../pool/index.js';
import type { Columns } from '../protocol/columns.js';
import { FrameDecoder, type ProtocolError, decodeSubscribe } from '../protocol/decode.js';
import { encodeAlerts, encodeServerMessage, subscribedMessage, type NamedAlert, type ServerMessage } from '../protocol/encode.js';
import { ALERT_BYTES } from '../abi.js';
import { Registry } from '../registry.js';
import { formatAlert } from '../alert-format.js';
import { Counter, GaugeFn, Histogram, LATENCY_BOUNDS, Registry as Metrics } from './metrics.js';
import { createLogger, type Logger } from './log.js';
import { NdjsonSink } from './sinks.js';
import { SubscriberHub, type SubscriberState } from './subscribers.js';
import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket, type WebSocket } from './uws.js';
import type { ServerOptions } from './options.js';

export const PROTOCOL_VERSION = 1;
/** Largest message read from a producer before its hello: a hello is a few dozen bytes. */
const PRE_HELLO_MAX_BYTES = 4096;
/** Producer names remembered (named streams are resumable; a name that never sent an event is forgotten). */
const MAX_STREAMS = 10_000;

/** A producer's resumable stream: what was accepted from it, kept across reconnects and checkpoints when named. */
interface Stream {
  name: string | undefined;
  /** The seq the next frame must carry. */
  nextSeq: number;
  /** Events accepted from this stream, cumulative. */
  events: number;
  /** The producer may send while its events sent + a frame's n <= window. */
  window: number;
  /** The connection that holds it now (a new hello with the same name takes it over). */
  owner: WebSocket<ProducerState> | null;
}

interface ProducerState {
  role: 'producer';
  id: number;
  authorized: boolean;
  stream: Stream | null;
  notify: boolean;
  /** Closes the connection if it has not said hello (with the token) in time. */
  helloTimer: NodeJS.Timeout | undefined;
  /** Accepted frames not yet processed: seq, end accept index, arrival (ms, performance.now()). Ring by head. */
  pending: { seq: number; end: number; arrivalMs: number }[];
  pendingHead: number;
  closed: boolean;
}

type ConnState = ProducerState | SubscriberState;

export interface SidecarOptions {
  server: ServerOptions;
  /** Engine configuration (src/config.ts). Ignored when restoring: the checkpoint carries its own. */
  config?: unknown;
  /** Checkpoint bytes to continue from. */
  restore?: Uint8Array;
  logger?: Logger;
  /** Alerts as NDJSON lines go here when server.stdout is set (default process.stdout). */
  stdout?: NodeJS.WritableStream;
}

interface CheckpointMeta {
  atc: 'sidecar';
  instruments: InstrumentInfo[];
  names: string[];
  streams: { name: string; nextSeq: number; events: number }[];
}

export class Sidecar {
  readonly options: ServerOptions;
  readonly registry: Registry;
  readonly catalog: InstrumentCatalog;
  readonly pool: ShardPool;
  readonly metrics = new Metrics();
  readonly #log: Logger;
  readonly #app: TemplatedApp;
  #listen: us_listen_socket | null = null;
  #port = 0;
  readonly #streams = new Map<string, Stream>();
  readonly #producers = new Set<WebSocket<ProducerState>>();
  readonly #subscribers: SubscriberHub;
  /**
   * One decoder for every producer: decoding and submitting are synchronous, so a frame's views never outlive the
   * message, and the decoder's scratch is paid for once rather than per connection.
   */
  readonly #decoder: FrameDecoder;
  /** The pool's figures read once for a whole /metrics scrape (each read sums over every shard's arena). */
  #scrapeStats: PoolStats | null = null;
  readonly #sinks: NdjsonSink[] = [];
  /** Credit granted to connected producers and not yet used: never more than the pool's free room. */
  #outstanding = 0;
  #connections = 0;
  #nextConnId = 1;
  #draining = false;
  readonly #startedMs = Date.now();
  #checkpointTimer: NodeJS.Timeout | undefined;
  #checkpointing: Promise<{ path: string; bytes: number; events: number }> | null = null;
  #stopping: Promise<void> | null = null;
  /** What the uWebSockets.js handlers reach the sidecar through: emptied when it stops (see #buildApp). */
  readonly #live: { s: Sidecar | null } = { s: this };

  // Metrics updated on the hot path.
  readonly #framesIn: Counter;
  readonly #eventsIn: Counter;
  readonly #framesRejected: Counter;
  readonly #alertsOut: Counter;
  readonly #alertLatency: Histogram;
  readonly #processedLatency: Histogram;

  private constructor(opts: SidecarOptions, pool: ShardPool, registry: Registry, catalog: InstrumentCatalog, fileSink: NdjsonSink | undefined) {
    this.options = opts.server;
    this.pool = pool;
    this.registry = registry;
    this.catalog = catalog;
    this.#log = opts.logger ?? createLogger(opts.server.logLevel);
    const o = this.options;
    this.#subscribers = new SubscriberHub(
      { maxBufferedBytes: o.subscriberMaxBufferedBytes, maxDropped: o.subscriberMaxDropped },
      (alerts, dropped, format) => encodeAlerts(alerts, dropped, format),
    );
    if (o.stdout) this.#sinks.push(new NdjsonSink('stdout', (opts.stdout ?? process.stdout) as never, false));
    if (fileSink) this.#sinks.push(fileSink);

    const m = this.metrics;
    this.#framesIn = m.add(new Counter('atc_frames_total', 'Frames accepted, by type.', ['type']));
    this.#eventsIn = m.add(new Counter('atc_events_total', 'Events accepted (each is processed exactly once).'));
    this.#framesRejected = m.add(new Counter('atc_frames_rejected_total', 'Frames and messages refused, by error code.', ['code']));
    this.#alertsOut = m.add(new Counter('atc_alerts_total', 'Alerts raised, by feature and detector.', ['feature', 'detector']));
    this.#alertLatency = m.add(new Histogram('atc_ingest_to_alert_seconds', 'From the arrival of the frame carrying an event to the alert it fired reaching the sinks.', LATENCY_BOUNDS));
    this.#processedLatency = m.add(new Histogram('atc_ingest_to_processed_seconds', 'From the arrival of a frame to the engine having processed all its events.', LATENCY_BOUNDS));
    m.add(new GaugeFn('atc_events_rejected_total', 'Accepted events the engine refused, by reason (time going backwards, crossed quote, ...).', () =>
      Object.entries(this.#poolStats().engine.rejected).map(([reason, v]) => [{ reason }, v] as [Record<string, string>, number])));
    m.add(new GaugeFn('atc_events_processed_total', 'Events the engine has processed.', () => this.#poolStats().eventsProcessed));
    m.add(new GaugeFn('atc_queue_events', 'Events accepted and waiting for a worker, all shards.', () => this.#poolStats().queuedEvents));
    m.add(new GaugeFn('atc_tasks_in_flight', 'Shard batches running on workers.', () => this.#poolStats().inFlight));
    m.add(new GaugeFn('atc_worker_utilization', 'Fraction of the pool\'s capacity busy since start (Piscina).', () => this.#poolStats().utilization));
    m.add(new GaugeFn('atc_workers', 'Worker threads.', () => this.#poolStats().workers));
    m.add(new GaugeFn('atc_worker_restarts_total', 'Workers that died and were replaced.', () => this.#poolStats().workerRestarts));
    m.add(new GaugeFn('atc_shard_recoveries_total', 'Shards restored from their snapshot and journal after a worker died.', () => this.#poolStats().recoveries));
    m.add(new GaugeFn('atc_instruments', 'Registered instruments.', () => this.registry.size));
    m.add(new GaugeFn('atc_connections', 'Open WebSocket connections, by role.', () => [
      [{ role: 'producer' }, this.#producers.size], [{ role: 'subscriber' }, this.#subscribers.size]]));
    m.add(new GaugeFn('atc_alerts_dropped_total', 'Alerts not delivered because a consumer was too slow, by sink.', () => [
      [{ sink: 'subscribers' }, this.#subscribers.droppedAlerts], ...this.#sinks.map((s) => [{ sink: s.name }, s.dropped] as [Record<string, string>, number])]));
    m.add(new GaugeFn('atc_subscriber_disconnects_total', 'Subscribers disconnected for being too slow.', () => this.#subscribers.disconnects));
    m.add(new GaugeFn('process_resident_memory_bytes', 'Resident set size.', () => process.memoryUsage.rss()));
    m.add(new GaugeFn('nodejs_heap_used_bytes', 'V8 heap in use on the main thread.', () => process.memoryUsage().heapUsed));

    this.#decoder = new FrameDecoder({
      isRegistered: (i) => i < this.registry.size,
      lookup: (name) => (this.registry.has(name) ? this.registry.id(name) : undefined),
      maxFrameEvents: o.maxFrameEvents,
      maxFrameBytes: o.maxFrameBytes,
    });
    pool.onAlerts = (batch) => this.#onAlerts(batch);
    pool.onProgress = () => this.#onProgress();
    this.#app = this.#buildApp();
  }

  /** Start a sidecar and listen; resolves once the port is bound. */
  static async start(opts: SidecarOptions): Promise<Sidecar> {
    const o = opts.server;
    const poolOpts = {
      workers: o.workers, chunkEvents: o.chunkEvents, maxQueuedEvents: o.maxQueuedEvents, snapshotEveryEvents: o.snapshotEveryEvents,
    };
    // Opened first: a bad path fails the start before any worker exists.
    const fileSink = o.alertsFile ? await NdjsonSink.file(o.alertsFile) : undefined;
    let registry = new Registry();
    let catalog = new InstrumentCatalog(registry);
    let meta: CheckpointMeta | undefined;
    let pool: ShardPool;
    try {
      if (opts.restore) {
        meta = checkMeta(ShardPool.readCheckpointMeta(opts.restore));
        registry = Registry.fromJSON(meta.names);
        catalog = new InstrumentCatalog(registry);
        for (const info of meta.instruments) catalog.add(info);
        pool = await ShardPool.restore(opts.restore, poolOpts);
      } else {
        const engineConfig = (opts.config ?? {}) as Record<string, unknown>;
        const maxInstruments = typeof engineConfig.maxInstruments === 'number' ? engineConfig.maxInstruments : 64;
        pool = await ShardPool.create({ ...poolOpts, config: engineConfig, shards: o.shards, maxInstruments });
      }
    } catch (err) {
      await fileSink?.close();
      throw err;
    }
    const sidecar = new Sidecar(opts, pool, registry, catalog, fileSink);
    if (!opts.restore) {
      // Per-instrument thresholds of the configuration (`atc calibrate`'s output): their instruments are registered
      // now, so that a producer registering them later gets these ids and finds the thresholds in place.
      try {
        sidecar.#setInstruments(resolveConfig(opts.config ?? {}).instruments);
      } catch (err) {
        await pool.close();
        await fileSink?.close();
        throw err;
      }
    }
    if (meta) {
      for (const s of meta.streams) sidecar.#streams.set(s.name, { name: s.name, nextSeq: s.nextSeq, events: s.events, window: s.events, owner: null });
    }
    try {
      await sidecar.#listenOn(o.host, o.port);
    } catch (err) {
      await pool.close();
      throw err;
    }
    if (o.checkpointIntervalS > 0) {
      sidecar.#checkpointTimer = setInterval(() => {
        if (sidecar.#checkpointing || sidecar.#draining) return; // one at a time; the next tick catches up
        sidecar.checkpoint().catch((err) => sidecar.#log.error('periodic checkpoint failed', { err }));
      }, o.checkpointIntervalS * 1000);
      sidecar.#checkpointTimer.unref();
    }
    if (!['127.0.0.1', '::1', 'localhost'].includes(o.host) && o.token === undefined) {
      sidecar.#log.warn('listening on a non-loopback interface without a token: anyone who can reach it can send data and change thresholds', { host: o.host });
    }
    sidecar.#log.info('listening', {
      url: sidecar.url, shards: pool.shards, workers: pool.stats().workers, restored: !!opts.restore,
      instruments: registry.size, auth: o.token !== undefined,
    });
    return sidecar;
  }

  #poolStats(): PoolStats {
    return this.#scrapeStats ?? this.pool.stats();
  }

  get port(): number { return this.#port; }
  /** Base URL: ws://host:port (HTTP endpoints answer on http://host:port). */
  get url(): string { return `ws://${this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host}:${this.#port}`; }
  get draining(): boolean { return this.#draining; }

  #listenOn(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host}:${port} (in use, or not an address of this machine)`));
          return;
        }
        this.#listen = socket;
        this.#port = uWS.us_socket_local_port(socket as never);
        resolve();
      });
    });
  }

  // ---- The app ----------------------------------------------------------------------------------------------
  #buildApp(): TemplatedApp {
    // uWebSockets.js keeps every handler of an App, and everything the handlers close over, until the process
    // exits (App.close() does not release them). So no closure here may capture `this`: they reach the sidecar
    // through `live`, which #stop empties, and a stopped sidecar (its pool, shard memories, snapshots) is freed.
    const live = this.#live;
    const gone = (res: HttpResponse) => { res.cork(() => res.writeStatus('503 Service Unavailable').end('atc: stopped')); };
    const o = this.options;
    const app = uWS.App();
    const common = {
      idleTimeout: o.idleTimeoutS,
      sendPingsAutomatically: true,
      upgrade: (res: HttpResponse, req: HttpRequest, context: unknown) => { if (live.s) live.s.#upgrade(res, req, context); else gone(res); },
      open: (ws: WebSocket<ConnState>) => { live.s && live.s.#onOpen(ws); },
      close: (ws: WebSocket<ConnState>) => { live.s && live.s.#onClose(ws); },
    };
    app.ws<ConnState>('/ingest', {
      ...common,
      // Frames up to maxFrameBytes are read and judged; uWebSockets.js closes connections sending more than twice that.
      maxPayloadLength: Math.min(2 * o.maxFrameBytes, 2 ** 31 - 1),
      // Replies to a producer are small; one that does not read them is cut off rather than buffered without bound.
      maxBackpressure: 16 << 20,
      closeOnBackpressureLimit: 1,
      message: (ws, message, isBinary) => { live.s && live.s.#onProducerMessage(ws as WebSocket<ProducerState>, message, isBinary); },
    });
    app.ws<ConnState>('/alerts', {
      ...common,
      maxPayloadLength: 64 << 10,
      maxBackpressure: 2 * o.subscriberMaxBufferedBytes,
      message: (ws, message, isBinary) => { live.s && live.s.#onSubscriberMessage(ws as WebSocket<SubscriberState>, message, isBinary); },
    });
    app.get('/health', (res) => { if (live.s) live.s.#health(res); else gone(res); });
    app.get('/metrics', (res) => {
      const s = live.s;
      if (!s) return gone(res);
      s.#scrapeStats = s.pool.stats();
      const text = s.metrics.render();
      s.#scrapeStats = null;
      res.cork(() => res.writeHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8').end(text));
    });
    app.get('/thresholds', (res, req) => {
      const s = live.s;
      if (!s) return gone(res);
      if (!s.#httpAuthorized(res, req)) return;
      json(res, '200 OK', { thresholds: s.pool.thresholds(), instruments: s.#instrumentThresholds() });
    });
    app.put('/thresholds', (res, req) => {
      const s = live.s;
      if (!s) return gone(res);
      if (!s.#httpAuthorized(res, req)) return;
      // A change now might miss the checkpoint being written: refuse it rather than lose it.
      if (s.#draining) return json(res, '503 Service Unavailable', { error: 'the server is shutting down' });
      readBody(res, 1 << 20, (body) => {
        if (body === null) return json(res, '413 Payload Too Large', { error: 'body larger than 1 MiB' });
        let update: unknown;
        try { update = JSON.parse(body); } catch (err) {
          return json(res, '400 Bad Request', { error: `body is not JSON: ${(err as Error).message}` });
        }
        if (typeof update !== 'object' || update === null || Array.isArray(update)) {
          return json(res, '400 Bad Request', { error: 'body must be a JSON object of threshold settings, as the configuration\'s "thresholds" (docs/configuration.md), or a configuration with "thresholds" and/or "instruments" (atc calibrate --out)' });
        }
        let ignored: string[] = [];
        try {
          const body = thresholdsBody(update as Record<string, unknown>);
          ignored = body.ignored;
          // Everything is checked before anything changes: the instruments (names, values, room in the table), then
          // the channel thresholds (setThresholds validates before it applies), then the instruments are applied.
          if (body.instruments !== undefined) s.#checkInstrumentRoom(body.instruments);
          if (body.thresholds !== undefined) s.pool.setThresholds(body.thresholds);
          if (body.instruments !== undefined) s.#setInstruments(body.instruments);
        } catch (err) {
          if (err instanceof ConfigError) return json(res, '400 Bad Request', { error: err.message, field: err.field });
          s.#log.error('set thresholds failed', { err });
          return json(res, '500 Internal Server Error', { error: (err as Error).message });
        }
        // Every event accepted before this point is judged by the old thresholds, every later one by the new.
        const appliedAfter = s.pool.nextAccept;
        s.#log.info('thresholds changed', { update, appliedAfter });
        json(res, '200 OK', {
          appliedAfter, thresholds: s.pool.thresholds(), instruments: s.#instrumentThresholds(), ...(ignored.length > 0 ? { ignored } : {}),
        });
      });
    });
    app.post('/snapshot', (res, req) => {
      const s = live.s;
      if (!s) return gone(res);
      if (!s.#httpAuthorized(res, req)) return;
      let aborted = false;
      res.onAborted(() => { aborted = true; });
      s.checkpoint().then(
        (r) => { if (!aborted) json(res, '200 OK', r); },
        (err) => { if (!aborted) json(res, '500 Internal Server Error', { error: (err as Error).message }); },
      );
    });
    app.any('/*', (res, req) => {
      json(res, '404 Not Found', { error: `no such endpoint: ${req.getMethod().toUpperCase()} ${req.getUrl()} (endpoints: WebSocket /ingest and /alerts; GET /health, GET /metrics, GET|PUT /thresholds, POST /snapshot)` });
    });
    return app;
  }

  #upgrade(res: HttpResponse, req: HttpRequest, context: unknown): void {
    const url = req.getUrl();
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const auth = req.getHeader('authorization');
    if (this.#draining) {
      res.writeStatus('503 Service Unavailable').end('atc: shutting down');
      return;
    }
    if (this.#connections >= this.options.maxConnections) {
      this.#framesRejected.inc(['tooManyConnections']);
      res.writeStatus('503 Service Unavailable').end(`atc: connection limit (${this.options.maxConnections}) reached`);
      return;
    }
    // A token in the Authorization header authorises at once; otherwise the hello (or subscribe) must carry it.
    const authorized = this.options.token === undefined || this.#tokenMatches(bearer(auth));
    if (auth && !authorized) {
      this.#framesRejected.inc(['unauthorized']);
      res.writeStatus('401 Unauthorized').end('atc: bad token');
      return;
    }
    const id = this.#nextConnId++;
    const state: ConnState = url === '/alerts'
      ? { role: 'subscriber', id, authorized, filter: null, dropped: 0, droppedMessages: 0, closed: false, helloTimer: undefined }
      : {
        role: 'producer', id, authorized, stream: null, notify: false, pending: [], pendingHead: 0, closed: false, helloTimer: undefined,
      };
    this.#connections++;
    res.upgrade(state, key, protocol, extensions, context as never);
  }

  #onOpen(ws: WebSocket<ConnState>): void {
    const s = ws.getUserData();
    // A connection that has not introduced itself (and shown the token) within the deadline is closed, so that
    // silent sockets cannot hold connection slots: pings would otherwise keep them alive forever.
    s.helloTimer = setTimeout(() => {
      if (s.closed) return;
      const introduced = s.role === 'producer' ? s.stream !== null : s.filter !== null;
      if (!introduced) ws.end(4002, s.role === 'producer' ? 'no hello in time' : 'no subscribe in time');
    }, this.options.helloTimeoutS * 1000);
    s.helloTimer.unref();
  }

  #onClose(ws: WebSocket<ConnState>): void {
    this.#connections--;
    const s = ws.getUserData();
    s.closed = true;
    clearTimeout(s.helloTimer);
    if (s.role === 'subscriber') {
      this.#subscribers.delete(ws as WebSocket<SubscriberState>);
      return;
    }
    this.#producers.delete(ws as WebSocket<ProducerState>);
    if (s.stream) this.#detach(s.stream, ws as WebSocket<ProducerState>);
    // Its unused credit is free again: offer it to the producers still connected.
    this.#regrantAll();
  }

  /** Release a stream's unused credit and its connection (only if `ws` still owns it). */
  #detach(stream: Stream, ws: WebSocket<ProducerState>): void {
    if (stream.owner !== ws) return;
    this.#outstanding -= stream.window - stream.events;
    stream.window = stream.events;
    stream.owner = null;
    // A name that never got an event is forgotten, so that hellos with made-up names cannot grow the table.
    if (stream.name !== undefined && stream.events === 0) this.#streams.delete(stream.name);
  }

  // ---- Producers ------------------------------------------------------------------------------------------------
  #onProducerMessage(ws: WebSocket<ProducerState>, message: ArrayBuffer, isBinary: boolean): void {
    const c = ws.getUserData();
    if (!isBinary) return this.#reject(ws, { code: 'badMessage', message: 'producer messages must be binary WebSocket messages holding msgpack (docs/protocol.md)' });
    if (message.byteLength > this.options.maxFrameBytes) {
      return this.#reject(ws, { code: 'frameTooLarge', message: `message of ${message.byteLength} bytes exceeds maxFrameBytes (${this.options.maxFrameBytes})` });
    }
    // Before hello only a hello is expected: anything large is refused undecoded, so that a connection that has not
    // shown the token costs nothing to refuse.
    if (!c.stream && message.byteLength > PRE_HELLO_MAX_BYTES) return this.#reject(ws, helloRequired());
    const arrivalMs = performance.now();
    const msg = this.#decoder.decode(new Uint8Array(message));
    if ('code' in msg) return this.#reject(ws, msg);
    switch (msg.t) {
      case 'hello': return this.#hello(ws, c, msg);
      case 'register':
        if (!c.stream) return this.#reject(ws, helloRequired());
        // Ids given now would not be in the checkpoint being written.
        if (this.#draining) return this.#reject(ws, { code: 'unavailable', message: 'the server is shutting down; register after it restarts' });
        return this.#register(ws, msg.instruments);
      case 'cols':
      case 'rows':
        if (!c.stream) return this.#reject(ws, helloRequired());
        return this.#frame(ws, c, c.stream, msg.t, msg.seq, arrivalMs, msg.columns);
    }
  }

  #hello(ws: WebSocket<ProducerState>, c: ProducerState, msg: { v: number; token?: string; producer?: string; notify?: boolean }): void {
    if (c.stream) return this.#reject(ws, { code: 'badMessage', message: 'hello already received on this connection' });
    if (msg.v !== PROTOCOL_VERSION) return this.#reject(ws, { code: 'badVersion', message: `protocol version ${msg.v} is not supported (this server speaks ${PROTOCOL_VERSION})` });
    if (!c.authorized) {
      if (msg.token === undefined || !this.#tokenMatches(msg.token)) {
        this.#reject(ws, { code: 'unauthorized', message: msg.token === undefined ? 'this server requires a token (hello.token or an Authorization: Bearer header)' : 'bad token' });
        ws.end(4001, 'unauthorized');
        return;
      }
      c.authorized = true;
    }
    if (this.#draining) return this.#reject(ws, { code: 'unavailable', message: 'the server is shutting down' });
    let stream: Stream;
    if (msg.producer !== undefined) {
      const known = this.#streams.get(msg.producer);
      if (!known && this.#streams.size >= MAX_STREAMS) {
        return this.#reject(ws, { code: 'badValue', field: 'producer', message: `too many producer names (${MAX_STREAMS}) are known; reuse one` });
      }
      stream = known ?? { name: msg.producer, nextSeq: 0, events: 0, window: 0, owner: null };
      this.#streams.set(msg.producer, stream);
      if (stream.owner) {
        // The same producer reconnecting (its old connection may be dead without the server knowing yet): the new
        // connection takes the stream over, and the old one is closed.
        const old = stream.owner;
        this.#detach(stream, old);
        old.getUserData().stream = null;
        old.end(4009, 'replaced by a new connection of the same producer');
      }
    } else {
      stream = { name: undefined, nextSeq: 0, events: 0, window: 0, owner: null };
    }
    stream.owner = ws;
    stream.window = stream.events;
    c.stream = stream;
    clearTimeout(c.helloTimer);
    c.notify = msg.notify === true;
    this.#producers.add(ws);
    this.#grant(stream);
    this.#send(ws, {
      t: 'welcome', v: PROTOCOL_VERSION, nextSeq: stream.nextSeq, events: stream.events, window: stream.window,
      maxFrameBytes: this.options.maxFrameBytes, maxFrameEvents: this.options.maxFrameEvents,
    });
  }

  /** Refuses (ConfigError) per-instrument thresholds that would register more instruments than the pool holds. */
  #checkInstrumentRoom(instruments: InstrumentThresholds): void {
    const fresh = newInstrumentNames(instruments, this.registry);
    const max = this.pool.maxInstruments;
    if (this.registry.size + fresh.length > max) {
      throw new ConfigError('instruments', `would register ${fresh.length} new instruments (${fresh.slice(0, 3).join(', ')}${fresh.length > 3 ? ', ...' : ''}), more than maxInstruments (${max}; ${this.registry.size} registered)`);
    }
  }

  /** Register the named instruments (if new) and set their thresholds, journaled on their shards. */
  #setInstruments(instruments: InstrumentThresholds): void {
    this.#checkInstrumentRoom(instruments);
    for (const [name, selectors] of Object.entries(instruments)) this.pool.setInstrumentThresholds(this.registry.id(name), selectors);
  }

  /** Per-instrument thresholds in force, by instrument name. */
  #instrumentThresholds(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [id, values] of this.pool.instrumentThresholds()) out[this.registry.name(id)] = values;
    return out;
  }

  #register(ws: WebSocket<ProducerState>, instruments: InstrumentInfo[]): void {
    const fresh = new Set(instruments.filter((i) => !this.registry.has(i.name)).map((i) => i.name)).size;
    const max = this.pool.maxInstruments;
    if (this.registry.size + fresh > max) {
      return this.#reject(ws, { code: 'tooManyInstruments', message: `registering ${fresh} new instruments would exceed maxInstruments (${max}; ${this.registry.size} registered)` });
    }
    const ids = instruments.map((info) => this.catalog.add(info));
    this.#send(ws, { t: 'registered', ids });
  }

  #frame(ws: WebSocket<ProducerState>, c: ProducerState, stream: Stream, type: 'cols' | 'rows', seq: number, arrivalMs: number,
    columns: Columns): void {
    const n = columns.n;
    if (seq < stream.nextSeq) {
      this.#send(ws, { t: 'ack', seq, n: 0, events: stream.events, window: stream.window, duplicate: true });
      return;
    }
    if (seq > stream.nextSeq) {
      return this.#reject(ws, { code: 'sequenceGap', seq, message: `frame seq ${seq} but ${stream.nextSeq} expected next (frames must not be skipped; resend from ${stream.nextSeq})` });
    }
    if (this.#draining) return this.#reject(ws, { code: 'unavailable', seq, message: 'the server is shutting down; resend this frame after it restarts' });
    if (n > this.options.maxFrameEvents) {
      return this.#reject(ws, { code: 'frameTooLarge', seq, message: `frame of ${n} events exceeds maxFrameEvents (${this.options.maxFrameEvents})` });
    }
    if (stream.events + n > stream.window) {
      return this.#reject(ws, { code: 'noCredit', seq, message: `frame of ${n} events exceeds the credit window (${stream.events} accepted, window ${stream.window}); wait for an ack or credit message` });
    }
    const first = this.pool.submit(columns, BigInt(Math.round(arrivalMs * 1e6)));
    if (first < 0) {
      // Cannot happen to a producer within its window (grants never exceed the pool's room); kept as a guard.
      return this.#reject(ws, { code: 'noCredit', seq, message: 'the server\'s queues are full; resend after the next credit message' });
    }
    stream.events += n;
    stream.nextSeq = seq + 1;
    this.#outstanding -= n;
    this.#framesIn.inc([type]);
    this.#eventsIn.inc(undefined, n);
    c.pending.push({ seq, end: first + n, arrivalMs });
    this.#grant(stream);
    this.#send(ws, { t: 'ack', seq, n, events: stream.events, window: stream.window });
  }

  /**
   * Top a stream's credit up, once it has used half, from room nobody else holds: to producerWindow, or to a fair
   * share of the queue when many producers are connected (never below one full frame).
   */
  #grant(stream: Stream): boolean {
    if (stream.owner === null || this.#draining) return false;
    const o = this.options;
    const share = Math.floor(o.maxQueuedEvents / Math.max(1, this.#producers.size));
    const w = Math.min(o.producerWindow, Math.max(o.maxFrameEvents, share));
    const have = stream.window - stream.events;
    if (have > w / 2) return false;
    const room = this.pool.freeEvents - this.#outstanding;
    const add = Math.min(w - have, room);
    if (add <= 0) return false;
    stream.window += add;
    this.#outstanding += add;
    return true;
  }

  #reject(ws: WebSocket<ConnState>, err: ProtocolError): void {
    this.#framesRejected.inc([err.code]);
    this.#log.debug('frame rejected', { conn: ws.getUserData().id, ...err });
    this.#send(ws, { t: 'error', ...err });
    // A refused frame's events were never accepted: restate the window so the producer's count matches ours.
    const c = ws.getUserData();
    if (c.role === 'producer' && c.stream && err.seq !== undefined) this.#send(ws, { t: 'credit', events: c.stream.events, window: c.stream.window });
  }

  #send(ws: WebSocket<ConnState>, msg: ServerMessage): void {
    if (ws.getUserData().closed) return;
    ws.send(encodeServerMessage(msg), true);
  }

  // ---- Progress: credit and processed notices ------------------------------------------------------------------
  #onProgress(): void {
    const wm = this.pool.processedWatermark;
    const now = performance.now();
    for (const ws of this.#producers) {
      const c = ws.getUserData();
      if (c.closed || !c.stream) continue;
      let last = -1;
      const q = c.pending;
      while (c.pendingHead < q.length && q[c.pendingHead].end <= wm) {
        const f = q[c.pendingHead++];
        this.#processedLatency.observe((now - f.arrivalMs) / 1000);
        last = f.seq;
      }
      if (c.pendingHead > 1024 && c.pendingHead * 2 > q.length) { q.splice(0, c.pendingHead); c.pendingHead = 0; }
      if (last >= 0 && c.notify) this.#send(ws, { t: 'processed', seq: last });
    }
    this.#regrantAll();
  }

  /** Offer free room to every connected producer that has used half its credit; tell those that got some. */
  #regrantAll(): void {
    for (const ws of this.#producers) {
      const c = ws.getUserData();
      // A send above may have closed it (backpressure limit): a closed connection must not be granted anything.
      if (c.closed || !c.stream) continue;
      const s = c.stream;
      if (this.#grant(s)) this.#send(ws, { t: 'credit', events: s.events, window: s.window });
    }
  }

  // ---- Alerts -------------------------------------------------------------------------------------------------
  #onAlerts(batch: AlertBatch): void {
    const view = new DataView(batch.records.buffer, batch.records.byteOffset, batch.count * ALERT_BYTES);
    // arrivalNs is performance.now() in ns (see #frame): the same clock here.
    const latencyS = (performance.now() - Number(batch.arrivalNs) / 1e6) / 1000;
    const named: NamedAlert[] = [];
    let lines = '';
    for (let i = 0; i < batch.count; i++) {
      const alert = decodeAlert(view, i * ALERT_BYTES);
      named.push({ alert, instrument: this.registry.name(alert.instrument) });
      this.#alertsOut.inc([alert.feature, alert.detector]);
      if (this.#sinks.length > 0) lines += formatAlert(alert, this.registry);
    }
    if (batch.count > 0) this.#alertLatency.observe(latencyS, batch.count);
    for (const sink of this.#sinks) sink.write(lines, batch.count);
    this.#subscribers.publish(named);
  }

  // ---- Subscribers --------------------------------------------------------------------------------------------
  #onSubscriberMessage(ws: WebSocket<SubscriberState>, message: ArrayBuffer, isBinary: boolean): void {
    const s = ws.getUserData();
    const r = decodeSubscribe(new Uint8Array(message), isBinary);
    const format = isBinary ? 'msgpack' : 'json';
    if ('code' in r) {
      this.#framesRejected.inc([r.code]);
      sendAs(ws, { t: 'error', ...r }, format);
      return;
    }
    if (!s.authorized) {
      if (r.token === undefined || !this.#tokenMatches(r.token)) {
        this.#framesRejected.inc(['unauthorized']);
        sendAs(ws, { t: 'error', code: 'unauthorized', message: r.token === undefined ? 'this server requires a token (subscribe.token or an Authorization: Bearer header)' : 'bad token' }, format);
        ws.end(4001, 'unauthorized');
        return;
      }
      s.authorized = true;
    }
    s.filter = r.filter;
    clearTimeout(s.helloTimer);
    this.#subscribers.add(ws);
    sendAs(ws, subscribedMessage(r.filter) as unknown as Record<string, unknown>, r.filter.format);
  }

  // ---- Control ------------------------------------------------------------------------------------------------
  #health(res: HttpResponse): void {
    const p = this.pool.stats();
    json(res, '200 OK', {
      status: this.#draining ? 'draining' : 'ok',
      protocol: PROTOCOL_VERSION,
      uptimeS: Math.round((Date.now() - this.#startedMs) / 1000),
      workers: p.workers, shards: p.shards, instruments: this.registry.size,
      producers: this.#producers.size, subscribers: this.#subscribers.size,
      eventsAccepted: this.#eventsIn.get(), eventsProcessed: p.eventsProcessed, queuedEvents: p.queuedEvents,
      alerts: p.engine.alerts,
    });
  }

  #httpAuthorized(res: HttpResponse, req: HttpRequest): boolean {
    if (this.options.token === undefined || this.#tokenMatches(bearer(req.getHeader('authorization')))) return true;
    json(res, '401 Unauthorized', { error: 'this endpoint needs the server token: Authorization: Bearer <token>' });
    return false;
  }

  #tokenMatches(given: string | undefined): boolean {
    const want = this.options.token;
    if (want === undefined) return true;
    if (given === undefined) return false;
    // Hashes compare in constant time whatever the lengths (comparing the tokens themselves would leak the length).
    return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(want).digest());
  }

  /**
   * Write a checkpoint (every shard's arena, the registry, the producers' stream positions) to `path`
   * atomically (a temporary file renamed over it). Waits for queued events to be processed first.
   */
  async checkpoint(path = this.options.checkpointPath): Promise<{ path: string; bytes: number; events: number }> {
    // One checkpoint at a time; a second request waits for the first and then writes its own.
    while (this.#checkpointing) await this.#checkpointing.catch(() => {});
    const run = (async () => {
      const meta: CheckpointMeta = {
        atc: 'sidecar',
        names: this.registry.toJSON(),
        instruments: this.catalog.toJSON(),
        streams: [...this.#streams.values()].filter((s) => s.name !== undefined).map((s) => ({ name: s.name!, nextSeq: s.nextSeq, events: s.events })),
      };
      // The checkpoint holds every event accepted before this call.
      const events = this.pool.nextAccept;
      const bytes = await this.pool.checkpoint(meta);
      const tmp = `${path}.tmp-${process.pid}`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
      this.#log.info('checkpoint written', { path, bytes: bytes.byteLength });
      return { path, bytes: bytes.byteLength, events };
    })();
    this.#checkpointing = run;
    try {
      return await run;
    } finally {
      this.#checkpointing = null;
    }
  }

  /**
   * Stop: refuse new connections and frames, process everything accepted, deliver its alerts, optionally write a
   * checkpoint, close every connection and the pool.
   */
  stop(opts: { checkpoint?: boolean } = {}): Promise<void> {
    // A second call (a second signal) waits for the first rather than returning early.
    return (this.#stopping ??= this.#stop(opts));
  }

  async #stop(opts: { checkpoint?: boolean }): Promise<void> {
    this.#draining = true;
    clearInterval(this.#checkpointTimer);
    if (this.#listen) { uWS.us_listen_socket_close(this.#listen); this.#listen = null; }
    await this.pool.drain();
    if (opts.checkpoint) await this.checkpoint();
    for (const ws of this.#producers) ws.end(1001, 'server shutting down');
    this.#closeSubscribers();
    await this.pool.close();
    for (const sink of this.#sinks) await sink.close();
    this.#live.s = null;
    this.#log.info('stopped', { events: this.#eventsIn.get(), alerts: this.#alertsOut.total() });
  }

  #closeSubscribers(): void {
    // Ending a socket runs #onClose, which removes it from the hub: iterate over a copy.
    for (const ws of this.#subscribers.sockets()) ws.end(1001, 'server shutting down');
  }
}

function helloRequired(): ProtocolError {
  return { code: 'helloRequired', message: 'send a hello first (docs/protocol.md)' };
}

function bearer(header: string): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}


function sendAs(ws: WebSocket<SubscriberState>, msg: Record<string, unknown>, format: 'json' | 'msgpack'): void {
  if (ws.getUserData().closed) return;
  if (format === 'json') ws.send(JSON.stringify(msg), false);
  else ws.send(encodeServerMessage(msg as unknown as ServerMessage), true);
}

function json(res: HttpResponse, status: string, body: unknown): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  });
}

/** Read a request body of at most `limit` bytes; `done(null)` when it is larger (the rest is not buffered). */
function readBody(res: HttpResponse, limit: number, done: (body: string | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  let aborted = false;
  res.onAborted(() => { aborted = true; });
  res.onData((chunk, isLast) => {
    if (aborted || over) return;
    size += chunk.byteLength;
    if (size > limit) {
      // Answer at once and stop reading: a client trickling a huge body must not hold memory or the socket.
      over = true;
      done(null);
      res.close();
      return;
    }
    chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast) done(Buffer.concat(chunks).toString('utf8'));
  });
}

/**
 * A PUT /thresholds body: either a map of channel selectors to settings (the configuration's `thresholds`), or a
 * configuration (an `atc calibrate --out` file) recognised by a `thresholds` or `instruments` key. Of a
 * configuration only those two apply live; its other known options are listed as ignored, unknown ones refused.
 */
export function thresholdsBody(update: Record<string, unknown>): { thresholds?: Record<string, unknown>; instruments?: InstrumentThresholds; ignored: string[] } {
  if (!('thresholds' in update) && !('instruments' in update)) return { thresholds: update, ignored: [] };
  const known = [...Object.keys(defaultConfig()), 'server'];
  for (const key of Object.keys(update)) {
    if (!known.includes(key)) throw new ConfigError(key, `unknown option (known: ${known.join(', ')})`);
  }
  const t = update.thresholds;
  if (t !== undefined && (typeof t !== 'object' || t === null || Array.isArray(t))) throw new ConfigError('thresholds', 'must be an object');
  return {
    thresholds: t as Record<string, unknown> | undefined,
    instruments: update.instruments === undefined ? undefined : parseInstruments(update.instruments),
    ignored: Object.keys(update).filter((k) => k !== 'thresholds' && k !== 'instruments'),
  };
}

function checkMeta(meta: unknown): CheckpointMeta {
  const m = meta as Partial<CheckpointMeta> | null;
  if (!m || m.atc !== 'sidecar' || !Array.isArray(m.names) || !Array.isArray(m.instruments) || !Array.isArray(m.streams)) {
    throw new Error('checkpoint: not a sidecar checkpoint (its metadata lacks the instrument registry or producer streams)');
  }
  return m as CheckpointMeta;
}
