// The neighbour IV of Deribit option events (f5, `neighbourIv`): the mark IV interpolated in ln(strike) between the
// nearest usable strikes below and above, same smile (base, quote, settlement, expiry), from earlier lines only.
// On the committed capture (whose smiles have at most two strikes: all wings), on the capture with a made-up strike
// inserted between two real ones, and on hand-made cases with values worked out by hand.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind } from '../src/abi.js';
import { DeribitReader, type DeribitOptions } from '../src/adapters/deribit.js';
import { formatCanonicalEvent, NdjsonReader } from '../src/adapters/ndjson.js';
import { Engine } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import { InstrumentCatalog } from '../src/instruments.js';
import { Registry } from '../src/registry.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/deribit/', import.meta.url));
const WS = join(FIXTURES, 'DERIBIT.ws.1.0');
const LISTING = join(FIXTURES, 'DERIBIT.0');

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'atc-neighbour-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

interface Ev { kind: number; name: string; ts: bigint; f: number[] }

/** Reads files in order with one catalog (a listing first), as `atc replay` does; every event and the last stats. */
async function readFiles(paths: string[], opts: DeribitOptions = {}) {
  const catalog = new InstrumentCatalog(new Registry());
  const events: Ev[] = [];
  let reader!: DeribitReader;
  for (const path of paths) {
    reader = new DeribitReader(path, { ...opts, catalog });
    for await (const b of reader) {
      for (let i = 0; i < b.length; i++) events.push({ kind: b.kind[i], name: catalog.registry.name(b.instrument[i]), ts: b.tsNs[i], f: b.f.map((c) => c[i]) });
    }
  }
  return { events, stats: reader.stats, catalog };
}

