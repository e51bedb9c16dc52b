// The injected-anomaly harness (src/eval/inject-eval.ts, `npm run eval:inject`) on the committed Binance samples: the
// obvious univariate anomalies are found by the channels meant to find them, the false alarms are the plain engine's
// on the untouched capture, and the multivariate anomalies keep every per-second feature within its band, measured
// on the injected stream itself (the engine's own observations, and by hand from the events for flow and counts).
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Kind } from '../src/abi.js';
import type { EventBatch } from '../src/events.js';
import { formatInjectTable, formatSweep, injectEval, type InjectEvalReport } from '../src/eval/inject-eval.js';
import {
  ANOMALY_TYPES, BAND_SECONDS, BAND_Z, bandOf, checkBands, chiSquareSurvival, erfc, fairValueDrift, flowAgainstBook, indexAt, INDEX_STALE_NS, jointRarity,
  mahalanobis2, mainInstrument, MARK_OFFSET_NS, measureSeconds, pearson, quoteMids, quoteStuffing, readCapture, SECOND_FEATURES, SECOND_NS, thinMarket,
  tradeSwarm, withIndexMarks, type AnomalyType, type SecondFeature, type SecondSeries,
} from '../src/eval/inject.js';
import { parseSweep } from '../scripts/inject-eval.js';
import { mulberry32 } from '../src/random.js';
import { alertRate } from '../scripts/alert-rate.js';

const SAMPLE = fileURLToPath(new URL('../data/samples/binance-usdm-btcusdt.txt.gz', import.meta.url));
const DEPTH = fileURLToPath(new URL('../data/samples/binance-usdm-btcusdt-depth.txt.gz', import.meta.url));

