// The sidecar over real WebSocket connections on 127.0.0.1: protocol round trip, alerts equal to a plain engine's,
// malformed frames, flow control, slow subscribers, worker death, live thresholds, checkpoint and restore.
import { afterEach, describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import WebSocket from 'ws';
import { ProducerClient } from '../src/client/producer.js';
import { Engine } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import { FrameEncoder } from '../src/protocol/encode.js';
import type { Sidecar } from '../src/server/sidecar.js';
import { marketStream } from './helpers/streams.js';
import { alertKey, httpUrl, rawProducer, referenceAlerts, sleep, startSidecar, subscribe, until } from './helpers/sidecar.js';

const NAMES = ['BTC-PERP', 'ETH-PERP', 'SOL-PERP', 'BTC-27SEP24-60000-C'];
const running: Sidecar[] = [];
async function start(...args: Parameters<typeof startSidecar>): Promise<Sidecar> {
  const s = await startSidecar(...args);
  running.push(s);
  return s;
}
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop().catch(() => {});
});

function stream(n = 20_000, seed = 7): EventBatch {
  return marketStream({ seed, instruments: [0, 1, 2, 3], n, jumps: [4000, 9000, 15_000, 18_000] });
}

async function producer(s: Sidecar, opts: Parameters<typeof ProducerClient.connect>[1] = {}): Promise<ProducerClient> {
  const c = await ProducerClient.connect(s.url, opts);
  const ids = await c.register(NAMES.map((name) => ({ name })));
  expect(ids).toEqual([0, 1, 2, 3]);
  return c;
}

async function sendAll(c: ProducerClient, b: EventBatch, frame = 1000): Promise<void> {
  for (let i = 0; i < b.length; i += frame) {
    const part = b.slice(i, Math.min(b.length, i + frame));
    await c.ready(part.length);
    c.sendColsNow(part).catch(() => {});
  }
  await c.flush();
}

describe('sidecar: protocol round trip', () => {
  it('takes columnar frames, acks each, and streams the alerts a plain engine raises, byte for byte', async () => {
    const s = await start({ workers: 2 });
    const sub = await subscribe(s);
    const c = await producer(s);
    expect(c.welcome).toMatchObject({ v: 1, nextSeq: 0, events: 0 });
    expect(c.welcome.window).toBeGreaterThan(0);
    const b = stream();
    const want = referenceAlerts(b);
    expect(want.length).toBeGreaterThan(3);
    const acks: number[] = [];
    c.onAck = (ack) => acks.push(ack.seq);
    await sendAll(c, b);
    expect(acks).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await sub.waitFor(want.length);
    await sleep(100);
    const got = sub.alerts.map((a) => alertKey(a as never)).sort();
    expect(got).toEqual(want.map((a) => alertKey(a)).sort());
    expect(sub.alerts[0]).toHaveProperty('instrument');
    expect(NAMES).toContain(sub.alerts[0].instrument);
    await c.close();
    await sub.close();
  });

  it('row frames (plain msgpack maps and msgpackr records) give the same alerts as columnar frames', async () => {
    const b = stream(8000, 11);
    const want = referenceAlerts(b).map((a) => alertKey(a)).sort();
    expect(want.length).toBeGreaterThan(0);
    for (const useRecords of [false, true]) {
      const s = await start();
      const sub = await subscribe(s);
      const c = await producer(s);
      const kinds = ['', 'trade', 'quote', 'mark', 'option', 'value'];
      const fields: Record<string, string[]> = {
        trade: ['price', 'size', 'side'], quote: ['bid', 'bidSize', 'ask', 'askSize', 'bidDepth', 'askDepth'],
        mark: ['mark', 'index', 'funding'], option: ['markIv', 'underlying', 'markPrice', 'bidIv', 'askIv'], value: ['value'],
      };
      for (let i = 0; i < b.length; i += 500) {
        const rows = [];
        for (let k = i; k < Math.min(b.length, i + 500); k++) {
          const kind = kinds[b.kind[k]];
          const row: Record<string, unknown> = { ts: b.tsNs[k], instrument: NAMES[b.instrument[k]], kind };
          fields[kind].forEach((f, j) => { if (!Number.isNaN(b.f[j][k])) row[f] = b.f[j][k]; });
          rows.push(row);
        }
        await c.sendRows(rows, useRecords);
      }
      await sub.waitFor(want.length);
      await sleep(100);
      expect(sub.alerts.map((a) => alertKey(a as never)).sort()).toEqual(want);
      await c.close();
      await sub.close();
    }
  });

  it('a frame resent after its ack is acknowledged as a duplicate and not processed twice', async () => {
    const s = await start();
    const c = await producer(s, { producer: 'feed-a' });
    const b = stream(2000);
    await c.sendCols(b.slice(0, 1000));
    const raw = new FrameEncoder().cols(0, b.slice(0, 1000));
    const replies: Record<string, unknown>[] = [];
    // Resend frame 0 on a fresh connection of the same producer.
    await c.close();
    const c2 = await ProducerClient.connect(s.url, { producer: 'feed-a' });
    expect(c2.welcome.nextSeq).toBe(1);
    expect(c2.welcome.events).toBe(1000);
    c2.onAck = (ack) => replies.push(ack as never);
    c2.sendRaw(raw);
    await until(() => replies.length > 0, 5000, 'duplicate ack');
    expect(replies[0]).toMatchObject({ seq: 0, duplicate: true, n: 0 });
    await s.pool.drain();
    expect(s.pool.stats().eventsProcessed).toBe(1000);
    await c2.close();
  });
});

