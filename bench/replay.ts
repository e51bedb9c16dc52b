// `npm run bench:replay [-- DIR|FILE...] [--runs N] [--quick]`: replay throughput of Binance captures (default
// ../shared/data/binance/*.gz), in messages per second, stage by stage and end to end, on one thread:
//   (a) read + gunzip + line split   the file streamed from disk through zlib and cut into lines
//   (b) parse                        receive time and message of every line (the byte scanner), the file inflated in
//                                    memory first, then copied chunk by chunk into the scanner's WebAssembly memory and
//                                    read there, as the reader does; "JSON.parse" is parseJsonMessage on each line's
//                                    text, for comparison
//   (c) book                         the capture's depth diffs and snapshot applied to an order book, depth derived
//                                    after each (the messages parsed before timing, each copied into one reused
//                                    message whose levels lie in the WebAssembly module's memory before it is
//                                    applied, as the scanner fills one)
//   (d) engine                       the replay's events (read before timing) through a fresh engine, 4096 at a time
//   (e) end to end                   BinanceReader streaming the file into Engine.ingest: the real path, parsing,
//                                    books and all
// Each stage runs in its own Node process, so that one stage's garbage and JIT history cannot slow another (they
// did: an end-to-end run measured after the other stages in one process took 2-4x as long). Figures are medians of
// several runs after warm-up runs, given as messages of the whole capture per second, so that the stage times add
// up to about the end-to-end time. (e) is also given per CPU-second of the whole process: zlib inflates on libuv's
// thread pool, so with two cores the wall time hides part of gunzip; messages per CPU-second is what one core
// alone would do, and (e) is run once more pinned to one core (`taskset -c 0`, where available): the target's
// figure. Every stage also records its CPU time, which a busy machine disturbs less than the wall time.
// Results go to bench/results/replay.json (a --quick pass, for CI: bench/results/replay-quick.json, not committed).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { BinanceReader, Levels, MSG_DEPTH, MSG_SNAPSHOT, newParsedMessage, parseJsonMessage } from '../src/adapters/binance.js';
import { BinanceScanner, ReceiveTime, scanReceiveTime, sharedScanner } from '../src/adapters/binance-scan.js';
import { OrderBook } from '../src/adapters/book.js';
import { ByteChunks, LineSplitter } from '../src/adapters/chunks.js';
import { Engine } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import { INPUT_BYTES, sharedBinanceWasm } from '../src/wasm/binance.js';
import { consume, sink } from './common.js';

const STAGES = ['read', 'parse', 'parseJson', 'book', 'engine', 'endToEnd'] as const;
type StageName = (typeof STAGES)[number];

interface Timing { ms: number[]; cpuMs: number[] }
interface Info { file: string; bytes: number; inflatedBytes: number; lines: number; messages: number; depthMessages: number; levels: number; events: number }
/** Wall time (median and least) and CPU time of the whole process (median: zlib's thread pool included). */
interface Stage { ms: number; minMs: number; msgPerS: number; cpuMs: number; msgPerCpuS: number }
interface Result extends Info {
  stages: Record<StageName, Stage> & {
    /** (e) pinned to one core with `taskset -c 0` (zlib's thread pool shares it); absent where taskset is not. */
    endToEndOneCore?: Stage;
  };
}

const gc = (globalThis as { gc?: () => void }).gc;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Wall and CPU times (of the whole process, all threads) of `fn` over `runs` runs after `warmup` runs; `setup`
 * (untimed) runs before each, then a full garbage collection unless `collect` is false. CPU time is what a shared
 * machine disturbs least: another process on the core stretches the wall time, not this process's CPU time.
 */
async function time(runs: number, warmup: number, fn: () => unknown, setup?: () => void, collect = true): Promise<Timing> {
  const ms: number[] = [], cpuMs: number[] = [];
  for (let r = 0; r < warmup + runs; r++) {
    setup?.();
    if (collect) gc?.();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    consume(await fn());
    const t = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (r >= warmup) { ms.push(t); cpuMs.push((c.user + c.system) / 1000); }
  }
  return { ms, cpuMs };
}

/** Line spans [start, end) of an inflated capture, newline excluded. */
function lineSpans(buf: Buffer): Int32Array {
  const spans: number[] = [];
  let from = 0;
  for (let nl = buf.indexOf(10, from); nl !== -1; nl = buf.indexOf(10, from)) { spans.push(from, nl); from = nl + 1; }
  if (from < buf.length) spans.push(from, buf.length);
  return Int32Array.from(spans);
}

/** A depth message of the capture: its ids, line, and its levels as spans of one shared pool. */
interface Depth { snapshot: boolean; firstUpdateId: number; updateId: number; prevUpdateId: number; bidFrom: number; bidN: number; askFrom: number; askN: number; line: number }