describe('eval:inject on the committed 3-minute sample', () => {
  let r: InjectEvalReport;
  beforeAll(async () => { r = await injectEval({ captures: [SAMPLE], per: 3, seed: 7 }); });

  it('places every type it can (3 each; the depth types need depth-diff quotes, which this sample has not, and the fair-value one an index)', () => {
    expect(r.captures[0].depth).toBe(false);
    for (const t of r.types) {
      const placed = r.any.detection[t.name].placed;
      const cannot = t.needsDepth || t.needsIndex === true;
      expect(placed, t.name).toBe(cannot ? 0 : 3);
      if (cannot) expect(r.any.detection[t.name].rate).toBeNull();
    }
  });

  it('placements are distinct seconds with the bands\' history before them and the window inside the sample', async () => {
    const b = await readCapture(SAMPLE);
    const first = Number(b.tsNs[0] / SECOND_NS), last = Number(b.tsNs[b.length - 1] / SECOND_NS);
    for (const [name, secs] of Object.entries(r.captures[0].placements)) {
      expect(new Set(secs).size, name).toBe(secs.length);
      for (const s of secs) {
        expect(s - first, name).toBeGreaterThan(BAND_SECONDS);
        expect(s + r.options.delayMs / 1000, name).toBeLessThan(last);
      }
    }
  });

  it('the obvious univariate anomalies are found by their channels at every placement, within the window', () => {
    for (const t of r.types.filter((x) => x.kind === 'univariate' && !x.needsDepth && x.name !== 'oneSidedBook')) {
      for (const ch of t.expected) {
        const row = r.channels.find((c) => c.channel === ch);
        expect(row, ch).toBeDefined();
        expect(row!.detection[t.name], `${t.name} by ${ch}`).toMatchObject({ found: 3, placed: 3, rate: 1 });
        expect(row!.detection[t.name].medianDelayMs!).toBeLessThanOrEqual(r.options.delayMs);
      }
    }
    // A top of book one-sided for 5 s is within these markets' normal (test/real-anomalies.test.ts): the imbalance
    // CUSUM needs ~13 s of it.
    expect(r.channels.find((c) => c.channel === 'imbalance.cusum')!.detection.oneSidedBook.found).toBe(0);
    // A channel is credited only for its own kind of anomaly here: the quote burst moves no price.
    expect(r.channels.find((c) => c.channel === 'midJump.zscore')!.detection.quoteBurst.found).toBe(0);
    const table = formatInjectTable(r);
    expect(table).toMatch(/^midJump\.zscore +100% /m);
    expect(table).toMatch(/^any channel +100% +100% /m);
  });

  it('rows are the enabled channels of the features the sample feeds: none of basis, funding, ivChange, value', () => {
    const names = r.channels.map((c) => c.channel);
    expect(names).toContain('quoteRate.ewma');
    expect(names.some((n) => /^(basis|funding|ivChange|value)\./.test(n))).toBe(false);
    // No depth in this sample: the depth features are never observed.
    expect(names.some((n) => n.startsWith('depth'))).toBe(false);
  });

  it('a channel a configuration adds appears as a row (channels come from the configuration and the alerts)', async () => {
    const r2 = await injectEval({ captures: [SAMPLE], per: 1, config: { features: { flow: { detectors: ['cusum', 'ewma'] } } } });
    expect(r2.channels.map((c) => c.channel)).toContain('flow.ewma');
    expect(r.channels.map((c) => c.channel)).not.toContain('flow.ewma');
  });

  it('the false alarms are the plain engine\'s alerts on the untouched capture, channel by channel', async () => {
    // Static thresholds of 3 make the default quiet sample alert: the counts must then agree with alert-rate's.
    const config = { thresholds: { default: { mode: 'static', threshold: 3 } } };
    const noisy = await injectEval({ captures: [SAMPLE], per: 1, config });
    const plain = await alertRate(SAMPLE, config);
    expect(Object.keys(plain.alertsByChannel).length).toBeGreaterThan(3);
    const got = Object.fromEntries(noisy.channels.filter((c) => c.falseAlarms > 0).map((c) => [c.channel, c.falseAlarms]));
    expect(got).toEqual(plain.alertsByChannel);
    expect(noisy.any.falseAlarms).toBe(Object.values(plain.alertsByChannel).reduce((a, b) => a + b, 0));
    expect(noisy.any.falseAlarmsPerHour).toBeCloseTo(noisy.any.falseAlarms / plain.instrumentHours, 6);
    // And with the default configuration the sample raises none (test/real-anomalies.test.ts).
    expect(r.any.falseAlarms).toBe(0);
  });

  it('an enabled learned channel has a row even when it never alerts; one that never steps is listed as idle', async () => {
    // HST over the sample's bucket features, window 16 (the sample is 3 minutes): it steps every second, and a
    // threshold out of reach keeps it silent. Before, such a channel had no row at all.
    const silent = await injectEval({
      captures: [SAMPLE], per: 1,
      config: { learned: { hst: { enabled: true, window: 16, features: ['volume', 'flow', 'imbalance'] } }, thresholds: { hst: { mode: 'static', threshold: 1e9 } } },
    });
    const row = silent.channels.find((c) => c.channel === 'vector.hst');
    expect(row).toBeDefined();
    expect(row!.falseAlarms).toBe(0);
    for (const t of silent.types) expect(row!.detection[t.name].found, t.name).toBe(0);
    // RLS fair value is on by default but the sample has no index (no mark events): it never steps.
    expect(silent.idle).toEqual(['fairValue.rls']);
    expect(formatInjectTable(silent)).toMatch(/^vector\.hst +0% /m);
    // Over depth alone on a sample without depth it never steps: no row, listed as idle.
    const idle = await injectEval({ captures: [SAMPLE], per: 1, types: [ANOMALY_TYPES[0]], config: { learned: { hst: { enabled: true, window: 16, features: ['depth'] } } } });
    expect(idle.channels.map((c) => c.channel)).not.toContain('vector.hst');
    expect(idle.idle).toEqual(['vector.hst', 'fairValue.rls']);
    expect(formatInjectTable(idle)).toContain('enabled but never stepped or observed on these captures (no row): vector.hst');
    // The default configuration enables one learned channel, RLS fair value, which has no index to regress on here.
    expect(r.idle).toEqual(['fairValue.rls']);
    expect(r.channels.some((c) => c.channel.startsWith('vector.'))).toBe(false);
  });

  it('a sweep reruns the same placements at each threshold: a row per value, exceedances never rise with the threshold, alerts fall overall', async () => {
    const config = { learned: { hst: { enabled: true, window: 16, features: ['volume', 'flow', 'imbalance'] } } }; // static 8 by default
    const values = [2, 3, 4, 5, 6, 8];
    const sw = await injectEval({ captures: [SAMPLE], per: 2, seed: 3, config, sweeps: [{ channel: 'vector.hst', values }] });
    expect(sw.sweeps).toHaveLength(1);
    const s0 = sw.sweeps[0];
    expect(s0).toMatchObject({ channel: 'vector.hst', mode: 'static' });
    expect(s0.rows.map((x) => x.threshold)).toEqual(values);
    for (const x of s0.rows) {
      expect(Object.keys(x.detection)).toEqual(sw.types.map((t) => t.name));
      for (const t of sw.types) expect(x.detection[t.name].placed, t.name).toBe(sw.any.detection[t.name].placed); // the same placements
      expect(x.falseAlarmsPerHour).toBeCloseTo(x.falseAlarms / sw.instrumentHours, 9);
      expect(x.chance).toBeCloseTo(1 - Math.exp(-x.falseAlarmsPerHour * sw.options.delayMs / 3.6e6), 12);
    }
    // Exceedances (points at or above the threshold on the untouched sample) never rise with a static threshold.
    // Alerts need not follow one for one (hysteresis: one episode through two peaks at a low threshold can be two
    // at a higher one; on this sample 1 alert at 3 and 2 at 4), but they fall overall and never exceed the points.
    const ex = s0.rows.map((x) => x.exceedances), fa = s0.rows.map((x) => x.falseAlarms);
    for (let k = 1; k < ex.length; k++) expect(ex[k], `exceedances at ${values[k]} vs ${values[k - 1]}`).toBeLessThanOrEqual(ex[k - 1]);
    for (let k = 0; k < fa.length; k++) expect(fa[k]).toBeLessThanOrEqual(ex[k]);
    expect(ex[0], 'the lowest threshold is exceeded on the untouched sample').toBeGreaterThan(ex[ex.length - 1]);
    expect(Math.max(...fa.slice(0, 3)), 'and alerts there').toBeGreaterThan(fa[fa.length - 1]);
    // At the configured threshold (8) the sweep row is the main table's row for the channel.
    const main = sw.channels.find((c) => c.channel === 'vector.hst')!, at8 = s0.rows[values.indexOf(8)];
    expect(at8.falseAlarms).toBe(main.falseAlarms);
    for (const t of sw.types) expect(at8.detection[t.name].found, t.name).toBe(main.detection[t.name].found);
    // The printed trade-off table: a header, a row per threshold.
    const lines = formatSweep(sw, s0).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^vector\.hst \(static\) +priceJump /);
    expect(lines.slice(1, 1 + values.length).map((l) => Number(l.split(/\s+/)[0]))).toEqual(values);
    expect(formatInjectTable(sw)).toContain(lines[0]);
    // Refused before any work: a channel the configuration does not enable, a name that is no channel, a bad value.
    await expect(injectEval({ captures: [SAMPLE], per: 1, sweeps: [{ channel: 'vector.hst', values: [5] }] })).rejects.toThrow(/vector\.hst is not enabled/);
    await expect(injectEval({ captures: [SAMPLE], per: 1, sweeps: [{ channel: 'spread', values: [5] }] })).rejects.toThrow(/"spread" is not a channel/);
    await expect(injectEval({ captures: [SAMPLE], per: 1, config, sweeps: [{ channel: 'vector.hst', values: [0] }] })).rejects.toThrow(/numbers > 0/);
    expect(parseSweep('vector.hst=5,6.5')).toEqual({ channel: 'vector.hst', values: [5, 6.5] });
    expect(() => parseSweep('vector.hst')).toThrow(/CHANNEL=T1,T2/);
    expect(() => parseSweep('vector.hst=5,x')).toThrow(/"x" is not a number > 0/);
  });

  it('is deterministic for a seed, and the seed moves the placements', async () => {
    const again = await injectEval({ captures: [SAMPLE], per: 3, seed: 7 });
    expect(again.captures[0].placements).toEqual(r.captures[0].placements);
    expect(again.channels).toEqual(r.channels);
    const other = await injectEval({ captures: [SAMPLE], per: 3, seed: 8 });
    expect(other.captures[0].placements).not.toEqual(r.captures[0].placements);
  });
});

