// The sidecar's frame decoder (src/protocol): ns per event to decode and validate cols frames of 100, 1000 and
// 10000 events (as the encoder writes them, aligned, and at an odd address, where the columns are copied) and rows
// frames of 100 and 1000 events (plain maps and msgpackr records); and the producer side, encoding a cols frame.
// Run: node dist/bench/decode.js [--quick]
import { fileURLToPath } from 'node:url';
import { EventBatch } from '../src/events.js';
import { mulberry32 } from '../src/random.js';
import { FrameDecoder } from '../src/protocol/decode.js';
import { FrameEncoder } from '../src/protocol/encode.js';
import { fmt, measure, printTable, type Case, type Row } from './common.js';

const INSTRUMENTS = 16;
const T0 = 1723161255030314667n;

/** A market-like mix: 70 % quotes with depth, 30 % trades, over 16 instruments. */
function batch(n: number, seed: number): EventBatch {
  const r = mulberry32(seed);
  const b = new EventBatch(n);
  let ts = T0;
  for (let i = 0; i < n; i++) {
    ts += BigInt(1 + Math.floor(r() * 2e6));
    const inst = Math.floor(r() * INSTRUMENTS);
    const mid = 60_000 + 100 * r();
    if (r() < 0.7) b.quote(inst, ts, mid - 0.05, r() * 5, mid + 0.05, r() * 5, 10 + r() * 50, 10 + r() * 50);
    else b.trade(inst, ts, mid, r() * 2, r() < 0.5 ? 1 : -1);
  }
  return b;
}

const KINDS = ['', 'trade', 'quote'];
function rows(b: EventBatch): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < b.length; i++) {
    const base = { ts: b.tsNs[i], instrument: `I${b.instrument[i]}`, kind: KINDS[b.kind[i]] };
    const f = b.f;
    out.push(b.kind[i] === 1
      ? { ...base, price: f[0][i], size: f[1][i], side: f[2][i] }
      : { ...base, bid: f[0][i], bidSize: f[1][i], ask: f[2][i], askSize: f[3][i], bidDepth: f[4][i], askDepth: f[5][i] });
  }
  return out;
}

/** The same bytes one byte past an 8-aligned address: the decoder must copy the columns. */
function unaligned(bytes: Uint8Array): Uint8Array {
  const host = new Uint8Array(bytes.length + 1);
  host.set(bytes, 1);
  return host.subarray(1);
}

export async function decodeBench(opts: { quick?: boolean } = {}): Promise<Row[]> {
  const registered = new Uint8Array(INSTRUMENTS).fill(1);
  const ids = new Map(Array.from({ length: INSTRUMENTS }, (_, i) => [`I${i}`, i]));
  const decoder = new FrameDecoder({ isRegistered: registered, lookup: (name) => ids.get(name), maxFrameEvents: 16384 });
  const enc = new FrameEncoder();
  const records = new FrameEncoder({ records: true });
  const cases: Case[] = [];
  const decodeCase = (name: string, n: number, bytes: Uint8Array): void => {
    const check = decoder.decode(bytes);
    if ('code' in check) throw new Error(`${name}: ${check.code}: ${check.message}`);
    cases.push({ name, items: n, fn: () => { const m = decoder.decode(bytes); return 'code' in m ? 0 : m.t === 'cols' || m.t === 'rows' ? m.columns.n : 0; } });
  };
  for (const n of [100, 1000, 10000]) decodeCase(`decode cols, ${n} events`, n, enc.cols(0, batch(n, n)));
  decodeCase('decode cols, 1000 events, unaligned (copied)', 1000, unaligned(enc.cols(0, batch(1000, 1000))));
  for (const n of [100, 1000]) decodeCase(`decode rows (maps), ${n} events`, n, enc.rows(0, rows(batch(n, n))));
  decodeCase('decode rows (records), 1000 events', 1000, records.rows(0, rows(batch(1000, 1000))));
  const b1000 = batch(1000, 1);
  cases.push({ name: 'encode cols, 1000 events', items: 1000, fn: () => enc.cols(0, b1000).length });
  return measure('decode', cases, opts.quick ? { time: 300 } : {});
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const rows = await decodeBench({ quick });
  printTable('Frame decode and validation (ns per event)', rows);
  console.log('\nper frame:');
  for (const r of rows) console.log(`- ${r.name}: ${fmt((r.nsPerItem * r.items) / 1000)} us`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main().catch((err) => { console.error(err); process.exit(1); });
