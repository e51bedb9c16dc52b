// The sidecar's load generator, run as a child process so that its CPU is its own and the server's process holds
// only the server: `node dist/bench/loadgen.js --url ws://127.0.0.1:PORT --mode cols|rows --frame N
// (--events M | --seconds S) [--rate EPS] [--inflight EVENTS] [--records] [--tag NAME-]` prints one JSON line
// (LoadResult) on stdout.
//
// It pre-generates a seeded synthetic market stream (marketStream: 4 instruments, trades, quotes, marks, option
// tickers, values, a few injected jumps so that alerts fire), registers its instruments, and sends the stream
// frame after frame through ProducerClient, pipelined within the server's credit window (ready + send*Now). Each
// pass over the stream shifts every timestamp forward by the stream's span, so time never goes backwards per
// instrument and the engine processes (not rejects) every event however long the run. Every frame is timed from
// the moment it is handed to the socket to the server's `processed` notice covering it (hello.notify).
//
// Without --rate it sends as fast as credit allows (the server's throughput). With --rate it paces frames to an
// offered load (open loop: frame k is due at start + k * frame / rate) and reports how far behind schedule it
// fell, since a late generator understates the latency a steady source would see.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { ProducerClient } from '../src/client/producer.js';
import { EventBatch } from '../src/events.js';
import { marketStream } from '../src/synthetic.js';

export interface LoadResult {
  mode: 'cols' | 'rows';
  records: boolean;
  frame: number;
  /** Offered events per second; null: as fast as credit allows. */
  rate: number | null;
  /** Events and frames measured (warm-up excluded). */
  events: number;
  frames: number;
  /** From the first measured frame's send to the processed notice of the last. */
  seconds: number;
  eventsPerS: number;
  /** Frame send -> processed notice, microseconds, measured frames only. */
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** Paced runs: how late frames left against their schedule (ms); null when not paced. */
  lagMs: { p50: number; p99: number; max: number } | null;
  warmupEvents: number;
  /** CPU the generator itself used over the whole run, ms (user + system). */
  cpuMs: number;
  wallMs: number;
  /** Errors the server sent that no call was waiting for (should be none). */
  serverErrors: number;
  firstError?: string;
}

const KIND_NAMES = ['', 'trade', 'quote', 'mark', 'option', 'value'];
const FIELD_NAMES: Record<string, string[]> = {
  trade: ['price', 'size', 'side'], quote: ['bid', 'bidSize', 'ask', 'askSize', 'bidDepth', 'askDepth'],
  mark: ['mark', 'index', 'funding'], option: ['markIv', 'underlying', 'markPrice', 'bidIv', 'askIv'], value: ['value'],
};

/** Growable Float64Array: one slot per frame, without a Map or boxed numbers on the send path. */
class Floats {
  a = new Float64Array(1 << 14);
  n = 0;
  set(i: number, x: number): void {
    if (i >= this.a.length) { const b = new Float64Array(Math.max(i + 1, this.a.length * 2)); b.set(this.a); this.a = b; }
    this.a[i] = x;
    if (i >= this.n) this.n = i + 1;
  }
  push(x: number): void { this.set(this.n, x); }
  sorted(from = 0): Float64Array { return this.a.slice(from, this.n).sort(); }
}

/** Nearest-rank quantile of a sorted array. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * The generator's stream: n events of marketStream over instruments 0..k-1, with a 60 bps jump every 25k events so
 * that the alert path runs too. Pass p of a run sends ts + p * span (the stream's extent plus one mean gap).
 */
export function loadStream(n: number, instruments: number, seed: number): { batch: EventBatch; span: bigint } {
  const jumps = Array.from({ length: Math.floor(n / 25_000) }, (_, k) => 12_500 + 25_000 * k);
  const batch = marketStream({ seed, instruments: Array.from({ length: instruments }, (_, k) => k), n, jumps });
  return { batch, span: batch.tsNs[n - 1] - batch.tsNs[0] + 50_000_000n };
}

