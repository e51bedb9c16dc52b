// What every input reader shares: the statistics it keeps while it streams (events by kind, skipped messages by
// type, malformed lines by reason with their line numbers, order-book gaps), and exact timestamp parsing.
//
// Timestamps never pass through a float: "1626993723.8049479" seconds and "2014-04-01 00:00:00.123456789" are
// cut into integer parts and assembled as bigint nanoseconds, so that a replay is exact to the digit it was given.
import type { KindName } from '../abi.js';
import { EventBatch } from '../events.js';
import { LineReader } from './lines.js';

export interface MalformedCount {
  count: number;
  /** The first FIRST_LINES_KEPT line numbers (1-based). */
  lines: number[];
  /** What was wrong on the first such line, for humans: `line 7: quote field "askSize" is missing`. */
  example: string;
}

/** Line numbers kept per reason: enough to find the pattern, bounded however damaged the input. */
export const FIRST_LINES_KEPT = 20;

export type EventCounts = Record<KindName, number>;

/** The statistics of one input file, kept up to date while its reader streams (progress displays read them). */
export interface ReaderStats {
  /** Lines read, blank ones included. */
  lines: number;
  events: EventCounts;
  /** Messages (or parts of messages) recognised but not turned into events, by type or reason. */
  skipped: Record<string, number>;
  /** Lines that could not be read, by reason. */
  malformed: Record<string, MalformedCount>;
  /** Order-book updates that did not follow the previous one (a lost message): 0 for inputs without books. */
  bookGaps: number;
  /** Time of the first and last event, ns (undefined before the first). */
  firstTsNs: bigint | undefined;
  lastTsNs: bigint | undefined;
  gzip: boolean;
  /** Bytes of the file read (compressed bytes for gzip): with the file's size, the progress of a replay. */
  bytesRead: number;
}

/** Called for every malformed line, not only the first FIRST_LINES_KEPT of a reason. */
export type OnMalformed = (line: number, reason: string, detail: string) => void;

export function emptyEventCounts(): EventCounts {
  return { trade: 0, quote: 0, mark: 0, option: 0, value: 0 };
}

export function newReaderStats(): ReaderStats {
  return {
    lines: 0, events: emptyEventCounts(), skipped: {}, malformed: {}, bookGaps: 0,
    firstTsNs: undefined, lastTsNs: undefined, gzip: false, bytesRead: 0,
  };
}

export function countMalformed(stats: ReaderStats, reason: string, line: number, detail: string, onMalformed?: OnMalformed): void {
  let m = stats.malformed[reason];
  if (!m) m = stats.malformed[reason] = { count: 0, lines: [], example: `line ${line}: ${detail}` };
  m.count++;
  if (m.lines.length < FIRST_LINES_KEPT) m.lines.push(line);
  onMalformed?.(line, reason, detail);
}

export function countSkipped(stats: ReaderStats, what: string, n = 1): void {
  stats.skipped[what] = (stats.skipped[what] ?? 0) + n;
}

export function totalEvents(events: EventCounts): number {
  return events.trade + events.quote + events.mark + events.option + events.value;
}

export function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** A JSON value, shortened for an error message. */
export function show(v: unknown, max = 40): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

// ---- Time -----------------------------------------------------------------------------------------------------
/** The largest i64: timestamps beyond it would wrap in the batch's BigInt64Array. */
export const MAX_NS = 0x7fffffffffffffffn;
const NS_PER_S = 1_000_000_000n;
const NS_PER_MS = 1_000_000n;

/** Milliseconds since the epoch (an exchange timestamp) as ns, or -1n when not a non-negative integer. */
export function msToNs(ms: unknown): bigint {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) return -1n;
  return BigInt(ms) * NS_PER_MS;
}

/**
 * A decimal count of seconds since the epoch with an optional fraction (`1626993723.8049479`, as a recorder
 * prints Python's time.time()) as ns, or -1n when it is not one. Digits past the ninth decimal are dropped
 * (below a nanosecond).
 */
