// Binance futures markPrice streams -> mark events (mark, index, funding), on the committed fixture
// test/fixtures/binance/usdm-markprice.txt: two real sample lines of each of bookTicker and trade around hand-written
// markPrice lines in Binance's documented shapes (combined @markPrice@1s and @markPrice, raw markPriceUpdate, a
// COIN-M delivery contract with funding ""), plus damaged ones. Scanner and JSON.parse paths give the same events.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Kind } from '../src/abi.js';
import { parseJsonMessage } from '../src/adapters/binance-message.js';
import { BinanceReader, type BinanceStats } from '../src/adapters/binance.js';
import { Engine } from '../src/engine.js';
import { Registry } from '../src/registry.js';

const FIXTURE = join(fileURLToPath(new URL('..', import.meta.url)), 'test/fixtures/binance/usdm-markprice.txt');

type Row = [bigint, number, string, number, number, number];

async function read(opts: object): Promise<{ rows: Row[]; stats: BinanceStats; registry: Registry; noRejects: boolean }> {
  const registry = new Registry();
  const reader = new BinanceReader(FIXTURE, { batchSize: 3, registry, reuseBatch: false, ...opts });
  const engine = Engine.create({ autoRegister: true });
  const rows: Row[] = [];
  let noRejects = true;
  for await (const b of reader) {
    for (let i = 0; i < b.length; i++) rows.push([b.tsNs[i], b.kind[i], registry.name(b.instrument[i])!, b.f[0][i], b.f[1][i], b.f[2][i]]);
    const r = engine.ingest(b);
    if (r.rejects.length > 0) noRejects = false;
  }
  return { rows, stats: reader.stats, registry, noRejects };
}

describe('BinanceReader: markPrice streams', () => {
  it('turns every markPrice message into a mark event of its symbol, counts the bad ones by line, and goes on', async () => {
    const { rows, stats, noRejects } = await read({});
    const marks = rows.filter((r) => r[1] === Kind.mark);
    expect(marks).toEqual([
      // line 3, combined @markPrice@1s
      [1723161255088179000n, Kind.mark, 'BTCUSDT', 61801.5, 61790.25531915, 0.0001],
      // line 5, raw markPriceUpdate
      [1723161256100000000n, Kind.mark, 'BTCUSDT', 61802.1, 61791.00212766, 0.0001],
      // line 6, @markPrice (every 3 s), a negative funding rate
      [1723161256200000000n, Kind.mark, 'ETHUSDT', 2683.46, 2682.3145679, -0.00007315],
      // line 7, COIN-M delivery contract: "r": "" is no funding
      [1723161256300000000n, Kind.mark, 'BTCUSD_240927', 62950.8, 61795.1, NaN],
      // line 10, received before line 7 (the last line read): counted out of order and given line 7's time
      [1723161256300000000n, Kind.mark, 'BTCUSDT', 61803.2, 61792.1, 0.0001],
    ]);
    // The trades and quotes around them are unchanged: the same instrument as the marks.
    expect(rows.filter((r) => r[1] !== Kind.mark).map((r) => [r[1], r[2]])).toEqual([[Kind.quote, 'BTCUSDT'], [Kind.trade, 'BTCUSDT'], [Kind.quote, 'BTCUSDT']]);
    expect(stats.events).toEqual({ trade: 1, quote: 2, mark: 5 });
    expect(stats.messages).toEqual({ trade: 1, aggTrade: 0, bookTicker: 2, depth: 0, snapshot: 0, markPrice: 5 });
    expect(stats.skipped).toEqual({});
    expect(stats.malformed.badNumber).toEqual({ count: 1, lines: [8], example: 'line 8: markPriceUpdate field "p" is not a number: "abc"' });
    // Line 9 has no symbol; line 11 is the all-market stream, whose data is a list (not read: see docs/binance.md).
    expect(stats.malformed.missingField?.lines).toEqual([9, 11]);
    expect(stats.malformed.missingField?.example).toBe('line 9: markPriceUpdate field "s" is missing');
    expect(Object.keys(stats.malformed).sort()).toEqual(['badNumber', 'missingField']);
    expect(stats.outOfOrder.receiveTime?.lines).toEqual([10]);
    expect(stats.lines).toBe(11);
    // The engine takes every event (mark with NaN funding included).
    expect(noRejects).toBe(true);
  });

  it('gives the same events and counts with the byte scanner and with JSON.parse, without falling back', async () => {
    const fast = await read({});
    const json = await read({ parser: parseJsonMessage });
    expect(fast.rows.length).toBe(8);
    expect(fast.rows).toEqual(json.rows);
    expect({ ...fast.stats, parserFallbacks: 0 }).toEqual({ ...json.stats, parserFallbacks: 0 });
    // The scanner reads lines 1-7 and 10 itself; lines 8 (mark "abc"), 9 (no symbol) and 11 (data a list) go to
    // the fallback, which says what is wrong with them.
    expect(fast.stats.parserFallbacks).toBe(3);
  });
});
