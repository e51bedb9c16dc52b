// The scanner's WebAssembly fast path (build/binance.wasm) against its TypeScript twin (BinanceScanner with
// { wasm: false }): the same message, the same fallback decision, on every line of the committed samples, on
// hand-made lines at the edges of what the fast path takes (numbers near 2^53, 16 and 17 digits, 18 and 22
// decimals, signs, dots, literals, duplicate keys, whitespace, escapes, non-ASCII), and on seeded mutations of real
// lines (bytes deleted, inserted, replaced, lines cut). Lines are scanned both in place (a chunk loaded into the
// module's input region, as the reader does) and copied into its scratch (any other buffer).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { newParsedMessage, parseJsonMessage, type ParsedMessage } from '../src/adapters/binance-message.js';
import { BinanceScanner, ReceiveTime } from '../src/adapters/binance-scan.js';
import { BinanceReader, sharedScanner } from '../src/adapters/binance.js';
import { mulberry32 } from '../src/random.js';
import { INPUT_BYTES, MAX_LINE, BinanceWasm } from '../src/wasm/binance.js';
import { view } from './binance-reference.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = ['binance-usdm-btcusdt.txt.gz', 'binance-usdm-btcusdt-depth.txt.gz', 'binance-usdm-btcusdt-burst.txt.gz'].map((f) => join(ROOT, 'data/samples', f));

/** The messages (after the receive time) of the committed samples' lines. */
function sampleMessages(): string[] {
  const out: string[] = [];
  for (const path of SAMPLES) {
    for (const line of gunzipSync(readFileSync(path)).toString('utf8').split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0) out.push(line.slice(space + 1));
    }
  }
  return out;
}

/** One parse with its observable outcome: the message's view, whether it fell back, and the fast path's share. */
function outcome(scanner: BinanceScanner, bytes: Uint8Array, start: number, end: number, msg: ParsedMessage) {
  const kind = scanner.parse(bytes, start, end, msg);
  return { ...view(kind, msg), fellBack: scanner.fellBack };
}

/** Compare the fast path and the twin on each message; returns how many lines the fast path took. */
function compare(messages: string[], inPlace: boolean, build: 'release' | 'debug' = 'release'): number {
  const fast = new BinanceScanner({ wasm: BinanceWasm.create(build)! });
  const twin = new BinanceScanner({ wasm: false });
  expect(fast.wasm).toBe(true);
  expect(twin.wasm).toBe(false);
  const a = newParsedMessage(), b = newParsedMessage();
  const region = inPlace ? fast.acquireInput() : -1;
  if (inPlace) expect(region).toBeGreaterThanOrEqual(0);
  try {
    // In place: messages packed into chunks, one per line, as the reader's input region holds them.
    let i = 0;
    while (i < messages.length) {
      const lines: string[] = [];
      let bytes = 0;
      do {
        lines.push(messages[i]);
        bytes += Buffer.byteLength(messages[i]) + 1;
        i++;
      } while (i < messages.length && bytes + Buffer.byteLength(messages[i]) + 1 < INPUT_BYTES && lines.length < 5000);
      const chunk = Buffer.from(lines.join('\n') + '\n', 'utf8');
      const buf = inPlace ? fast.loadInput(region, chunk) : chunk;
      let from = 0;
      for (const line of lines) {
        const end = from + Buffer.byteLength(line);
        const got = outcome(fast, buf, from, end, a);
        const want = outcome(twin, chunk, from, end, b);
        if (JSON.stringify(got, keep) !== JSON.stringify(want, keep)) expect({ line, ...got }).toEqual({ line, ...want });
        from = end + 1;
      }
    }
  } finally {
    fast.releaseInput(region);
  }
  return fast.wasmLines;
}

/** JSON.stringify replacer that keeps NaN, infinities and -0 apart from other numbers. */
function keep(_key: string, v: unknown): unknown {
  if (typeof v !== 'number') return v;
  if (Object.is(v, -0)) return '-0';
  return Number.isFinite(v) ? v : String(v);
}