describe('sidecar: index-only marks', () => {
  it('cols and rows frames carrying marks with index only, mark only and both are acked and processed; neither is refused', async () => {
    const s = await start();
    const { ws, next } = await rawProducer(s);
    const enc = new FrameEncoder();
    ws.send(enc.hello({ v: 1 }));
    expect(await next()).toMatchObject({ t: 'welcome', nextSeq: 0 });
    ws.send(enc.register([{ name: 'BTC-PERP', kind: 'perpetual' }]));
    expect(await next()).toMatchObject({ t: 'registered', ids: [0] });

    // Quotes around an index that moves with them; the marks carry the index only, the mark only, or both.
    const T0 = 1_723_161_600_000_000_000n;
    const b = new EventBatch(400);
    for (let i = 0; i < 200; i++) {
      const ts = T0 + BigInt(i) * 100_000_000n;
      const mid = 60_000 + 10 * Math.sin(i / 7);
      b.quote(0, ts, mid - 0.05, 1, mid + 0.05, 1);
      if (i % 3 === 0) b.mark(0, ts + 1n, NaN, mid - 2);
      else if (i % 3 === 1) b.mark(0, ts + 1n, mid + 0.01);
      else b.mark(0, ts + 1n, mid + 0.01, mid - 2, 0.0001);
    }
    const half = b.length >> 1;
    ws.send(enc.cols(0, b.slice(0, half)));
    expect(await next()).toMatchObject({ t: 'ack', seq: 0, n: half });
    const names = ['', 'trade', 'quote', 'mark'];
    const fields: Record<string, string[]> = { quote: ['bid', 'bidSize', 'ask', 'askSize'], mark: ['mark', 'index', 'funding'] };
    const rows = [];
    for (let k = half; k < b.length; k++) {
      const kind = names[b.kind[k]];
      const row: Record<string, unknown> = { ts: b.tsNs[k], instrument: 'BTC-PERP', kind };
      fields[kind].forEach((f, j) => { if (!Number.isNaN(b.f[j][k])) row[f] = b.f[j][k]; });
      rows.push(row);
    }
    expect(rows.filter((r) => r.kind === 'mark' && !('mark' in r)).length).toBeGreaterThan(30);
    ws.send(enc.rows(1, rows));
    expect(await next()).toMatchObject({ t: 'ack', seq: 1, n: b.length - half });

    // Neither mark nor index: refused whole, by name, through cols and through rows; a bad index by value.
    const T1 = T0 + 1_000_000_000_000n;
    const none = new EventBatch(2); none.quote(0, T1, 1, 1, 2, 1); none.mark(0, T1 + 1n, NaN, NaN, 0.0001);
    ws.send(enc.cols(2, none));
    expect(await next()).toMatchObject({ t: 'error', code: 'missingField', seq: 2, index: 1, field: 'mark', message: 'event 1 (mark): a mark event needs mark or index' });
    ws.send(enc.rows(2, [{ ts: T1, instrument: 'BTC-PERP', kind: 'mark', funding: 0.0001 }]));
    expect(await next()).toMatchObject({ t: 'error', code: 'missingField', seq: 2, index: 0, message: 'event 0: a mark event needs mark or index' });
    ws.send(enc.rows(2, [{ ts: T1, instrument: 'BTC-PERP', kind: 'mark', index: Infinity }]));
    expect(await next()).toMatchObject({ t: 'error', code: 'nonFinite', field: 'index' });
    ws.send(enc.rows(2, [{ ts: T1, instrument: 'BTC-PERP', kind: 'mark', index: -1 }]));
    expect(await next()).toMatchObject({ t: 'error', code: 'badValue', field: 'index' });

    // Every event of the two frames reached the engine and was taken: none rejected, none counted twice.
    await s.pool.drain();
    const stats = s.pool.stats();
    expect(stats.eventsProcessed).toBe(b.length);
    expect(stats.engine.accepted).toBe(b.length);
    expect(Object.values(stats.engine.rejected).every((v) => v === 0)).toBe(true);
    const metrics = await (await fetch(httpUrl(s, '/metrics'))).text();
    expect(metrics).toContain('atc_frames_rejected_total{code="missingField"} 2');
    ws.close();
  });
});

