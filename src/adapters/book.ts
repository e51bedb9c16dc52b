// A local order book from Binance depth diffs, kept the way Binance documents it
// (https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly,
// and the spot equivalent):
//
//   empty    no snapshot yet: diffs are buffered (the newest maxBufferedDiffs of them)
//   syncing  a REST snapshot (lastUpdateId L) was loaded, then the buffered diffs replayed through the next rule:
//            diffs with u <= L are dropped (the snapshot holds them); the first one kept must straddle L + 1
//            (U <= L + 1 <= u), or, on futures, continue it exactly (pu == L). Futures update ids are not
//            consecutive, so a first diff with U > L + 1 has lost nothing when its pu is L; Binance's futures page
//            keeps a diff with u == L instead, which adds nothing to the snapshot and makes the next one's pu == L.
//   live     each diff must follow the previous one: futures pu == previous u, spot U == previous u + 1
//   stale    a diff broke that chain (a message was lost): the book is wrong from here. Its gap is recorded with
//            the line number, depth stops (NaN), diffs are buffered again, and the next snapshot in the capture
//            (if any) resyncs it exactly as at the start. A capture holds one snapshot, so in practice a book that
//            goes stale stays stale to the end of the replay: a live client would fetch a new snapshot, a replay
//            can only wait for one.
//
// Prices and sizes are integers: ticks of 10^-pxDecimals and lots of 10^-qtyDecimals, taken from the decimal
// strings as written (8 decimals on spot, 2 and 3 on USD-M BTCUSDT), so that equal prices are equal keys and depth
// sums are exact. A level written with more decimals than the book has seen makes the book rescale once (O(n)).
//
// After every change the book derives, once, what quotes need: the best bid and ask with their sizes, the summed
// size of the best `depthLevels` levels a side, and the summed size of the levels within `depthBps` basis points of
// the mid: bids priced >= mid * (1 - bps / 10^4) and asks <= mid * (1 + bps / 10^4), mid = (best bid + best ask) / 2,
// decided exactly (integer arithmetic on ticks: a level right on the bound is in), so that a round mid and a round
// bps never put a level on either side by a rounding. A quote reads them as they stand: between two diffs, quotes
// cost the book nothing.
import type { Levels } from './binance-message.js';
import { POW10 } from './binance-message.js';
import { BookSide, DEFAULT_WINDOW_SLOTS } from './book-side.js';
import { D_ASK_BAND_TAIL, D_ASK_BEST_TAIL, D_BID_BAND_TAIL, D_BID_BEST_TAIL, D_CROSSED, D_EMPTY, sharedBinanceWasm, type BinanceWasm } from '../wasm/binance.js';

export interface BookOptions {
  /** Levels a side summed into the depth "within N levels" (default 10). */
  depthLevels?: number;
  /**
   * Basis points from the mid for the depth "within N bps" (default 10: 62 USD either side of BTC at 62,000), in
   * steps of 0.01 bp.
   */
  depthBps?: number;
  /**
   * Which depth fills a quote's bidDepth / askDepth (f4 / f5): `bps` (default) or `levels`. Depth within a band of
   * the mid measures the same liquidity whatever the tick size and however sparse the book; ten levels of a
   * 0.1-tick BTC book are a dollar wide and say little more than the best level does.
   */
  quoteDepth?: 'bps' | 'levels';
  /** Diffs held while waiting for a snapshot (default 4096); beyond it the oldest go. */
  maxBufferedDiffs?: number;
  /**
   * false: both sides in TypeScript alone (the twin of the book's WebAssembly kernels, which are on by default when
   * build/binance.wasm exists and lends blocks).
   */
  wasm?: boolean;
}

export const DEFAULT_DEPTH_LEVELS = 10;
export const DEFAULT_DEPTH_BPS = 10;
export const DEFAULT_MAX_BUFFERED_DIFFS = 4096;

export const BOOK_STATES = ['empty', 'syncing', 'live', 'stale'] as const;
export type BookState = (typeof BOOK_STATES)[number];
const EMPTY = 0, SYNCING = 1, LIVE = 2, STALE = 3;

/** What applyDiff did with a diff. */
export const DIFF_APPLIED = 1;
export const DIFF_BUFFERED = 2;
export const DIFF_DROPPED = 3;
export const DIFF_GAP = 4;

