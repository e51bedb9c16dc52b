// The order book: its B+tree side against a Map, the book against a naive reference book on the committed depth
// sample, the sync procedure on hand-made diffs (gaps on futures and spot, straddling, dropping, resync), depth by
// levels and by bps, and the reader's use of it (quotes with and without depth, the top of book, snapshots, order).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind } from '../src/abi.js';
import { Levels, MSG_DEPTH, MSG_SNAPSHOT, newParsedMessage, parseJsonMessage } from '../src/adapters/binance-message.js';
import { BinanceReader, type BinanceStats } from '../src/adapters/binance.js';
import { DIFF_APPLIED, DIFF_BUFFERED, DIFF_DROPPED, DIFF_GAP, OrderBook } from '../src/adapters/book.js';
import { Ladder } from '../src/adapters/ladder.js';
import { EventBatch } from '../src/events.js';
import { mulberry32 } from '../src/random.js';
import { NaiveBook, toNumber } from './binance-reference.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPTH_SAMPLE = join(ROOT, 'data/samples/binance-usdm-btcusdt-depth.txt.gz');

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'atc-book-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

// ---- Ladder: the B+tree ----------------------------------------------------------------------------------------
describe('Ladder (one side of the book)', () => {
  /** Levels of a Map as the ladder holds them: ascending keys. */
  const sortedEntries = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);

  it('agrees with a Map under random inserts, changes and removals, through splits, merges and height changes', () => {
    const rand = mulberry32(7);
    const ladder = new Ladder(64); // a small start, so that the pools grow too
    const ref = new Map<number, number>();
    let maxHeight = 0;
    const check = () => {
      expect(ladder.check()).toBe('');
      expect(ladder.length).toBe(ref.size);
      const entries = sortedEntries(ref);
      expect(ladder.total).toBe(entries.reduce((s, [, q]) => s + q, 0));
      const got: [number, number][] = [];
      ladder.forEach((k, q) => got.push([k, q]));
      expect(got).toEqual(entries);
      if (entries.length > 0) {
        expect(ladder.bestKey).toBe(entries[0][0]);
        expect(ladder.bestSize).toBe(entries[0][1]);
      } else {
        expect(ladder.bestKey).toBeNaN();
      }
      for (let t = 0; t < 20; t++) {
        const n = Math.floor(rand() * 300);
        expect(ladder.sumBest(n)).toBe(entries.slice(0, n).reduce((s, [, q]) => s + q, 0));
        const bound = Math.floor(rand() * 420_000) - 10_000;
        expect(ladder.sumUpTo(bound)).toBe(entries.filter(([k]) => k <= bound).reduce((s, [, q]) => s + q, 0));
        expect(ladder.countUpTo(bound)).toBe(entries.filter(([k]) => k <= bound).length);
      }
    };
    // Phases: grow to ~200,000 levels (three levels of interior nodes or more), churn, then remove everything (back
    // to one leaf).
    const phases: { ops: number; keys: number; pDelete: number }[] = [
      { ops: 20_000, keys: 3_000, pDelete: 0.3 },
      { ops: 300_000, keys: 400_000, pDelete: 0.02 },
      { ops: 100_000, keys: 400_000, pDelete: 0.5 },
      { ops: 400_000, keys: 400_000, pDelete: 0.97 },
    ];
    for (const ph of phases) {
      for (let i = 0; i < ph.ops; i++) {
        const key = Math.floor(rand() * ph.keys);
        if (rand() < ph.pDelete) {
          ladder.set(key, 0);
          ref.delete(key);
        } else {
          const lots = 1 + Math.floor(rand() * 1000);
          ladder.set(key, lots);
          ref.set(key, lots);
        }
        maxHeight = Math.max(maxHeight, ladder.height);
      }
      check();
    }
    expect(maxHeight).toBeGreaterThanOrEqual(3);
    for (const key of [...ref.keys()]) { ladder.set(key, 0); ref.delete(key); }
    check();
    expect(ladder.height).toBe(0);
    expect(ladder.total).toBe(0);
  });

  it('takes negative keys (a bid side) and rescales exactly', () => {
    const ladder = new Ladder();
    for (const p of [1000, 999, 995, 1010]) ladder.set(-p, p - 990);
    expect(ladder.bestKey).toBe(-1010);
    expect(ladder.sumUpTo(-999)).toBe(20 + 10 + 9); // prices >= 999
    ladder.rescale(10, 1000);
    expect(ladder.check()).toBe('');
    expect(ladder.bestKey).toBe(-10100);
    expect(ladder.sumUpTo(-9990)).toBe((20 + 10 + 9) * 1000);
    expect(ladder.get(-9950)).toBe(5000);
    expect(ladder.get(-995)).toBe(0);
  });
});

// ---- Parsed messages of a capture ------------------------------------------------------------------------------
interface Message { line: number; kind: number; symbol: string; U: number; u: number; pu: number; bids: Levels; asks: Levels }