/** Per second of [from, from + n): trades, quotes and the trades' flow, counted from the events themselves. */
function byHand(b: EventBatch, id: number, from: number, n: number) {
  const out = Array.from({ length: n }, () => ({ trades: 0, quotes: 0, buy: 0, sell: 0 }));
  for (let i = indexAt(b, BigInt(from) * SECOND_NS); i < b.length && b.tsNs[i] < BigInt(from + n) * SECOND_NS; i++) {
    if (b.instrument[i] !== id) continue;
    const s = out[Number(b.tsNs[i] / SECOND_NS) - from];
    if (b.kind[i] === Kind.trade) { s.trades++; if (b.f[2][i] > 0) s.buy += b.f[1][i]; else if (b.f[2][i] < 0) s.sell += b.f[1][i]; }
    else if (b.kind[i] === Kind.quote) s.quotes++;
  }
  return out;
}

describe('multivariate anomalies: every per-second feature stays within its band, measured on the injected stream', () => {
  let base: EventBatch, depthBase: EventBatch;
  let series: SecondSeries, depthSeries: SecondSeries;
  beforeAll(async () => {
    base = await readCapture(SAMPLE);
    depthBase = await readCapture(DEPTH);
    series = measureSeconds(base, mainInstrument(base));
    depthSeries = measureSeconds(depthBase, mainInstrument(depthBase));
  });

  const cases: { type: AnomalyType; depth: boolean; offsets: number[]; bandSeconds: number }[] = [
    { type: flowAgainstBook(), depth: false, offsets: [122, 128, 134, 140, 146, 152, 158, 164, 170], bandSeconds: 120 },
    { type: quoteStuffing(), depth: false, offsets: [122, 128, 134, 140, 146, 152, 158, 164, 170], bandSeconds: 120 },
    // The depth slice is 80 s long: bands over the 60 s before.
    { type: thinMarket(), depth: true, offsets: [61, 64, 67, 70, 73], bandSeconds: 60 },
  ];
  for (const c of cases) {
    it(`${c.type.name}: the features it sets move to ~1.2 scales, and no feature leaves ${BAND_Z} scales`, () => {
      const src = c.depth ? depthBase : base, untouched = c.depth ? depthSeries : series, id = mainInstrument(src);
      const seconds = c.type.durationMs / 1000;
      let accepted = 0, refused = 0;
      for (const off of c.offsets) {
        const S = Number(src.tsNs[0] / SECOND_NS) + off, at = BigInt(S) * SECOND_NS;
        const b = c.type.apply({ src, instrument: id, at, rng: mulberry32(off), series: untouched, bandSeconds: c.bandSeconds });
        const measured = measureSeconds(b, id);
        const check = checkBands(untouched, measured, S, seconds, c.bandSeconds, c.type.sets);
        if (!check.inBand) {
          // The harness refuses such a placement (and takes another): only where the market itself already had a
          // set feature out of its band and the type does not move it back (quotes are added, trades dropped, never
          // the reverse). Count them; the rest must be in band.
          refused++;
          continue;
        }
        accepted++;
        // What it sets did move, second after second, to the 1.2 scales it aims at, clamped to the feature's range
        // (flow and imbalance within [-1, 1], the rest >= 0); a trade count is only ever cut, a quote count raised.
        for (const f of c.type.sets) {
          const band = bandOf(untouched, f, S, c.bandSeconds)!;
          const lo = f === 'flow' || f === 'imbalance' ? -1 : 0, hi = lo < 0 ? 1 : Infinity;
          const targets = [1.2, -1.2].map((z) => Math.min(hi, Math.max(lo, band.median + z * band.scale)));
          let hit = 0;
          for (let s = S; s < S + seconds; s++) {
            const v = measured[f].get(s);
            if (v === undefined) continue;
            expect(Math.abs(v - band.median) / band.scale, `${f} at ${s - S}`).toBeLessThanOrEqual(BAND_Z);
            const exact = f === 'intensity' || f === 'quoteRate' ? 0.5 : 1e-6 * Math.max(1, Math.abs(v));
            if (targets.some((t) => Math.abs(v - t) <= exact)) hit++;
          }
          if (f === 'intensity') {
            // Trades are cut toward the target, never one at which the price moved: never more trades than the
            // market had, and fewer whenever it had more than the target.
            let had = 0, has = 0, over = false;
            for (let s = S; s < S + seconds; s++) {
              const u = untouched.intensity.get(s) ?? 0, v = measured.intensity.get(s) ?? 0;
              expect(v, `intensity at ${s - S}`).toBeLessThanOrEqual(u);
              had += u; has += v;
              if (u > targets[1] + 0.5) over = true;
            }
            if (over) expect(has, `${c.type.name} at +${off} s: trades`).toBeLessThan(had);
          } else {
            expect(hit, `${c.type.name} at +${off} s: seconds of ${f} at its target`).toBeGreaterThanOrEqual(f === 'flow' ? 1 : seconds - 1);
          }
        }
        // Nothing before the anomaly changed.
        const pre = measureSeconds(src, id, { to: indexAt(src, at) }), preInj = measureSeconds(b, id, { to: indexAt(b, at) });
        for (const f of Object.keys(pre) as SecondFeature[]) expect([...preInj[f]], f).toEqual([...pre[f]]);
        // By hand, from the events: the engine's flow, trade and quote counts are what the stream holds.
        const hand = byHand(b, id, S, seconds);
        for (let k = 0; k < seconds; k++) {
          expect(measured.intensity.get(S + k)).toBe(hand[k].trades);
          expect(measured.quoteRate.get(S + k)).toBe(hand[k].quotes);
          if (hand[k].buy + hand[k].sell > 0) expect(measured.flow.get(S + k)).toBeCloseTo((hand[k].buy - hand[k].sell) / (hand[k].buy + hand[k].sell), 9);
        }
      }
      expect(accepted, `${c.type.name}: ${refused} of ${c.offsets.length} placements out of band`).toBeGreaterThanOrEqual(c.offsets.length * 0.6);
    });
  }

  it('the anomalies are combinations: quoteStuffing raises the quote count and cuts the trades, flowAgainstBook turns flow and book against each other', () => {
    const id = mainInstrument(base);
    const S = Number(base.tsNs[0] / SECOND_NS) + 140, at = BigInt(S) * SECOND_NS;
    const qs = quoteStuffing().apply({ src: base, instrument: id, at, rng: mulberry32(3), series });
    const before = byHand(base, id, S, 5), after = byHand(qs, id, S, 5);
    const sum = (xs: { trades: number; quotes: number }[], k: 'trades' | 'quotes') => xs.reduce((a, x) => a + x[k], 0);
    expect(sum(after, 'quotes')).toBeGreaterThan(sum(before, 'quotes'));
    expect(sum(after, 'trades')).toBeLessThan(sum(before, 'trades'));
    const fab = flowAgainstBook().apply({ src: base, instrument: id, at, rng: mulberry32(3), series });
    const m = measureSeconds(fab, id);
    for (let s = S; s < S + 5; s++) {
      const flow = m.flow.get(s), imb = m.imbalance.get(s);
      if (flow === undefined || imb === undefined) continue;
      const fz = flow - bandOf(series, 'flow', S)!.median, iz = imb - bandOf(series, 'imbalance', S)!.median;
      expect(Math.sign(fz) * Math.sign(iz), `second ${s - S}`).toBeLessThanOrEqual(0);
    }
  });

  it('every anomaly type keeps the copy monotonic and leaves the stream before its start as it was', () => {
    const id = mainInstrument(depthBase);
    const at = (depthBase.tsNs[0] / SECOND_NS + 70n) * SECOND_NS;
    for (const t of ANOMALY_TYPES) {
      const b = t.apply({ src: depthBase, instrument: id, at, rng: mulberry32(1), series: depthSeries, bandSeconds: 60 });
      const n = indexAt(depthBase, at);
      expect(indexAt(b, at), t.name).toBe(n);
      for (let k = 0; k < 6; k++) expect(Array.from(b.f[k].subarray(0, n)), `${t.name} field ${k}`).toEqual(Array.from(depthBase.f[k].subarray(0, n)));
      expect(b.length, t.name).toBeGreaterThan(0);
    }
  });
});

