// Format detection and dispatch (src/adapters/index.ts), and `atc replay` over every input format: Deribit with its
// listing, canonical NDJSON with malformed lines, NAB CSV series, several formats in one replay sharing one
// registry, the progress line, and the usage errors of the new options.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totalEvents } from '../src/adapters/common.js';
import { DeribitReader } from '../src/adapters/deribit.js';
import { detectFileFormat, detectFormat, openInput } from '../src/adapters/index.js';
import { main } from '../src/cli.js';
import { InstrumentCatalog } from '../src/instruments.js';
import { Registry } from '../src/registry.js';
import { runCli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIX = join(ROOT, 'test/fixtures');
const BINANCE = join(ROOT, 'data/samples/binance-usdm-btcusdt.txt.gz');
const WS = join(FIX, 'deribit/DERIBIT.ws.1.0');
const LISTING = join(FIX, 'deribit/DERIBIT.0');
const EVENTS = join(FIX, 'ndjson/events.ndjson');
const MALFORMED = join(FIX, 'ndjson/malformed.ndjson');
const TAXI = join(FIX, 'nab/realKnownCause/nyc_taxi.csv');
const ADX = join(FIX, 'nab/realAdExchange/exchange-2_cpc_results.csv');

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'atc-formats-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

const cli = (argv: string[], tty = false) => runCli(argv, main, tty);

const alertsOf = (ndjson: string) => ndjson.trim().split('\n').filter((l) => l).map((l) => JSON.parse(l) as Record<string, unknown>);
const int = (n: number) => n.toLocaleString('en-US');

describe('format detection', () => {
  it('tells the formats apart from their first lines', () => {
    const cases: [string[], string | undefined, boolean][] = [
      [['1723161255088169167 {"stream":"btcusdt@trade","data":{}}'], 'binance', false],
      [['wss://www.deribit.com/ws/api/v2 <-> 1626993723.424371'], 'deribit', false],
      [['1626993723.804855: {"jsonrpc":"2.0","method":"subscription"}'], 'deribit', false],
      [['https://www.deribit.com/api/v2/public/get_instruments?currency=BTC&expired=false -> 1626993723.13: {"jsonrpc":"2.0"}'], 'deribit', true],
      [['configuration: {"trades":[]}', '1626993723.8: {"jsonrpc":"2.0"}'], 'deribit', false],
      [['{"jsonrpc":"2.0","method":"subscription"}'], 'deribit', false],
      [['', '  {"ts":"1","instrument":"X","kind":"value","value":1}'], 'ndjson', false],
      [['\uFEFFtimestamp,value'], 'csv', false],
      [['Timestamp,Value\r'], 'csv', false],
      [['time,price'], undefined, false],
      [['1626993723.8: {"no":"rpc"}'], undefined, false],
      [[], undefined, false],
    ];
    for (const [lines, format, listing] of cases) {
      expect(detectFormat(lines), JSON.stringify(lines)).toEqual({ format, deribitListing: listing });
    }
  });

  it('detects the format of real files, gzip or plain', async () => {
    expect(await detectFileFormat(BINANCE)).toEqual({ format: 'binance', deribitListing: false });
    expect(await detectFileFormat(WS)).toEqual({ format: 'deribit', deribitListing: false });
    expect(await detectFileFormat(LISTING)).toEqual({ format: 'deribit', deribitListing: true });
    expect(await detectFileFormat(EVENTS)).toEqual({ format: 'ndjson', deribitListing: false });
    expect(await detectFileFormat(ADX)).toEqual({ format: 'csv', deribitListing: false });
    const gz = join(dir, 'taxi.bin');
    writeFileSync(gz, gzipSync(readFileSync(TAXI)));
    expect(await detectFileFormat(gz)).toEqual({ format: 'csv', deribitListing: false });
  });

  it('opens the right reader for each, all naming instruments in one registry', async () => {
    const registry = new Registry();
    const catalog = new InstrumentCatalog(registry);
    const seen: Record<string, number> = {};
    for (const path of [LISTING, WS, EVENTS, TAXI, BINANCE]) {
      const reader = await openInput(path, 'auto', { registry, catalog });
      let n = 0;
      for await (const b of reader) n += b.length;
      expect(totalEvents(reader.stats.events), path).toBe(n);
      seen[reader.format] = (seen[reader.format] ?? 0) + n;
    }
    expect(Object.keys(seen).sort()).toEqual(['binance', 'csv', 'deribit', 'ndjson']);
    // BTCUSDT of the NDJSON examples and of the Binance capture is one instrument.
    expect(registry.toJSON().filter((n) => n === 'BTCUSDT')).toHaveLength(1);
    expect(registry.has('realKnownCause/nyc_taxi') && registry.has('BTC-24SEP21-8000-P')).toBe(true);
    await expect(openInput(join(dir, 'taxi.bin'), 'ndjson')).resolves.toMatchObject({ format: 'ndjson' });
    writeFileSync(join(dir, 'unknown.txt'), 'hello\n');
    await expect(openInput(join(dir, 'unknown.txt'))).rejects.toThrow(/cannot tell the format/);
  });
});

describe('atc replay over every format', () => {
  it('replays a Deribit capture, its listing read first wherever it is given', async () => {
    const reader = new DeribitReader(WS);
    for await (const _ of reader) { /* count */ }
    const s = reader.stats;
    const listed = (readFileSync(LISTING, 'utf8').match(/"instrument_name":/g) ?? []).length;
    const r = await cli(['replay', WS, LISTING]);
    expect(r.code).toBe(0);
    const inputs = r.stderr.split('\n').filter((l) => l.startsWith('  input'));
    expect(inputs).toEqual([
      `  input        ${LISTING} (deribit instrument listing, ${listed} instruments)`,
      `  input        ${WS} (deribit, ${(readFileSync(WS).length / 1024).toFixed(1)} KiB, ${s.lines} lines)`,
    ]);
    expect(r.stderr).toContain(`events       ${int(totalEvents(s.events))}: trade 0, quote ${int(s.events.quote)}, mark 0, option ${int(s.events.option)}, value 0`);
    expect(r.stderr).toMatch(/book gaps +0\n/);
    expect(r.stderr).toMatch(/malformed +none/);
    expect(r.stderr).toMatch(/rejected +none/);
    expect(r.stderr).toMatch(/skipped +\d+ by type: tickerQuoteWithBook \d+/);
    expect(r.stderr).toMatch(new RegExp(`engine +10 instruments \\(.*\\) and ${listed - 10} listed without events`));
    for (const a of alertsOf(r.stdout)) expect(a.instrument).toMatch(/^(BTC|ETH)-\w+-\d+-[CP]$/);
    // The same through --deribit-instruments.
    const viaOption = await cli(['replay', '--deribit-instruments', LISTING, WS]);
    expect(viaOption.code).toBe(0);
    expect(viaOption.stdout).toBe(r.stdout);
    expect(viaOption.stderr.split('\n').filter((l) => l.startsWith('  input'))).toEqual(inputs);
  });

  it('replays canonical NDJSON and lists its malformed lines by reason and line number', async () => {
    const r = await cli(['replay', MALFORMED]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/events +4: trade 1, quote 1, mark 0, option 1, value 1\n/);
    expect(r.stderr).toMatch(/malformed +16 lines skipped:/);
    expect(r.stderr).toMatch(/\n {4}unknownKind 1: lines 2\n {6}e\.g\. line 2: unknown kind "candle"/);
    expect(r.stderr).toMatch(/\n {4}badTimestamp 3: lines 7, 8, 16\n/);
    expect(r.stderr).toMatch(/\n {4}unknownField 1: lines 9\n {6}e\.g\. line 9: field "bidsize" is not part of a quote event \(did you mean "bidSize"\?\)/);
    expect(r.stderr).toMatch(/accepted +4 events/);
  });

  it('replays NAB CSV series, one instrument per file', async () => {
    const r = await cli(['replay', TAXI, ADX]);
    expect(r.code).toBe(0);
    const rowsOf = (p: string) => readFileSync(p, 'utf8').split(/\r?\n/).filter((l) => l.length > 0).length - 1;
    const rows = rowsOf(TAXI) + rowsOf(ADX);
    expect(r.stderr).toContain(`events       ${int(rows)}: trade 0, quote 0, mark 0, option 0, value ${int(rows)}\n`);
    expect(r.stderr).toMatch(/book gaps +0\n/);
    expect(r.stderr).toMatch(/rejected +none/);
    const alerts = alertsOf(r.stdout);
    expect(alerts.length).toBeGreaterThan(0);
    for (const a of alerts) {
      expect(['realKnownCause/nyc_taxi', 'realAdExchange/exchange-2_cpc_results']).toContain(a.instrument);
      expect(['value', 'valueChange']).toContain(a.feature);
    }
    expect(r.stderr).toMatch(/alerts +[\d,]+ .*\n +feature +value/);
  });

  it('replays several formats in one run, through one registry', async () => {
    // The NDJSON examples name BTCUSDT (as the Binance sample does) and realKnownCause/nyc_taxi (as the CSV does),
    // at 2024-08-08 23:54-57: after the sample's BTCUSDT events started, and long after the CSV's 2014 rows. One
    // registry makes them the same instruments, so the engine rejects those events as going back in time.
    const r = await cli(['replay', BINANCE, EVENTS, TAXI]);
    expect(r.code).toBe(0);
    const inputs = r.stderr.split('\n').filter((l) => l.startsWith('  input')).map((l) => /\((\w+)/.exec(l)?.[1]);
    expect(inputs).toEqual(['binance', 'ndjson', 'csv']);
    const btcusdtNdjson = readFileSync(EVENTS, 'utf8').split('\n').filter((l) => l.includes('"BTCUSDT"')).length;
    const taxiRows = readFileSync(TAXI, 'utf8').trim().split('\n').length - 1;
    expect(r.stderr).toContain(`rejected     ${int(btcusdtNdjson + taxiRows)}: timeBackwards ${int(btcusdtNdjson + taxiRows)}`);
  });

  it('reads a file in the format it is told, even a wrong one', async () => {
    const r = await cli(['replay', '--format', 'ndjson', TAXI]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/malformed +1,001 lines skipped:\n {4}badJson 1,001: lines 1, 2, 3/);
  });

  it('shows progress when asked, on a terminal in place, and never for a short run on a terminal otherwise', async () => {
    const forced = await cli(['replay', '--progress', TAXI, ADX]);
    const updates = forced.stderr.split('\n').filter((l) => l.startsWith('atc replay: ') && l.includes('events/s'));
    expect(updates.length).toBeGreaterThan(0);
    expect(updates[0]).toMatch(/^atc replay: [\d,]+ events, [\d,]+ events\/s, \d+% of [\d.]+ KiB read \(file [12] of 2\)$/);
    expect(forced.stderr).not.toContain('\r');
    const tty = await cli(['replay', '--progress', TAXI], true);
    expect(tty.stderr).toMatch(/^\r\x1b\[Katc replay: [\d,]+ events, [\d,]+ events\/s, \d+% of [\d.]+ KiB read/);
    expect(tty.stderr).toContain('\r\x1b[Katc replay: done'); // the line is cleared before the summary
    const quiet = await cli(['replay', TAXI], true);
    expect(quiet.stderr.startsWith('atc replay: done')).toBe(true);
  });

  it('explains every option in --help, and refuses bad ones with exit code 2', async () => {
    const help = await cli(['replay', '--help']);
    expect(help.code).toBe(0);
    for (const word of ['--format', 'auto', 'binance', 'deribit', 'ndjson', 'csv', '--deribit-instruments', '--config', '--out', '--progress', '--help', 'docs/protocol.md']) {
      expect(help.stdout).toContain(word);
    }
    const top = await cli(['--help']);
    expect(top.stdout).toMatch(/Deribit/);
    const cases: [string[], RegExp][] = [
      [['replay', WS, '--deribit-instruments', WS], /--deribit-instruments .*DERIBIT\.ws\.1\.0: not a Deribit instrument listing/],
      [['replay', WS, '--deribit-instruments', join(dir, 'nope')], /--deribit-instruments .*nope: no such file/],
      [['replay', WS, '--deribit-instruments'], /argument missing/],
      [['replay', WS, '--format', 'parquet'], /--format must be one of auto, binance, deribit, ndjson, csv/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });
});
