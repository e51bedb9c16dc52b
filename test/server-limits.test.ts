// The sidecar's limits and outputs: frame size and event count, connections, instruments, the NDJSON file sink and
// POST /snapshot. Real connections on 127.0.0.1.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ProducerClient } from '../src/client/producer.js';
import { FrameEncoder } from '../src/protocol/encode.js';
import type { Sidecar } from '../src/server/sidecar.js';
import { marketStream } from './helpers/streams.js';
import { httpUrl, rawProducer, referenceAlerts, startSidecar, until } from './helpers/sidecar.js';

const dir = mkdtempSync(join(tmpdir(), 'atc-limits-'));
const running: Sidecar[] = [];
afterEach(async () => { for (const s of running.splice(0)) await s.stop().catch(() => {}); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(...args: Parameters<typeof startSidecar>): Promise<Sidecar> {
  const s = await startSidecar(...args);
  running.push(s);
  return s;
}


describe('sidecar limits', () => {
  it('refuses frames over maxFrameBytes or maxFrameEvents by name, and keeps the connection', async () => {
    const s = await start({ maxFrameBytes: 64 << 10, maxFrameEvents: 500, producerWindow: 4096 });
    const { ws, replies } = await rawProducer(s);
    const enc = new FrameEncoder();
    ws.send(enc.hello({ v: 1 }));
    ws.send(enc.register([{ name: 'A' }]));
    const b = marketStream({ seed: 1, instruments: [0], n: 2000 });
    expect(enc.cols(0, b.slice(0, 1200)).byteLength).toBeGreaterThan(64 << 10);
    ws.send(enc.cols(0, b.slice(0, 1200)));       // 1200 events, ~73 KB: over both limits, bytes checked first
    ws.send(enc.cols(0, b.slice(0, 600)));        // 600 events, ~44 KB: over the event limit only
    ws.send(enc.cols(0, b.slice(0, 500)));        // fine
    await until(() => replies.length >= 5, 5000, 'replies');
    expect(replies[2]).toMatchObject({ t: 'error', code: 'frameTooLarge' });
    expect(String(replies[2].message)).toMatch(/bytes exceeds maxFrameBytes \(65536\)/);
    expect(replies[3]).toMatchObject({ t: 'error', code: 'frameTooLarge' });
    expect(String(replies[3].message)).toMatch(/600 events.*500/);
    expect(replies[4]).toMatchObject({ t: 'ack', seq: 0, n: 500 });
    ws.close();
  });

  it('refuses connections past maxConnections with 503, and instruments past maxInstruments', async () => {
    const s = await start({ maxConnections: 2 }, { config: { maxInstruments: 3 } });
    const a = await ProducerClient.connect(s.url);
    const b = await ProducerClient.connect(s.url);
    await expect(ProducerClient.connect(s.url)).rejects.toThrow(/HTTP 503/);
    expect(await a.register([{ name: 'X' }, { name: 'Y' }])).toEqual([0, 1]);
    await expect(b.register([{ name: 'Z' }, { name: 'W' }])).rejects.toThrow(/tooManyInstruments/);
    expect(await b.register([{ name: 'Z' }, { name: 'X' }])).toEqual([2, 0]);
    await a.close();
    await until(async () => (await (await fetch(httpUrl(s, '/health'))).json() as { producers: number }).producers === 1, 5000, 'the close to register');
    const c = await ProducerClient.connect(s.url);
    expect(c.welcome.v).toBe(1);
    await Promise.all([b.close(), c.close()]);
  });

  it('writes alerts to the NDJSON file sink and checkpoints on POST /snapshot', async () => {
    const alertsFile = join(dir, 'alerts.ndjson');
    const checkpointPath = join(dir, 'snap.bin');
    const s = await start({ alertsFile, checkpointPath, token: 'snapshot-token' });
    const c = await ProducerClient.connect(s.url, { token: 'snapshot-token' });
    await c.register([{ name: 'I0' }, { name: 'I1' }, { name: 'I2' }, { name: 'I3' }]);
    const b = marketStream({ seed: 7, instruments: [0, 1, 2, 3], n: 20_000, jumps: [4000, 9000, 15_000, 18_000] });
    const want = referenceAlerts(b);
    expect(want.length).toBeGreaterThan(3);
    for (let i = 0; i < b.length; i += 1000) await c.sendCols(b.slice(i, i + 1000));
    expect((await fetch(httpUrl(s, '/snapshot'), { method: 'POST' })).status).toBe(401);
    const res = await fetch(httpUrl(s, '/snapshot'), { method: 'POST', headers: { authorization: 'Bearer snapshot-token' } });
    expect(res.status).toBe(200);
    const r = await res.json() as { path: string; bytes: number; events: number };
    expect(r).toMatchObject({ path: checkpointPath, events: 20_000 });
    expect(existsSync(checkpointPath)).toBe(true);
    expect(readFileSync(checkpointPath).byteLength).toBe(r.bytes);
    await c.close();
    await s.stop();
    running.splice(running.indexOf(s), 1);
    const lines = readFileSync(alertsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: string; feature: string; instrument: string });
    expect(lines.map((l) => `${l.seq}|${l.feature}`).sort()).toEqual(want.map((a) => `${a.seq}|${a.feature}`).sort());
    expect(lines[0].instrument).toMatch(/^I[0-3]$/);
  });
});

describe('sidecar: fairness and hostile connections', () => {
  it('credit held by a producer that leaves is handed to one that waits', async () => {
    const s = await start({ maxQueuedEvents: 8192, producerWindow: 4096, maxFrameEvents: 1024 });
    const idle1 = await ProducerClient.connect(s.url);
    const idle2 = await ProducerClient.connect(s.url);
    expect(idle1.welcome.window + idle2.welcome.window).toBe(8192);
    const waiting = await ProducerClient.connect(s.url);
    expect(waiting.welcome.window).toBe(0);
    await waiting.register([{ name: 'A' }]);
    const b = marketStream({ seed: 2, instruments: [0], n: 1000 });
    const sent = waiting.sendCols(b);
    await idle1.close();
    const ack = await sent;
    expect(ack).toMatchObject({ seq: 0, n: 1000 });
    expect(waiting.window).toBeGreaterThanOrEqual(1000);
    await Promise.all([idle2.close(), waiting.close()]);
  });

  it('closes connections that do not say hello in time, refuses big messages before hello, and lets a producer take its name back', async () => {
    const s = await start({ helloTimeoutS: 0.3, maxConnections: 3 });
    const silent = new WebSocket(`${s.url}/ingest`);
    const closed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    expect(await closed).toBe(4002);

    const { ws, replies } = await rawProducer(s);
    ws.send(new Uint8Array(64 << 10));
    await until(() => replies.length >= 1, 5000, 'a reply');
    expect(replies[0]).toMatchObject({ t: 'error', code: 'helloRequired' });
    ws.close();

    const first = await ProducerClient.connect(s.url, { producer: 'feed' });
    await first.register([{ name: 'A' }]);
    await first.sendCols(marketStream({ seed: 2, instruments: [0], n: 500 }));
    const second = await ProducerClient.connect(s.url, { producer: 'feed' });
    expect(second.welcome).toMatchObject({ nextSeq: 1, events: 500 });
    await expect(first.sendCols(marketStream({ seed: 3, instruments: [0], n: 10 }))).rejects.toThrow(/4009|closed/);
    await second.close();
  });

  it('the client settles every request: a refused registration and a frame refused for its size reject, not hang', async () => {
    const s = await start({ maxFrameBytes: 48 << 10 }); // the 73 KB frame below is over it, but under twice it (not closed)
    const c = await ProducerClient.connect(s.url);
    await expect(c.register([{ name: 'A', tick: 0.1 }])).rejects.toThrow(/badMessage/);
    expect(await c.register([{ name: 'A' }])).toEqual([0]);
    const big = marketStream({ seed: 2, instruments: [0], n: 1000 });
    await expect(c.sendCols(big)).rejects.toThrow(/frameTooLarge/);
    const ack = await c.sendCols(big.slice(0, 100));
    expect(ack).toMatchObject({ seq: 0, n: 100 });
    await c.close();
  });

  it('times ingest to alert on one clock: every observation is finite', async () => {
    const s = await start();
    const c = await ProducerClient.connect(s.url);
    await c.register([{ name: 'I0' }, { name: 'I1' }, { name: 'I2' }, { name: 'I3' }]);
    const b = marketStream({ seed: 7, instruments: [0, 1, 2, 3], n: 20_000, jumps: [4000, 9000, 15_000, 18_000] });
    for (let i = 0; i < b.length; i += 1000) await c.sendCols(b.slice(i, i + 1000));
    await s.pool.drain();
    const metrics = await (await fetch(httpUrl(s, '/metrics'))).text();
    const count = Number(/^atc_ingest_to_alert_seconds_count (\d+)$/m.exec(metrics)?.[1]);
    const under10s = Number(/^atc_ingest_to_alert_seconds_bucket\{le="10"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(count).toBeGreaterThan(0);
    expect(under10s).toBe(count);
    await c.close();
  });
});