function copyLevels(src: Levels): Levels {
  const l = new Levels(1);
  for (let i = 0; i < src.n; i++) l.push(src.pxMant[i], src.pxDec[i], src.qtyMant[i], src.qtyDec[i]);
  return l;
}

/**
 * The depth diffs and snapshots of a capture, parsed with JSON.parse (not the scanner the reader uses); only those
 * received before `beforeS` (Unix seconds) when it is given.
 */
function depthMessages(path: string, beforeS = Infinity): Message[] {
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  const out: Message[] = [];
  const msg = newParsedMessage();
  text.split('\n').forEach((line, i) => {
    if (line.length === 0 || !(Number(line.slice(0, 10)) < beforeS)) return;
    const kind = parseJsonMessage(line, line.indexOf(' ') + 1, msg);
    if (kind !== MSG_DEPTH && kind !== MSG_SNAPSHOT) return;
    out.push({ line: i + 1, kind, symbol: msg.symbol, U: msg.firstUpdateId, u: msg.updateId, pu: msg.prevUpdateId, bids: copyLevels(msg.bids), asks: copyLevels(msg.asks) });
  });
  return out;
}

// ---- The book against the naive reference on real diffs ---------------------------------------------------------
describe('OrderBook on the committed depth sample, against a naive reference book', () => {
  // Its first 30 s (575 diffs, the whole sample until it grew to 80 s for the book features' warm-up): the naive
  // book's cost grows with the book, and the later diffs add no case the first ones lack.
  const messages = depthMessages(DEPTH_SAMPLE, 1723161285);
  const snapshot = messages.find((m) => m.kind === MSG_SNAPSHOT)!;

  it('holds a snapshot and hundreds of diffs (the sample is what the test needs)', () => {
    expect(snapshot.bids.n).toBe(1000);
    expect(messages.filter((m) => m.kind === MSG_DEPTH).length).toBeGreaterThan(500);
    expect(messages.some((m) => m.kind === MSG_DEPTH && m.line < snapshot.line)).toBe(true);
  });

  for (const opts of [{}, { depthLevels: 3, depthBps: 2.5, quoteDepth: 'levels' as const }, { depthLevels: 50, depthBps: 0.01 }]) {
    it(`gives the reference's best levels and depths after every diff (${JSON.stringify(opts)})`, () => {
      const book = new OrderBook('BTCUSDT', opts);
      const ref = new NaiveBook();
      const levels = book.depthLevels, bps = book.depthBps;
      let applied = 0;
      for (const m of messages) {
        const r = m.kind === MSG_SNAPSHOT ? book.applySnapshot(m.u, m.bids, m.asks, m.line) : book.applyDiff(m.U, m.u, m.pu, m.bids, m.asks, m.line);
        if (m.kind === MSG_SNAPSHOT) ref.snapshot(m.u, m.bids, m.asks); else ref.diff(m.U, m.u, m.pu, m.bids, m.asks);
        expect(book.state).toBe(ref.state);
        if (r !== DIFF_APPLIED) continue;
        applied++;
        const bid = ref.best('bids'), ask = ref.best('asks');
        expect([book.bestBid, book.bestBidSize, book.bestAsk, book.bestAskSize]).toEqual([bid.price, bid.size, ask.price, ask.size]);
        expect(book.bidDepthLevels).toBe(ref.depthLevels('bids', levels));
        expect(book.askDepthLevels).toBe(ref.depthLevels('asks', levels));
        expect(book.bidDepthBps).toBe(ref.depthBps('bids', bps));
        expect(book.askDepthBps).toBe(ref.depthBps('asks', bps));
        const byLevels = opts.quoteDepth === 'levels';
        expect([book.bidDepth, book.askDepth]).toEqual(byLevels ? [book.bidDepthLevels, book.askDepthLevels] : [book.bidDepthBps, book.askDepthBps]);
        expect(book.crossed).toBe(false);
      }
      // Every diff from the straddling one on was applied; the older ones were dropped.
      const older = messages.filter((m) => m.kind === MSG_DEPTH && m.line < snapshot.line && m.u <= snapshot.u).length;
      expect(older).toBeGreaterThan(0);
      expect(book.stats.diffs.dropped).toBe(older);
      const diffs = messages.length - 1;
      expect(book.stats.diffs.applied).toBe(diffs - older);
      // One call applied the buffered diffs that continue the snapshot, each later call one diff.
      const buffered = messages.filter((m) => m.kind === MSG_DEPTH && m.line < snapshot.line).length;
      expect(applied).toBe(diffs - buffered + 1);
      expect(book.stats.gaps).toBe(0);
      expect(book.stats.firstLiveLine).toBe(snapshot.line);
      // And the whole book, level by level.
      for (const side of ['bids', 'asks'] as const) {
        const got: [number, number][] = [];
        book[side].forEach((k, q) => got.push([side === 'bids' ? -k : k, q]));
        const want = ref.sorted(side).map(([p, q]) => [toNumber(p), toNumber(q)]);
        expect(got.map(([k, q]) => [k / 10 ** book.priceDecimals, q / 10 ** book.sizeDecimals])).toEqual(want);
      }
      expect(book.bids.check()).toBe('');
      expect(book.asks.check()).toBe('');
    });
  }
});

