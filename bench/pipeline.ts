// The engine end to end inside one thread: ns per event for the default pipeline on a realistic event mix, per
// detector on a value series, and the plain-TypeScript twin on the same stream, in the same run.
import { Engine } from '../src/engine.js';
import { N_FIELDS, DETECTORS } from '../src/abi.js';
import type { EventBatch } from '../src/events.js';
import { measure, type Case, type Row } from './common.js';
import { EventBatch as Batch } from '../src/events.js';
import { readBinance } from '../src/adapters/binance.js';

/** All events of a capture in one batch (read once, before timing). */
export async function captureBatch(path: string): Promise<Batch> {
  const all = new Batch(1 << 16);
  await readBinance(path, (b) => {
    for (let i = 0; i < b.length; i++) {
      all.push(b.kind[i], b.instrument[i], b.tsNs[i], b.f[0][i], b.f[1][i], b.f[2][i], b.f[3][i], b.f[4][i], b.f[5][i], b.seq[i]);
    }
  });
  return all;
}
import { marketStream, valueStream } from '../src/synthetic.js';

function loader(batch: EventBatch, create: () => Engine): { engine: () => Engine; reset: () => void } {
  let engine: Engine;
  const reset = () => {
    engine = create();
    const r = engine.region();
    r.tsNs.set(batch.tsNs.subarray(0, batch.length));
    r.seq.set(batch.seq.subarray(0, batch.length));
    r.instrument.set(batch.instrument.subarray(0, batch.length));
    r.kind.set(batch.kind.subarray(0, batch.length));
    for (let k = 0; k < N_FIELDS; k++) r.f[k].set(batch.f[k].subarray(0, batch.length));
  };
  reset();
  return { engine: () => engine, reset };
}

/** A perpetual: every 200 ms a quote, then a mark with its index (n events). */
export function perpMarks(n: number): Batch {
  const b = new Batch(n);
  let idx = 60_000;
  let x = 1;
  for (let i = 0; 2 * i + 1 < n; i++) {
    x = (x * 16807) % 2147483647;
    idx *= 1 + 1e-4 * (x / 2147483647 - 0.5);
    const t = 1_700_000_000_000_000_000n + BigInt(i + 1) * 200_000_000n;
    const mid = idx * (1 + 5e-4);
    b.quote(1, t, mid - 0.5, 2, mid + 0.5, 2);
    b.mark(1, t, mid, idx, 1e-4);
  }
  return b;
}

export async function pipelineBench(opts: { n?: number; extra?: { name: string; batch: EventBatch }[] } = {}): Promise<Row[]> {
  const n = opts.n ?? 200_000;
  const cases: Case[] = [];
  const streams = [{ name: 'synthetic perpetuals (trades, quotes, marks, option tickers, values; 4 instruments)', batch: marketStream({ seed: 1, instruments: [1, 2, 3, 4], n }) }, ...(opts.extra ?? [])];
  for (const s of streams) {
    const l = loader(s.batch, () => Engine.create({ autoRegister: true }, { batchCapacity: s.batch.length }));
    cases.push({ name: `default pipeline, wasm: ${s.name}`, items: s.batch.length, beforeEach: l.reset, fn: () => l.engine().ingestRegion(s.batch.length) });
    // The same with the Half-Space Trees channel on (off by default): what it costs per event.
    const on = loader(s.batch, () => Engine.create({ autoRegister: true, learned: { hst: { enabled: true } } }, { batchCapacity: s.batch.length }));
    cases.push({ name: `default pipeline + HST, wasm: ${s.name}`, items: s.batch.length, beforeEach: on.reset, fn: () => on.engine().ingestRegion(s.batch.length) });
    // And with the one-class SVM on (off by default) over its default vector.
    const oc = loader(s.batch, () => Engine.create({ autoRegister: true, learned: { ocsvm: { enabled: true } } }, { batchCapacity: s.batch.length }));
    cases.push({ name: `default pipeline + OCSVM, wasm: ${s.name}`, items: s.batch.length, beforeEach: oc.reset, fn: () => oc.engine().ingestRegion(s.batch.length) });
  }
  // RLS fair value stepping on every mark: a perpetual's quote then mark (with its index) every 200 ms, so every
  // second event steps the regression (mid on index); the same stream with RLS off beside it.
  const marks = perpMarks(n);
  for (const [label, rls] of [['default pipeline (RLS on), RLS stepping on every mark', true], ['default pipeline, RLS off, same stream', false]] as const) {
    const l = loader(marks, () => Engine.create({ autoRegister: true, learned: { rls: { enabled: rls } } }, { batchCapacity: n }));
    cases.push({ name: `${label} (quote + mark every 200 ms, 1 instrument)`, items: n, beforeEach: l.reset, fn: () => l.engine().ingestRegion(n) });
  }
  // HST over the value and its change, one step per value (the value's own detector, novelty, stays on).
  const hstValues = loader(valueStream({ seed: 2, id: 1, n, gapNs: 100_000_000n }), () => Engine.create({
    autoRegister: true, features: { valueChange: { enabled: true, detectors: [] } }, learned: { hst: { enabled: true, features: ['value', 'valueChange'] } },
  }, { batchCapacity: n }));
  cases.push({ name: 'detector novelty + hst over value, valueChange (value series, one HST step per value)', items: n, beforeEach: hstValues.reset, fn: () => hstValues.engine().ingestRegion(n) });
  // Per detector, on a value series, the target-rate calibrator and suppression included.
  const values = valueStream({ seed: 2, id: 1, n, gapNs: 100_000_000n });
  const only = (detectors: string[]) => () => Engine.create({
    autoRegister: true,
    features: { value: { detectors: detectors as never }, valueChange: { enabled: false } },
  }, { batchCapacity: n });
  for (const d of [[], ...DETECTORS.map((x) => [x])]) {
    const l = loader(values, only(d));
    cases.push({ name: d.length ? `detector ${d[0]} (value series)` : 'no detector: feature plumbing only (value series)', items: n, beforeEach: l.reset, fn: () => l.engine().ingestRegion(n) });
  }
  return measure('pipeline', cases);
}
