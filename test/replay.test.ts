// Replay of recorded Binance data: the streaming reader (against the committed sample and hand-made damaged
// files) and the `atc replay` command (in-process through main(), and as the built bin).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind } from '../src/abi.js';
import { BinanceReader, type BinanceStats } from '../src/adapters/binance.js';
import { main } from '../src/cli.js';
import { EventBatch } from '../src/events.js';
import { Registry } from '../src/registry.js';
import { runCli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE = join(ROOT, 'data/samples/binance-usdm-btcusdt.txt.gz');
const run = promisify(execFile);

let dir: string;
// The default configuration raises no alert on the 3-minute sample (test/real-anomalies.test.ts); these tests check
// the alert output, so they replay with a sensitive configuration (static thresholds of 4) that raises some.
let sensitive: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atc-replay-'));
  sensitive = join(dir, 'sensitive.json');
  writeFileSync(sensitive, JSON.stringify({ thresholds: { default: { mode: 'static', threshold: 4 } } }));
});
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

/** Every event of a file as one batch, and the reader's stats. */
async function readAll(path: string, batchSize = 4096): Promise<{ events: EventBatch; stats: BinanceStats; batches: number[] }> {
  const reader = new BinanceReader(path, { batchSize, registry: new Registry() });
  const events = new EventBatch(16);
  const batches: number[] = [];
  for await (const b of reader) {
    batches.push(b.length);
    for (let i = 0; i < b.length; i++) {
      events.push(b.kind[i], b.instrument[i], b.tsNs[i], b.f[0][i], b.f[1][i], b.f[2][i], b.f[3][i], b.f[4][i], b.f[5][i]);
    }
  }
  return { events, stats: reader.stats, batches };
}

const trade = (ns: string, p: string, q: string, m: boolean) =>
  `${ns} {"stream":"btcusdt@trade","data":{"e":"trade","E":1,"T":1,"s":"BTCUSDT","t":1,"p":"${p}","q":"${q}","X":"MARKET","m":${m}}}`;
const quote = (ns: string, b: string, a: string) =>
  `${ns} {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"${b}","B":"1.5","a":"${a}","A":"2.5","T":1,"E":1}}`;