/** Gaps whose details are kept, per book. */
export const GAPS_KEPT = 20;

export interface BookGap {
  /** Line of the diff that did not follow. */
  line: number;
  /**
   * `pu`: a futures diff's pu is not the previous diff's u. `U`: a spot diff's U is not the previous u + 1.
   * `snapshot`: the first diff after the snapshot starts past lastUpdateId + 1 (updates between them are lost).
   * `precision`: a price or size cannot be held exactly (over 2^53 ticks or lots).
   */
  kind: 'pu' | 'U' | 'snapshot' | 'precision';
  expected: number;
  got: number;
}

export interface StalePeriod {
  /** Line of the diff that found the gap, and its receive time. */
  fromLine: number;
  fromNs: bigint;
  /** Line and time of the snapshot or diff that made the book live again; undefined while it is still stale. */
  toLine: number | undefined;
  toNs: bigint | undefined;
}

export interface BookStats {
  symbol: string;
  state: BookState;
  /** Snapshots loaded; and ignored because the live book was already past them. */
  snapshots: number;
  snapshotsIgnored: number;
  diffs: {
    applied: number;
    /** Held until a snapshot. */
    buffered: number;
    /** Older than the snapshot (u <= lastUpdateId). */
    dropped: number;
    /** Pushed out of a full buffer. */
    discarded: number;
  };
  gaps: number;
  /** The first GAPS_KEPT gaps. */
  gapList: BookGap[];
  /** Periods the book spent stale (the reader fills in times), the first GAPS_KEPT of them. */
  stale: StalePeriod[];
  /** Line at which the book first went live (a diff, or the snapshot whose buffered diffs continued it). */
  firstLiveLine: number | undefined;
  /** Diffs after which the best bid was at or above the best ask (never, on a consistent book). */
  crossed: number;
  /** Levels now. */
  bidLevels: number;
  askLevels: number;
}

/** Diffs waiting for a snapshot, in flat arrays: their sequence numbers, lines and levels. */
class DiffBuffer {
  n = 0;
  first = new Float64Array(64);
  last = new Float64Array(64);
  prev = new Float64Array(64);
  line = new Float64Array(64);
  bidFrom = new Int32Array(64);
  bidN = new Int32Array(64);
  askFrom = new Int32Array(64);
  askN = new Int32Array(64);
  /** Levels of all buffered diffs, bids then asks per diff. */
  readonly pool: LevelPool = new LevelPool();

  clear(): void { this.n = 0; this.pool.n = 0; }

  add(first: number, last: number, prev: number, line: number, bids: Levels, asks: Levels): void {
    if (this.n === this.first.length) this.#grow();
    const i = this.n++;
    this.first[i] = first; this.last[i] = last; this.prev[i] = prev; this.line[i] = line;
    this.bidFrom[i] = this.pool.n; this.bidN[i] = bids.n;
    this.pool.copyFrom(bids);
    this.askFrom[i] = this.pool.n; this.askN[i] = asks.n;
    this.pool.copyFrom(asks);
  }

  /** Forget the oldest k diffs. */
  dropOldest(k: number): void {
    if (k >= this.n) { this.clear(); return; }
    const shift = this.bidFrom[k];
    const keep = this.n - k;
    for (const a of [this.first, this.last, this.prev, this.line]) a.copyWithin(0, k, this.n);
    for (const a of [this.bidN, this.askN]) a.copyWithin(0, k, this.n);
    for (let i = 0; i < keep; i++) { this.bidFrom[i] = this.bidFrom[i + k] - shift; this.askFrom[i] = this.askFrom[i + k] - shift; }
    this.pool.shiftDown(shift);
    this.n = keep;
  }

  /** Whether a buffered diff covers the update right after `id` (what a snapshot taken at `id` needs next). */
  covers(id: number): boolean {
    for (let i = 0; i < this.n; i++) if (this.first[i] <= id + 1 && this.last[i] >= id) return true;
    return false;
  }

  #grow(): void {
    const cap = this.first.length * 2;
    const f = (a: Float64Array) => { const b = new Float64Array(cap); b.set(a); return b; };
    const g = (a: Int32Array) => { const b = new Int32Array(cap); b.set(a); return b; };
    this.first = f(this.first); this.last = f(this.last); this.prev = f(this.prev); this.line = f(this.line);
    this.bidFrom = g(this.bidFrom); this.bidN = g(this.bidN); this.askFrom = g(this.askFrom); this.askN = g(this.askN);
  }
}

