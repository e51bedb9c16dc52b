// Captures a new user brings that the Binance reader once misread (the audit of `atc replay`; they were it.fails
// until fixed): aggTrade streams, receive times in ms, a capture split into files, a REST snapshot line without a
// receive time. Each variant is made from the committed depth sample and must give what the original gives.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinanceReader } from '../src/adapters/binance.js';
import { Kind } from '../src/abi.js';
import { main } from '../src/cli.js';
import { Registry } from '../src/registry.js';
import { runCli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPTH = join(ROOT, 'data/samples/binance-usdm-btcusdt-depth.txt.gz');

let dir: string;
let lines: string[];
const file = (name: string, body: string[]) => {
  const path = join(dir, name);
  writeFileSync(path, gzipSync(body.join('\n') + '\n'));
  return path;
};
const rowOf = (stderr: string, label: string) => stderr.split('\n').find((l) => l.startsWith(`  ${label.padEnd(12)} `))?.slice(15);

/** The trades of a file as [ts, price, size, side], and the reader's stats. */
async function trades(path: string) {
  const reader = new BinanceReader(path, { registry: new Registry() });
  const out: [bigint, number, number, number][] = [];
  for await (const b of reader) {
    for (let i = 0; i < b.length; i++) if (b.kind[i] === Kind.trade) out.push([b.tsNs[i], b.f[0][i], b.f[1][i], b.f[2][i]]);
  }
  return { out, stats: reader.stats };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atc-variant-gaps-'));
  lines = gunzipSync(readFileSync(DEPTH)).toString('utf8').split('\n').filter((l) => l.length > 0);
});
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

describe('Binance captures recorded differently read as the original', () => {
  // An aggTrade is one trade event: s, p, q, m as for `trade`, its id the aggregate id "a" (its size is the summed q
  // of the fills f..l at one price; here each aggregates one fill, so the trades are the same).
  it('an aggTrade capture gives the same trades as the trade stream it aggregates', async () => {
    const agg = lines.map((l) => l.replace(/"stream":"btcusdt@trade","data":\{"e":"trade",(.*)"t":(\d+),/, '"stream":"btcusdt@aggTrade","data":{"e":"aggTrade",$1"a":$2,"f":$2,"l":$2,'));
    const want = await trades(DEPTH);
    const got = await trades(file('aggtrade.gz', agg));
    expect(want.out.length).toBeGreaterThan(2000);
    expect(got.out).toEqual(want.out);
  });

  // The receive time's unit comes from its number of digits (fractionDigits: 10 s, 13 ms, 16 us; else ns).
  it('receive times in ms are read as ms', async () => {
    const ms = lines.map((l) => l.slice(0, l.indexOf(' ') - 6) + l.slice(l.indexOf(' ')));
    const want = await trades(DEPTH);
    const got = await trades(file('ms.gz', ms));
    expect(got.out.length).toBe(want.out.length);
    expect(got.out.map((t) => t[0])).toEqual(want.out.map((t) => (t[0] / 1_000_000n) * 1_000_000n));
  });

  // The readers of one replay share a BinanceSession (each symbol's book, last ids, top of book): the second file's
  // diffs continue the book the first built, so a capture split into files gives the events of the whole.
  it('a capture split into two files gives the events of the whole file', async () => {
    const half = 9000;
    const whole = await runCli(['replay', DEPTH], main);
    const split = await runCli(['replay', file('part1.gz', lines.slice(0, half)), file('part2.gz', lines.slice(half))], main);
    expect(split.stderr).not.toContain('never live');
    expect(rowOf(split.stderr, 'events')).toBe(rowOf(whole.stderr, 'events'));
  });

  // A line without a receive time that is a REST snapshot (`{"lastUpdateId"...}`, as recorders that fetch the
  // snapshot before opening the stream write it) is read as a snapshot, timed like the line before it.
  it('a bare REST snapshot line without a receive time loads the book', async () => {
    const snap = lines.findIndex((l) => l.includes('"lastUpdateId"'));
    const bare = [lines[snap].slice(lines[snap].indexOf(' ') + 1), ...lines.slice(0, snap), ...lines.slice(snap + 1)];
    const { stats } = await trades(file('bare-snapshot.gz', bare));
    expect(stats.messages.snapshot).toBe(1);
    expect(stats.books.BTCUSDT.state).toBe('live');
  });
});
