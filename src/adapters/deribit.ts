// Deribit captures -> canonical events. The layout is that of a recording feed handler (cryptofeed's raw data
// files, as in ../shared/data/deribit), one message per line:
//
//   wss://www.deribit.com/ws/api/v2 <-> 1626993723.424371                     connection opened: skipped
//   wss://www.deribit.com/ws/api/v2 <- 1626993723.7145221: {"method":"public/subscribe",...}   request: skipped
//   1626993723.804855: {"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.ETH-...","data":{}}}
//   https://www.deribit.com/api/v2/public/get_instruments?currency=BTC -> 1626993723.13: {"result":[...]}
//   configuration: {...}                                                     the recorder's settings: skipped
//
// A bare JSON-RPC message without the `<time>: ` prefix is read too, and `<time> <json>` (a space, no colon: the
// layout of a Binance capture). Channels:
//
//   trades.<instrument>.<interval>  -> one trade event per trade: price, amount, direction buy +1 / sell -1 (the
//                                      taker's side). Sizes as Deribit gives them: options and linear contracts in
//                                      the underlying, inverse futures in USD.
//   ticker.<instrument>.<interval>  -> options: an option ticker event (mark_iv, underlying_price, mark_price,
//                                      bid_iv, ask_iv; IVs turned from Deribit's percent into fractions; and f5,
//                                      the neighbour IV: below);
//                                      futures and perpetuals: a mark event (mark_price, index_price, funding_8h,
//                                      else current_funding, else none); and a quote event from best_bid/ask
//                                      price and amount (see `tickerQuotes`).
//   quote.<instrument>              -> a quote event, like a ticker's.
//   book.<instrument>.<interval>    -> a local book (snapshot, then changes checked by prev_change_id) and one
//   book.<instrument>.<group>.<depth>.<interval>   quote event per message: the best levels, with the summed
//                                      size of the best `depthLevels` levels of each side as its depth.
//   any other channel               -> counted by channel and skipped.
//
// Listing responses (public/get_instruments) register every instrument they list, with its contract terms, in the
// InstrumentCatalog next to the Registry; they produce no events.
//
// Neighbour IV (option event field f5, `neighbourIv`): the mark IV the option's neighbours in strike put at its
// strike, for the regression-residual detector (docs/learned-kernels.md, "Regression residuals"): y = the option's mark
// IV, x = this. Per smile (options of one base, quote and settlement currency and one expiry, from the listing),
// the reader keeps every option's latest mark IV with its time. For a ticker of strike K at time t it takes the
// nearest strike below K and the nearest above K (other strikes, never K itself, so neither the option nor its
// put or call twin) that has a usable IV, and interpolates linearly in ln(strike):
//   w = ln(K / K_lo) / ln(K_hi / K_lo),   f5 = (1 - w) IV_lo + w IV_hi.
// Usable: seen strictly before t (a ticker at the same time as this one is not used, so that tickers of one time
// give the same f5 whatever their order in the file) and at most `neighbourMaxAgeMs` before t (default 60 s).
// Calls and puts are pooled by default (`neighbourTypes`): both give a strike's IV, the more recent one where both
// are usable, their mean at equal times. Otherwise NaN (absent): a wing (no usable strike on one side), an option
// the listing does not give strike, expiry and type for, or a mark IV that is not > 0. Only lines already read
// count: nothing from the future.
//
// Time: the receive time on the line (`auto` and `receive`), because it is monotonic over the whole capture. The
// exchange's own `timestamp` (ms) is not: in ../shared/data/deribit a book snapshot carries an older timestamp
// than the ticker of the same instrument received just before it (lines 17-23 go back by up to 2 s), so
// exchange time would make the engine reject those events as going back in time. A line without a receive time
// (a bare JSON message) is timed by the message's `timestamp` in `auto` mode.
import { Kind, type KindName } from '../abi.js';
import { EventBatch } from '../events.js';
import { InstrumentCatalog, type InstrumentInfo, type InstrumentKind } from '../instruments.js';
import { Registry } from '../registry.js';
import {
  batchedLines, countMalformed, countSkipped, decimalSecondsToNs, FIRST_LINES_KEPT, integerEpochToNs, msToNs, newReaderStats, show,
  type OnMalformed, type ReaderStats,
} from './common.js';

export const DERIBIT_MALFORMED_REASONS = ['badTimestamp', 'badJson', 'missingField', 'badNumber', 'badField', 'truncated', 'corrupt'] as const;
export type DeribitMalformedReason = (typeof DERIBIT_MALFORMED_REASONS)[number];

