// Golden vectors: for a few event streams, the exact bytes a host gives the WASM module (configuration array,
// instruments to register, batch region) and the exact bytes it gets back (alert records, status bytes), as
// docs/abi.md lays them out. test/golden.test.ts holds every host (the TypeScript Engine, bare Node, a C host via
// wasm2c, a browser) to these files byte for byte, so that a change of ABI or of behaviour cannot pass unnoticed.
//
//   npm run golden            rebuild, then rewrite test/golden/ (after a deliberate change of behaviour)
//
// The outputs come from the TypeScript Engine; the inputs are encoded here from docs/abi.md, independently of the
// Engine's own batch writer, so that the files are a statement of the documented layout.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ABI_VERSION, ALERT_BYTES, BATCH_BYTES_PER_EVENT, C_LEN, N_FIELDS, REJECT_REASONS } from '../src/abi.js';
import { encodeConfig, resolveConfig } from '../src/config.js';
import { Engine } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import { gaussian, mulberry32 } from '../src/random.js';
import { marketStream, T0 } from '../src/synthetic.js';

export interface CaseSpec {
  name: string;
  description: string;
  /** The JSON configuration (docs/configuration.md); the files hold its encoding, the f64 array. */
  config: Record<string, unknown>;
  /** Ids the host registers, in this order, after init (empty when the configuration auto-registers). */
  instruments: number[];
  /** Alert records per ingest call. The minimum (84) makes every host go round the consumed() loop. */
  alertCapacity: number;
  events: () => EventBatch;
}

const MS = 1_000_000n;

// Low calibration warm-up, a short rate epoch and a mix of modes, so that the static, regime-scaled and target-rate
// calibrators all fire within a few thousand events.
const MARKET_CONFIG = {
  window: 64, warmup: 16,
  calibration: { warmup: 200, rateEpochMs: 10_000, targetPerHour: 20 },
  suppression: { cooldownMs: 2_000 },
  // Half-Space Trees over the default vector with a short window, so that it scores within the stream.
  learned: { hst: { enabled: true, window: 20 } },
  thresholds: {
    default: { mode: 'target', threshold: 6 }, zscore: { mode: 'static', threshold: 5 }, robust: { mode: 'regime', threshold: 5 },
    ewma: { mode: 'regime', threshold: 4 }, hst: { mode: 'static', threshold: 3 },
  },
};

/** The market stream of `marketStream` with price jumps injected, on instruments 1..k. */
export function marketCase(name: string, n: number, alertCapacity: number, instruments = [1, 2, 3]): CaseSpec {
  const jumps = [Math.floor(n * 0.5), Math.floor(n * 0.8)];
  return {
    name,
    description: `mixed market stream (trades, quotes with depth, marks, option tickers, values) on instruments ${instruments.join(', ')}, seed 7, price jumps of 60 bps at events ${jumps.join(' and ')}`,
    config: MARKET_CONFIG,
    instruments,
    alertCapacity,
    events: () => marketStream({ seed: 7, instruments, n, jumps }),
  };
}

