// Canonical NDJSON events: the reader on the committed examples (every field of every line), on malformed lines
// (reason and line number of each, the valid lines around them kept), and the writer and reader round trip
// (real Binance and Deribit events through NDJSON and back, bit for bit, and the same alerts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind, REJECT_REASONS } from '../src/abi.js';
import { isoToNs } from '../src/adapters/common.js';
import { BinanceReader } from '../src/adapters/binance.js';
import { DeribitReader } from '../src/adapters/deribit.js';
import {
  formatCanonicalEvent, NDJSON_MALFORMED_REASONS, NDJSON_SCHEMA_VERSION, NdjsonReader, newCanonicalEvent, parseCanonicalEvent, rawTopLevelNumber,
} from '../src/adapters/ndjson.js';
import { Engine, type Alert } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import { check } from '../src/reference/features.js';
import { Registry } from '../src/registry.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const EVENTS = join(FIXTURES, 'ndjson/events.ndjson');
const MALFORMED = join(FIXTURES, 'ndjson/malformed.ndjson');
const BINANCE = fileURLToPath(new URL('../data/samples/binance-usdm-btcusdt.txt.gz', import.meta.url));
const DERIBIT = join(FIXTURES, 'deribit/DERIBIT.ws.1.0');

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'atc-ndjson-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

interface Ev { kind: number; name: string; ts: bigint; seq: bigint; f: number[] }

async function readAll(reader: AsyncIterable<EventBatch> & { registry: Registry }): Promise<Ev[]> {
  const out: Ev[] = [];
  for await (const b of reader) {
    for (let i = 0; i < b.length; i++) {
      out.push({ kind: b.kind[i], name: reader.registry.name(b.instrument[i]), ts: b.tsNs[i], seq: b.seq[i], f: b.f.map((c) => c[i]) });
    }
  }
  return out;
}

const N = NaN;

describe('NdjsonReader on valid events', () => {
  it('reads every kind and every timestamp form exactly', async () => {
    const reader = new NdjsonReader(EVENTS);
    const events = await readAll(reader);
    expect(events).toEqual([
      { kind: Kind.quote, name: 'BTCUSDT', ts: 1723161255030314667n, seq: -1n, f: [61800.2, 2.5, 61800.3, 2.5, N, N] },
      // A JSON integer past 2^53, exact to the last digit: read from the text, not from JSON.parse's double.
      { kind: Kind.trade, name: 'BTCUSDT', ts: 1723161255088176367n, seq: 7n, f: [61800.3, 0.006, 1, N, N, N] },
      { kind: Kind.trade, name: 'BTCUSDT', ts: 1723161255100000001n, seq: -1n, f: [61800.2, 0.5, -1, N, N, N] },
      { kind: Kind.quote, name: 'BTCUSDT', ts: 1723161255200000000n, seq: -1n, f: [61800.1, 1, 61800.4, 3, 25.5, 31] },
      // 01:54:16 at +02:00 is 23:54:16 UTC.
      { kind: Kind.mark, name: 'BTCUSDT', ts: 1723161256000000000n, seq: -1n, f: [61801.5, 61790.25, 0.0001, N, N, N] },
      { kind: Kind.option, name: 'BTC-27SEP24-60000-C', ts: 1723161256500000000n, seq: -1n, f: [0.55, 61850, 0.0712, 0.54, N, N] },
      { kind: Kind.value, name: 'realKnownCause/nyc_taxi', ts: 1723161257000000000n, seq: -1n, f: [10844, N, N, N, N, N] },
      { kind: Kind.trade, name: 'ETHUSDT', ts: 1723161257000000001n, seq: 18446744073709n, f: [2600, 1.25, 0, N, N, N] },
    ]);
    const nonBlank = readFileSync(EVENTS, 'utf8').split('\n').filter((l) => l.trim().length > 0).length;
    expect(reader.stats.events).toEqual({ trade: 3, quote: 2, mark: 1, option: 1, value: 1 });
    expect(events.length).toBe(nonBlank);
    expect(reader.stats.lines).toBe(9);
    expect(reader.stats.malformed).toEqual({});
    expect(reader.registry.toJSON()).toEqual(['BTCUSDT', 'BTC-27SEP24-60000-C', 'realKnownCause/nyc_taxi', 'ETHUSDT']);
  });

  it('feeds the engine, which keeps the given sequence numbers', async () => {
    const engine = Engine.create({ autoRegister: true });
    const reader = new NdjsonReader(EVENTS);
    for await (const b of reader) expect(engine.ingest(b).rejects).toEqual([]);
    expect(engine.counters().accepted).toBe(8);
  });
});

