// Real sidecars on 127.0.0.1 for tests: a free port, quiet logs, and the reference the pool's alerts must match
// (one plain Engine over the same events, numbered as the server numbers them).
import WebSocket from 'ws';
import { Unpackr } from 'msgpackr';
import { Engine, type Alert } from '../../src/engine.js';
import type { EventBatch } from '../../src/events.js';
import { Sidecar, type SidecarOptions } from '../../src/server/sidecar.js';
import { resolveServerOptions, type ServerOptions } from '../../src/server/options.js';
import { createLogger } from '../../src/server/log.js';

export async function startSidecar(server: Partial<ServerOptions> = {}, rest: Omit<SidecarOptions, 'server'> = {}): Promise<Sidecar> {
  const options = resolveServerOptions({ port: 0, stdout: false, workers: 1, shards: 4, logLevel: 'silent', ...server });
  return Sidecar.start({ config: {}, logger: createLogger('silent'), ...rest, server: options });
}

export const httpUrl = (s: Sidecar, path: string) => `${s.url.replace('ws:', 'http:')}${path}`;

/** Alerts a single plain engine raises on `batch` when event i carries seq base + i (as the server numbers them). */
export function referenceAlerts(batch: EventBatch, config: unknown = {}, base = 0): Alert[] {
  const engine = Engine.create({ autoRegister: true, ...(config as object) });
  for (let i = 0; i < batch.length; i++) batch.seq[i] = BigInt(base + i);
  const alerts = engine.ingest(batch).alerts;
  batch.seq.fill(-1n);
  return alerts;
}

/** A canonical, comparable form of an alert as a JSON subscriber receives it. */
export function alertKey(a: { seq: string | bigint; feature: string; detector: string; score: number; threshold: number; value: number; severity: number }): string {
  return `${String(a.seq)}|${a.feature}|${a.detector}|${a.severity}|${a.value}|${a.score}|${a.threshold}`;
}

export interface Subscriber {
  ws: WebSocket;
  alerts: Record<string, unknown>[];
  messages: Record<string, unknown>[];
  /** Resolves once `n` alerts have arrived (rejects after `ms`). */
  waitFor(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function subscribe(s: Sidecar, filter: Record<string, unknown> = {}, opts: { headers?: Record<string, string> } = {}): Promise<Subscriber> {
  const ws = new WebSocket(`${s.url}/alerts`, { headers: opts.headers });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const alerts: Record<string, unknown>[] = [];
  const messages: Record<string, unknown>[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    messages.push(m);
    if (Array.isArray(m.alerts)) alerts.push(...(m.alerts as Record<string, unknown>[]));
    wake?.();
  });
  const subscribed = new Promise<void>((resolve, reject) => {
    const check = () => {
      const last = messages[messages.length - 1];
      if (last?.t === 'subscribed') resolve();
      else if (last?.t === 'error') reject(new Error(String(last.message)));
    };
    ws.on('message', check);
  });
  ws.send(JSON.stringify({ t: 'subscribe', format: 'json', ...filter }));
  await subscribed;
  return {
    ws, alerts, messages,
    async waitFor(n, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (alerts.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} alerts, got ${alerts.length} within ${ms} ms`);
        await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 50); });
      }
    },
    close: () => new Promise<void>((resolve) => { if (ws.readyState === WebSocket.CLOSED) resolve(); else { ws.once('close', () => resolve()); ws.close(); } }),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll until `cond()` holds (bounded). */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

export interface RawProducer {
  ws: WebSocket;
  /** Every reply, in order (credit and processed notices, which are extra, left out). */
  replies: Record<string, unknown>[];
  /** The next reply not yet read (waits for it, bounded). */
  next(): Promise<Record<string, unknown>>;
}

/** A bare WebSocket on /ingest, for sending hand-made (and hostile) messages and reading the replies. */
export async function rawProducer(s: Sidecar): Promise<RawProducer> {
  const ws = new WebSocket(`${s.url}/ingest`);
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const u = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true });
  const replies: Record<string, unknown>[] = [];
  ws.on('message', (d: Buffer) => {
    const m = u.unpack(d) as Record<string, unknown>;
    // credit and processed are extra messages; the tests read the one reply each message gets.
    if (m.t !== 'credit' && m.t !== 'processed') replies.push(m);
  });
  let seen = 0;
  const next = async () => {
    await until(() => replies.length > seen, 5000, 'a reply');
    return replies[seen++];
  };
  return { ws, replies, next };
}