function appendLevels(pool: Levels, src: Levels): number {
  const from = pool.n;
  for (let i = 0; i < src.n; i++) pool.push(src.pxMant[i], src.pxDec[i], src.qtyMant[i], src.qtyDec[i]);
  return from;
}

/** Levels [from, from + n) of the pool into `into` (a parser's reused Levels, as the reader's scanner fills). */
function fillLevels(into: Levels, pool: Levels, from: number, n: number): void {
  while (into.pxMant.length < n) into.grow();
  const pm = into.pxMant, pd = into.pxDec, qm = into.qtyMant, qd = into.qtyDec;
  for (let i = 0; i < n; i++) { pm[i] = pool.pxMant[from + i]; pd[i] = pool.pxDec[from + i]; qm[i] = pool.qtyMant[from + i]; qd[i] = pool.qtyDec[from + i]; }
  into.n = n;
}

/**
 * The capture inflated, its lines, and its depth messages parsed. Their levels sit in one pool, copied into one
 * reused message before each is applied, as the reader's scanner fills one: levels kept in a typed array per message
 * (214,000 small arrays on COIN-M) made the book stage measure cache misses on them: COIN-M's took 36.6 ms
 * CPU that way, 25.0 ms this way (USD-M and spot, with fewer and longer messages, 1-2% less).
 */
function load(path: string) {
  const gz = readFileSync(path);
  const buf = gunzipSync(gz);
  const spans = lineSpans(buf);
  const scanner = new BinanceScanner();
  const msg = newParsedMessage();
  const rt = new ReceiveTime();
  const depth: Depth[] = [];
  const pool = new Levels(1 << 16);
  let messages = 0, levels = 0;
  for (let i = 0; i < spans.length / 2; i++) {
    const s = spans[2 * i], e = spans[2 * i + 1];
    const space = scanReceiveTime(buf, s, e, rt);
    if (space < 0) continue;
    messages++;
    const kind = scanner.parse(buf, space + 1, e, msg);
    if (kind === MSG_DEPTH || kind === MSG_SNAPSHOT) {
      const bidFrom = appendLevels(pool, msg.bids), askFrom = appendLevels(pool, msg.asks);
      depth.push({ snapshot: kind === MSG_SNAPSHOT, firstUpdateId: msg.firstUpdateId, updateId: msg.updateId, prevUpdateId: msg.prevUpdateId, bidFrom, bidN: msg.bids.n, askFrom, askN: msg.asks.n, line: i + 1 });
      levels += msg.bids.n + msg.asks.n;
    }
  }
  return { gz, buf, spans, depth, pool, messages, levels };
}

/** Every event the reader yields, in 4096-event batches of their own. */
async function events(path: string): Promise<EventBatch[]> {
  const all = new EventBatch(1 << 17);
  for await (const b of new BinanceReader(path)) {
    for (let i = 0; i < b.length; i++) all.push(b.kind[i], b.instrument[i], b.tsNs[i], b.f[0][i], b.f[1][i], b.f[2][i], b.f[3][i], b.f[4][i], b.f[5][i]);
  }
  const slices: EventBatch[] = [];
  for (let s = 0; s < all.length; s += 4096) slices.push(all.slice(s, Math.min(all.length, s + 4096)));
  return slices;
}