export function decimalSecondsToNs(text: string): bigint {
  const dot = text.indexOf('.');
  const whole = dot === -1 ? text : text.slice(0, dot);
  const frac = dot === -1 ? '' : text.slice(dot + 1);
  if (!isDigits(whole) || (dot !== -1 && !isDigits(frac))) return -1n;
  if (whole.length > 12) return -1n; // more seconds than year 33,000: not a time in seconds
  const ns = BigInt(whole) * NS_PER_S + BigInt(frac.slice(0, 9).padEnd(9, '0'));
  return ns;
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * An integer epoch of unknown unit as ns, the unit told by its number of digits (this century has 10-digit
 * seconds, 13-digit ms, 16-digit us and 19-digit ns); -1n for any other length.
 */
export function integerEpochToNs(digits: string): bigint {
  if (!isDigits(digits)) return -1n;
  const n = BigInt(digits);
  switch (digits.length) {
    case 9: case 10: return n * NS_PER_S;
    case 12: case 13: return n * NS_PER_MS;
    case 15: case 16: return n * 1000n;
    case 18: case 19: return n <= MAX_NS ? n : -1n;
    default: return -1n;
  }
}

// ISO 8601 / RFC 3339 date-time: 2024-08-08T23:54:15.030314667Z, or with a space for the T, or an offset.
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * An ISO 8601 date and time as ns since the epoch, or a reason it is not one. Up to nine fractional digits are
 * exact. A time without a zone is read as UTC only when `assumeUtc` is set (the NAB series say nothing of their
 * zone; a canonical event must say it).
 */
export function isoToNs(text: string, assumeUtc: boolean): bigint | string {
  const m = ISO_RE.exec(text);
  if (!m) return 'not an ISO 8601 time like 2024-08-08T23:54:15.030314667Z';
  const [, ys, mos, ds, hs, mis, ss, frac, zone] = m;
  const y = +ys, mo = +mos, d = +ds, h = +hs, mi = +mis, s = ss === undefined ? 0 : +ss;
  if (mo < 1 || mo > 12) return `month ${mos} is out of range`;
  // Date.UTC rolls 2014-02-30 over into March; a day past the month's end is an error, not a date.
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d < 1 || d > daysInMonth) return `day ${ds} is out of range for ${ys}-${mos}`;
  if (h > 23 || mi > 59 || s > 59) return `time ${hs}:${mis}${ss === undefined ? '' : `:${ss}`} is out of range`;
  let offsetMin = 0;
  if (zone === undefined) {
    if (!assumeUtc) return 'has no zone: end it with Z (UTC) or an offset like +02:00';
  } else if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = +digits.slice(0, 2), om = digits.length > 2 ? +digits.slice(2) : 0;
    if (oh > 23 || om > 59) return `offset ${zone} is out of range`;
    offsetMin = sign * (oh * 60 + om);
  }
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) - offsetMin * 60_000;
  if (ms < 0) return 'is before 1970';
  return BigInt(ms) * NS_PER_MS + BigInt((frac ?? '').padEnd(9, '0'));
}

/**
 * The loop every line-oriented reader shares: read `path` (gzip or plain) line by line, hand each non-blank line
 * and its number to `onLine` (which appends its events to the batch it is given), yield the batch whenever it
 * holds `batchSize` events or more and once at the end, and keep `stats`' line count, bytes read and gzip flag
 * current. A truncated or corrupt gzip is counted as malformed at the line where the input ends.
 */
export async function* batchedLines(
  path: string, stats: ReaderStats, opts: { batchSize: number; reuse: boolean; onMalformed?: OnMalformed },
  onLine: (line: string, lineNo: number, batch: EventBatch) => void,
): AsyncGenerator<EventBatch> {
  const input = new LineReader(path);
  const size = opts.batchSize;
  let batch = new EventBatch(size);
  let lineNo = 0;
  for await (const lines of input) {
    stats.gzip = input.gzip;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      lineNo++;
      if (isBlank(line)) continue;
      onLine(line, lineNo, batch);
      if (batch.length >= size) {
        stats.lines = lineNo;
        stats.bytesRead = input.bytesRead;
        yield batch;
        batch = opts.reuse ? batch.clear() : new EventBatch(size);
      }
    }
    stats.lines = lineNo;
    stats.bytesRead = input.bytesRead;
  }
  stats.gzip = input.gzip;
  stats.bytesRead = input.bytesRead;
  if (input.damage) countMalformed(stats, input.damage, input.damageLine, `gzip input ends early (${input.damageMessage}); the cut-off line is dropped`, opts.onMalformed);
  if (batch.length > 0) yield batch;
}
