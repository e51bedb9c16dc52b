// Prometheus text exposition (format 0.0.4) without a client library: counters and gauges keyed by label values,
// and histograms with fixed buckets. Updates on the ingest path are an array index and an add.

type Labels = Record<string, string>;

function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  return '{' + names.map((n, i) => `${n}="${escapeLabel(values[i])}"`).join(',') + '}';
}
function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface Metric { render(out: string[]): void }

export class Counter implements Metric {
  readonly #values = new Map<string, { labels: string[]; value: number }>();
  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[] = [], readonly type: 'counter' | 'gauge' = 'counter') {}
  inc(labels: readonly string[] = [], by = 1): void {
    const key = labels.join('\u0000');
    const v = this.#values.get(key);
    if (v) v.value += by;
    else this.#values.set(key, { labels: [...labels], value: by });
  }
  set(labels: readonly string[], value: number): void {
    const key = labels.join('\u0000');
    const v = this.#values.get(key);
    if (v) v.value = value;
    else this.#values.set(key, { labels: [...labels], value });
  }
  get(labels: readonly string[] = []): number { return this.#values.get(labels.join('\u0000'))?.value ?? 0; }
  total(): number { let t = 0; for (const v of this.#values.values()) t += v.value; return t; }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    if (this.#values.size === 0 && this.labelNames.length === 0) out.push(`${this.name} 0`);
    for (const v of this.#values.values()) out.push(`${this.name}${labelText(this.labelNames, v.labels)} ${num(v.value)}`);
  }
}

/** A gauge read when scraped. */
export class GaugeFn implements Metric {
  constructor(readonly name: string, readonly help: string, readonly read: () => number | [Labels, number][]) {}
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`);
    const v = this.read();
    if (typeof v === 'number') out.push(`${this.name} ${num(v)}`);
    else for (const [labels, value] of v) out.push(`${this.name}${labelText(Object.keys(labels), Object.values(labels))} ${num(value)}`);
  }
}

/** Cumulative histogram over fixed upper bounds (seconds for latencies). */
export class Histogram implements Metric {
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;
  constructor(readonly name: string, readonly help: string, readonly bounds: readonly number[]) {
    this.#counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number, times = 1): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.#counts[i] += times;
    this.#sum += v * times;
    this.#count += times;
  }
  get count(): number { return this.#count; }
  /** The q-quantile estimated as the upper bound of the bucket it falls in (+Inf past the last). */
  quantile(q: number): number {
    const target = q * this.#count;
    let acc = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      acc += this.#counts[i];
      if (acc >= target && acc > 0) return i < this.bounds.length ? this.bounds[i] : Infinity;
    }
    return NaN;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.#counts[i];
      out.push(`${this.name}_bucket{le="${this.bounds[i]}"} ${acc}`);
    }
    acc += this.#counts[this.bounds.length];
    out.push(`${this.name}_bucket{le="+Inf"} ${acc}`, `${this.name}_sum ${this.#sum}`, `${this.name}_count ${this.#count}`);
  }
}

/** Latency buckets in seconds: 10 us to 10 s, about 4 per decade. */
export const LATENCY_BOUNDS = [
  1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export class Registry {
  readonly #metrics: Metric[] = [];
  add<M extends Metric>(m: M): M { this.#metrics.push(m); return m; }
  render(): string {
    const out: string[] = [];
    for (const m of this.#metrics) m.render(out);
    return out.join('\n') + '\n';
  }
}