/** A growable pool of decimal levels (Levels' layout), for the buffer. */
class LevelPool {
  n = 0;
  pxMant = new Float64Array(1024);
  pxDec = new Uint8Array(1024);
  qtyMant = new Float64Array(1024);
  qtyDec = new Uint8Array(1024);

  copyFrom(src: Levels): void {
    const need = this.n + src.n;
    if (need > this.pxMant.length) {
      let cap = this.pxMant.length;
      while (cap < need) cap *= 2;
      const pm = new Float64Array(cap); pm.set(this.pxMant.subarray(0, this.n)); this.pxMant = pm;
      const pd = new Uint8Array(cap); pd.set(this.pxDec.subarray(0, this.n)); this.pxDec = pd;
      const qm = new Float64Array(cap); qm.set(this.qtyMant.subarray(0, this.n)); this.qtyMant = qm;
      const qd = new Uint8Array(cap); qd.set(this.qtyDec.subarray(0, this.n)); this.qtyDec = qd;
    }
    this.pxMant.set(src.pxMant.subarray(0, src.n), this.n);
    this.pxDec.set(src.pxDec.subarray(0, src.n), this.n);
    this.qtyMant.set(src.qtyMant.subarray(0, src.n), this.n);
    this.qtyDec.set(src.qtyDec.subarray(0, src.n), this.n);
    this.n = need;
  }

  shiftDown(k: number): void {
    this.pxMant.copyWithin(0, k, this.n);
    this.pxDec.copyWithin(0, k, this.n);
    this.qtyMant.copyWithin(0, k, this.n);
    this.qtyDec.copyWithin(0, k, this.n);
    this.n -= k;
  }
}

/** What a depth diff gives the book: U, u, pu (NaN on spot) and the levels. A ParsedMessage is one. */
export interface DepthMessage {
  firstUpdateId: number;
  updateId: number;
  prevUpdateId: number;
  bids: Levels;
  asks: Levels;
}

/** Decimal levels: a message's Levels or the buffer's pool. */
type LevelSource = Pick<Levels, 'pxMant' | 'pxDec' | 'qtyMant' | 'qtyDec'>;

export class OrderBook {
  symbol: string;
  readonly bids: BookSide;
  readonly asks: BookSide;
  /** Whether the book may borrow blocks of the WebAssembly module (not made with `wasm: false`). */
  readonly #wasmAllowed: boolean;
  /** The module whose memory lends both sides' blocks (its kernels then set levels and derive), or undefined. */
  #w: BinanceWasm | undefined;
  /** Its book_derive, held here (a property of the exports object is a generic load per call). */
  #bookDerive: BinanceWasm['x']['book_derive'] | undefined;
  /** Last update id applied: the snapshot's lastUpdateId, then each diff's u. NaN before a snapshot. */
  updateId = NaN;
  /** True once a diff carried pu (futures): its chain is checked by pu. */
  futures = false;

  // Derived after every change of a live book; NaN when the book is not live or a side is empty.
  bestBid = NaN;
  bestBidSize = NaN;
  bestAsk = NaN;
  bestAskSize = NaN;
  bidDepthLevels = NaN;
  askDepthLevels = NaN;
  bidDepthBps = NaN;
  askDepthBps = NaN;
  /** The depth pair the quoteDepth option chose: what a quote's bidDepth / askDepth carry. */
  bidDepth = NaN;
  askDepth = NaN;
  /** Best bid >= best ask after the last change. */
  crossed = false;

  readonly stats: BookStats;
  readonly depthLevels: number;
  readonly depthBps: number;
  readonly #depthByBps: boolean;
  /** The band as fractions of BAND_DENOMINATOR: 10^6 -/+ bps * 100 (bps in hundredths). */
  readonly #bandBelow: number;
  readonly #bandAbove: number;
  readonly #maxBuffered: number;
  #state = EMPTY;
  readonly #buffer = new DiffBuffer();
  /** Line of the message being applied (a snapshot replays older diffs: the book goes live at the snapshot's line). */
  #line = 0;
  /** U, u and pu of the diff being applied. */
  #first = NaN;
  #last = NaN;
  #prev = NaN;
  /** Decimals of the book's ticks and lots (-1 until the first level), and 10 to their power. */
  #pxDec = -1;
  #qtyDec = -1;
  #pxScale = NaN;
  #qtyScale = NaN;