/** ts[start, end) of `base` shifted by `off`, into `out` at `at`, as (lo, hi) u32 pairs: no bigint per event. */
export function shiftTs(base: Uint32Array, out: Uint32Array, start: number, end: number, off: bigint, at = start): void {
  const offLo = Number(off & 0xffffffffn), offHi = Number(off >> 32n);
  for (let i = start, j = at; i < end; i++, j++) {
    const lo = base[2 * i] + offLo;
    out[2 * j] = lo >>> 0;
    out[2 * j + 1] = (base[2 * i + 1] + offHi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  }
}

export interface LoadOptions {
  url: string;
  mode: 'cols' | 'rows';
  /** Row frames as msgpackr records instead of plain maps. */
  records: boolean;
  frame: number;
  /** Stop after this many measured events ... */
  events?: number;
  /** ... or after this many seconds of measured sending. */
  seconds?: number;
  rate?: number;
  warmupS: number;
  /** Events in the pre-generated stream (rounded down to whole frames). */
  stream: number;
  instruments: number;
  seed: number;
  /** Events sent and not yet processed, at most (the server's credit may bind first). */
  inflight: number;
  /** Prefix of the instrument names: runs against one server with different tags never share an instrument. */
  tag: string;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const frame = o.frame;
  const framesPerPass = Math.max(1, Math.floor(o.stream / frame));
  const n = framesPerPass * frame;
  const local = Array.from({ length: o.instruments }, (_, k) => k);
  const { batch, span } = loadStream(n, o.instruments, o.seed);
  const baseWords = new Uint32Array(batch.tsNs.slice(0, n).buffer);
  const tsWords = new Uint32Array(batch.tsNs.buffer, batch.tsNs.byteOffset, 2 * n);
  const baseTs = batch.tsNs.slice(0, n);

  const client = await ProducerClient.connect(o.url, { notify: true });
  if (frame > client.welcome.maxFrameEvents) throw new RangeError(`--frame ${frame} exceeds the server's maxFrameEvents (${client.welcome.maxFrameEvents})`);
  const ids = await client.register(local.map((k) => ({ name: `${o.tag}${k}` })));
  for (let i = 0; i < n; i++) batch.instrument[i] = ids[batch.instrument[i]];

  // Row frames: the row objects are built once; each send only updates their ts.
  let rows: Record<string, unknown>[] = [];
  if (o.mode === 'rows') {
    rows = new Array(n);
    for (let i = 0; i < n; i++) {
      const kind = KIND_NAMES[batch.kind[i]];
      const row: Record<string, unknown> = { ts: batch.tsNs[i], instrument: batch.instrument[i], kind };
      FIELD_NAMES[kind].forEach((name, k) => { const x = batch.f[k][i]; if (!Number.isNaN(x)) row[name] = x; });
      rows[i] = row;
    }
  }

  const seq0 = client.nextSeq;
  const sentAt = new Floats();
  const latency = new Floats();
  const lag = new Floats();
  let lastProcessed = seq0 - 1;
  /** Frames with seq >= measureFrom are measured; -1 while warming up. */
  let measureFrom = -1;
  let processedWake: (() => void) | null = null;
  let lastProcessedAt = 0;
  client.onProcessed = (seq, atMs) => {
    for (let s = lastProcessed + 1; s <= seq; s++) {
      if (measureFrom >= 0 && s >= measureFrom) latency.push((atMs - sentAt.a[s - seq0]) * 1000);
    }
    if (seq > lastProcessed) { lastProcessed = seq; lastProcessedAt = atMs; }
    processedWake?.();
  };
  let failure: Error | undefined;
  const onFail = (err: Error) => { failure ??= err; };

  let sent = 0; // frames sent, all passes
  const sendFrame = (): void => {
    const k = sent % framesPerPass;
    const pass = Math.floor(sent / framesPerPass);
    const start = k * frame, end = start + frame;
    const off = span * BigInt(pass);
    if (o.mode === 'cols') {
      shiftTs(baseWords, tsWords, start, end, off);
      sentAt.set(client.nextSeq - seq0, performance.now());
      client.sendColsNow(batch.slice(start, end)).catch(onFail);
    } else {
      for (let i = start; i < end; i++) rows[i].ts = baseTs[i] + off;
      sentAt.set(client.nextSeq - seq0, performance.now());
      client.sendRowsNow(rows.slice(start, end), o.records).catch(onFail);
    }
    sent++;
  };

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const t0 = performance.now();
  let measureStart = 0;
  let measuredFrames = 0;
  const wantFrames = o.events !== undefined ? Math.max(1, Math.ceil(o.events / frame)) : Infinity;
  const periodMs = o.rate ? (frame / o.rate) * 1000 : 0;
  for (;;) {
    if (failure) throw failure;
    const now = performance.now();
    if (measureFrom < 0 && now - t0 >= o.warmupS * 1000) {
      measureFrom = client.nextSeq;
      measureStart = now;
    }
    if (measureFrom >= 0) {
      if (measuredFrames >= wantFrames) break;
      if (o.seconds !== undefined && now - measureStart >= o.seconds * 1000) break;
    }
    if (o.rate) {
      const due = t0 + sent * periodMs;
      if (due > now) {
        // setTimeout's resolution is about a millisecond: frames due meanwhile leave together on waking.
        await sleep(Math.max(1, Math.floor(due - now)));
        continue;
      }
      if (measureFrom >= 0) lag.push(now - due);
    }
    // At most `inflight` events sent and not yet processed: the baseline grants credit without bound, and a
    // producer that outruns the server only builds a queue (in socket buffers) that inflates every latency.
    while ((sent - (lastProcessed - seq0 + 1)) * frame + frame > o.inflight) {
      if (failure) throw failure;
      await new Promise<void>((resolve) => { processedWake = resolve; });
    }
    await client.ready(frame);
    sendFrame();
    if (measureFrom >= 0) measuredFrames++;
  }
  // Everything acked, then the processed notice of the last frame.
  await client.flush();
  if (failure) throw failure;
  const last = client.nextSeq - 1;
  const deadline = performance.now() + 60_000;
  while (lastProcessed < last) {
    if (performance.now() > deadline) throw new Error(`the server did not report frame ${last} processed within 60 s (last: ${lastProcessed})`);
    await new Promise<void>((resolve) => { processedWake = resolve; setTimeout(resolve, 100); });
  }
  processedWake = null;
  await client.close();

  const lat = latency.sorted();
  let sum = 0;
  for (let i = 0; i < lat.length; i++) sum += lat[i];
  const lagSorted = lag.sorted();
  const seconds = (lastProcessedAt - measureStart) / 1000;
  const events = measuredFrames * frame;
  const cpu = process.cpuUsage(cpu0);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    mode: o.mode, records: o.records, frame, rate: o.rate ?? null,
    events, frames: measuredFrames, seconds: r2(seconds * 1000) / 1000, eventsPerS: Math.round(events / seconds),
    latencyUs: {
      p50: r2(quantile(lat, 0.5)), p90: r2(quantile(lat, 0.9)), p99: r2(quantile(lat, 0.99)), p999: r2(quantile(lat, 0.999)),
      max: r2(lat.length ? lat[lat.length - 1] : NaN), mean: r2(sum / lat.length),
    },
    lagMs: o.rate ? { p50: r2(quantile(lagSorted, 0.5)), p99: r2(quantile(lagSorted, 0.99)), max: r2(lagSorted.length ? lagSorted[lagSorted.length - 1] : 0) } : null,
    warmupEvents: (measureFrom - seq0) * frame,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    wallMs: Math.round(performance.now() - wall0),
    serverErrors: client.errors.length,
    ...(client.errors.length ? { firstError: `${client.errors[0].code}: ${client.errors[0].message}` } : {}),
  };
}

