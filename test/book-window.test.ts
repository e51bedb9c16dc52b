// The book's WebAssembly kernels (build/binance.wasm: side_apply, book_derive) against their TypeScript twin (an
// OrderBook with { wasm: false }): the same messages, with their levels where the scanner leaves them (the module's
// memory), to a book whose sides the module lends and to one that keeps its own. After every message: every derived
// value (Object.is: a -0 stays -0), the stats, and the two sides' blocks byte for byte (the kernels and the twin take
// the same steps on the same layout). Streams: seeded random walks that reach every path (levels near and far from
// the best, removals of the best and of absent levels, a finer tick and a finer lot mid-stream, crossed and
// one-sided books, snapshots, gaps, a window that moves), and the committed depth sample.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Levels, MSG_DEPTH, MSG_SNAPSHOT, newParsedMessage, parseJsonMessage } from '../src/adapters/binance-message.js';
import { sideBlockBytes, DEFAULT_WINDOW_SLOTS } from '../src/adapters/book-side.js';
import { OrderBook } from '../src/adapters/book.js';
import { mulberry32 } from '../src/random.js';
import { SIDE_BLOCKS, sharedBinanceWasm } from '../src/wasm/binance.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const w = sharedBinanceWasm()!;

/** Levels whose arrays are the module's (as the scanner leaves a message's bids or asks). */
function moduleLevels(side: 'bids' | 'asks'): Levels {
  const l = new Levels(1);
  if (side === 'bids') { l.pxMant = w.bidsPxMant; l.pxDec = w.bidsPxDec; l.qtyMant = w.bidsQtyMant; l.qtyDec = w.bidsQtyDec; }
  else { l.pxMant = w.asksPxMant; l.pxDec = w.asksPxDec; l.qtyMant = w.asksQtyMant; l.qtyDec = w.asksQtyDec; }
  return l;
}

interface Msg { snapshot: boolean; U: number; u: number; pu: number; bids: number[][]; asks: number[][] }

const FIELDS = ['bestBid', 'bestBidSize', 'bestAsk', 'bestAskSize', 'bidDepthLevels', 'askDepthLevels', 'bidDepthBps', 'askDepthBps', 'bidDepth', 'askDepth', 'crossed', 'updateId'] as const;

/** Feed both books; compare after every message. */
function replay(messages: Msg[], opts: { depthLevels?: number; depthBps?: number; quoteDepth?: 'bps' | 'levels' } = {}): { wasm: OrderBook; twin: OrderBook } {
  const wasm = new OrderBook('W', opts);
  const twin = new OrderBook('T', { ...opts, wasm: false });
  expect(wasm.wasm).toBe(true);
  expect(twin.wasm).toBe(false);
  const bids = moduleLevels('bids'), asks = moduleLevels('asks');
  const fill = (l: Levels, levels: number[][]) => {
    l.n = 0;
    for (const [pm, pd, qm, qd] of levels) { l.pxMant[l.n] = pm; l.pxDec[l.n] = pd; l.qtyMant[l.n] = qm; l.qtyDec[l.n] = qd; l.n++; }
  };
  let line = 0;
  for (const m of messages) {
    line++;
    fill(bids, m.bids);
    fill(asks, m.asks);
    const r = m.snapshot ? [wasm.applySnapshot(m.u, bids, asks, line), twin.applySnapshot(m.u, bids, asks, line)]
      : [wasm.applyDiff(m.U, m.u, m.pu, bids, asks, line), twin.applyDiff(m.U, m.u, m.pu, bids, asks, line)];
    expect(r[0]).toBe(r[1]);
    for (const f of FIELDS) if (!Object.is(wasm[f], twin[f])) expect({ line, f, v: wasm[f] }).toEqual({ line, f, v: twin[f] });
    if (line % 50 === 0 || line === messages.length) same(wasm, twin);
  }
  same(wasm, twin);
  expect(wasm.stats).toEqual({ ...twin.stats, symbol: 'W' });
  return { wasm, twin };
}

/** The sides' blocks byte for byte, and every invariant. */
function same(a: OrderBook, b: OrderBook): void {
  const bytes = sideBlockBytes(DEFAULT_WINDOW_SLOTS);
  for (const s of ['bids', 'asks'] as const) {
    const x = a[s].block, y = b[s].block;
    const u = new Uint8Array(x.buffer, x.offset, bytes), v = new Uint8Array(y.buffer, y.offset, bytes);
    expect(Buffer.compare(u, v)).toBe(0);
    expect(a[s].check()).toBe('');
    expect(a[s].length).toBe(b[s].length);
  }
}

