// `atc replay` on captures a new user brings: the same venues as the committed samples, recorded differently
// (other layouts, other streams, split or empty files, times in other units). Each variant is written from the
// committed Binance sample with depth and the Deribit fixture by rewriting their lines, then replayed through the
// CLI; the expectations are counted from the variant's own lines, never from the reader under test.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFileFormat } from '../src/adapters/index.js';
import { DeribitReader } from '../src/adapters/deribit.js';
import { checkInput } from '../src/cli-common.js';
import { main } from '../src/cli.js';
import { runCli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPTH = join(ROOT, 'data/samples/binance-usdm-btcusdt-depth.txt.gz');
const WS = join(ROOT, 'test/fixtures/deribit/DERIBIT.ws.1.0');
const LISTING = join(ROOT, 'test/fixtures/deribit/DERIBIT.0');

const cli = (...argv: string[]) => runCli(['replay', ...argv], main);
const int = (n: number) => n.toLocaleString('en-US');
/** The summary row `label`, without its label. */
const rowOf = (stderr: string, label: string) => {
  const line = stderr.split('\n').find((l) => l.startsWith(`  ${label.padEnd(12)} `));
  return line?.slice(15);
};

let dir: string;
let lines: string[];
const file = (name: string, body: string[] | string, gzip = false) => {
  const path = join(dir, name);
  const text = typeof body === 'string' ? body : body.join('\n') + '\n';
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
};
/** Lines of the sample by stream (the snapshot line has none). */
const count = (ls: string[], stream: string) => ls.filter((l) => l.includes(`"stream":"btcusdt@${stream}"`)).length;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atc-variants-'));
  lines = gunzipSync(readFileSync(DEPTH)).toString('utf8').split('\n').filter((l) => l.length > 0);
});
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

describe('the summary accounts for every line', () => {
  it('lines = messages by type + skipped whole + malformed + blank, with blank and damaged lines', async () => {
    const damaged = [...lines];
    damaged.splice(100, 0, '');                        // a blank line: line 101
    damaged.splice(200, 0, 'garbage, no time');        // line 201
    damaged.splice(300, 0, damaged[299].slice(0, 60)); // a line cut short: line 301
    const path = file('damaged.txt', damaged);
    const r = await cli(path);
    expect(r.code).toBe(0);
    const n = damaged.length;
    expect(rowOf(r.stderr, 'lines')).toBe(
      `${int(n)} = ${int(n - 3)} messages (bookTicker ${int(count(lines, 'bookTicker'))}, trade ${int(count(lines, 'trade'))}, ` +
      `depth diff ${int(count(lines, 'depth@0ms'))}, snapshot 1) + 0 skipped whole + 2 malformed + 1 blank`);
    expect(r.stderr).toMatch(/badTimestamp 1: lines 201\n/);
    expect(r.stderr).toMatch(/badJson 1: lines 301\n/);
  });

  it('counts other streams as skipped whole, and says why partial books give no depth', async () => {
    // The depth diffs recorded as a partial-book stream instead (depth20@100ms), plus streams atc does not read.
    const variant = lines.map((l) => l.replace('"stream":"btcusdt@depth@0ms"', '"stream":"btcusdt@depth20@100ms"'));
    const ns = lines[1].slice(0, lines[1].indexOf(' '));
    variant.splice(2, 0,
      `${ns} {"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{"t":1,"i":"1m","o":"1","c":"1"}}}`,
      `${ns} {"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1,"o":{"s":"BTCUSDT","S":"SELL","q":"0.01","p":"6e4"}}}`);
    const r = await cli(file('partial.gz', variant, true));
    const partial = count(lines, 'depth@0ms');
    expect(rowOf(r.stderr, 'lines')).toBe(
      `${int(variant.length)} = ${int(variant.length - partial - 2)} messages (bookTicker ${int(count(lines, 'bookTicker'))}, ` +
      `trade ${int(count(lines, 'trade'))}, snapshot 1) + ${int(partial + 2)} skipped whole + 0 malformed + 0 blank`);
    expect(rowOf(r.stderr, 'skipped')).toBe(`${int(partial + 2)} by type: depth20@100ms ${int(partial)}, forceOrder 1, kline_1m 1`);
    expect(r.stderr).toContain('BTCUSDT: never live: no depth diff continued its snapshot; its quotes carry no depth (depth features off)');
    expect(r.stderr).toContain('partial-book streams (depth20@100ms) are not read');
  });
});

