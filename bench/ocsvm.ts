// One-class SVM at the defaults (32 random Fourier features, nu 0.05, window 2000, EWMA scaler): ns per
// scored-and-learnt point, the WASM kernel (build/ocsvm.wasm) against its TypeScript twin on the same points, at 4
// and 8 features, and bytes of state per instrument. `npm run bench:ocsvm` (after `npm run build`); `--quick` for a
// short run.
import { OcsvmModel, OcsvmState, OC_DEFAULTS, defaultGamma } from '../src/reference/ocsvm.js';
import { OcsvmWasm } from '../src/wasm/ocsvm.js';
import { measure, printTable, type Row, kernelCases, featurePoints } from './common.js';

export async function ocsvmBench(opts: { n?: number; dims?: number; components?: number; instruments?: number; quick?: boolean } = {}): Promise<Row[]> {
  const n = opts.n ?? (opts.quick ? 1 << 14 : 1 << 16);
  const dims = opts.dims ?? 8;
  const D = opts.components ?? OC_DEFAULTS.components;
  const instruments = opts.instruments ?? 64;
  const { nu, window, warmup, scaler, seed } = OC_DEFAULTS;
  const gamma = defaultGamma(dims);

  const points = featurePoints(n, dims);

  const w = new OcsvmWasm('release', 64);
  const m = w.model(dims, D, gamma, seed);
  const stateBytes = w.x.ocsvm_state_bytes(dims, D);
  const states = Array.from({ length: instruments }, () => w.alloc(stateBytes));
  const xs = w.alloc(8 * n * dims);
  const out = w.alloc(8 * n);
  w.f64(xs, n * dims).set(points);
  const resetWasm = (): void => { for (const s of states) w.x.ocsvm_state_init(s, m, nu, window, warmup, scaler); };
  const model = new OcsvmModel(dims, D, gamma, seed);
  let twins: OcsvmState[] = [];
  const resetTwin = (): void => { twins = Array.from({ length: instruments }, () => new OcsvmState(model, nu, window, warmup, scaler)); };
  resetTwin();
  const views = Array.from({ length: n }, (_, i) => points.subarray(i * dims, (i + 1) * dims));
  const result = await measure('ocsvm', kernelCases({
    n, instruments, states, xs, stride: dims, resetWasm, resetTwin, batchedNote: `${dims} features, ${D} components`,
    stepMany: (s, first, count) => { w.x.ocsvm_step_many(s, m, first, count, out); return w.f64(out, 1)[0]; },
    step: (s, p) => w.x.ocsvm_step(s, m, p),
    twinStep: (i) => twins[0].step(views[i]),
  }), opts.quick ? { time: 500, iterations: 3 } : { time: 2000, iterations: 5 });
  return result.concat([{ name: `bytes of state per instrument (${dims} features, ${D} components); shared model ${w.x.ocsvm_model_bytes(dims, D)}`, nsPerItem: stateBytes, p99NsPerItem: NaN, iterations: 0, items: 0 }]);
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const quick = process.argv.includes('--quick');
  for (const dims of [4, 8]) {
    const rows = await ocsvmBench({ quick, dims });
    printTable(`One-class SVM, ${dims} features, defaults (${OC_DEFAULTS.components} components, nu ${OC_DEFAULTS.nu}, window ${OC_DEFAULTS.window})`, rows.slice(0, -1));
    console.log(`\n${rows[rows.length - 1].name}: ${rows[rows.length - 1].nsPerItem}`);
  }
}
