// Canonical events as NDJSON: the engine's own event model, one JSON object per line. docs/protocol.md
// ("Canonical events (NDJSON)") is the specification; this file is its reader and writer.
//
//   {"ts":"1723161255030314667","instrument":"BTCUSDT","kind":"quote","bid":61800.2,"bidSize":2.5,"ask":61800.3,"askSize":2.5}
//
// Every line is checked against the schema and a line that fails is counted by reason with its line number, never
// half-read: unknown kind, missing field, unknown field, wrong type, non-numeric text, bad timestamp. Values are
// not range-checked here (a price of -1 is a well-formed event): the engine judges values and counts its rejects
// by reason, so that every input format is judged by one set of rules.
import { Kind, type KindName } from '../abi.js';
import { EventBatch } from '../events.js';
import { Registry } from '../registry.js';
import { batchedLines, countMalformed, isoToNs, MAX_NS, newReaderStats, show, type OnMalformed, type ReaderStats } from './common.js';

/** The schema version this reader reads and the writer writes (a line's optional `"v"`). */
export const NDJSON_SCHEMA_VERSION = 1;

export const NDJSON_MALFORMED_REASONS = [
  'badJson', 'notObject', 'badVersion', 'missingField', 'unknownKind', 'unknownField', 'wrongType', 'badNumber',
  'badValue', 'badTimestamp', 'truncated', 'corrupt',
] as const;
export type NdjsonMalformedReason = (typeof NDJSON_MALFORMED_REASONS)[number];

/**
 * The fields of each kind, in the order of the batch columns f0..f5 (docs/abi.md, "Events"): the required ones
 * first, then the optional ones. `anyOf`: optional fields of which an event needs at least one (a mark event, mark
 * or index: assembly/engine.ts `check`). The one description of the kinds' fields: the reader, the writer and the
 * sidecar's decoder (src/protocol/decode.ts) derive theirs from it.
 */
export const NDJSON_FIELDS: Record<KindName, { required: readonly string[]; optional: readonly string[]; anyOf?: readonly string[] }> = {
  trade: { required: ['price', 'size'], optional: ['side'] },
  quote: { required: ['bid', 'bidSize', 'ask', 'askSize'], optional: ['bidDepth', 'askDepth'] },
  mark: { required: [], optional: ['mark', 'index', 'funding'], anyOf: ['mark', 'index'] },
  option: { required: ['markIv'], optional: ['underlying', 'markPrice', 'bidIv', 'askIv', 'neighbourIv'] },
  value: { required: ['value'], optional: [] },
};

/** The refusal of an event of `kind` that has none of its `anyOf` fields (the NDJSON reader's and the sidecar's). */
export function anyOfMessage(kind: string, anyOf: readonly string[]): string {
  return `a ${kind} event needs ${anyOf.join(' or ')}`;
}

const KIND_NAMES = Object.keys(NDJSON_FIELDS) as KindName[];
const ENVELOPE = new Set(['v', 'ts', 'seq', 'instrument', 'kind']);
/** Per kind: its fields in column order, the columns of its anyOf, and the set of every key a line may have. */
const LAYOUT = Object.fromEntries(KIND_NAMES.map((k) => {
  const columns = [...NDJSON_FIELDS[k].required, ...NDJSON_FIELDS[k].optional];
  const anyOf = (NDJSON_FIELDS[k].anyOf ?? []).map((name) => columns.indexOf(name));
  if (anyOf.some((c) => c < NDJSON_FIELDS[k].required.length)) throw new Error(`NDJSON_FIELDS.${k}.anyOf names a field that is not optional`);
  return [k, { columns, required: NDJSON_FIELDS[k].required.length, anyOf, keys: new Set([...ENVELOPE, ...columns]) }];
})) as Record<KindName, { columns: string[]; required: number; anyOf: number[]; keys: Set<string> }>;