describe('order books in the summary', () => {
  it('says when the book went live, and that a capture starting mid-book gives no depth', async () => {
    const live = await cli(DEPTH);
    const snapshotLine = lines.findIndex((l) => l.includes('"lastUpdateId"')) + 1;
    expect(live.stderr).toMatch(new RegExp(`\\n {4}BTCUSDT: live from line ${snapshotLine}, [\\d,]+ depth diffs applied\\n`));
    const noSnapshot = lines.filter((l) => !l.includes('"lastUpdateId"'));
    const r = await cli(file('nosnap.gz', noSnapshot, true));
    expect(r.stderr).toContain(`BTCUSDT: never live: no depth snapshot for it in the file (the capture starts mid-book), ` +
      `${int(count(lines, 'depth@0ms'))} depth diffs unused; its quotes carry no depth (depth features off)`);
  });

  it('reports lines received out of order with their line numbers', async () => {
    const swapped = [...lines];
    [swapped[400], swapped[401]] = [swapped[401], swapped[400]];
    const later = BigInt(swapped[400].slice(0, swapped[400].indexOf(' ')));
    const earlier = BigInt(swapped[401].slice(0, swapped[401].indexOf(' ')));
    expect(earlier < later).toBe(true); // the swap put a later receive time first
    const r = await cli(file('swapped.txt', swapped));
    expect(rowOf(r.stderr, 'out of order')).toBe('1 line (kept; see docs/binance.md):');
    expect(r.stderr).toContain('    receiveTime 1, received before an earlier line (given its time): lines 402\n');
  });
});

describe('files a new user brings', () => {
  it('replays the other files when one is empty, and says so', async () => {
    const empty = file('empty.gz', '', true);
    const blank = file('blank.txt', '\n\n  \n');
    const alone = await cli(DEPTH);
    const r = await cli(empty, DEPTH, blank);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`  input        ${empty} (empty: no line to read)\n`);
    expect(r.stderr).toContain(`  input        ${blank} (empty: no line to read)\n`);
    expect(rowOf(r.stderr, 'events')).toBe(rowOf(alone.stderr, 'events'));
    expect(r.stdout).toBe(alone.stdout);
    // Commands that need a format still refuse it, saying what is wrong.
    await expect(checkInput(empty, 'auto')).rejects.toThrow(/is empty/);
  });

  it('detects a Binance capture whose first line is a bare REST snapshot (no receive time), and loads its book', async () => {
    const snap = lines.findIndex((l) => l.includes('"lastUpdateId"'));
    const bare = [lines[snap].slice(lines[snap].indexOf(' ') + 1), ...lines.slice(0, snap), ...lines.slice(snap + 1)];
    const path = file('bare-snapshot-first.gz', bare, true);
    expect((await detectFileFormat(path)).format).toBe('binance');
    const r = await cli(path);
    expect(r.stderr).toContain(`(binance, gzip,`);
    // The same events as the same lines with the snapshot's receive time kept: book quotes included.
    const timed = await cli(file('timed-snapshot-first.gz', [lines[snap], ...lines.slice(0, snap), ...lines.slice(snap + 1)], true));
    expect(rowOf(r.stderr, 'events')).toBe(rowOf(timed.stderr, 'events'));
    expect(rowOf(r.stderr, 'events')).toMatch(/quote 16,/);
    expect(r.stderr).not.toContain('badTimestamp');
    expect(r.stderr).toMatch(/BTCUSDT: live from line \d/);
  });

  it('says that files given out of time order had their events rejected', async () => {
    const half = 9000;
    const a = file('part1.gz', lines.slice(0, half), true);
    const b = file('part2.gz', lines.slice(half), true);
    const inOrder = await cli(a, b);
    expect(rowOf(inOrder.stderr, 'rejected')).toBe('none');
    expect(inOrder.stderr).not.toContain('rejected as going back in time');
    const reversed = await cli(b, a);
    const rejected = /timeBackwards ([\d,]+)/.exec(rowOf(reversed.stderr, 'rejected') ?? '')?.[1];
    expect(rejected).toBeDefined();
    expect(reversed.stderr).toContain(`${a}: starts at `);
    expect(reversed.stderr).toContain(`${rejected} of its events were rejected as going back in time`);
  });

  it('reads aggTrade streams as trades, and takes them from the trade stream when a capture has both', async () => {
    const toAgg = (l: string) => l.replace(/"stream":"btcusdt@trade","data":\{"e":"trade",(.*)"t":(\d+),/, '"stream":"btcusdt@aggTrade","data":{"e":"aggTrade",$1"a":$2,"f":$2,"l":$2,');
    const n = count(lines, 'trade');
    const aggOnly = await cli(file('aggtrade.gz', lines.map(toAgg), true));
    expect(rowOf(aggOnly.stderr, 'events')).toBe(rowOf((await cli(DEPTH)).stderr, 'events'));
    expect(rowOf(aggOnly.stderr, 'skipped')).toBe('0 by type: none');
    expect(rowOf(aggOnly.stderr, 'lines')).toContain(`aggTrade ${int(n)}`);
    // Both streams (each trade line followed by its aggTrade copy): the trades once, from `trade`.
    const both = lines.flatMap((l) => (l.includes('@trade"') ? [l, toAgg(l)] : [l]));
    const r = await cli(file('trade-and-aggtrade.gz', both, true));
    expect(rowOf(r.stderr, 'events')).toBe(rowOf((await cli(DEPTH)).stderr, 'events'));
    expect(rowOf(r.stderr, 'skipped')).toBe(`${int(n)} by type: aggTrade ${int(n)}`);
    expect(r.stderr).toContain(`${int(n)} aggTrade messages skipped: their instruments have the trade stream`);
  });

  it('says that receive times of another length than ns, us, ms or s cannot be right', async () => {
    // 17 digits: not a unit, read as ns: mid-1970.
    const odd = lines.map((l) => l.slice(0, l.indexOf(' ') - 2) + l.slice(l.indexOf(' ')));
    const r = await cli(file('odd.gz', odd, true));
    expect(r.stderr).toMatch(/receive times start at 1970-\S+Z, before 2000: Binance lines are read as ns since the epoch/);
    const ns = await cli(DEPTH);
    expect(ns.stderr).not.toContain('before 2000');
  });

  it('hints at another format when no line could be read', async () => {
    const r = await cli('--format', 'ndjson', DEPTH);
    expect(r.stderr).toContain(`${DEPTH}: no line could be read as ndjson (${int(lines.length)} malformed lines): is it another format? (--format)`);
    expect((await cli(DEPTH)).stderr).not.toContain('no line could be read');
  });
});

