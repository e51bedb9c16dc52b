// The byte scanner against JSON.parse: the same ParsedMessage for every line of the committed samples and for
// hand-made variants (other key orders, whitespace, raw messages, numbers where strings were expected, escapes,
// damage), and the receive-time prefix read from bytes against BigInt, through the reader's i64 halves.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSG_DEPTH, MSG_MALFORMED, MSG_MARK, MSG_QUOTE, MSG_SKIP, MSG_SNAPSHOT, MSG_TRADE, parseJsonMessage } from '../src/adapters/binance-message.js';
import { BinanceScanner, ReceiveTime, scanReceiveTime, TIME_BAD, TIME_BLANK } from '../src/adapters/binance-scan.js';
import { BinanceReader, receiveNs } from '../src/adapters/binance.js';
import { mulberry32 } from '../src/random.js';
import { both } from './binance-reference.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = ['data/samples/binance-usdm-btcusdt.txt.gz', 'data/samples/binance-usdm-btcusdt-depth.txt.gz'].map((p) => join(ROOT, p));

describe('BinanceScanner against JSON.parse', () => {
  it('parses every line of the committed samples exactly as JSON.parse does, without falling back', () => {
    const scanner = new BinanceScanner();
    const kinds = new Map<number, number>();
    for (const path of SAMPLES) {
      for (const line of gunzipSync(readFileSync(path)).toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        const { fast, json } = both(scanner, line);
        expect(fast).toEqual(json);
        kinds.set(fast.kind as number, (kinds.get(fast.kind as number) ?? 0) + 1);
      }
    }
    expect(scanner.fallbacks).toBe(0);
    // Trades, quotes, depth diffs and snapshots all went through the scanner's own path.
    expect([...kinds.keys()].sort()).toEqual([MSG_TRADE, MSG_QUOTE, MSG_DEPTH, MSG_SNAPSHOT].sort());
  });

  const T = '1000000000000000001 ';
  const cases: [string, string, 'fast' | 'fallback'][] = [
    // The scanner's own path, in shapes Binance does not send today.
    ['raw trade', '{"e":"trade","E":1,"s":"BTCUSDT","t":12,"p":"61800.30","q":"0.006","T":1,"m":true,"M":true}', 'fast'],
    ['keys in another order, whitespace', ' { "data" : { "m" : false , "q" : "1.5" , "p" : "7" , "s" : "X" } ,\t"stream" : "x@trade" }\r', 'fast'],
    ['raw spot bookTicker (no "e")', '{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}', 'fast'],
    ['bookTicker without u', '{"stream":"x@bookTicker","data":{"s":"X","b":"1","B":"2","a":"3","A":"4"}}', 'fast'],
    ['raw depthUpdate', '{"e":"depthUpdate","E":1,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}', 'fast'],
    ['depth with pu null and empty sides', '{"stream":"x@depth","data":{"s":"X","U":1,"u":2,"pu":null,"b":[],"a":[ ]}}', 'fast'],
    ['depth@500ms', '{"stream":"x@depth@500ms","data":{"s":"X","U":1,"u":2,"b":[[ "1.0" , "0" ]],"a":[]}}', 'fast'],
    ['partial-book stream is another type', '{"stream":"x@depth20@100ms","data":{"lastUpdateId":1,"bids":[],"asks":[]}}', 'fast'],
    ['snapshot with symbol', '{"lastUpdateId":1007198635033,"E":1,"T":2,"symbol":"BTCUSD_PERP","pair":"BTCUSD","bids":[["61804.7","35"]],"asks":[]}', 'fast'],
    // markPrice, in Binance's documented shapes (USD-M and COIN-M "Mark Price Stream" pages).
    ['markPrice@1s combined', '{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}}', 'fast'],
    ['markPrice (3 s) combined', '{"stream":"btcusdt@markPrice","data":{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"1.0","i":"2","P":"3","r":"-0.0001","T":3}}', 'fast'],
    ['raw markPriceUpdate', '{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"61801.5","i":"61790.25","P":"61790.1","r":"0.00010000","T":2}', 'fast'],
    ['COIN-M delivery markPrice: funding "" is none', '{"e":"markPriceUpdate","E":1596095725000,"s":"BTCUSD_201225","p":"10934.62615417","P":"10962.17178236","i":"10933.62615417","r":"","T":0}', 'fast'],
    ['markPrice without i and r, or null', '{"e":"markPriceUpdate","s":"X","p":"5","i":null}', 'fast'],
    ['markPrice@500s is a markPrice type too', '{"stream":"x@markPrice@500s","data":{"s":"X","p":"5","i":"4","r":"0"}}', 'fast'],
    ['markPrice@1m is another type', '{"stream":"x@markPrice@1m","data":{"s":"X","p":"5"}}', 'fast'],
    ['all-market markPrice array', '{"stream":"!markPrice@arr@1s","data":[{"e":"markPriceUpdate","s":"X","p":"5"}]}', 'fallback'],
    ['markPrice mark missing', '{"e":"markPriceUpdate","s":"X","i":"4"}', 'fallback'],
    ['markPrice mark not a number', '{"e":"markPriceUpdate","s":"X","p":"abc","i":"4"}', 'fallback'],
    ['markPrice mark empty', '{"e":"markPriceUpdate","s":"X","p":"","i":"4"}', 'fallback'],
    ['markPrice index not a number', '{"e":"markPriceUpdate","s":"X","p":"5","i":"n/a"}', 'fallback'],
    ['markPrice funding "-"', '{"e":"markPriceUpdate","s":"X","p":"5","r":"-"}', 'fallback'],
    ['markPrice index as a JSON number', '{"e":"markPriceUpdate","s":"X","p":"5","i":4.5}', 'fallback'],
    ['markPrice funding with an exponent', '{"e":"markPriceUpdate","s":"X","p":"5","r":"1e-4"}', 'fallback'],
    ['markPrice funding true', '{"e":"markPriceUpdate","s":"X","p":"5","r":true}', 'fallback'],
    ['markPrice without symbol', '{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","p":"1"}}', 'fallback'],
    ['markPrice index given twice', '{"e":"markPriceUpdate","s":"X","p":"5","i":"4","i":"3"}', 'fallback'],
    ['negative zero and leading zeros', '{"e":"trade","s":"X","p":"007.50","q":"-0","m":false}', 'fast'],
    ['trade id as a string is no id', '{"e":"trade","s":"X","p":"1","q":"1","m":false,"t":"12"}', 'fast'],
    ['unknown literal fields', '{"e":"trade","s":"X","p":"1","q":"1","m":false,"x":null,"y":true,"z":-1.5e-3}', 'fast'],
    // Left to JSON.parse: not certain, or not Binance's shape.
    ['escape in a symbol', '{"e":"trade","s":"B\\u0054C","p":"1","q":"1","m":false}', 'fallback'],
    ['non-ASCII symbol', '{"e":"trade","s":"BTC€","p":"1","q":"1","m":false}', 'fallback'],
    ['price as a JSON number', '{"e":"trade","s":"X","p":61800.3,"q":"1","m":false}', 'fallback'],
    ['price with an exponent', '{"e":"trade","s":"X","p":"6.18e4","q":"1","m":false}', 'fallback'],
    ['price "1." and ".5"', '{"e":"trade","s":"X","p":"1.","q":".5","m":false}', 'fallback'],
    ['mantissa past 2^53', '{"e":"trade","s":"X","p":"12345678901234567.1","q":"1","m":false}', 'fallback'],
    ['duplicate key', '{"e":"trade","s":"X","p":"1","p":"2","q":"1","m":false}', 'fallback'],
    ['nested object under an unknown key', '{"e":"trade","s":"X","p":"1","q":"1","m":false,"o":{"a":1}}', 'fallback'],
    ['id with a fraction', '{"e":"trade","s":"X","p":"1","q":"1","m":false,"t":1.5}', 'fallback'],
    ['sequence number with an exponent', '{"stream":"x@depth","data":{"s":"X","U":1e3,"u":2000,"b":[],"a":[]}}', 'fallback'],
    ['level with three elements', '{"stream":"x@depth","data":{"s":"X","U":1,"u":2,"b":[["1","2","3"]],"a":[]}}', 'fallback'],
    ['level price as a number', '{"stream":"x@depth","data":{"s":"X","U":1,"u":2,"b":[[1,"2"]],"a":[]}}', 'fallback'],
    ['level price with too many decimals', '{"stream":"x@depth","data":{"s":"X","U":1,"u":2,"b":[["0.0000000000000000001","2"]],"a":[]}}', 'fallback'],
    ['negative sequence number', '{"stream":"x@depth","data":{"s":"X","U":-1,"u":2,"b":[],"a":[]}}', 'fallback'],
    ['depth missing a side', '{"stream":"x@depth@0ms","data":{"s":"X","U":1,"u":2,"pu":0,"b":[]}}', 'fallback'],
    ['snapshot without levels', '{"lastUpdateId":5}', 'fallback'],
    ['snapshot symbol null', '{"lastUpdateId":5,"symbol":null,"bids":[],"asks":[]}', 'fallback'],
    ['truncated', '{"stream":"btcusdt@trade","data":{"e":"trade","p":"100.5"', 'fallback'],
    ['trailing garbage', '{"e":"trade","s":"X","p":"1","q":"1","m":false} x', 'fallback'],
    ['leading zero number', '{"e":"trade","s":"X","p":"1","q":"1","m":false,"E":01}', 'fallback'],
    ['not an object', '[1,2,3]', 'fallback'],
    ['empty symbol', '{"e":"trade","s":"","p":"1","q":"1","m":false}', 'fallback'],
    ['m as a string', '{"e":"trade","s":"X","p":"1","q":"1","m":"yes"}', 'fallback'],
    ['data not an object', '{"stream":"x@trade","data":[1]}', 'fallback'],
    ['stream not a string', '{"stream":5,"e":"trade","s":"X","p":"1","q":"1","m":false}', 'fallback'],
    ['no stream, no e', '{"x":1}', 'fallback'],
    ['control character in a string', '{"e":"trade","s":"X\u0001","p":"1","q":"1","m":false}', 'fallback'],
    ['byte-order mark before the object', '\uFEFF{"e":"trade","s":"X","p":"1","q":"1","m":false}', 'fallback'],
  ];
  for (const [name, json, path] of cases) {
    it(`${name}: ${path === 'fast' ? 'the scanner' : 'the fallback'} gives JSON.parse's result`, () => {
      const scanner = new BinanceScanner();
      const { fast, json: ref } = both(scanner, T + json);
      expect(fast).toEqual(ref);
      expect(scanner.fallbacks).toBe(path === 'fast' ? 0 : 1);
    });
  }

  it('reads markPrice messages into mark, index and funding, and says what is wrong with bad ones', () => {
    const scanner = new BinanceScanner();
    const mark = (symbol: string, m: number, index: number, funding: number) => ({ kind: MSG_MARK, symbol, mark: m, index, funding });
    const bad = (what: string, detail: string) => ({ kind: MSG_MALFORMED, what, detail });
    const cases: [string, Record<string, unknown>][] = [
      ['{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}}',
        mark('BTCUSDT', 11794.15, 11784.62659091, 0.00038167)],
      ['{"e":"markPriceUpdate","E":1,"s":"BTCUSD_201225","p":"10934.62615417","P":"1","i":"10933.62615417","r":"","T":0}',
        mark('BTCUSD_201225', 10934.62615417, 10933.62615417, NaN)],
      ['{"stream":"x@markPrice","data":{"s":"X","p":"5","r":"-0.00012"}}', mark('X', 5, NaN, -0.00012)],
      ['{"e":"markPriceUpdate","s":"X","p":"5","i":null,"r":"1e-4"}', mark('X', 5, NaN, 1e-4)],
      ['{"e":"markPriceUpdate","s":"X","i":"4"}', bad('missingField', 'markPriceUpdate field "p" is missing')],
      ['{"e":"markPriceUpdate","s":"X","p":"","i":"4"}', bad('badNumber', 'markPriceUpdate field "p" is not a number: ""')],
      ['{"e":"markPriceUpdate","s":"X","p":"5","i":"n/a"}', bad('badNumber', 'markPriceUpdate field "i" is not a number: "n/a"')],
      ['{"e":"markPriceUpdate","s":"X","p":"5","r":true}', bad('badNumber', 'markPriceUpdate field "r" is not a number: true')],
      ['{"e":"markPriceUpdate","p":"5"}', bad('missingField', 'markPriceUpdate field "s" is missing')],
      ['{"stream":"x@markPrice@1m","data":{"s":"X","p":"5"}}', { kind: MSG_SKIP, what: 'markPrice@1m' }],
    ];
    for (const [json, want] of cases) {
      const { fast, json: ref } = both(scanner, T + json);
      expect(fast, json).toEqual(want);
      expect(ref, json).toEqual(want);
    }
  });

  it('reads numbers to the same doubles as JSON.parse and unary plus, and decimals exactly', () => {
    const scanner = new BinanceScanner();
    const uniform = mulberry32(11);
    const rand = (k: number) => Math.floor(uniform() * k);
    for (let i = 0; i < 5000; i++) {
      // Random decimals of up to 15 digits, the lengths Binance writes and a few more.
      const int = String(rand(10 ** rand(8)));
      const frac = String(rand(10 ** 8)).padStart(rand(9), '0');
      const p = frac.length > 0 ? `${int}.${frac}` : int;
      const line = `${T}{"stream":"x@depth","data":{"s":"X","U":1,"u":2,"b":[["${p}","${p}"]],"a":[]},"p":"${p}"}`;
      const { fast, json } = both(scanner, line);
      expect(fast).toEqual(json);
      const t = both(scanner, `${T}{"e":"trade","s":"X","p":"${p}","q":"-${p}","m":true}`);
      expect(t.fast).toEqual(t.json);
      expect(t.fast.price).toBe(+p);
    }
    expect(scanner.fallbacks).toBe(0);
  });
});

