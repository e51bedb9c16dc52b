#!/usr/bin/env node
// A bare host for build/atc.wasm: WebAssembly, DataView and typed arrays only, none of this package's TypeScript.
// It follows docs/abi.md step by step ("A host, step by step") to run the golden cases in test/golden/, prints their
// alerts and says whether they match the golden alert and status bytes.
//
//   node examples/node-bare/run.mjs                      every case: alerts as a table, then a match line
//   node examples/node-bare/run.mjs --case market --quiet
//   node examples/node-bare/run.mjs --out DIR            also write DIR/<case>.alerts.bin and DIR/<case>.status.u8
//   node examples/node-bare/run.mjs --repeat 20 --json   time 20 runs of each case: one JSON line per case
//   options: --wasm FILE (default build/atc.wasm), --golden DIR (default test/golden), --alert-capacity A
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values: opts } = parseArgs({
  options: {
    wasm: { type: 'string', default: join(ROOT, 'build/atc.wasm') },
    golden: { type: 'string', default: join(ROOT, 'test/golden') },
    case: { type: 'string', multiple: true },
    out: { type: 'string' },
    repeat: { type: 'string', default: '0' },
    'alert-capacity': { type: 'string' },
    json: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});

const PAGE_BYTES = 65536;
const ALERT_BYTES = 64;
const CONFIG_LEN = 344;
const FEATURES = ['return', 'rvol', 'intensity', 'volume', 'flow', 'spread', 'midJump', 'imbalance', 'depth',
  'depthImbalance', 'quoteRate', 'basis', 'funding', 'ivChange', 'value', 'valueChange', 'vector', 'fairValue'];
const DETECTORS = ['zscore', 'robust', 'ewma', 'cusum', 'pageHinkley', 'novelty', 'hst', 'ocsvm', 'rls', 'combined'];
const REGIMES = ['calm', 'normal', 'volatile', 'stressed'];
const MODES = ['static', 'regime', 'target', 'fixed'];

const align = (n, a) => Math.ceil(n / a) * a;

/** One engine over one memory, laid out for a batch of `capacity` events and `alertCapacity` alert records. */
async function createHost(module, configBytes, instrumentIds, capacity, alertCapacity) {
  // 1. The memory is ours: one page holds the module's static data, which instantiation writes below heap_base().
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { exports: x } = await WebAssembly.instantiate(module, { env: { memory } });
  if (x.abi_version() !== 3) throw new Error(`ABI ${x.abi_version()}, this host speaks 3`);
  if (configBytes.length !== x.config_len() * 8) throw new Error(`configuration of ${configBytes.length} bytes, want ${x.config_len() * 8}`);
  // 2. The configuration just above the static data; the module tells how big the arena must be.
  const config = align(x.heap_base(), 16);
  new Uint8Array(memory.buffer, config, configBytes.length).set(configBytes);
  const arenaBytes = x.arena_bytes(config);
  if (arenaBytes < 0) throw new Error(`arena_bytes: error ${arenaBytes}`);
  // 3. Arena (16-aligned), batch and alerts (8-aligned; 64 keeps them on cache lines), then grow to fit. Growing
  //    detaches every earlier view of memory.buffer: views are made after it.
  const arena = align(config + configBytes.length, 64);
  const batch = align(arena + arenaBytes, 64);
  const alerts = align(batch + x.batch_bytes(capacity), 64);
  const end = alerts + alertCapacity * ALERT_BYTES;
  const pages = Math.ceil(end / PAGE_BYTES);
  if (pages > memory.buffer.byteLength / PAGE_BYTES) memory.grow(pages - memory.buffer.byteLength / PAGE_BYTES);
  const init = () => {
    // 4. init copies the configuration into the arena; then the instruments, unless the configuration auto-registers.
    const rc = x.init(arena, config);
    if (rc !== 0) throw new Error(`init: error ${rc}`);
    for (const id of instrumentIds) {
      const slot = x.register(arena, id);
      if (slot < 0) throw new Error(`register(${id}): error ${slot}`);
    }
  };
  init();
  return { x, memory, arena, batch, alerts, capacity, alertCapacity, init };
}

/** 5. Events [0, n) of the batch region; resumes at consumed() whenever the alert buffer fills. */
function ingest(h, n, onAlerts) {
  let total = 0;
  for (let start = 0; start < n; start = h.x.consumed(h.arena)) {
    const written = h.x.ingest(h.arena, h.batch, h.capacity, start, n, h.alerts, h.alertCapacity);
    if (written < 0) throw new Error(`ingest: error ${written}`);
    if (written > 0 && onAlerts) onAlerts(new Uint8Array(h.memory.buffer, h.alerts, written * ALERT_BYTES));
    total += written;
  }
  return total;
}

function decodeAlert(v, o) {
  return {
    tsNs: v.getBigInt64(o, true), seq: v.getBigInt64(o + 8, true), instrument: v.getUint32(o + 16, true),
    feature: FEATURES[v.getUint8(o + 20)], detector: DETECTORS[v.getUint8(o + 21)], severity: v.getUint8(o + 22),
    regime: REGIMES[v.getUint8(o + 23)], value: v.getFloat64(o + 24, true), expected: v.getFloat64(o + 32, true),
    score: v.getFloat64(o + 40, true), threshold: v.getFloat64(o + 48, true), volRatio: v.getFloat32(o + 56, true),
    mode: MODES[v.getUint32(o + 60, true)],
  };
}

const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4));

