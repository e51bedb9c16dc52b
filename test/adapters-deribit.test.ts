// The Deribit reader: on the committed real capture (every event checked against an independent replay of the
// messages written here from Deribit's documentation), on the listing (contract terms), and on hand-written
// messages of the kinds the capture lacks (trades, futures, gaps, damage).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind } from '../src/abi.js';
import { DeribitReader, deribitReceiveNs, type DeribitOptions } from '../src/adapters/deribit.js';
import { Engine } from '../src/engine.js';
import { InstrumentCatalog } from '../src/instruments.js';
import { Registry } from '../src/registry.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/deribit/', import.meta.url));
const WS = join(FIXTURES, 'DERIBIT.ws.1.0');
const LISTING = join(FIXTURES, 'DERIBIT.0');

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'atc-deribit-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

interface Ev { kind: number; name: string; ts: bigint; f: number[] }

async function readAll(path: string, opts: DeribitOptions = {}): Promise<{ events: Ev[]; reader: DeribitReader; batches: number[] }> {
  const reader = new DeribitReader(path, opts);
  const events: Ev[] = [];
  const batches: number[] = [];
  for await (const b of reader) {
    batches.push(b.length);
    for (let i = 0; i < b.length; i++) {
      events.push({ kind: b.kind[i], name: reader.registry.name(b.instrument[i]), ts: b.tsNs[i], f: b.f.map((c) => c[i]) });
    }
  }
  return { events, reader, batches };
}

/** Exact ns of a "<seconds>.<fraction>" receive time, written independently of the reader's parser. */
function secondsNs(text: string): bigint {
  const [s, frac = ''] = text.split('.');
  return BigInt(s) * 1_000_000_000n + BigInt((frac + '000000000').slice(0, 9));
}

/**
 * The events the capture should give, from a plain reading of Deribit's documentation: books as price -> size
 * maps, sorted when a quote is taken; tickers as option events (IV in percent -> fraction) and, until the
 * instrument's first book message, quotes.
 */
function expectedEvents(text: string): Ev[] {
  const out: Ev[] = [];
  const books = new Map<string, { bids: Map<number, number>; asks: Map<number, number> }>();
  for (const line of text.split('\n')) {
    const m = /^(\d+\.\d+): (\{.*\})$/.exec(line);
    if (!m) continue;
    const msg = JSON.parse(m[2]);
    if (msg.method !== 'subscription') continue;
    const ts = secondsNs(m[1]);
    const channel: string = msg.params.channel;
    const d = msg.params.data;
    const name: string = d.instrument_name;
    if (channel.startsWith('ticker.')) {
      const iv = (x: number) => (x > 0 ? x / 100 : NaN);
      out.push({ kind: Kind.option, name, ts, f: [d.mark_iv / 100, d.underlying_price, d.mark_price, iv(d.bid_iv), iv(d.ask_iv), NaN] });
      if (!books.has(name) && d.best_bid_price > 0 && d.best_ask_price > 0) {
        out.push({ kind: Kind.quote, name, ts, f: [d.best_bid_price, d.best_bid_amount, d.best_ask_price, d.best_ask_amount, NaN, NaN] });
      }
    } else if (channel.startsWith('book.')) {
      if (d.type === 'snapshot') books.set(name, { bids: new Map(), asks: new Map() });
      const book = books.get(name)!;
      for (const [side, levels] of [[book.bids, d.bids], [book.asks, d.asks]] as const) {
        for (const [action, price, size] of levels as [string, number, number][]) {
          if (action === 'delete') side.delete(price); else side.set(price, size);
        }
      }
      const bids = [...book.bids].sort((a, b) => b[0] - a[0]);
      const asks = [...book.asks].sort((a, b) => a[0] - b[0]);
      if (bids.length === 0 || asks.length === 0) continue;
      const depth = (levels: [number, number][]) => levels.slice(0, 10).reduce((s, [, q]) => s + q, 0);
      out.push({ kind: Kind.quote, name, ts, f: [bids[0][0], bids[0][1], asks[0][0], asks[0][1], depth(bids), depth(asks)] });
    }
  }
  return out;
}