const D = '{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161257476,"T":1723161257462,"s":"BTCUSDT","U":5123107830000,"u":5123107840000,"pu":5123107829999,';
/** Hand-made lines at the edges of the fast path: each is compared, taken or not. */
const EDGES = [
  // Levels: lengths 1..17, dots at both ends, 18 and 19 decimals, mantissas at 2^53 - 1 and 2^53, leading zeros.
  ...['1', '12345678', '123456789', '1234567.8', '1.2345678', '12345678.12345678', '1234567890123456', '12345678901234567',
    '9007199254740991', '9007199254740992', '900719925474099.1', '900719925474099.2', '0.000000000000000001', '0.0000000000000000001',
    '1.', '.1', '1..2', '1.2.3', '-1', '+1', '1e5', '01', '0', '00000000000000000001', '0.5', 'abc', '', '1 2'].map(
    (p) => `${D}"b":[["${p}","1"]],"a":[["1","${p}"]]}}`),
  `${D}"b":[],"a":[]}}`,
  `${D}"b":[],"a":[],"b":[]}}`,
  `${D}"b":[["1","2"],],"a":[]}}`,
  `${D}"b":[["1","2"]["3","4"]],"a":[]}}`,
  `${D}"b":[["1",2]],"a":[]}}`,
  `${D}"b":[["1","2","3"]],"a":[]}}`,
  `${D}"b":[[]],"a":[]}}`,
  `${D}"b":[["1","2"]],"a":[["3","4"]]}} `,
  `${D}"b":[["1","2"]],"a":[["3","4"]]}}x`,
  `${D}"b":[["1","2"]],"a":[["3","4"]]}`,
  `${D}"b":[["1","2"]],"a":[["3","4"]]}}}`,
  `${D}"b":[["1","2"]],"x":[1],"a":[["3","4"]]}}`,
  `${D}"b":[["1","2"]],"a":[["3","4"]],"x":{"y":1}}}`,
  `${D}"b":[["1","2"]],"a":[["3","4"]],"data":{}}}`,
  // Numbers: 0, leading zeros, 16 and 17 digits, 2^53, fractions, exponents, signs; at the end of an object too.
  ...['0', '00', '01', '7', '1234567890123456', '12345678901234567', '9007199254740991', '9007199254740992', '99999999999999999999',
    '1.5', '1e3', '1E+3', '-1', '-0', '1.', '.5', 'true', 'false', 'null', 'tru', 'nul', 'fals', '"5"', '[1]', '{}'].flatMap((v) => [
    `{"e":"trade","E":${v},"s":"BTCUSDT","t":${v},"p":"61800.30","q":"0.006","T":1,"m":true,"M":true}`,
    `{"e":"trade","s":"BTCUSDT","p":"61800.30","q":"0.006","m":false,"t":${v}}`,
    `{"e":"trade","s":"BTCUSDT","p":"61800.30","q":"0.006","m":${v},"t":1}`,
  ]),
  // Decimal strings of known fields: 16/17 characters, 22 and 23 decimals, signs, dots, letters.
  ...['61804.7', '-61804.7', '-', '-.5', '.5', '5.', '1.2.3', '1-2', '--1', '0.0000000000000000000001', '0.00000000000000000000001',
    '1234567890123456', '12345678901234567', '123456789012345.6', '9007199254740991', '9007199254740992', '9007199254740991.0', '',
    'BTC', '1e5', '00012'].map((p) => `{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"${p}","B":"1","a":"${p}","A":"2"}}`),
  // Keys: duplicates, unknown long keys, one-letter keys of every known field, other frames.
  '{"e":"trade","s":"A","s":"B","p":"1","q":"1","m":true}',
  '{"stream":"x@trade","data":{"s":"A","p":"1","q":"1","m":true},"stream":"y"}',
  '{"stream":"x@trade","data":{"s":"A","p":"1","q":"1","m":true},"data":{}}',
  '{"stream":"x@trade","data":{"data":{},"s":"A","p":"1","q":"1","m":true}}',
  '{"lastUpdateId":12,"E":1,"T":2,"symbol":"BTCUSD_PERP","pair":"BTCUSD","bids":[["61804.7","35"]],"asks":[]}',
  '{"lastUpdateId":12,"bids":[["1","2"]],"asks":[["3","4"]],"bids":[]}',
  '{"lastUpdateId":12,"bids":[["1","2"]],"b":[["3","4"]],"asks":[]}',
  '{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"61801.5","i":"61790.25","P":"61790.1","r":"0.00010000","T":2}',
  '{"e":"markPriceUpdate","s":"X","p":"5","i":null,"r":""}',
  '{"stream":"x@depth20@100ms","data":{"lastUpdateId":1,"bids":[],"asks":[]}}',
  '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","a":1,"p":"1","q":"2","f":1,"l":2,"T":1,"m":true}}',
  ...['e', 's', 'p', 'q', 'm', 'b', 'B', 'a', 'A', 'u', 'U', 't', 'i', 'r', 'E', 'T', 'x', 'pu', 'ps', 'stream', 'symbol', 'data', 'bids', 'asks', 'lastUpdateId', 'lastUpdateIdX'].map(
    (k) => `{"e":"trade","s":"BTCUSDT","p":"1","q":"2","m":true,"${k}":7}`),
  // Whitespace, escapes, control and non-ASCII bytes: the twin's.
  '{ "e":"trade","s":"X","p":"1","q":"1","m":true}',
  '{"e":"trade","s":"X","p":"1","q":"1","m":true}\r',
  '{"e":"trade","s":"X\\u0041","p":"1","q":"1","m":true}',
  '{"e":"trade","s":"Xé","p":"1","q":"1","m":true}',
  '{"e":"trade","s":"X\u0001","p":"1","q":"1","m":true}',
  '{"e":"trade","s":"X","p":"1","q":"1","m":true,"x":"\u007f"}',
  '{}', '{', '}', '', '[]', '{"a"}', '{"a":}', '{"a":1,}', '{"a":1', '{"a":"', '{"":1}', '"x"', '{"e":"trade"',
];