/**
 * A futures book's life: a mid that random-walks (and jumps), levels near it and far from it, removals, a finer tick
 * and lot at a given message, snapshots now and then, a lost message now and then.
 */
function stream(seed: number, n: number, opts: { finerAt?: number; gapEvery?: number; crossEvery?: number; pxDec?: number; mid?: number } = {}): Msg[] {
  const rand = mulberry32(seed);
  const out: Msg[] = [];
  let mid = opts.mid ?? 617_000, pxDec = opts.pxDec ?? 1, qtyDec = 0, u = 1000;
  const level = (side: 1 | -1, far: boolean): number[] => {
    let ticks = 1 + Math.floor(Math.abs(rand() - rand()) * 3000);
    if (far) ticks += Math.floor(rand() * 200_000);
    const px = mid - side * ticks;
    const q = rand() < 0.35 ? 0 : 1 + Math.floor(rand() * 5000);
    return [px, pxDec, q, q === 0 && rand() < 0.5 ? 0 : qtyDec];
  };
  const side = (s: 1 | -1, k: number) => Array.from({ length: k }, () => level(s, rand() < 0.05));
  out.push({ snapshot: true, U: 0, u, pu: NaN, bids: side(1, 800), asks: side(-1, 800) });
  for (let i = 1; i < n; i++) {
    mid += Math.round((rand() - 0.5) * 40);
    if (rand() < 0.01) mid += Math.round((rand() - 0.5) * 20_000);
    if (opts.finerAt === i) {
      // Every price and size from here on has one more decimal: the book rescales.
      mid *= 10; pxDec++; qtyDec++;
    }
    const bids = side(1, Math.floor(rand() * 14)), asks = side(-1, Math.floor(rand() * 14));
    // The best leaving now and then: the kernel hands it back.
    if (rand() < 0.2) bids.unshift([mid - 1, pxDec, 0, qtyDec]);
    if (opts.crossEvery && i % opts.crossEvery === 0) asks.push([mid - 50, pxDec, 7, qtyDec]);
    const U = u + 1;
    const pu = u;
    u += 1 + Math.floor(rand() * 5);
    if (opts.gapEvery && i % opts.gapEvery === 0) { out.push({ snapshot: false, U, u, pu: pu - 1, bids, asks }); continue; }
    if (rand() < 0.005) { out.push({ snapshot: true, U: 0, u, pu: NaN, bids: side(1, 500), asks: side(-1, 500) }); continue; }
    out.push({ snapshot: false, U, u, pu, bids, asks });
  }
  return out;
}

