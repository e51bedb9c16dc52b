// docs/abi.md must be enough to write a host from: its worked example ("A host, step by step") is run here, as
// written, on every golden case; its configuration defaults are the TypeScript host's; every export it names is the
// module's and every export of the module is named.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { C_LEN, DETECTORS, FEATURES } from '../src/abi.js';
import { defaultConfig, encodeConfig, resolveConfig } from '../src/config.js';
import { wasmPath } from '../src/wasm/load.js';
import type { Manifest } from '../scripts/golden.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOC = readFileSync(join(ROOT, 'docs/abi.md'), 'utf8');
const GOLDEN = join(ROOT, 'test/golden');
const manifest: Manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest.json'), 'utf8'));

/** The text of a `## title` section, up to the next `## `. */
function section(title: string): string {
  const start = DOC.indexOf(`\n## ${title}\n`);
  expect(start, `docs/abi.md has a "## ${title}" section`).toBeGreaterThan(0);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end < 0 ? undefined : end);
}

/** Rows of the markdown tables in `text` whose first cell is a number: cells trimmed. */
function numberedRows(text: string): string[][] {
  return text.split('\n').filter((l) => /^\| \d+ \|/.test(l)).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

describe('docs/abi.md', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atc-abi-doc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('its worked example is a host that reproduces every golden case', async () => {
    const code = /```js\n([\s\S]*?)```/.exec(section('A host, step by step'))?.[1];
    expect(code, 'a ```js block').toBeDefined();
    const file = join(dir, 'host.mjs');
    writeFileSync(file, code!);
    const { runBatch } = await import(pathToFileURL(file).href);
    const wasm = readFileSync(wasmPath('release'));
    for (const c of manifest.cases) {
      const read = (key: keyof typeof c.files) => new Uint8Array(readFileSync(join(GOLDEN, c.files[key].path)));
      const cfgBytes = read('config');
      const config = new Float64Array(C_LEN);
      const v = new DataView(cfgBytes.buffer);
      for (let i = 0; i < C_LEN; i++) config[i] = v.getFloat64(8 * i, true);
      const idBytes = read('instruments');
      const ids = Array.from({ length: idBytes.length / 4 }, (_, i) => new DataView(idBytes.buffer).getUint32(4 * i, true));
      const { records, status } = await runBatch(wasm, config, ids, read('batch'), c.capacity, c.n, c.alertCapacity);
      const alerts = Buffer.concat(records as Uint8Array[]);
      expect(alerts.equals(read('alerts')), `${c.name}: alert records`).toBe(true);
      expect(Buffer.from(status as Uint8Array).equals(read('status')), `${c.name}: status bytes`).toBe(true);
    }
  });

  it('its configuration defaults are the encoding of the default configuration', () => {
    const expected = encodeConfig(defaultConfig());
    const text = section('Configuration array');
    const rows = numberedRows(text);
    // The first table: index | name | default | valid, indices 0..31.
    // (Then the novelty settings, 272..274, and the learned sections in the same form: HST 280..291, the one-class
    // SVM 296..307 without 305, RLS 312..326, the combination 328..342 with one row for the members 330..337.)
    const globals = rows.filter((r) => r.length === 4);
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    expect(globals.map((r) => Number(r[0]))).toEqual([
      ...range(0, 32), 272, 273, 274, ...range(280, 12), ...range(296, 9), 306, 307, ...range(312, 15), 328, 329, 330, ...range(338, 5),
    ]);
    // HST and the one-class SVM are off by default, so their sections encode as all 0, and the combination's; the
    // tables' defaults for the first two are those of `enabled: true`. RLS is on.
    expect([...expected.subarray(280, 312)].every((v) => v === 0), 'values 280..311 are 0 by default (HST, OCSVM off)').toBe(true);
    expect([...expected.subarray(328)].every((v) => v === 0), 'values 328..343 are 0 by default (combination off)').toBe(true);
    const withHst = encodeConfig(resolveConfig({ learned: { hst: { enabled: true }, ocsvm: { enabled: true } } }));
    for (const i of [...range(292, 4), 305, ...range(308, 4), 327, 343]) expect(withHst[i], `reserved value ${i}`).toBe(0);
    for (const [index, name, value] of globals) expect(Number(value), `index ${index} (${name})`).toBe((Number(index) >= 280 && Number(index) < 312 ? withHst : expected)[Number(index)]);
    // The second: f | feature | enabled | mask | minimum scale.
    const features = rows.filter((r) => r.length === 5);
    expect(features.map((r) => r[1])).toEqual(FEATURES.map((f) => `\`${f}\``));
    for (const [f, name, enabled, mask, minScale] of features) {
      const i = 32 + 3 * Number(f);
      expect([Number(enabled), parseInt(mask, 10), Number(minScale)], name).toEqual([expected[i], expected[i + 1], expected[i + 2]]);
    }
    // Channels, as the text states them: target-rate everywhere; 8, or 20 for cusum and pageHinkley; novelty static 100.
    expect(text).toContain('Defaults: mode 0 (static) and threshold 100 for `novelty` (`d` = 5); for the others, mode 2 (target-rate) for every channel; threshold 8, except 20 for `cusum` and\n`pageHinkley` (`d` = 3, 4).');
    for (let c = 0; c < FEATURES.length * DETECTORS.length; c++) {
      const d = DETECTORS[c % DETECTORS.length];
      if (d === 'novelty') { expect([expected[80 + 2 * c], expected[81 + 2 * c]], `channel ${c}`).toEqual([0, 100]); continue; }
      expect([expected[80 + 2 * c], expected[81 + 2 * c]], `channel ${c}`).toEqual([2, d === 'cusum' || d === 'pageHinkley' ? 20 : 8]);
    }
  });

  it('names every export of the module, and only those', () => {
    const exported = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(wasmPath('release')))).map((e) => e.name).sort();
    const calls = [...section('Calls, in the order a host makes them').matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    const kernels = [...section('Kernels').matchAll(/`([a-z_]+)[(`]/g)].map((m) => m[1]).filter((name) => name.includes('_'));
    expect([...new Set([...calls, ...kernels])].sort()).toEqual(exported);
  });
});