describe('the scanner fast path (build/binance.wasm) against its TypeScript twin', () => {
  it('loads, and checks its layout against the host', () => {
    const w = BinanceWasm.create();
    expect(w).toBeDefined();
    expect(BinanceWasm.create('debug')).toBeDefined();
    expect(sharedScanner().wasm).toBe(true);
  });

  it('every line of the committed samples, in place and copied: the same messages, nearly all through the fast path', () => {
    const messages = sampleMessages();
    expect(messages.length).toBeGreaterThan(10_000);
    for (const inPlace of [true, false]) {
      const taken = compare(messages, inPlace);
      expect(taken).toBe(messages.length); // Binance's own lines: every one
    }
  });

  it('the debug build too: the committed samples copied in, the edges and some mutations', () => {
    const messages = sampleMessages().filter((_, i) => i % 5 === 0);
    expect(compare(messages, false, 'debug')).toBe(messages.length);
    compare(EDGES, true, 'debug');
  });

  it('hand-made lines at the edges', () => {
    for (const inPlace of [true, false]) compare(EDGES, inPlace);
    // The fast path takes the plain ones and leaves the rest to the twin: both happen.
    const fast = new BinanceScanner();
    compare(EDGES, false);
    const m = newParsedMessage();
    for (const e of EDGES) fast.parse(Buffer.from(e), 0, Buffer.byteLength(e), m);
    expect(fast.wasmLines).toBeGreaterThan(EDGES.length / 3);
    expect(fast.wasmLines).toBeLessThan(EDGES.length);
  });

  it('seeded mutations of real lines: deleted, inserted and replaced bytes, cut lines', () => {
    const base = sampleMessages().filter((_, i) => i % 7 === 0);
    const rand = mulberry32(2024);
    const alphabet = '0123456789.-+eE",:[]{} \\\tabtruefalsenull\u00e9\u0001';
    const mutated: string[] = [];
    for (let round = 0; round < 6; round++) {
      for (const line of base) {
        let s = line;
        const edits = 1 + Math.floor(rand() * 3);
        for (let e = 0; e < edits; e++) {
          const at = Math.floor(rand() * (s.length + 1));
          const c = alphabet[Math.floor(rand() * alphabet.length)];
          const r = rand();
          if (r < 0.3) s = s.slice(0, at) + s.slice(at + 1);
          else if (r < 0.6) s = s.slice(0, at) + c + s.slice(at);
          else if (r < 0.9) s = s.slice(0, at) + c + s.slice(at + 1);
          else s = s.slice(0, at);
        }
        mutated.push(s);
      }
    }
    expect(mutated.length).toBeGreaterThan(10_000);
    for (const inPlace of [true, false]) compare(mutated, inPlace);
  });

  it('whole lines: the receive time (and its i64 halves) read with the message, as scanReceiveTime and BigInt give it', () => {
    const fast = new BinanceScanner();
    const twin = new BinanceScanner({ wasm: false });
    const rand = mulberry32(77);
    const msgs = sampleMessages().filter((_, i) => i % 50 === 0);
    const times = ['1', '0', '1723161254087891268', '9223372036854775807', '9223372036854775808', '9223372036999999999', '99999999999999999999',
      '12345678901234567890', '1000000000', '999999999', '', ' ', '12a4', '-5', '+5', '\t', '00000000000000000001', '9223372035999999999'];
    for (let t = 0; t < 300; t++) times.push(String(Math.floor(rand() * 2 ** 53)) + String(Math.floor(rand() * 1e3)).padStart(3, '0'));
    const lines: string[] = [];
    for (const t of times) for (const sep of [' ', '  ', '\t', '']) lines.push(`${t}${sep}${msgs[lines.length % msgs.length]}`);
    lines.push('', '\t\r', '\r', ' ', '123', '123 ');
    const region = fast.acquireInput();
    try {
      const chunk = Buffer.from(lines.join('\n') + '\n');
      const buf = fast.loadInput(region, chunk);
      const a = newParsedMessage(), b = newParsedMessage();
      const ta = new ReceiveTime(), tb = new ReceiveTime();
      let from = 0, halves = 0;
      for (const line of lines) {
        const end = from + Buffer.byteLength(line);
        const ka = fast.parseLine(buf, from, end, a, ta);
        const kb = twin.parseLine(chunk, from, end, b, tb);
        expect({ line, k: ka }).toEqual({ line, k: kb });
        if (ka >= 0) {
          expect([ta.sec, ta.nsec]).toEqual([tb.sec, tb.nsec]);
          expect(ka < 0 ? {} : view(ka, a)).toEqual(view(kb, b));
          if (ta.halves) {
            halves++;
            const ns = BigInt(ta.sec) * 1_000_000_000n + BigInt(ta.nsec);
            expect(BigInt(ta.hi) * 2n ** 32n + BigInt(ta.lo)).toBe(ns);
          }
        }
        from = end + 1;
      }
      expect(halves).toBeGreaterThan(300);
    } finally {
      fast.releaseInput(region);
    }
  });

  it('long digit strings and long lines: the fast path or the twin, never a difference', () => {
    const rand = mulberry32(9);
    const lines: string[] = [];
    for (let t = 0; t < 2000; t++) {
      const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(rand() * 10))).join('');
      const a = digits(1 + Math.floor(rand() * 30)), b = digits(Math.floor(rand() * 25));
      const num = b.length > 0 ? `${a}.${b}` : a;
      lines.push(`${D}"b":[["${num}","${digits(1 + Math.floor(rand() * 20))}"]],"a":[]}}`);
      lines.push(`{"stream":"x@bookTicker","data":{"u":${digits(1 + Math.floor(rand() * 20))},"s":"X","b":"${num}","B":"1","a":"2","A":"3"}}`);
    }
    // A snapshot of 5,000 levels a side, and one line past MAX_LINE (the twin's alone).
    const lv = (n: number) => Array.from({ length: n }, (_, i) => `["${61000 + i}.${i % 10}","${i}"]`).join(',');
    lines.push(`{"lastUpdateId":1,"bids":[${lv(5000)}],"asks":[${lv(5000)}]}`);
    const huge = `{"lastUpdateId":1,"bids":[${lv(20_000)}],"asks":[]}`;
    expect(huge.length).toBeGreaterThan(MAX_LINE);
    lines.push(huge);
    for (const inPlace of [true, false]) compare(lines, inPlace);
  });

  it.each(SAMPLES.map((p) => [p.split('/').pop()!, p]))('the reader scans its chunks in place, and gives what the JSON.parse reader gives: %s', async (_name, path) => {
    const scanner = sharedScanner();
    const before = scanner.wasmLines;
    const fast = new BinanceReader(path);
    const json = new BinanceReader(path, { parser: parseJsonMessage });
    const cols = async (r: BinanceReader) => {
      const out: number[] = [];
      for await (const b of r) for (let i = 0; i < b.length; i++) out.push(b.kind[i], b.instrument[i], Number(b.tsNs[i]), ...b.f.map((f) => f[i]));
      return out;
    };
    const [x, y] = [await cols(fast), await cols(json)];
    expect(x).toEqual(y);
    expect(scanner.wasmLines - before).toBe(fast.stats.lines);
    expect(JSON.stringify(fast.stats, (k, v) => (typeof v === 'bigint' ? String(v) : k === 'parserFallbacks' ? 0 : v)))
      .toBe(JSON.stringify(json.stats, (k, v) => (typeof v === 'bigint' ? String(v) : k === 'parserFallbacks' ? 0 : v)));
  });
});