describe('joint rarity: chi-square tail and squared Mahalanobis distance', () => {
  it('chiSquareSurvival matches known values (scipy.stats.chi2.sf) for 1-6 dof, and erfc scipy.special.erfc', () => {
    const known: [number, number, number][] = [
      [1, 1, 0.31731050786291115], [3.841458820694124, 1, 0.05], [5.991464547107979, 2, 0.05], [7.814727903251179, 3, 0.05],
      [9.487729036781154, 4, 0.05], [16.26623619623813, 3, 0.001], [19, 3, 0.0002733988874908009], [0.5, 3, 0.9188914116546758],
      [40, 1, 2.5396285894708634e-10], [2.5, 5, 0.7764950711233227], [12, 6, 0.06196880441665898],
    ];
    for (const [x, k, p] of known) expect(Math.abs(chiSquareSurvival(x, k) - p) / p, `sf(${x}, ${k})`).toBeLessThan(1e-12);
    for (const [x, v] of [[0.5, 0.4795001221869535], [1.99, 0.004888586800383002], [2, 0.004677734981047266], [2.5, 0.00040695201744495886], [5, 1.5374597944280347e-12]]) {
      expect(Math.abs(erfc(x) - v) / v, `erfc(${x})`).toBeLessThan(1e-12);
    }
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(chiSquareSurvival(Infinity, 2)).toBe(0);
    expect(() => chiSquareSurvival(1, 0)).toThrow(/dof/);
    expect(() => chiSquareSurvival(1, 1.5)).toThrow(/dof/);
  });

  it('mahalanobis2: two features at 1.2 scales in opposite directions with r = 0.32 give 2.88 / (1 - r); identity gives the sum of squares', () => {
    expect(mahalanobis2([1.2, -1.2], [[1, 0.32], [0.32, 1]])).toBeCloseTo(2.88 / 0.68, 12);
    expect(mahalanobis2([1.2, 1.2], [[1, 0.32], [0.32, 1]])).toBeCloseTo(2.88 / 1.32, 12);
    expect(mahalanobis2([1, 2, -3], [[1, 0, 0], [0, 1, 0], [0, 0, 1]])).toBeCloseTo(14, 12);
    expect(mahalanobis2([1, 1], [[1, 1], [1, 1]])).toBeNaN(); // singular
    expect(() => mahalanobis2([1, 1], [[1]])).toThrow(/matrix/);
  });

  it('jointRarity on a hand-made band window: median/MAD bands, Pearson 0.8, a point at (+1, -1) scales has d^2 = 10', () => {
    // intensity = 20 + 5 x, volume = 3 + y, (x, y) cycling through (-2,-1), (-1,-2), (0,0), (1,2), (2,1): each has
    // median 20 / 3 and MAD 5 / 1 (scale 1.4826 x), and r = (2 + 2 + 0 + 2 + 2) / 10 = 0.8.
    const px = [-2, -1, 0, 1, 2], py = [-1, -2, 0, 2, 1];
    const S = 1_000_000;
    const mk = () => Object.fromEntries(SECOND_FEATURES.map((f) => [f, new Map<number, number>()])) as SecondSeries;
    const u = mk(), inj = mk();
    for (let k = 0; k < BAND_SECONDS; k++) { u.intensity.set(S - BAND_SECONDS + k, 20 + 5 * px[k % 5]); u.volume.set(S - BAND_SECONDS + k, 3 + py[k % 5]); }
    const bi = bandOf(u, 'intensity', S)!, bv = bandOf(u, 'volume', S)!;
    expect(bi).toMatchObject({ median: 20, n: BAND_SECONDS });
    expect(bi.scale).toBeCloseTo(5 * 1.482602218505602, 12);
    expect(bv.scale).toBeCloseTo(1.482602218505602, 12);
    inj.intensity.set(S, 20 + bi.scale); inj.volume.set(S, 3 - bv.scale);
    inj.intensity.set(S + 1, 20 + 2 * bi.scale); inj.volume.set(S + 1, 3 + 2 * bv.scale); // along the correlation: d^2 = 8 / 1.8
    inj.intensity.set(S + 2, 20 + bi.scale); // volume missing: the second is not counted
    const j = jointRarity(u, inj, ['intensity', 'volume'], S, 3)!;
    expect(j.corr[0][1]).toBeCloseTo(0.8, 12);
    expect(j.seconds.map((x) => x.second)).toEqual([S, S + 1]);
    expect(j.seconds[0].d2).toBeCloseTo(10, 9);
    expect(j.seconds[1].d2).toBeCloseTo(8 / 1.8, 9);
    expect(j.d2).toBeCloseTo((10 + 8 / 1.8) / 2, 9); // the median of two
    expect(j.tail).toBeCloseTo(Math.exp(-j.d2 / 2), 12);
    expect(pearson([1, 2, 3], [5, 5, 5])).toBe(0);
    expect(jointRarity(u, inj, ['intensity', 'spread'], S, 3)).toBeUndefined(); // spread has no band
  });
});

