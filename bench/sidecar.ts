// `node dist/bench/sidecar.js [--quick]`: the sidecar end to end over loopback, against the plain `ws` server a user
// would otherwise write (bench/ws-baseline.ts), in one run.
//
// Servers: the atc sidecar (Sidecar.start on port 0, the default configuration except alerts off stdout and quiet
// logs) with 1 and with 2 worker threads, and the ws baseline. Each run starts its server in a fresh child process
// (this script with --serve): a server inherits no heap, JIT state or leftovers from the runs before it (a stopped
// Sidecar is not collected while the process lives: uWebSockets.js keeps its handlers). The load generator
// (bench/loadgen.ts) is another child process, so the figures are for the whole machine: generator, server main
// thread and workers share its cores, as they would on a 2-core box.
//
// Points, each on a fresh server (fresh state, no instrument shared with an earlier run):
// - peak throughput (send as fast as credit allows): columnar frames of 100, 1,000 and 10,000 events, row frames
//   of 100 and 1,000 events as plain msgpack maps, and of 1,000 as msgpackr records;
// - latency at offered loads with columnar frames of 1,000: 100k and 1M events/s and half of that server's peak.
// Every figure is the median of `repeats` runs, the servers interleaved so that noise from the shared machine falls
// on all of them alike. Each atc run ends with a scrape of GET /metrics for the server-side histograms
// (ingest -> processed, ingest -> alert), reported as the bucket bounds holding their p50 and p99.
// Saves bench/results/sidecar.json (sidecar-quick.json with --quick, which is small enough for CI: < 60 s).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Sidecar } from '../src/server/sidecar.js';
import { resolveServerOptions } from '../src/server/options.js';
import { createLogger } from '../src/server/log.js';
import { N_FIELDS } from '../src/abi.js';
import { Engine } from '../src/engine.js';
import { startBaseline } from './ws-baseline.js';
import { loadStream, shiftTs, type LoadResult } from './loadgen.js';

// ---- Shared with bench/soak.ts --------------------------------------------------------------------------------
export interface Server {
  url: string;
  /** http://host:port when it serves /metrics. */
  http: string | null;
  /** Server-side counters after a run (engine rejects must be 0: otherwise events were refused, not processed). */
  stats(): { alerts: number; rejected: number; workerUtilization: number | null };
  /** Events accepted and not yet processed (the pool's queue; 0 for the baseline, which has none). */
  queued(): number;
  stop(): Promise<void>;
}

export async function startAtc(workers?: number): Promise<Server> {
  const server = resolveServerOptions({ port: 0, stdout: false, logLevel: 'warn', ...(workers ? { workers } : {}) });
  const s = await Sidecar.start({ server, config: {}, logger: createLogger('warn') });
  return {
    url: s.url,
    http: s.url.replace('ws:', 'http:'),
    stats: () => {
      const p = s.pool.stats();
      return { alerts: p.engine.alerts, rejected: Object.values(p.engine.rejected).reduce((a, b) => a + b, 0), workerUtilization: p.utilization };
    },
    queued: () => s.options.maxQueuedEvents - s.pool.freeEvents,
    stop: () => s.stop(),
  };
}

export async function startWs(): Promise<Server> {
  const b = await startBaseline();
  return { url: b.url, http: null, stats: () => { const x = b.stats(); return { alerts: x.alerts, rejected: x.rejected, workerUtilization: null }; }, queued: () => 0, stop: () => b.stop() };
}

const LOADGEN = fileURLToPath(new URL('./loadgen.js', import.meta.url));

/** Run the load generator as a child process; resolves to its JSON line. */
export function runLoadgen(args: Record<string, string | number | boolean | undefined>, extraNodeArgs: string[] = []): Promise<LoadResult> {
  const argv = [...extraNodeArgs, LOADGEN];
  for (const [k, v] of Object.entries(args)) {
    if (v === undefined || v === false) continue;
    argv.push(`--${k}`);
    if (v !== true) argv.push(String(v));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`loadgen ${argv.slice(1).join(' ')} exited ${code}: ${err.trim() || out.trim()}`));
      try { resolve(JSON.parse(line) as LoadResult); } catch { reject(new Error(`loadgen printed no JSON: ${out}`)); }
    });
  });
}