/** One stage of one capture, in this process. */
async function runStage(stage: StageName | 'info', path: string, runs: number, warmup: number): Promise<Timing | Info> {
  if (stage === 'read') {
    return time(runs, warmup, async () => {
      const input = new ByteChunks(path);
      const split = new LineSplitter();
      let n = 0;
      for await (const chunk of input) {
        split.push(chunk);
        while (split.next()) n++;
      }
      if (split.finish()) n++;
      return n;
    });
  }
  if (stage === 'endToEnd') {
    let engine: Engine | undefined;
    return time(runs, warmup, async () => {
      let alerts = 0;
      for await (const b of new BinanceReader(path)) alerts += engine!.ingest(b).alerts.length;
      return alerts;
      // No forced collection between these runs: it would free the last run's reader and books before the next
      // exist, and V8 then drops their classes' hidden maps and the optimised code built on them, and re-optimises
      // into code we measured 1.5-2x slower. A replay never has that gap (the next file's reader exists before the
      // last one's is collected); natural collections still run.
    }, () => { engine = Engine.create({ autoRegister: true }); }, false);
  }
  if (stage === 'engine') {
    const slices = await events(path);
    let engine: Engine | undefined;
    return time(runs, warmup, () => {
      let alerts = 0;
      for (const s of slices) alerts += engine!.ingest(s).alerts.length;
      return alerts;
    }, () => { engine = Engine.create({ autoRegister: true }); });
  }
  const { gz, buf, spans, depth, pool, messages, levels } = load(path);
  const nLines = spans.length / 2;
  const msg = newParsedMessage();
  const rt = new ReceiveTime();
  if (stage === 'info') {
    const slices = await events(path);
    return {
      file: path.split('/').pop()!, bytes: gz.length, inflatedBytes: buf.length, lines: nLines, messages,
      depthMessages: depth.length, levels, events: slices.reduce((a, s) => a + s.length, 0),
    };
  }
  if (stage === 'parse') {
    // The reader's scanner (one per process, see BinanceScanner), and its path: the inflated file copied in chunks of
    // at most 1 MiB (cut at line ends) into a region of the scanner's WebAssembly memory, each line's receive time
    // and message read there in one call.
    const sc = sharedScanner();
    const region = sc.acquireInput();
    const chunks: { from: number; to: number; firstLine: number; lines: number }[] = [];
    for (let i = 0; i < nLines;) {
      const from = spans[2 * i];
      let j = i;
      while (j < nLines && spans[2 * j + 1] + 1 - from <= INPUT_BYTES) j++;
      if (j === i) j = i + 1; // a line longer than a region: alone (the scanner copies it line by line)
      chunks.push({ from, to: Math.min(buf.length, spans[2 * (j - 1) + 1] + 1), firstLine: i, lines: j - i });
      i = j;
    }
    return time(runs, warmup, () => {
      let acc = 0;
      for (const c of chunks) {
        const bytes = region >= 0 && c.to - c.from <= INPUT_BYTES ? sc.loadInput(region, buf.subarray(c.from, c.to)) : buf.subarray(c.from, c.to);
        for (let i = c.firstLine, last = c.firstLine + c.lines; i < last; i++) {
          const k = sc.parseLine(bytes, spans[2 * i] - c.from, spans[2 * i + 1] - c.from, msg, rt);
          if (k >= 0) acc += k;
        }
      }
      return acc;
    });
  }
  if (stage === 'parseJson') {
    const texts: string[] = [];
    for (let i = 0; i < nLines; i++) texts.push(buf.toString('utf8', spans[2 * i], spans[2 * i + 1]));
    return time(runs, warmup, () => {
      let acc = 0;
      for (const t of texts) acc += parseJsonMessage(t, t.indexOf(' ') + 1, msg);
      return acc;
    });
  }
  // book: one book, reset before each run (a replay keeps its books for the whole file). The message's levels lie in
  // the WebAssembly module's memory, as the reader's scanner leaves them, so that the book's kernels set them.
  const book = new OrderBook('bench');
  const m = newParsedMessage();
  const w = sharedBinanceWasm();
  if (w) {
    m.bids.pxMant = w.bidsPxMant; m.bids.pxDec = w.bidsPxDec; m.bids.qtyMant = w.bidsQtyMant; m.bids.qtyDec = w.bidsQtyDec;
    m.asks.pxMant = w.asksPxMant; m.asks.pxDec = w.asksPxDec; m.asks.qtyMant = w.asksQtyMant; m.asks.qtyDec = w.asksQtyDec;
  }
  return time(runs, warmup, () => {
    let acc = 0;
    for (const d of depth) {
      fillLevels(m.bids, pool, d.bidFrom, d.bidN);
      fillLevels(m.asks, pool, d.askFrom, d.askN);
      m.firstUpdateId = d.firstUpdateId;
      m.updateId = d.updateId;
      m.prevUpdateId = d.prevUpdateId;
      acc += d.snapshot ? book.applySnapshot(d.updateId, m.bids, m.asks, d.line) : book.applyDiffMessage(m, d.line);
      acc += book.bidDepth;
    }
    return acc;
  }, () => book.reset());
}