describe('DeribitReader on the committed capture', () => {
  const text = readFileSync(WS, 'utf8');
  const lines = text.split('\n');
  // Counted independently of the reader, by the channel each line names.
  const tickers = lines.filter((l) => l.includes('"channel":"ticker.')).length;
  const books = lines.filter((l) => l.includes('"channel":"book.')).length;
  const trades = lines.filter((l) => l.includes('"channel":"trades.')).length;

  it('holds what the data README says: option tickers and books, no trades', () => {
    expect(tickers).toBe(89);
    expect(books).toBe(46);
    expect(trades).toBe(0);
  });

  it('gives exactly the events of an independent reading, in order', async () => {
    const expected = expectedEvents(text);
    const { events, reader } = await readAll(WS);
    expect(events.length).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) {
      expect(events[i], `event ${i}`).toEqual(expected[i]);
    }
    const s = reader.stats;
    expect(s.events.option).toBe(tickers);
    expect(s.events.trade + s.events.mark + s.events.value).toBe(0);
    expect(s.events.quote).toBe(expected.filter((e) => e.kind === Kind.quote).length);
    expect(s.malformed).toEqual({});
    expect(s.bookGaps).toBe(0);
    expect(s.lines).toBe(text.endsWith('\n') ? lines.length - 1 : lines.length); // 139: the last is blank
    // Every book message is a quote or a one-sided book; every ticker quote is made, dropped for a book, or one-sided.
    const bookQuotes = expected.filter((e) => e.kind === Kind.quote && !Number.isNaN(e.f[4])).length;
    expect(bookQuotes + (s.skipped.oneSidedBook ?? 0)).toBe(books);
    expect(s.events.quote - bookQuotes + (s.skipped.tickerQuoteWithBook ?? 0) + (s.skipped.oneSidedTicker ?? 0)).toBe(tickers);
    expect(s.skipped).toMatchObject({ connection: 1, request: 1, response: 1 });
    expect(s.firstTsNs).toBe(1626993723804855000n);
    expect(s.lastTsNs).toBe(secondsNs(lines.filter((l) => l.length > 0).at(-1)!.split(':')[0]));
  });

  it('maps a known ticker and a known book snapshot field by field', async () => {
    const { events } = await readAll(WS);
    // Line 4: ticker.ETH-30JUL21-2800-C, mark_iv 120.74 %, bid_iv 115.62, ask_iv 125.63, best 0.0015 x 4714 / 0.0025 x 873.
    const t = 1626993723804855000n;
    const atLine4 = events.filter((e) => e.ts === t);
    expect(atLine4).toEqual([
      { kind: Kind.option, name: 'ETH-30JUL21-2800-C', ts: t, f: [120.74 / 100, 2003.61, 0.001972, 115.62 / 100, 125.63 / 100, NaN] },
      { kind: Kind.quote, name: 'ETH-30JUL21-2800-C', ts: t, f: [0.0015, 4714, 0.0025, 873, NaN, NaN] },
    ]);
    // Line 5: ETH-27AUG21-4000-P has no bid and no ask: bid/ask IV 0 is "none", and no quote.
    const line5 = events.filter((e) => e.ts === 1626993723804947900n);
    expect(line5).toHaveLength(1);
    expect(line5[0].f.slice(0, 5)).toEqual([117.2 / 100, 1999.98, 1.005718, NaN, NaN]);
    // Line 14: the book snapshot of ETH-30JUL21-2800-C: 3 bid levels, 13 ask levels of which the best 10 are depth.
    const snap = events.find((e) => e.ts === 1626993723844026000n)!;
    expect(snap).toEqual({ kind: Kind.quote, name: 'ETH-30JUL21-2800-C', ts: 1626993723844026000n, f: [0.0015, 4714, 0.0025, 873, 4714 + 861 + 1, 873 + 167 + 5 + 5 + 26 + 4 + 100 + 5 + 50 + 1] });
  });

  it('feeds the engine without a single reject, in 7-event batches as in one', async () => {
    for (const batchSize of [7, 4096]) {
      const engine = Engine.create({ autoRegister: true });
      const reader = new DeribitReader(WS, { batchSize });
      let n = 0;
      for await (const b of reader) {
        expect(b.length).toBeLessThanOrEqual(batchSize + 1); // a ticker adds its quote after the option event
        n += b.length;
        expect(engine.ingest(b).rejects).toEqual([]);
      }
      expect(engine.counters().accepted).toBe(n);
    }
  });

  it('times events by the receive time because the exchange timestamps go backwards', async () => {
    const exchange = await readAll(WS, { time: 'exchange' });
    const engine = Engine.create({ autoRegister: true });
    const registry = exchange.reader.registry;
    let backwards = 0;
    const last = new Map<string, bigint>();
    for (const e of exchange.events) {
      if (e.ts < (last.get(e.name) ?? 0n)) backwards++;
      last.set(e.name, e.ts > (last.get(e.name) ?? 0n) ? e.ts : last.get(e.name)!);
    }
    expect(backwards).toBeGreaterThan(0);
    const reread = new DeribitReader(WS, { time: 'exchange', registry });
    for await (const b of reread) engine.ingest(b);
    expect(engine.counters().rejected.timeBackwards).toBe(backwards);
    // The message timestamps are ms: every event time is a whole ms.
    expect(exchange.events.every((e) => e.ts % 1_000_000n === 0n)).toBe(true);
  });

  it('reads the same through gzip', async () => {
    const path = join(dir, 'ws.gz');
    writeFileSync(path, gzipSync(readFileSync(WS)));
    const plain = await readAll(WS);
    const gz = await readAll(path);
    expect(gz.reader.stats.gzip).toBe(true);
    expect(gz.events).toEqual(plain.events);
  });
});