/** One canonical event as parsed; reused between lines by the reader. */
export interface CanonicalEvent {
  kind: number;
  kindName: KindName;
  /** The instrument's name; '' when the event gave an id instead (readCanonicalObject only). */
  instrument: string;
  /** The instrument's id when the event gave one (readCanonicalObject only), else -1. */
  instrumentId: number;
  tsNs: bigint;
  /** -1n when the line gives none (the engine numbers the event). */
  seq: bigint;
  /** Fields f0..f5; NaN where absent. */
  f: number[];
}

export function newCanonicalEvent(): CanonicalEvent {
  return { kind: 0, kindName: 'value', instrument: '', instrumentId: -1, tsNs: 0n, seq: -1n, f: [NaN, NaN, NaN, NaN, NaN, NaN] };
}

export interface NdjsonProblem {
  reason: NdjsonMalformedReason;
  detail: string;
  /** The field at fault, by its canonical name, when one is. */
  field?: string;
}

class Malformed {
  constructor(readonly reason: NdjsonMalformedReason, readonly detail: string, readonly field?: string) {}
}

const DECIMAL_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DIGITS_RE = /^\d+$/;

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof Uint8Array ? 'binary' : typeof v;
}

/** A value for a message: show() with bigints as their digits (JSON.stringify throws on them). */
function showValue(v: unknown): string {
  return typeof v === 'bigint' ? v.toString() : show(v);
}

/**
 * A field that must be a number: a JSON number, or a decimal string ("61800.2"), as exchanges send prices. A
 * bigint (a msgpack int64, from readCanonicalObject) is taken as its nearest double.
 */
function numberField(o: Record<string, unknown>, key: string, kind: string, required: boolean): number {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw new Malformed('missingField', `${kind} field "${key}" is missing`, key);
    return NaN;
  }
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (!DECIMAL_RE.test(t)) throw new Malformed('badNumber', `${kind} field "${key}" is not a number: ${show(v)}`, key);
    const x = +t;
    if (!Number.isFinite(x)) throw new Malformed('badNumber', `${kind} field "${key}" overflows a double: ${show(v)}`, key);
    return x;
  }
  if (typeof v === 'bigint') return Number(v);
  throw new Malformed('wrongType', `${kind} field "${key}" must be a number, got ${typeName(v)} ${showValue(v)}`, key);
}

/**
 * The text of number field `key`, parsed as `v`. From a JSON line (`line` given), its digits as written: JSON.parse
 * rounds integers past 2^53. From an already decoded object (`line` null) the value is all there is, and past 2^53
 * a double is not an exact integer: the text then says so, which no integer pattern matches.
 */
function numberText(line: string | null, key: string, v: number): string {
  if (line !== null) return rawTopLevelNumber(line, key) ?? String(v);
  return Number.isInteger(v) && !Number.isSafeInteger(v) ? `${v} (a double, not exact past 2^53: send an integer type or a string)` : String(v);
}

/**
 * The raw text of the number that is the value of top-level `key` in a JSON object text (last occurrence, as
 * JSON.parse keeps the last), or undefined. JSON.parse rounds integers past 2^53, and nanosecond timestamps are
 * near 1.7e18: their digits have to come from the text.
 */
export function rawTopLevelNumber(text: string, key: string): string | undefined {
  let depth = 0, found: string | undefined;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) { // a string: skip it, and if it is a key of the top-level object, look at its value
      let j = i + 1;
      while (j < n) {
        const cj = text.charCodeAt(j);
        if (cj === 92) j += 2; else if (cj === 34) break; else j++;
      }
      if (depth === 1 && j - i - 1 === key.length && text.startsWith(key, i + 1)) {
        let k = j + 1;
        while (k < n && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 9)) k++;
        if (text.charCodeAt(k) === 58) { // ':'
          k++;
          while (k < n && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 9)) k++;
          let e = k;
          while (e < n && /[-+0-9.eE]/.test(text[e])) e++;
          if (e > k) found = text.slice(k, e);
        }
      }
      i = j;
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) depth--;
  }
  return found;
}

/**
 * A non-negative integer below 2^63 given as a JSON number (digits read from the text), a string of digits or a
 * bigint; undefined otherwise.
 */
