// The golden vectors (test/golden/, written by `npm run golden`) hold the module's ABI and behaviour still: every
// host must turn each case's configuration and batch bytes into exactly its alert and status bytes. Here: the
// TypeScript Engine (zero-copy region with the case's capacities, and EventBatch with the defaults) and the bare
// Node host (examples/node-bare/run.mjs, no TypeScript). test/c-host.test.ts and test/browser.test.ts do the same
// for a C host and a browser. A deliberate change of behaviour: `npm run golden`, and review the diff.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_BYTES, BATCH_BYTES_PER_EVENT, C_LEN, N_FIELDS, REJECT_REASONS } from '../src/abi.js';
import { encodeConfig, resolveConfig } from '../src/config.js';
import { decodeAlert, Engine } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import { CASES, encodeBatch, type Manifest } from '../scripts/golden.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GOLDEN = join(ROOT, 'test/golden');
const manifest: Manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest.json'), 'utf8'));
const REGENERATE = 'if the change is deliberate, run `npm run golden` and review the diff';

const file = (path: string) => new Uint8Array(readFileSync(join(GOLDEN, path)));
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** batch.bin back into an EventBatch, reading the columns at the offsets docs/abi.md gives. */
function decodeBatch(bytes: Uint8Array, capacity: number): EventBatch {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b = new EventBatch(capacity);
  const C = capacity;
  for (let i = 0; i < capacity; i++) {
    const f = Array.from({ length: N_FIELDS }, (_, k) => v.getFloat64((24 + 8 * k) * C + 8 * i, true));
    b.push(v.getUint32(20 * C + 4 * i, true), v.getUint32(16 * C + 4 * i, true), v.getBigInt64(8 * i, true), f[0], f[1], f[2], f[3], f[4], f[5], v.getBigInt64(8 * C + 8 * i, true));
  }
  return b;
}

function ids(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 4 }, (_, i) => v.getUint32(4 * i, true));
}

describe('golden vectors: the files', () => {
  it('the module they hold to is the one the package exports as atc/wasm, importing only env.memory', () => {
    // Self-reference: inside the package, 'atc/wasm' resolves through package.json "exports" as it does for users.
    const exported = createRequire(import.meta.url).resolve('atc/wasm');
    expect(exported).toBe(join(ROOT, 'build/atc.wasm'));
    expect(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(exported)))).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
  });

  it('the manifest describes every file: size and sha256', () => {
    expect(manifest.cases.map((c) => c.name)).toEqual(CASES.map((c) => c.name));
    for (const c of manifest.cases) {
      for (const f of Object.values(c.files)) {
        const bytes = file(f.path);
        expect(bytes.length, f.path).toBe(f.bytes);
        expect(createHash('sha256').update(bytes).digest('hex'), f.path).toBe(f.sha256);
      }
      expect(c.files.config.bytes).toBe(8 * C_LEN);
      expect(c.files.batch.bytes).toBe(BATCH_BYTES_PER_EVENT * c.capacity);
      expect(c.files.alerts.bytes).toBe(ALERT_BYTES * c.alerts);
      expect(c.files.status.bytes).toBe(c.n);
    }
  });

  it('are small (under 1 MiB in all) and exercise the consumed() loop, alerts and every reject reason', () => {
    const total = manifest.cases.reduce((s, c) => s + Object.values(c.files).reduce((t, f) => t + f.bytes, 0), 0);
    expect(total).toBeLessThan(1 << 20);
    expect(manifest.cases.every((c) => c.alerts > 0)).toBe(true);
    // The minimum alert capacity makes a host go round the loop after every event that alerts.
    expect(manifest.cases.some((c) => c.alertCapacity === 84 && c.alerts > 1)).toBe(true);
    const reasons = new Set(manifest.cases.flatMap((c) => [...file(c.files.status.path)]));
    expect([...reasons].sort()).toEqual(REJECT_REASONS.map((_, r) => r));
  });

  for (const spec of CASES) {
    const c = manifest.cases.find((m) => m.name === spec.name)!;
    it(`${spec.name}: inputs are what scripts/golden.ts makes (configuration encoding, instruments, batch layout)`, () => {
      const config = new Float64Array(C_LEN);
      const v = new DataView(file(c.files.config.path).buffer);
      for (let i = 0; i < C_LEN; i++) config[i] = v.getFloat64(8 * i, true);
      expect(config, `config.f64 is not the encoding of the manifest's configuration: ${REGENERATE}`).toEqual(encodeConfig(resolveConfig(c.config)));
      expect(c.config).toEqual(JSON.parse(JSON.stringify(spec.config)));
      expect(ids(file(c.files.instruments.path))).toEqual(spec.instruments);
      expect(same(file(c.files.batch.path), encodeBatch(spec.events())), `batch.bin differs from the generator's stream: ${REGENERATE}`).toBe(true);
      expect(c.alertCapacity).toBe(spec.alertCapacity);
    });
  }
});