export interface DeribitStats extends ReaderStats {
  /** Instruments registered from listing (get_instruments) responses. */
  instruments: number;
  /** Events timed by the message's own timestamp because their line had no receive time. */
  exchangeTimed: number;
  /** Option events given a neighbour IV (f5); the others have NaN there. */
  neighbourIv: number;
  /**
   * Lines read as a message, by what they are: `book`, `ticker`, `trades`, `quote` (channel notifications, whether
   * or not they gave an event) and `listing` (get_instruments responses). With `ignoredLines`, the malformed lines
   * and the blank ones they make up `lines`.
   */
  messages: Record<string, number>;
  /** Lines recognised and skipped whole (connection, request, response, heartbeat, configuration, other channels). */
  ignoredLines: number;
  /**
   * Options with events whose strike, expiry and type no listing gave (no listing read, or one that does not list
   * them): they get no neighbour IV. `names` holds the first FIRST_LINES_KEPT.
   */
  optionsWithoutTerms: { count: number; names: string[] };
}

export interface DeribitOptions {
  /** Events per yielded batch (default 4096). */
  batchSize?: number;
  /** Maps instrument names to ids; share one across files and with the engine's user. A new one by default. */
  registry?: Registry;
  /** Contract terms from listings; must use the same registry. A new one by default. */
  catalog?: InstrumentCatalog;
  /** Prefix of instrument names: `deribit` names BTC-PERPETUAL `deribit:BTC-PERPETUAL`. None by default. */
  market?: string;
  /** Reuse one EventBatch for every yield (default): consume each batch before asking for the next. */
  reuseBatch?: boolean;
  onMalformed?: OnMalformed;
  /**
   * Event time: `auto` (default) the receive time on the line, else the message's timestamp; `receive` only the
   * receive time (a line without one is malformed); `exchange` always the message's timestamp (ms).
   */
  time?: 'auto' | 'receive' | 'exchange';
  /**
   * Quotes from tickers (and the `quote` channel): `auto` (default) until the instrument's first book message,
   * after which its book gives its quotes, with depth, and a ticker's copy of the same best bid and ask would only
   * count every quote twice; `always`; `never`.
   */
  tickerQuotes?: 'auto' | 'always' | 'never';
  /**
   * Levels per side summed into a book quote's depth (default 10). Levels, not a band of bps around the mid: an
   * option's spread is often wider than 1,000 bps (0.0015 / 0.0025 BTC), so a band of a few bps holds no level.
   */
  depthLevels?: number;
  /**
   * Neighbour IV (f5 of option events): how old, at most, a neighbour strike's mark IV may be, in ms of event time
   * (default 60,000: Deribit sends an option's ticker every 100 ms to a few s while its mark moves).
   */
  neighbourMaxAgeMs?: number;
  /**
   * Which options give a strike's IV for the neighbour IV: `pooled` (default) calls and puts alike (Deribit's
   * options are European, so by put-call parity a call and a put of one strike and expiry have one implied
   * volatility; Deribit marks both from one surface), `sameType` only options of the asking option's type.
   */
  neighbourTypes?: 'pooled' | 'sameType';
}

type Json = Record<string, unknown>;

/** The receive time of a line is unusable (not an epoch of this century): time the message by its own. */
const UNUSABLE = -1n;
/** The receive-time token is not a number at all: the line's layout is broken. */
const NOT_A_TIME = -2n;
/** 2000-01-01 in ns: anything earlier is not a receive time of a crypto capture. */
const MIN_RECEIVE_NS = 946_684_800_000_000_000n;

/** The receive time token of a line as ns: decimal seconds (`1626993723.804318`) or an integer s/ms/us/ns epoch. */
export function deribitReceiveNs(token: string): bigint {
  if (!/^\d+(\.\d+)?$/.test(token)) return NOT_A_TIME;
  const ns = token.includes('.') ? decimalSecondsToNs(token) : integerEpochToNs(token);
  return ns >= MIN_RECEIVE_NS ? ns : UNUSABLE;
}

