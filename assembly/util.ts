// Small load/store helpers: every state access in atc is an offset from a base pointer.
@inline export function ldf(p: usize, off: i32): f64 { return load<f64>(p + <usize>off); }
@inline export function stf(p: usize, off: i32, v: f64): void { store<f64>(p + <usize>off, v); }
@inline export function ldi(p: usize, off: i32): i64 { return load<i64>(p + <usize>off); }
@inline export function sti(p: usize, off: i32, v: i64): void { store<i64>(p + <usize>off, v); }
@inline export function ldu(p: usize, off: i32): u32 { return load<u32>(p + <usize>off); }
@inline export function stu(p: usize, off: i32, v: u32): void { store<u32>(p + <usize>off, v); }
@inline export function ld32(p: usize, off: i32): i32 { return load<i32>(p + <usize>off); }
@inline export function st32(p: usize, off: i32, v: i32): void { store<i32>(p + <usize>off, v); }
@inline export function at(p: usize, i: i32): f64 { return load<f64>(p + (<usize>i << 3)); }
@inline export function put(p: usize, i: i32, v: f64): void { store<f64>(p + (<usize>i << 3), v); }
// x - x is 0 for finite x and NaN for NaN and +-Infinity: one subtraction instead of two comparisons.
@inline export function finite(x: f64): bool { return x - x == 0; }
@inline export function align8(n: i32): i32 { return (n + 7) & ~7; }
