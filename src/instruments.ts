// What is known about an instrument beyond its name: contract terms from a venue's listing (kind, strike, expiry,
// option type, tick size, contract size). The Registry maps names to the engine's u32 ids; this catalog hangs the
// terms on the same ids, so that whatever registers instruments elsewhere (the sidecar's registration messages,
// an option-surface feature) reads them by id without knowing which venue or file they came from.
import type { Registry } from './registry.js';

export type InstrumentKind = 'option' | 'future' | 'perpetual' | 'spot' | 'combo' | 'index';

export interface InstrumentInfo {
  /** The name in the Registry (with the reader's market prefix, if it was given one). */
  name: string;
  /** Where the terms come from: `deribit`. */
  venue: string;
  /** The venue's own name for it: `BTC-24SEP21-40000-P`. */
  symbol: string;
  kind: InstrumentKind;
  /** Underlying currency (`BTC`), quote currency (`BTC` for Deribit's inverse options, `USD` for its futures). */
  base?: string;
  quote?: string;
  settlement?: string;
  optionType?: 'call' | 'put';
  /** Strike price, in the quote currency of the underlying (USD for BTC options). */
  strike?: number;
  /** Expiry, ms since the epoch; absent for perpetuals. */
  expiryMs?: number;
  /** Smallest price increment, in the instrument's price units. */
  tickSize?: number;
  /** Underlying per contract (options: 1 BTC) or quote currency per contract (inverse futures: 10 USD). */
  contractSize?: number;
  /** Smallest order size, in the units trade sizes are given in. */
  minTradeAmount?: number;
}

/** Contract terms by instrument id, registering names in the shared Registry as it learns them. */
export class InstrumentCatalog {
  readonly registry: Registry;
  readonly #byId = new Map<number, InstrumentInfo>();

  constructor(registry: Registry) {
    this.registry = registry;
  }

  /** Registers `info.name` (if new) and records its terms, replacing older ones; returns the id. */
  add(info: InstrumentInfo): number {
    const id = this.registry.id(info.name);
    this.#byId.set(id, info);
    return id;
  }

  get(id: number): InstrumentInfo | undefined { return this.#byId.get(id); }

  byName(name: string): InstrumentInfo | undefined {
    return this.registry.has(name) ? this.#byId.get(this.registry.id(name)) : undefined;
  }

  get size(): number { return this.#byId.size; }

  /** [id, terms] in the order they were first added. */
  entries(): IterableIterator<[number, InstrumentInfo]> { return this.#byId.entries(); }

  toJSON(): InstrumentInfo[] { return [...this.#byId.values()]; }
}
