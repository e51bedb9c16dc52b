// Drive an Engine through its zero-copy region in chunks of a chosen size, collecting raw alert records.
import { ALERT_BYTES, N_FIELDS } from '../../src/abi.js';
import { decodeAlert, type Alert, type Engine } from '../../src/engine.js';
import type { EventBatch } from '../../src/events.js';

export interface RawRun { bytes: Uint8Array; alerts: Alert[]; status: Uint8Array }

export function runChunks(engine: Engine, batch: EventBatch, chunk: number): RawRun {
  const parts: Uint8Array[] = [];
  const status = new Uint8Array(batch.length);
  const r = engine.region();
  const size = Math.min(chunk, r.capacity);
  for (let start = 0; start < batch.length; start += size) {
    const end = Math.min(batch.length, start + size);
    const n = end - start;
    r.tsNs.set(batch.tsNs.subarray(start, end));
    r.seq.set(batch.seq.subarray(start, end));
    r.instrument.set(batch.instrument.subarray(start, end));
    r.kind.set(batch.kind.subarray(start, end));
    for (let k = 0; k < N_FIELDS; k++) r.f[k].set(batch.f[k].subarray(start, end));
    engine.ingestRegion(n, (view) => parts.push(new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice()));
    status.set(r.status.subarray(0, n), start);
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  const bytes = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { bytes.set(p, o); o += p.length; }
  const view = new DataView(bytes.buffer);
  const alerts: Alert[] = [];
  for (let i = 0; i < total / ALERT_BYTES; i++) alerts.push(decodeAlert(view, i * ALERT_BYTES));
  return { bytes, alerts, status };
}