  constructor(symbol: string, opts: BookOptions = {}) {
    const levels = opts.depthLevels ?? DEFAULT_DEPTH_LEVELS;
    const bps = opts.depthBps ?? DEFAULT_DEPTH_BPS;
    const maxBuffered = opts.maxBufferedDiffs ?? DEFAULT_MAX_BUFFERED_DIFFS;
    if (!Number.isInteger(levels) || levels < 1) throw new RangeError(`book depthLevels must be a positive integer, got ${levels}`);
    if (!(bps > 0 && bps < 10_000) || Math.abs(bps * 100 - Math.round(bps * 100)) > 1e-6) {
      throw new RangeError(`book depthBps must be within (0, 10000) in steps of 0.01, got ${bps}`);
    }
    if (opts.quoteDepth !== undefined && opts.quoteDepth !== 'bps' && opts.quoteDepth !== 'levels') {
      throw new RangeError(`book quoteDepth must be "bps" or "levels", got ${JSON.stringify(opts.quoteDepth)}`);
    }
    if (!Number.isInteger(maxBuffered) || maxBuffered < 1) throw new RangeError(`book maxBufferedDiffs must be a positive integer, got ${maxBuffered}`);
    this.symbol = symbol;
    // Both sides in blocks lent by the process's WebAssembly module when it has two free, else in blocks of their own.
    this.#wasmAllowed = opts.wasm !== false;
    const w = opts.wasm === false ? undefined : sharedBinanceWasm();
    const bidBlock = w ? w.acquireSide() : -1;
    const askBlock = bidBlock >= 0 ? w!.acquireSide() : -1;
    if (askBlock >= 0) {
      this.bids = new BookSide({ negative: true, block: { buffer: w!.buffer, offset: bidBlock, slots: DEFAULT_WINDOW_SLOTS }, kernel: w });
      this.asks = new BookSide({ block: { buffer: w!.buffer, offset: askBlock, slots: DEFAULT_WINDOW_SLOTS }, kernel: w });
      this.#w = w;
      this.#bookDerive = w!.x.book_derive;
      LENT.register(this.bids, { w: w!, offset: bidBlock }, this.bids);
      LENT.register(this.asks, { w: w!, offset: askBlock }, this.asks);
    } else {
      if (bidBlock >= 0) w!.releaseSide(bidBlock);
      this.bids = new BookSide({ negative: true });
      this.asks = new BookSide();
      this.#w = undefined;
      this.#bookDerive = undefined;
    }
    this.depthLevels = levels;
    this.depthBps = bps;
    this.#bandBelow = BAND_DENOMINATOR - Math.round(bps * 100);
    this.#bandAbove = BAND_DENOMINATOR + Math.round(bps * 100);
    this.#depthByBps = (opts.quoteDepth ?? 'bps') === 'bps';
    this.#maxBuffered = maxBuffered;
    this.stats = {
      symbol, state: 'empty', snapshots: 0, snapshotsIgnored: 0,
      diffs: { applied: 0, buffered: 0, dropped: 0, discarded: 0 },
      gaps: 0, gapList: [], stale: [], firstLiveLine: undefined, crossed: 0, bidLevels: 0, askLevels: 0,
    };
  }

  /** Back to a new book's state (no levels, no snapshot, counters at 0), keeping the memory it has grown. */
  reset(): void {
    this.bids.clear();
    this.asks.clear();
    this.#buffer.clear();
    this.updateId = NaN;
    this.futures = false;
    this.#pxDec = -1;
    this.#qtyDec = -1;
    this.#setState(EMPTY);
    this.#clearDerived();
    const st = this.stats;
    st.snapshots = st.snapshotsIgnored = st.gaps = st.crossed = st.bidLevels = st.askLevels = 0;
    st.diffs.applied = st.diffs.buffered = st.diffs.dropped = st.diffs.discarded = 0;
    st.gapList.length = 0;
    st.stale.length = 0;
    st.firstLiveLine = undefined;
  }

