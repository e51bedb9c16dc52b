// Half-Space Trees at River's defaults (10 trees of height 8, window 250): ns per scored-and-learnt point, the
// WASM kernel (build/hst.wasm) against its TypeScript twin on the same points, and bytes of state per instrument.
// `npm run bench:hst` (after `npm run build`); `--quick` for a short run.
import { HstModel, HstState, HST_DEFAULTS } from '../src/reference/hst.js';
import { HstWasm } from '../src/wasm/hst.js';
import { measure, printTable, type Row, kernelCases, featurePoints } from './common.js';

export async function hstBench(opts: { n?: number; dims?: number; instruments?: number; quick?: boolean } = {}): Promise<Row[]> {
  const n = opts.n ?? (opts.quick ? 1 << 14 : 1 << 16);
  const dims = opts.dims ?? 8;
  const instruments = opts.instruments ?? 64;
  const { trees, height, window, sizeLimit, seed } = HST_DEFAULTS;

  const points = featurePoints(n, dims);

  const w = new HstWasm('release', 64);
  const m = w.model(dims, trees, height, seed);
  const stateBytes = w.x.hst_state_bytes(dims, trees, height);
  const states = Array.from({ length: instruments }, () => w.alloc(stateBytes));
  const xs = w.alloc(8 * n * dims);
  const out = w.alloc(8 * n);
  w.f64(xs, n * dims).set(points);
  const resetWasm = (): void => { for (const s of states) w.x.hst_state_init(s, m, window, sizeLimit, 0, 0); };
  const model = new HstModel(dims, trees, height, seed);
  let twins: HstState[] = [];
  const resetTwin = (): void => { twins = Array.from({ length: instruments }, () => new HstState(model, window, sizeLimit)); };
  resetTwin();
  const rows = points.length / dims;
  const views = Array.from({ length: rows }, (_, i) => points.subarray(i * dims, (i + 1) * dims));
  const result = await measure('hst', kernelCases({
    n, instruments, states, xs, stride: dims, resetWasm, resetTwin, batchedNote: `${dims} features`,
    stepMany: (s, first, count) => { w.x.hst_step_many(s, m, first, count, out); return w.f64(out, 1)[0]; },
    step: (s, p) => w.x.hst_step(s, m, p),
    twinStep: (i) => twins[0].step(views[i]),
  }), opts.quick ? { time: 500, iterations: 3 } : { time: 2000, iterations: 5 });
  return result.concat([{ name: `bytes of state per instrument (${dims} features; 16 features: ${HstState.bytes(16, trees, height)}); shared trees ${w.x.hst_model_bytes(dims, trees, height)}`, nsPerItem: stateBytes, p99NsPerItem: NaN, iterations: 0, items: 0 }]);
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const quick = process.argv.includes('--quick');
  const rows = await hstBench({ quick });
  printTable(`Half-Space Trees, River's defaults (${HST_DEFAULTS.trees} trees, height ${HST_DEFAULTS.height}, window ${HST_DEFAULTS.window})`, rows.slice(0, -1));
  console.log(`\n${rows[rows.length - 1].name}: ${rows[rows.length - 1].nsPerItem}`);
}