describe('receive time from bytes', () => {
  const prefixes = [
    '1723161255030314667 {', '0 {', '1 {', '999999999 {', '1000000000 {', '4294967295 {', '4294967296 {',
    '9007199254740993 {', '9223372036854775807 {', '9223372036854775808 {', '19999999999999999999 {',
    '0000000000000000001 {', '12a {', ' {', '{', '', '\t\r', ' ', '123', '-5 {', '1723161255030314667\t{',
  ];
  it('agrees with BigInt on every prefix, blank lines included', () => {
    const out = new ReceiveTime();
    for (const line of prefixes) {
      const bytes = Buffer.from(line);
      const r = scanReceiveTime(bytes, 0, bytes.length, out);
      const space = line.indexOf(' ');
      const blank = space === -1 && /^[\t\r]*$/.test(line);
      if (blank) { expect(r, JSON.stringify(line)).toBe(TIME_BLANK); continue; }
      const want = receiveNs(line, space);
      if (want < 0n) { expect(r, line).toBe(TIME_BAD); continue; }
      expect(r).toBe(space);
      expect(BigInt(out.sec) * 1_000_000_000n + BigInt(out.nsec)).toBe(want);
    }
  });

  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'atc-parse-')); });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  it('writes the exact i64 into the batch through its two 32-bit halves', async () => {
    // In increasing order of the ns they stand for: 10-digit times are s, 16-digit us (fractionDigits).
    const times = [0n, 1n, 999_999_999n, 1_000_000_000n, 1_723_161_255_030_314_667n, 4_294_967_295n, 4_294_967_296n,
      4_611_686_018_427_387_904n, 9_007_199_254_740_993n, 9_223_372_036_854_775_807n];
    const path = join(dir, 'times.txt');
    writeFileSync(path, times.map((t, i) => `${t} {"e":"trade","s":"X","t":${i},"p":"1","q":"1","m":false}`).join('\n'));
    const got: bigint[] = [];
    const reader = new BinanceReader(path, { batchSize: 4 });
    for await (const b of reader) got.push(...b.tsNs.subarray(0, b.length));
    // 10- and 16-digit times are s and us (fractionDigits): the batch holds their ns.
    expect(got).toEqual(times.map((t) => receiveNs(`${t} `, `${t}`.length)));
    expect(got[3]).toBe(1_000_000_000n * 1_000_000_000n);
    expect(reader.stats.firstTsNs).toBe(got[0]);
    expect(reader.stats.lastTsNs).toBe(got[got.length - 1]);
    expect(reader.stats.outOfOrder).toEqual({});
  });

  it('gives the same events with the scanner and with JSON.parse as the parser', async () => {
    const run = async (opts: object) => {
      const r = new BinanceReader(SAMPLES[1], { batchSize: 777, ...opts });
      const rows: unknown[] = [];
      for await (const b of r) for (let i = 0; i < b.length; i++) rows.push([b.tsNs[i], b.kind[i], b.instrument[i], ...b.f.map((c) => c[i])]);
      return { rows, stats: r.stats };
    };
    const fast = await run({});
    const json = await run({ parser: parseJsonMessage });
    expect(fast.rows.length).toBeGreaterThan(7000);
    expect(fast.rows).toEqual(json.rows);
    expect({ ...fast.stats, books: undefined }).toEqual({ ...json.stats, books: undefined });
  });
});