function integerField(line: string | null, o: Record<string, unknown>, key: string): bigint | undefined {
  const v = o[key];
  if (typeof v === 'bigint') return v >= 0n && v <= MAX_NS ? v : undefined;
  const digits = typeof v === 'number' ? numberText(line, key, v) : (v as string).trim();
  if (!DIGITS_RE.test(digits)) return undefined;
  const x = BigInt(digits);
  return x <= MAX_NS ? x : undefined;
}

function timestamp(line: string | null, o: Record<string, unknown>): bigint {
  const v = o.ts;
  if (v === undefined || v === null) throw new Malformed('missingField', 'field "ts" is missing', 'ts');
  if (typeof v === 'bigint') {
    if (v < 0n || v > MAX_NS) throw new Malformed('badTimestamp', `"ts" ${v} is outside 0 .. 2^63 - 1 nanoseconds`, 'ts');
    return v;
  }
  if (typeof v === 'number') {
    const ns = integerField(line, o, 'ts');
    if (ns === undefined) throw new Malformed('badTimestamp', `"ts" as a number must be an integer of nanoseconds since the epoch, got ${numberText(line, 'ts', v)}`, 'ts');
    return ns;
  }
  if (typeof v !== 'string') throw new Malformed('badTimestamp', `"ts" must be nanoseconds (a string or integer) or an ISO 8601 string, got ${typeName(v)}`, 'ts');
  const t = v.trim();
  if (DIGITS_RE.test(t)) {
    const ns = integerField(line, o, 'ts');
    if (ns === undefined) throw new Malformed('badTimestamp', `"ts" ${show(v)} is beyond 2^63 - 1 nanoseconds`, 'ts');
    return ns;
  }
  const ns = isoToNs(t, false);
  if (typeof ns === 'string') throw new Malformed('badTimestamp', `"ts" ${show(v)} is neither integer nanoseconds nor ISO 8601: ${ns}`, 'ts');
  if (ns > MAX_NS) throw new Malformed('badTimestamp', `"ts" ${show(v)} is beyond 2^63 - 1 nanoseconds`, 'ts');
  return ns;
}

function closeKey(key: string, keys: Set<string>): string | undefined {
  const lower = key.toLowerCase();
  for (const k of keys) if (k.toLowerCase() === lower) return k;
  return undefined;
}

