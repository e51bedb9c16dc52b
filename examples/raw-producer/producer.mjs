// A producer and a subscriber for the atc sidecar, written from docs/protocol.md
// ("The sidecar WebSocket protocol (version 1)") alone, with only `ws` and `msgpackr`.
//
//   node examples/raw-producer/producer.mjs PORT [PRODUCER_NAME]
//
// Producer on ws://127.0.0.1:PORT/ingest: hello (named, notify) -> register 2 instruments ->
// 20 `cols` frames of 500 trades and quotes (pipelined within the credit window) with one
// deliberately bad frame (a NaN price) refused and resent under the same seq -> 2 `rows`
// frames -> waits for `processed` of the last frame.
// Subscriber on ws://127.0.0.1:PORT/alerts (JSON text) counts the alerts meanwhile.
// Prints one JSON summary line on stdout; exit code 0 when everything went as the docs say.

import WebSocket from 'ws';
import { Packr, Unpackr } from 'msgpackr';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node producer.mjs PORT [PRODUCER_NAME]');
  process.exit(2);
}
const producerName = process.argv[3] ?? `raw-producer-${process.pid}`;
const base = `ws://127.0.0.1:${port}`;

const FRAMES = 20;
const EVENTS_PER_FRAME = 500;
const BAD_FRAME = 10; // the 11th cols frame is first sent with one NaN price
const TIMEOUT_MS = 12_000;

// Plain msgpack maps only (no msgpackr records/extensions). The server's counters may be
// int64/uint64: 'auto' decodes them as numbers when they fit in 2^53.
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' });
const encode = (m) => packr.pack(m);
const decode = (buf) => unpackr.unpack(buf);
const int = (v) => (typeof v === 'bigint' ? Number(v) : v);

const summary = {
  acked: 0, // frames acked (not duplicates)
  events: 0, // the server's cumulative accepted count (last ack.events)
  processed: 0, // events covered by `processed` messages
  errors: [], // error codes received, in order
  alerts: 0, // alerts received by the subscriber
  sent: 0, // events we intended to deliver (good frames only)
  frames: 0, // cols + rows frames we intended to deliver
  lastSeq: -1,
  processedSeq: -1,
  nanError: null, // the refusal of the bad frame {code, seq, index, field, message}
  resendAccepted: false,
  creditWaits: 0,
  dropped: 0,
  health: null,
};

const fail = (why) => {
  summary.failure = String(why?.stack ?? why);
  console.log(JSON.stringify(summary));
  process.exit(1);
};
const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS);

function open(path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + path);
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// Subscriber: JSON text subscribe, everything (no filters), counts alerts.
// ---------------------------------------------------------------------------------------------
const sub = await open('/alerts');
const subscribed = new Promise((resolve, reject) => {
  sub.on('message', (data, isBinary) => {
    const m = isBinary ? decode(data) : JSON.parse(String(data));
    if (m.t === 'subscribed') resolve(m);
    else if (m.t === 'alerts') {
      summary.alerts += m.alerts.length;
      summary.dropped = int(m.dropped);
    } else if (m.t === 'error') reject(new Error(`subscriber error ${m.code}: ${m.message}`));
  });
  sub.on('close', (code) => reject(new Error(`subscriber closed ${code}`)));
});
sub.send(JSON.stringify({ t: 'subscribe' })); // text message -> replies in JSON
await subscribed;
const health = async () => (await fetch(`http://127.0.0.1:${port}/health`)).json();
const alertsBefore = (await health()).alerts; // the server's count when we subscribed

// ---------------------------------------------------------------------------------------------
// Producer connection: every hello/register/cols/rows gets exactly one reply, in order, so a
// FIFO of waiters matches replies; `credit` and `processed` are extra.
// ---------------------------------------------------------------------------------------------
const ws = await open('/ingest');
const pending = []; // {resolve, seq?}
let window = 0;
let sentEvents = 0; // events of frames sent and not refused (the credit rule)
let windowWaiter = null;
let processedWaiter = null;
const ackedN = new Map(); // seq -> n, for frames acked

function raiseWindow(w) {
  w = int(w);
  if (w > window) window = w; // only grows within a connection
  if (windowWaiter) { const r = windowWaiter; windowWaiter = null; r(); }
}

