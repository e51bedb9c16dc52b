// A module of its own for the one-class SVM kernel (build/ocsvm.wasm), so that the kernel and its twin can be
// tested and measured before the detector is wired into the engine's ABI (issue 6, learned channel k = 1). Same
// conventions as the engine module: imported memory, no allocation, no globals, numbers and pointers only.
import * as O from "./ocsvm";

export function ocsvm_model_bytes(dims: i32, components: i32): i32 { return O.ocModelBytes(dims, components); }
export function ocsvm_model_init(m: usize, dims: i32, components: i32, gamma: f64, seed: u32): i32 {
  return O.ocModelInit(m, dims, components, gamma, seed);
}
export function ocsvm_state_bytes(dims: i32, components: i32): i32 { return O.ocStateBytes(dims, components); }
export function ocsvm_state_init(s: usize, m: usize, nu: f64, window: i32, warmup: i32, scaler: i32): i32 {
  return O.ocStateInit(s, m, nu, window, warmup, scaler);
}
export function ocsvm_state_check(s: usize, m: usize): i32 { return O.ocStateCheck(s, m); }
export function ocsvm_step(s: usize, m: usize, x: usize): f64 { return O.ocStep(s, m, x); }
export function ocsvm_step_many(s: usize, m: usize, xs: usize, n: i32, out: usize): void { O.ocStepMany(s, m, xs, n, out); }
/** The kernel's own cos and log, exported for the twin's bit-for-bit and accuracy tests. */
export function ocsvm_cos(x: f64): f64 { return O.ocCos(x); }
export function ocsvm_log(x: f64): f64 { return O.ocLog(x); }