/** One side of a local order book: prices sorted best first, sizes beside them. */
class BookSide {
  prices: number[] = [];
  sizes: number[] = [];
  readonly #bids: boolean;
  constructor(bids: boolean) { this.#bids = bids; }

  /** Index of `price`, or of where it would go, by binary search (bids descending, asks ascending). */
  #find(price: number): number {
    let lo = 0, hi = this.prices.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.prices[mid];
      if (this.#bids ? p > price : p < price) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  set(price: number, size: number): void {
    const i = this.#find(price);
    if (this.prices[i] === price) {
      if (size > 0) this.sizes[i] = size; else { this.prices.splice(i, 1); this.sizes.splice(i, 1); }
    } else if (size > 0) {
      this.prices.splice(i, 0, price);
      this.sizes.splice(i, 0, size);
    }
  }
  clear(): void { this.prices.length = 0; this.sizes.length = 0; }
  depth(levels: number): number {
    let sum = 0;
    for (let i = 0, n = Math.min(levels, this.sizes.length); i < n; i++) sum += this.sizes[i];
    return sum;
  }
}

interface Book {
  bids: BookSide;
  asks: BookSide;
  /** change_id of the last message applied. */
  changeId: number;
  /** `live` after a snapshot; `gap` after a change that did not follow, until the next snapshot. */
  state: 'live' | 'gap' | 'none';
}

interface Instrument {
  id: number;
  symbol: string;
  book: Book | undefined;
  /** Options: its smile, its strike there and its IV record, once the listing gave strike, expiry and type. */
  smile: Smile | undefined;
  /** Counted in stats.optionsWithoutTerms already. */
  termsMissing: boolean;
  strike: Strike | undefined;
  iv: IvRecord | undefined;
  isCall: boolean;
}

/**
 * The latest mark IV of one option and its time (ns), and the one before it, of an earlier time: what a ticker at
 * the same time as the latest one sees (only strictly earlier IVs count). Times -1n: none.
 */
class IvRecord {
  iv = NaN;
  ts = -1n;
  prevIv = NaN;
  prevTs = -1n;

  /** Record the IV of time t (a time before the latest is ignored: the engine rejects such an event anyway). */
  set(iv: number, t: bigint): void {
    if (t > this.ts) {
      this.prevIv = this.iv;
      this.prevTs = this.ts;
      this.ts = t;
    } else if (t < this.ts) {
      return;
    }
    this.iv = iv;
  }
}

/** One strike of a smile: the call's and the put's IV records. */
interface Strike {
  strike: number;
  call: IvRecord | undefined;
  put: IvRecord | undefined;
}

/** The strikes of one smile, ascending. */
class Smile {
  readonly strikes: Strike[] = [];

  /** Where a strike is, or would go. */
  find(strike: number): number {
    const a = this.strikes;
    let lo = 0, hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid].strike < strike) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** The entry of a strike, added in order when new. */
  at(strike: number): Strike {
    const a = this.strikes;
    const lo = this.find(strike);
    if (lo < a.length && a[lo].strike === strike) return a[lo];
    const e: Strike = { strike, call: undefined, put: undefined };
    a.splice(lo, 0, e);
    return e;
  }
}

/** What #usable leaves: the IV a strike gives. */
let usableIv = NaN;

/** A parse problem: the line is counted as malformed with this reason and detail. */
class Malformed {
  constructor(readonly reason: DeribitMalformedReason, readonly detail: string) {}
}

/** A required number (or numeric string): throws Malformed when missing or not a number. */
function need(d: Json, key: string, what: string): number {
  const v = d[key];
  if (v === undefined || v === null) throw new Malformed('missingField', `${what} field "${key}" is missing`);
  const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? +v : NaN;
  if (!Number.isFinite(x)) throw new Malformed('badNumber', `${what} field "${key}" is not a number: ${show(v)}`);
  return x;
}

