// The baseline the sidecar is measured against: what a user would write instead of running atc's sidecar. A plain
// `ws` WebSocketServer, msgpackr to decode, and one in-process Engine on the main thread (src/engine.ts), speaking
// just enough of the sidecar's protocol (docs/protocol.md) for the same load generator (bench/loadgen.ts) to drive
// it: hello -> welcome (with a window so large it never binds), register -> registered, cols/rows -> decode, copy
// into the engine's batch region, ingest, then `ack` and `processed` (ingest is synchronous, so each frame is
// processed by the time it is acked).
//
// It checks what such a server must check not to crash or corrupt memory (frame seq, column lengths, field types)
// and leaves value checks to the engine, which refuses bad events by its own status codes. It is a fair, careful
// baseline, not a straw man: the columns are copied into WASM memory with one memcpy each, alerts are decoded.
//
// `node dist/bench/ws-baseline.js [--port 8788]` runs it alone; bench/sidecar.ts starts it in-process.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { Packr, Unpackr } from 'msgpackr';
import { ALERT_BYTES, N_FIELDS } from '../src/abi.js';
import { decodeAlert, Engine } from '../src/engine.js';
import { Registry } from '../src/registry.js';

const KINDS: Record<string, number> = { trade: 1, quote: 2, mark: 3, option: 4, value: 5 };
const FIELDS: string[][] = [
  [], ['price', 'size', 'side'], ['bid', 'bidSize', 'ask', 'askSize', 'bidDepth', 'askDepth'],
  ['mark', 'index', 'funding'], ['markIv', 'underlying', 'markPrice', 'bidIv', 'askIv'], ['value'],
];
const MAX_FRAME_EVENTS = 65_536;
/** Credit granted ahead of what was accepted: large enough never to bind (the baseline has no queue to protect). */
const WINDOW = 1 << 30;

export interface Baseline {
  url: string;
  port: number;
  stats(): { frames: number; events: number; alerts: number; errors: number; rejected: number };
  stop(): Promise<void>;
}

interface Conn { hello: boolean; nextSeq: number; events: number }

