// The report's parts without a browser: the tracer against a plain Engine run (same alerts, same state, and what it
// records is what the engine held), the min/max decimation and its memory bound, the HTML's escaping and the
// model's checks, and `atc eval --report`. test/report-browser.test.ts opens the pages in chromium.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARENA, DETECTORS, FEATURES, type FeatureName } from '../src/abi.js';
import { UsageError } from '../src/cli-common.js';
import { Engine } from '../src/engine.js';
import { evalCommand } from '../src/eval/cli.js';
import { EventBatch } from '../src/events.js';
import {
  escapeHtml, MinMaxBuffer, nsToMsExact, renderReport, reportModel, ReportModelError, Tracer, type Panel, type ReportModel,
} from '../src/report/index.js';
import { marketStream, SECOND, T0, valueStream } from './helpers/streams.js';
import { runCli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IDS = [1, 2, 3];
const SCORE_CAP = 1e6;

// Every calibrator mode active within the stream (low calibration warm-up, short rate epoch), as test/engine.test.ts.
const CONFIG = {
  window: 64, warmup: 16,
  calibration: { warmup: 200, rateEpochMs: 10_000, targetPerHour: 20 },
  suppression: { cooldownMs: 2_000 },
  thresholds: { default: { mode: 'target', threshold: 6 }, zscore: { mode: 'static', threshold: 5 }, robust: { mode: 'regime', threshold: 6 } },
};

function engine(config: Record<string, unknown> = CONFIG): Engine {
  const e = Engine.create(config);
  for (const id of IDS) e.register(id);
  return e;
}

/** The market stream, then events the engine must reject: back in time, NaN price, unknown instrument. */
function stream(): EventBatch {
  const b = marketStream({ seed: 11, instruments: IDS, n: 40_000, jumps: [9_000, 23_000, 31_000] });
  const last = b.tsNs[b.length - 1];
  b.trade(1, T0, 60_000, 1, 1);
  b.trade(2, last + 1n, NaN, 1, 1);
  b.value(99, last + 2n, 1);
  b.value(3, last + SECOND, 100);
  return b;
}

function sameState(a: Uint8Array, b: Uint8Array): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  x.fill(0, ARENA.CONSUMED, ARENA.CONSUMED + 4); // events consumed by the last ingest call: 1 for the tracer
  y.fill(0, ARENA.CONSUMED, ARENA.CONSUMED + 4);
  return x.equals(y);
}

const f32 = Math.fround;