describe('golden vectors: the TypeScript Engine', () => {
  for (const c of manifest.cases) {
    it(`${c.name}: the zero-copy region (capacity ${c.capacity}, alert capacity ${c.alertCapacity}) gives the golden alert and status bytes`, () => {
      const batch = file(c.files.batch.path);
      const engine = Engine.create(c.config, { batchCapacity: c.capacity, alertCapacity: c.alertCapacity });
      for (const id of ids(file(c.files.instruments.path))) engine.register(id);
      const r = engine.region();
      new Uint8Array(r.tsNs.buffer, r.tsNs.byteOffset, batch.length).set(batch);
      const parts: Buffer[] = [];
      let calls = 0;
      // Copied at once: the next call writes its records over these.
      engine.ingestRegion(c.n, (view) => { calls++; parts.push(Buffer.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))); });
      const alerts = new Uint8Array(Buffer.concat(parts));
      expect(alerts.length / ALERT_BYTES).toBe(c.alerts);
      expect(same(alerts, file(c.files.alerts.path)), `alert records differ: ${REGENERATE}`).toBe(true);
      expect(same(r.status.subarray(0, c.n), file(c.files.status.path)), `status bytes differ: ${REGENERATE}`).toBe(true);
      if (c.alertCapacity === 84) expect(calls).toBeGreaterThan(1);
    });

    it(`${c.name}: Engine.ingest(EventBatch) with the default capacities gives the same alerts and rejects`, () => {
      const engine = Engine.create(c.config);
      for (const id of ids(file(c.files.instruments.path))) engine.register(id);
      const result = engine.ingest(decodeBatch(file(c.files.batch.path), c.capacity));
      const golden = file(c.files.alerts.path);
      const view = new DataView(golden.buffer, golden.byteOffset, golden.byteLength);
      expect(result.alerts).toEqual(Array.from({ length: c.alerts }, (_, i) => decodeAlert(view, i * ALERT_BYTES)));
      const status = file(c.files.status.path);
      expect(result.rejects).toEqual([...status].flatMap((s, index) => (s === 0 ? [] : [{ index, reason: REJECT_REASONS[s] }])));
      expect(result.accepted).toBe(c.accepted);
    });
  }
});

describe('golden vectors: bare Node (examples/node-bare/run.mjs)', () => {
  let out: string;
  beforeAll(() => { out = mkdtempSync(join(tmpdir(), 'atc-node-bare-')); });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  // The golden alert capacity (84 for most cases: many calls), and one large enough for a single call.
  for (const capacity of [undefined, 4096]) {
    it(`reproduces every case's alert and status bytes (alert capacity ${capacity ?? 'from the manifest'})`, () => {
      const dir = join(out, String(capacity ?? 'manifest'));
      const args = [join(ROOT, 'examples/node-bare/run.mjs'), '--quiet', '--out', dir, ...(capacity ? ['--alert-capacity', String(capacity)] : [])];
      const stdout = execFileSync(process.execPath, args, { encoding: 'utf8' });
      for (const c of manifest.cases) {
        expect(stdout).toContain(`${c.name}: ${c.n} events, ${c.accepted} accepted, ${c.alerts} alerts: match`);
        expect(same(new Uint8Array(readFileSync(join(dir, `${c.name}.alerts.bin`))), file(c.files.alerts.path)), `${c.name} alerts`).toBe(true);
        expect(same(new Uint8Array(readFileSync(join(dir, `${c.name}.status.u8`))), file(c.files.status.path)), `${c.name} status`).toBe(true);
      }
    });
  }

  it('fails, and says so, when the golden bytes do not match', () => {
    // A host that only ever said "match" would prove nothing: point it at a copy whose alerts are altered.
    const dir = join(out, 'altered');
    cpSync(GOLDEN, dir, { recursive: true });
    const c = manifest.cases[0];
    const alerts = file(c.files.alerts.path);
    alerts[40] ^= 1; // the score of the first alert, one bit
    writeFileSync(join(dir, c.files.alerts.path), alerts);
    let stdout = '';
    let code = 0;
    try {
      execFileSync(process.execPath, [join(ROOT, 'examples/node-bare/run.mjs'), '--quiet', '--golden', dir, '--case', c.name], { encoding: 'utf8' });
    } catch (err) {
      const e = err as { status: number; stdout: string };
      code = e.status;
      stdout = e.stdout;
    }
    expect(code).toBe(1);
    expect(stdout).toContain(`${c.name}: ${c.n} events, ${c.accepted} accepted, ${c.alerts} alerts: DO NOT match`);
  });
});