export const CASES: CaseSpec[] = [
  marketCase('market', 4000, 84),
  {
    name: 'value-shift',
    description: 'one value series (instrument 7, every 100 ms): N(0, 1), a spike of +9 at event 800, a level shift of +3 from event 1400; auto-registered',
    config: {
      autoRegister: true, window: 128, warmup: 32,
      // Every detector on the value, and the change feature on: the generic kind's defaults use novelty alone.
      features: { value: { detectors: ['zscore', 'robust', 'ewma', 'cusum', 'pageHinkley', 'novelty'] }, valueChange: { enabled: true } },
      // Half-Space Trees over the value and its change: one step per event.
      learned: { hst: { enabled: true, features: ['value', 'valueChange'], window: 100, seed: 3 } },
      thresholds: {
        default: { mode: 'static', threshold: 6 }, cusum: { mode: 'static', threshold: 10 }, pageHinkley: { mode: 'static', threshold: 10 },
        ewma: { mode: 'target', threshold: 6 }, novelty: { mode: 'static', threshold: 100 }, hst: { mode: 'static', threshold: 5 },
      },
    },
    instruments: [],
    alertCapacity: 84,
    events: () => {
      const g = gaussian(mulberry32(11));
      const b = new EventBatch(2000);
      for (let i = 0; i < 2000; i++) b.value(7, T0 + BigInt(i + 1) * 100n * MS, g() + (i === 800 ? 9 : 0) + (i >= 1400 ? 3 : 0));
      return b;
    },
  },
  {
    name: 'fair-value',
    description: 'a perpetual (instrument 1: every 200 ms a quote, then a mark with its index; the index walks by 1 bp, the mid 5 bps over it) whose mid drifts 20 bps off the index over 3 s from event 1600, and an option (instrument 2: every 200 ms, mark IV 0.01 over its neighbour IV, f5) whose mark IV leaves its neighbours by 0.01 at event 1700; RLS fair value, a combination of 2 of fairValue.rls, basis.zscore and midJump.zscore within 5 s',
    config: {
      window: 64, warmup: 16,
      learned: {
        rls: { warmup: 300 },
        combine: { mode: 'kOfN', k: 2, members: ['fairValue.rls', 'basis.zscore', 'midJump.zscore'], windowMs: 5000 },
      },
      thresholds: { default: { mode: 'static', threshold: 6 }, cusum: { mode: 'static', threshold: 12 }, pageHinkley: { mode: 'static', threshold: 12 } },
    },
    instruments: [1, 2],
    alertCapacity: 84,
    events: () => fairValueEvents(),
  },
  {
    name: 'bad-events',
    description: 'trades, quotes and marks on instruments 1..3 with one event in six malformed (NaN, Infinity, negative size, zero index, crossed quote, time going backwards, unknown kind, unregistered instrument); 3 in 4 events numbered by the producer (with gaps), the rest by the engine',
    config: {
      window: 32, warmup: 8,
      suppression: { cooldownMs: 1_000 },
      thresholds: { default: { mode: 'static', threshold: 5 } },
    },
    instruments: [1, 2, 3],
    alertCapacity: 168,
    events: () => badEvents(1200),
  },
  {
    name: 'table-full',
    description: 'value events on instruments 11..14 with auto-registration and room for 2: the first two to arrive are registered, the others rejected as table full; a spike on each registered one',
    config: { autoRegister: true, maxInstruments: 2, window: 16, warmup: 8, thresholds: { default: { mode: 'static', threshold: 6 } } },
    instruments: [],
    alertCapacity: 84,
    events: () => {
      const g = gaussian(mulberry32(3));
      const b = new EventBatch(240);
      for (let i = 0; i < 240; i++) b.value(11 + (i % 4), T0 + BigInt(i + 1) * 250n * MS, g() + (i === 160 || i === 201 ? 12 : 0));
      return b;
    },
  },
];

/** The fair-value case: a perpetual whose mid drifts off its index, an option whose IV leaves its neighbours. */
function fairValueEvents(): EventBatch {
  const g = gaussian(mulberry32(13));
  const b = new EventBatch(3600);
  let idx = 60_000;
  let nb = 0.55;
  for (let i = 0; i < 900; i++) {
    const t = T0 + BigInt(i + 1) * 200n * MS;
    idx *= 1 + 1e-4 * g();
    const off = i < 800 ? 0 : Math.min(1, (i - 799) / 15) * 20e-4;
    const mid = idx * (1 + 5e-4) * (1 + 3e-5 * g()) * (1 + off);
    b.quote(1, t, mid - 0.5, 2, mid + 0.5, 2, NaN, NaN, BigInt(4 * i));
    b.mark(1, t, mid, idx, 1e-4, BigInt(4 * i + 1));
    nb += 0.002 * g();
    const iv = nb + 0.01 + 0.0003 * g() + (i >= 850 && i < 855 ? 0.01 : 0);
    b.push(4, 2, t + MS, iv, 60_000, 100, iv - 0.01, iv + 0.01, nb, BigInt(4 * i + 2));
    // An index-only mark (mark absent) on the option's instrument: accepted, it carries no series the option model uses.
    if (i % 100 === 50) b.push(3, 2, t + 2n * MS, NaN, idx, NaN, NaN, NaN, NaN, BigInt(4 * i + 3));
  }
  return b;
}