describe('sidecar: malformed input', () => {


  it('names the problem of every malformed frame, counts it, and keeps serving other connections', async () => {
    const s = await start();
    // A well-behaved producer streams throughout.
    const good = await producer(s);
    const b = stream(10_000);
    const goodDone = sendAll(good, b, 500);

    const { ws, next } = await rawProducer(s);
    const enc = new FrameEncoder();
    const frame = (seq: number, batch: EventBatch) => enc.cols(seq, batch);
    const one = new EventBatch(4);
    one.trade(0, 1_723_161_600_000_000_000n, 60_000, 1, 1);
    one.trade(1, 1_723_161_600_000_000_001n, 3_000, 1, -1);

    ws.send(frame(0, one));
    expect(await next()).toMatchObject({ t: 'error', code: 'helloRequired' });
    ws.send(new Uint8Array([0xc1, 0xff, 0x00]));
    expect(await next()).toMatchObject({ t: 'error', code: 'badMsgpack' });
    ws.send(enc.hello({ v: 2 }));
    expect(await next()).toMatchObject({ t: 'error', code: 'badVersion' });
    ws.send(enc.hello({ v: 1 }));
    expect(await next()).toMatchObject({ t: 'welcome', nextSeq: 0 });
    ws.send('{"t":"hello"}');
    expect(await next()).toMatchObject({ t: 'error', code: 'badMessage' });
    ws.send(pack({ t: 'teleport' }));
    expect(await next()).toMatchObject({ t: 'error', code: 'unknownType' });
    ws.send(pack({ t: 'cols', seq: 0, n: 2, ts: 'yesterday' }));
    expect(await next()).toMatchObject({ t: 'error', code: 'wrongType' });

    // Columns of unequal length.
    const good2 = frame(0, one);
    const { Unpackr } = await import('msgpackr');
    const decoded = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true }).unpack(good2) as Record<string, unknown>;
    ws.send(pack({ ...decoded, instrument: (decoded.instrument as Uint8Array).subarray(0, 4) }));
    const e1 = await next();
    expect(e1).toMatchObject({ t: 'error', code: 'badLength' });
    expect(String(e1.message)).toMatch(/instrument/);

    // NaN price.
    const nan = new EventBatch(2);
    nan.trade(0, 1_723_161_600_000_000_000n, NaN, 1, 1);
    ws.send(frame(0, nan));
    const e2 = await next();
    expect(e2).toMatchObject({ t: 'error', code: 'nonFinite', index: 0 });
    expect(String(e2.message)).toMatch(/price/);

    // Unknown instrument id.
    const unknown = new EventBatch(2);
    unknown.trade(77, 1_723_161_600_000_000_000n, 100, 1, 1);
    ws.send(frame(0, unknown));
    expect(await next()).toMatchObject({ t: 'error', code: 'unknownInstrument' });

    // Sequence gap, then the right seq is accepted (rejected frames did not consume it).
    ws.send(frame(5, one));
    const gap = await next();
    expect(gap).toMatchObject({ t: 'error', code: 'sequenceGap', seq: 5 });
    expect(String(gap.message)).toMatch(/0 expected/);
    ws.send(frame(0, one));
    expect(await next()).toMatchObject({ t: 'ack', seq: 0, n: 2 });

    await goodDone;
    await s.pool.drain();
    expect(s.pool.stats().eventsProcessed).toBe(10_000 + 2);
    const metrics = await (await fetch(httpUrl(s, '/metrics'))).text();
    for (const code of ['helloRequired', 'badMsgpack', 'badVersion', 'badMessage', 'unknownType', 'wrongType', 'badLength', 'nonFinite', 'unknownInstrument', 'sequenceGap']) {
      expect(metrics).toContain(`atc_frames_rejected_total{code="${code}"} 1`);
    }
    expect(metrics).toContain('atc_events_total 10002');
    ws.close();
    await good.close();
  });

  it('a producer that ignores credit gets noCredit, memory stays bounded, and what was accepted is processed', async () => {
    const s = await start({ maxQueuedEvents: 8192, producerWindow: 4096, chunkEvents: 512, maxFrameEvents: 1024 });
    const { ws, replies } = await rawProducer(s);
    const enc = new FrameEncoder();
    ws.send(enc.hello({ v: 1 }));
    ws.send(enc.register(NAMES.map((name) => ({ name }))));
    await until(() => replies.length >= 2, 5000, 'welcome and registered');
    expect(replies[0]).toMatchObject({ t: 'welcome', window: 4096 });
    const b = stream(60_000);
    // Blast 60 frames of 1000 events without waiting for anything; each frame carries the seq the server expects
    // next only if the previous one was accepted, so number them by what we believe was accepted: all of them.
    let maxQueued = 0;
    for (let i = 0; i < 60; i++) {
      ws.send(enc.cols(i, b.slice(i * 1000, (i + 1) * 1000)));
      maxQueued = Math.max(maxQueued, s.pool.stats().queuedEvents);
    }
    await until(() => replies.length >= 62, 10_000, 'a reply to every frame');
    const acks = replies.filter((r) => r.t === 'ack');
    const errors = replies.filter((r) => r.t === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['noCredit', 'sequenceGap']));
    expect(acks.length).toBeGreaterThan(0);
    expect(acks.length).toBeLessThan(60);
    await s.pool.drain();
    expect(maxQueued).toBeLessThanOrEqual(8192);
    expect(s.pool.stats().eventsProcessed).toBe(acks.length * 1000);
    ws.close();
  });
});