  /**
   * Give the WebAssembly module back the sides' blocks (the book carries on in TypeScript, unchanged): a reader does
   * at its end, so that the next file's books find blocks free. Idempotent.
   */
  release(): void {
    const w = this.#w;
    if (w === undefined) return;
    this.#w = undefined;
    this.#bookDerive = undefined;
    for (const side of [this.bids, this.asks]) {
      const offset = side.blockOffset;
      side.detach();
      LENT.unregister(side);
      w.releaseSide(offset);
    }
  }

  /**
   * Take two blocks from the WebAssembly module again after release(), when it has them free and the book was not made
   * with `wasm: false`: its kernels then do the common work again (a reader does for the books a BinanceSession
   * carries into its file). The levels are moved, unchanged. Idempotent.
   */
  adopt(): void {
    if (this.#w !== undefined || !this.#wasmAllowed) return;
    const w = sharedBinanceWasm();
    if (w === undefined) return;
    const bidBlock = w.acquireSide();
    if (bidBlock < 0) return;
    const askBlock = w.acquireSide();
    if (askBlock < 0) { w.releaseSide(bidBlock); return; }
    this.bids.adopt({ buffer: w.buffer, offset: bidBlock, slots: DEFAULT_WINDOW_SLOTS }, w);
    this.asks.adopt({ buffer: w.buffer, offset: askBlock, slots: DEFAULT_WINDOW_SLOTS }, w);
    this.#w = w;
    this.#bookDerive = w.x.book_derive;
    LENT.register(this.bids, { w, offset: bidBlock }, this.bids);
    LENT.register(this.asks, { w, offset: askBlock }, this.asks);
  }

  /** Whether the sides live in the WebAssembly module's memory (its kernels then do the common work). */
  get wasm(): boolean { return this.#w !== undefined; }

  get state(): BookState { return BOOK_STATES[this.#state]; }
  get live(): boolean { return this.#state === LIVE; }
  /** Diffs waiting for a snapshot. */
  get buffered(): number { return this.#buffer.n; }
  /** Decimals of a tick and a lot. */
  get priceDecimals(): number { return this.#pxDec; }
  get sizeDecimals(): number { return this.#qtyDec; }

  /** (bid - ask) / (bid + ask) of the best levels' sizes, of the depth within N levels, and within N bps. */
  get imbalanceTop(): number { return imbalance(this.bestBidSize, this.bestAskSize); }
  get imbalanceLevels(): number { return imbalance(this.bidDepthLevels, this.askDepthLevels); }
  get imbalanceBps(): number { return imbalance(this.bidDepthBps, this.askDepthBps); }

  /** Whether a diff waiting in the buffer covers the update after `lastUpdateId`: a snapshot then belongs here. */
  bufferCovers(lastUpdateId: number): boolean { return this.#buffer.covers(lastUpdateId); }

  /**
   * Load a REST snapshot and replay the buffered diffs through it. Returns DIFF_APPLIED when the book is live
   * afterwards (a buffered diff continued the snapshot), DIFF_BUFFERED when it waits for the diff that continues
   * it, DIFF_GAP when the diffs do not continue it (stale), DIFF_DROPPED when it was ignored: a live book ignores a
   * snapshot it is already past.
   */
  applySnapshot(lastUpdateId: number, bids: Levels, asks: Levels, line: number): number {
    if (this.#state === LIVE && lastUpdateId <= this.updateId) {
      this.stats.snapshotsIgnored++;
      return DIFF_DROPPED;
    }
    this.#line = line;
    this.bids.clear();
    this.asks.clear();
    this.#pxDec = -1;
    this.#qtyDec = -1;
    const ok = this.#apply(this.bids, bids, 0, bids.n, true) && this.#apply(this.asks, asks, 0, asks.n, false);
    this.stats.snapshots++;
    if (!ok) {
      // The buffered diffs stay: a later snapshot may still use them.
      return this.#stale(line, 'precision', NaN, NaN);
    }
    this.updateId = lastUpdateId;
    this.#setState(SYNCING);
    this.#clearDerived();
    // Replay what waited for this snapshot, in arrival order.
    const buf = this.#buffer;
    for (let i = 0; i < buf.n; i++) {
      this.#first = buf.first[i];
      this.#last = buf.last[i];
      this.#prev = buf.prev[i];
      const r = this.#next(buf.line[i], buf.pool, buf.bidFrom[i], buf.bidN[i], buf.pool, buf.askFrom[i], buf.askN[i]);
      if (r === DIFF_GAP) {
        // Stale again: the diff that broke the chain and those after it wait for a later snapshot.
        buf.dropOldest(i);
        return DIFF_GAP;
      }
    }
    buf.clear();
    return this.#state === LIVE ? DIFF_APPLIED : DIFF_BUFFERED;
  }

  /**
   * A diff: U (first), u (last), pu (prev; NaN on spot) and its levels. Returns DIFF_APPLIED (the book is live and
   * changed: derived values are fresh), DIFF_BUFFERED (waiting for a snapshot), DIFF_DROPPED (older than the
   * snapshot) or DIFF_GAP (it does not follow: the book is now stale).
   */
  applyDiff(first: number, last: number, prev: number, bids: Levels, asks: Levels, line: number): number {
    this.#first = first;
    this.#last = last;
    this.#prev = prev;
    return this.#diff(bids, asks, line);
  }

  /** applyDiff with U, u and pu read from a parsed message (a ParsedMessage is one): what the reader calls. */
  applyDiffMessage(m: DepthMessage, line: number): number {
    // Through fields, not arguments: a double passed to a call that is not inlined is boxed, once per diff.
    this.#first = m.firstUpdateId;
    this.#last = m.updateId;
    this.#prev = m.prevUpdateId;
    return this.#diff(m.bids, m.asks, line);
  }

  /** The diff in #first / #last / #prev with these levels. */
  #diff(bids: Levels, asks: Levels, line: number): number {
    if (this.#prev === this.#prev) this.futures = true;
    this.#line = line;
    if (this.#state === EMPTY || this.#state === STALE) {
      this.#bufferDiff(line, bids, asks);
      return DIFF_BUFFERED;
    }
    const r = this.#next(line, bids, 0, bids.n, asks, 0, asks.n);
    // The diff that broke the chain may be the one a later snapshot starts from: keep it.
    if (r === DIFF_GAP) this.#bufferDiff(line, bids, asks);
    return r;
  }

  /** The next diff (U, u, pu in #first, #last, #prev) of a syncing or live book. */
  #next(line: number, bidSrc: LevelSource, bidFrom: number, bidN: number, askSrc: LevelSource, askFrom: number, askN: number): number {
    const id = this.updateId;
    const first = this.#first, prev = this.#prev;
    if (this.#state === SYNCING) {
      if (this.#last <= id) { this.stats.diffs.dropped++; return DIFF_DROPPED; }
      if (!(first <= id + 1 || (prev === prev && prev === id))) {
        return this.#stale(line, 'snapshot', id + 1, first);
      }
    } else if (prev === prev) {
      if (prev !== id) return this.#stale(line, 'pu', id, prev);
    } else if (first !== id + 1) {
      return this.#stale(line, 'U', id + 1, first);
    }
    if (!this.#apply(this.bids, bidSrc, bidFrom, bidN, true) || !this.#apply(this.asks, askSrc, askFrom, askN, false)) {
      return this.#stale(line, 'precision', NaN, NaN);
    }
    this.updateId = this.#last;
    if (this.#state === SYNCING) {
      this.#setState(LIVE);
      this.stats.firstLiveLine ??= this.#line;
    }
    this.stats.diffs.applied++;
    this.#derive();
    return DIFF_APPLIED;
  }

  /** Record a gap and mark the book stale (its levels are kept but no longer read); returns DIFF_GAP. */
  #stale(line: number, kind: BookGap['kind'], expected: number, got: number): number {
    this.stats.gaps++;
    if (this.stats.gapList.length < GAPS_KEPT) this.stats.gapList.push({ line, kind, expected, got });
    this.#setState(STALE);
    this.#clearDerived();
    return DIFF_GAP;
  }

  #bufferDiff(line: number, bids: Levels, asks: Levels): void {
    if (this.#buffer.n >= this.#maxBuffered) {
      // The oldest half goes: a snapshot is always newer than the diffs it needs, so the newest matter.
      const k = this.#buffer.n - (this.#maxBuffered >> 1);
      this.#buffer.dropOldest(k);
      this.stats.diffs.discarded += k;
    }
    this.#buffer.add(this.#first, this.#last, this.#prev, line, bids, asks);
    this.stats.diffs.buffered++;
  }

  #setState(s: number): void {
    this.#state = s;
    this.stats.state = BOOK_STATES[s];
  }

  /** Set levels [from, from + n) of `src` into a side; false when a price or size cannot be held exactly. */
  #apply(side: BookSide, src: LevelSource, from: number, n: number, negate: boolean): boolean {
    const pm = src.pxMant, pd = src.pxDec, qm = src.qtyMant, qd = src.qtyDec;
    const sign = negate ? -1 : 1;
    // The side converts and sets the levels itself while their decimals are the book's (a call per level cost more
    // than the level). A level with other decimals takes the slow path here, which may rescale the book; every level
    // is set in the units of its moment, as one by one.
    for (let i = from, end = from + n; i < end; i++) {
      i = side.applyDecimal(pm, pd, qm, qd, i, end, sign, this.#pxDec, this.#qtyDec);
      if (i === end) break;
      const q = qm[i];
      const lots = q === 0 || qd[i] === this.#qtyDec ? q : this.#lots(q, qd[i]);
      const key = pd[i] === this.#pxDec ? pm[i] : this.#ticks(pm[i], pd[i]);
      if (key !== key || lots !== lots) return false;
      side.set(sign * key, lots);
    }
    this.stats.bidLevels = this.bids.length;
    this.stats.askLevels = this.asks.length;
    return true;
  }

  /** A price m / 10^k in the book's ticks; rescales the book to k decimals when m has a finer tick; NaN if inexact. */
  #ticks(m: number, k: number): number {
    const d = this.#pxDec;
    if (k === d) return m;
    if (d < 0) { this.#pxDec = k; this.#pxScale = POW10[k]; return m; }
    if (k < d) {
      const t = m * POW10[d - k];
      return t <= Number.MAX_SAFE_INTEGER ? t : NaN;
    }
    const f = POW10[k - d];
    if (m % f === 0) return m / f;
    if (!this.#rescale(f, 1)) return NaN;
    this.#pxDec = k;
    this.#pxScale = POW10[k];
    return m;
  }

  #lots(m: number, k: number): number {
    const d = this.#qtyDec;
    if (k === d) return m;
    if (d < 0) { this.#qtyDec = k; this.#qtyScale = POW10[k]; return m; }
    if (k < d) {
      const t = m * POW10[d - k];
      return t <= Number.MAX_SAFE_INTEGER ? t : NaN;
    }
    const f = POW10[k - d];
    if (m % f === 0) return m / f;
    if (!this.#rescale(1, f)) return NaN;
    this.#qtyDec = k;
    this.#qtyScale = POW10[k];
    return m;
  }

  /** Finer ticks or lots for the whole book; false when the largest key or total would no longer be exact. */
  #rescale(keyFactor: number, sizeFactor: number): boolean {
    const maxKey = Math.max(this.bids.maxAbsKey(), this.asks.maxAbsKey());
    if (maxKey * keyFactor > Number.MAX_SAFE_INTEGER) return false;
    if (Math.max(this.bids.total, this.asks.total) * sizeFactor > Number.MAX_SAFE_INTEGER) return false;
    this.bids.rescale(keyFactor, sizeFactor);
    this.asks.rescale(keyFactor, sizeFactor);
    return true;
  }

  #clearDerived(): void {
    this.bestBid = this.bestBidSize = this.bestAsk = this.bestAskSize = NaN;
    this.bidDepthLevels = this.askDepthLevels = this.bidDepthBps = this.askDepthBps = NaN;
    this.bidDepth = this.askDepth = NaN;
    this.crossed = false;
  }

  /** Everything a quote reads, once per change. */
  #derive(): void {
    const w = this.#w;
    if (w !== undefined) { this.#deriveWasm(w); return; }
    const bids = this.bids, asks = this.asks;
    if (bids.length === 0 || asks.length === 0) { this.#clearDerived(); return; }
    const px = this.#pxScale, qty = this.#qtyScale;
    const bidKey = -bids.bestKey, askKey = asks.bestKey;
    this.bestBid = bidKey / px;
    this.bestBidSize = bids.bestSize / qty;
    this.bestAsk = askKey / px;
    this.bestAskSize = asks.bestSize / qty;
    this.crossed = bidKey >= askKey;
    if (this.crossed) this.stats.crossed++;
    this.bidDepthLevels = bids.sumBest(this.depthLevels) / qty;
    this.askDepthLevels = asks.sumBest(this.depthLevels) / qty;
    // In ticks, with s = bid + ask and D = 2 * 10^6: a bid is in when price >= s * (10^6 - 100 bps) / D, an ask when
    // price <= s * (10^6 + 100 bps) / D. The bounds are rounded to whole ticks exactly (prices are whole ticks).
    const s = bidKey + askKey;
    // Bids are stored negated: price >= lo is -price <= -lo.
    this.bidDepthBps = bids.sumUpTo(-ceilMulDiv(s, this.#bandBelow)) / qty;
    this.askDepthBps = asks.sumUpTo(floorMulDiv(s, this.#bandAbove)) / qty;
    if (this.#depthByBps) { this.bidDepth = this.bidDepthBps; this.askDepth = this.askDepthBps; }
    else { this.bidDepth = this.bidDepthLevels; this.askDepth = this.askDepthLevels; }
  }

  /**
   * #derive by the module's kernel (assembly/book-window.ts book_derive: the same operations on the same blocks); a sum
   * that may reach a side's B+tree tail is redone here by the side itself (its window part the same, the prefix sum
   * already moved).
   */
  #deriveWasm(w: BinanceWasm): void {
    const qty = this.#qtyScale;
    const flags = this.#bookDerive!(this.bids.blockOffset, this.asks.blockOffset, this.depthLevels, this.#bandBelow, this.#bandAbove, this.#pxScale, qty, w.derive);
    if (flags & D_EMPTY) { this.#clearDerived(); return; }
    const d = w.derived;
    this.bestBid = d[0];
    this.bestBidSize = d[1];
    this.bestAsk = d[2];
    this.bestAskSize = d[3];
    this.crossed = (flags & D_CROSSED) !== 0;
    if (this.crossed) this.stats.crossed++;
    this.bidDepthLevels = flags & D_BID_BEST_TAIL ? this.bids.sumBest(this.depthLevels) / qty : d[4];
    this.askDepthLevels = flags & D_ASK_BEST_TAIL ? this.asks.sumBest(this.depthLevels) / qty : d[5];
    this.bidDepthBps = flags & D_BID_BAND_TAIL ? this.bids.sumUpTo(d[8]) / qty : d[6];
    this.askDepthBps = flags & D_ASK_BAND_TAIL ? this.asks.sumUpTo(d[9]) / qty : d[7];
    if (this.#depthByBps) { this.bidDepth = this.bidDepthBps; this.askDepth = this.askDepthBps; }
    else { this.bidDepth = this.bidDepthLevels; this.askDepth = this.askDepthLevels; }
  }
}

/** A side's lent block goes back to the module when the side is collected without release(). */
const LENT = new FinalizationRegistry<{ w: BinanceWasm; offset: number }>(({ w, offset }) => w.releaseSide(offset));

const BAND_DENOMINATOR = 1_000_000;
const BAND_D = 2 * BAND_DENOMINATOR;

/**
 * floor(s * c / BAND_D) exactly for integers s < 2^53 and c < 2 * 10^6, where s * c itself may not be exact in a
 * double: s = q * D + r, so s * c / D = q * c + r * c / D, with q * c and r * c both below 2^53.
 */
function floorMulDiv(s: number, c: number): number {
  const q = quotient(s);
  // r * c / D is off an integer by at least 1 / D when it is not one: far more than its rounding error.
  return q * c + Math.floor(((s - q * BAND_D) * c) / BAND_D);
}

/** ceil(s * c / BAND_D) exactly, as floorMulDiv. */
function ceilMulDiv(s: number, c: number): number {
  const q = quotient(s);
  return q * c + Math.ceil(((s - q * BAND_D) * c) / BAND_D);
}

/** floor(s / BAND_D), corrected where the rounded division lands on the wrong side of an integer (s near 2^53). */
function quotient(s: number): number {
  let q = Math.floor(s / BAND_D);
  const r = s - q * BAND_D;
  if (r < 0) q--;
  else if (r >= BAND_D) q++;
  return q;
}

function imbalance(b: number, a: number): number {
  return (b - a) / (b + a);
}


/** One book for the module's lifetime, so that the class's hidden class outlives every reader (see ladder.ts). */
export const KEEP_ALIVE: readonly OrderBook[] = [new OrderBook('', { wasm: false })];