/** Market-like events with malformed ones mixed in; each defect is one reject reason of docs/abi.md. */
function badEvents(n: number): EventBatch {
  const u = mulberry32(5);
  const g = gaussian(u);
  const b = new EventBatch(n);
  const ids = [1, 2, 3];
  const mid = new Map(ids.map((id, k) => [id, 60_000 + 1000 * k]));
  const last = new Map<number, bigint>();
  let t = T0;
  for (let i = 0; i < n; i++) {
    if (u() > 0.1) t += BigInt(1 + Math.floor(-Math.log(1 - u()) * 40)) * MS; // else the same timestamp again
    const id = ids[Math.floor(u() * ids.length)];
    const seq = u() < 0.75 ? BigInt(5000 + 2 * i) : -1n;
    const m = mid.get(id)! * (1 + 2e-5 * g()) * (i === 600 ? 1.004 : 1);
    mid.set(id, m);
    if (u() < 1 / 6) {
      switch (Math.floor(u() * 8)) {
        case 0: b.trade(id, t, NaN, 1, 1, seq); break;                                      // 1 non-finite
        case 1: b.quote(id, t, m - 0.1, 1, m + 0.1, 1, Infinity, 50, seq); break;          // 1 non-finite (optional field)
        case 2: b.trade(id, t, m, -0.5, 1, seq); break;                                     // 2 negative
        case 3: b.mark(id, t, m, 0, 1e-4, seq); break;                                      // 2 zero where positive is required
        case 4: b.quote(id, t, m + 0.1, 1, m - 0.1, 1, 50, 50, seq); break;                // 6 crossed
        case 5: b.value(id, (last.get(id) ?? t) - MS, 100, seq); break;                     // 3 time backwards
        case 6: b.push([0, 6, 99][Math.floor(u() * 3)], id, t, 100, NaN, NaN, NaN, NaN, NaN, seq); break; // 5 kind
        default: b.value(4_000_000_000, t, 100 + g(), seq); break;                          // 4 unknown instrument
      }
      continue;
    }
    last.set(id, t);
    const r = u();
    if (r < 0.4) b.trade(id, t, Math.round(m * 10) / 10, -Math.log(1 - u()) * 0.2, u() < 0.5 ? 1 : -1, seq);
    else if (r < 0.85) b.quote(id, t, Math.round((m - 0.05) * 10) / 10, 0.5 + 5 * u(), Math.round((m + 0.05) * 10) / 10, 0.5 + 5 * u(), 50 + 10 * u(), 50 + 10 * u(), seq);
    else b.mark(id, t, m, m * (1 - 1e-4 + 2e-5 * g()), 1e-4 + 1e-6 * g(), seq);
  }
  return b;
}

// ---- Encoding, from docs/abi.md ------------------------------------------------------------------------------

/** The batch region of `capacity` events (docs/abi.md, "Events: the batch region"); status bytes left 0. */
export function encodeBatch(b: EventBatch, capacity = b.length): Uint8Array {
  if (b.length > capacity) throw new RangeError(`${b.length} events do not fit a batch of capacity ${capacity}`);
  const bytes = new Uint8Array(capacity * BATCH_BYTES_PER_EVENT);
  const v = new DataView(bytes.buffer);
  const C = capacity;
  for (let i = 0; i < b.length; i++) {
    v.setBigInt64(8 * i, b.tsNs[i], true);
    v.setBigInt64(8 * C + 8 * i, b.seq[i], true);
    v.setUint32(16 * C + 4 * i, b.instrument[i], true);
    v.setUint32(20 * C + 4 * i, b.kind[i], true);
    for (let k = 0; k < N_FIELDS; k++) v.setFloat64((24 + 8 * k) * C + 8 * i, b.f[k][i], true);
  }
  return bytes;
}

export function encodeU32(values: number[]): Uint8Array {
  const bytes = new Uint8Array(4 * values.length);
  const v = new DataView(bytes.buffer);
  values.forEach((x, i) => v.setUint32(4 * i, x, true));
  return bytes;
}

export function f64Bytes(a: Float64Array): Uint8Array {
  // The host's typed arrays are little-endian on every platform Node runs on; DataView makes it explicit anyway.
  const bytes = new Uint8Array(8 * a.length);
  const v = new DataView(bytes.buffer);
  a.forEach((x, i) => v.setFloat64(8 * i, x, true));
  return bytes;
}

export interface CaseRun {
  config: Uint8Array;
  instruments: Uint8Array;
  batch: Uint8Array;
  alerts: Uint8Array;
  status: Uint8Array;
  n: number;
  accepted: number;
  /** Events rejected, by reason name (only reasons that occurred). */
  rejected: Record<string, number>;
}