describe('sidecar: alerts out', () => {
  it('filters by instrument, feature, detector and severity', async () => {
    const s = await start();
    const all = await subscribe(s);
    const some = await subscribe(s, { instruments: ['ETH-PERP'], minSeverity: 2 });
    const c = await producer(s);
    const b = stream();
    const want = referenceAlerts(b);
    await sendAll(c, b);
    await all.waitFor(want.length);
    await sleep(200);
    const expected = want.filter((a) => a.instrument === 1 && a.severity >= 2).length;
    expect(some.alerts.length).toBe(expected);
    for (const a of some.alerts) { expect(a.instrument).toBe('ETH-PERP'); expect(a.severity).toBeGreaterThanOrEqual(2); }
    const bad = new WebSocket(`${s.url}/alerts`);
    await new Promise((r) => bad.once('open', r));
    const reply = new Promise<string>((r) => bad.once('message', (d: Buffer) => r(d.toString())));
    bad.send(JSON.stringify({ t: 'subscribe', features: ['sprad'] }));
    expect(JSON.parse(await reply)).toMatchObject({ t: 'error' });
    bad.close();
    await Promise.all([all.close(), some.close(), c.close()]);
  });

  it('a subscriber that does not read never slows ingestion: its alerts are dropped, counted, then it is cut off', async () => {
    // Many alerts (about one per two events): every channel static at 0.1, no floor, no cooldown.
    const config = { thresholdFloor: 0, suppression: { cooldownMs: 0, hysteresis: 1 }, thresholds: { default: { mode: 'static', threshold: 0.1 } } };
    const s = await start({ subscriberMaxBufferedBytes: 64 << 10, subscriberMaxDropped: 3 }, { config });
    const slow = await subscribe(s);
    const fast = await subscribe(s);
    // Stop reading: the kernel buffers fill, then uWebSockets.js buffers, then atc drops.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const closed = new Promise<number>((resolve) => slow.ws.once('close', (code) => resolve(code)));
    const c = await producer(s);
    const b = stream(100_000, 3);
    await sendAll(c, b);
    await s.pool.drain();
    expect(s.pool.stats().eventsProcessed).toBe(100_000);
    await until(() => fast.alerts.length > 1000, 10_000, 'alerts at the fast subscriber');
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    // The close frame (4008) queues behind the unread backlog; when the backlog is past uWebSockets.js's own limit
    // the socket is cut without one (1006). Either way it is closed, and counted.
    const code = await Promise.race([closed, sleep(10_000).then(() => 'still open after 10 s')]);
    expect([4008, 1006]).toContain(code);
    const metrics = await (await fetch(httpUrl(s, '/metrics'))).text();
    expect(metrics).toMatch(/atc_alerts_dropped_total\{sink="subscribers"\} [1-9]/);
    // At least the slow one (a busy test process may make the reading one lag past the limit too).
    expect(metrics).toMatch(/atc_subscriber_disconnects_total [1-9]/);
    await Promise.all([fast.close(), c.close()]);
  });
});