ws.on('message', (data, isBinary) => {
  if (!isBinary) return fail('text message on /ingest');
  const m = decode(data);
  switch (m.t) {
    case 'credit':
      raiseWindow(m.window);
      return;
    case 'processed': {
      const seq = int(m.seq);
      if (seq > summary.processedSeq) summary.processedSeq = seq;
      if (processedWaiter && summary.processedSeq >= processedWaiter.seq) processedWaiter.resolve();
      return;
    }
    case 'ack':
      raiseWindow(m.window);
      summary.events = int(m.events);
      if (!m.duplicate) { summary.acked++; ackedN.set(int(m.seq), int(m.n)); }
      break;
    case 'welcome':
      raiseWindow(m.window);
      break;
    case 'error':
      summary.errors.push(m.code);
      break;
  }
  const w = pending.shift();
  if (!w) return fail(`unsolicited ${m.t}: ${JSON.stringify(m)}`);
  w.resolve(m);
});
ws.on('close', (code) => fail(`producer connection closed ${code}`));

/** Sends a message and returns the promise of its (in-order) reply. */
function request(msg, extra = {}) {
  const p = new Promise((resolve) => pending.push({ resolve, ...extra }));
  ws.send(encode(msg), { binary: true });
  return p;
}

const welcome = await request({ t: 'hello', v: 1, producer: producerName, notify: true });
if (welcome.t !== 'welcome') fail(`hello refused: ${JSON.stringify(welcome)}`);
let seq = int(welcome.nextSeq); // 0 on a new stream
sentEvents = int(welcome.events);
summary.resumed = { nextSeq: seq, events: sentEvents }; // non-zero when the name was used before
const maxFrameEvents = int(welcome.maxFrameEvents);
if (EVENTS_PER_FRAME > maxFrameEvents) fail(`maxFrameEvents ${maxFrameEvents} < ${EVENTS_PER_FRAME}`);

const names = ['RAW-BTC', 'RAW-ETH'];
const registered = await request({
  t: 'register',
  instruments: [
    { name: names[0], kind: 'perpetual', tickSize: 0.1 },
    { name: names[1], kind: 'perpetual', tickSize: 0.01 },
  ],
});
if (registered.t !== 'registered') fail(`register refused: ${JSON.stringify(registered)}`);
const ids = registered.ids.map(int);

// ---------------------------------------------------------------------------------------------
// Synthetic market: a random walk per instrument with rare jumps, trades and quotes alternating.
// Timestamps are ns since the epoch, increasing by 1 ms per event (from now: reruns against the
// same server never go back in time).
// ---------------------------------------------------------------------------------------------
let rng = 12345;
const rand = () => ((rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) / 2 ** 32);
let ts = BigInt(Date.now()) * 1_000_000n;
const mid = [60000, 3000];
const spreadTicks = [0.1, 0.01];

function nextEvent() {
  ts += 1_000_000n;
  const k = Math.floor(rand() * 2); // instrument index
  const jump = rand() < 0.002 ? (rand() < 0.5 ? -1 : 1) * 0.01 : 0;
  mid[k] *= 1 + (rand() - 0.5) * 2e-4 + jump;
  const isTrade = rand() < 0.5;
  const half = spreadTicks[k] * (1 + Math.floor(rand() * 3));
  if (isTrade) {
    const side = rand() < 0.5 ? 1 : -1;
    return { ts, k, kind: 1, f: [mid[k] + side * half, rand() * 2 + 0.001, side, NaN] };
  }
  return { ts, k, kind: 2, f: [mid[k] - half, rand() * 5, mid[k] + half, rand() * 5] };
}

/** A `cols` frame: each column a msgpack bin (Buffer) of exactly its bytes per event times n. */
function colsFrame(frameSeq, evs) {
  const n = evs.length;
  const tsCol = Buffer.alloc(8 * n);
  const idCol = Buffer.alloc(4 * n);
  const kindCol = Buffer.alloc(n);
  const f = [0, 1, 2, 3].map(() => Buffer.alloc(8 * n));
  evs.forEach((e, i) => {
    tsCol.writeBigInt64LE(e.ts, 8 * i);
    idCol.writeUInt32LE(ids[e.k], 4 * i);
    kindCol.writeUInt8(e.kind, i);
    for (let c = 0; c < 4; c++) f[c].writeDoubleLE(e.f[c], 8 * i); // NaN where a kind has no field
  });
  // f4/f5 (quote depths) are absent for every event: left out.
  return { t: 'cols', seq: frameSeq, n, ts: tsCol, instrument: idCol, kind: kindCol, f0: f[0], f1: f[1], f2: f[2], f3: f[3] };
}