// ---- The sync procedure on hand-made diffs ----------------------------------------------------------------------
/** Levels from [price, size] decimal strings, as a parser leaves them. */
function lv(...levels: [string, string][]): Levels {
  const l = new Levels(1);
  const parts = (s: string) => { const dot = s.indexOf('.'); return dot < 0 ? [Number(s), 0] : [Number(s.replace('.', '')), s.length - dot - 1]; };
  for (const [p, q] of levels) { const [pm, pd] = parts(p); const [qm, qd] = parts(q); l.push(pm, pd, qm, qd); }
  return l;
}
const none = lv();

describe('OrderBook sync: snapshot, straddle, chain, gaps', () => {
  const SNAP_BIDS = lv(['100.0', '1.000'], ['99.9', '2.000']);
  const SNAP_ASKS = lv(['100.1', '1.500'], ['100.2', '2.500']);

  it('buffers diffs until the snapshot, drops those it holds, starts at the diff that straddles lastUpdateId + 1 (spot)', () => {
    const book = new OrderBook('X');
    expect(book.applyDiff(90, 95, NaN, lv(['99.0', '5.000']), none, 1)).toBe(DIFF_BUFFERED);
    expect(book.applyDiff(96, 100, NaN, lv(['98.0', '5.000']), none, 2)).toBe(DIFF_BUFFERED);
    expect(book.applyDiff(101, 104, NaN, lv(['99.9', '0.000']), none, 3)).toBe(DIFF_BUFFERED);
    expect(book.state).toBe('empty');
    expect(book.bidDepth).toBeNaN();
    // lastUpdateId 100: diffs up to u = 100 are in the snapshot already; 101..104 continues it.
    expect(book.applySnapshot(100, SNAP_BIDS, SNAP_ASKS, 4)).toBe(DIFF_APPLIED);
    expect(book.state).toBe('live');
    expect(book.stats.diffs).toEqual({ applied: 1, buffered: 3, dropped: 2, discarded: 0 });
    expect(book.bids.get(-990)).toBe(0); // 99.0 and 98.0 came in dropped diffs: not in the book
    expect(book.bids.get(-999)).toBe(0); // removed by a size of 0
    expect(book.bestBid).toBe(100);
    expect(book.updateId).toBe(104);
    expect(book.stats.firstLiveLine).toBe(4);
    // Spot chain: U must be the previous u + 1.
    expect(book.applyDiff(105, 107, NaN, none, lv(['100.1', '3.000']), 5)).toBe(DIFF_APPLIED);
    expect(book.bestAskSize).toBe(3);
    expect(book.applyDiff(109, 110, NaN, none, lv(['100.1', '4.000']), 6)).toBe(DIFF_GAP);
    expect(book.state).toBe('stale');
    expect(book.stats.gapList).toEqual([{ line: 6, kind: 'U', expected: 108, got: 109 }]);
    expect(book.bestAskSize).toBeNaN(); // a stale book gives nothing
    expect(book.bidDepth).toBeNaN();
    expect(book.applyDiff(111, 112, NaN, none, none, 7)).toBe(DIFF_BUFFERED);
    expect(book.bufferCovers(110)).toBe(true);
  });

  it('checks futures diffs by pu, and lets the first diff follow the snapshot exactly (pu == lastUpdateId)', () => {
    const book = new OrderBook('X');
    book.applySnapshot(100, SNAP_BIDS, SNAP_ASKS, 1);
    expect(book.state).toBe('syncing');
    expect(book.applyDiff(90, 100, 80, lv(['1.0', '1.000']), none, 2)).toBe(DIFF_DROPPED);
    // U = 120 > 101, but pu = 100: nothing happened in between (futures ids skip numbers).
    expect(book.applyDiff(120, 130, 100, lv(['100.0', '0.500']), none, 3)).toBe(DIFF_APPLIED);
    expect(book.futures).toBe(true);
    expect(book.applyDiff(135, 140, 130, none, none, 4)).toBe(DIFF_APPLIED);
    // pu 139 is not the previous u 140: an update was lost.
    expect(book.applyDiff(150, 160, 139, none, none, 5)).toBe(DIFF_GAP);
    expect(book.stats.gapList).toEqual([{ line: 5, kind: 'pu', expected: 140, got: 139 }]);
    expect(book.stats.gaps).toBe(1);
    expect(book.live).toBe(false);
  });

  it('reports a first diff that starts past lastUpdateId + 1 as a gap, and resyncs on a later snapshot', () => {
    const book = new OrderBook('X');
    book.applySnapshot(100, SNAP_BIDS, SNAP_ASKS, 1);
    expect(book.applyDiff(103, 105, NaN, none, none, 2)).toBe(DIFF_GAP);
    expect(book.stats.gapList[0]).toEqual({ line: 2, kind: 'snapshot', expected: 101, got: 103 });
    expect(book.applyDiff(106, 108, NaN, lv(['99.8', '1.000']), none, 3)).toBe(DIFF_BUFFERED);
    // A later snapshot at 105: the buffered 103..105 is dropped, 106..108 continues it.
    expect(book.applySnapshot(105, SNAP_BIDS, SNAP_ASKS, 4)).toBe(DIFF_APPLIED);
    expect(book.live).toBe(true);
    expect(book.bids.get(-998)).toBe(1000);
    expect(book.stats.snapshots).toBe(2);
    // A live book ignores a snapshot it is already past.
    expect(book.applySnapshot(107, SNAP_BIDS, SNAP_ASKS, 5)).toBe(DIFF_DROPPED);
    expect(book.stats.snapshotsIgnored).toBe(1);
    expect(book.bids.get(-998)).toBe(1000);
  });

  it('keeps the newest diffs when the buffer overflows', () => {
    const book = new OrderBook('X', { maxBufferedDiffs: 8 });
    for (let i = 0; i < 20; i++) book.applyDiff(10 * i + 1, 10 * i + 10, NaN, lv([`${100 - i}.0`, '1.000']), none, i + 1);
    expect(book.buffered).toBeLessThanOrEqual(8);
    expect(book.stats.diffs.discarded + book.buffered).toBe(20);
    // The newest survive: a snapshot at 180 continues from the buffered 181..190 and 191..200.
    expect(book.applySnapshot(180, SNAP_BIDS, SNAP_ASKS, 21)).toBe(DIFF_APPLIED);
    expect(book.bids.get(-820)).toBe(1000);
    expect(book.bids.get(-810)).toBe(1000);
    expect(book.updateId).toBe(200);
  });

  it('rescales when a level has more decimals than the book has seen', () => {
    const book = new OrderBook('X');
    book.applySnapshot(1, lv(['100.0', '1.0'], ['99.9', '2.0']), lv(['100.2', '1.5'], ['100.3', '1.0']), 1);
    expect(book.priceDecimals).toBe(1);
    book.applyDiff(2, 2, NaN, lv(['100.05', '0.25']), lv(['100.20', '0.0']), 2); // a finer tick and lot; 100.20 == 100.2
    expect(book.priceDecimals).toBe(2);
    expect(book.sizeDecimals).toBe(2);
    expect(book.bestBid).toBe(100.05);
    expect(book.bestBidSize).toBe(0.25);
    expect(book.asks.length).toBe(1); // 100.2 removed though written 100.20
    expect(book.bestAsk).toBe(100.3);
    expect(book.bids.check()).toBe('');
  });

  it('sets the levels before and after a finer one of the same message in the right units', () => {
    // The book converts a message's levels in a batch (Ladder.setMany); a finer level in the middle rescales the
    // book, and the levels around it must land where they would one by one.
    const book = new OrderBook('X');
    book.applySnapshot(1, lv(['100.0', '1.0'], ['99.0', '2.0']), lv(['101.0', '1.0'], ['102.0', '1.0']), 1);
    book.applyDiff(2, 2, NaN, lv(['99.5', '3.0'], ['99.25', '0.5'], ['98.5', '4.0'], ['99.0', '0']), lv(['101.5', '2.0'], ['101.0', '0.125']), 2);
    expect(book.priceDecimals).toBe(2);
    expect(book.sizeDecimals).toBe(3);
    const bids: [number, number][] = [];
    book.bids.forEach((k, q) => bids.push([-k, q]));
    expect(bids).toEqual([[10000, 1000], [9950, 3000], [9925, 500], [9850, 4000]]);
    const asks: [number, number][] = [];
    book.asks.forEach((k, q) => asks.push([k, q]));
    expect(asks).toEqual([[10100, 125], [10150, 2000], [10200, 1000]]);
    expect(book.bids.check()).toBe('');
    expect(book.asks.check()).toBe('');
  });

  it('matches the naive book on random diffs with finer ticks and lots among them', () => {
    const rnd = mulberry32(31);
    const book = new OrderBook('X', { depthLevels: 5, depthBps: 25 });
    const ref = new NaiveBook();
    const price = (base: number, side: number) => {
      // Mostly one decimal; now and then two or three (a finer tick, which rescales the book).
      const d = rnd() < 0.02 ? 1 + Math.floor(rnd() * 3) : 1;
      const ticks = Math.floor(rnd() * 60 * 10 ** d);
      return (base + side * ticks / 10 ** d).toFixed(d);
    };
    const size = () => (rnd() < 0.3 ? '0' : (1 + Math.floor(rnd() * 999)) / (rnd() < 0.02 ? 1000 : 10)).toString();
    const side = (base: number, dir: number) => {
      const n = Math.floor(rnd() * 40);
      const out: [string, string][] = [];
      for (let i = 0; i < n; i++) out.push([price(base, dir), size()]);
      return lv(...out);
    };
    const snapBids = side(1000, -1), snapAsks = side(1060, 1);
    book.applySnapshot(1, snapBids, snapAsks, 1);
    ref.snapshot(1, snapBids, snapAsks);
    for (let u = 2; u < 3000; u++) {
      const b = side(1000, -1), a = side(1060, 1);
      expect(book.applyDiff(u, u, NaN, b, a, u)).toBe(DIFF_APPLIED);
      ref.diff(u, u, NaN, b, a);
      expect(book.bids.check()).toBe('');
      expect(book.asks.check()).toBe('');
      if (book.bids.length > 0 && book.asks.length > 0) {
        const r = ref.summary(5, 25);
        expect([book.bestBid, book.bestBidSize, book.bestAsk, book.bestAskSize]).toEqual([r.bestBid, r.bestBidSize, r.bestAsk, r.bestAskSize]);
        expect([book.bidDepthLevels, book.askDepthLevels, book.bidDepthBps, book.askDepthBps]).toEqual([r.bidDepthLevels, r.askDepthLevels, r.bidDepthBps, r.askDepthBps]);
      }
    }
    expect(book.priceDecimals).toBe(3);
    expect(book.bids.length).toBe(ref.bids.size);
    expect(book.asks.length).toBe(ref.asks.size);
  });
});