/** p50, p99: the upper bound (s) of the bucket holding the quantile; '+Inf' past the last bound; null when empty. */
export interface HistogramSummary { count: number; p50: number | '+Inf' | null; p99: number | '+Inf' | null; meanS: number | null }
export interface Scrape {
  processed: HistogramSummary;
  alert: HistogramSummary;
  events: number;
  rssBytes: number;
}

/** GET /metrics and summarise the latency histograms: the upper bound (seconds) of the bucket holding p50, p99. */
export async function scrapeMetrics(http: string): Promise<Scrape> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const hist = (name: string): HistogramSummary => {
    const buckets: [number, number][] = [];
    let sum = 0, count = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}_bucket{le="`)) {
        const m = /le="([^"]+)"\} (\S+)/.exec(line)!;
        buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
      } else if (line.startsWith(`${name}_sum `)) sum = Number(line.split(' ')[1]);
      else if (line.startsWith(`${name}_count `)) count = Number(line.split(' ')[1]);
    }
    const q = (p: number) => { const target = p * count; const b = buckets.find(([, c]) => c >= target && c > 0); return b ? (b[0] === Infinity ? '+Inf' as const : b[0]) : null; };
    return { count, p50: count ? q(0.5) : null, p99: count ? q(0.99) : null, meanS: count ? sum / count : null };
  };
  const scalar = (name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
  };
  return {
    processed: hist('atc_ingest_to_processed_seconds'), alert: hist('atc_ingest_to_alert_seconds'),
    events: scalar('atc_events_total'), rssBytes: scalar('process_resident_memory_bytes'),
  };
}

/** Median of the numbers that are not NaN (Infinity counts: a '+Inf' bucket bound). */
/** CPU time the whole machine spent busy so far, ms (Linux /proc/stat; NaN elsewhere). */
export function machineBusyMs(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait. USER_HZ is 100 on Linux.
    return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0)) * 10;
  } catch {
    return NaN;
  }
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The engine alone on this thread, over the generator's stream in frames of `frame` (copied into the batch region
 * with the same ts shifting): median ns per event over passes. No server can beat cores / this on this machine,
 * and measuring it at the start and the end of a run shows how much the shared machine's speed drifted meanwhile.
 */
export function engineNsPerEvent(o: { stream: number; frame?: number; seconds: number }): number {
  const frame = o.frame ?? 1000;
  const n = Math.floor(o.stream / frame) * frame;
  const { batch, span } = loadStream(n, 4, 42);
  const base = new Uint32Array(batch.tsNs.slice(0, n).buffer);
  const engine = Engine.create({ autoRegister: true }, { batchCapacity: frame });
  const r = engine.region();
  const ts = new Uint32Array(r.tsNs.buffer, r.tsNs.byteOffset, 2 * frame);
  r.seq.fill(-1n);
  const perPass: number[] = [];
  const t0 = performance.now();
  for (let pass = 0; performance.now() - t0 < o.seconds * 1000 || perPass.length < 3; pass++) {
    const off = span * BigInt(pass);
    const p0 = performance.now();
    for (let s = 0; s < n; s += frame) {
      shiftTs(base, ts, s, s + frame, off, 0);
      r.instrument.set(batch.instrument.subarray(s, s + frame));
      r.kind.set(batch.kind.subarray(s, s + frame));
      for (let k = 0; k < N_FIELDS; k++) r.f[k].set(batch.f[k].subarray(s, s + frame));
      engine.ingestRegion(frame);
    }
    if (pass > 0) perPass.push(((performance.now() - p0) * 1e6) / n); // pass 0 warms up
  }
  return Math.round(median(perPass));
}

// ---- Servers in child processes ---------------------------------------------------------------------------------
const SELF = fileURLToPath(import.meta.url);

/** What a server child reports for the span between `begin` and `end`. */
interface Span { cpuMs: number; elu: number; alerts: number; rejected: number; workerUtilization: number | null }

interface ChildServer {
  url: string;
  http: string | null;
  begin(): void;
  end(): Promise<Span>;
  stop(): Promise<void>;
}

