// `timestamp,value` CSV series: the committed NAB slices (one value event per row, named after the file, times as
// UTC), Windows line ends, and damaged rows reported by line number with the good ones around them kept.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind } from '../src/abi.js';
import { CsvReader, csvInstrumentName, isCsvHeader } from '../src/adapters/csv.js';
import { Engine } from '../src/engine.js';
import { Registry } from '../src/registry.js';

const NAB = fileURLToPath(new URL('./fixtures/nab/', import.meta.url));
const TAXI = join(NAB, 'realKnownCause/nyc_taxi.csv');
const ADX = join(NAB, 'realAdExchange/exchange-2_cpc_results.csv');

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'atc-csv-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

async function readAll(reader: CsvReader): Promise<{ ts: bigint[]; values: number[]; ids: Set<number>; kinds: Set<number> }> {
  const ts: bigint[] = [], values: number[] = [];
  const ids = new Set<number>(), kinds = new Set<number>();
  for await (const b of reader) {
    for (let i = 0; i < b.length; i++) {
      ts.push(b.tsNs[i]); values.push(b.f[0][i]); ids.add(b.instrument[i]); kinds.add(b.kind[i]);
    }
  }
  return { ts, values, ids, kinds };
}

/** The rows of a NAB file read independently: Date.parse of "YYYY-MM-DDTHH:MM:SSZ" and Number of the value. */
function rows(path: string): { ts: bigint[]; values: number[] } {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).slice(1).filter((l) => l.length > 0);
  return {
    ts: lines.map((l) => BigInt(Date.parse(`${l.split(',')[0].replace(' ', 'T')}Z`)) * 1_000_000n),
    values: lines.map((l) => Number(l.split(',')[1])),
  };
}

describe('CsvReader on NAB slices', () => {
  it('gives one value event per row, at the row time read as UTC, named folder/file', async () => {
    const registry = new Registry();
    const reader = new CsvReader(TAXI, { registry });
    const got = await readAll(reader);
    const want = rows(TAXI);
    expect(want.ts.length).toBe(1000);
    expect(got.ts).toEqual(want.ts);
    expect(got.values).toEqual(want.values);
    expect(got.ts[0]).toBe(1404172800000000000n); // 2014-07-01T00:00:00Z
    expect(got.values[0]).toBe(10844);
    expect([...got.kinds]).toEqual([Kind.value]);
    expect([...got.ids].map((id) => registry.name(id))).toEqual(['realKnownCause/nyc_taxi']);
    expect(reader.stats.events.value).toBe(1000);
    expect(reader.stats.lines).toBe(1001);
    expect(reader.stats.malformed).toEqual({});
    expect(reader.stats.firstTsNs).toBe(want.ts[0]);
    expect(reader.stats.lastTsNs).toBe(want.ts[999]);
  });

  it('reads Windows line ends like Unix ones', async () => {
    expect(readFileSync(ADX, 'utf8')).toContain('\r\n');
    const got = await readAll(new CsvReader(ADX));
    const want = rows(ADX);
    expect(want.ts.length).toBe(300);
    expect(got.ts).toEqual(want.ts);
    expect(got.values).toEqual(want.values);
  });

  it('feeds the engine, which accepts every row of a series in time order', async () => {
    const engine = Engine.create({ autoRegister: true });
    let n = 0;
    for await (const b of new CsvReader(TAXI, { batchSize: 333 })) {
      n += b.length;
      expect(engine.ingest(b).rejects).toEqual([]);
    }
    expect(engine.counters().accepted).toBe(n);
  });
});

describe('CsvReader on damaged rows', () => {
  const body = [
    /* 1 */ 'timestamp,value',
    /* 2 */ '2014-07-01 00:00:00,10844',
    /* 3 */ '2014-07-01 00:30:00,abc',
    /* 4 */ '2014-13-01 00:00:00,5',
    /* 5 */ '2014-07-01 01:00:00,1,2',
    /* 6 */ '',
    /* 7 */ '2014-07-01 01:30:00,',
    /* 8 */ '2014-07-01T02:00:00Z,-1.5e2',
    /* 9 */ 'yesterday,3',
    /* 10 */ '"2014-07-01 03:00:00","7"',
    /* 11 */ '2014-07-01 03:30:00,NaN',
  ].join('\n');

  it('reports each bad row by reason and line number and keeps the good ones', async () => {
    const path = join(dir, 'damaged.csv');
    writeFileSync(path, body);
    const reported: number[] = [];
    const reader = new CsvReader(path, { onMalformed: (line) => reported.push(line) });
    const got = await readAll(reader);
    const utc = (h: number, m: number) => BigInt(Date.UTC(2014, 6, 1, h, m)) * 1_000_000n;
    expect(got.ts).toEqual([utc(0, 0), utc(2, 0), utc(3, 0)]);
    expect(got.values).toEqual([10844, -150, 7]);
    const byReason = Object.fromEntries(Object.entries(reader.stats.malformed).map(([r, m]) => [r, m.lines]));
    expect(byReason).toEqual({ badNumber: [3, 7, 11], badTimestamp: [4, 9], badColumns: [5] });
    expect(reader.stats.malformed.badTimestamp?.example).toMatch(/line 4: timestamp "2014-13-01 00:00:00": month 13 is out of range/);
    expect(reported).toEqual([3, 4, 5, 7, 9, 11]);
    expect(reader.stats.lines).toBe(11);
  });

  it('reads a file without a header, and flags a header it does not know', async () => {
    const headless = join(dir, 'headless.csv');
    writeFileSync(headless, body.split('\n').slice(1).join('\n'));
    expect((await readAll(new CsvReader(headless))).values).toEqual([10844, -150, 7]);
    const odd = join(dir, 'odd.csv');
    writeFileSync(odd, gzipSync(`time,price\n2014-07-01 00:00:00,1\n`));
    const reader = new CsvReader(odd);
    expect((await readAll(reader)).values).toEqual([1]);
    expect(reader.stats.gzip).toBe(true);
    expect(reader.stats.malformed.badHeader?.lines).toEqual([1]);
  });

  it('names instruments after the folder and file, or as told', () => {
    expect(csvInstrumentName('/data/nab/data/realTweets/Twitter_volume_AAPL.csv')).toBe('realTweets/Twitter_volume_AAPL');
    expect(csvInstrumentName('/x/y/series.csv.gz')).toBe('y/series');
    mkdirSync(join(dir, 'cat'), { recursive: true });
    expect(new CsvReader(join(dir, 'cat', 'a.csv'), { instrument: 'mine' }).instrument).toBe('mine');
    expect(isCsvHeader('\uFEFFTimestamp, Value\r')).toBe(true);
    expect(isCsvHeader('timestamp,value,extra')).toBe(false);
  });
});
