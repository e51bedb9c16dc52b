// Per-instrument thresholds (the configuration's `instruments` section, atc calibrate's output): validated with errors
// that name the path; applied by name through the registry in a replay; in the pool, journaled on the shard that owns
// the instrument, so that a worker's death replays them and a checkpoint keeps them (they live in the arena).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ALERT_BYTES } from '../src/abi.js';
import { main } from '../src/cli.js';
import { ConfigError, resolveConfig, resolveInstrumentChannels } from '../src/config.js';
import { Engine } from '../src/engine.js';
import { applyInstrumentThresholds } from '../src/instrument-thresholds.js';
import { Registry } from '../src/registry.js';
import { ShardPool } from '../src/pool/index.js';
import { canonical, feed, MAX_INSTRUMENTS, openPool, POOL_CONFIG, splits, stream } from './helpers/pool.js';
import { runChunks } from './helpers/run.js';
import { runCli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE = join(ROOT, 'data/samples/binance-usdm-btcusdt.txt.gz');
const dir = mkdtempSync(join(tmpdir(), 'atc-inst-'));
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

const cli = (argv: string[]) => runCli(argv);

describe('the instruments section', () => {
  it('validates names, selectors and values, naming the path', () => {
    const bad: [unknown, string][] = [
      [[], 'config.instruments: must be an object'],
      [{ BTCUSDT: 5 }, 'config.instruments.BTCUSDT: must be an object'],
      [{ BTCUSDT: { 'retrun.zscore': 5 } }, 'config.instruments.BTCUSDT.retrun.zscore: unknown feature "retrun"'],
      [{ BTCUSDT: { 'return.zscor': 5 } }, 'config.instruments.BTCUSDT.return.zscor: unknown detector "zscor"'],
      [{ BTCUSDT: { 'return.zscore': 0 } }, 'config.instruments.BTCUSDT.return.zscore: must be a threshold > 0'],
      [{ BTCUSDT: { 'return.zscore': '5' } }, 'config.instruments.BTCUSDT.return.zscore: must be a threshold > 0'],
      [{ 'a.b': { nonsense: 5 } }, 'config.instruments["a.b"].nonsense: key must be'],
      [{ ' ': { cusum: 5 } }, 'an instrument name must not be empty'],
    ];
    for (const [instruments, message] of bad) {
      expect(() => resolveConfig({ instruments }), JSON.stringify(instruments)).toThrow(ConfigError);
      expect(() => resolveConfig({ instruments }), JSON.stringify(instruments)).toThrow(message);
    }
    const ok = resolveConfig({ instruments: { BTCUSDT: { 'return.zscore': 5.2, cusum: 30, 'spread.zscore': null } } });
    expect(ok.instruments).toEqual({ BTCUSDT: { 'return.zscore': 5.2, cusum: 30, 'spread.zscore': null } });
    expect(resolveConfig({}).instruments).toEqual({});
  });

  it('resolves selectors per channel, the most specific winning, null clearing', () => {
    const plan = resolveInstrumentChannels({ default: 9, cusum: 30, 'return.zscore': 5.2, 'spread.zscore': null });
    const value = new Map<number, number>();
    for (let i = 0; i < plan.length; i += 2) value.set(plan[i], plan[i + 1]);
    const c = (f: string, d: string) => Engine.create().thresholds().findIndex((t) => t.feature === f && t.detector === d);
    expect(value.get(c('return', 'zscore'))).toBe(5.2);
    expect(value.get(c('rvol', 'cusum'))).toBe(30);
    expect(value.get(c('volume', 'robust'))).toBe(9);
    expect(value.get(c('spread', 'zscore'))).toBeNaN();
  });

  it('an engine registers the named instruments and uses their values as the base of every mode', () => {
    const config = resolveConfig({
      autoRegister: true,
      thresholds: { default: { mode: 'static', threshold: 8 }, spread: { mode: 'regime', threshold: 8 } },
      instruments: { BTCUSDT: { 'return.zscore': 5.5, 'spread.zscore': 6 }, ETHUSDT: { cusum: 40 } },
    });
    const engine = Engine.create(config);
    const registry = new Registry();
    const ids = applyInstrumentThresholds(engine, registry, config.instruments, config.maxInstruments);
    expect([...ids]).toEqual([['BTCUSDT', 0], ['ETHUSDT', 1]]);
    expect(engine.instrumentIds()).toEqual([0, 1]);
    expect(engine.instrumentThresholds(0)).toEqual({ 'return.zscore': 5.5, 'spread.zscore': 6 });
    expect(engine.instrumentThresholds(1)).toMatchObject({ 'rvol.cusum': 40, 'intensity.cusum': 40 });
    // Too many instruments for the table: a configuration error naming the section.
    const small = resolveConfig({ maxInstruments: 1, instruments: { A: { cusum: 4 }, B: { cusum: 4 } } });
    expect(() => applyInstrumentThresholds(Engine.create(small), new Registry(), small.instruments, 1)).toThrow(/config\.instruments: names 2 instruments/);
  });

  it('atc replay --config applies them by name: a lower per-instrument threshold raises alerts the base does not', async () => {
    const base = join(dir, 'base.json');
    const mine = join(dir, 'mine.json');
    const thresholds = { default: { mode: 'static', threshold: 1e5 } };
    writeFileSync(base, JSON.stringify({ thresholds }));
    writeFileSync(mine, JSON.stringify({ thresholds, instruments: { BTCUSDT: { 'spread.zscore': 3, 'imbalance.cusum': 4 }, NOTHERE: { cusum: 5 } } }));
    const a = await cli(['replay', SAMPLE, '--config', base]);
    const b = await cli(['replay', SAMPLE, '--config', mine]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const alerts = (t: string) => t.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { feature: string; detector: string; threshold: number; instrument: string });
    expect(alerts(a.stdout)).toEqual([]);
    const got = alerts(b.stdout);
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((x) => x.instrument === 'BTCUSDT' && ((x.feature === 'spread' && x.threshold === 3) || (x.feature === 'imbalance' && x.threshold === 4)))).toBe(true);
    // A bad entry is a usage error naming the path.
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ instruments: { BTCUSDT: { 'spread.zscroe': 3 } } }));
    const c = await cli(['replay', SAMPLE, '--config', bad]);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('config.instruments.BTCUSDT.spread.zscroe: unknown detector "zscroe"');
  });
});