/** `--serve atc:N` or `--serve ws`: start that server, print its address, then obey begin / end / stop on stdin. */
async function serveMain(spec: string): Promise<void> {
  const server = spec === 'ws' ? await startWs() : await startAtc(Number(spec.split(':')[1]));
  let cpu0 = process.cpuUsage(), elu0 = performance.eventLoopUtilization();
  const reply = (x: unknown) => process.stdout.write(JSON.stringify(x) + '\n');
  reply({ url: server.url, http: server.http });
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const cmd = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (cmd === 'begin') {
        (globalThis as { gc?: () => void }).gc?.();
        cpu0 = process.cpuUsage(); elu0 = performance.eventLoopUtilization();
      } else if (cmd === 'end') {
        const cpu = process.cpuUsage(cpu0), elu = performance.eventLoopUtilization(elu0), st = server.stats();
        reply({ cpuMs: (cpu.user + cpu.system) / 1000, elu: elu.utilization, alerts: st.alerts, rejected: st.rejected, workerUtilization: st.workerUtilization });
      } else if (cmd === 'stop') {
        void server.stop().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
      }
    }
  });
}

function startChild(spec: string): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--expose-gc', SELF, '--serve', spec], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiting: ((line: string) => void) | null = null;
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (waiting) { const w = waiting; waiting = null; w(line); } else lines.push(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const next = () => Promise.race([
    new Promise<string>((resolve) => { const l = lines.shift(); if (l !== undefined) resolve(l); else waiting = resolve; }),
    exited.then((code) => { throw new Error(`server ${spec} exited (${code})`); }),
  ]);
  const send = (cmd: string) => child.stdin.write(cmd + '\n');
  return next().then((line) => {
    const { url, http } = JSON.parse(line) as { url: string; http: string | null };
    return {
      url, http,
      begin: () => send('begin'),
      end: async () => { send('end'); return JSON.parse(await next()) as Span; },
      stop: async () => { send('stop'); await exited; },
    };
  });
}

// ---- The benchmark ------------------------------------------------------------------------------------------------
interface Target { name: string; spec: string }
interface Case { kind: 'peak' | 'latency'; mode: 'cols' | 'rows'; frame: number; records?: boolean; rate?: number | 'half'; label: string }

interface Run {
  load: LoadResult;
  /** Server process CPU over the run (main thread + workers), % of one core. */
  serverCpuPct: number;
  /** Fraction of wall time the server's main thread was busy (event-loop utilisation). */
  mainElu: number;
  workerUtilization: number | null;
  alerts: number;
  rejected: number;
  metrics: Scrape | null;
  /** CPU other processes used meanwhile (machine busy - server - generator), % of one core: the shared machine's noise. */
  foreignCpuPct: number;
  /** Runs made for this one: a run during which others used more than FOREIGN_LIMIT % is done again (twice at most). */
  attempts: number;
}

/** A run during which other processes used more than this much CPU (% of one core) is repeated. */
const FOREIGN_LIMIT = 20;

interface Point {
  server: string;
  case: string;
  mode: 'cols' | 'rows';
  frame: number;
  offeredEps: number | null;
  eventsPerS: number;
  /** Frames timed (median over runs): p99.9 of a few thousand frames rests on a handful of them. */
  frames: number;
  latencyUs: { p50: number; p99: number; p999: number; max: number };
  lagMsP99: number | null;
  serverCpuPct: number;
  loadgenCpuPct: number;
  mainElu: number;
  foreignCpuPct: number;
  serverP50S: number | '+Inf' | null;
  serverP99S: number | '+Inf' | null;
  alertP50S: number | '+Inf' | null;
  alertP99S: number | '+Inf' | null;
  alerts: number;
  engineRejects: number;
  runs: Run[];
}

async function measureOnce(t: Target, c: Case, rate: number | undefined, o: { seconds: number; warmup: number; stream: number }): Promise<Run> {
  const server = await startChild(t.spec);
  try {
    const busy0 = machineBusyMs();
    const w0 = performance.now();
    server.begin();
    const load = await runLoadgen({ url: server.url, mode: c.mode, records: c.records, frame: c.frame, seconds: o.seconds, warmup: o.warmup, stream: o.stream, rate });
    const span = await server.end();
    const wall = performance.now() - w0;
    const busy = machineBusyMs() - busy0;
    const metrics = server.http ? await scrapeMetrics(server.http) : null;
    return {
      load, serverCpuPct: (span.cpuMs / wall) * 100, mainElu: span.elu,
      workerUtilization: span.workerUtilization, alerts: span.alerts, rejected: span.rejected, metrics,
      foreignCpuPct: Math.round(((busy - span.cpuMs - load.cpuMs) / wall) * 100), attempts: 1,
    };
  } finally {
    await server.stop();
  }
}

