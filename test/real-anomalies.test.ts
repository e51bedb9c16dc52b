// Anomalies injected into real market data (the committed Binance USD-M BTCUSDT slices), each in its own copy of
// the stream, must be found by the DEFAULT configuration within a stated delay, by a named feature and detector;
// the untouched slices must stay quiet. Injection is at the canonical-event level: the slice is read with
// BinanceReader, then the EventBatch columns are edited (or events inserted) with timestamps kept monotonic, by the
// anomaly types of src/eval/inject.ts (the same ones `npm run eval:inject` places in the full captures).
//
// Alert rate on the untouched slices, measured over the whole slice, warm-up included: 0 alerts on the 3-minute
// trades+bookTicker slice and 0 on the 80-second depth slice (the default target is at most 2 alerts per hour per
// instrument and feature; scripts/alert-rate.ts measures it on the longer captures).
//
// Delays: features observed per event (midJump, spread) fire on the first altered event; bucket features (volume,
// intensity, quoteRate, and the book's imbalance, depth, depthImbalance) are observed once per closed 1 s bucket,
// when the first event past the bucket's end arrives, and the bucket an anomaly starts in holds part of the normal
// market too: 2 s is the honest bound for them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind } from '../src/abi.js';
import { BinanceReader } from '../src/adapters/binance.js';
import { Engine, type Alert } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import {
  depthWithdrawal, indexAt, mainInstrument, oneSidedBook, oneSidedFullBook, priceJump, quoteBurst, readCapture, spreadBlowout, volumeBurst,
  type AnomalyType,
} from '../src/eval/inject.js';
import { mulberry32 } from '../src/random.js';

const SAMPLE = fileURLToPath(new URL('../data/samples/binance-usdm-btcusdt.txt.gz', import.meta.url));
const DEPTH = fileURLToPath(new URL('../data/samples/binance-usdm-btcusdt-depth.txt.gz', import.meta.url));
const SECOND = 1_000_000_000n;
const DEBUG = process.env.ATC_DEBUG_INJECT === '1';

/** A copy of `src` with the anomaly at `at` (inject() throws if the copy's timestamps go back anywhere). */
function inject(src: EventBatch, type: AnomalyType, at: bigint): EventBatch {
  return type.apply({ src, instrument: mainInstrument(src), at, rng: mulberry32(1) });
}

function run(batch: EventBatch): Alert[] {
  // The default configuration; only autoRegister is set, so that the slice's instrument is taken on first sight.
  const e = Engine.create({ autoRegister: true });
  const alerts: Alert[] = [];
  for (let s = 0; s < batch.length; s += 4096) alerts.push(...e.ingest(batch.slice(s, Math.min(batch.length, s + 4096))).alerts);
  return alerts;
}

const isQuote = (b: EventBatch, i: number) => b.kind[i] === Kind.quote;
/** The index of the first quote at or after `at`. */
function firstQuote(b: EventBatch, at: bigint): number {
  for (let i = indexAt(b, at); i < b.length; i++) if (isQuote(b, i)) return i;
  return -1;
}
const secs = (ns: bigint) => Number(ns) / 1e9;

function show(name: string, alerts: Alert[], at: bigint): void {
  if (!DEBUG) return;
  console.log(name, alerts.map((a) => `${a.feature}.${a.detector} +${secs(a.tsNs - at).toFixed(3)}s seq ${a.seq} v ${a.value.toPrecision(4)} s ${a.score.toFixed(1)} thr ${a.threshold.toFixed(1)}`));
}

/** The first alert of `feature.detector` at or after `at`. */
function caught(alerts: Alert[], channel: string, at: bigint): Alert | undefined {
  return alerts.find((a) => `${a.feature}.${a.detector}` === channel && a.tsNs >= at);
}

let base: EventBatch;
let depthBase: EventBatch;
let t0: bigint;
let at: bigint;

beforeAll(async () => {
  base = await readCapture(SAMPLE);
  depthBase = await readCapture(DEPTH);
  t0 = base.tsNs[0];
  at = t0 + 120n * SECOND; // two minutes in: past every warm-up of the quote features
});

describe('real data: the untouched slices stay quiet (default configuration)', () => {
  it('the 3-minute trades+bookTicker slice raises no alert, warm-up included', () => {
    expect(base.length).toBeGreaterThan(20_000);
    const alerts = run(base);
    show('untouched', alerts, t0);
    expect(alerts).toEqual([]);
  });

  it('the 80-second depth slice (quotes with depth from diffs) raises no alert, warm-up included', () => {
    let withDepth = 0;
    for (let i = 0; i < depthBase.length; i++) if (isQuote(depthBase, i) && !Number.isNaN(depthBase.f[4][i])) withDepth++;
    expect(withDepth).toBeGreaterThan(1000);
    const alerts = run(depthBase);
    show('untouched depth', alerts, depthBase.tsNs[0]);
    expect(alerts).toEqual([]);
  });
});