/** Run a stage in a fresh Node process and return what it printed. */
function inChild<T>(stage: string, path: string, runs: number, warmup: number, oneCore = false): T {
  const self = fileURLToPath(import.meta.url);
  const argv = [process.execPath, '--expose-gc', self, '--stage', stage, path, '--runs', String(runs), '--warmup', String(warmup)];
  if (oneCore) argv.unshift('taskset', '-c', '0');
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`stage ${stage} of ${path} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const M = (x: number) => `${(x / 1e6).toFixed(2)} M/s`;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const n = (x: number) => x.toLocaleString('en-US');

function stageOf(t: Timing, messages: number): Stage {
  const m = median(t.ms), c = median(t.cpuMs);
  return { ms: m, minMs: Math.min(...t.ms), msgPerS: messages / (m / 1000), cpuMs: c, msgPerCpuS: messages / (c / 1000) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const quick = args.includes('--quick');
  const runs = Number(opt('--runs') ?? (quick ? 3 : 9));
  const warmup = Number(opt('--warmup') ?? (quick ? 2 : 4));
  const valued = new Set(['--runs', '--warmup', '--stage']);
  const positional = args.filter((a, i) => !a.startsWith('--') && !valued.has(args[i - 1]));
  const stage = opt('--stage');
  if (stage !== undefined) {
    // A child: one stage of one file; JSON on stdout.
    process.stdout.write(JSON.stringify(await runStage(stage as StageName, positional[0], runs, warmup)));
    return;
  }
  const targets = positional.length > 0 ? positional : ['../shared/data/binance'];
  const files: string[] = [];
  for (const t of targets.map((p) => resolve(p))) {
    if (statSync(t).isDirectory()) files.push(...readdirSync(t).filter((f) => f.endsWith('.gz')).sort().map((f) => join(t, f)));
    else files.push(t);
  }
  // The target is one core: measured with the process pinned to CPU 0 (Linux's taskset), where zlib's thread pool
  // competes with the parser instead of running beside it.
  const oneCore = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const started = new Date();
  console.log(`atc replay benchmark — ${started.toISOString()} — node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}; ` +
    `each stage in its own process, median of ${runs} runs after ${warmup} warm-up runs`);
  const results: Result[] = [];
  for (const f of files) {
    const info = inChild<Info>('info', f, 0, 0);
    const stages = {} as Result['stages'];
    for (const s of STAGES) {
      const t = inChild<Timing>(s, f, runs, warmup);
      stages[s] = stageOf(t, info.messages);
      process.stderr.write('.');
    }
    if (oneCore) stages.endToEndOneCore = stageOf(inChild<Timing>('endToEnd', f, runs, warmup, true), info.messages);
    results.push({ ...info, stages });
  }
  process.stderr.write('\n');

  console.log('\n## Messages per second of the whole capture, by stage (median ms)\n');
  console.log('| capture | messages | (a) read+gunzip+split | (b) parse | (c) book | (d) engine | (e) end to end | (e) per CPU-second | (e) one core | (b) with JSON.parse |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const s = r.stages;
    const one = s.endToEndOneCore ? `${M(s.endToEndOneCore.msgPerS)} (${ms(s.endToEndOneCore.ms)})` : 'n/a';
    console.log(`| ${r.file} | ${n(r.messages)} | ${M(s.read.msgPerS)} (${ms(s.read.ms)}) | ${M(s.parse.msgPerS)} (${ms(s.parse.ms)}) | ` +
      `${M(s.book.msgPerS)} (${ms(s.book.ms)}) | ${M(s.engine.msgPerS)} (${ms(s.engine.ms)}) | ${M(s.endToEnd.msgPerS)} (${ms(s.endToEnd.ms)}) | ` +
      `${M(s.endToEnd.msgPerCpuS)} (${ms(s.endToEnd.cpuMs)} CPU) | ${one} | ${M(s.parseJson.msgPerS)} (${ms(s.parseJson.ms)}) |`);
  }
  console.log('\n| capture | gzip | inflated | depth messages | levels in them | book: ns per level | events |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(`| ${r.file} | ${(r.bytes / 1e6).toFixed(1)} MB | ${(r.inflatedBytes / 1e6).toFixed(1)} MB | ${n(r.depthMessages)} | ${n(r.levels)} | ` +
      `${((r.stages.book.ms * 1e6) / r.levels).toFixed(0)} | ${n(r.events)} |`);
  }
  const worst = Math.min(...results.map((r) => Math.min(r.stages.endToEnd.msgPerS, r.stages.endToEnd.msgPerCpuS, r.stages.endToEndOneCore?.msgPerS ?? Infinity)));
  // A quick pass (3 runs after 2 warm-ups, for CI) proves the stages run; it is too short to judge the target.
  const verdict = quick ? 'a --quick pass: too few runs to judge the target, run without --quick' : worst >= 1e6 ? 'met' : 'not met';
  console.log(`\nTarget: >= 1 M messages/s end to end on one core. Slowest capture, the lowest of its wall-time, CPU-time and one-core rates: ${M(worst)} (${verdict}).`);

  const out = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  // A quick pass does not replace the full run's figures.
  const name = quick ? 'replay-quick.json' : 'replay.json';
  writeFileSync(join(out, name), JSON.stringify({ date: started.toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, runs, warmup, results }, null, 2) + '\n');
  console.log(`saved bench/results/${name}`);
  if (sink === -1) console.log(''); // the consumed results stay observable
}

main().catch((err) => { console.error(err); process.exit(1); });