describe('Deribit instrument listing', () => {
  it('registers every listed instrument with its contract terms, and yields no events', async () => {
    const registry = new Registry();
    const catalog = new InstrumentCatalog(registry);
    const { events, reader } = await readAll(LISTING, { catalog });
    expect(events).toEqual([]);
    // Counted independently: instrument_name entries in the listing's result lists.
    const listed = (readFileSync(LISTING, 'utf8').match(/"instrument_name":/g) ?? []).length;
    expect(reader.stats.instruments).toBe(listed);
    expect(catalog.size).toBe(listed);
    expect(registry.size).toBe(listed);
    expect(reader.stats.skipped).toEqual({ configuration: 1 });
    expect(catalog.byName('BTC-24SEP21-8000-P')).toEqual({
      name: 'BTC-24SEP21-8000-P', venue: 'deribit', symbol: 'BTC-24SEP21-8000-P', kind: 'option', base: 'BTC', quote: 'BTC',
      optionType: 'put', strike: 8000, expiryMs: 1632470400000, tickSize: 0.0005, contractSize: 1, minTradeAmount: 0.1,
    });
    expect(catalog.byName('BTC-PERPETUAL')).toMatchObject({ kind: 'perpetual', contractSize: 10, tickSize: 0.5, quote: 'USD' });
    expect(catalog.byName('BTC-PERPETUAL')?.expiryMs).toBeUndefined();
    expect(catalog.byName('ETH-27AUG21')).toMatchObject({ kind: 'future', expiryMs: 1630051200000, tickSize: 0.05 });
  });

  it('shares the registry with the capture: listed instruments keep their ids', async () => {
    const registry = new Registry();
    const catalog = new InstrumentCatalog(registry);
    await readAll(LISTING, { catalog });
    const idBefore = registry.id('ETH-30JUL21-2800-C');
    const sizeBefore = registry.size;
    const { reader } = await readAll(WS, { catalog });
    expect(registry.id('ETH-30JUL21-2800-C')).toBe(idBefore);
    expect(registry.size).toBe(sizeBefore); // the capture names no instrument the listing lacks
    expect(reader.catalog.get(idBefore)?.strike).toBe(2800);
  });
});