describe('NdjsonReader on malformed lines', () => {
  it('reports each bad line by reason and line number, and keeps the valid ones around them', async () => {
    const reported: [number, string, string][] = [];
    const reader = new NdjsonReader(MALFORMED, { onMalformed: (line, reason, detail) => reported.push([line, reason, detail]) });
    const events = await readAll(reader);
    expect(events.map((e) => e.ts)).toEqual([1723161255000000001n, 1723161255000000006n, 1723161255000000017n, 1723161255000000020n]);
    expect(events[3]).toEqual({ kind: Kind.value, name: 'BTCUSDT', ts: 1723161255000000020n, seq: 3n, f: [-2.5e-3, N, N, N, N, N] });
    const byReason = Object.fromEntries(Object.entries(reader.stats.malformed).map(([r, m]) => [r, m.lines]));
    expect(byReason).toEqual({
      unknownKind: [2], missingField: [3, 14], wrongType: [4, 13], badNumber: [5, 18], badTimestamp: [7, 8, 16],
      unknownField: [9], badJson: [10], notObject: [11], badVersion: [12], badValue: [15, 19],
    });
    // Every line is accounted for: kept or reported once.
    expect(events.length + reported.length).toBe(20);
    const detail = new Map(reported.map(([line, , d]) => [line, d]));
    expect(detail.get(2)).toBe('unknown kind "candle" (known: trade, quote, mark, option, value)');
    expect(detail.get(3)).toBe('quote field "askSize" is missing');
    expect(detail.get(4)).toBe('trade field "price" must be a number, got boolean true');
    expect(detail.get(5)).toBe('trade field "price" is not a number: "abc"');
    expect(detail.get(8)).toMatch(/has no zone/);
    expect(detail.get(9)).toMatch(/field "bidsize" is not part of a quote event \(did you mean "bidSize"\?\)/);
    expect(detail.get(12)).toMatch(/schema version 2 is not 1/);
    expect(detail.get(13)).toMatch(/"instrument" must be a string/);
    expect(detail.get(14)).toBe('field "instrument" is missing');
    expect(detail.get(15)).toMatch(/"side" must be 1, -1, 0, "buy" or "sell", got "up"/);
    expect(detail.get(16)).toMatch(/integer of nanoseconds.*1723161255000000016\.5/);
    expect(detail.get(18)).toBe('mark field "mark" is not a number: "NaN"');
    expect(detail.get(19)).toMatch(/"seq" must be a non-negative integer/);
    expect(reader.stats.malformed.missingField?.example).toBe('line 3: quote field "askSize" is missing');
  });

  it('does the same through gzip with a tiny batch size', async () => {
    const path = join(dir, 'malformed.gz');
    writeFileSync(path, gzipSync(readFileSync(MALFORMED)));
    const reader = new NdjsonReader(path, { batchSize: 1 });
    const sizes: number[] = [];
    for await (const b of reader) sizes.push(b.length);
    expect(sizes).toEqual([1, 1, 1, 1]);
    expect(reader.stats.gzip).toBe(true);
    expect(reader.stats.malformed.badTimestamp?.lines).toEqual([7, 8, 16]);
  });
});

