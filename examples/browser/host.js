// A browser host for atc.wasm: the plain WebAssembly API over a WebAssembly.Memory this page creates, following
// docs/abi.md ("A host, step by step"). It runs the golden cases of test/golden/, shows their alerts and checks them
// against the golden bytes. No framework, no bundler.
//
// Query parameters: wasm (module URL), golden (directory of manifest.json), case (one case), repeat (time that many
// runs of each case instead of showing alerts). Results are left on window.atc for tests and benchmarks:
//   window.atc = { done, error, results: { [case]: { alerts, accepted, rejected, alertsHex, statusHex, match } } }
// (with repeat: { events, repeat, nsPerEvent, nsPerEventMin } instead).

const PAGE_BYTES = 65536;
const ALERT_BYTES = 64;
const FEATURES = ['return', 'rvol', 'intensity', 'volume', 'flow', 'spread', 'midJump', 'imbalance', 'depth',
  'depthImbalance', 'quoteRate', 'basis', 'funding', 'ivChange', 'value', 'valueChange', 'vector', 'fairValue'];
const DETECTORS = ['zscore', 'robust', 'ewma', 'cusum', 'pageHinkley', 'novelty', 'hst', 'ocsvm', 'rls', 'combined'];
const REGIMES = ['calm', 'normal', 'volatile', 'stressed'];
const MODES = ['static', 'regime', 'target', 'fixed'];
const REJECT_REASONS = ['ok', 'nonFinite', 'negative', 'timeBackwards', 'unknownInstrument', 'badKind', 'crossedQuote', 'tableFull'];

const params = new URLSearchParams(location.search);
const wasmUrl = new URL(params.get('wasm') ?? '../../build/atc.wasm', location.href);
const goldenUrl = new URL(params.get('golden') ?? '../../test/golden/', location.href);
const repeat = Number(params.get('repeat') ?? 0);
window.atc = { done: false, error: null, results: {} };