describe('OrderBook depth within N levels and within N bps', () => {
  // Bids 99.9 x 1, 99.8 x 2, 99.7 x 3, 95 x 4; asks 100.1 x 1.5, 100.2 x 2.5, 101 x 5. Mid 100.0.
  const bids = lv(['99.9', '1'], ['99.8', '2'], ['99.7', '3'], ['95.0', '4']);
  const asks = lv(['100.1', '1.5'], ['100.2', '2.5'], ['101.0', '5']);
  const live = (opts: ConstructorParameters<typeof OrderBook>[1]) => {
    const book = new OrderBook('X', opts);
    book.applySnapshot(10, bids, asks, 1);
    expect(book.applyDiff(11, 11, NaN, none, none, 2)).toBe(DIFF_APPLIED);
    return book;
  };

  it('sums the best N levels of each side', () => {
    const book = live({ depthLevels: 2 });
    expect([book.bidDepthLevels, book.askDepthLevels]).toEqual([1 + 2, 1.5 + 2.5]);
    expect(live({ depthLevels: 100 }).bidDepthLevels).toBe(1 + 2 + 3 + 4); // fewer levels than N: all of them
  });

  it('sums the levels within N bps of the mid, a level exactly on the bound included', () => {
    // 10 bps of 100.0 is 0.1: bids >= 99.9 and asks <= 100.1, both exactly on the bound.
    const ten = live({ depthBps: 10 });
    expect([ten.bidDepthBps, ten.askDepthBps]).toEqual([1, 1.5]);
    // 20 bps: bids >= 99.8, asks <= 100.2, again right on the bounds.
    const twenty = live({ depthBps: 20 });
    expect([twenty.bidDepthBps, twenty.askDepthBps]).toEqual([1 + 2, 1.5 + 2.5]);
    // 19.99 bps leaves 99.8 and 100.2 just outside.
    const under = live({ depthBps: 19.99 });
    expect([under.bidDepthBps, under.askDepthBps]).toEqual([1, 1.5]);
    expect(twenty.bidDepth).toBe(twenty.bidDepthBps); // bps fills the quote's depth by default
    expect(live({ quoteDepth: 'levels', depthLevels: 3 }).askDepth).toBe(1.5 + 2.5 + 5);
  });

  it('agrees with the exact reference on random books with levels right on, just inside and just outside the bounds', () => {
    const rand = mulberry32(3);
    for (let t = 0; t < 2000; t++) {
      // Mid = k * 10^4 ticks and a whole number of bps put both bounds on a tick: k * (10^4 -/+ bps).
      const dec = Math.floor(rand() * 5);
      const k = 1 + Math.floor(rand() * 60);
      const bps = 1 + Math.floor(rand() * 60);
      const mid = k * 10_000, half = 1 + Math.floor(rand() * 4);
      const lo = k * (10_000 - bps), hi = k * (10_000 + bps);
      const price = (ticks: number) => (dec === 0 ? String(ticks) : `${Math.floor(ticks / 10 ** dec)}.${String(ticks % 10 ** dec).padStart(dec, '0')}`);
      const level = (ticks: number): [string, string] => [price(ticks), String(1 + Math.floor(rand() * 9))];
      const bidTicks = new Set([mid - half, lo - 1, lo, lo + 1, ...Array.from({ length: 10 }, () => mid - half - Math.floor(rand() * (mid - lo) * 1.5))]);
      const askTicks = new Set([mid + half, hi - 1, hi, hi + 1, ...Array.from({ length: 10 }, () => mid + half + Math.floor(rand() * (hi - mid) * 1.5))]);
      const b = lv(...[...bidTicks].filter((x) => x > 0 && x <= mid - half).map(level));
      const a = lv(...[...askTicks].filter((x) => x >= mid + half).map(level));
      const book = new OrderBook('X', { depthBps: bps, depthLevels: 5 });
      book.applySnapshot(1, b, a, 1);
      expect(book.applyDiff(2, 2, NaN, none, none, 2)).toBe(DIFF_APPLIED);
      const ref = new NaiveBook();
      ref.snapshot(1, b, a);
      ref.diff(2, 2, NaN, none, none);
      const want = ref.summary(5, bps);
      expect([book.bidDepthBps, book.askDepthBps, book.bidDepthLevels, book.askDepthLevels], `case ${t}`)
        .toEqual([want.bidDepthBps, want.askDepthBps, want.bidDepthLevels, want.askDepthLevels]);
    }
  });

  it('gives imbalances of the best levels, of the levels depth and of the bps depth', () => {
    const book = live({ depthLevels: 2, depthBps: 20 });
    expect(book.imbalanceTop).toBeCloseTo((1 - 1.5) / (1 + 1.5), 15);
    expect(book.imbalanceLevels).toBeCloseTo((3 - 4) / 7, 15);
    expect(book.imbalanceBps).toBeCloseTo((3 - 4) / 7, 15);
  });

  it('refuses bad options', () => {
    expect(() => new OrderBook('X', { depthLevels: 0 })).toThrow(/depthLevels/);
    expect(() => new OrderBook('X', { depthBps: 0.001 })).toThrow(/depthBps/);
    expect(() => new OrderBook('X', { depthBps: 10_000 })).toThrow(/depthBps/);
    expect(() => new OrderBook('X', { quoteDepth: 'both' as never })).toThrow(/quoteDepth/);
  });
});