function positive(name: string, v: string | undefined, dflt?: number): number | undefined {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(v)}`);
  return x;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      url: { type: 'string' }, mode: { type: 'string', default: 'cols' }, frame: { type: 'string', default: '1000' },
      events: { type: 'string' }, seconds: { type: 'string' }, rate: { type: 'string' }, warmup: { type: 'string' },
      stream: { type: 'string' }, instruments: { type: 'string' }, seed: { type: 'string' }, tag: { type: 'string' },
      records: { type: 'boolean' }, inflight: { type: 'string' },
    },
    strict: true,
  });
  if (!v.url) throw new Error('--url ws://HOST:PORT is required');
  if (v.mode !== 'cols' && v.mode !== 'rows') throw new Error(`--mode must be cols or rows, got ${JSON.stringify(v.mode)}`);
  const events = positive('events', v.events);
  const seconds = positive('seconds', v.seconds);
  const r = await runLoad({
    url: v.url, mode: v.mode, records: v.records === true, frame: positive('frame', v.frame)!,
    events, seconds: events === undefined && seconds === undefined ? 3 : seconds, rate: positive('rate', v.rate),
    warmupS: v.warmup === undefined ? 1 : Number(v.warmup), stream: positive('stream', v.stream, 200_000)!,
    instruments: positive('instruments', v.instruments, 4)!, seed: positive('seed', v.seed, 42)!,
    inflight: positive('inflight', v.inflight, 1 << 19)!, tag: v.tag ?? 'LG-',
  });
  process.stdout.write(JSON.stringify(r) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(() => process.exit(0), (err) => { console.error(`loadgen: ${(err as Error).stack ?? err}`); process.exit(1); });
}