describe('sidecar: control', () => {
  it('GET /health and /metrics; PUT /thresholds validates, applies live under load and keeps state', async () => {
    // A small window keeps the producer at most a few thousand events ahead of the engine: the stream takes a while.
    const s = await start({ token: 'secret-token-1', producerWindow: 4096, maxFrameEvents: 1000 });
    const h = await (await fetch(httpUrl(s, '/health'))).json() as Record<string, unknown>;
    expect(h).toMatchObject({ status: 'ok', protocol: 1, shards: 4, workers: 1 });
    const unauth = await fetch(httpUrl(s, '/thresholds'));
    expect(unauth.status).toBe(401);
    const auth = { authorization: 'Bearer secret-token-1' };
    const bad = await fetch(httpUrl(s, '/thresholds'), { method: 'PUT', headers: auth, body: JSON.stringify({ 'spread.zscore': { threshold: -1 } }) });
    expect(bad.status).toBe(400);
    expect((await bad.json() as { error: string }).error).toMatch(/spread\.zscore/);
    const notJson = await fetch(httpUrl(s, '/thresholds'), { method: 'PUT', headers: auth, body: '{' });
    expect(notJson.status).toBe(400);

    // A threshold change under load equals a plain engine changed at the event the server reports.
    const c = await producer(s, { token: 'secret-token-1' });
    const sub = await subscribe(s, { token: 'secret-token-1' });
    const b = stream(200_000, 5);
    const streaming = sendAll(c, b, 500);
    await until(() => s.pool.nextAccept >= 6000, 10_000, 'a third of the stream accepted');
    const change = { 'return.zscore': { mode: 'static', threshold: 2 } };
    const ok = await fetch(httpUrl(s, '/thresholds'), { method: 'PUT', headers: auth, body: JSON.stringify(change) });
    expect(ok.status).toBe(200);
    const body = await ok.json() as { appliedAfter: number; thresholds: { feature: string; detector: string; mode: string; threshold: number }[] };
    expect(body.thresholds.find((t) => t.feature === 'return' && t.detector === 'zscore')).toMatchObject({ mode: 'static', threshold: 2 });
    await streaming;
    await s.pool.drain();
    const k = body.appliedAfter;
    expect(k).toBeGreaterThanOrEqual(6000);
    expect(k).toBeLessThan(200_000);

    const engine = Engine.create({ autoRegister: true });
    for (let i = 0; i < b.length; i++) b.seq[i] = BigInt(i);
    const want = engine.ingest(b.slice(0, k)).alerts;
    engine.setThresholds(change as never);
    want.push(...engine.ingest(b.slice(k)).alerts);
    b.seq.fill(-1n);
    expect(want.length).toBeGreaterThan(10);
    await sub.waitFor(want.length);
    await sleep(100);
    expect(sub.alerts.map((a) => alertKey(a as never)).sort()).toEqual(want.map((a) => alertKey(a)).sort());
    await Promise.all([c.close(), sub.close()]);
  });

  it('refuses producers and subscribers without the token, with the reason', async () => {
    const s = await start({ token: 'secret-token-2' });
    await expect(ProducerClient.connect(s.url, {})).rejects.toThrow(/unauthorized/);
    await expect(ProducerClient.connect(s.url, { token: 'wrong-token-x' })).rejects.toThrow(/bad token/);
    const c = await ProducerClient.connect(s.url, { token: 'secret-token-2', tokenInHeader: true });
    expect(c.welcome.v).toBe(1);
    await c.close();
    await expect(subscribe(s, {})).rejects.toThrow(/token/);
  });
});