// ---- The reader with books ----------------------------------------------------------------------------------------
const levelsJson = (levels: [string, string][]) => JSON.stringify(levels);
const fdiff = (ns: bigint, sym: string, U: number, u: number, pu: number, b: [string, string][], a: [string, string][]) =>
  `${ns} {"stream":"${sym.toLowerCase()}@depth@0ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"${sym}","U":${U},"u":${u},"pu":${pu},"b":${levelsJson(b)},"a":${levelsJson(a)}}}`;
const sdiff = (ns: bigint, sym: string, U: number, u: number, b: [string, string][], a: [string, string][]) =>
  `${ns} {"stream":"${sym.toLowerCase()}@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"${sym}","U":${U},"u":${u},"b":${levelsJson(b)},"a":${levelsJson(a)}}}`;
const snap = (ns: bigint, id: number, b: [string, string][], a: [string, string][], symbol?: string) =>
  `${ns} {"lastUpdateId":${id},${symbol ? `"symbol":"${symbol}",` : ''}"bids":${levelsJson(b)},"asks":${levelsJson(a)}}`;
const ticker = (ns: bigint, sym: string, u: number, b: string, bq: string, a: string, aq: string) =>
  `${ns} {"stream":"${sym.toLowerCase()}@bookTicker","data":{"e":"bookTicker","u":${u},"s":"${sym}","b":"${b}","B":"${bq}","a":"${a}","A":"${aq}","T":1,"E":1}}`;
