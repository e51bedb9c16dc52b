// Needs ../shared/data (set ATC_SHARED_DATA; .ci/run does). The byte scanner and JSON.parse give the same message
// for every line of the three full Binance captures, and the scanner never needs its fallback on them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BinanceScanner } from '../../src/adapters/binance-scan.js';
import { both } from '../binance-reference.js';

const DATA = process.env.ATC_SHARED_DATA;
const CAPTURES = ['usdm-btcusdt-20240808.gz', 'cm-btcusd_perp-20240808.gz', 'spot-btcusdt-20240808.gz'];

describe.skipIf(!DATA)('the byte scanner on the full Binance captures in ../shared/data (set ATC_SHARED_DATA to run)', () => {
  for (const file of CAPTURES) {
    it(`${file}: every line parses exactly as with JSON.parse`, () => {
      const lines = gunzipSync(readFileSync(join(DATA!, 'binance', file))).toString('utf8').split('\n');
      const scanner = new BinanceScanner();
      let n = 0;
      for (const line of lines) {
        if (line.length === 0) continue;
        const { fast, json } = both(scanner, line);
        // toEqual on every line is slow; compare as JSON first (NaN and -0 survive as strings) and explain on failure.
        if (JSON.stringify(fast, keep) !== JSON.stringify(json, keep)) expect(fast).toEqual(json);
        n++;
      }
      expect(n).toBeGreaterThan(40_000);
      expect(scanner.fallbacks).toBe(0);
    });
  }
});

/** JSON.stringify replacer that keeps NaN, infinities and -0 apart from other numbers. */
function keep(_key: string, v: unknown): unknown {
  if (typeof v !== 'number') return v;
  if (Object.is(v, -0)) return '-0';
  return Number.isFinite(v) ? v : String(v);
}
