// Shared by the benchmark files: run a tinybench suite, report nanoseconds per item from the median.
import { Bench } from 'tinybench';
import { gaussian, mulberry32 } from '../src/random.js';

export interface Row {
  name: string;
  /** Median nanoseconds per item (event, update). */
  nsPerItem: number;
  /** 99th percentile of per-iteration time, per item. */
  p99NsPerItem: number;
  iterations: number;
  items: number;
}

export interface Case {
  name: string;
  /** Items processed per call of fn: the per-item figure divides by it. */
  items: number;
  fn: () => unknown;
  beforeEach?: () => void;
}

/** Consume results so the optimiser cannot drop the work. */
export let sink = 0;
export function consume(x: unknown): void { sink += typeof x === 'number' ? x : 1; }

export async function measure(suite: string, cases: Case[], opts: { time?: number; iterations?: number } = {}): Promise<Row[]> {
  const bench = new Bench({ name: suite, time: opts.time ?? 1500, iterations: opts.iterations ?? 10, warmupIterations: 3, throws: true });
  for (const c of cases) {
    bench.add(c.name, () => { consume(c.fn()); }, c.beforeEach ? { beforeEach: c.beforeEach } : {});
  }
  await bench.run();
  return bench.tasks.map((task, i) => {
    const r = task.result;
    if (r.state !== 'completed') throw new Error(`${suite}/${task.name}: ${r.state}`);
    const items = cases[i].items;
    return {
      name: task.name,
      nsPerItem: (r.latency.p50 * 1e6) / items,
      p99NsPerItem: (r.latency.p99 * 1e6) / items,
      iterations: r.latency.samplesCount,
      items,
    };
  });
}

export function printTable(title: string, rows: Row[]): void {
  console.log(`\n## ${title}`);
  console.log('| case | ns/item (median) | ns/item (p99) | iterations |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${fmt(r.nsPerItem)} | ${fmt(r.p99NsPerItem)} | ${r.iterations} |`);
}

export function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/**
 * The four cases every standalone learned-kernel benchmark runs (bench/hst.ts, ocsvm.ts, rls.ts): the module batched
 * on one instrument, batched per instrument round-robin over `instruments` states, one JS->WASM call per point, and
 * the TypeScript twin. `stepMany(state, firstPoint, count)` returns the first score written; `step(state, point)`
 * one score; points are `stride` f64 apart from `xs`; `twinStep(i)` steps the twin on point i.
 */
export function kernelCases(k: {
  label?: string; n: number; instruments: number; states: number[]; xs: number; stride: number;
  stepMany: (state: number, first: number, count: number) => number; step: (state: number, point: number) => number;
  twinStep: (i: number) => number; resetWasm: () => void; resetTwin: () => void; batchedNote?: string;
}): Case[] {
  const { n, instruments, states, xs, stride } = k;
  const at = k.label ? `${k.label}: ` : '';
  const per = n / instruments;
  return [
    { name: `${at}wasm, one instrument, batched${k.batchedNote ? ` (${k.batchedNote})` : ''}`, items: n, beforeEach: k.resetWasm, fn: () => k.stepMany(states[0], xs, n) },
    { name: `${at}wasm, ${instruments} instruments round-robin, batched per instrument`, items: n, beforeEach: k.resetWasm, fn: () => {
      let a = 0;
      for (let j = 0; j < instruments; j++) a += k.stepMany(states[j], xs + 8 * stride * j * per, per);
      return a;
    } },
    { name: `${at}wasm, one call per point from JS`, items: n, beforeEach: k.resetWasm, fn: () => {
      let a = 0;
      for (let i = 0; i < n; i++) a += k.step(states[0], xs + 8 * stride * i);
      return a;
    } },
    { name: `${at}TypeScript twin, one instrument`, items: n, beforeEach: k.resetTwin, fn: () => {
      let a = 0;
      for (let i = 0; i < n; i++) a += k.twinStep(i);
      return a;
    } },
  ];
}

/** n points of `dims` correlated gaussian columns at scales 1, 10, 100, 1000 (a feature vector's shape, not its
 *  values), seeded: the input of the vector kernels' benchmarks (bench/hst.ts, bench/ocsvm.ts). */
export function featurePoints(n: number, dims: number): Float64Array {
  const g = gaussian(mulberry32(1));
  const points = new Float64Array(n * dims);
  for (let i = 0; i < n; i++) {
    const common = g();
    for (let j = 0; j < dims; j++) points[i * dims + j] = 10 ** (j % 4) * (0.5 * common + g());
  }
  return points;
}