/** A `rows` frame: canonical events as maps, ts as int64 (bigint), instruments by name. */
function rowsFrame(frameSeq, evs) {
  const rows = evs.map((e) =>
    e.kind === 1
      ? { ts: e.ts, instrument: names[e.k], kind: 'trade', price: e.f[0], size: e.f[1], side: e.f[2] === 1 ? 'buy' : 'sell' }
      : { ts: e.ts, instrument: names[e.k], kind: 'quote', bid: e.f[0], bidSize: e.f[1], ask: e.f[2], askSize: e.f[3] });
  return { t: 'rows', seq: frameSeq, rows };
}

/**
 * Waits until `n` more events fit in the window, then sends the frame. Resolves once the frame is
 * sent (so frames leave in seq order) to `{ reply }`, the promise of the server's answer.
 */
async function sendFrame(msg, n) {
  while (sentEvents + n > window) {
    summary.creditWaits++;
    await new Promise((r) => { windowWaiter = r; });
  }
  sentEvents += n;
  const reply = request(msg, { seq: msg.seq }).then((m) => {
    if (m.t === 'error') sentEvents -= n; // a refused frame gives its events back
    return m;
  });
  return { reply };
}

const expectAck = (frameSeq) => (reply) => {
  if (reply.t !== 'ack' || int(reply.seq) !== frameSeq) fail(`frame ${frameSeq}: ${JSON.stringify(reply)}`);
};

const inflight = [];
for (let i = 0; i < FRAMES; i++) {
  const evs = Array.from({ length: EVENTS_PER_FRAME }, nextEvent);
  const frameSeq = seq;
  if (i === BAD_FRAME) {
    // Drain the pipeline first so that the refusal is not followed by sequenceGap refusals
    // of frames already in flight.
    await Promise.all(inflight.splice(0));
    const bad = evs.findIndex((e, j) => j >= 17 && e.kind === 1);
    const broken = colsFrame(frameSeq, evs.map((e, j) => (j === bad ? { ...e, f: [NaN, ...e.f.slice(1)] } : e)));
    const reply = await (await sendFrame(broken, evs.length)).reply;
    summary.nanError = reply.t === 'error'
      ? { code: reply.code, seq: int(reply.seq), index: int(reply.index), field: reply.field, message: reply.message, expectedIndex: bad }
      : { unexpected: reply };
    // Same seq again, fixed: a refused frame does not consume its seq.
    const again = await (await sendFrame(colsFrame(frameSeq, evs), evs.length)).reply;
    summary.resendAccepted = again.t === 'ack' && int(again.seq) === frameSeq && int(again.n) === evs.length;
    if (!summary.resendAccepted) fail(`resend of ${frameSeq}: ${JSON.stringify(again)}`);
  } else {
    inflight.push((await sendFrame(colsFrame(frameSeq, evs), evs.length)).reply.then(expectAck(frameSeq)));
  }
  summary.sent += evs.length;
  summary.frames++;
  seq++;
}

for (const size of [7, 13]) {
  const evs = Array.from({ length: size }, nextEvent);
  const frameSeq = seq++;
  inflight.push((await sendFrame(rowsFrame(frameSeq, evs), evs.length)).reply.then(expectAck(frameSeq)));
  summary.sent += evs.length;
  summary.frames++;
}
await Promise.all(inflight);
summary.lastSeq = seq - 1;

// `processed` of the last frame: every event has gone through the engine, alerts emitted.
if (summary.processedSeq < summary.lastSeq) {
  await new Promise((resolve) => { processedWaiter = { seq: summary.lastSeq, resolve }; });
}
for (const [s, n] of ackedN) if (s <= summary.processedSeq) summary.processed += n;

// Alerts are pushed to the subscriber asynchronously: wait until it has seen (or been told it
// dropped) as many as the server says it raised since we subscribed, at most 2 s.
for (let t0 = Date.now(); Date.now() - t0 < 2000;) {
  const h = await health();
  summary.health = { eventsAccepted: h.eventsAccepted, eventsProcessed: h.eventsProcessed, alerts: h.alerts };
  if (summary.alerts + summary.dropped >= h.alerts - alertsBefore) break;
  await new Promise((r) => setTimeout(r, 50));
}

clearTimeout(timer);
ws.removeAllListeners('close');
sub.removeAllListeners('close');
ws.close(1000);
sub.close(1000);
console.log(JSON.stringify(summary));
const ok = summary.acked === summary.frames && summary.events - summary.resumed.events === summary.sent
  && summary.processed === summary.sent && summary.nanError?.code === 'nonFinite' && summary.resendAccepted;
process.exitCode = ok ? 0 : 1;