// Hand-written messages in Deribit's documented layout, for what the real capture does not hold.
const sub = (t: string, channel: string, data: unknown) => `${t}: ${JSON.stringify({ jsonrpc: '2.0', method: 'subscription', params: { channel, data } })}`;
const trade = (name: string, price: number, amount: number, direction: string, timestamp = 1700000000000) =>
  ({ trade_seq: 1, trade_id: '1', timestamp, tick_direction: 0, price, mark_price: price, instrument_name: name, index_price: price, direction, amount });
const perpTicker = {
  timestamp: 1700000000100, state: 'open', mark_price: 36446.51, index_price: 36441.64, funding_8h: 0.0000211, current_funding: 0,
  instrument_name: 'BTC-PERPETUAL', best_bid_price: 36442.5, best_bid_amount: 5000, best_ask_price: 36443, best_ask_amount: 100, last_price: 36457.5,
};
const book = (type: string, changeId: number, prev: number | undefined, bids: unknown[], asks: unknown[]) =>
  ({ type, timestamp: 1700000000200, instrument_name: 'BTC-PERPETUAL', change_id: changeId, ...(prev === undefined ? {} : { prev_change_id: prev }), bids, asks });

describe('DeribitReader on hand-written messages', () => {
  const input = [
    /* 1 */ 'wss://www.deribit.com/ws/api/v2 <-> 1700000000.000001',
    /* 2 */ sub('1700000000.1', 'trades.BTC-PERPETUAL.raw', [trade('BTC-PERPETUAL', 36443, 10, 'buy'), trade('BTC-PERPETUAL', 36442.5, 20, 'sell')]),
    /* 3 */ sub('1700000000.2', 'ticker.BTC-PERPETUAL.raw', perpTicker),
    /* 4 */ sub('1700000000.3', 'ticker.BTC-27AUG21.raw', { ...perpTicker, instrument_name: 'BTC-27AUG21', funding_8h: undefined, current_funding: undefined }),
    /* 5 */ sub('1700000000.4', 'book.BTC-PERPETUAL.raw', book('snapshot', 100, undefined, [['new', 36442.5, 5000], ['new', 36442, 100]], [['new', 36443, 100]])),
    /* 6 */ sub('1700000000.5', 'book.BTC-PERPETUAL.raw', book('change', 101, 100, [['delete', 36442.5, 0]], [['change', 36443, 250]])),
    /* 7 */ sub('1700000000.6', 'book.BTC-PERPETUAL.raw', book('change', 105, 103, [['new', 36442.5, 7]], [])),
    /* 8 */ sub('1700000000.7', 'book.BTC-PERPETUAL.raw', book('change', 106, 105, [['new', 36441, 7]], [])),
    /* 9 */ sub('1700000000.8', 'ticker.BTC-PERPETUAL.raw', perpTicker),
    /* 10 */ sub('1700000000.9', 'book.BTC-PERPETUAL.raw', book('snapshot', 200, undefined, [['new', 36440, 1]], [['new', 36441, 2]])),
    /* 11 */ sub('1700000001.0', 'deribit_price_index.btc_usd', { index_name: 'btc_usd', price: 36441.64, timestamp: 1700000001000 }),
    /* 12 */ '1700000001.1: {"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}',
    /* 13 */ sub('1700000001.2', 'trades.BTC-PERPETUAL.raw', [trade('BTC-PERPETUAL', 36443, 10, 'buy'), trade('BTC-PERPETUAL', 36442.5, 20, 'up')]),
    /* 14 */ '1700000001.3: {"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-PERPETUAL.raw","data":',
    /* 15 */ 'yesterday: {"jsonrpc":"2.0","method":"heartbeat"}',
    /* 16 */ sub('1700000001.5', 'ticker.ETH-30JUL21-2800-C.raw', { timestamp: 1700000001500, instrument_name: 'ETH-30JUL21-2800-C', mark_price: 0.002, underlying_price: 2000 }),
    /* 17 */ '',
    /* 18 */ sub('1700000001.7', 'book.BTC-PERPETUAL.raw', book('change', 201, 200, [['new', 'abc', 1]], [])),
    /* 19 */ sub('1700000001.8', 'book.BTC-PERPETUAL.100.5.100ms', { timestamp: 1700000001800, instrument_name: 'BTC-PERPETUAL', change_id: 300, bids: [[36439, 3], [36438, 4]], asks: [[36440, 5]] }),
    /* 20 */ JSON.stringify({ jsonrpc: '2.0', method: 'subscription', params: { channel: 'trades.ETH-PERPETUAL.raw', data: [trade('ETH-PERPETUAL', 2000, 3, 'sell', 1700000002000)] } }),
    /* 21 */ sub('1700000002.1', 'quote.ETH-PERPETUAL', { timestamp: 1700000002100, instrument_name: 'ETH-PERPETUAL', best_bid_price: 1999.95, best_bid_amount: 10, best_ask_price: 2000.05, best_ask_amount: 12 }),
  ].join('\n') + '\n';

  it('maps trades, futures tickers, books with gaps, grouped books and quotes; counts the rest', async () => {
    const path = join(dir, 'hand.txt');
    writeFileSync(path, input);
    const registry = new Registry();
    const catalog = new InstrumentCatalog(registry);
    // ETH-30JUL21-2800-C is an option by the listing, so its ticker without mark_iv is malformed, not a future's.
    await readAll(LISTING, { catalog });
    const reported: [number, string][] = [];
    const { events, reader } = await readAll(path, { catalog, onMalformed: (line, reason) => reported.push([line, reason]) });
    const s = reader.stats;
    const t = (text: string) => secondsNs(text);
    expect(events).toEqual([
      { kind: Kind.trade, name: 'BTC-PERPETUAL', ts: t('1700000000.1'), f: [36443, 10, 1, NaN, NaN, NaN] },
      { kind: Kind.trade, name: 'BTC-PERPETUAL', ts: t('1700000000.1'), f: [36442.5, 20, -1, NaN, NaN, NaN] },
      { kind: Kind.mark, name: 'BTC-PERPETUAL', ts: t('1700000000.2'), f: [36446.51, 36441.64, 0.0000211, NaN, NaN, NaN] },
      { kind: Kind.quote, name: 'BTC-PERPETUAL', ts: t('1700000000.2'), f: [36442.5, 5000, 36443, 100, NaN, NaN] },
      { kind: Kind.mark, name: 'BTC-27AUG21', ts: t('1700000000.3'), f: [36446.51, 36441.64, NaN, NaN, NaN, NaN] },
      { kind: Kind.quote, name: 'BTC-27AUG21', ts: t('1700000000.3'), f: [36442.5, 5000, 36443, 100, NaN, NaN] },
      { kind: Kind.quote, name: 'BTC-PERPETUAL', ts: t('1700000000.4'), f: [36442.5, 5000, 36443, 100, 5100, 100] },
      { kind: Kind.quote, name: 'BTC-PERPETUAL', ts: t('1700000000.5'), f: [36442, 100, 36443, 250, 100, 250] },
      // line 7 skips change ids 102..104: a gap; line 8 cannot apply either; line 9's ticker quote is dropped
      // (the book is subscribed); line 10's snapshot brings quotes back.
      { kind: Kind.mark, name: 'BTC-PERPETUAL', ts: t('1700000000.8'), f: [36446.51, 36441.64, 0.0000211, NaN, NaN, NaN] },
      { kind: Kind.quote, name: 'BTC-PERPETUAL', ts: t('1700000000.9'), f: [36440, 1, 36441, 2, 1, 2] },
      { kind: Kind.quote, name: 'BTC-PERPETUAL', ts: t('1700000001.8'), f: [36439, 3, 36440, 5, 7, 5] },
      // A bare message has no receive time: the trade's own timestamp (ms) times it.
      { kind: Kind.trade, name: 'ETH-PERPETUAL', ts: 1700000002000_000000n, f: [2000, 3, -1, NaN, NaN, NaN] },
      { kind: Kind.quote, name: 'ETH-PERPETUAL', ts: t('1700000002.1'), f: [1999.95, 10, 2000.05, 12, NaN, NaN] },
    ]);
    expect(s.events).toEqual({ trade: 3, quote: 7, mark: 3, option: 0, value: 0 });
    expect(s.bookGaps).toBe(1);
    expect(s.exchangeTimed).toBe(1);
    expect(s.skipped).toEqual({ connection: 1, bookAfterGap: 2, tickerQuoteWithBook: 1, 'channel:deribit_price_index': 1, heartbeat: 1 });
    expect(s.lines).toBe(21);
    expect(Object.fromEntries(Object.entries(s.malformed).map(([r, m]) => [r, m.lines]))).toEqual({
      badField: [13, 18], badJson: [14], badTimestamp: [15], missingField: [16],
    });
    expect(s.malformed.badField?.example).toContain('"direction"');
    expect(s.malformed.missingField?.example).toContain('mark_iv');
    expect(reported).toEqual([[13, 'badField'], [14, 'badJson'], [15, 'badTimestamp'], [16, 'missingField'], [18, 'badField']]);
    // Line 13's first trade was valid, but a message is taken whole or not at all.
    expect(events.filter((e) => e.kind === Kind.trade && e.ts === t('1700000001.2'))).toEqual([]);
  });

  it('can take ticker quotes always, or never', async () => {
    const path = join(dir, 'hand-quotes.txt');
    writeFileSync(path, input);
    const always = await readAll(path, { tickerQuotes: 'always' });
    const never = await readAll(path, { tickerQuotes: 'never' });
    const auto = await readAll(path);
    expect(always.reader.stats.events.quote).toBe(auto.reader.stats.events.quote + 1); // line 9's ticker
    expect(never.reader.stats.events.quote).toBe(auto.reader.stats.events.quote - 3); // lines 3, 4 and 21
  });

  it('refuses a line without receive time in "receive" mode', async () => {
    const path = join(dir, 'bare.txt');
    writeFileSync(path, input);
    const { reader } = await readAll(path, { time: 'receive' });
    expect(reader.stats.malformed.badTimestamp?.lines).toEqual([15, 20]);
  });
});

describe('deribitReceiveNs', () => {
  it('reads decimal seconds exactly and integer epochs by their digits', () => {
    expect(deribitReceiveNs('1626993723.8049479')).toBe(1626993723804947900n);
    expect(deribitReceiveNs('1626993723.84432')).toBe(1626993723844320000n);
    expect(deribitReceiveNs('1626993723.1234567891234')).toBe(1626993723123456789n);
    expect(deribitReceiveNs('1626993723')).toBe(1626993723000000000n);
    expect(deribitReceiveNs('1626993723804')).toBe(1626993723804000000n);
    expect(deribitReceiveNs('1626993723804947')).toBe(1626993723804947000n);
    expect(deribitReceiveNs('1626993723804947900')).toBe(1626993723804947900n);
    expect(deribitReceiveNs('12.5')).toBe(-1n); // a number, not a time of this century: unusable
    expect(deribitReceiveNs('x12')).toBe(-2n);
  });
});