function summarise(server: string, c: Case, rate: number | undefined, runs: Run[]): Point {
  const m = (f: (r: Run) => number | null | undefined) => median(runs.map((r) => f(r) ?? NaN));
  const nn = (x: number) => (x === Infinity ? '+Inf' as const : Number.isFinite(x) ? x : null);
  const inf = (x: number | '+Inf' | null | undefined) => (x === '+Inf' ? Infinity : x);
  return {
    server, case: c.label, mode: c.mode, frame: c.frame, offeredEps: rate ?? null,
    eventsPerS: Math.round(m((r) => r.load.eventsPerS)),
    frames: Math.round(m((r) => r.load.frames)),
    latencyUs: { p50: m((r) => r.load.latencyUs.p50), p99: m((r) => r.load.latencyUs.p99), p999: m((r) => r.load.latencyUs.p999), max: m((r) => r.load.latencyUs.max) },
    lagMsP99: rate ? m((r) => r.load.lagMs?.p99) : null,
    serverCpuPct: Math.round(m((r) => r.serverCpuPct)),
    loadgenCpuPct: Math.round(m((r) => (r.load.cpuMs / r.load.wallMs) * 100)),
    mainElu: Math.round(m((r) => r.mainElu) * 100) / 100,
    foreignCpuPct: Math.round(m((r) => r.foreignCpuPct)),
    serverP50S: nn(m((r) => inf(r.metrics?.processed.p50))), serverP99S: nn(m((r) => inf(r.metrics?.processed.p99))),
    alertP50S: nn(m((r) => inf(r.metrics?.alert.p50))), alertP99S: nn(m((r) => inf(r.metrics?.alert.p99))),
    alerts: Math.round(m((r) => r.alerts)), engineRejects: Math.max(...runs.map((r) => r.rejected)),
    runs,
  };
}