describe('tradeSwarm: many small trades, a quiet book; each feature in its band, jointly rare', () => {
  let base: EventBatch, series: SecondSeries, id: number;
  beforeAll(async () => { base = await readCapture(SAMPLE); id = mainInstrument(base); series = measureSeconds(base, id); });

  it('moves intensity to +1.4 and volume, quote rate to -1.4 scales, keeps every feature in band, and its d^2 (measured) is >= 12 where placed', () => {
    const t = tradeSwarm();
    expect(t.minD2).toBe(12);
    let accepted = 0, lowD2 = 0, outOfBand = 0;
    const d2s: number[] = [];
    for (const off of [122, 128, 134, 140, 146, 152, 158, 164, 170]) {
      const S = Number(base.tsNs[0] / SECOND_NS) + off, at = BigInt(S) * SECOND_NS;
      const b = t.apply({ src: base, instrument: id, at, rng: mulberry32(off), series });
      const m = measureSeconds(b, id);
      const check = checkBands(series, m, S, 5, BAND_SECONDS, t.sets);
      if (!check.inBand) { outOfBand++; continue; }
      const j = jointRarity(series, m, t.sets, S, 5)!;
      expect(j.features).toEqual(['intensity', 'volume', 'quoteRate']);
      expect(j.tail).toBeCloseTo(chiSquareSurvival(j.d2, 3), 15);
      if (j.d2 < 12) { lowD2++; continue; }
      accepted++;
      d2s.push(j.d2);
      const hand = byHand(b, id, S, 5), was = byHand(base, id, S, 5);
      for (const [f, z] of [['intensity', 1.4], ['volume', -1.4], ['quoteRate', -1.4]] as [SecondFeature, number][]) {
        const band = bandOf(series, f, S)!;
        let target = Math.max(f === 'quoteRate' ? 1 : 0, band.median + z * band.scale);
        if (f === 'volume') {
          // Never below the second's trades times the smallest size traded in the band window (no size-0 trades).
          let lot = Infinity;
          for (let i = indexAt(base, at - BigInt(BAND_SECONDS) * SECOND_NS); i < indexAt(base, at); i++) if (base.kind[i] === Kind.trade && base.instrument[i] === id && base.f[1][i] > 0) lot = Math.min(lot, base.f[1][i]);
          const bi = bandOf(series, 'intensity', S)!;
          target = Math.max(target, Math.log1p(Math.round(bi.median + 1.4 * bi.scale) * lot));
        }
        let hit = 0;
        for (let k = 0; k < 5; k++) {
          const v = m[f].get(S + k);
          if (v === undefined) continue;
          expect(Math.abs(v - band.median) / band.scale, `${f} at +${off} s, second ${k}`).toBeLessThanOrEqual(BAND_Z);
          if (Math.abs(v - target) <= (f === 'volume' ? 1e-6 * Math.max(1, v) : 0.5)) hit++;
        }
        expect(hit, `${f} at +${off} s: seconds at its target`).toBeGreaterThanOrEqual(4);
      }
      for (let k = 0; k < 5; k++) {
        // The engine's counts are the stream's; trades split (never fewer than the market had, unless it had more
        // than the target), quotes only dropped, the flow of the second kept.
        expect(m.intensity.get(S + k)).toBe(hand[k].trades);
        expect(m.quoteRate.get(S + k)).toBe(hand[k].quotes);
        if (was[k].trades > 0 && was[k].trades < Math.round(bandOf(series, 'intensity', S)!.median)) expect(hand[k].trades).toBeGreaterThan(was[k].trades);
        if (hand[k].trades > 0) expect(hand[k].buy + hand[k].sell, `volume at +${off} s, second ${k}`).toBeGreaterThan(0);
        if (was[k].buy + was[k].sell > 0) {
          expect((hand[k].buy - hand[k].sell) / (hand[k].buy + hand[k].sell)).toBeCloseTo((was[k].buy - was[k].sell) / (was[k].buy + was[k].sell), 9);
        }
        if (hand[k].trades > 0) expect(m.volume.get(S + k)).toBeCloseTo(Math.log1p(hand[k].buy + hand[k].sell), 9);
      }
      // Nothing before the anomaly changed.
      const pre = measureSeconds(base, id, { to: indexAt(base, at) }), preInj = measureSeconds(b, id, { to: indexAt(b, at) });
      for (const f of Object.keys(pre) as SecondFeature[]) expect([...preInj[f]], f).toEqual([...pre[f]]);
    }
    expect(accepted, `${outOfBand} out of band, ${lowD2} with d^2 < 12`).toBeGreaterThanOrEqual(5);
    // Jointly rare: far beyond flowAgainstBook's ~4 and thinMarket's ~3 (the same computation, below).
    expect(Math.min(...d2s)).toBeGreaterThanOrEqual(12);
  });

  it('the 1.2-scale types are not far out jointly on the same sample: flowAgainstBook d^2 below 8 (chi-square 2 dof tail > 2%)', () => {
    const t = flowAgainstBook();
    const S = Number(base.tsNs[0] / SECOND_NS) + 140, at = BigInt(S) * SECOND_NS;
    const m = measureSeconds(t.apply({ src: base, instrument: id, at, rng: mulberry32(3), series }), id);
    const j = jointRarity(series, m, t.sets, S, 5)!;
    expect(j.d2).toBeGreaterThan(1);
    expect(j.d2).toBeLessThan(8);
    expect(j.tail).toBeGreaterThan(0.02);
  });
});