describe('per-instrument thresholds in the pool', () => {
  const N = 24_000, AT = 6_000;
  const b = stream(N, 41);
  const per = { 1: { zscore: 3.2, 'spread.robust': 3.5 }, 6: { default: 4, 'midJump.zscore': null } } as Record<number, Record<string, number | null>>;
  /** The plain engine: the same events numbered by accept index, the per-instrument values set before event AT. */
  function plain(): Buffer {
    const e = Engine.create({ ...POOL_CONFIG, autoRegister: true, maxInstruments: MAX_INSTRUMENTS });
    const copy = b.slice(0);
    copy.seq = BigInt64Array.from({ length: N }, (_, i) => BigInt(i));
    const first = runChunks(e, copy.slice(0, AT), 4096).bytes;
    for (const [id, sel] of Object.entries(per)) e.setInstrumentThresholds(Number(id), sel);
    return canonical([first, runChunks(e, copy.slice(AT), 4096).bytes]);
  }
  const ref = plain();

  it('apply between the events before and after the call, on the owning shard, and survive dead workers', async () => {
    const { pool, bytes } = await openPool({ workers: 2, shards: 4, chunkEvents: 512, snapshotEveryEvents: 2_000 });
    try {
      await feed(pool, b, splits(AT, [700]));
      for (const [id, sel] of Object.entries(per)) pool.setInstrumentThresholds(Number(id), sel);
      expect(pool.instrumentThresholds().get(1)).toMatchObject({ 'return.zscore': 3.2, 'spread.robust': 3.5 });
      expect(pool.instrumentThresholds().get(6)?.['midJump.zscore']).toBeUndefined();
      // Kill the worker of the instruments' shards (1 and 6 % 4 = 2) soon after: the recovery replays the journal,
      // threshold changes included.
      await feed(pool, b, splits(N - AT, [700]).map(([s, e]) => [s + AT, e + AT]), async (k) => {
        if (k === 1) pool.injectFault(1);
        if (k === 3) pool.injectFault(2);
        await new Promise((r) => setImmediate(r));
      });
      await pool.drain();
      expect(pool.stats().recoveries).toBeGreaterThanOrEqual(1);
      expect(bytes().length / ALERT_BYTES).toBe(ref.length / ALERT_BYTES);
      expect(bytes().equals(ref)).toBe(true);
      // Some alerts used the per-instrument values.
      expect(ref.length).toBeGreaterThan(0);
      expect(() => pool.setInstrumentThresholds(1, { 'retrun.zscore': 3 })).toThrow(ConfigError);
      expect(() => pool.setInstrumentThresholds(MAX_INSTRUMENTS, { zscore: 3 })).toThrow(RangeError);
    } finally {
      await pool.close();
    }
  });

  it('a checkpoint keeps them: the restored pool reads them back from its arenas and continues the same', async () => {
    const a = await openPool({ workers: 1, shards: 4, chunkEvents: 1024 });
    let file: Uint8Array;
    let before: ReturnType<ShardPool['instrumentThresholds']>;
    const HALF = 12_000;
    try {
      await feed(a.pool, b, splits(AT, [1_000]));
      for (const [id, sel] of Object.entries(per)) a.pool.setInstrumentThresholds(Number(id), sel);
      await feed(a.pool, b, splits(HALF - AT, [1_000]).map(([s, e]) => [s + AT, e + AT]));
      file = await a.pool.checkpoint({});
      before = a.pool.instrumentThresholds();
      expect(before.size).toBe(2);
    } finally {
      await a.pool.close();
    }
    const restored = await ShardPool.restore(file, { workers: 2 });
    const parts: Uint8Array[] = [...a.parts];
    restored.onAlerts = (batch) => parts.push(batch.records);
    try {
      expect(restored.instrumentThresholds()).toEqual(before);
      await feed(restored, b, splits(N - HALF, [1_000]).map(([s, e]) => [s + HALF, e + HALF]));
      await restored.drain();
      expect(canonical(parts).equals(ref)).toBe(true);
    } finally {
      await restored.close();
    }
  });
});