describe('real data: injected anomalies are found within a stated delay (default configuration)', () => {
  it('a 30 bps price jump: midJump.zscore on the first quote after it', () => {
    const b = inject(base, priceJump(30, 1), at);
    const first = firstQuote(b, at);
    const alerts = run(b);
    show('price jump', alerts, at);
    const a = caught(alerts, 'midJump.zscore', at);
    expect(a?.seq).toBe(BigInt(first));
    expect(a!.value).toBeCloseTo(30, 0);
    expect(alerts.filter((x) => x.tsNs < at)).toEqual([]);
  });

  it('a volume burst (1,000 buyer-initiated trades of 4 BTC within 1 s, ~25x the slice rate): volume.robust and intensity.cusum within 2 s', () => {
    // The slice's own events of that second come after the burst's.
    const b = inject(base, volumeBurst(1000, 4, 1), at);
    const alerts = run(b);
    show('volume burst', alerts, at);
    for (const ch of ['volume.robust', 'intensity.cusum']) {
      const a = caught(alerts, ch, at);
      expect(a, ch).toBeDefined();
      expect(secs(a!.tsNs - at), ch).toBeLessThanOrEqual(2);
    }
    expect(alerts.filter((x) => x.tsNs < at)).toEqual([]);
  });

  it('a one-sided book (top-of-book sizes and depth within 10 bps 1000:1 for 5 s, depth slice): depthImbalance.zscore within 2 s', () => {
    // The whole book flips to one side: the bid's top size and depth 1000x the ask's. The bucket's time-weighted
    // depth imbalance goes to 0.998 from about -0.06, many standard deviations of the per-second means: found when
    // the first bucket closes. (A book one-sided at the top only is another matter: see the next two tests.)
    const t = depthBase.tsNs[0] + 70n * SECOND;
    const b = inject(depthBase, oneSidedFullBook(5, 1000, 1), t);
    const alerts = run(b);
    show('one-sided full book', alerts, t);
    const a = caught(alerts, 'depthImbalance.zscore', t);
    expect(a).toBeDefined();
    expect(secs(a!.tsNs - t)).toBeLessThanOrEqual(2);
    expect(a!.value).toBeGreaterThan(0.8); // the first bucket's mean: the book one-sided for most of it
    expect(alerts.filter((x) => x.tsNs < t)).toEqual([]);
  });

  it('a book one-sided at the top only (sizes 1000:1) for 5 s is not an anomaly on this market: no imbalance alert', () => {
    // Only the best levels' sizes change, the depth behind them stays. On BTCUSDT the per-second mean of the top
    // -of-book imbalance spreads over most of [-1, 1] (sd ~0.5): 1000:1 (0.998) is a 2-sigma value, and on the three
    // normal captures (docs/detectors.md, "A book one-sided at the top") a whole second beyond 0.99 came 7 times in
    // 1,032 s, ~24 an hour. A detector that found five such seconds within 2 s would raise far more than the budget of
    // 2 alerts an hour on normal books; the imbalance CUSUM finds the book that stays one-sided (next test).
    const b = inject(base, oneSidedBook(5, 1000, 1), at);
    const alerts = run(b);
    show('one-sided book, 5 s', alerts, at);
    expect(alerts.filter((x) => x.feature === 'imbalance')).toEqual([]);
    // The stream did change: its top-of-book imbalance is 0.998 through the five seconds.
    let seen = 0;
    for (let i = indexAt(b, at); i < b.length && b.tsNs[i] < at + 5n * SECOND; i++) {
      if (isQuote(b, i)) { expect((b.f[1][i] - b.f[3][i]) / (b.f[1][i] + b.f[3][i])).toBeCloseTo(0.998, 3); seen++; }
    }
    expect(seen).toBeGreaterThan(100);
  });

  it('a book that stays one-sided (top-of-book sizes 1000:1 for 30 s): imbalance.cusum within 16 s', () => {
    // The same 2-sigma shift, sustained: the CUSUM's ~1.5 a bucket reaches 20 after about 13 full buckets (measured
    // 14.9 s here; 5 to 22 s, mostly 13 to 16, at 12 placements in the three normal captures).
    const b = inject(base, oneSidedBook(30, 1000, 1), at);
    const alerts = run(b);
    show('one-sided book, 30 s', alerts, at);
    const a = caught(alerts, 'imbalance.cusum', at);
    expect(a).toBeDefined();
    expect(secs(a!.tsNs - at)).toBeLessThanOrEqual(16);
    expect(a!.value).toBeGreaterThan(0.99); // the bucket's mean: the book was one-sided all through it
    expect(alerts.filter((x) => x.tsNs < at)).toEqual([]);
  });

  it('a spread blow-out (to 5 bps, for 2 s): spread.zscore on the first wide quote', () => {
    const b = inject(base, spreadBlowout(5, 2), at); // bid and ask at mid (1 -+ 2.5e-4)
    const first = firstQuote(b, at);
    const alerts = run(b);
    show('spread blow-out', alerts, at);
    const a = caught(alerts, 'spread.zscore', at);
    expect(a?.seq).toBe(BigInt(first));
    expect(a!.value).toBeCloseTo(5, 3);
  });

  it('a burst of quote updates (30x the slice rate, ~5,000 a second, for 2 s): quoteRate.ewma within 2 s', () => {
    // 29 repeats of each quote (the same top of book: a flood of updates that change nothing), spread over the gap
    // before the next event. (About 20x is the least the default finds: the slice's own quote rate swings between
    // ~100 and ~900 a second.)
    const b = inject(base, quoteBurst(29, 2), at);
    const alerts = run(b);
    show('quote burst', alerts, at);
    const a = caught(alerts, 'quoteRate.ewma', at);
    expect(a).toBeDefined();
    expect(secs(a!.tsNs - at)).toBeLessThanOrEqual(2);
    expect(alerts.filter((x) => x.tsNs < at)).toEqual([]);
  });

  it('depth withdrawn from the ask side (ask depth to 5% for 3 s, depth slice): depthImbalance.zscore within 2 s', () => {
    // 70 s in: bucket features score after 64 observed buckets (the default warm-up), so the depth slice is 80 s
    // long. The bucket's time-weighted depth imbalance goes from about -0.06 to 0.8, ~13 standard deviations of the
    // per-second means: the z-score fires when the bucket closes (0.93 s here; the same at 8 placements between 68 s
    // and 90 s in the full capture). (The CUSUM, observed per quote, was the detector before: per bucket it needs
    // three buckets at its threshold of 20, and on the normal captures it fired on the book's slow real drifts.)
    const t = depthBase.tsNs[0] + 70n * SECOND;
    const b = inject(depthBase, depthWithdrawal(0.05, 3, 1), t); // the ask side's depth times 0.05
    const alerts = run(b);
    show('depth withdrawn', alerts, t);
    const a = caught(alerts, 'depthImbalance.zscore', t);
    expect(a).toBeDefined();
    expect(secs(a!.tsNs - t)).toBeLessThanOrEqual(2);
    expect(alerts.filter((x) => x.tsNs < t)).toEqual([]);
  });
});