export async function startBaseline(opts: { host?: string; port?: number; config?: unknown } = {}): Promise<Baseline> {
  const host = opts.host ?? '127.0.0.1';
  const engine = Engine.create({ autoRegister: true, ...(opts.config as object | undefined) }, { batchCapacity: MAX_FRAME_EVENTS });
  const registry = new Registry();
  const unpackr = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true });
  const packr = new Packr({ useRecords: false });
  let frames = 0, events = 0, alerts = 0, errors = 0;

  // Byte views over the batch region, so that each wire column goes in with one copy.
  const r = engine.region();
  const bytes = (a: ArrayBufferView, n: number) => new Uint8Array(a.buffer, a.byteOffset, n);
  const tsBytes = bytes(r.tsNs, 8 * MAX_FRAME_EVENTS), seqBytes = bytes(r.seq, 8 * MAX_FRAME_EVENTS);
  const instBytes = bytes(r.instrument, 4 * MAX_FRAME_EVENTS);
  const fBytes = r.f.map((c) => bytes(c, 8 * MAX_FRAME_EVENTS));
  const onAlerts = (view: DataView, count: number) => {
    for (let i = 0; i < count; i++) decodeAlert(view, i * ALERT_BYTES);
    alerts += count;
  };

  const send = (ws: WebSocket, msg: Record<string, unknown>) => ws.send(packr.pack(msg), { binary: true });
  const fail = (ws: WebSocket, code: string, message: string, seq?: number) => {
    errors++;
    send(ws, seq === undefined ? { t: 'error', code, message } : { t: 'error', code, message, seq });
  };
  const isBin = (x: unknown, len: number): x is Uint8Array => x instanceof Uint8Array && x.byteLength === len;

  /** Copy a cols frame into the region; an error message, or null. */
  const cols = (m: Record<string, unknown>, n: number): string | null => {
    if (!isBin(m.ts, 8 * n) || !isBin(m.instrument, 4 * n) || !isBin(m.kind, n)) return 'ts, instrument and kind must be binaries of 8n, 4n and n bytes';
    tsBytes.set(m.ts);
    instBytes.set(m.instrument);
    const kind = m.kind, k32 = r.kind;
    for (let i = 0; i < n; i++) k32[i] = kind[i];
    if (m.eseq === undefined) r.seq.fill(-1n, 0, n);
    else if (isBin(m.eseq, 8 * n)) seqBytes.set(m.eseq);
    else return 'eseq must be a binary of 8n bytes';
    for (let k = 0; k < N_FIELDS; k++) {
      const c = m[`f${k}`];
      if (c === undefined) r.f[k].fill(NaN, 0, n);
      else if (isBin(c, 8 * n)) fBytes[k].set(c);
      else return `f${k} must be a binary of 8n bytes`;
    }
    return null;
  };

  /** Copy a rows frame into the region; an error message, or null. */
  const rows = (list: unknown[]): string | null => {
    const n = list.length;
    for (let i = 0; i < n; i++) {
      const row = list[i] as Record<string, unknown>;
      const kind = KINDS[row.kind as string];
      if (kind === undefined) return `event ${i}: unknown kind ${String(row.kind)}`;
      r.kind[i] = kind;
      const ts = row.ts;
      r.tsNs[i] = typeof ts === 'bigint' ? ts : typeof ts === 'number' || typeof ts === 'string' ? BigInt(ts) : -1n;
      const inst = row.instrument;
      const id = typeof inst === 'number' ? inst : typeof inst === 'string' && registry.has(inst) ? registry.id(inst) : -1;
      if (id < 0) return `event ${i}: unknown instrument ${String(inst)}`;
      r.instrument[i] = id;
      const seq = row.seq;
      r.seq[i] = typeof seq === 'bigint' ? seq : typeof seq === 'number' ? BigInt(seq) : -1n;
      const names = FIELDS[kind];
      for (let k = 0; k < N_FIELDS; k++) {
        const x = k < names.length ? row[names[k]] : undefined;
        r.f[k][i] = typeof x === 'number' ? x : NaN;
      }
    }
    return null;
  };

  const onMessage = (ws: WebSocket, c: Conn, data: Buffer) => {
    let m: Record<string, unknown>;
    try { m = unpackr.unpack(data) as Record<string, unknown>; } catch (err) { return fail(ws, 'badMsgpack', (err as Error).message); }
    if (m.t === 'hello') {
      c.hello = true;
      return send(ws, { t: 'welcome', v: 1, nextSeq: c.nextSeq, events: c.events, window: c.events + WINDOW, maxFrameBytes: 8 << 20, maxFrameEvents: MAX_FRAME_EVENTS });
    }
    if (!c.hello) return fail(ws, 'helloRequired', 'send a hello first');
    if (m.t === 'register') {
      const list = m.instruments as { name: string }[];
      return send(ws, { t: 'registered', ids: list.map((i) => registry.id(i.name)) });
    }
    if (m.t !== 'cols' && m.t !== 'rows') return fail(ws, 'unknownType', `unknown message type ${String(m.t)}`);
    const seq = Number(m.seq);
    if (seq !== c.nextSeq) return fail(ws, 'sequenceGap', `frame seq ${seq} but ${c.nextSeq} expected`, seq);
    const list = m.t === 'rows' ? m.rows as unknown[] : null;
    const n = list ? list.length : Number(m.n);
    if (!(n >= 0 && n <= MAX_FRAME_EVENTS)) return fail(ws, 'frameTooLarge', `n ${n}`, seq);
    const problem = list ? rows(list) : cols(m, n);
    if (problem) return fail(ws, 'badMessage', problem, seq);
    engine.ingestRegion(n, onAlerts);
    c.nextSeq++;
    c.events += n;
    frames++;
    events += n;
    send(ws, { t: 'ack', seq, n, events: c.events, window: c.events + WINDOW });
    send(ws, { t: 'processed', seq });
  };

  const wss = new WebSocketServer({ host, port: opts.port ?? 0, path: '/ingest', perMessageDeflate: false, maxPayload: 16 << 20 });
  wss.on('connection', (ws) => {
    const c: Conn = { hello: false, nextSeq: 0, events: 0 };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return fail(ws, 'badMessage', 'binary msgpack messages only');
      onMessage(ws, c, data);
    });
  });
  await new Promise<void>((resolve, reject) => { wss.once('listening', resolve); wss.once('error', reject); });
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://${host}:${port}`,
    port,
    stats: () => ({ frames, events, alerts, errors, rejected: Object.values(engine.counters().rejected).reduce((a, b) => a + b, 0) }),
    stop: () => new Promise<void>((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => resolve());
    }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8788' }, host: { type: 'string', default: '127.0.0.1' } } });
  startBaseline({ host: values.host, port: Number(values.port) }).then((b) => {
    console.error(`ws baseline listening on ${b.url}/ingest`);
    const stop = () => { void b.stop().then(() => { console.error(JSON.stringify(b.stats())); process.exit(0); }); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }, (err) => { console.error(err); process.exit(1); });
}