const trade = (ns: bigint, sym: string, t: number, p: string) =>
  `${ns} {"stream":"${sym.toLowerCase()}@trade","data":{"e":"trade","E":1,"T":1,"s":"${sym}","t":${t},"p":"${p}","q":"1","X":"MARKET","m":false}}`;

interface Read { events: EventBatch; stats: BinanceStats; reader: BinanceReader }

async function read(name: string, lines: string[], opts = {}): Promise<Read> {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  const reader = new BinanceReader(path, { batchSize: 3, ...opts });
  const events = new EventBatch(16);
  for await (const b of reader) {
    for (let i = 0; i < b.length; i++) events.push(b.kind[i], b.instrument[i], b.tsNs[i], b.f[0][i], b.f[1][i], b.f[2][i], b.f[3][i], b.f[4][i], b.f[5][i]);
  }
  return { events, stats: reader.stats, reader };
}

const row = (e: EventBatch, i: number) => ({ kind: e.kind[i], ts: Number(e.tsNs[i] - 1_000_000_000_000_000_000n), f: e.f.map((c) => c[i]) });

describe('BinanceReader with books', () => {
  const B: [string, string][] = [['100.0', '1'], ['99.9', '2']];
  const A: [string, string][] = [['100.1', '1.5'], ['100.2', '2.5']];
  const T0 = 1_000_000_000_000_000_000n;

  it('attaches the live book\'s depth to quotes, quotes after each diff, and stops depth at a gap', async () => {
    const { events, stats } = await read('futures.txt', [
      /* 1 */ fdiff(T0 + 1n, 'BTCUSDT', 90, 99, 80, [['99.0', '1']], []),           // before the snapshot, dropped
      /* 2 */ ticker(T0 + 2n, 'BTCUSDT', 95, '100.0', '1', '100.1', '1.5'),        // no book yet: no depth
      /* 3 */ fdiff(T0 + 3n, 'BTCUSDT', 99, 102, 99, [['99.9', '3']], []),          // straddles 101
      /* 4 */ snap(T0 + 4n, 100, B, A),                                             // live now: a quote
      /* 5 */ ticker(T0 + 5n, 'BTCUSDT', 103, '100.0', '1', '100.1', '1.5'),       // depth of the live book
      /* 6 */ fdiff(T0 + 6n, 'BTCUSDT', 104, 106, 102, [['100.0', '0']], []),       // best bid 100.0 removed
      /* 7 */ fdiff(T0 + 7n, 'BTCUSDT', 110, 112, 107, [], []),                     // pu 107 != 106: gap
      /* 8 */ ticker(T0 + 8n, 'BTCUSDT', 113, '99.9', '3', '100.1', '1.5'),        // stale book: no depth
      /* 9 */ fdiff(T0 + 9n, 'BTCUSDT', 113, 115, 112, [], []),                     // buffered, no quote
    ]);
    expect(stats.bookGaps).toBe(1);
    const book = stats.books.BTCUSDT;
    expect(book.state).toBe('stale');
    expect(book.gapList).toEqual([{ line: 7, kind: 'pu', expected: 106, got: 107 }]);
    expect(book.stale).toEqual([{ fromLine: 7, fromNs: T0 + 7n, toLine: undefined, toNs: undefined }]);
    expect(book.firstLiveLine).toBe(4);
    expect(stats.messages).toEqual({ trade: 0, aggTrade: 0, bookTicker: 3, depth: 5, snapshot: 1, markPrice: 0 });
    expect(stats.quotes).toEqual({ fromTicker: 3, fromBook: 2, withDepth: 3, superseded: 0 });
    // Depth within 10 bps of the mid (default): mid 100.05 -> bids >= 99.94995, asks <= 100.15005.
    expect(events.length).toBe(5);
    expect(row(events, 0)).toEqual({ kind: Kind.quote, ts: 2, f: [100, 1, 100.1, 1.5, NaN, NaN] });
    expect(row(events, 1)).toEqual({ kind: Kind.quote, ts: 4, f: [100, 1, 100.1, 1.5, 1, 1.5] });   // book at 102 (newer than ticker 95)
    expect(row(events, 2)).toEqual({ kind: Kind.quote, ts: 5, f: [100, 1, 100.1, 1.5, 1, 1.5] });   // ticker 103
    // After line 6 the book (u 106) is newer than the ticker (103): its top, 99.9 x 3, leads. Mid 100.0.
    expect(row(events, 3)).toEqual({ kind: Kind.quote, ts: 6, f: [99.9, 3, 100.1, 1.5, 3, 1.5] });
    expect(row(events, 4)).toEqual({ kind: Kind.quote, ts: 8, f: [99.9, 3, 100.1, 1.5, NaN, NaN] });
  });

  it('checks spot diffs by U == previous u + 1, and a later snapshot ends the stale period', async () => {
    const { events, stats } = await read('spot.txt', [
      /* 1 */ snap(T0 + 1n, 100, B, A),
      /* 2 */ sdiff(T0 + 2n, 'ETHUSDT', 101, 103, [], []),
      /* 3 */ sdiff(T0 + 3n, 'ETHUSDT', 105, 106, [], []),   // 104 lost
      /* 4 */ sdiff(T0 + 4n, 'ETHUSDT', 107, 109, [['99.8', '7']], []),
      /* 5 */ snap(T0 + 5n, 108, B, A),                       // continued by 107..109
      /* 6 */ sdiff(T0 + 6n, 'ETHUSDT', 110, 110, [], []),
    ]);
    const book = stats.books.ETHUSDT;
    // The first snapshot came before any instrument was known: the first depth diff's instrument claimed it.
    expect(stats.unattributedSnapshots).toBeUndefined();
    expect(book.gapList).toEqual([{ line: 3, kind: 'U', expected: 104, got: 105 }]);
    expect(book.stale).toEqual([{ fromLine: 3, fromNs: T0 + 3n, toLine: 5, toNs: T0 + 5n }]);
    expect(book.state).toBe('live');
    expect(book.snapshots).toBe(2);
    expect(stats.quotes.fromBook).toBe(3); // lines 2, 5 (the buffered 107..109) and 6
    // Top from the book each time (no bookTickers); 10 bps of mid 100.05 takes only 100.0 and 100.1.
    expect(row(events, 0)).toEqual({ kind: Kind.quote, ts: 2, f: [100, 1, 100.1, 1.5, 1, 1.5] });
    expect(row(events, 1)).toEqual({ kind: Kind.quote, ts: 5, f: [100, 1, 100.1, 1.5, 1, 1.5] });
    expect(row(events, 2)).toEqual({ kind: Kind.quote, ts: 6, f: [100, 1, 100.1, 1.5, 1, 1.5] });
    expect(events.length).toBe(3);
    expect(book.bidLevels).toBe(3); // 100.0, 99.9 and 99.8 from the diff on line 4
  });

  it('gives a symbol-less snapshot to the book whose buffered diffs continue it, and reports one it cannot place', async () => {
    const { stats } = await read('two.txt', [
      /* 1 */ fdiff(T0 + 1n, 'BTCUSDT', 10, 20, 5, [], []),
      /* 2 */ fdiff(T0 + 2n, 'ETHUSDT', 500, 520, 490, [], []),
      /* 3 */ snap(T0 + 3n, 9_999, B, A),       // two books wait, neither's diffs continue it: whose is it?
      /* 4 */ snap(T0 + 4n, 510, B, A),         // only ETHUSDT's buffered diff covers 511
      /* 5 */ snap(T0 + 5n, 15, B, A, 'BTCUSDT'), // named
    ]);
    expect(stats.books.ETHUSDT.state).toBe('live');
    expect(stats.books.ETHUSDT.firstLiveLine).toBe(4);
    expect(stats.books.BTCUSDT.state).toBe('live');
    expect(stats.books.BTCUSDT.firstLiveLine).toBe(5);
    expect(stats.unattributedSnapshots).toEqual({ count: 1, lines: [3], example: expect.stringContaining('line 3') });
  });

  it('counts out-of-order messages with their line numbers and keeps every valid one', async () => {
    const { events, stats } = await read('order.txt', [
      /* 1 */ trade(T0 + 10n, 'BTCUSDT', 7, '100'),
      /* 2 */ trade(T0 + 5n, 'BTCUSDT', 8, '101'),      // received before line 1: takes line 1's time
      /* 3 */ trade(T0 + 11n, 'BTCUSDT', 6, '102'),     // trade id goes back: still a trade
      /* 4 */ ticker(T0 + 12n, 'BTCUSDT', 50, '99', '1', '101', '1'),
      /* 5 */ ticker(T0 + 13n, 'BTCUSDT', 40, '98', '1', '102', '1'), // older than line 4: line 4's top stands
    ]);
    expect(stats.outOfOrder.receiveTime?.lines).toEqual([2]);
    expect(stats.outOfOrder.tradeId?.lines).toEqual([3]);
    expect(stats.outOfOrder.tickerId?.lines).toEqual([5]);
    expect(events.length).toBe(5);
    expect([...events.tsNs.subarray(0, 5)].map((t) => Number(t - T0))).toEqual([10, 10, 11, 12, 13]);
    expect(events.f[0][2]).toBe(102);
    expect(row(events, 4).f.slice(0, 4)).toEqual([99, 1, 101, 1]);
    expect(stats.quotes.superseded).toBe(1);
  });

  it('skips depth messages like any other stream when books are off', async () => {
    const { stats, events } = await read('off.txt', [fdiff(T0 + 1n, 'BTCUSDT', 1, 2, 0, [], []), snap(T0 + 2n, 1, B, A), ticker(T0 + 3n, 'BTCUSDT', 3, '1', '1', '2', '1')], { book: false });
    expect(stats.skipped).toEqual({ 'depth@0ms': 1, depthSnapshot: 1 });
    expect(stats.books).toEqual({});
    expect(events.length).toBe(1);
    expect(events.f[4][0]).toBeNaN();
  });
});

