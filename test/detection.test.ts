import { describe, expect, it } from 'vitest';
import { Engine, type Alert } from '../src/engine.js';
import { EventBatch } from '../src/events.js';
import { gaussian, mulberry32 } from './helpers/random.js';
import { marketStream, valueStream, SECOND, T0 } from './helpers/streams.js';

// Injected anomalies must be found within a stated delay, with the default configuration.
const first = (alerts: Alert[], pred: (a: Alert) => boolean) => alerts.find(pred);

describe('injected anomalies are found within a stated delay (default configuration)', () => {
  it('a 15-sigma spike: novelty (the default for values) on the spike itself; z-score, robust z and EWMA chart too when enabled', () => {
    const b = valueStream({ seed: 21, id: 1, n: 6000, gapNs: SECOND });
    b.f[0][4000] += 15;
    const defaults = Engine.create({ autoRegister: true }).ingest(b).alerts.filter((a) => a.feature === 'value');
    const nov = first(defaults, (x) => x.seq >= 4000n);
    expect([nov?.seq, nov?.detector]).toEqual([4000n, 'novelty']);
    expect(nov!.value).toBeCloseTo(b.f[0][4000], 12);
    expect(nov!.expected).toBeLessThan(nov!.value); // the top of the range it broke
    const all = { autoRegister: true, features: { value: { detectors: ['zscore', 'robust', 'ewma', 'novelty'] } } } as const;
    const alerts = Engine.create(all).ingest(b).alerts.filter((a) => a.feature === 'value');
    for (const d of ['zscore', 'robust', 'ewma'] as const) {
      const a = first(alerts, (x) => x.detector === d && x.seq >= 4000n);
      expect(a?.seq, d).toBe(4000n);
      expect(a!.value).toBeCloseTo(b.f[0][4000], 12);
      expect(Math.abs(a!.expected)).toBeLessThan(0.5);
    }
  });

  it('a level shift of 3 sigma: novelty within 5 events by default; CUSUM within 5 events and Page-Hinkley within 10 when enabled', () => {
    const b = valueStream({ seed: 22, id: 1, n: 6000, gapNs: SECOND });
    for (let i = 4000; i < 6000; i++) b.f[0][i] += 3;
    const defaults = Engine.create({ autoRegister: true }).ingest(b).alerts.filter((a) => a.feature === 'value' && a.seq >= 4000n);
    expect(Number(first(defaults, (a) => a.detector === 'novelty')!.seq - 4000n)).toBeLessThanOrEqual(5);
    const e = Engine.create({ autoRegister: true, features: { value: { detectors: ['cusum', 'pageHinkley'] } } });
    const alerts = e.ingest(b).alerts.filter((a) => a.feature === 'value' && a.seq >= 4000n);
    expect(Number(first(alerts, (a) => a.detector === 'cusum')!.seq - 4000n)).toBeLessThanOrEqual(5);
    expect(Number(first(alerts, (a) => a.detector === 'pageHinkley')!.seq - 4000n)).toBeLessThanOrEqual(10);
  });

  it('a burst of trades (2/s to 40/s): intensity alert within 3 s', () => {
    const e = Engine.create({ autoRegister: true });
    const u = mulberry32(23);
    const b = new EventBatch();
    let t = T0;
    const burstAt = T0 + 1800n * SECOND;
    while (t < burstAt + 20n * SECOND) {
      const rate = t >= burstAt && t < burstAt + 10n * SECOND ? 40 : 2;
      t += BigInt(Math.max(1, Math.round(-Math.log(1 - u()) / rate * 1e9)));
      b.trade(1, t, 60_000 + Math.round(u() * 10) / 10, 0.01 + u() * 0.1, u() < 0.5 ? 1 : -1);
    }
    const alerts = e.ingest(b).alerts;
    const a = first(alerts, (x) => x.feature === 'intensity' && x.tsNs >= burstAt);
    expect(a).toBeDefined();
    expect(Number(a!.tsNs - burstAt) / 1e9).toBeLessThan(3);
    // Before the burst, the quiet half hour raised at most a few intensity alerts.
    expect(alerts.filter((x) => x.feature === 'intensity' && x.tsNs < burstAt).length).toBeLessThanOrEqual(3);
  });

  it('a spread blow-out (1 tick to 30 ticks): spread alert on the first wide quote', () => {
    const e = Engine.create({ autoRegister: true });
    const g = gaussian(mulberry32(24));
    const b = new EventBatch();
    let mid = 60_000;
    const wideAt = 5000;
    for (let i = 0; i < 6000; i++) {
      mid += 0.1 * Math.round(g());
      const half = i >= wideAt && i < wideAt + 20 ? 1.5 : 0.05;
      b.quote(1, T0 + BigInt(i) * 200_000_000n, mid - half, 1 + Math.abs(g()), mid + half, 1 + Math.abs(g()));
    }
    const a = first(e.ingest(b).alerts, (x) => x.feature === 'spread' && x.seq >= BigInt(wideAt));
    expect(a?.seq).toBe(BigInt(wideAt));
    expect(a!.value).toBeCloseTo(3 / 60_000 * 1e4, 3);
  });

  it('a 60 bps price jump in a mixed market stream: mid-jump alert on the jump', () => {
    const jumps = [12_000];
    const b = marketStream({ seed: 25, instruments: [1, 2], n: 20_000, jumps });
    const e = Engine.create({ autoRegister: true });
    const alerts = e.ingest(b).alerts;
    // The jump shows on that instrument's next quote (the event at the jump index moves the mid).
    const id = b.instrument[12_000];
    let nextQuote = 12_000;
    while (!(b.kind[nextQuote] === 2 && b.instrument[nextQuote] === id)) nextQuote++;
    const a = first(alerts, (x) => x.feature === 'midJump' && x.instrument === id && x.seq >= 12_000n);
    expect(a?.seq).toBe(BigInt(nextQuote));
    expect(a!.value).toBeGreaterThan(40);
  });
});