describe('Tracer against a plain Engine run', () => {
  const plain = engine();
  const plainBatch = stream();
  const expected = plain.ingest(plainBatch);
  const traced = engine();
  const tracer = new Tracer(traced, { name: (id) => `inst-${id}` });
  const batch = stream();
  const got = tracer.ingest(batch);
  const panels = tracer.panels();

  it('gives the same alerts, rejects, sequence numbers and final state as Engine.ingest', () => {
    expect(expected.alerts.length).toBeGreaterThan(20);
    expect(new Set(expected.alerts.map((a) => a.feature)).size).toBeGreaterThanOrEqual(4);
    expect(got.alerts).toEqual(expected.alerts);
    expect(got.accepted).toBe(expected.accepted);
    expect(got.rejects).toEqual(expected.rejects);
    expect(got.rejects.map((r) => r.reason)).toEqual(['timeBackwards', 'nonFinite', 'unknownInstrument']);
    expect([...batch.seq]).toEqual([...plainBatch.seq]);
    expect(sameState(traced.snapshot(), plain.snapshot())).toBe(true);
  });

  it('makes a panel per instrument and enabled feature, and puts each alert on its panel, exactly', () => {
    const enabled = FEATURES.filter((f) => !Number.isNaN(traced.featureStat(1, f, 'observations')));
    expect(enabled.length).toBeGreaterThan(10);
    expect(panels.length).toBe(IDS.length * enabled.length);
    expect(panels.map((p) => p.instrument)).toContain('inst-2');
    const onPanels = panels.flatMap((p) => p.alerts.map((a) => ({ ...a, instrument: p.instrument, feature: p.feature })));
    // Panels are per feature: the instrument-level (learned) channels' alerts (feature "vector") have none.
    const perFeature = got.alerts.filter((a) => (FEATURES as readonly string[]).includes(a.feature));
    expect(onPanels.length).toBe(perFeature.length);
    for (const a of perFeature) {
      const p = panels.find((q) => q.instrument === `inst-${a.instrument}` && q.feature === a.feature)!;
      expect(p.alerts).toContainEqual({
        tsMs: nsToMsExact(a.tsNs), seq: a.seq.toString(), detector: a.detector, severity: a.severity, regime: a.regime,
        mode: a.mode, value: a.value, expected: a.expected, score: a.score, threshold: a.threshold,
      });
    }
  });

  it('records every observation: the last point of each panel is the engine state at the end', () => {
    let checked = 0;
    for (const p of panels) {
      const id = Number(p.instrument.slice(5));
      const feature = p.feature as FeatureName;
      expect(p.observations + p.coalesced).toBe(traced.featureStat(id, feature, 'observations'));
      expect(p.tsMs.length).toBe(p.observations);
      if (p.tsMs.length === 0) continue;
      const last = p.tsMs.length - 1;
      expect(p.value[last]).toBe(traced.featureStat(id, feature, 'last'));
      for (const d of p.detectors) {
        expect(d.score[last]).toBe(f32(traced.channelStat(id, feature, d.detector, 'score')));
        expect(d.threshold[last]).toBe(f32(traced.channelStat(id, feature, d.detector, 'threshold')));
        checked++;
      }
      expect(p.tsMs.every((t, i) => i === 0 || t >= p.tsMs[i - 1])).toBe(true);
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('records the baseline the detectors scored against: alerts agree, and |value - expected| / scale is the z-score', () => {
    let alerts = 0, points = 0;
    for (const p of panels) {
      const z = p.detectors.find((d) => d.detector === p.band.detector);
      if (!z || p.band.kind !== 'threshold' || p.band.detector === 'ewma' || p.band.detector === 'novelty') continue; // novelty: its own test below
      for (const a of p.alerts.filter((x) => x.detector === p.band.detector)) {
        const i = p.tsMs.findIndex((t, k) => t === a.tsMs && p.value[k] === a.value);
        expect(i).toBeGreaterThanOrEqual(0);
        expect(p.expected[i]).toBe(a.expected);
        expect(z.score[i]).toBe(f32(a.score));
        expect(z.threshold[i]).toBe(f32(a.threshold));
        expect(Math.abs(p.hi[i] - (a.expected + z.threshold[i] * p.scale[i]))).toBeLessThanOrEqual(1e-6 * Math.abs(p.hi[i]) + 1e-12);
        alerts++;
      }
      // Except where an event observed the feature twice (volume: a bucket, then a run of empty ones): there the
      // point is the second value with the first one's baseline (src/report/trace.ts), so at most `coalesced` differ.
      let off = 0;
      for (let i = 0; i < p.tsMs.length; i++) {
        const s = z.score[i];
        if (!(s > 0.01 && s < SCORE_CAP)) continue;
        const z2 = Math.abs(p.value[i] - p.expected[i]) / p.scale[i];
        if (Math.abs(z2 - s) > 1e-5 * Math.max(1, s)) off++;
        points++;
      }
      expect(off).toBeLessThanOrEqual(p.coalesced);
    }
    expect(alerts).toBeGreaterThan(5);
    expect(points).toBeGreaterThan(1000);
  });

  it('a novelty feature\'s band is the range seen before each value, widened by the threshold, and its alerts lie outside', () => {
    const e = Engine.create({ autoRegister: true }); // value: novelty, static 100 bps
    const b = valueStream({ seed: 5, id: 9, n: 3000, gapNs: SECOND });
    b.f[0][2000] += 12;
    const tracer = new Tracer(e, { features: ['value'] });
    tracer.ingest(b);
    const p = tracer.panels()[0];
    expect(p.band).toMatchObject({ kind: 'threshold', detector: 'novelty', expected: 'range' });
    const t = p.detectors.find((d) => d.detector === 'novelty')!;
    let lo = Infinity, hi = -Infinity, checked = 0;
    for (let i = 0; i < p.tsMs.length; i++) {
      if (i >= 64) {
        // The range of the values before this one, as computed here, against the engine's: the band is exact.
        const m = t.threshold[i] * (hi - lo) / 1e4;
        expect(p.lo[i]).toBeCloseTo(lo - m, 9);
        expect(p.hi[i]).toBeCloseTo(hi + m, 9);
        checked++;
      }
      lo = Math.min(lo, b.f[0][i]);
      hi = Math.max(hi, b.f[0][i]);
    }
    expect(checked).toBe(3000 - 64);
    const spike = p.alerts.find((a) => a.seq === '2000')!;
    expect(spike.detector).toBe('novelty');
    expect(p.value[2000]).toBeGreaterThan(p.hi[2000]);
  });

  it('has no band and scores 0 during warm-up, and a band after', () => {
    const p = panels.find((q) => q.instrument === 'inst-1' && q.feature === 'spread')!;
    expect(p.band).toMatchObject({ kind: 'threshold', detector: 'zscore' });
    for (let i = 0; i < 16; i++) {
      expect(p.lo[i]).toBeNaN();
      expect(p.detectors[0].score[i]).toBe(0);
      expect(p.detectors[0].threshold[i]).toBeNaN();
    }
    expect(p.lo[16]).toBeLessThan(p.expected[16]);
    expect(p.hi[16]).toBeGreaterThan(p.expected[16]);
    // A CUSUM feature's band is its reference, mean +- k sd (imbalance's; depth's detector is the z-score since the
    // book features are observed per bucket).
    const imbalance = panels.find((q) => q.feature === 'imbalance')!;
    expect(imbalance.band).toMatchObject({ kind: 'reference', detector: 'cusum', multiplier: 0.5 });
  });

  it('traces only the instruments and features asked for', () => {
    const t = new Tracer(engine(), { instruments: (id) => id === 2, features: ['return', 'spread'] });
    const r = t.ingest(stream());
    expect(r.alerts).toEqual(expected.alerts);
    expect(t.panels().map((p) => `${p.instrument}.${p.feature}`)).toEqual(['2.return', '2.spread']);
  });

  it('rejects bad options, naming them', () => {
    expect(() => new Tracer(engine(), { maxPoints: 10 })).toThrow(/maxPoints must be an integer in \[16/);
    expect(() => new Tracer(engine(), { maxPoints: 1.5 })).toThrow(/maxPoints/);
    expect(() => new Tracer(engine(), { features: ['nope' as FeatureName] })).toThrow(/unknown feature "nope"/);
    const quiet = Engine.create({ features: { funding: { enabled: false } } });
    expect(() => new Tracer(quiet, { features: ['funding'] })).toThrow(/funding has no detector/);
    expect(() => new Tracer(engine(), { name: 'x' as unknown as (id: number) => string })).toThrow(/name must be a function/);
  });
});

describe('MinMaxBuffer: decimation', () => {
  const noise = (i: number) => Math.sin(i * 12.9898) * 0.5;

  it('keeps every row up to maxPoints, then buckets', () => {
    const b = new MinMaxBuffer([false, true], 1000);
    for (let i = 0; i < 1000; i++) b.push(i, [noise(i), i]);
    let r = b.read();
    expect(r.tsMs.length).toBe(1000);
    expect(b.bucketObservations).toBe(1);
    expect([...r.tsMs]).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...r.columns[1]]).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    b.push(1000, [0, 1000]);
    r = b.read();
    expect(b.bucketObservations).toBe(4);
    expect(r.tsMs.length).toBeLessThanOrEqual(1000);
    expect(r.tsMs.length).toBe(501);
  });

  it('keeps the spikes of every column, at their own times for the first', () => {
    const maxPoints = 1000, n = 200_003;
    const b = new MinMaxBuffer([false, false, true], maxPoints);
    const up = 123_457, down = 77_777, other = 150_001;
    let prevBytes = 0;
    for (let i = 0; i < n; i++) {
      const v = i === up ? 40 : i === down ? -30 : noise(i);
      b.push(1000 + i * 10, [v, i === other ? 99 : noise(i + 1), i % 2 ? NaN : i]);
      if (i === 100_000) prevBytes = b.bytes;
    }
    expect(b.observations).toBe(n);
    expect(b.bytes).toBe(prevBytes); // no growth once full
    expect(b.bytes).toBeLessThanOrEqual(maxPoints * (8 + 8 + 8 + 4));
    const { tsMs, columns: [v, w, x] } = b.read();
    expect(tsMs.length).toBeLessThanOrEqual(maxPoints);
    expect(tsMs.length).toBeGreaterThan(maxPoints / 2 - 2);
    expect(Math.max(...v)).toBe(40);
    expect(tsMs[v.indexOf(40)]).toBe(1000 + up * 10);
    expect(Math.min(...v)).toBe(-30);
    expect(tsMs[v.indexOf(-30)]).toBe(1000 + down * 10);
    expect(Math.max(...w)).toBe(99);
    // NaNs are skipped: the third column's extremes are its even indices'.
    expect(x.every((y) => Number.isFinite(y))).toBe(true);
    expect(x[0]).toBe(0);
    expect(Math.max(...x)).toBe(f32(n - 1 - ((n - 1) % 2)));
    expect(tsMs.every((t, i) => i === 0 || t >= tsMs[i - 1])).toBe(true);
  });

  it('rejects maxPoints below 16 or not an integer', () => {
    expect(() => new MinMaxBuffer([false], 15)).toThrow(/maxPoints/);
    expect(() => new MinMaxBuffer([false], 100.5)).toThrow(/maxPoints/);
  });
});

describe('Tracer: memory bound', () => {
  it('keeps at most maxPoints per panel, however long it runs, and every spike and alert', () => {
    const n = 120_000, spikeAt = 91_234;
    const b = valueStream({ seed: 5, id: 1, n, gapNs: SECOND });
    b.f[0][spikeAt] = 40;
    const plain = engine();
    const { alerts } = plain.ingest(valueStream({ seed: 5, id: 1, n, gapNs: SECOND }).slice(0, 0)); // nothing yet
    expect(alerts).toEqual([]);
    const copy = new EventBatch(n);
    for (let i = 0; i < n; i++) copy.value(1, b.tsNs[i], b.f[0][i]);
    const want = plain.ingest(copy).alerts;
    const tracer = new Tracer(engine(), { maxPoints: 2000 });
    const first = tracer.ingest(b.slice(0, n / 2));
    const bytesHalf = tracer.bytes;
    const second = tracer.ingest(b.slice(n / 2));
    expect([...first.alerts, ...second.alerts]).toEqual(want);
    expect(tracer.bytes).toBe(bytesHalf);
    const panels = tracer.panels().filter((p) => p.instrument === '1');
    const value = panels.find((p) => p.feature === 'value')!;
    // A row: time, value, expected, lo, hi (float64), scale, and a score and threshold per detector (float32);
    // features never observed hold nothing.
    const observed = panels.filter((p) => p.observations > 0).length;
    expect(observed).toBeLessThan(panels.length);
    expect(tracer.bytes).toBeLessThanOrEqual(observed * 2000 * (5 * 8 + 4 + 2 * 4 * DETECTORS.length));
    for (const p of panels) expect(p.tsMs.length).toBeLessThanOrEqual(2000);
    expect(value.observations).toBe(n);
    expect(value.bucketObservations).toBeGreaterThan(1);
    expect(Math.max(...value.value)).toBe(40);
    expect(value.tsMs[value.value.indexOf(40)]).toBe(nsToMsExact(b.tsNs[spikeAt]));
    expect(value.alerts.map((a) => a.value)).toContain(40);
    expect(value.alerts.length).toBe(want.filter((a) => a.feature === 'value').length);
  });
});

function panelOf(over: Partial<Panel> = {}): Panel {
  const n = 4;
  return {
    instrument: 'X', feature: 'value', observations: n, bucketObservations: 1, coalesced: 0,
    tsMs: Float64Array.from([0, 1000, 2000, 3000]), value: Float64Array.from([1, 2, 3, 2]),
    expected: new Float64Array(n).fill(2), scale: new Float32Array(n).fill(0.5),
    lo: new Float64Array(n).fill(1), hi: new Float64Array(n).fill(3),
    band: { kind: 'threshold', detector: 'zscore', multiplier: NaN, expected: 'mean', description: 'mean ± 2 sd' },
    detectors: [{ detector: 'zscore', score: new Float32Array(n).fill(1), threshold: new Float32Array(n).fill(2) }],
    alerts: [], windows: [],
    ...over,
  };
}

describe('renderReport: escaping and checks', () => {
  it('escapes &, <, >, " and \'', () => {
    expect(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
  });

  it('puts no caller text into the page unescaped, and fetches nothing', () => {
    const evil = `<img src=x onerror="alert(1)">`;
    const close = '</script><script>alert(2)</script><!--';
    const model = reportModel([panelOf({ instrument: evil, feature: close })], {
      title: `</title>${close}`, command: `atc eval ${evil}`, notes: [evil],
      tables: [{ title: evil, columns: [evil, 'n'], rows: [[close, 1.5], ['a & b', null]], note: close }],
      windows: () => [[500, 1500]],
    });
    const html = renderReport(model);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('alert(2)</script>');
    expect(html).toContain(escapeHtml(evil));
    expect(html).toContain('<td>a &amp; b</td>');
    // One model script, one data script per panel, uPlot and the page's own: all inline.
    expect(html.match(/<script\b/g)!.length).toBe(4);
    expect(html).not.toMatch(/<script[^>]*\ssrc=/);
    expect(html).not.toMatch(/<link\b/);
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//);
    // The model's JSON survives its escaping.
    const json = html.match(/<script type="application\/json" id="atc-model">(.*?)<\/script>/s)![1];
    const meta = JSON.parse(json) as { panels: { instrument: string; feature: string; windows: number[][] }[] };
    expect(meta.panels[0]).toMatchObject({ instrument: evil, feature: close, windows: [[500, 1500]] });
  });

  it('inlines each series as bytes: float32 where that loses nothing visible, float64 where it would', () => {
    const n = 1000;
    const tsMs = Float64Array.from({ length: n }, (_, i) => 1.7e12 + i * 1000);
    const prices = Float64Array.from({ length: n }, (_, i) => 100_000 + (i % 7) * 1e-3); // float32 steps are 0.0078
    const small = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    const html = renderReport(reportModel([panelOf({
      tsMs, value: prices, expected: small, lo: small, hi: small, scale: new Float32Array(n), observations: n,
      detectors: [],
    })], { title: 't' }));
    const meta = JSON.parse(html.match(/id="atc-model">(.*?)<\/script>/s)![1]) as { panels: { columns: { name: string; type: string }[] }[] };
    const types = Object.fromEntries(meta.panels[0].columns.map((c) => [c.name, c.type]));
    expect(types).toEqual({ ts: 'f64', value: 'f64', expected: 'f32', lo: 'f32', hi: 'f32' });
    const b64 = html.match(/id="atc-data-0">([A-Za-z0-9+/=]*)<\/script>/)![1];
    const bytes = Buffer.from(b64, 'base64');
    expect(bytes.length).toBe(n * (8 + 8 + 4 * 3));
    expect(new Float64Array(bytes.buffer.slice(bytes.byteOffset + 8 * n, bytes.byteOffset + 16 * n))).toEqual(prices);
  });

  it('checks the model, naming what is wrong', () => {
    const render = (p: Partial<Panel>, extra: Partial<ReportModel> = {}) => () =>
      renderReport({ title: 't', generatedAt: new Date(0).toISOString(), tables: [], panels: [panelOf(p)], ...extra });
    expect(render({})).not.toThrow();
    expect(render({ value: new Float64Array(3) })).toThrow(ReportModelError);
    expect(render({ value: new Float64Array(3) })).toThrow(/panels\[0\] \(X value\)\.value: must be a Float64Array of 4 points/);
    expect(render({ tsMs: Float64Array.from([0, 2, 1, 3]) })).toThrow(/tsMs\[2\]: must be finite and non-decreasing/);
    expect(render({ windows: [[2, 1]] })).toThrow(/windows\[0\]: must be \[startMs, endMs\] with start <= end/);
    expect(render({ scale: new Float64Array(4) as unknown as Float32Array })).toThrow(/scale: must be a Float32Array/);
    expect(render({}, { tables: [{ title: 'x', columns: ['a', 'b'], rows: [['1']] }] })).toThrow(/tables\[0\]\.rows\[0\]: must have 2 cells/);
    expect(render({}, { tables: [{ title: 'x', columns: ['a'], rows: [[{} as unknown as string]] }] })).toThrow(/must be a string, a number or null/);
    expect(render({}, { title: 5 as unknown as string })).toThrow(/title: must be a string/);
  });
});

// ---- atc eval --report ----------------------------------------------------------------------------------------
const run = (argv: string[]) => runCli(argv, evalCommand);

describe('atc eval --report', () => {
  const TAXI = join(ROOT, 'test/fixtures/nab/realKnownCause/nyc_taxi.csv');
  const ADX = join(ROOT, 'test/fixtures/nab/realAdExchange/exchange-2_cpc_results.csv');
  let dir: string, labels: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'atc-report-'));
    labels = join(dir, 'windows.json');
    writeFileSync(labels, JSON.stringify({
      'realKnownCause/nyc_taxi.csv': [['2014-07-10 00:00:00', '2014-07-11 00:00:00']],
      'realAdExchange/exchange-2_cpc_results.csv': [],
    }));
  });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  it('writes one HTML file with the tables and a panel per series and feature; stdout as without it', async () => {
    const out = join(dir, 'eval.html');
    const plain = await run([TAXI, ADX, '--labels', labels, '--json']);
    const withReport = await run([TAXI, ADX, '--labels', labels, '--json', '--report', out]);
    expect(withReport.code).toBe(0);
    const a = JSON.parse(plain.stdout) as Record<string, unknown>;
    const b = JSON.parse(withReport.stdout) as Record<string, unknown>;
    const html = readFileSync(out, 'utf8');
    // A panel per series for its value, and one per other feature that alerted (none here besides the value's).
    const panels = html.match(/<section class="panel"/g)!.length;
    expect(panels).toBeGreaterThanOrEqual(2);
    expect(b.report).toEqual({ path: out, bytes: statSync(out).size, panels });
    delete b.report;
    expect(b).toEqual(a);
    expect(withReport.stderr).toMatch(new RegExp(`report: .*eval\\.html \\(${panels} panels, [\\d.]+ MiB\\)`));
    for (const name of ['realKnownCause/nyc_taxi · value', 'realAdExchange/exchange-2_cpc_results · value']) {
      expect(html).toContain(`<span class="name">${escapeHtml(name)}</span>`);
    }
    for (const title of ['Scores by series', 'NAB score', 'Labelled windows', 'Alerts by feature and detector']) expect(html).toContain(`<h2>${title}</h2>`);
    const total = (a.total as { nab: { raw: number } }).nab.raw;
    expect(html).toContain(`<td class="num">${total.toFixed(2)}</td>`);
    expect(html).toContain(escapeHtml(`atc eval ${TAXI} ${ADX} --labels ${labels} --json --report ${out}`));
  });

  it('is a usage error when the directory does not exist or the path is a directory', async () => {
    const missing = join(dir, 'no-such-dir', 'r.html');
    await expect(run([TAXI, '--labels', labels, '--report', missing])).rejects.toThrow(UsageError);
    await expect(run([TAXI, '--labels', labels, '--report', missing])).rejects.toThrow(`--report ${missing}: directory ${join(dir, 'no-such-dir')} does not exist`);
    await expect(run([TAXI, '--labels', labels, '--report', dir])).rejects.toThrow(/is a directory; give a file name/);
    await expect(run([TAXI, '--labels', labels, '--report', ''])).rejects.toThrow(/--report needs a file name/);
  });
});