describe('Deribit captures in other layouts', () => {
  const wsLines = () => readFileSync(WS, 'utf8').split('\n');

  it('reads "<receive ns> <json>" lines (the Binance capture layout) as Deribit, with the same events', async () => {
    const converted = wsLines().filter((l) => /^\d+\.\d+: \{/.test(l)).map((l) => {
      const [t, rest] = [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)];
      const [s, f] = t.split('.');
      return `${s}${f.padEnd(9, '0').slice(0, 9)} ${rest}`;
    });
    const original = file('ws-colon.txt', wsLines().filter((l) => /^\d+\.\d+: \{/.test(l)));
    const path = file('ws-ns.txt', converted);
    expect(await detectFileFormat(path)).toEqual({ format: 'deribit', deribitListing: false });
    const a = await cli(LISTING, original);
    const b = await cli(LISTING, path);
    expect(rowOf(b.stderr, 'malformed')).toBe('none');
    expect(rowOf(b.stderr, 'events')).toBe(rowOf(a.stderr, 'events'));
    expect(rowOf(b.stderr, 'events')).not.toMatch(/^0:/);
    expect(b.stdout).toBe(a.stdout);
  });

  it('counts its messages by channel and the lines skipped whole', async () => {
    const reader = new DeribitReader(WS);
    for await (const _ of reader) { /* read */ }
    const ls = wsLines();
    const channel = (c: string) => ls.filter((l) => l.includes(`"channel":"${c}.`)).length;
    expect(reader.stats.messages).toEqual({ ticker: channel('ticker'), book: channel('book') });
    const blank = ls.filter((l) => l.trim() === '').length - (ls[ls.length - 1] === '' ? 1 : 0);
    expect(reader.stats.ignoredLines).toBe(ls.length - (ls[ls.length - 1] === '' ? 1 : 0) - blank - channel('ticker') - channel('book'));
    expect(reader.stats.ignoredLines).toBe(3); // the connection, the subscribe request, its response
  });

  it('names the options that get no neighbour IV: without a listing, or missing from it', async () => {
    const names = [...new Set(wsLines().map((l) => /"instrument_name":"([^"]+-[CP])"/.exec(l)?.[1]).filter((x): x is string => !!x))];
    const none = await cli(WS);
    expect(none.stderr).toContain(`${names.length} options without strike, expiry and type from a listing (none was given)`);
    const listed = await cli(LISTING, WS);
    expect(listed.stderr).not.toContain('without strike, expiry and type');
    const renamed = file('ws-unlisted.txt', readFileSync(WS, 'utf8').replaceAll('BTC-24SEP21-8000-P', 'BTC-24SEP21-9000-P'));
    const one = await cli(LISTING, renamed);
    expect(one.stderr).toContain('1 option without strike, expiry and type from the listing (BTC-24SEP21-9000-P): no neighbour IV for it');
  });
});
