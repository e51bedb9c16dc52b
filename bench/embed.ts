// `npm run bench:embed`: the embeddable module's size, and ns per event in every host of examples/ on one batch:
// Node through the TypeScript Engine, bare Node, the C host (wasm2c, cc -O2) and chromium. Printed, and saved to
// bench/results/embed.json. Targets (benchmarks, not tests): module <= 64 KiB; C host within 1.5x of Node.
//
// The batch is the golden "market" stream made longer (scripts/golden.ts), written to a temporary directory in the
// golden layout so that every host reads the same bytes. Each host times only its ingest loop, over a fresh arena
// and a fresh copy of the batch per run (ingest writes sequence numbers and status into the batch), and reports
// the median of its runs after one warm-up run. Before timing, each host's alerts on the batch are checked against
// the Engine's: a fast host that gets the wrong answer is not a result.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Engine } from '../src/engine.js';
import { marketCase, writeGolden, type ManifestCase } from '../scripts/golden.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const quick = process.argv.includes('--quick');
const EVENTS = quick ? 20_000 : 100_000;
const REPEAT = quick ? 5 : 21;
const ALERT_CAPACITY = 4096;
const MODULE_TARGET_BYTES = 64 * 1024;
const C_OVER_NODE_TARGET = 1.5;

interface HostRow { host: string; how: string; nsPerEvent?: number; nsPerEventMin?: number; skipped?: string }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** Node via the TypeScript Engine's zero-copy region: the path a Node user of this package takes. */
function engineRow(dir: string, c: ManifestCase): HostRow {
  const batch = readFileSync(join(dir, c.files.batch.path));
  const ids = new DataView(new Uint8Array(readFileSync(join(dir, c.files.instruments.path))).buffer);
  const ns: number[] = [];
  for (let r = 0; r <= REPEAT; r++) {
    const engine = Engine.create(c.config, { batchCapacity: c.capacity, alertCapacity: ALERT_CAPACITY });
    for (let i = 0; i < ids.byteLength / 4; i++) engine.register(ids.getUint32(4 * i, true));
    const region = engine.region();
    new Uint8Array(region.tsNs.buffer, region.tsNs.byteOffset, batch.length).set(batch);
    const t0 = process.hrtime.bigint();
    const alerts = engine.ingestRegion(c.n);
    const elapsed = Number(process.hrtime.bigint() - t0);
    if (alerts !== c.alerts) throw new Error(`Engine: ${alerts} alerts, the batch has ${c.alerts}`);
    if (r > 0) ns.push(elapsed / c.n);
  }
  return { host: 'node (Engine)', how: 'TypeScript Engine, ingestRegion (zero-copy)', nsPerEvent: median(ns), nsPerEventMin: Math.min(...ns) };
}

function nodeBareRow(dir: string, c: ManifestCase): HostRow {
  const script = join(ROOT, 'examples/node-bare/run.mjs');
  const check = spawnSync(process.execPath, [script, '--quiet', '--golden', dir, '--alert-capacity', String(ALERT_CAPACITY)], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`node-bare: alerts differ from the Engine's\n${check.stdout}${check.stderr}`);
  const out = execFileSync(process.execPath, [script, '--golden', dir, '--repeat', String(REPEAT), '--json', '--alert-capacity', String(ALERT_CAPACITY)], { encoding: 'utf8' });
  const row = JSON.parse(out.trim().split('\n').pop()!);
  if (row.events !== c.n) throw new Error(`node-bare timed ${row.events} events`);
  return { host: 'node (bare)', how: 'examples/node-bare/run.mjs: WebAssembly.instantiate, typed arrays', nsPerEvent: row.nsPerEvent, nsPerEventMin: row.nsPerEventMin };
}