describe('BinanceReader on the committed sample', () => {
  const text = gunzipSync(readFileSync(SAMPLE)).toString('utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  // Counted independently of the reader: by the stream name each line carries.
  const trades = lines.filter((l) => l.includes('"stream":"btcusdt@trade"')).length;
  const quotes = lines.filter((l) => l.includes('"stream":"btcusdt@bookTicker"')).length;

  it('yields one trade per trade line and one quote per bookTicker line, in 4096-event batches', async () => {
    expect(trades).toBe(6231);
    expect(quotes).toBe(30729);
    const { events, stats, batches } = await readAll(SAMPLE);
    expect(stats.events).toEqual({ trade: trades, quote: quotes, mark: 0 });
    expect(events.length).toBe(trades + quotes);
    let t = 0, q = 0;
    for (let i = 0; i < events.length; i++) (events.kind[i] === Kind.trade ? t++ : events.kind[i] === Kind.quote ? q++ : 0);
    expect([t, q]).toEqual([trades, quotes]);
    expect(stats.lines).toBe(lines.length);
    // The REST snapshot (line 49) loads BTCUSDT's book, which no depth diff ever continues in this sample: it
    // stays syncing, and quotes carry no depth.
    expect(stats.skipped).toEqual({});
    expect(stats.messages).toEqual({ trade: trades, aggTrade: 0, bookTicker: quotes, depth: 0, snapshot: 1, markPrice: 0 });
    expect(stats.books.BTCUSDT?.state).toBe('syncing');
    expect(stats.quotes).toEqual({ fromTicker: quotes, fromBook: 0, withDepth: 0, superseded: 0 });
    expect(stats.malformed).toEqual({});
    expect(stats.gzip).toBe(true);
    expect(batches.slice(0, -1).every((n) => n === 4096)).toBe(true);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(events.length);
    // The receive time is the event time: monotonic, and exactly the prefix of the line.
    for (let i = 1; i < events.length; i++) expect(events.tsNs[i] >= events.tsNs[i - 1]).toBe(true);
    expect(events.tsNs[0]).toBe(1723161255088169167n);
    expect(events.tsNs[events.length - 1]).toBe(1723161434951721603n);
  });

  it('reads prices, sizes and sides of known lines', async () => {
    const { events } = await readAll(SAMPLE, 1000);
    const at = (i: number) => ({ kind: events.kind[i], ts: events.tsNs[i], f: events.f.map((c) => c[i]) });
    // Line 1: bookTicker b 61800.20 B 2.507 a 61800.30 A 2.510; no depth.
    expect(at(0)).toEqual({ kind: Kind.quote, ts: 1723161255088169167n, f: [61800.2, 2.507, 61800.3, 2.51, NaN, NaN] });
    // Line 2: trade p 61800.30 q 0.006, m false: the buyer took the offer -> +1.
    expect(at(1)).toEqual({ kind: Kind.trade, ts: 1723161255088176367n, f: [61800.3, 0.006, 1, NaN, NaN, NaN] });
    // Line 43: trade p 61800.20 q 0.015, m true: the buyer was the maker, the seller took the bid -> -1.
    expect(at(42)).toEqual({ kind: Kind.trade, ts: 1723161255253870966n, f: [61800.2, 0.015, -1, NaN, NaN, NaN] });
    // Last line: trade p 61700.10 q 0.020, m false.
    expect(at(events.length - 1)).toEqual({ kind: Kind.trade, ts: 1723161434951721603n, f: [61700.1, 0.02, 1, NaN, NaN, NaN] });
    // Every side agrees with its line's "m" (the snapshot, line 49, is the only line without an event).
    const eventLines = lines.filter((l) => !l.includes('lastUpdateId'));
    for (let i = 0; i < events.length; i++) {
      if (events.kind[i] !== Kind.trade) continue;
      expect(events.f[2][i]).toBe(eventLines[i].includes('"m":true') ? -1 : 1);
    }
  });

  it('names instruments by symbol through the registry it is given', async () => {
    const registry = new Registry();
    registry.id('ETHUSDT');
    const reader = new BinanceReader(SAMPLE, { registry, batchSize: 100 });
    for await (const b of reader) { expect(b.instrument.subarray(0, b.length).every((id) => id === 1)).toBe(true); break; }
    expect(registry.toJSON()).toEqual(['ETHUSDT', 'BTCUSDT']);
    const prefixed = new BinanceReader(SAMPLE, { market: 'binance-usdm', batchSize: 100 });
    for await (const _ of prefixed) break;
    expect(prefixed.registry.toJSON()).toEqual(['binance-usdm:BTCUSDT']);
  });
});

describe('BinanceReader on damaged input', () => {
  const damaged = [
    /* 1 */ trade('1000000000000000001', '100.5', '2', false),
    /* 2 */ '1000000000000000002 {"stream":"btcusdt@trade","data":{"e":"trade","p":"100.5"',
    /* 3 */ quote('1000000000000000003', '100.4', '100.6'),
    /* 4 */ '1000000000000000004 {"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","q":"1","m":true}}',
    /* 5 */ trade('1000000000000000005', 'abc', '1', true),
    /* 6 */ '',
    /* 7 */ '{"stream":"btcusdt@trade","data":{}}',
    /* 8 */ '1000000000000000008 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","b":[],"a":[]}}',
    /* 9 */ '1000000000000000009 {"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","s":"BTCUSDT","p":"1"}}',
    /* 10 */ '1000000000000000010 {"lastUpdateId":1,"bids":[],"asks":[]}',
    /* 11 */ quote('1000000000000000011', '100.3', ''),
    /* 12 */ trade('1000000000000000012', '100.4', '0.5', true),
    /* 13 */ '1000000000000000013 [1,2,3]',
    /* 14 */ '1000000000000000014 {"e":"trade","s":"BTCUSDT","p":"100.6","q":"3","m":"yes"}',
    /* 15 */ '1000000000000000015 {"e":"trade","s":"BTCUSDT","p":"100.6","q":"3","m":false}',
  ].join('\n') + '\n';

  function checkDamaged(stats: BinanceStats, events: EventBatch): void {
    expect(stats.lines).toBe(15);
    expect(stats.events).toEqual({ trade: 3, quote: 1, mark: 0 });
    expect(events.length).toBe(4);
    // The valid lines around the bad ones, in order: 1, 3, 12, 15.
    expect([...events.tsNs.subarray(0, events.length)]).toEqual([1000000000000000001n, 1000000000000000003n, 1000000000000000012n, 1000000000000000015n]);
    expect([...events.f[2].subarray(0, events.length)]).toEqual([1, 100.6, -1, 1]);
    // Line 8, a depth diff without symbol or sequence numbers, is malformed, and line 9, an aggTrade without size
    // and side; line 10, a snapshot, loads a book.
    expect(stats.skipped).toEqual({});
    expect(stats.messages).toEqual({ trade: 3, aggTrade: 0, bookTicker: 1, depth: 0, snapshot: 1, markPrice: 0 });
    const m = stats.malformed;
    expect(Object.keys(m).sort()).toEqual(['badField', 'badJson', 'badNumber', 'badTimestamp', 'missingField']);
    expect(m.badJson?.lines).toEqual([2, 13]);
    expect(m.missingField?.lines).toEqual([4, 8, 9]);
    expect(m.missingField?.example).toContain('"p"');
    expect(m.badNumber?.lines).toEqual([5, 11]);
    expect(m.badNumber?.example).toContain('"p"');
    expect(m.badTimestamp?.lines).toEqual([7]);
    expect(m.badField?.lines).toEqual([14]);
    expect(m.badField?.count).toBe(1);
  }

  it('counts malformed lines with their line numbers and keeps the valid ones (plain text)', async () => {
    // Named .gz but plain: the format comes from the content.
    const path = join(dir, 'damaged.gz');
    writeFileSync(path, damaged);
    const { events, stats } = await readAll(path);
    expect(stats.gzip).toBe(false);
    checkDamaged(stats, events);
  });

  it('does the same through gzip, with a tiny batch size', async () => {
    const path = join(dir, 'damaged.txt');
    writeFileSync(path, gzipSync(damaged));
    const { events, stats, batches } = await readAll(path, 3);
    expect(stats.gzip).toBe(true);
    expect(batches).toEqual([3, 1]);
    checkDamaged(stats, events);
  });

  it('keeps the first 20 line numbers of a reason and counts them all', async () => {
    const path = join(dir, 'many-bad.txt');
    const body = Array.from({ length: 50 }, (_, i) => (i % 2 ? trade(String(1e9 + i), '1', '1', false) : `${1e9 + i} {bad`));
    writeFileSync(path, body.join('\n')); // and no newline at the end: the last line still counts
    const { stats } = await readAll(path);
    expect(stats.malformed.badJson?.count).toBe(25);
    expect(stats.malformed.badJson?.lines).toEqual(Array.from({ length: 20 }, (_, k) => 2 * k + 1));
    expect(stats.events.trade).toBe(25);
  });

  it('keeps every complete line of a truncated gzip file and reports where it was cut', async () => {
    const body = Array.from({ length: 20_000 }, (_, i) => trade(String(1_723_000_000_000_000_000n + BigInt(i)), String(60_000 + (i % 97)), '0.01', i % 3 === 0)).join('\n') + '\n';
    const full = gzipSync(body);
    const cut = full.subarray(0, Math.floor(full.length * 0.6));
    const path = join(dir, 'truncated.gz');
    writeFileSync(path, cut);
    // What survives, decoded independently: every line before the cut-off one.
    const survived = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
    const complete = survived.split('\n').length - 1;
    expect(complete).toBeGreaterThan(1000);
    expect(complete).toBeLessThan(20_000);
    const { events, stats } = await readAll(path);
    expect(stats.events.trade).toBe(complete);
    expect(events.length).toBe(complete);
    expect(events.tsNs[complete - 1]).toBe(1_723_000_000_000_000_000n + BigInt(complete - 1));
    expect(stats.malformed.truncated?.count).toBe(1);
    expect(stats.malformed.truncated?.lines).toEqual([complete + 1]);
  });

  it('reports corrupt gzip data without throwing', async () => {
    const full = Buffer.from(gzipSync(damaged));
    full.fill(0x55, 12, full.length - 8); // keep the header, scramble the deflate data
    const path = join(dir, 'corrupt.gz');
    writeFileSync(path, full);
    const { stats } = await readAll(path);
    expect(stats.malformed.corrupt?.count).toBe(1);
  });
});

/** A writable that keeps what it is given. */
const cli = (...argv: string[]) => runCli(argv);

const ALERT_KEYS = ['time', 'tsNs', 'instrument', 'feature', 'detector', 'severity', 'regime', 'value', 'expected', 'score', 'threshold', 'volRatio', 'mode', 'seq'];

function checkAlerts(ndjson: string): Record<string, unknown>[] {
  const alerts = ndjson.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const a of alerts) {
    expect(Object.keys(a)).toEqual(ALERT_KEYS);
    expect(a.instrument).toBe('BTCUSDT');
    expect(typeof a.tsNs).toBe('string');
    expect(typeof a.seq).toBe('string');
    // The ISO time and tsNs are the same instant, to the nanosecond.
    const ns = BigInt(a.tsNs as string);
    expect(a.time).toBe(`${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`);
    expect(ns >= 1723161255088169167n && ns <= 1723161434951721603n).toBe(true);
    expect(a.score as number).toBeGreaterThanOrEqual(a.threshold as number);
  }
  return alerts;
}