const module = await WebAssembly.compile(readFileSync(opts.wasm));
const manifest = JSON.parse(readFileSync(join(opts.golden, 'manifest.json'), 'utf8'));
const cases = manifest.cases.filter((c) => !opts.case || opts.case.includes(c.name));
if (opts.case && cases.length !== opts.case.length) throw new Error(`unknown case in ${opts.case.join(', ')}`);
const repeat = Number(opts.repeat);
let mismatches = 0;

for (const c of cases) {
  const file = (key) => new Uint8Array(readFileSync(join(opts.golden, c.files[key].path)));
  const batchBytes = file('batch');
  const capacity = batchBytes.length / 73;
  const ids = new DataView(file('instruments').buffer);
  const instrumentIds = Array.from({ length: ids.byteLength / 4 }, (_, i) => ids.getUint32(4 * i, true));
  const alertCapacity = Number(opts['alert-capacity'] ?? c.alertCapacity);
  const h = await createHost(module, file('config'), instrumentIds, capacity, alertCapacity);
  const region = () => new Uint8Array(h.memory.buffer, h.batch, batchBytes.length);

  if (repeat > 0) {
    // Timing: a fresh arena and a fresh copy of the batch (ingest writes sequence numbers and status into it) before
    // each run; only the ingest loop is timed.
    const nsPerEvent = [];
    for (let r = 0; r < repeat + 1; r++) {
      h.init();
      region().set(batchBytes);
      const t0 = process.hrtime.bigint();
      ingest(h, c.n);
      const ns = Number(process.hrtime.bigint() - t0);
      if (r > 0) nsPerEvent.push(ns / c.n); // the first run warms the JIT up
    }
    const row = { host: 'node-bare', case: c.name, events: c.n, repeat, nsPerEvent: median(nsPerEvent), nsPerEventMin: Math.min(...nsPerEvent) };
    console.log(opts.json ? JSON.stringify(row) : `${c.name}: ${row.nsPerEvent.toFixed(1)} ns/event (median of ${repeat}, min ${row.nsPerEventMin.toFixed(1)})`);
    continue;
  }

  region().set(batchBytes);
  const parts = [];
  ingest(h, c.n, (records) => parts.push(records.slice()));
  const alerts = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((o, p) => (alerts.set(p, o), o + p.length), 0);
  const status = new Uint8Array(h.memory.buffer, h.batch + 72 * capacity, c.n).slice();

  if (opts.out) {
    mkdirSync(opts.out, { recursive: true });
    writeFileSync(join(opts.out, `${c.name}.alerts.bin`), alerts);
    writeFileSync(join(opts.out, `${c.name}.status.u8`), status);
  }
  const ok = equal(alerts, file('alerts')) && equal(status, file('status'));
  if (!ok) mismatches++;
  if (!opts.quiet) {
    console.log(`\n## ${c.name}: ${c.description}`);
    const v = new DataView(alerts.buffer);
    for (let o = 0; o < alerts.length; o += ALERT_BYTES) {
      const a = decodeAlert(v, o);
      console.log(`seq ${String(a.seq).padStart(6)}  id ${String(a.instrument).padStart(2)}  ${`${a.feature}.${a.detector}`.padEnd(22)} sev ${a.severity} ${a.regime.padEnd(8)} ` +
        `value ${fmt(a.value).padStart(9)} expected ${fmt(a.expected).padStart(9)} score ${fmt(a.score).padStart(7)} threshold ${fmt(a.threshold).padStart(6)} ${a.mode}`);
    }
  }
  const accepted = status.filter((s) => s === 0).length;
  console.log(`${c.name}: ${c.n} events, ${accepted} accepted, ${alerts.length / ALERT_BYTES} alerts: ${ok ? 'match' : 'DO NOT match'} the golden alert and status bytes`);
}
process.exitCode = mismatches > 0 ? 1 : 0;