describe('real data: damaged input', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'atc-real-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('malformed lines and a truncated gzip in a copy of the slice: counted with line numbers, every valid event delivered', async () => {
    const lines = gunzipSync(readFileSync(SAMPLE)).toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const bad = new Map<number, string>([[10, '1723161256000000000 {"stream":"btcusdt@trade","data":{"e":"trade"'], [20, 'not a timestamp {"x":1}'], [30, '1723161256000000000 {"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","p":"abc","q":"1","T":1,"t":1,"m":true}}']]);
    const out: string[] = [];
    const keep = 5000; // the valid lines before the cut
    for (let i = 0; i < keep; i++) {
      const lineNo = out.length + 1;
      if (bad.has(lineNo)) out.push(bad.get(lineNo)!);
      out.push(lines[i]);
    }
    const gz = gzipSync(out.join('\n') + '\n' + lines.slice(keep, keep + 2000).join('\n') + '\n');
    const path = join(dir, 'damaged.gz');
    writeFileSync(path, gz.subarray(0, gz.length - 2000)); // cut inside the compressed stream

    // What a clean read of the same valid lines delivers.
    const cleanPath = join(dir, 'clean.gz');
    writeFileSync(cleanPath, gzipSync(lines.slice(0, keep).join('\n') + '\n'));
    const clean = new BinanceReader(cleanPath, { reuseBatch: false });
    const cleanEvents: bigint[] = [];
    for await (const b of clean) cleanEvents.push(...b.tsNs.subarray(0, b.length));

    const reader = new BinanceReader(path, { reuseBatch: false });
    const got: bigint[] = [];
    for await (const b of reader) got.push(...b.tsNs.subarray(0, b.length));
    const m = reader.stats.malformed;
    if (DEBUG) console.log(m, reader.stats.lines, got.length, cleanEvents.length);
    expect(m.badJson?.lines).toEqual([10]);
    expect(m.badTimestamp?.lines).toEqual([20]);
    expect(m.badNumber?.lines).toEqual([30]);
    expect(m.truncated?.count).toBe(1);
    expect(m.truncated!.lines[0]).toBeGreaterThan(keep + 3);
    // Every valid event of the lines before the cut is delivered, in order (and those after it up to the cut).
    expect(got.slice(0, cleanEvents.length)).toEqual(cleanEvents);
    expect(got.length).toBeGreaterThan(cleanEvents.length);
  });
});