let fileNo = 0;
function write(lines: string[]): string {
  const path = join(dir, `f${fileNo++}.txt`);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

// ---- Hand-made lines, in the layout of the capture ----------------------------------------------------------
const EXPIRY = 1632470400000; // 24SEP21 08:00 UTC
function listed(name: string, strike: number, type: 'call' | 'put', expiry = EXPIRY, base = 'BTC'): object {
  return { instrument_name: name, kind: 'option', option_type: type, strike, expiration_timestamp: expiry, base_currency: base, quote_currency: base, settlement_period: 'month', tick_size: 0.0005, contract_size: 1, min_trade_amount: 0.1 };
}
const listing = (...entries: object[]) => `https://www.deribit.com/api/v2/public/get_instruments?currency=BTC -> 1626993700.0: ${JSON.stringify({ jsonrpc: '2.0', result: entries })}`;
/** An option ticker at `sec` seconds (a decimal string) with mark IV `iv` percent. */
const ticker = (sec: string, name: string, iv: number, extra: object = {}) =>
  `${sec}: ${JSON.stringify({ jsonrpc: '2.0', method: 'subscription', params: { channel: `ticker.${name}.raw`, data: { instrument_name: name, timestamp: 1, mark_iv: iv, underlying_price: 32000, mark_price: 0.01, ...extra } } })}`;

const C30 = 'BTC-24SEP21-30000-C', C40 = 'BTC-24SEP21-40000-C', C50 = 'BTC-24SEP21-50000-C', P40 = 'BTC-24SEP21-40000-P';
const C20 = 'BTC-24SEP21-20000-C', P30 = 'BTC-24SEP21-30000-P', P50 = 'BTC-24SEP21-50000-P';
const SMILE = listing(listed(C20, 20000, 'call'), listed(C30, 30000, 'call'), listed(P30, 30000, 'put'), listed(C40, 40000, 'call'),
  listed(P40, 40000, 'put'), listed(C50, 50000, 'call'), listed(P50, 50000, 'put'));

/** f5 of the events of `name`, in order. */
const f5Of = (events: Ev[], name: string) => events.filter((e) => e.name === name && e.kind === Kind.option).map((e) => e.f[5]);

describe('neighbour IV on the committed Deribit capture', () => {
  it('is NaN on every option event: no smile of the capture has a strike between two others', async () => {
    // Independently of the reader: the listing's options by expiry, and how many strikes each has.
    const listed = readFileSync(LISTING, 'utf8').split('\n').filter((l) => l.includes('"result"'))
      .flatMap((l) => JSON.parse(l.slice(l.indexOf('{'))).result as { kind: string; strike: number; expiration_timestamp: number; base_currency: string }[])
      .filter((r) => r.kind === 'option');
    const strikes = new Map<string, Set<number>>();
    for (const r of listed) {
      const key = `${r.base_currency}/${r.expiration_timestamp}`;
      if (!strikes.has(key)) strikes.set(key, new Set());
      strikes.get(key)!.add(r.strike);
    }
    expect(listed.length).toBe(10);
    expect(Math.max(...[...strikes.values()].map((s) => s.size))).toBe(2);

    const withListing = await readFiles([LISTING, WS]);
    const without = await readFiles([WS]);
    const options = withListing.events.filter((e) => e.kind === Kind.option);
    expect(options.length).toBe(89);
    expect(options.every((e) => Number.isNaN(e.f[5]))).toBe(true);
    expect(withListing.stats.neighbourIv).toBe(0);
    // The listing changes nothing else.
    expect(withListing.events).toEqual(without.events);
  });

  it('interpolates a made-up strike between two real ones from their latest real mark IVs', async () => {
    // BTC-24SEP21-16000-P, listed like the 8000 put, between the capture's 8000 and 34000 puts of 24SEP21: a ticker
    // for it after every 15th line of the capture (its own mark IV made up: 100%).
    const mid = 'BTC-24SEP21-16000-P';
    const lines = readFileSync(WS, 'utf8').split('\n').filter((l) => l.length > 0);
    const listingLines = readFileSync(LISTING, 'utf8').split('\n').filter((l) => l.length > 0);
    const btc = listingLines.findIndex((l) => l.includes('currency=BTC'));
    const head = listingLines[btc].slice(0, listingLines[btc].indexOf('{'));
    const msg = JSON.parse(listingLines[btc].slice(head.length));
    const p8000 = msg.result.find((r: { instrument_name: string }) => r.instrument_name === 'BTC-24SEP21-8000-P');
    msg.result.push({ ...p8000, instrument_name: mid, strike: 16000 });
    const listingPath = write([head + JSON.stringify(msg)]);

    // Expected, from a plain reading of the lines before each inserted one.
    const latest = new Map<string, number>();
    const expected: number[] = [];
    const out: string[] = [];
    lines.forEach((line, k) => {
      out.push(line);
      const m = /"channel":"ticker\.([^.]+)\./.exec(line);
      if (m) latest.set(m[1], JSON.parse(line.slice(line.indexOf('{'))).params.data.mark_iv / 100);
      if (k % 15 !== 14) return;
      const sec = line.slice(0, line.indexOf(':'));
      out.push(ticker(`${sec}1`, mid, 100)); // 1e-7 s after the line it follows
      const lo = latest.get('BTC-24SEP21-8000-P'), hi = latest.get('BTC-24SEP21-34000-P');
      const w = Math.log(16000 / 8000) / Math.log(34000 / 8000);
      expected.push(lo === undefined || hi === undefined ? NaN : (1 - w) * lo + w * hi);
    });
    const { events, stats } = await readFiles([listingPath, write(out)]);
    expect(f5Of(events, mid)).toEqual(expected);
    expect(expected.filter((x) => !Number.isNaN(x)).length).toBeGreaterThanOrEqual(7);
    expect(stats.neighbourIv).toBe(expected.filter((x) => !Number.isNaN(x)).length);
    // The first value by hand: 8000-P at 142.78%, 34000-P at 76.57%; w = ln 2 / ln 4.25 = 0.47905044...
    const first = expected.find((x) => !Number.isNaN(x))!;
    expect(first).toBeCloseTo(1.4278 * (1 - 0.47905044355233856) + 0.7657 * 0.47905044355233856, 14);
    expect(first).toBeCloseTo(1.1106, 4);
    // The real options stay wings: still NaN.
    expect(f5Of(events, 'BTC-24SEP21-8000-P').every(Number.isNaN)).toBe(true);
    expect(f5Of(events, 'BTC-24SEP21-34000-P').every(Number.isNaN)).toBe(true);
  });
});

describe('neighbour IV, hand-made cases', () => {
  it('interpolates linearly in ln(strike): the value by hand', async () => {
    const { events } = await readFiles([write([SMILE,
      ticker('1626993720.0', C30, 60),
      ticker('1626993721.0', C50, 50),
      ticker('1626993722.0', C40, 55),
    ])]);
    // w = ln(40000 / 30000) / ln(50000 / 30000) = 0.28768207 / 0.51082562 = 0.56317079...
    // f5 = (1 - w) 0.60 + w 0.50 = 0.60 - 0.1 w = 0.54368292...
    expect(f5Of(events, C40)).toHaveLength(1);
    expect(f5Of(events, C40)[0]).toBeCloseTo(0.5436829205373676, 15);
    // Not the linear-in-strike value (0.55).
    expect(Math.abs(f5Of(events, C40)[0] - 0.55)).toBeGreaterThan(0.006);
  });

  it('is NaN at the wings, and without a listing', async () => {
    const { events, stats } = await readFiles([write([SMILE,
      ticker('1626993720.0', C30, 60), ticker('1626993721.0', C40, 55), ticker('1626993722.0', C50, 50),
      ticker('1626993723.0', C30, 61), ticker('1626993724.0', C50, 51),
      ticker('1626993725.0', 'BTC-24SEP21-60000-C', 49), // not listed: no strike known
    ])]);
    expect(f5Of(events, C30)).toEqual([NaN, NaN]); // lowest strike
    expect(f5Of(events, C50)).toEqual([NaN, NaN]); // highest strike
    expect(f5Of(events, C40)).toEqual([NaN]); // 50000 not seen yet
    expect(f5Of(events, 'BTC-24SEP21-60000-C')).toEqual([NaN]);
    expect(stats.neighbourIv).toBe(0);
    // Without the listing, nothing has a strike.
    const bare = await readFiles([write([ticker('1626993720.0', C30, 60), ticker('1626993721.0', C50, 50), ticker('1626993722.0', C40, 55)])]);
    expect(f5Of(bare.events, C40)).toEqual([NaN]);
  });

  it('uses IVs at most neighbourMaxAgeMs old, skipping a stale nearest strike for a fresh further one', async () => {
    const lines = [SMILE,
      ticker('1626993700.0', C20, 70),
      ticker('1626993710.0', C30, 60),
      ticker('1626993720.0', C50, 50),
      ticker('1626993770.0', C40, 55), // 30000 60 s old (fresh: the bound is inclusive), 50000 50 s
      ticker('1626993770.5', C40, 55), // 30000 60.5 s old: stale; 20000 70.5 s: stale too -> NaN
      ticker('1626993771.0', C20, 71),
      ticker('1626993771.5', C40, 55), // 30000 stale, 20000 fresh (0.5 s): interpolate 20000..50000
      ticker('1626993790.0', C40, 55), // 50000 70 s old: stale on the upper side -> NaN
    ];
    const { events } = await readFiles([write(lines)]);
    const w1 = Math.log(40000 / 30000) / Math.log(50000 / 30000);
    // Between 20000 (71%) and 50000 (50%): w = ln 2 / ln 2.5 = 0.75647079...; 0.71 - 0.21 w = 0.55114113...
    const w2 = Math.log(2) / Math.log(2.5);
    expect(w2).toBeCloseTo(0.75647079736603, 14);
    expect(f5Of(events, C40)).toEqual([(1 - w1) * 0.6 + w1 * 0.5, NaN, (1 - w2) * 0.71 + w2 * 0.5, NaN]);
    expect(f5Of(events, C40)[2]).toBeCloseTo(0.5511411325531337, 15);
    // A shorter bound: 10 s. At 1626993770 both neighbours are older: NaN.
    const short = await readFiles([write(lines)], { neighbourMaxAgeMs: 10_000 });
    expect(f5Of(short.events, C40)).toEqual([NaN, NaN, NaN, NaN]);
  });

  it('never uses the option itself or its twin of the other type at the same strike', async () => {
    // Only the option's own strike and one side: a wing, whatever the own strike's history.
    const own = await readFiles([write([SMILE,
      ticker('1626993720.0', C30, 60), ticker('1626993721.0', C40, 55), ticker('1626993722.0', P40, 56), ticker('1626993723.0', C40, 57),
    ])]);
    expect(f5Of(own.events, C40)).toEqual([NaN, NaN]);
    expect(f5Of(own.events, P40)).toEqual([NaN]);
    // With both sides: the put at 40000 at a wild IV changes nothing for the call at 40000 (and vice versa).
    const base = [SMILE, ticker('1626993720.0', C30, 60), ticker('1626993721.0', C50, 50)];
    const a = await readFiles([write([...base, ticker('1626993722.0', C40, 55), ticker('1626993723.0', P40, 55.2), ticker('1626993724.0', C40, 55)])]);
    const b = await readFiles([write([...base, ticker('1626993722.0', C40, 300), ticker('1626993723.0', P40, 5), ticker('1626993724.0', C40, 20)])]);
    const want = (1 - Math.log(4 / 3) / Math.log(5 / 3)) * 0.6 + (Math.log(4 / 3) / Math.log(5 / 3)) * 0.5;
    expect(f5Of(a.events, C40)).toEqual([want, want]);
    expect(f5Of(b.events, C40)).toEqual([want, want]);
    expect(f5Of(a.events, P40)).toEqual([want]);
    expect(f5Of(b.events, P40)).toEqual([want]);
  });

  it('gives the same f5 to tickers of one time whatever their order, from IVs strictly before that time', async () => {
    const history = [SMILE,
      ticker('1626993710.0', C20, 70), ticker('1626993711.0', C30, 60), ticker('1626993712.0', C40, 55), ticker('1626993713.0', C50, 50),
      ticker('1626993714.0', P30, 60.4), ticker('1626993715.0', P50, 50.4),
    ];
    // Four tickers at one time, every strike moving: each sees the others' values from before that time.
    const same = [ticker('1626993720.0', C30, 40), ticker('1626993720.0', C40, 41), ticker('1626993720.0', C50, 42), ticker('1626993720.0', P30, 43)];
    const perms = (xs: string[]): string[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));
    const after = ticker('1626993721.0', C40, 41);
    const results = new Map<string, string>();
    let first: Ev[] | undefined;
    for (const p of perms(same)) {
      const { events } = await readFiles([write([...history, ...p, after])]);
      const byName = [C30, C40, C50, P30].map((n) => f5Of(events, n));
      results.set(JSON.stringify(byName.map((xs) => xs.map(String))), p.join());
      first ??= events;
    }
    expect(results.size).toBe(1);
    const [c30, c40, c50, p30] = [C30, C40, C50, P30].map((n) => f5Of(first!, n));
    const lerp = (k: number, klo: number, ivlo: number, khi: number, ivhi: number) => {
      const w = Math.log(k / klo) / Math.log(khi / klo);
      return (1 - w) * ivlo + w * ivhi;
    };
    // At 1626993720: 30000 from 20000 (0.70) and 40000 (0.55, from before); 40000 from 30000 (the put, 0.604, is
    // more recent than the call's 0.60) and 50000 (the put, 0.504); 50000 a wing.
    expect(c30.at(-1)).toBe(lerp(30000, 20000, 0.7, 40000, 0.55));
    expect(p30.at(-1)).toBe(lerp(30000, 20000, 0.7, 40000, 0.55));
    // (At 1626993712 50000 had not been seen yet: NaN.)
    expect(c40).toEqual([NaN, lerp(40000, 30000, 0.604, 50000, 0.504),
      // At 1626993721: the moves of 1626993720 count. At 30000 the call (0.40) and the put (0.43) are equally
      // recent: their mean; at 50000 the call (0.42) is the more recent.
      lerp(40000, 30000, (0.4 + 0.43) / 2, 50000, 0.42)]);
    expect(c50.every(Number.isNaN)).toBe(true);
  });

  it('pools calls and puts by default; sameType uses only the asking option\'s type', async () => {
    const lines = [SMILE, ticker('1626993720.0', P30, 60), ticker('1626993721.0', C50, 50), ticker('1626993722.0', C40, 55), ticker('1626993723.0', P40, 55)];
    const pooled = await readFiles([write(lines)]);
    const w = Math.log(4 / 3) / Math.log(5 / 3);
    expect(f5Of(pooled.events, C40)).toEqual([(1 - w) * 0.6 + w * 0.5]);
    expect(f5Of(pooled.events, P40)).toEqual([(1 - w) * 0.6 + w * 0.5]);
    const same = await readFiles([write(lines)], { neighbourTypes: 'sameType' });
    expect(f5Of(same.events, C40)).toEqual([NaN]); // no call below
    expect(f5Of(same.events, P40)).toEqual([NaN]); // no put above
  });

  it('keeps smiles apart: another expiry or another currency is not a neighbour', async () => {
    const other = 'BTC-31DEC21-30000-C', eth = 'ETH-24SEP21-30000-C';
    const { events } = await readFiles([write([
      listing(listed(C40, 40000, 'call'), listed(C50, 50000, 'call'), listed(other, 30000, 'call', 1640937600000), listed(eth, 30000, 'call', EXPIRY, 'ETH')),
      ticker('1626993720.0', other, 60), ticker('1626993720.5', eth, 60), ticker('1626993721.0', C50, 50), ticker('1626993722.0', C40, 55),
    ])]);
    expect(f5Of(events, C40)).toEqual([NaN]);
  });

  it('learns nothing from a message it refuses, and nothing from later lines', async () => {
    const bad = ticker('1626993721.5', C30, 90, { best_bid_price: 'x' }); // malformed: the whole message is dropped
    const lines = [SMILE, ticker('1626993720.0', C30, 60), ticker('1626993721.0', C50, 50), bad, ticker('1626993722.0', C40, 55),
      ticker('1626993723.0', C30, 30), ticker('1626993724.0', C40, 55)];
    const { events, stats } = await readFiles([write(lines)]);
    expect(stats.malformed.badNumber?.lines).toEqual([4]);
    const w = Math.log(4 / 3) / Math.log(5 / 3);
    expect(f5Of(events, C40)).toEqual([(1 - w) * 0.6 + w * 0.5, (1 - w) * 0.3 + w * 0.5]);
    // Every prefix of the file gives a prefix of the events: nothing comes from a line not read yet.
    for (let n = 1; n < lines.length; n++) {
      const part = await readFiles([write(lines.slice(0, n))]);
      expect(events.slice(0, part.events.length)).toEqual(part.events);
    }
  });

  it('reaches the engine, which takes option events with f5, and survives canonical NDJSON', async () => {
    const path = write([SMILE, ticker('1626993720.0', C30, 60), ticker('1626993721.0', C50, 50), ticker('1626993722.0', C40, 55)]);
    const catalog = new InstrumentCatalog(new Registry());
    const reader = new DeribitReader(path, { catalog, reuseBatch: false });
    const engine = Engine.create({ autoRegister: true });
    const batches: EventBatch[] = [];
    for await (const b of reader) {
      batches.push(b);
      expect(engine.ingest(b).rejects).toEqual([]);
    }
    const all = batches.flatMap((b) => Array.from({ length: b.length }, (_, i) => formatCanonicalEvent(b, i, catalog.registry))).join('');
    expect(all).toContain('"neighbourIv":0.5436829205373676');
    const ndjson = join(dir, 'neighbour.ndjson');
    writeFileSync(ndjson, all);
    const back: number[][] = [];
    for await (const b of new NdjsonReader(ndjson)) for (let i = 0; i < b.length; i++) back.push(b.f.map((c) => c[i]));
    const direct = batches.flatMap((b) => Array.from({ length: b.length }, (_, i) => b.f.map((c) => c[i])));
    expect(back).toEqual(direct);
  });
});
