// Needs ../shared/data (the full Binance captures): run by .ci/run with ATC_SHARED_DATA set, skipped otherwise.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BinanceReader } from '../../src/adapters/binance.js';
import { Engine } from '../../src/engine.js';

const DATA = process.env.ATC_SHARED_DATA;

// Message counts from ../shared/data/README.md.
const CAPTURES = [
  { file: 'usdm-btcusdt-20240808.gz', messages: 93_954, depth: 6_551, trades: 21_313, quotes: 66_089 },
  { file: 'cm-btcusd_perp-20240808.gz', messages: 48_270 },
  { file: 'spot-btcusdt-20240808.gz', messages: 41_249 },
];

describe.skipIf(!DATA)('full Binance captures in ../shared/data (set ATC_SHARED_DATA to run)', () => {
  for (const c of CAPTURES) {
    it(`${c.file}: every message read, every event accepted, alerts explained`, async () => {
      const path = join(DATA!, 'binance', c.file);
      expect(existsSync(path)).toBe(true);
      const engine = Engine.create({ autoRegister: true });
      const reader = new BinanceReader(path);
      let trades = 0, quotes = 0, alerts = 0;
      for await (const batch of reader) {
        for (let i = 0; i < batch.length; i++) { if (batch.kind[i] === 1) trades++; else if (batch.kind[i] === 2) quotes++; }
        const r = engine.ingest(batch);
        expect(r.rejects).toEqual([]);
        for (const a of r.alerts) {
          expect(a.score).toBeGreaterThanOrEqual(a.threshold);
          expect(Number.isFinite(a.value) && Number.isFinite(a.expected)).toBe(true);
        }
        alerts += r.alerts.length;
      }
      const skipped = Object.values(reader.stats.skipped).reduce((s, n) => s + n, 0);
      const m = reader.stats.messages;
      // Every message is a trade, a bookTicker, a depth diff, the REST snapshot or a markPrice (none in these
      // captures): nothing malformed, nothing lost.
      expect(m.trade + m.bookTicker + m.depth + m.snapshot + m.markPrice + skipped).toBe(c.messages); // the README counts the snapshot too
      expect(reader.stats.malformed).toEqual({});
      expect(trades).toBe(m.trade);
      // A quote per bookTicker, and one per depth diff applied to the live book.
      expect(quotes).toBe(m.bookTicker + reader.stats.quotes.fromBook);
      if (c.trades !== undefined) {
        expect(m.trade).toBe(c.trades);
        expect(m.bookTicker).toBe(c.quotes);
        expect(m.depth).toBe(c.depth);
      }
      expect(engine.counters().accepted).toBe(trades + quotes);
      console.log(`${c.file}: ${trades} trades, ${quotes} quotes, ${alerts} alerts`);
    });
  }
});
