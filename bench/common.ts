// Shared by the benchmark files: run a tinybench suite, report nanoseconds per item from the median.
import { Bench } from 'tinybench';

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
