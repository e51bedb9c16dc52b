// A module of its own for the Half-Space Trees kernel (build/hst.wasm), so that the kernel and its twin can be
// tested and measured before the detector is wired into the engine's ABI (issue 6). Same conventions as the
// engine module: imported memory, no allocation, no globals, numbers and pointers only.
import * as H from "./hst";

export function hst_model_bytes(dims: i32, trees: i32, height: i32): i32 { return H.hstModelBytes(dims, trees, height); }
export function hst_model_init(m: usize, dims: i32, trees: i32, height: i32, seed: u32, padding: f64): i32 {
  return H.hstModelInit(m, dims, trees, height, seed, padding);
}
export function hst_state_bytes(dims: i32, trees: i32, height: i32): i32 { return H.hstStateBytes(dims, trees, height); }
export function hst_state_init(s: usize, m: usize, window: i32, sizeLimit: f64, scoreKind: i32, scaler: i32): i32 {
  return H.hstStateInit(s, m, window, sizeLimit, scoreKind, scaler);
}
export function hst_state_check(s: usize, m: usize): i32 { return H.hstStateCheck(s, m); }
export function hst_step(s: usize, m: usize, x: usize): f64 { return H.hstStep(s, m, x); }
export function hst_step_many(s: usize, m: usize, xs: usize, n: i32, out: usize): void { H.hstStepMany(s, m, xs, n, out); }