describe('canonical timestamps', () => {
  const ev = newCanonicalEvent();
  const ts = (v: string) => {
    const problem = parseCanonicalEvent(`{"ts":${v},"instrument":"X","kind":"value","value":1}`, ev);
    return problem ? problem.reason : ev.tsNs;
  };
  it('accepts ns as digits and ISO 8601 with up to nine fractional digits, and nothing ambiguous', () => {
    expect(ts('"0"')).toBe(0n);
    expect(ts('9223372036854775807')).toBe(9223372036854775807n);
    expect(ts('"9223372036854775808"')).toBe('badTimestamp');
    expect(ts('"2024-02-29T00:00:00Z"')).toBe(BigInt(Date.UTC(2024, 1, 29)) * 1_000_000n);
    expect(ts('"2023-02-29T00:00:00Z"')).toBe('badTimestamp');
    expect(ts('"2024-08-08T23:54:15.123456789Z"')).toBe(1723161255123456789n);
    expect(ts('"2024-08-08T23:54:15.1234567891Z"')).toBe('badTimestamp');
    expect(ts('"2024-08-08 23:54:15.5-05:30"')).toBe(1723161255500000000n + (5n * 3600n + 30n * 60n) * 1_000_000_000n);
    expect(ts('"1723161255.5"')).toBe('badTimestamp'); // seconds or ms? ambiguous: refused
    expect(ts('1.7e18')).toBe('badTimestamp');
    expect(ts('-5')).toBe('badTimestamp');
    expect(ts('true')).toBe('badTimestamp');
    expect(ts('null')).toBe('missingField');
  });

  it('isoToNs reads a zoneless time as UTC only when told to', () => {
    expect(isoToNs('2014-07-01 00:30:00', true)).toBe(BigInt(Date.UTC(2014, 6, 1, 0, 30)) * 1_000_000n);
    expect(isoToNs('2014-07-01 00:30:00', false)).toMatch(/no zone/);
    expect(isoToNs('2014-07-01 24:00:00', true)).toMatch(/out of range/);
  });

  it('takes a number key from the top level only, never from a string or a nested object', () => {
    expect(rawTopLevelNumber('{"a":{"ts":1},"b":"\\"ts\\":2","ts":1723161255088176367}', 'ts')).toBe('1723161255088176367');
    expect(rawTopLevelNumber('{"a":{"ts":1}}', 'ts')).toBeUndefined();
    expect(rawTopLevelNumber('{ "ts" : 12 , "ts": 13}', 'ts')).toBe('13'); // the last, as JSON.parse keeps
  });
});

describe('NDJSON round trip', () => {
  async function roundTrip(source: AsyncIterable<EventBatch> & { registry: Registry }, name: string): Promise<void> {
    // Through NDJSON: every event of the source, written by the writer, read back by the reader.
    const original: Ev[] = [];
    let text = '';
    for await (const b of source) {
      for (let i = 0; i < b.length; i++) {
        original.push({ kind: b.kind[i], name: source.registry.name(b.instrument[i]), ts: b.tsNs[i], seq: b.seq[i], f: b.f.map((c) => c[i]) });
        text += formatCanonicalEvent(b, i, source.registry);
      }
    }
    const path = join(dir, `${name}.ndjson`);
    writeFileSync(path, text);
    const back = await readAll(new NdjsonReader(path));
    expect(back.length).toBe(original.length);
    expect(back).toEqual(original);
  }

  it('carries the Deribit capture through NDJSON bit for bit', async () => {
    await roundTrip(new DeribitReader(DERIBIT, { reuseBatch: false }), 'deribit');
  });

  it('carries the Binance sample through NDJSON, and the engine raises the same alerts', async () => {
    await roundTrip(new BinanceReader(BINANCE), 'binance');
    const alertsOf = async (reader: AsyncIterable<EventBatch>): Promise<Alert[]> => {
      // Static thresholds of 4: the defaults raise no alert on this sample, and the point is the same alerts.
      const engine = Engine.create({ autoRegister: true, thresholds: { default: { mode: 'static', threshold: 4 } } });
      const alerts: Alert[] = [];
      for await (const b of reader) alerts.push(...engine.ingest(b).alerts);
      return alerts;
    };
    const direct = await alertsOf(new BinanceReader(BINANCE));
    const viaNdjson = await alertsOf(new NdjsonReader(join(dir, 'binance.ndjson')));
    expect(direct.length).toBeGreaterThan(0);
    expect(viaNdjson).toEqual(direct);
  });
});

