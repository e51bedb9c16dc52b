// The tests' oracles for the Binance adapter. The order book (src/adapters/book.ts) against the plainest book that
// can be right: levels in a Map keyed by the exact price (bigint, 18 decimals), sorted when asked, sizes summed
// exactly in bigint, the sync rules written out as Binance states them; nothing shared with the code under test
// but the parsed messages. The byte scanner against parseJsonMessage, compared field by field.
import {
  MSG_DEPTH, MSG_MARK, MSG_QUOTE, MSG_SKIP, MSG_SNAPSHOT, MSG_TRADE, newParsedMessage, parseJsonMessage,
  type Levels, type ParsedMessage,
} from '../src/adapters/binance-message.js';
import type { BinanceScanner } from '../src/adapters/binance-scan.js';

const SCALE = 18;
const ONE = 10n ** BigInt(SCALE);

/** An exact decimal m / 10^k as a bigint with SCALE decimals. */
export function fixed(mant: number, dec: number): bigint {
  return BigInt(mant) * 10n ** BigInt(SCALE - dec);
}

/** The double nearest an exact SCALE-decimal value (JavaScript parses decimal strings to the nearest double). */
export function toNumber(x: bigint): number {
  const neg = x < 0n;
  const a = neg ? -x : x;
  return Number(`${neg ? '-' : ''}${a / ONE}.${(a % ONE).toString().padStart(SCALE, '0')}`);
}

export class NaiveBook {
  readonly bids = new Map<bigint, bigint>();
  readonly asks = new Map<bigint, bigint>();
  /** 'empty' until a snapshot, then 'syncing' until the first diff that continues it, 'live', or 'stale'. */
  state: 'empty' | 'syncing' | 'live' | 'stale' = 'empty';
  lastId = 0;
  readonly buffer: { U: number; u: number; pu: number; bids: [bigint, bigint][]; asks: [bigint, bigint][] }[] = [];

  static levels(l: Levels): [bigint, bigint][] {
    const out: [bigint, bigint][] = [];
    for (let i = 0; i < l.n; i++) out.push([fixed(l.pxMant[i], l.pxDec[i]), fixed(l.qtyMant[i], l.qtyDec[i])]);
    return out;
  }

  snapshot(lastUpdateId: number, bids: Levels, asks: Levels): void {
    this.bids.clear();
    this.asks.clear();
    for (const [p, q] of NaiveBook.levels(bids)) if (q > 0n) this.bids.set(p, q);
    for (const [p, q] of NaiveBook.levels(asks)) if (q > 0n) this.asks.set(p, q);
    this.lastId = lastUpdateId;
    this.state = 'syncing';
    const waiting = this.buffer.splice(0);
    for (const d of waiting) this.#diff(d.U, d.u, d.pu, d.bids, d.asks);
  }

  diff(U: number, u: number, pu: number, bids: Levels, asks: Levels): void {
    this.#diff(U, u, pu, NaiveBook.levels(bids), NaiveBook.levels(asks));
  }

