// `node dist/bench/soak.js [--minutes 5] [--rate EPS] [--workers N] [--frame 1000]`: the sidecar under a steady
// offered load for minutes, its resident memory sampled every 5 s. The server runs in this process (its RSS is what
// is sampled: main thread, workers, shard memories); the load generator is a child process, not counted.
//
// Without --rate, the load is half of a quick peak measurement (3 s of columnar frames at full speed) on the same
// server, under other instrument names so that the soak's stream starts clean. Reports the first, last and highest
// RSS and the drift of the last minute's median against the second minute's (the first minute holds start-up and
// JIT growth), and saves bench/results/soak.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { machineBusyMs, median, runLoadgen, scrapeMetrics, startAtc } from './sidecar.js';

interface Sample { t: number; rss: number; heapUsed: number; external: number; arrayBuffers: number; maxQueued: number }

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: { minutes: { type: 'string', default: '5' }, rate: { type: 'string' }, workers: { type: 'string' }, frame: { type: 'string', default: '1000' }, every: { type: 'string', default: '5' } },
    strict: true,
  });
  const minutes = Number(v.minutes);
  const frame = Number(v.frame);
  const everyS = Number(v.every);
  if (!(minutes > 0) || !(frame > 0) || !(everyS > 0)) throw new Error('--minutes, --frame and --every must be positive numbers');
  const started = new Date();
  const server = await startAtc(v.workers ? Number(v.workers) : undefined);
  const MB = 1 / (1 << 20);
  try {
    let rate = v.rate ? Number(v.rate) : NaN;
    let peak: number | null = null;
    if (!Number.isFinite(rate)) {
      const r = await runLoadgen({ url: server.url, mode: 'cols', frame, seconds: 3, warmup: 1, tag: 'PEAK-' });
      peak = r.eventsPerS;
      rate = Math.round(peak / 2);
    }
    console.log(`atc soak — ${started.toISOString()} — node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`offered ${rate} events/s${peak !== null ? ` (half of a quick peak of ${peak})` : ''} for ${minutes} min, frames of ${frame}; RSS every ${everyS} s`);

    const samples: Sample[] = [];
    const t0 = performance.now();
    // The deepest queue since the last sample: shard memories grow (and never shrink: WebAssembly memories cannot)
    // to hold the deepest backlog, so RSS follows this high-water mark, not the steady state.
    let maxQueued = 0;
    const queueTimer = setInterval(() => { maxQueued = Math.max(maxQueued, server.queued()); }, 20);
    const sample = () => {
      const m = process.memoryUsage();
      samples.push({ t: (performance.now() - t0) / 1000, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, maxQueued });
      maxQueued = 0;
      const s = samples[samples.length - 1];
      process.stderr.write(`  ${s.t.toFixed(0)} s: rss ${(s.rss * MB).toFixed(1)} MiB, heap ${(s.heapUsed * MB).toFixed(1)} MiB, deepest queue ${s.maxQueued} events\n`);
    };
    sample();
    const busy0 = machineBusyMs(), cpu0 = process.cpuUsage();
    const timer = setInterval(sample, everyS * 1000);
    const load = await runLoadgen({ url: server.url, mode: 'cols', frame, seconds: minutes * 60, warmup: 0, rate, tag: 'SOAK-' });
    clearInterval(timer);
    sample();
    clearInterval(queueTimer);
    const wallMs = samples[samples.length - 1].t * 1000;
    const cpu = process.cpuUsage(cpu0);
    const serverCpuPct = Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100);
    const foreignCpuPct = Math.round(((machineBusyMs() - busy0 - (cpu.user + cpu.system) / 1000 - load.cpuMs) / wallMs) * 100);
    const metrics = server.http ? await scrapeMetrics(server.http) : null;
    const stats = server.stats();

    // The second minute against the last (for short runs: the second and last fifth of the run).
    const total = samples[samples.length - 1].t;
    const win = Math.min(60, total / 5);
    const med = (from: number, to: number) => median(samples.filter((s) => s.t >= from && s.t <= to).map((s) => s.rss));
    const early = med(win, 2 * win), late = med(total - win, total);
    const rss = samples.map((s) => s.rss);
    const result = {
      date: started.toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length,
      minutes, frame, offeredEps: rate, peakEps: peak, achievedEps: load.eventsPerS,
      rssMiB: {
        first: +(rss[0] * MB).toFixed(1), last: +(rss[rss.length - 1] * MB).toFixed(1), max: +(Math.max(...rss) * MB).toFixed(1),
        earlyMedian: +(early * MB).toFixed(1), lateMedian: +(late * MB).toFixed(1),
        window: `median of [${win.toFixed(0)} s, ${(2 * win).toFixed(0)} s] vs [${(total - win).toFixed(0)} s, ${total.toFixed(0)} s]`,
      },
      driftPct: +(((late - early) / early) * 100).toFixed(2),
      /** Deepest queue (events accepted, not yet processed) seen in the early and late windows and over the run. */
      maxQueuedEvents: {
        early: Math.max(0, ...samples.filter((s) => s.t >= win && s.t <= 2 * win).map((s) => s.maxQueued)),
        late: Math.max(0, ...samples.filter((s) => s.t >= total - win).map((s) => s.maxQueued)),
        run: Math.max(...samples.map((s) => s.maxQueued)),
      },
      flatWithin5Pct: Math.abs((late - early) / early) <= 0.05,
      latencyUs: load.latencyUs, lagMs: load.lagMs, serverErrors: load.serverErrors,
      serverCpuPct, loadgenCpuPct: Math.round((load.cpuMs / load.wallMs) * 100), foreignCpuPct,
      engine: { alerts: stats.alerts, rejected: stats.rejected },
      serverSide: metrics ? { processedP50S: metrics.processed.p50, processedP99S: metrics.processed.p99, alertP50S: metrics.alert.p50, alertP99S: metrics.alert.p99 } : null,
      samples: samples.map((s) => ({ t: +s.t.toFixed(1), rssMiB: +(s.rss * MB).toFixed(2), heapMiB: +(s.heapUsed * MB).toFixed(2), externalMiB: +(s.external * MB).toFixed(2), arrayBuffersMiB: +(s.arrayBuffers * MB).toFixed(2), maxQueuedEvents: s.maxQueued })),
    };
    console.log(`\nRSS: first ${result.rssMiB.first} MiB, last ${result.rssMiB.last} MiB, max ${result.rssMiB.max} MiB; ${result.rssMiB.window}: ${result.rssMiB.earlyMedian} -> ${result.rssMiB.lateMedian} MiB, drift ${result.driftPct}% (target: within 5%)`);
    console.log(`deepest queue: ${result.maxQueuedEvents.run} events (second minute ${result.maxQueuedEvents.early}, last minute ${result.maxQueuedEvents.late})`);
    console.log(`load: offered ${rate}/s, achieved ${load.eventsPerS}/s; frame latency p50 ${load.latencyUs.p50} us, p99 ${load.latencyUs.p99} us, p99.9 ${load.latencyUs.p999} us, max ${load.latencyUs.max} us; engine rejects ${stats.rejected}; CPU: server ${serverCpuPct}%, generator ${result.loadgenCpuPct}%, other processes ${foreignCpuPct}% of a core`);
    const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}soak.json`, JSON.stringify(result, null, 2) + '\n');
    console.log('saved bench/results/soak.json');
  } finally {
    await server.stop();
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