describe('atc replay (in process)', () => {
  it('replays the sample: NDJSON alerts on stdout, the summary on stderr, exit 0', async () => {
    const r = await cli('replay', SAMPLE, '--config', sensitive);
    expect(r.code).toBe(0);
    const alerts = checkAlerts(r.stdout);
    expect(alerts.length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/events +36,960: trade 6,231, quote 30,729/);
    expect(r.stderr).toMatch(/skipped +0 by type: none/); // the REST snapshot line now loads the book
    expect(r.stderr).toMatch(/malformed +none/);
    expect(r.stderr).toMatch(/rejected +none/);
    expect(r.stderr).toContain(`alerts       ${alerts.length} `);
    expect(r.stderr).toMatch(/of state per instrument/);
    expect(r.stderr).toMatch(/events\/s/);
    // The same input gives the same alerts.
    expect((await cli('replay', '--format', 'binance', SAMPLE, '--config', sensitive)).stdout).toBe(r.stdout);
  });

  it('writes alerts to --out and nothing to stdout', async () => {
    const out = join(dir, 'alerts.ndjson');
    const r = await cli('replay', SAMPLE, '--out', out, '--config', sensitive);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(checkAlerts(readFileSync(out, 'utf8')).length).toBeGreaterThan(0);
  });

  it('lists malformed lines by reason with their line numbers', async () => {
    const path = join(dir, 'cli-damaged.txt');
    writeFileSync(path, [trade('1000000000000000001', '100', '1', false), `1000000000000000002 {oops`, trade('1000000000000000003', '100', '1', true)].join('\n'));
    const r = await cli('replay', path);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/malformed +1 line skipped/);
    expect(r.stderr).toMatch(/badJson 1: lines 2\n/);
    expect(r.stderr).toMatch(/events +2: trade 2, quote 0/);
  });

  it('rejects a bad configuration naming the field, with exit code 2', async () => {
    const config = join(dir, 'bad.json');
    writeFileSync(config, JSON.stringify({ window: -1 }));
    const r = await cli('replay', SAMPLE, '--config', config);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/config\.window: must be >= 1, got -1/);
    writeFileSync(config, JSON.stringify({ features: { spread: { detectors: ['zscore', 'magic'] } } }));
    expect((await cli('replay', SAMPLE, '--config', config)).stderr).toMatch(/config\.features\.spread\.detectors: unknown detector "magic"/);
    writeFileSync(config, '{"window": 64,');
    expect(await cli('replay', SAMPLE, '--config', config)).toMatchObject({ code: 2, stderr: expect.stringMatching(/not valid JSON/) });
  });

  it('honours a good configuration', async () => {
    const config = join(dir, 'good.json');
    // A threshold no score reaches: no alerts.
    writeFileSync(config, JSON.stringify({ thresholds: { default: { mode: 'static', threshold: 1e12 } } }));
    const r = await cli('replay', SAMPLE, '--config', config);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/alerts +0/);
    // autoRegister false: nothing registers BTCUSDT, so the engine rejects its events and says why.
    writeFileSync(config, JSON.stringify({ autoRegister: false }));
    const off = await cli('replay', SAMPLE, '--config', config);
    expect(off.code).toBe(0);
    expect(off.stderr).toMatch(/rejected +36,960: unknownInstrument 36,960 \(the config sets "autoRegister": false\)/);
  });

  it('gives clear usage errors with exit code 2', async () => {
    const unknown = join(dir, 'events.txt');
    writeFileSync(unknown, '\nhello world\n');
    const cases: [string[], RegExp][] = [
      [['replay', SAMPLE, '--bogus'], /Unknown option '--bogus'/],
      [['replay', SAMPLE, '--format', 'xml'], /--format must be one of auto, binance, deribit, ndjson, csv/],
      [['replay'], /no input file/],
      [['replay', join(dir, 'nope.gz')], /nope\.gz: no such file/],
      [['replay', SAMPLE, '--config', join(dir, 'nope.json')], /nope\.json: no such file/],
      [['replay', unknown], /events\.txt: cannot tell its format from its first lines/],
      [['replay', dir], /not a file/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [[], /Usage:/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });

  it('explains every option in --help', async () => {
    const top = await cli('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/atc replay <file\.\.\.>/);
    const help = await cli('replay', '--help');
    expect(help.code).toBe(0);
    for (const option of ['--format', 'auto', 'binance', 'ndjson', '--config', '--out', '--help', 'tsNs', 'seq', 'Exit status']) {
      expect(help.stdout).toContain(option);
    }
  });
});

describe('atc replay (the built bin)', () => {
  beforeAll(async () => {
    await run('npm', ['run', 'build:ts'], { cwd: ROOT });
  }, 120_000);

  it('runs dist/src/cli.js on the sample, and exits 2 on a bad config', async () => {
    const ok = await run(process.execPath, ['dist/src/cli.js', 'replay', 'data/samples/binance-usdm-btcusdt.txt.gz', '--config', sensitive], { cwd: ROOT, maxBuffer: 64 << 20 });
    expect(checkAlerts(ok.stdout).length).toBeGreaterThan(0);
    expect(ok.stderr).toMatch(/atc replay: done/);
    const config = join(dir, 'bin-bad.json');
    writeFileSync(config, '{"window": -1}');
    const bad = await run(process.execPath, ['dist/src/cli.js', 'replay', SAMPLE, '--config', config], { cwd: ROOT }).catch((e) => e as { code: number; stderr: string });
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/config\.window/);
    expect(readFileSync(join(ROOT, 'dist/src/cli.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  }, 60_000);
});