function parseInto(line: string, out: CanonicalEvent): void {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (err) {
    throw new Malformed('badJson', (err as Error).message.slice(0, 80));
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Malformed('notObject', `a line must be one JSON object, got ${typeName(o)}`);
  readInto(o as Record<string, unknown>, line, false, out);
}

/**
 * The schema's rules over one parsed object. `line` is its JSON text (numbers' digits come from it), or null for an
 * object decoded from elsewhere (msgpack), whose numbers are what they are and whose integers may be bigints.
 * `instrumentIds`: an integer `instrument` is an id (the sidecar's rows); NDJSON names its instruments.
 */
function readInto(obj: Record<string, unknown>, line: string | null, instrumentIds: boolean, out: CanonicalEvent): void {
  if (obj.v !== undefined && obj.v !== NDJSON_SCHEMA_VERSION) throw new Malformed('badVersion', `schema version ${showValue(obj.v)} is not ${NDJSON_SCHEMA_VERSION}, the one this reader knows`, 'v');
  const kind = obj.kind;
  if (kind === undefined || kind === null) throw new Malformed('missingField', 'field "kind" is missing', 'kind');
  if (typeof kind !== 'string') throw new Malformed('wrongType', `field "kind" must be a string, got ${typeName(kind)} ${showValue(kind)}`, 'kind');
  if (!Object.hasOwn(NDJSON_FIELDS, kind)) throw new Malformed('unknownKind', `unknown kind ${show(kind)} (known: ${KIND_NAMES.join(', ')})`, 'kind');
  const kindName = kind as KindName;
  const instrument = obj.instrument;
  if (instrument === undefined || instrument === null) throw new Malformed('missingField', 'field "instrument" is missing', 'instrument');
  let instrumentId = -1;
  if (typeof instrument !== 'string') {
    if (!instrumentIds) throw new Malformed('wrongType', `field "instrument" must be a string (the name), got ${typeName(instrument)} ${showValue(instrument)}`, 'instrument');
    if (typeof instrument !== 'number' && typeof instrument !== 'bigint') {
      throw new Malformed('wrongType', `field "instrument" must be a name (string) or an id (integer), got ${typeName(instrument)} ${showValue(instrument)}`, 'instrument');
    }
    const id = Number(instrument);
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new Malformed('badValue', `field "instrument" as an id must be an integer in 0 .. 2^32 - 1, got ${showValue(instrument)}`, 'instrument');
    instrumentId = id;
  } else if (instrument.length === 0) throw new Malformed('badValue', 'field "instrument" is empty', 'instrument');
  out.tsNs = timestamp(line, obj);
  out.seq = -1n;
  const seq = obj.seq;
  if (seq !== undefined && seq !== null) {
    if (typeof seq !== 'number' && typeof seq !== 'string' && typeof seq !== 'bigint') throw new Malformed('wrongType', `field "seq" must be an integer or a string of digits, got ${typeName(seq)}`, 'seq');
    const s = integerField(line, obj, 'seq');
    if (s === undefined) throw new Malformed('badValue', `field "seq" must be a non-negative integer below 2^63, got ${showValue(seq)}`, 'seq');
    out.seq = s;
  }
  const layout = LAYOUT[kindName];
  for (const key in obj) {
    if (!layout.keys.has(key)) {
      const near = closeKey(key, layout.keys);
      throw new Malformed('unknownField', `field ${show(key)} is not part of a ${kindName} event${near ? ` (did you mean "${near}"?)` : ` (fields: ${layout.columns.join(', ')})`}`, key);
    }
  }
  const f = out.f;
  const { columns, required, anyOf } = layout;
  for (let k = 0; k < 6; k++) f[k] = NaN;
  for (let k = 0; k < columns.length; k++) {
    const key = columns[k];
    if (kindName === 'trade' && key === 'side') f[k] = side(obj.side);
    else f[k] = numberField(obj, key, kindName, k < required);
  }
  if (anyOf.length > 0 && anyOf.every((c) => f[c] !== f[c])) {
    throw new Malformed('missingField', anyOfMessage(kindName, NDJSON_FIELDS[kindName].anyOf!), columns[anyOf[0]]);
  }
  out.kind = Kind[kindName];
  out.kindName = kindName;
  out.instrument = instrumentId === -1 ? instrument as string : '';
  out.instrumentId = instrumentId;
}

/** A trade's side: +1 / "buy" buyer-initiated, -1 / "sell" seller-initiated, 0 / absent unknown. */
function side(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (v === 1 || v === 'buy' || v === 1n) return 1;
  if (v === -1 || v === 'sell' || v === -1n) return -1;
  if (v === 0 || v === 0n) return 0;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint') throw new Malformed('badValue', `trade field "side" must be 1, -1, 0, "buy" or "sell", got ${showValue(v)}`, 'side');
  throw new Malformed('wrongType', `trade field "side" must be a number or "buy"/"sell", got ${typeName(v)}`, 'side');
}

/** Parses one canonical line into `out`; returns undefined when it is a valid event, else what is wrong. */
export function parseCanonicalEvent(line: string, out: CanonicalEvent): NdjsonProblem | undefined {
  try {
    parseInto(line, out);
    return undefined;
  } catch (err) {
    if (err instanceof Malformed) return problemOf(err);
    throw err;
  }
}

/**
 * Reads one canonical event from an object decoded from elsewhere (the sidecar's msgpack `rows`) into `out`, by
 * the rules of a line: returns undefined when it is a valid event, else what is wrong. Unlike a line, `ts` and
 * `seq` may be bigints (msgpack int64), a number must be exact (a safe integer), and `instrument` may be an integer
 * id (then `out.instrumentId` holds it and `out.instrument` is '').
 */
export function readCanonicalObject(obj: Record<string, unknown>, out: CanonicalEvent): NdjsonProblem | undefined {
  try {
    readInto(obj, null, true, out);
    return undefined;
  } catch (err) {
    if (err instanceof Malformed) return problemOf(err);
    throw err;
  }
}

function problemOf(err: Malformed): NdjsonProblem {
  return err.field === undefined ? { reason: err.reason, detail: err.detail } : { reason: err.reason, detail: err.detail, field: err.field };
}

/** Event i of a batch as one canonical NDJSON line (with its newline): the writer matching the reader. */
export function formatCanonicalEvent(batch: EventBatch, i: number, registry: Registry): string {
  const kindName = KIND_NAMES.find((k) => Kind[k] === batch.kind[i]);
  if (kindName === undefined) throw new RangeError(`event ${i} has kind ${batch.kind[i]}, which has no canonical name`);
  const o: Record<string, unknown> = { ts: batch.tsNs[i].toString() };
  if (batch.seq[i] >= 0n) o.seq = batch.seq[i].toString();
  o.instrument = registry.name(batch.instrument[i]);
  o.kind = kindName;
  const { columns, required } = LAYOUT[kindName];
  for (let k = 0; k < columns.length; k++) {
    const x = batch.f[k][i];
    // Absent optional fields stay out of the line; JSON has no NaN or Infinity, so those are written as strings
    // (the reader refuses them as non-numeric, as the engine would refuse the event).
    if (k >= required && x !== x) continue;
    o[columns[k]] = Number.isFinite(x) ? x : String(x);
  }
  return JSON.stringify(o) + '\n';
}

export interface NdjsonOptions {
  /** Events per yielded batch (default 4096). */
  batchSize?: number;
  /** Maps instrument names to ids; share one across files and with the engine's user. A new one by default. */
  registry?: Registry;
  /** Reuse one EventBatch for every yield (default): consume each batch before asking for the next. */
  reuseBatch?: boolean;
  onMalformed?: OnMalformed;
}

/** A streaming reader of one canonical NDJSON file (gzip or plain), yielding EventBatch chunks. */
export class NdjsonReader implements AsyncIterable<EventBatch> {
  readonly path: string;
  readonly registry: Registry;
  readonly stats: ReaderStats;
  readonly #batchSize: number;
  readonly #reuse: boolean;
  readonly #onMalformed: OnMalformed | undefined;
  readonly #ids = new Map<string, number>();

  constructor(path: string, opts: NdjsonOptions = {}) {
    const batchSize = opts.batchSize ?? 4096;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    this.path = path;
    this.registry = opts.registry ?? new Registry();
    this.#batchSize = batchSize;
    this.#reuse = opts.reuseBatch ?? true;
    this.#onMalformed = opts.onMalformed;
    this.stats = newReaderStats();
  }

  [Symbol.asyncIterator](): AsyncIterator<EventBatch> {
    const stats = this.stats;
    const ev = newCanonicalEvent();
    return batchedLines(this.path, stats, { batchSize: this.#batchSize, reuse: this.#reuse, onMalformed: this.#onMalformed }, (line, lineNo, batch) => {
      const problem = parseCanonicalEvent(line, ev);
      if (problem) {
        countMalformed(stats, problem.reason, lineNo, problem.detail, this.#onMalformed);
        return;
      }
      let id = this.#ids.get(ev.instrument);
      if (id === undefined) { id = this.registry.id(ev.instrument); this.#ids.set(ev.instrument, id); }
      const f = ev.f;
      batch.push(ev.kind, id, ev.tsNs, f[0], f[1], f[2], f[3], f[4], f[5], ev.seq);
      stats.events[ev.kindName]++;
      if (stats.firstTsNs === undefined) stats.firstTsNs = ev.tsNs;
      stats.lastTsNs = ev.tsNs;
    });
  }
}