describe('BinanceReader on the committed depth sample', () => {
  it('builds the book, quotes with depth from the snapshot on, and matches the book fed directly', async () => {
    const reader = new BinanceReader(DEPTH_SAMPLE, { batchSize: 1000 });
    const depthQuotes: number[] = [];
    let quotes = 0, withDepth = 0;
    for await (const b of reader) {
      for (let i = 0; i < b.length; i++) {
        if (b.kind[i] !== Kind.quote) continue;
        quotes++;
        if (Number.isFinite(b.f[4][i])) { withDepth++; depthQuotes.push(b.f[4][i]); }
        expect(b.f[0][i]).toBeLessThan(b.f[2][i]); // never crossed, never a step back to an older top
      }
    }
    const s = reader.stats;
    expect(s.malformed).toEqual({});
    expect(s.bookGaps).toBe(0);
    expect(s.quotes.withDepth).toBe(withDepth);
    expect(quotes).toBe(s.messages.bookTicker + s.quotes.fromBook);
    // Every quote after the book went live (line 55) carries depth; the quotes before it do not.
    const messages = depthMessages(DEPTH_SAMPLE);
    const book = new OrderBook('BTCUSDT');
    const bookDepths: number[] = [];
    for (const m of messages) {
      const r = m.kind === MSG_SNAPSHOT ? book.applySnapshot(m.u, m.bids, m.asks, m.line) : book.applyDiff(m.U, m.u, m.pu, m.bids, m.asks, m.line);
      if (r === DIFF_APPLIED) bookDepths.push(book.bidDepth);
    }
    expect(s.quotes.fromBook).toBe(bookDepths.length);
    // The depths a quote carried are the book's after its diffs, in order, each repeated by the bookTickers between.
    const distinct = depthQuotes.filter((d, i) => i === 0 || d !== depthQuotes[i - 1]);
    const distinctBook = bookDepths.filter((d, i) => i === 0 || d !== bookDepths[i - 1]);
    expect(distinct).toEqual(distinctBook);
    const book2 = reader.book('BTCUSDT')!;
    expect(book2.updateId).toBe(book.updateId);
    expect(book2.bids.length).toBe(book.bids.length);
  });
});