const align = (n, a) => Math.ceil(n / a) * a;
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** One engine over one memory, laid out for a batch of `capacity` events and `alertCapacity` alert records. */
async function createHost(module, configBytes, instrumentIds, capacity, alertCapacity) {
  // 1. The memory is ours: one page holds the static data that instantiation writes below heap_base().
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const x = instance.exports;
  if (x.abi_version() !== 3) throw new Error(`module ABI ${x.abi_version()}, this page speaks 3`);
  // 2. The configuration just above the static data; the module says how big the arena must be.
  const config = align(x.heap_base(), 16);
  new Uint8Array(memory.buffer, config, configBytes.length).set(configBytes);
  const arenaBytes = x.arena_bytes(config);
  if (arenaBytes < 0) throw new Error(`arena_bytes: error ${arenaBytes}`);
  // 3. Arena (16-aligned), batch and alerts (8-aligned; 64 keeps them on cache lines), then grow to fit. Growing
  //    detaches earlier views of memory.buffer, so views are always made afresh.
  const arena = align(config + configBytes.length, 64);
  const batch = align(arena + arenaBytes, 64);
  const alerts = align(batch + x.batch_bytes(capacity), 64);
  const pages = Math.ceil((alerts + alertCapacity * ALERT_BYTES) / PAGE_BYTES);
  const have = memory.buffer.byteLength / PAGE_BYTES;
  if (pages > have) memory.grow(pages - have);
  const init = () => {
    // 4. A fresh arena, then the instruments (none when the configuration auto-registers).
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

/** 5. Events [0, n); when the alert buffer fills the module stops, and we go on from consumed(). */
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

async function runCase(module, c) {
  const file = (key) => fetchBytes(new URL(c.files[key].path, goldenUrl));
  const [config, ids, batchBytes, goldenAlerts, goldenStatus] = await Promise.all(['config', 'instruments', 'batch', 'alerts', 'status'].map(file));
  const idView = new DataView(ids.buffer);
  const instrumentIds = Array.from({ length: ids.length / 4 }, (_, i) => idView.getUint32(4 * i, true));
  const capacity = batchBytes.length / 73;
  const h = await createHost(module, config, instrumentIds, capacity, c.alertCapacity);
  const region = () => new Uint8Array(h.memory.buffer, h.batch, batchBytes.length);

  if (repeat > 0) {
    // Timing: a fresh arena and batch copy (ingest writes sequence numbers and status into it) before each run; only
    // the ingest loop is timed; the first run warms the JIT up.
    const ns = [];
    for (let r = 0; r <= repeat; r++) {
      h.init();
      region().set(batchBytes);
      const t0 = performance.now();
      ingest(h, c.n);
      if (r > 0) ns.push(((performance.now() - t0) * 1e6) / c.n);
    }
    ns.sort((a, b) => a - b);
    return { events: c.n, repeat, nsPerEvent: ns[Math.floor(ns.length / 2)], nsPerEventMin: ns[0] };
  }

  region().set(batchBytes);
  const parts = [];
  ingest(h, c.n, (records) => parts.push(records.slice()));
  const alerts = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((o, p) => (alerts.set(p, o), o + p.length), 0);
  const status = new Uint8Array(h.memory.buffer, h.batch + 72 * capacity, c.n).slice();
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const rejected = {};
  for (const s of status) if (s !== 0) rejected[REJECT_REASONS[s] ?? s] = (rejected[REJECT_REASONS[s] ?? s] ?? 0) + 1;
  return {
    alerts: alerts.length / ALERT_BYTES,
    accepted: status.filter((s) => s === 0).length,
    rejected,
    alertsHex: hex(alerts),
    statusHex: hex(status),
    match: same(alerts, goldenAlerts) && same(status, goldenStatus),
    decoded: Array.from({ length: alerts.length / ALERT_BYTES }, (_, i) => decodeAlert(new DataView(alerts.buffer), i * ALERT_BYTES)),
  };
}

// ---- Rendering -----------------------------------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
const num = (x) => (Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(3) : x.toPrecision(3));
// Nanoseconds since the epoch do not fit a double exactly: whole milliseconds for Date, the rest as digits.
const time = (ns) => new Date(Number(ns / 1_000_000n)).toISOString().replace('Z', String(ns % 1_000_000n).padStart(6, '0') + 'Z');

function render(c, r) {
  const section = el('section', { id: `case-${c.name}` });
  const badge = el('span', { class: r.match ? 'badge ok' : 'badge bad' }, r.match ? 'matches the golden bytes' : 'DIFFERS from the golden bytes');
  section.append(el('h2', {}, c.name, ' ', badge));
  section.append(el('p', { class: 'about' }, c.description));
  const rejected = Object.entries(r.rejected).map(([reason, count]) => `${reason} ${count}`).join(', ');
  section.append(el('p', { class: 'counts' }, `${c.n.toLocaleString()} events, ${r.accepted.toLocaleString()} accepted${rejected ? ` (rejected: ${rejected})` : ''}, ${r.alerts} alerts`));
  if (r.decoded.length === 0) return section;
  const head = ['time (UTC)', 'seq', 'instrument', 'feature', 'detector', 'severity', 'regime', 'value', 'expected', 'score', 'threshold', 'mode'];
  const table = el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))));
  const body = el('tbody');
  for (const a of r.decoded) {
    body.append(el('tr', {},
      el('td', { class: 'time' }, time(a.tsNs)), el('td', { class: 'n' }, String(a.seq)), el('td', { class: 'n' }, String(a.instrument)),
      el('td', {}, a.feature), el('td', {}, a.detector), el('td', {}, el('span', { class: `sev sev${a.severity}` }, String(a.severity))),
      el('td', {}, a.regime), el('td', { class: 'n' }, num(a.value)), el('td', { class: 'n' }, num(a.expected)),
      el('td', { class: 'n' }, num(a.score)), el('td', { class: 'n' }, num(a.threshold)), el('td', {}, a.mode)));
  }
  table.append(body);
  section.append(table);
  return section;
}

async function main() {
  const status = document.getElementById('status');
  const out = document.getElementById('cases');
  try {
    const [module, manifest] = await Promise.all([
      WebAssembly.compileStreaming(fetch(wasmUrl)),
      fetch(new URL('manifest.json', goldenUrl)).then((r) => r.json()),
    ]);
    const only = params.get('case');
    const cases = manifest.cases.filter((c) => !only || c.name === only);
    status.textContent = `${wasmUrl.pathname}: ABI ${manifest.abiVersion}, ${cases.length} case${cases.length === 1 ? '' : 's'} from ${goldenUrl.pathname}`;
    for (const c of cases) {
      const r = await runCase(module, c);
      const { decoded, ...plain } = r;
      window.atc.results[c.name] = plain;
      if (repeat > 0) out.append(el('p', {}, `${c.name}: ${r.nsPerEvent.toFixed(1)} ns/event (median of ${repeat} runs of ${c.n.toLocaleString()} events)`));
      else out.append(render(c, r));
    }
    const all = Object.values(window.atc.results);
    if (repeat === 0) {
      const ok = all.every((r) => r.match);
      status.append(' — ', el('strong', { class: ok ? 'ok' : 'bad' }, ok ? 'every case matches its golden alert and status bytes' : 'some cases differ from the golden bytes'));
    }
  } catch (err) {
    window.atc.error = String(err && err.stack ? err.stack : err);
    status.textContent = `error: ${err}`;
    status.className = 'bad';
  } finally {
    window.atc.done = true;
  }
}

main();
