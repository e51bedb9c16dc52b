// Needs ../shared/data (set ATC_SHARED_DATA; .ci/run does). The order book on the three full Binance captures:
// against the naive reference book, against the exchange's own bookTicker, and through the reader (no gap, depth
// on every quote once the book is live).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Kind } from '../../src/abi.js';
import { MSG_DEPTH, MSG_QUOTE, MSG_SNAPSHOT, newParsedMessage } from '../../src/adapters/binance-message.js';
import { BinanceScanner, ReceiveTime, scanReceiveTime } from '../../src/adapters/binance-scan.js';
import { BinanceReader } from '../../src/adapters/binance.js';
import { DIFF_APPLIED, OrderBook } from '../../src/adapters/book.js';
import { NaiveBook } from '../binance-reference.js';

const DATA = process.env.ATC_SHARED_DATA;
const CAPTURES = ['usdm-btcusdt-20240808.gz', 'cm-btcusd_perp-20240808.gz', 'spot-btcusdt-20240808.gz'];
/** Diffs between two comparisons with the reference (it sorts thousands of bigint levels each time). */
const EVERY = 25;

describe.skipIf(!DATA)('order books from the full Binance captures in ../shared/data (set ATC_SHARED_DATA to run)', () => {
  for (const file of CAPTURES) {
    const path = () => join(DATA!, 'binance', file);

    it(`${file}: the book matches the reference book, and the exchange's bookTicker at the same update id`, () => {
      const buf = gunzipSync(readFileSync(path()));
      const scanner = new BinanceScanner();
      const msg = newParsedMessage();
      const rt = new ReceiveTime();
      const book = new OrderBook('X');
      const ref = new NaiveBook();
      const tickers: number[][] = [];
      const tops: number[][] = [];
      let line = 0, applied = 0, compared = 0;
      for (let from = 0, nl = buf.indexOf(10); nl !== -1; from = nl + 1, nl = buf.indexOf(10, from)) {
        line++;
        const space = scanReceiveTime(buf, from, nl, rt);
        const kind = scanner.parse(buf, space + 1, nl, msg);
        if (kind === MSG_QUOTE) { tickers.push([msg.updateId, msg.bid, msg.bidSize, msg.ask, msg.askSize]); continue; }
        if (kind !== MSG_DEPTH && kind !== MSG_SNAPSHOT) continue;
        const r = kind === MSG_SNAPSHOT ? book.applySnapshot(msg.updateId, msg.bids, msg.asks, line) : book.applyDiff(msg.firstUpdateId, msg.updateId, msg.prevUpdateId, msg.bids, msg.asks, line);
        if (kind === MSG_SNAPSHOT) ref.snapshot(msg.updateId, msg.bids, msg.asks); else ref.diff(msg.firstUpdateId, msg.updateId, msg.prevUpdateId, msg.bids, msg.asks);
        expect(book.state).toBe(ref.state);
        if (r !== DIFF_APPLIED) continue;
        tops.push([book.updateId, book.bestBid, book.bestBidSize, book.bestAsk, book.bestAskSize]);
        if (applied++ % EVERY !== 0) continue;
        compared++;
        const want = ref.summary(book.depthLevels, book.depthBps);
        expect({
          bestBid: book.bestBid, bestBidSize: book.bestBidSize, bestAsk: book.bestAsk, bestAskSize: book.bestAskSize,
          bidDepthLevels: book.bidDepthLevels, askDepthLevels: book.askDepthLevels, bidDepthBps: book.bidDepthBps, askDepthBps: book.askDepthBps,
        }).toEqual(want);
      }
      expect(book.stats.gaps).toBe(0);
      expect(book.bids.check()).toBe('');
      expect(book.asks.check()).toBe('');
      expect(compared).toBeGreaterThan(100);
      // A bookTicker is pushed on every change of the best levels: the last one at or before a diff's last update
      // id is the book's top after that diff, prices and sizes, whichever stream arrived first.
      tickers.sort((a, b) => a[0] - b[0]);
      let matched = 0;
      for (const [u, ...top] of tops) {
        let lo = 0, hi = tickers.length;
        while (lo < hi) { const m = (lo + hi) >> 1; if (tickers[m][0] <= u) lo = m + 1; else hi = m; }
        if (lo === 0) continue;
        expect(top).toEqual(tickers[lo - 1].slice(1));
        matched++;
      }
      expect(matched).toBeGreaterThan(0.99 * tops.length);
    });

    it(`${file}: the reader quotes with depth from the snapshot on, never crossed, never a gap`, async () => {
      const reader = new BinanceReader(path());
      let quotes = 0, withDepth = 0;
      for await (const b of reader) {
        for (let i = 0; i < b.length; i++) {
          if (b.kind[i] !== Kind.quote) continue;
          quotes++;
          expect(b.f[0][i]).toBeLessThan(b.f[2][i]);
          if (Number.isFinite(b.f[4][i])) { withDepth++; expect(b.f[4][i]).toBeGreaterThan(0); expect(b.f[5][i]).toBeGreaterThan(0); }
        }
      }
      const s = reader.stats;
      expect(s.bookGaps).toBe(0);
      expect(s.parserFallbacks).toBe(0);
      expect(s.outOfOrder).toEqual({});
      expect(Object.values(s.books).map((b) => b.state)).toEqual(['live']);
      // Only the quotes before the snapshot's line went without depth.
      const book = Object.values(s.books)[0];
      expect(quotes - withDepth).toBeLessThan(book.firstLiveLine!);
      expect(withDepth).toBe(s.quotes.withDepth);
    });
  }
});
