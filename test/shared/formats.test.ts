// Needs ../shared/data (the full Deribit files and the NAB corpus): run by .ci/run with ATC_SHARED_DATA set,
// skipped otherwise. Counts are taken from the files themselves, independently of the readers.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Kind } from '../../src/abi.js';
import { CsvReader } from '../../src/adapters/csv.js';
import { DeribitReader } from '../../src/adapters/deribit.js';
import { Engine } from '../../src/engine.js';
import { InstrumentCatalog } from '../../src/instruments.js';
import { Registry } from '../../src/registry.js';

const DATA = process.env.ATC_SHARED_DATA;

describe.skipIf(!DATA)('full Deribit files in ../shared/data (set ATC_SHARED_DATA to run)', () => {
  it('DERIBIT.0 registers every listed instrument; DERIBIT.ws.1.0 gives every ticker and book, all accepted', async () => {
    const listingPath = join(DATA!, 'deribit/DERIBIT.0');
    const wsPath = join(DATA!, 'deribit/DERIBIT.ws.1.0');
    expect(existsSync(listingPath) && existsSync(wsPath)).toBe(true);
    const registry = new Registry();
    const catalog = new InstrumentCatalog(registry);
    const listing = new DeribitReader(listingPath, { catalog });
    for await (const _ of listing) throw new Error('a listing has no events');
    let listed = 0;
    for (const line of readFileSync(listingPath, 'utf8').split('\n')) {
      const brace = line.indexOf('{');
      if (line.startsWith('http') && brace > 0) listed += (JSON.parse(line.slice(brace)) as { result: unknown[] }).result.length;
    }
    expect(listing.stats.instruments).toBe(listed);
    expect(catalog.size).toBe(listed);
    expect(listing.stats.malformed).toEqual({});

    const text = readFileSync(wsPath, 'utf8');
    const count = (channel: string) => text.split('\n').filter((l) => l.includes(`"channel":"${channel}.`)).length;
    const engine = Engine.create({ autoRegister: true });
    const reader = new DeribitReader(wsPath, { catalog });
    let options = 0, alerts = 0;
    for await (const b of reader) {
      for (let i = 0; i < b.length; i++) if (b.kind[i] === Kind.option) options++;
      const r = engine.ingest(b);
      expect(r.rejects).toEqual([]);
      alerts += r.alerts.length;
    }
    const s = reader.stats;
    expect(options).toBe(count('ticker')); // every ticker is an option's, and each gives one option event
    expect(s.events.trade).toBe(count('trades'));
    expect(s.malformed).toEqual({});
    expect(s.bookGaps).toBe(0);
    const bookQuotes = s.events.quote - (count('ticker') - (s.skipped.tickerQuoteWithBook ?? 0) - (s.skipped.oneSidedTicker ?? 0));
    expect(bookQuotes + (s.skipped.oneSidedBook ?? 0)).toBe(count('book'));
    // Every instrument the capture names is in the listing: nothing registered beyond it.
    expect(registry.size).toBe(listed);
    expect(engine.counters().accepted).toBe(s.events.option + s.events.quote);
    console.log(`DERIBIT: ${listed} listed, ${s.events.option} option tickers, ${s.events.quote} quotes, ${alerts} alerts`);
  });
});

describe.skipIf(!DATA)('the NAB corpus in ../shared/data (set ATC_SHARED_DATA to run)', () => {
  it('every CSV: one value event per row, nothing malformed; only rows that go back in time are rejected', async () => {
    const root = join(DATA!, 'nab/data');
    const files = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(join(root, d.name)).filter((f) => f.endsWith('.csv')).map((f) => join(root, d.name, f)));
    expect(files.length).toBe(58);
    const registry = new Registry();
    let rowsTotal = 0;
    for (const path of files) {
      const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
      const rows = lines.length - 1;
      // Rows before the latest time seen so far (the engine refuses time going backwards per instrument).
      let latest = '', backwards = 0;
      for (const l of lines.slice(1)) {
        const t = l.split(',')[0];
        if (t < latest) backwards++; else latest = t;
      }
      const engine = Engine.create({ autoRegister: true });
      const reader = new CsvReader(path, { registry });
      for await (const b of reader) engine.ingest(b);
      expect(reader.stats.events.value, path).toBe(rows);
      expect(reader.stats.malformed, path).toEqual({});
      expect(engine.counters().rejected.timeBackwards, path).toBe(backwards);
      expect(engine.counters().accepted, path).toBe(rows - backwards);
      rowsTotal += rows;
    }
    expect(registry.size).toBe(58);
    console.log(`NAB: ${files.length} files, ${rowsTotal} rows`);
  });
});