  #diff(U: number, u: number, pu: number, bids: [bigint, bigint][], asks: [bigint, bigint][]): void {
    if (this.state === 'empty' || this.state === 'stale') { this.buffer.push({ U, u, pu, bids, asks }); return; }
    if (this.state === 'syncing') {
      // "Drop any event where u is <= lastUpdateId"; the first one kept must cover lastUpdateId + 1 (or, on
      // futures, name it as its previous).
      if (u <= this.lastId) return;
      if (!(U <= this.lastId + 1 && u >= this.lastId + 1) && !(!Number.isNaN(pu) && pu === this.lastId)) { this.state = 'stale'; this.buffer.push({ U, u, pu, bids, asks }); return; }
      this.state = 'live';
    } else if (!Number.isNaN(pu) ? pu !== this.lastId : U !== this.lastId + 1) {
      this.state = 'stale';
      this.buffer.push({ U, u, pu, bids, asks });
      return;
    }
    for (const [p, q] of bids) { if (q === 0n) this.bids.delete(p); else this.bids.set(p, q); }
    for (const [p, q] of asks) { if (q === 0n) this.asks.delete(p); else this.asks.set(p, q); }
    this.lastId = u;
  }

  /** Levels best first. */
  sorted(side: 'bids' | 'asks'): [bigint, bigint][] {
    const levels = [...this[side]];
    return levels.sort((a, b) => (side === 'bids' ? (a[0] > b[0] ? -1 : a[0] < b[0] ? 1 : 0) : (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  }

  /** Everything the book derives, from one sort per side. */
  summary(levels: number, bps: number): Record<string, number> {
    const bids = this.sorted('bids'), asks = this.sorted('asks');
    const h = BigInt(Math.round(bps * 100));
    const s = bids[0][0] + asks[0][0];
    const sum = (xs: [bigint, bigint][]) => toNumber(xs.reduce((a, [, q]) => a + q, 0n));
    return {
      bestBid: toNumber(bids[0][0]), bestBidSize: toNumber(bids[0][1]), bestAsk: toNumber(asks[0][0]), bestAskSize: toNumber(asks[0][1]),
      bidDepthLevels: sum(bids.slice(0, levels)), askDepthLevels: sum(asks.slice(0, levels)),
      bidDepthBps: sum(bids.filter(([p]) => p * 2_000_000n >= s * (1_000_000n - h))),
      askDepthBps: sum(asks.filter(([p]) => p * 2_000_000n <= s * (1_000_000n + h))),
    };
  }

  best(side: 'bids' | 'asks'): { price: number; size: number } {
    const [p, q] = this.sorted(side)[0];
    return { price: toNumber(p), size: toNumber(q) };
  }

  /** Summed size of the best n levels. */
  depthLevels(side: 'bids' | 'asks', n: number): number {
    return toNumber(this.sorted(side).slice(0, n).reduce((s, [, q]) => s + q, 0n));
  }

  /**
   * Summed size of the levels within `bps` of the mid: bids priced >= mid (1 - bps / 10^4), asks <= mid (1 + bps /
   * 10^4), compared exactly: price * 2 * 10^4 against (best bid + best ask) * (10^4 -/+ bps), bps in hundredths.
   */
  depthBps(side: 'bids' | 'asks', bps: number): number {
    const bid = this.sorted('bids')[0][0], ask = this.sorted('asks')[0][0];
    const h = BigInt(Math.round(bps * 100));
    const s = bid + ask;
    let sum = 0n;
    for (const [p, q] of this[side]) {
      const inside = side === 'bids' ? p * 2_000_000n >= s * (1_000_000n - h) : p * 2_000_000n <= s * (1_000_000n + h);
      if (inside) sum += q;
    }
    return toNumber(sum);
  }
}

// ---- Parsers ----------------------------------------------------------------------------------------------------
const levels = (l: Levels) => Array.from({ length: l.n }, (_, i) => [l.pxMant[i], l.pxDec[i], l.qtyMant[i], l.qtyDec[i]]);

/** What a parse of `kind` defines, as a plain object (NaN and -0 compared exactly by toEqual). */
export function view(kind: number, m: ParsedMessage): Record<string, unknown> {
  switch (kind) {
    case MSG_TRADE: return { kind, symbol: m.symbol, price: m.price, size: m.size, side: m.side, tradeId: m.tradeId };
    case MSG_QUOTE: return { kind, symbol: m.symbol, bid: m.bid, bidSize: m.bidSize, ask: m.ask, askSize: m.askSize, updateId: m.updateId };
    case MSG_DEPTH: return { kind, symbol: m.symbol, U: m.firstUpdateId, u: m.updateId, pu: m.prevUpdateId, what: m.what, bids: levels(m.bids), asks: levels(m.asks) };
    case MSG_SNAPSHOT: return { kind, symbol: m.symbol, u: m.updateId, what: m.what, bids: levels(m.bids), asks: levels(m.asks) };
    case MSG_MARK: return { kind, symbol: m.symbol, mark: m.mark, index: m.index, funding: m.funding };
    case MSG_SKIP: return { kind, what: m.what };
    default: return { kind, what: m.what, detail: m.detail };
  }
}

/** Both parsers on the message of one line (after its first space); returns their views. */
export function both(scanner: BinanceScanner, line: string): { fast: Record<string, unknown>; json: Record<string, unknown> } {
  const bytes = Buffer.from(line, 'utf8');
  const space = bytes.indexOf(32);
  const a = newParsedMessage(), b = newParsedMessage();
  const fast = view(scanner.parse(bytes, space + 1, bytes.length, a), a);
  const json = view(parseJsonMessage(line, line.indexOf(' ') + 1, b), b);
  return { fast, json };
}