/** An optional number: NaN when absent or null; throws Malformed when present but not a number. */
function opt(d: Json, key: string, what: string): number {
  const v = d[key];
  return v === undefined || v === null ? NaN : need(d, key, what);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const ARROWS = new Set(['<-', '->', '<->']);

/** Kind id -> its name in ReaderStats.events. */
const KIND_NAMES = Object.fromEntries(Object.entries(Kind).map(([name, id]) => [id, name])) as Record<number, KindName>;

/**
 * A streaming reader of one Deribit capture or listing file (gzip or plain): `for await (const batch of reader)`
 * yields EventBatch chunks; `stats` counts events, skipped messages, book gaps and malformed lines as it goes.
 */
export class DeribitReader implements AsyncIterable<EventBatch> {
  readonly path: string;
  readonly registry: Registry;
  readonly catalog: InstrumentCatalog;
  readonly stats: DeribitStats;
  readonly #batchSize: number;
  readonly #market: string | undefined;
  readonly #reuse: boolean;
  readonly #onMalformed: OnMalformed | undefined;
  readonly #time: 'auto' | 'receive' | 'exchange';
  readonly #tickerQuotes: 'auto' | 'always' | 'never';
  readonly #depthLevels: number;
  readonly #instruments = new Map<string, Instrument>();
  readonly #neighbourMaxAgeNs: bigint;
  readonly #pooled: boolean;
  /** Smiles by base/quote/settlement/expiry. */
  readonly #smiles = new Map<string, Smile>();
  #batch: EventBatch;
  /** Receive time of the line being read: ns, or UNUSABLE. */
  #recvNs = UNUSABLE;
  /** What the line being read is, once known: a key of stats.messages, or '' (a line skipped whole). */
  #lineType = '';

  constructor(path: string, opts: DeribitOptions = {}) {
    const batchSize = opts.batchSize ?? 4096;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const depthLevels = opts.depthLevels ?? 10;
    if (!(depthLevels >= 1)) throw new RangeError(`depthLevels must be at least 1, got ${depthLevels}`);
    const maxAgeMs = opts.neighbourMaxAgeMs ?? 60_000;
    if (!(maxAgeMs >= 0 && maxAgeMs <= 1e12)) throw new RangeError(`neighbourMaxAgeMs must be a number of ms from 0 to 1e12, got ${maxAgeMs}`);
    const types = opts.neighbourTypes ?? 'pooled';
    if (types !== 'pooled' && types !== 'sameType') throw new RangeError(`neighbourTypes must be "pooled" or "sameType", got ${JSON.stringify(types)}`);
    this.#neighbourMaxAgeNs = BigInt(Math.round(maxAgeMs * 1e6));
    this.#pooled = types === 'pooled';
    this.path = path;
    this.registry = opts.catalog?.registry ?? opts.registry ?? new Registry();
    if (opts.registry && opts.registry !== this.registry) throw new Error('deribit: the catalog must use the registry given');
    this.catalog = opts.catalog ?? new InstrumentCatalog(this.registry);
    this.#batchSize = batchSize;
    this.#market = opts.market;
    this.#reuse = opts.reuseBatch ?? true;
    this.#onMalformed = opts.onMalformed;
    this.#time = opts.time ?? 'auto';
    this.#tickerQuotes = opts.tickerQuotes ?? 'auto';
    this.#depthLevels = depthLevels;
    this.#batch = new EventBatch(batchSize);
    this.stats = {
      ...newReaderStats(), instruments: 0, exchangeTimed: 0, neighbourIv: 0, messages: {}, ignoredLines: 0,
      optionsWithoutTerms: { count: 0, names: [] },
    };
  }

  #name(symbol: string): string { return this.#market ? `${this.#market}:${symbol}` : symbol; }

  #instrument(symbol: string): Instrument {
    let inst = this.#instruments.get(symbol);
    if (inst === undefined) {
      inst = {
        id: this.registry.id(this.#name(symbol)), symbol, book: undefined, smile: undefined, termsMissing: false,
        strike: undefined, iv: undefined, isCall: false,
      };
      this.#instruments.set(symbol, inst);
    }
    return inst;
  }

  /** Option or not: from the listing when it was read, else from the message (only option tickers carry mark_iv). */
  #kind(inst: Instrument, d: Json): InstrumentKind {
    return this.catalog.get(inst.id)?.kind ?? ('mark_iv' in d ? 'option' : 'future');
  }

  /** Places an option in its smile when the listing gave its strike, expiry and type; false when it did not. */
  #placed(inst: Instrument): boolean {
    if (inst.strike !== undefined) return true;
    const info = this.catalog.get(inst.id);
    if (info === undefined || info.kind !== 'option' || info.strike === undefined || !(info.strike > 0)
      || info.expiryMs === undefined || info.optionType === undefined) return false;
    const key = `${info.base ?? ''}/${info.quote ?? ''}/${info.settlement ?? ''}/${info.expiryMs}`;
    let smile = this.#smiles.get(key);
    if (smile === undefined) this.#smiles.set(key, smile = new Smile());
    const strike = smile.at(info.strike);
    inst.iv = new IvRecord();
    inst.isCall = info.optionType === 'call';
    if (inst.isCall) strike.call = inst.iv; else strike.put = inst.iv;
    inst.smile = smile;
    inst.strike = strike;
    return true;
  }

  /**
   * The IV strike `e` gives at time t (into usableIv): from its call and put (or only `type`'s), the most
   * recent IV seen strictly before t and at most the maximum age old; the mean of the two at equal times. False
   * when there is none.
   */
  #usable(e: Strike, t: bigint, isCall: boolean): boolean {
    let iv = NaN, ts = -1n;
    for (let k = 0; k < 2; k++) {
      const r = k === 0 ? e.call : e.put;
      if (r === undefined || (!this.#pooled && (k === 0) !== isCall)) continue;
      let v: number, vt: bigint;
      if (r.ts >= 0n && r.ts < t) { v = r.iv; vt = r.ts; } else if (r.prevTs >= 0n && r.prevTs < t) { v = r.prevIv; vt = r.prevTs; } else continue;
      if (t - vt > this.#neighbourMaxAgeNs) continue;
      if (vt > ts) { iv = v; ts = vt; } else if (vt === ts) iv = (iv + v) / 2;
    }
    usableIv = iv;
    return ts >= 0n;
  }

  /** The neighbour IV of a placed option at time t (see the file's header); NaN when there is none. */
  #neighbourIv(inst: Instrument, t: bigint): number {
    const smile = inst.smile!.strikes, own = inst.strike!, isCall = inst.isCall;
    let i = inst.smile!.find(own.strike);
    let lo = -1, ivLo = NaN;
    for (let j = i - 1; j >= 0; j--) if (this.#usable(smile[j], t, isCall)) { lo = j; ivLo = usableIv; break; }
    if (lo < 0) return NaN;
    for (i = i + 1; i < smile.length; i++) {
      if (this.#usable(smile[i], t, isCall)) {
        const kLo = smile[lo].strike, kHi = smile[i].strike;
        const w = Math.log(own.strike / kLo) / Math.log(kHi / kLo);
        return (1 - w) * ivLo + w * usableIv;
      }
    }
    return NaN;
  }

  /** The time of an event whose message says `exchangeMs`. */
  #ts(exchangeMs: unknown): bigint {
    if (this.#time !== 'exchange' && this.#recvNs >= 0n) return this.#recvNs;
    if (this.#time === 'receive') throw new Malformed('badTimestamp', 'the line has no usable receive time');
    const ns = msToNs(exchangeMs);
    if (ns < 0n) {
      throw new Malformed('badTimestamp', exchangeMs === undefined
        ? 'no usable receive time on the line and no "timestamp" in the message'
        : `message "timestamp" is not an integer of ms: ${show(exchangeMs)}`);
    }
    if (this.#time === 'auto') this.stats.exchangeTimed++;
    return ns;
  }

  #count(ts: bigint): void {
    const s = this.stats;
    if (s.firstTsNs === undefined) s.firstTsNs = ts;
    s.lastTsNs = ts;
  }

  // ---- Channels ----------------------------------------------------------------------------------------------
  #trades(data: unknown): void {
    if (!Array.isArray(data)) throw new Malformed('badField', `trades "data" is not a list of trades: ${show(data)}`);
    // Check every trade before emitting any: a message is taken whole or not at all.
    const n = data.length;
    const ids = new Array<number>(n), ts = new Array<bigint>(n), prices = new Array<number>(n), sizes = new Array<number>(n), sides = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      const t = data[k] as unknown;
      if (!isObject(t)) throw new Malformed('badField', `trade ${k} is not an object: ${show(t)}`);
      const symbol = t.instrument_name;
      if (typeof symbol !== 'string' || symbol.length === 0) throw new Malformed('missingField', `trade ${k} has no "instrument_name"`);
      prices[k] = need(t, 'price', 'trade');
      sizes[k] = need(t, 'amount', 'trade');
      const dir = t.direction;
      if (dir !== 'buy' && dir !== 'sell') {
        throw dir === undefined || dir === null
          ? new Malformed('missingField', 'trade field "direction" is missing')
          : new Malformed('badField', `trade field "direction" is neither "buy" nor "sell": ${show(dir)}`);
      }
      // direction is the taker's: a buy lifted the offer, a buyer-initiated trade.
      sides[k] = dir === 'buy' ? 1 : -1;
      ts[k] = this.#ts(t.timestamp);
      ids[k] = this.#instrument(symbol).id;
    }
    for (let k = 0; k < n; k++) {
      this.#batch.trade(ids[k], ts[k], prices[k], sizes[k], sides[k]);
      this.#count(ts[k]);
    }
    this.stats.events.trade += n;
  }

  /** A quote from a best bid and ask summary (ticker or quote channel), unless a book gives this instrument's. */
  #summaryQuote(inst: Instrument, d: Json, ts: bigint): void {
    const bid = opt(d, 'best_bid_price', 'quote'), ask = opt(d, 'best_ask_price', 'quote');
    const bidSize = opt(d, 'best_bid_amount', 'quote'), askSize = opt(d, 'best_ask_amount', 'quote');
    if (this.#tickerQuotes === 'never') return;
    if (this.#tickerQuotes === 'auto' && inst.book !== undefined) { countSkipped(this.stats, 'tickerQuoteWithBook'); return; }
    // Deribit sends 0 (or null) for the price and amount of an empty side: no quote to make of it.
    if (!(bid > 0 && ask > 0 && bidSize > 0 && askSize > 0)) { countSkipped(this.stats, 'oneSidedTicker'); return; }
    this.#batch.quote(inst.id, ts, bid, bidSize, ask, askSize);
    this.stats.events.quote++;
    this.#count(ts);
  }

  #ticker(data: unknown): void {
    if (!isObject(data)) throw new Malformed('badField', `ticker "data" is not an object: ${show(data)}`);
    const d = data;
    const symbol = d.instrument_name;
    if (typeof symbol !== 'string' || symbol.length === 0) throw new Malformed('missingField', 'ticker field "instrument_name" is missing');
    const inst = this.#instrument(symbol);
    const ts = this.#ts(d.timestamp);
    let ivRecord: IvRecord | undefined, markIv = NaN, neighbourIv = NaN;
    if (this.#kind(inst, d) === 'option') {
      // Deribit gives implied volatilities in percent (mark_iv 80.02); the engine's IV is a fraction (0.8002),
      // the unit the ivChange feature's minScale is set in. A bid or ask IV of 0 is Deribit's "none" (no order
      // on that side, or no volatility solves its price), never a volatility: absent.
      markIv = need(d, 'mark_iv', 'option ticker') / 100;
      const bidIv = opt(d, 'bid_iv', 'option ticker'), askIv = opt(d, 'ask_iv', 'option ticker');
      const underlying = opt(d, 'underlying_price', 'option ticker'), markPrice = opt(d, 'mark_price', 'option ticker');
      if (this.#placed(inst)) {
        ivRecord = inst.iv;
        neighbourIv = this.#neighbourIv(inst, ts);
      } else if (!inst.termsMissing) {
        inst.termsMissing = true;
        const missing = this.stats.optionsWithoutTerms;
        missing.count++;
        if (missing.names.length < FIRST_LINES_KEPT) missing.names.push(inst.symbol);
      }
      this.#batch.push(Kind.option, inst.id, ts, markIv, underlying, markPrice, bidIv > 0 ? bidIv / 100 : NaN, askIv > 0 ? askIv / 100 : NaN, neighbourIv);
      this.stats.events.option++;
    } else {
      const mark = need(d, 'mark_price', 'ticker');
      const index = opt(d, 'index_price', 'ticker');
      // funding_8h: the rate over Deribit's 8-hour funding period, the figure comparable with other venues'
      // funding rates; current_funding (the instantaneous rate) only when it is missing. Dated futures have none.
      let funding = opt(d, 'funding_8h', 'ticker');
      if (funding !== funding) funding = opt(d, 'current_funding', 'ticker');
      this.#batch.mark(inst.id, ts, mark, index, funding);
      this.stats.events.mark++;
    }
    this.#count(ts);
    this.#summaryQuote(inst, d, ts);
    // Only now that the whole message is taken (the quote's fields were checked too): the option's IV is there for
    // its neighbours' later tickers.
    if (ivRecord !== undefined && markIv > 0) ivRecord.set(markIv, ts);
    if (neighbourIv === neighbourIv) this.stats.neighbourIv++;
  }

  #quote(data: unknown): void {
    if (!isObject(data)) throw new Malformed('badField', `quote "data" is not an object: ${show(data)}`);
    const symbol = data.instrument_name;
    if (typeof symbol !== 'string' || symbol.length === 0) throw new Malformed('missingField', 'quote field "instrument_name" is missing');
    this.#summaryQuote(this.#instrument(symbol), data, this.#ts(data.timestamp));
  }

  /** The levels of one side, checked: [action, price, amount] (raw book) or [price, amount] (grouped book). */
  #levels(d: Json, key: 'bids' | 'asks'): unknown[][] {
    const levels = d[key];
    if (levels === undefined || levels === null) throw new Malformed('missingField', `book field "${key}" is missing`);
    if (!Array.isArray(levels)) throw new Malformed('badField', `book field "${key}" is not a list: ${show(levels)}`);
    for (const level of levels) {
      const ok = Array.isArray(level) && (level.length === 3
        ? (level[0] === 'new' || level[0] === 'change' || level[0] === 'delete') && typeof level[1] === 'number' && typeof level[2] === 'number'
        : level.length === 2 && typeof level[0] === 'number' && typeof level[1] === 'number');
      if (!ok) throw new Malformed('badField', `book ${key} level is not [action, price, amount] or [price, amount]: ${show(level)}`);
      const price = level.length === 3 ? level[1] : level[0];
      const size = level.length === 3 ? level[2] : level[1];
      if (!Number.isFinite(price) || !Number.isFinite(size)) throw new Malformed('badNumber', `book ${key} level has a non-finite number: ${show(level)}`);
    }
    return levels as unknown[][];
  }

  #book(data: unknown): void {
    if (!isObject(data)) throw new Malformed('badField', `book "data" is not an object: ${show(data)}`);
    const d = data;
    const symbol = d.instrument_name;
    if (typeof symbol !== 'string' || symbol.length === 0) throw new Malformed('missingField', 'book field "instrument_name" is missing');
    const type = d.type;
    // Grouped books (book.<instrument>.<group>.<depth>.<interval>) carry no type: each is a full view of its depth.
    if (type !== undefined && type !== 'snapshot' && type !== 'change') throw new Malformed('badField', `book field "type" is neither "snapshot" nor "change": ${show(type)}`);
    const bids = this.#levels(d, 'bids'), asks = this.#levels(d, 'asks');
    const changeId = opt(d, 'change_id', 'book');
    const prev = opt(d, 'prev_change_id', 'book');
    const ts = this.#ts(d.timestamp);
    const inst = this.#instrument(symbol);
    const book = inst.book ??= { bids: new BookSide(true), asks: new BookSide(false), changeId: NaN, state: 'none' };
    if (type === 'change') {
      if (book.state === 'none') { countSkipped(this.stats, 'bookBeforeSnapshot'); return; }
      if (book.state === 'gap') { countSkipped(this.stats, 'bookAfterGap'); return; }
      // Deribit numbers book messages: a change must name the previous message's change_id, or one was lost and
      // the book is wrong until the next snapshot (a live client resubscribes; a replay can only wait).
      if (prev === prev && prev !== book.changeId) {
        this.stats.bookGaps++;
        book.state = 'gap';
        countSkipped(this.stats, 'bookAfterGap');
        return;
      }
    } else {
      book.bids.clear();
      book.asks.clear();
      book.state = 'live';
    }
    book.changeId = changeId;
    apply(book.bids, bids);
    apply(book.asks, asks);
    if (book.bids.prices.length === 0 || book.asks.prices.length === 0) { countSkipped(this.stats, 'oneSidedBook'); return; }
    const levels = this.#depthLevels;
    this.#batch.quote(inst.id, ts, book.bids.prices[0], book.bids.sizes[0], book.asks.prices[0], book.asks.sizes[0], book.bids.depth(levels), book.asks.depth(levels));
    this.stats.events.quote++;
    this.#count(ts);
  }

  // ---- Listings ----------------------------------------------------------------------------------------------
  /** Registers the instruments of a get_instruments result; returns how many were unusable (no name or kind). */
  #listing(result: unknown[]): { bad: number; example: string } {
    let bad = 0, example = '';
    for (const r of result) {
      const info = isObject(r) ? instrumentInfo(r, this.#name.bind(this)) : undefined;
      if (info === undefined) {
        if (bad++ === 0) example = `listed instrument has no "instrument_name" or known "kind": ${show(r, 80)}`;
        continue;
      }
      this.catalog.add(info);
      this.stats.instruments++;
    }
    return { bad, example };
  }

  // ---- Lines -------------------------------------------------------------------------------------------------
  /** Reads one line into the batch; throws Malformed when it cannot. */
  #line(line: string): void {
    const brace = line.indexOf('{');
    this.#recvNs = UNUSABLE;
    if (brace === -1) {
      const tokens = line.trim().split(/\s+/);
      if (tokens.length === 3 && ARROWS.has(tokens[1]) && deribitReceiveNs(tokens[2]) !== NOT_A_TIME) { countSkipped(this.stats, 'connection'); return; }
      throw new Malformed('badJson', `no JSON message on the line: ${show(line)}`);
    }
    let head = line.slice(0, brace).trim();
    if (head.length > 0) {
      // `<receive time>: <json>` (cryptofeed), or `<receive time> <json>` (the layout of a Binance capture).
      if (head.endsWith(':')) head = head.slice(0, -1).trim();
      else if (!/^\d+(\.\d+)?$/.test(head)) throw new Malformed('badTimestamp', `expected "<receive time>: <json>", got ${show(line)}`);
      if (head === 'configuration') { countSkipped(this.stats, 'configuration'); return; }
      const tokens = head.split(/\s+/);
      const timeToken = tokens.length === 1 ? tokens[0] : tokens.length === 3 && ARROWS.has(tokens[1]) ? tokens[2] : '';
      const ns = deribitReceiveNs(timeToken);
      if (ns === NOT_A_TIME) throw new Malformed('badTimestamp', `expected "<receive time>: <json>", got ${show(line)}`);
      this.#recvNs = ns;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(brace === 0 ? line : line.slice(brace));
    } catch (err) {
      throw new Malformed('badJson', (err as Error).message.slice(0, 80));
    }
    if (!isObject(msg)) throw new Malformed('badJson', 'not a JSON object');
    const method = msg.method;
    if (method === 'subscription') {
      const params = msg.params;
      if (!isObject(params)) throw new Malformed('missingField', 'subscription field "params" is missing');
      const channel = params.channel;
      if (typeof channel !== 'string') throw new Malformed('missingField', 'subscription field "params.channel" is missing');
      const dot = channel.indexOf('.');
      const type = dot === -1 ? channel : channel.slice(0, dot);
      if (type === 'book' || type === 'ticker' || type === 'trades' || type === 'quote') this.#lineType = type;
      if (type === 'book') this.#book(params.data);
      else if (type === 'ticker') this.#ticker(params.data);
      else if (type === 'trades') this.#trades(params.data);
      else if (type === 'quote') this.#quote(params.data);
      else countSkipped(this.stats, `channel:${type}`);
      return;
    }
    if (method === 'heartbeat' || method === 'public/test') { countSkipped(this.stats, 'heartbeat'); return; }
    if (Array.isArray(msg.result) && msg.result.length > 0 && isObject(msg.result[0]) && 'instrument_name' in msg.result[0] && 'kind' in msg.result[0]) {
      this.#lineType = 'listing';
      const { bad, example } = this.#listing(msg.result);
      if (bad > 0) throw new Malformed('badField', bad === 1 ? example : `${bad} of ${msg.result.length} listed instruments unusable; first: ${example}`);
      return;
    }
    if ('result' in msg) { countSkipped(this.stats, 'response'); return; }
    if ('error' in msg) { countSkipped(this.stats, 'error'); return; }
    if (typeof method === 'string') { countSkipped(this.stats, 'request'); return; }
    throw new Malformed('missingField', 'neither "method" nor "result": not a Deribit JSON-RPC message');
  }

  [Symbol.asyncIterator](): AsyncIterator<EventBatch> {
    const stats = this.stats;
    return batchedLines(this.path, stats, { batchSize: this.#batchSize, reuse: this.#reuse, onMalformed: this.#onMalformed }, (line, lineNo, batch) => {
      this.#batch = batch; // the message handlers append to it
      // A message is taken whole or not at all: on a problem, drop (and uncount) what it already put in the batch.
      const mark = batch.length;
      this.#lineType = '';
      try {
        this.#line(line);
        if (this.#lineType === '') stats.ignoredLines++;
        else stats.messages[this.#lineType] = (stats.messages[this.#lineType] ?? 0) + 1;
      } catch (err) {
        if (!(err instanceof Malformed)) throw err;
        for (let k = mark; k < batch.length; k++) stats.events[KIND_NAMES[batch.kind[k]]]--;
        batch.length = mark;
        countMalformed(stats, err.reason, lineNo, err.detail, this.#onMalformed);
      }
    });
  }
}

function apply(side: BookSide, levels: unknown[][]): void {
  for (const level of levels) {
    if (level.length === 2) side.set(level[0] as number, level[1] as number);
    else side.set(level[1] as number, level[0] === 'delete' ? 0 : level[2] as number);
  }
}

/** Deribit's far-future expiry of perpetuals (year 3000), which is no expiry at all. */
const PERPETUAL_EXPIRY_MS = 32_503_680_000_000;

const KINDS: Record<string, InstrumentKind> = {
  option: 'option', future: 'future', spot: 'spot', future_combo: 'combo', option_combo: 'combo',
};

/** The contract terms of one get_instruments entry, or undefined without a name or a known kind. */
export function instrumentInfo(r: Json, name: (symbol: string) => string = (s) => s): InstrumentInfo | undefined {
  const symbol = r.instrument_name;
  const listedKind = typeof r.kind === 'string' ? KINDS[r.kind] : undefined;
  if (typeof symbol !== 'string' || symbol.length === 0 || listedKind === undefined) return undefined;
  const kind: InstrumentKind = listedKind === 'future' && r.settlement_period === 'perpetual' ? 'perpetual' : listedKind;
  const info: InstrumentInfo = { name: name(symbol), venue: 'deribit', symbol, kind };
  const str = (k: string) => (typeof r[k] === 'string' ? r[k] as string : undefined);
  const num = (k: string) => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? r[k] as number : undefined);
  const set = <K extends keyof InstrumentInfo>(k: K, v: InstrumentInfo[K] | undefined) => { if (v !== undefined) info[k] = v; };
  set('base', str('base_currency'));
  set('quote', str('quote_currency'));
  set('settlement', str('settlement_currency'));
  const optionType = str('option_type');
  if (optionType === 'call' || optionType === 'put') info.optionType = optionType;
  set('strike', num('strike'));
  const expiry = num('expiration_timestamp');
  if (expiry !== undefined && kind !== 'perpetual' && expiry < PERPETUAL_EXPIRY_MS) info.expiryMs = expiry;
  set('tickSize', num('tick_size'));
  set('contractSize', num('contract_size'));
  set('minTradeAmount', num('min_trade_amount'));
  return info;
}

/** Read a whole file into its stats, calling `onBatch` per batch: a convenience for tools and tests. */
export async function readDeribit(path: string, onBatch: (batch: EventBatch) => void, opts: DeribitOptions = {}): Promise<DeribitStats> {
  const reader = new DeribitReader(path, opts);
  for await (const batch of reader) onBatch(batch);
  return reader.stats;
}