function cRow(dir: string, c: ManifestCase): HostRow {
  const how = 'examples/c-host: wasm2c, cc -O2';
  const missing = ['wasm2c', process.env.CC ?? 'cc'].filter((t) => !has(t));
  if (missing.length) return { host: 'C (wasm2c)', how, skipped: `${missing.join(' and ')} not found (apt-get install wabt build-essential)` };
  const build = mkdtempSync(join(tmpdir(), 'atc-c-bench-'));
  try {
    const host = execFileSync('sh', [join(ROOT, 'examples/c-host/build.sh'), build], { encoding: 'utf8', env: { ...process.env, CFLAGS: '-O2' } }).trim();
    const caseDir = join(dir, c.name);
    execFileSync(host, ['--quiet', '--alert-capacity', String(ALERT_CAPACITY), '--out', join(build, 'out'), caseDir], { stdio: 'ignore' });
    if (!readFileSync(join(build, 'out/alerts.bin')).equals(readFileSync(join(dir, c.files.alerts.path)))) throw new Error('C host: alerts differ from the Engine\'s');
    const row = JSON.parse(execFileSync(host, ['--repeat', String(REPEAT), '--alert-capacity', String(ALERT_CAPACITY), caseDir], { encoding: 'utf8' }));
    return { host: 'C (wasm2c)', how, nsPerEvent: row.nsPerEvent, nsPerEventMin: row.nsPerEventMin };
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
}

async function browserRow(dir: string, c: ManifestCase): Promise<HostRow> {
  const how = 'examples/browser in headless chromium';
  const headless = await import(pathToFileURL(join(ROOT, 'examples/browser/headless.mjs')).href) as typeof import('../examples/browser/headless.mjs');
  if (!existsSync(headless.CHROMIUM)) return { host: 'chromium', how, skipped: `${headless.CHROMIUM} not found (apt-get install chromium)` };
  const mounts = { '/bench-golden/': dir };
  const check = await headless.openExample({ query: `?golden=/bench-golden/`, mounts });
  await check.close();
  if (check.atc.error || !check.atc.results[c.name]?.match) throw new Error(`chromium: ${check.atc.error ?? 'alerts differ from the Engine\'s'}`);
  const timed = await headless.openExample({ query: `?golden=/bench-golden/&repeat=${REPEAT}`, mounts, timeoutMs: 300_000 });
  await timed.close();
  const r = timed.atc.results[c.name];
  if (timed.atc.error || r?.nsPerEvent === undefined) throw new Error(`chromium: ${timed.atc.error ?? 'no timing'}`);
  return { host: 'chromium', how, nsPerEvent: r.nsPerEvent, nsPerEventMin: r.nsPerEventMin };
}

function version(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : undefined;
}

async function main(): Promise<void> {
  const started = new Date();
  console.log(`atc embedding benchmark — ${started.toISOString()} — node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}`);

  const wasm = readFileSync(join(ROOT, 'build/atc.wasm'));
  const module = { bytes: wasm.length, gzipBytes: gzipSync(wasm, { level: 9 }).length, targetBytes: MODULE_TARGET_BYTES };
  console.log(`\n## Module\nbuild/atc.wasm: ${module.bytes} bytes (${(module.bytes / 1024).toFixed(1)} KiB), gzip -9: ${module.gzipBytes} bytes (${(module.gzipBytes / 1024).toFixed(1)} KiB); target <= ${MODULE_TARGET_BYTES / 1024} KiB`);

  const dir = mkdtempSync(join(tmpdir(), 'atc-embed-'));
  try {
    const spec = marketCase(`market-${EVENTS / 1000}k`, EVENTS, ALERT_CAPACITY);
    const c = writeGolden(dir, [spec]).cases[0];
    console.log(`\n## Hosts (ns per event, median of ${REPEAT} runs of ${c.n.toLocaleString()} events, ${c.alerts} alerts)\n${spec.description}`);
    const rows: HostRow[] = [];
    for (const run of [() => engineRow(dir, c), () => nodeBareRow(dir, c), () => cRow(dir, c), () => browserRow(dir, c)]) {
      const row = await run();
      rows.push(row);
      console.log(row.skipped ? `- ${row.host}: skipped, ${row.skipped}` : `- ${row.host}: ${row.nsPerEvent!.toFixed(1)} ns/event (min ${row.nsPerEventMin!.toFixed(1)}) — ${row.how}`);
    }
    const node = rows[0].nsPerEvent!;
    const cHost = rows.find((r) => r.host.startsWith('C'))?.nsPerEvent;
    const targets = {
      moduleBytes: { value: module.bytes, target: MODULE_TARGET_BYTES, met: module.bytes <= MODULE_TARGET_BYTES },
      cOverNode: cHost === undefined ? { value: null, target: C_OVER_NODE_TARGET, met: null } : { value: cHost / node, target: C_OVER_NODE_TARGET, met: cHost / node <= C_OVER_NODE_TARGET },
    };
    console.log(`\n## Against the targets\n- module: ${(module.bytes / 1024).toFixed(1)} KiB (target <= 64 KiB): ${targets.moduleBytes.met ? 'met' : 'NOT met'}`);
    console.log(`- C host: ${targets.cOverNode.value === null ? 'not measured' : `${targets.cOverNode.value.toFixed(2)}x Node's ns/event (target <= ${C_OVER_NODE_TARGET}x): ${targets.cOverNode.met ? 'met' : 'NOT met'}`}`);

    if (!quick) {
      const out = {
        date: started.toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length,
        chromium: version('/usr/bin/chromium', ['--version']), cc: version(process.env.CC ?? 'cc', ['--version']), wasm2c: version('wasm2c', ['--version']),
        module, batch: { events: c.n, alerts: c.alerts, alertCapacity: ALERT_CAPACITY, repeat: REPEAT, description: spec.description },
        hosts: rows.map((r) => ({ ...r, overNode: r.nsPerEvent === undefined ? undefined : r.nsPerEvent / node })),
        targets,
      };
      const results = join(ROOT, 'bench/results');
      mkdirSync(results, { recursive: true });
      writeFileSync(join(results, 'embed.json'), JSON.stringify(out, null, 2) + '\n');
      console.log('\nsaved bench/results/embed.json');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