describe('sidecar: faults and restarts', () => {
  it('a worker killed mid-stream loses no state and no event: the alerts equal a run without the fault', async () => {
    const s = await start({ workers: 2, chunkEvents: 512 });
    const sub = await subscribe(s);
    const c = await producer(s);
    const b = stream(30_000, 9);
    const want = referenceAlerts(b).map((a) => alertKey(a)).sort();
    await sendAll(c, b.slice(0, 8000));
    s.pool.injectFault(1);
    await sendAll(c, b.slice(8000, 16_000));
    await s.pool.piscina.threads[0]?.terminate();
    await sendAll(c, b.slice(16_000));
    await s.pool.drain();
    expect(s.pool.stats().recoveries).toBeGreaterThanOrEqual(1);
    expect(s.pool.stats().eventsProcessed).toBe(30_000);
    await sub.waitFor(want.length);
    await sleep(200);
    expect(sub.alerts.map((a) => alertKey(a as never)).sort()).toEqual(want);
    await Promise.all([c.close(), sub.close()]);
  });

  it('checkpoint then restore continues exactly where it stopped, and a named producer resumes its sequence', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/atc-ckpt-`);
    const path = `${dir}/state.bin`;
    const b = stream(24_000, 21);
    const want = referenceAlerts(b).map((a) => alertKey(a)).sort();
    const got: string[] = [];

    const s1 = await start({ checkpointPath: path });
    const sub1 = await subscribe(s1);
    const c1 = await producer(s1, { producer: 'feed' });
    await sendAll(c1, b.slice(0, 12_000));
    await s1.pool.drain();
    await sleep(100);
    got.push(...sub1.alerts.map((a) => alertKey(a as never)));
    await c1.close();
    await sub1.close();
    await s1.stop({ checkpoint: true });
    running.splice(running.indexOf(s1), 1);

    const { readFileSync } = await import('node:fs');
    const s2 = await start({ checkpointPath: path }, { restore: new Uint8Array(readFileSync(path)) });
    const sub2 = await subscribe(s2);
    const c2 = await ProducerClient.connect(s2.url, { producer: 'feed' });
    expect(c2.welcome.nextSeq).toBe(12);
    expect(c2.welcome.events).toBe(12_000);
    expect(await c2.register(NAMES.map((name) => ({ name })))).toEqual([0, 1, 2, 3]);
    await sendAll(c2, b.slice(12_000));
    await s2.pool.drain();
    await sleep(200);
    got.push(...sub2.alerts.map((a) => alertKey(a as never)));
    expect(want.length).toBeGreaterThan(3);
    expect(got.sort()).toEqual(want);
    await Promise.all([c2.close(), sub2.close()]);
  });
});