describe('fairValueDrift and the index marks (--index-from)', () => {
  let src: EventBatch, id: number;
  beforeAll(async () => { src = await readCapture(SAMPLE); id = mainInstrument(src); });

  /** At each mark of `id`: its time, f0, f1, and the instrument's mid as the stream's own quotes give it then. */
  function marks(b: EventBatch) {
    const out: { ts: bigint; f0: number; f1: number; mid: number }[] = [];
    let mid = NaN;
    for (let i = 0; i < b.length; i++) {
      if (b.instrument[i] !== id) continue;
      if (b.kind[i] === Kind.quote) mid = (b.f[0][i] + b.f[2][i]) / 2;
      else if (b.kind[i] === Kind.mark) out.push({ ts: b.tsNs[i], f0: b.f[0][i], f1: b.f[1][i], mid });
    }
    return out;
  }

  it('merges a mark a second at half past: f0 the instrument\'s own mid, f1 the index as of then, never stale', async () => {
    const other = await readCapture(fileURLToPath(new URL('../data/samples/binance-usdm-btcusdt-burst.txt.gz', import.meta.url)));
    const index = quoteMids(other, mainInstrument(other));
    const b = withIndexMarks(src, id, index);
    const m = marks(b);
    expect(m.length).toBeGreaterThan(30);
    expect(b.length - src.length).toBe(m.length);
    let k = 0;
    for (const x of m) {
      expect(x.ts % SECOND_NS).toBe(MARK_OFFSET_NS);
      expect(x.f0).toBe(x.mid);
      while (k + 1 < index.tsNs.length && index.tsNs[k + 1] <= x.ts) k++;
      expect(index.tsNs[k] <= x.ts && x.ts - index.tsNs[k] <= INDEX_STALE_NS).toBe(true);
      expect(x.f1).toBe(index.value[k]);
    }
    for (let i = 1; i < b.length; i++) expect(b.tsNs[i] >= b.tsNs[i - 1]).toBe(true);
  });

  it('moves mid minus index by the set bps over 5 s, measured on the injected stream; the index does not move', () => {
    // The index is the sample's own mid: mid minus index is 0 on the untouched stream, and exactly the drift after.
    const index = quoteMids(src, id);
    const S = Number(src.tsNs[0] / SECOND_NS) + 130, at = BigInt(S) * SECOND_NS;
    for (const [bps, side] of [[10, 1], [10, -1], [25, 1]] as const) {
      const type = fairValueDrift(bps, 5, side);
      const untouched = marks(withIndexMarks(src, id, index));
      const injected = marks(withIndexMarks(type.apply({ src, instrument: id, at, rng: mulberry32(1) }), id, index));
      expect(injected.map((x) => x.ts)).toEqual(untouched.map((x) => x.ts));
      let held = 0, prev = 0;
      injected.forEach((x, j) => {
        expect(x.f1, 'the index').toBe(untouched[j].f1);
        expect(x.f0, 'the mark is the stream\'s own mid').toBe(x.mid);
        const gap = 1e4 * (x.mid / x.f1 - 1); // mid minus index, bps
        if (x.ts < at) { expect(gap).toBe(0); return; }
        expect(side * gap, `${bps} bps at ${Number(x.ts - at) / 1e9} s`).toBeGreaterThanOrEqual(prev - 1e-9); // a ramp
        expect(side * gap).toBeLessThanOrEqual(bps + 1e-6);
        prev = side * gap;
        if (x.ts >= at + 5n * SECOND_NS + SECOND_NS) { expect(side * gap).toBeCloseTo(bps, 6); held++; }
      });
      expect(held).toBeGreaterThan(10);
      // Halfway through the ramp, about half the drift (the latest quote's time sets it).
      const mid = injected.find((x) => x.ts >= at + 2n * SECOND_NS)!;
      expect(side * 1e4 * (mid.mid / mid.f1 - 1)).toBeGreaterThan(bps * 0.3);
      expect(side * 1e4 * (mid.mid / mid.f1 - 1)).toBeLessThan(bps * 0.7);
    }
  });

  it('the harness places it only where there is an index, and the index capture gets no marks', async () => {
    const burst = fileURLToPath(new URL('../data/samples/binance-usdm-btcusdt-burst.txt.gz', import.meta.url));
    const types = [fairValueDrift()];
    const withIndex = await injectEval({ captures: [SAMPLE], per: 2, types, indexFrom: burst });
    expect(withIndex.any.detection.fairValueDrift.placed).toBe(2);
    expect(withIndex.captures[0].index).toMatchObject({ from: 'binance-usdm-btcusdt-burst.txt.gz' });
    expect(withIndex.captures[0].index!.marks).toBeGreaterThan(30);
    expect(withIndex.options.indexFrom).toBe('binance-usdm-btcusdt-burst.txt.gz');
    // The marks feed basis (mark against index): its channels are rows now.
    expect(withIndex.channels.map((c) => c.channel)).toContain('basis.zscore');
    const without = await injectEval({ captures: [SAMPLE], per: 2, types });
    expect(without.any.detection.fairValueDrift).toMatchObject({ placed: 0, rate: null });
    expect(without.channels.map((c) => c.channel)).not.toContain('basis.zscore');
    const self = await injectEval({ captures: [SAMPLE], per: 2, types, indexFrom: SAMPLE });
    expect(self.captures[0].index).toBeUndefined();
    expect(self.any.detection.fairValueDrift.placed).toBe(0);
  });
});
