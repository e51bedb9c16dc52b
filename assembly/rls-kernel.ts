// A module of its own for the regression-residual kernel (build/rls.wasm), so that the kernel and its twin can be
// tested and measured before the detector is wired into the engine's ABI (issue 6, learned channel k = 2). Same
// conventions as the engine module and build/hst.wasm: imported memory, no allocation, no globals.
import * as R from "./rls";

export function rls_model_bytes(d: i32, intercept: i32): i32 { return R.rlsModelBytes(d, intercept); }
export function rls_model_init(m: usize, d: i32, intercept: i32): i32 { return R.rlsModelInit(m, d, intercept); }
export function rls_state_bytes(d: i32, intercept: i32): i32 { return R.rlsStateBytes(d, intercept); }
export function rls_state_init(s: usize, m: usize, lambda: f64, delta: f64, warmup: i32, minScale: f64, clip: f64): i32 {
  return R.rlsStateInit(s, m, lambda, delta, warmup, minScale, clip);
}
export function rls_state_check(s: usize, m: usize): i32 { return R.rlsStateCheck(s, m); }
export function rls_step(s: usize, m: usize, pt: usize): f64 { return R.rlsStep(s, m, pt); }
export function rls_step_many(s: usize, m: usize, pts: usize, n: i32, out: usize): void { R.rlsStepMany(s, m, pts, n, out); }