const fmtN = (x: number | null) => (x === null || !Number.isFinite(x) ? '-' : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(0)} k` : String(Math.round(x)));
const fmtUs = (x: number) => (!Number.isFinite(x) ? '-' : x >= 10_000 ? `${(x / 1000).toFixed(1)} ms` : `${Math.round(x)} us`);
const fmtS = (x: number | '+Inf' | null) => (x === null ? '-' : x === '+Inf' ? '>10 s' : x >= 1e-3 ? `${x * 1e3} ms` : `${Math.round(x * 1e6)} us`);

function printTable(points: Point[]): void {
  console.log('\n| server | case | offered | events/s | p50 | p99 | p99.9 | server CPU % | main ELU | loadgen CPU % | others CPU % | server p50 / p99 (metrics) |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const p of points) {
    const srv = p.serverP50S === null ? '-' : `${fmtS(p.serverP50S)} / ${fmtS(p.serverP99S)}`;
    console.log(`| ${p.server} | ${p.case} | ${p.offeredEps ? fmtN(p.offeredEps) : 'max'} | ${fmtN(p.eventsPerS)} | ${fmtUs(p.latencyUs.p50)} | ${fmtUs(p.latencyUs.p99)} | ${fmtUs(p.latencyUs.p999)} | ${p.serverCpuPct} | ${p.mainElu} | ${p.loadgenCpuPct} | ${p.foreignCpuPct} | ${srv} |`);
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
  const started = new Date();
  const o = quick ? { seconds: 0.6, warmup: 0.3, stream: 50_000, repeats: 1 } : { seconds: 3, warmup: 1, stream: 200_000, repeats: 3 };
  console.log(`atc sidecar benchmark — ${started.toISOString()} — node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}${quick ? ' (quick)' : ''}`);
  console.log(`each point: a fresh server process, ${o.warmup} s warm-up + ${o.seconds} s measured, median of ${o.repeats}; loadgen: marketStream, 4 instruments, ${o.stream} events repeated with ts shifted`);

  const engineNsStart = engineNsPerEvent({ stream: o.stream, seconds: quick ? 0.5 : 2 });
  console.log(`engine alone, one thread, this stream: ${engineNsStart} ns/event = ${fmtN(1e9 / engineNsStart)} events/s per core; ${cpus().length} cores: at most ${fmtN((cpus().length * 1e9) / engineNsStart)} events/s for any server, the generator's CPU not counted`);

  let targets: Target[] = [
    { name: 'atc workers=1', spec: 'atc:1' },
    { name: 'atc workers=2', spec: 'atc:2' },
    { name: 'ws baseline', spec: 'ws' },
  ];
  if (only) targets = targets.filter((t) => t.name.includes(only));
  const peakCases: Case[] = [
    { kind: 'peak', mode: 'cols', frame: 100, label: 'cols 100' },
    { kind: 'peak', mode: 'cols', frame: 1000, label: 'cols 1000' },
    { kind: 'peak', mode: 'cols', frame: 10_000, label: 'cols 10000' },
    { kind: 'peak', mode: 'rows', frame: 100, label: 'rows 100' },
    { kind: 'peak', mode: 'rows', frame: 1000, label: 'rows 1000' },
    { kind: 'peak', mode: 'rows', frame: 1000, records: true, label: 'rows 1000 (records)' },
  ];
  const latencyCases: Case[] = [
    { kind: 'latency', mode: 'cols', frame: 1000, rate: 100_000, label: 'cols 1000 @100k' },
    { kind: 'latency', mode: 'cols', frame: 1000, rate: 1_000_000, label: 'cols 1000 @1M' },
    { kind: 'latency', mode: 'cols', frame: 1000, rate: 'half', label: 'cols 1000 @half peak' },
  ];

  const points: Point[] = [];
  const peak = new Map<string, number>();
  for (const c of [...peakCases, ...latencyCases]) {
    const runs = new Map<string, Run[]>(targets.map((t) => [t.name, []]));
    const rateOf = (t: Target) => (c.rate === 'half' ? Math.round((peak.get(t.name) ?? 0) / 2) || undefined : c.rate);
    for (let r = 0; r < o.repeats; r++) {
      for (const t of targets) {
        let run = await measureOnce(t, c, rateOf(t), o);
        // Quick mode (CI) keeps its time bound instead: the noise is only recorded.
        for (let attempt = 2; !quick && attempt <= 3 && run.foreignCpuPct > FOREIGN_LIMIT; attempt++) {
          process.stderr.write(`  (${t.name} ${c.label}: other processes used ${run.foreignCpuPct}% of a core meanwhile; again)\n`);
          run = await measureOnce(t, c, rateOf(t), o);
          run.attempts = attempt;
        }
        runs.get(t.name)!.push(run);
        process.stderr.write(`  ${t.name} ${c.label}${c.rate === 'half' ? ` (${fmtN(rateOf(t) ?? 0)})` : ''}: ${fmtN(run.load.eventsPerS)} events/s, p99 ${fmtUs(run.load.latencyUs.p99)}\n`);
      }
    }
    for (const t of targets) {
      const p = summarise(t.name, c, rateOf(t), runs.get(t.name)!);
      if (c.kind === 'peak' && c.mode === 'cols' && c.frame === 1000) peak.set(t.name, p.eventsPerS);
      points.push(p);
    }
  }
  printTable(points);
  const engineNsEnd = engineNsPerEvent({ stream: o.stream, seconds: quick ? 0.5 : 2 });
  console.log(`\nengine alone at the end: ${engineNsEnd} ns/event (start: ${engineNsStart}): the machine's speed drifted ${(((engineNsEnd - engineNsStart) / engineNsStart) * 100).toFixed(0)}% over the run`);

  const get = (server: string, label: string) => points.find((p) => p.server === server && p.case === label);
  const atcNames = targets.filter((t) => t.name.startsWith('atc')).map((t) => t.name);
  const best = (label: string) => atcNames.map((n) => get(n, label)).filter((p): p is Point => !!p).sort((a, b) => b.eventsPerS - a.eventsPerS)[0];
  const bestCols = best('cols 1000');
  const bestRows = [best('rows 100'), best('rows 1000'), best('rows 1000 (records)')].filter((p): p is Point => !!p).sort((a, b) => b.eventsPerS - a.eventsPerS)[0];
  const at1M = targets.map((t) => get(t.name, 'cols 1000 @1M')).filter((p): p is Point => !!p);
  const ws = (label: string) => get('ws baseline', label);
  const summary = {
    engineNsPerEvent: { start: engineNsStart, end: engineNsEnd, ceilingEps: Math.round((cpus().length * 1e9) / Math.min(engineNsStart, engineNsEnd)) },
    colsPeakEps: bestCols ? { server: bestCols.server, eventsPerS: bestCols.eventsPerS, target: 10_000_000, met: bestCols.eventsPerS >= 10_000_000 } : null,
    rowsPeakEps: bestRows ? { server: bestRows.server, case: bestRows.case, eventsPerS: bestRows.eventsPerS, target: 2_000_000, met: bestRows.eventsPerS >= 2_000_000 } : null,
    rowsMapsPeakEps: (() => { const p = [best('rows 100'), best('rows 1000')].filter((x): x is Point => !!x).sort((a, b) => b.eventsPerS - a.eventsPerS)[0]; return p ? { server: p.server, case: p.case, eventsPerS: p.eventsPerS } : null; })(),
    p99At1MUs: at1M.map((p) => ({ server: p.server, p99Us: p.latencyUs.p99, achievedEps: p.eventsPerS, target: 1000, met: p.latencyUs.p99 <= 1000 })),
    versusBaseline: atcNames.flatMap((n) => [...peakCases, ...latencyCases].map((c) => {
      const a = get(n, c.label), b = ws(c.label);
      if (!a || !b) return null;
      return { server: n, case: c.label, throughputRatio: Math.round((a.eventsPerS / b.eventsPerS) * 100) / 100, p99Ratio: Math.round((a.latencyUs.p99 / b.latencyUs.p99) * 100) / 100 };
    }).filter((x) => x !== null)),
  };
  console.log('\n## Against the targets (reported, not asserted)');
  if (summary.colsPeakEps) console.log(`- columnar frames of 1,000, end to end: ${fmtN(summary.colsPeakEps.eventsPerS)} events/s (${summary.colsPeakEps.server}; target >= 10 M; the engine alone caps any server at ${fmtN(summary.engineNsPerEvent.ceilingEps)} on ${cpus().length} cores)`);
  if (summary.rowsPeakEps) console.log(`- row frames: ${fmtN(summary.rowsPeakEps.eventsPerS)} events/s (${summary.rowsPeakEps.server}, ${summary.rowsPeakEps.case}; target >= 2 M)${summary.rowsMapsPeakEps ? `; as plain msgpack maps: ${fmtN(summary.rowsMapsPeakEps.eventsPerS)} (${summary.rowsMapsPeakEps.server}, ${summary.rowsMapsPeakEps.case})` : ''}`);
  for (const p of summary.p99At1MUs) console.log(`- p99 frame send -> processed notice at 1 M events/s offered: ${fmtUs(p.p99Us)} (${p.server}, achieved ${fmtN(p.achievedEps)}/s; target <= 1 ms)`);
  console.log('- against the ws baseline (throughput ratio, p99 ratio):');
  for (const v of summary.versusBaseline) console.log(`  ${v.server} ${v.case}: x${v.throughputRatio} events/s, x${v.p99Ratio} p99`);
  const rejects = points.filter((p) => p.engineRejects > 0);
  if (rejects.length) console.log(`\nWARNING: the engine rejected events in ${rejects.map((p) => `${p.server} ${p.case}`).join(', ')}: those runs did less work than they claim`);

  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = quick ? 'sidecar-quick.json' : 'sidecar.json';
  const out = {
    date: started.toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, loadavgAtStart: loadavg(),
    quick, seconds: o.seconds, warmup: o.warmup, repeats: o.repeats, stream: o.stream,
    notes: 'events/s: measured events / (first measured send .. processed notice of the last frame); latency: frame handed to the socket -> processed notice at the generator (us); server p50/p99: bucket upper bounds of atc_ingest_to_processed_seconds (s), warm-up included; CPU %: of one core; foreignCpuPct: CPU other processes on the shared machine used during the run (runs above ' + FOREIGN_LIMIT + '% were repeated, twice at most).',
    summary, points,
  };
  writeFileSync(`${dir}${file}`, JSON.stringify(out, null, 2) + '\n');
  console.log(`\nsaved bench/results/${file}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const serve = process.argv.indexOf('--serve');
  if (serve >= 0) serveMain(process.argv[serve + 1]).catch((err) => { console.error(err); process.exit(1); });
  else main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
}
