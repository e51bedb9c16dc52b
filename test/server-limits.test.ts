// The sidecar's limits and outputs: frame size and event count, connections, instruments, the NDJSON file sink and
// POST /snapshot. Real connections on 127.0.0.1.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Unpackr } from 'msgpackr';
import WebSocket from 'ws';
import { ProducerClient } from '../src/client/producer.js';
import { FrameEncoder } from '../src/protocol/encode.js';
import type { Sidecar } from '../src/server/sidecar.js';
import { marketStream } from './helpers/streams.js';
import { httpUrl, referenceAlerts, startSidecar, until } from './helpers/sidecar.js';

const dir = mkdtempSync(join(tmpdir(), 'atc-limits-'));
const running: Sidecar[] = [];
afterEach(async () => { for (const s of running.splice(0)) await s.stop().catch(() => {}); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(...args: Parameters<typeof startSidecar>): Promise<Sidecar> {
  const s = await startSidecar(...args);
  running.push(s);
  return s;
}

async function rawProducer(s: Sidecar): Promise<{ ws: WebSocket; replies: Record<string, unknown>[] }> {
  const ws = new WebSocket(`${s.url}/ingest`);
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const u = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true });
  const replies: Record<string, unknown>[] = [];
  ws.on('message', (d: Buffer) => replies.push(u.unpack(d) as Record<string, unknown>));
  return { ws, replies };
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
