// Online regression residuals (RLS with directional forgetting): ns per scored-and-learnt point at d = 2, 4 and 8
// (intercept on), the WASM kernel (build/rls.wasm) against its TypeScript twin on the same points, and bytes of
// state per instrument. `npm run bench:rls` (after `npm run build`); `--quick` for a short run.
import { RlsState, RLS_DEFAULTS } from '../src/reference/rls.js';
import { RlsWasm } from '../src/wasm/rls.js';
import { gaussian, mulberry32 } from '../src/random.js';
import { measure, printTable, type Row, kernelCases } from './common.js';

export async function rlsBench(opts: { n?: number; d: number; instruments?: number; quick?: boolean }): Promise<Row[]> {
  const n = opts.n ?? (opts.quick ? 1 << 14 : 1 << 16);
  const d = opts.d;
  const instruments = opts.instruments ?? 64;
  const { lambda, delta, warmup, minScale, clip } = RLS_DEFAULTS;

  // Points (y, x): random-walk regressors in basis points of an anchor, y a linear relation of them plus noise,
  // 0.5% outliers in y (the clipped path).
  const u = mulberry32(1);
  const g = gaussian(u);
  const stride = d + 1;
  const points = new Float64Array(n * stride);
  const walk = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    let y = 3;
    for (let j = 0; j < d; j++) {
      walk[j] += g();
      points[i * stride + 1 + j] = walk[j];
      y += (0.5 + j / 4) * walk[j];
    }
    points[i * stride] = y + 0.3 * g() + (u() < 0.005 ? 50 : 0);
  }

  const w = new RlsWasm('release', 16);
  const m = w.model(d, 1);
  const stateBytes = w.x.rls_state_bytes(d, 1);
  const states = Array.from({ length: instruments }, () => w.alloc(stateBytes));
  const pts = w.alloc(8 * n * stride);
  const out = w.alloc(8 * n);
  w.f64(pts, n * stride).set(points);
  const resetWasm = (): void => { for (const s of states) w.x.rls_state_init(s, m, lambda, delta, warmup, minScale, clip); };
  let twin = new RlsState(d, 1);
  const resetTwin = (): void => { twin = new RlsState(d, 1); };
  const xs = Array.from({ length: n }, (_, i) => points.subarray(i * stride + 1, (i + 1) * stride));
  const ys = Array.from({ length: n }, (_, i) => points[i * stride]);
  return measure(`rls d ${d}`, kernelCases({
    label: `d ${d}`, n, instruments, states, xs: pts, stride, resetWasm, resetTwin, batchedNote: 'rls_step_many',
    stepMany: (s, first, count) => { w.x.rls_step_many(s, m, first, count, out); return w.f64(out, 1)[0]; },
    step: (s, p) => w.x.rls_step(s, m, p),
    twinStep: (i) => twin.step(ys[i], xs[i]),
  }), opts.quick ? { time: 500, iterations: 3 } : { time: 2000, iterations: 5 });
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const quick = process.argv.includes('--quick');
  const rows = [...await rlsBench({ d: 2, quick }), ...await rlsBench({ d: 4, quick }), ...await rlsBench({ d: 8, quick })];
  printTable(`Regression residuals (RLS, directional forgetting), defaults ${JSON.stringify(RLS_DEFAULTS)}, intercept on`, rows);
  const w = new RlsWasm();
  console.log(`\nbytes of state per instrument: d 2 ${w.x.rls_state_bytes(2, 1)}, d 4 ${w.x.rls_state_bytes(4, 1)}, d 8 ${w.x.rls_state_bytes(8, 1)}; shared model ${w.x.rls_model_bytes(2, 1)}`);
}