/** Run one case through the TypeScript Engine's zero-copy region, with the case's batch and alert capacities. */
export function runCase(spec: CaseSpec): CaseRun {
  const events = spec.events();
  const n = events.length;
  const batch = encodeBatch(events, n);
  const engine = Engine.create(spec.config, { batchCapacity: n, alertCapacity: spec.alertCapacity });
  for (const id of spec.instruments) engine.register(id);
  const r = engine.region();
  new Uint8Array(r.tsNs.buffer, r.tsNs.byteOffset, batch.length).set(batch);
  const parts: Uint8Array[] = [];
  engine.ingestRegion(n, (view) => parts.push(new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice()));
  const status = r.status.slice(0, n);
  const alerts = Buffer.concat(parts);
  const rejected: Record<string, number> = {};
  for (const s of status) if (s !== 0) rejected[REJECT_REASONS[s] ?? String(s)] = (rejected[REJECT_REASONS[s] ?? String(s)] ?? 0) + 1;
  return {
    config: f64Bytes(encodeConfig(resolveConfig(spec.config))),
    instruments: encodeU32(spec.instruments),
    batch,
    alerts: new Uint8Array(alerts.buffer, alerts.byteOffset, alerts.byteLength),
    status,
    n,
    accepted: status.filter((s) => s === 0).length,
    rejected,
  };
}

export const FILES = { config: 'config.f64', instruments: 'instruments.u32', batch: 'batch.bin', alerts: 'alerts.bin', status: 'status.u8' } as const;

export interface ManifestFile { path: string; bytes: number; sha256: string }
export interface ManifestCase {
  name: string;
  description: string;
  n: number;
  /** Batch capacity C of batch.bin (= n): its size is 73 C bytes. */
  capacity: number;
  alertCapacity: number;
  alerts: number;
  accepted: number;
  rejected: Record<string, number>;
  config: Record<string, unknown>;
  files: Record<keyof typeof FILES, ManifestFile>;
}
export interface Manifest {
  about: string;
  abiVersion: number;
  configLen: number;
  alertBytes: number;
  batchBytesPerEvent: number;
  cases: ManifestCase[];
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Run the cases and write them (one directory each) and manifest.json under `dir`, replacing what was there. */
export function writeGolden(dir: string, specs: CaseSpec[] = CASES): Manifest {
  rmSync(dir, { recursive: true, force: true });
  const manifest: Manifest = {
    about: 'Golden vectors of the atc WASM ABI (docs/abi.md, "Golden vectors"); written by `npm run golden` (scripts/golden.ts). Do not edit by hand.',
    abiVersion: ABI_VERSION,
    configLen: C_LEN,
    alertBytes: ALERT_BYTES,
    batchBytesPerEvent: BATCH_BYTES_PER_EVENT,
    cases: [],
  };
  for (const spec of specs) {
    const run = runCase(spec);
    mkdirSync(join(dir, spec.name), { recursive: true });
    const files = {} as ManifestCase['files'];
    for (const [key, file] of Object.entries(FILES) as [keyof typeof FILES, string][]) {
      const bytes = run[key];
      writeFileSync(join(dir, spec.name, file), bytes);
      files[key] = { path: `${spec.name}/${file}`, bytes: bytes.length, sha256: sha256(bytes) };
    }
    manifest.cases.push({
      name: spec.name, description: spec.description, n: run.n, capacity: run.n, alertCapacity: spec.alertCapacity,
      alerts: run.alerts.length / ALERT_BYTES, accepted: run.accepted, rejected: run.rejected, config: spec.config, files,
    });
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../' : '../', import.meta.url));
export const GOLDEN_DIR = resolve(ROOT, 'test/golden');

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const manifest = writeGolden(GOLDEN_DIR);
  let total = 0;
  for (const c of manifest.cases) {
    const bytes = Object.values(c.files).reduce((s, f) => s + f.bytes, 0);
    total += bytes;
    const rejected = Object.entries(c.rejected).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    console.log(`${c.name.padEnd(12)} ${String(c.n).padStart(5)} events, ${String(c.alerts).padStart(4)} alerts, rejected: ${rejected} (${(bytes / 1024).toFixed(1)} KiB)`);
  }
  console.log(`wrote ${GOLDEN_DIR} (${(total / 1024).toFixed(1)} KiB)`);
}