describe('index-only marks', () => {
  // Mark and index are both optional, at least one present (NDJSON_FIELDS.mark.anyOf), as the engine's check has
  // it; values are judged by the engine (an index of -1 or an overflowing 1e999 reaches it and is rejected there).
  const TS0 = 1723161256000000000n;
  const lines: [string, string][] = [
    ['mark only', '"mark":61801.5'],
    ['index only', '"index":61790.25,"funding":0.0001'],
    ['both', '"mark":61801.5,"index":61790.25'],
    ['neither', '"funding":0.0001'],
    ['index "Infinity"', '"index":"Infinity"'],
    ['index 1e999', '"index":1e999'],
    ['index -1', '"index":-1'],
    ['mark -1, index fine', '"mark":-1,"index":61790.25'],
  ];
  const ndjson = lines.map(([, fields], i) => `{"ts":"${TS0 + BigInt(i)}","instrument":"BTCUSDT","kind":"mark",${fields}}\n`).join('');

  it('reads mark only, index only and both; refuses neither by name, and a non-numeric index', async () => {
    const path = join(dir, 'marks.ndjson');
    writeFileSync(path, ndjson);
    const reported: [number, string, string][] = [];
    const reader = new NdjsonReader(path, { onMalformed: (line, reason, detail) => reported.push([line, reason, detail]) });
    const events = await readAll(reader);
    expect(reported).toEqual([
      [4, 'missingField', 'a mark event needs mark or index'],
      [5, 'badNumber', 'mark field "index" is not a number: "Infinity"'],
    ]);
    expect(events).toEqual([
      { kind: Kind.mark, name: 'BTCUSDT', ts: TS0, seq: -1n, f: [61801.5, N, N, N, N, N] },
      { kind: Kind.mark, name: 'BTCUSDT', ts: TS0 + 1n, seq: -1n, f: [N, 61790.25, 0.0001, N, N, N] },
      { kind: Kind.mark, name: 'BTCUSDT', ts: TS0 + 2n, seq: -1n, f: [61801.5, 61790.25, N, N, N, N] },
      { kind: Kind.mark, name: 'BTCUSDT', ts: TS0 + 5n, seq: -1n, f: [N, Infinity, N, N, N, N] },
      { kind: Kind.mark, name: 'BTCUSDT', ts: TS0 + 6n, seq: -1n, f: [N, -1, N, N, N, N] },
      { kind: Kind.mark, name: 'BTCUSDT', ts: TS0 + 7n, seq: -1n, f: [-1, 61790.25, N, N, N, N] },
    ]);
    const ev = newCanonicalEvent();
    expect(parseCanonicalEvent(`{"ts":"1","instrument":"X","kind":"mark","mark":null,"index":null}`, ev))
      .toEqual({ reason: 'missingField', detail: 'a mark event needs mark or index', field: 'mark' });

    // The engine takes the three well-formed ones and rejects the rest by value, as its check (and the
    // reference's) says; nothing the reader let through is refused for a missing mark.
    const engine = Engine.create({ autoRegister: true });
    const rejects: string[] = [];
    let accepted = 0;
    for await (const b of new NdjsonReader(path, { registry: new Registry() })) {
      const r = engine.ingest(b);
      accepted += r.accepted;
      rejects.push(...r.rejects.map((x) => `${x.index}:${x.reason}`));
    }
    expect(accepted).toBe(3);
    expect(rejects).toEqual(['3:nonFinite', '4:negative', '5:negative']);
    expect(events.map((e) => REJECT_REASONS[check(e.kind, e.f)])).toEqual(['ok', 'ok', 'ok', 'nonFinite', 'negative', 'negative']);
  });

  it('writes an absent mark (or index) as no field, and reads the line back as it was', () => {
    const b = new EventBatch(3);
    const registry = new Registry();
    const id = registry.id('BTCUSDT');
    b.mark(id, TS0, NaN, 61790.25, 0.0001);
    b.mark(id, TS0 + 1n, 61801.5);
    b.mark(id, TS0 + 2n, 61801.5, 61790.25);
    const text = [0, 1, 2].map((i) => formatCanonicalEvent(b, i, registry));
    expect(text[0]).toBe(`{"ts":"${TS0}","instrument":"BTCUSDT","kind":"mark","index":61790.25,"funding":0.0001}\n`);
    expect(text[1]).toBe(`{"ts":"${TS0 + 1n}","instrument":"BTCUSDT","kind":"mark","mark":61801.5}\n`);
    const ev = newCanonicalEvent();
    for (let i = 0; i < 3; i++) {
      expect(parseCanonicalEvent(text[i].trimEnd(), ev)).toBeUndefined();
      expect(ev.f).toEqual(b.f.map((c) => c[i]));
    }
  });
});

describe('docs/protocol.md', () => {
  it('shows examples that the reader accepts, and the schema version the reader has', () => {
    const doc = readFileSync(fileURLToPath(new URL('../docs/protocol.md', import.meta.url)), 'utf8');
    const section = doc.slice(doc.indexOf('## Canonical events (NDJSON)'));
    expect(section).toMatch(new RegExp(`\\*\\*Schema version ${NDJSON_SCHEMA_VERSION}\\.\\*\\*`));
    const block = /```json\n([\s\S]*?)```/.exec(section)![1];
    const lines = block.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    const ev = newCanonicalEvent();
    const kinds = new Set<string>();
    for (const line of lines) {
      expect(parseCanonicalEvent(line, ev), line).toBeUndefined();
      kinds.add(ev.kindName);
    }
    expect([...kinds].sort()).toEqual(['mark', 'option', 'quote', 'trade', 'value']);
    // Every reason the reader can give is documented.
    for (const reason of NDJSON_MALFORMED_REASONS) expect(section).toContain(`\`${reason}\``);
  });
});