describe('the book kernels (build/binance.wasm) against their TypeScript twin', () => {
  it('seeded futures streams: near and far levels, removals of the best, snapshots', () => {
    for (const seed of [1, 2, 3]) replay(stream(seed, 2500));
  });

  it('a finer tick and lot mid-stream (a rescale), an 8-decimal tick (a stride of 10^6)', () => {
    replay(stream(4, 1500, { finerAt: 700 }));
    replay(stream(5, 1000, { pxDec: 8 }).map((m) => ({ ...m, bids: m.bids.map(([p, d, q, qd]) => [p * 1_000_000, 8, q, qd]), asks: m.asks.map(([p, d, q, qd]) => [p * 1_000_000, 8, q, qd]) })));
  });

  it('gaps (stale books, buffered diffs, resync at the next snapshot), crossed books, one-sided and empty books', () => {
    replay(stream(6, 1500, { gapEvery: 300, crossEvery: 97 }));
    // One side emptied and refilled; every level removed.
    const m = stream(7, 300);
    const last = m[m.length - 1];
    const all = (side: 'bids' | 'asks') => m.flatMap((x) => x[side]).map(([p, d]) => [p, d, 0, 0]);
    m.push({ snapshot: false, U: last.u + 1, u: last.u + 2, pu: last.u, bids: all('bids'), asks: [] });
    m.push({ snapshot: false, U: last.u + 3, u: last.u + 4, pu: last.u + 2, bids: [[617_000, 1, 5, 0]], asks: all('asks') });
    replay(m);
  });

  it('prices near 2^52 ticks: the band bounds exact where a double division rounds the wrong way', () => {
    // bid + ask passes 2^53 here: quotient()'s corrections are what keep the bounds whole ticks.
    for (const seed of [12, 13]) replay(stream(seed, 600, { mid: 4_503_599_627_000_000 + seed }), { depthBps: 7.77 });
  });

  it('depth by levels, other bands', () => {
    replay(stream(8, 800), { depthLevels: 1, depthBps: 0.5, quoteDepth: 'levels' });
    replay(stream(9, 800), { depthLevels: 500, depthBps: 5000 });
  });

  it('the committed depth sample', () => {
    const text = gunzipSync(readFileSync(join(ROOT, 'data/samples/binance-usdm-btcusdt-depth.txt.gz'))).toString('utf8');
    const msg = newParsedMessage();
    const levels = (l: Levels) => Array.from({ length: l.n }, (_, i) => [l.pxMant[i], l.pxDec[i], l.qtyMant[i], l.qtyDec[i]]);
    const messages: Msg[] = [];
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      const kind = parseJsonMessage(line, line.indexOf(' ') + 1, msg);
      if (kind === MSG_DEPTH || kind === MSG_SNAPSHOT) {
        messages.push({ snapshot: kind === MSG_SNAPSHOT, U: msg.firstUpdateId, u: msg.updateId, pu: msg.prevUpdateId, bids: levels(msg.bids), asks: levels(msg.asks) });
      }
    }
    expect(messages.length).toBeGreaterThan(1000);
    const { wasm } = replay(messages);
    expect(wasm.stats.gaps).toBe(0);
  });

  it('release() mid-life: the book carries on in TypeScript, unchanged, and its blocks go back zeroed', () => {
    const m = stream(10, 1200);
    const wasm = new OrderBook('W');
    const twin = new OrderBook('T', { wasm: false });
    const bids = moduleLevels('bids'), asks = moduleLevels('asks');
    let line = 0;
    for (const x of m) {
      line++;
      for (const [l, src] of [[bids, x.bids], [asks, x.asks]] as const) {
        l.n = 0;
        for (const [pm, pd, qm, qd] of src) { l.pxMant[l.n] = pm; l.pxDec[l.n] = pd; l.qtyMant[l.n] = qm; l.qtyDec[l.n] = qd; l.n++; }
      }
      if (x.snapshot) { wasm.applySnapshot(x.u, bids, asks, line); twin.applySnapshot(x.u, bids, asks, line); }
      else { wasm.applyDiff(x.U, x.u, x.pu, bids, asks, line); twin.applyDiff(x.U, x.u, x.pu, bids, asks, line); }
      if (line === 600) {
        const offsets = [wasm.bids.blockOffset, wasm.asks.blockOffset];
        wasm.release();
        expect(wasm.wasm).toBe(false);
        for (const o of offsets) expect(new Uint8Array(w.buffer, o, sideBlockBytes(DEFAULT_WINDOW_SLOTS)).every((b) => b === 0)).toBe(true);
        wasm.release(); // idempotent
      }
      for (const f of FIELDS) expect(Object.is(wasm[f], twin[f])).toBe(true);
    }
    same(wasm, twin);
  });

  it('more books than the module lends: the rest keep their sides in TypeScript, and answer the same', () => {
    const books = Array.from({ length: SIDE_BLOCKS / 2 + 3 }, (_, i) => new OrderBook(`B${i}`));
    const lent = books.filter((b) => b.wasm).length;
    expect(lent).toBeLessThanOrEqual(SIDE_BLOCKS / 2);
    expect(books.some((b) => !b.wasm)).toBe(true);
    const m = stream(11, 200);
    const bids = moduleLevels('bids'), asks = moduleLevels('asks');
    for (const x of m) {
      for (const [l, src] of [[bids, x.bids], [asks, x.asks]] as const) {
        l.n = 0;
        for (const [pm, pd, qm, qd] of src) { l.pxMant[l.n] = pm; l.pxDec[l.n] = pd; l.qtyMant[l.n] = qm; l.qtyDec[l.n] = qd; l.n++; }
      }
      for (const b of books) x.snapshot ? b.applySnapshot(x.u, bids, asks, 1) : b.applyDiff(x.U, x.u, x.pu, bids, asks, 1);
      for (const f of FIELDS) for (const b of books) expect(Object.is(b[f], books[0][f])).toBe(true);
    }
    for (const b of books) b.release();
  });
});
