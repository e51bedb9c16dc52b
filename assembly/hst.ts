// Half-Space Trees (Tan, Ting and Liu 2011, "Fast anomaly detection for streaming data"), River's variant
// (river.anomaly.HalfSpaceTrees): n trees of a fixed height over the unit cube, each internal node splitting one
// dimension at a random point of the node's own box; every node counts the points that reach it in two mass
// profiles, r (the last complete window, the reference) and l (the window being filled). A point's score per tree
// is sum over the nodes on its path of r_mass(node) * 2^depth, stopping after the first node whose r mass is below
// the size limit (or at the leaf); the total over the trees, normalised by its largest possible value
// n_trees * window * (2^(height+1) - 1), is subtracted from 1 so that higher means more anomalous.
// (scoreKind 1 counts the paper's score instead: only the node where the walk stops, over trees * window * 2^height.)
//
// Two blocks, so that the structure is shared and only the counts are per instrument:
//   model (shared, a function of dims, trees, height, padding and the seed):
//     0 u32 dims | 4 u32 trees | 8 u32 height | 12 u32 internal nodes per tree (2^height - 1) | 16 u32 seed
//     20 u32 PRNG state (generation only) | 24 f64 padding | 32 f64 split points [trees * internal]
//     then u8 split dimensions [trees * internal], then f64 box limits [2 * dims] (generation scratch)
//   state (per instrument, 8-aligned):
//     0 u32 dims | 4 u32 window | 8 u32 points in the open window | 12 u32 index (0/1) of the l profile
//     16 u32 1 once a window is complete | 20 u32 nodes per tree (2^(height+1) - 1) | 24 f64 size limit
//     32 i64 points learnt | 40 f64 largest sum | 48 u32 score kind (0 River's, 1 the paper's)
//     52 u32 scaler (0 all-time min/max, 1 last two windows) | 56..63 reserved
//     64 f64 lo [dims] | f64 hi [dims] (the online min/max scaler) | f64 u [dims] (scratch: the scaled point)
//     | f64 loRef [dims] | f64 hiRef [dims] (the last window's range, with the forgetting scaler)
//     then two mass profiles of u16 [trees * nodes], padded to 8 bytes each.
// Swapping r and l at the end of a window flips the index and zeroes the old r (now l): no copy.
// Masses are u16: a node's mass is at most the window, which is therefore at most 65535.
import { finite } from "./util";

export const HST_M_HEADER: i32 = 32;
export const HST_S_HEADER: i32 = 64;
export const HST_MAX_DIMS: i32 = 64;
export const HST_MAX_TREES: i32 = 256;
export const HST_MAX_HEIGHT: i32 = 15;
export const HST_MAX_WINDOW: i32 = 65535;

@inline function a8(n: i32): i32 { return (n + 7) & ~7; }

export function hstValidShape(dims: i32, trees: i32, height: i32): bool {
  return dims >= 1 && dims <= HST_MAX_DIMS && trees >= 1 && trees <= HST_MAX_TREES && height >= 0 && height <= HST_MAX_HEIGHT;
}

export function hstModelBytes(dims: i32, trees: i32, height: i32): i32 {
  if (!hstValidShape(dims, trees, height)) return -5;
  const internal = trees * ((1 << height) - 1);
  return HST_M_HEADER + 8 * internal + a8(internal) + 16 * dims;
}

@inline function mSplits(m: usize): usize { return m + <usize>HST_M_HEADER; }
@inline function mDims(m: usize): usize {
  return m + <usize>HST_M_HEADER + (<usize>load<u32>(m, 4) * <usize>load<u32>(m, 12) << 3);
}
@inline function mLimits(m: usize): usize {
  return mDims(m) + <usize>a8(<i32>(load<u32>(m, 4) * load<u32>(m, 12)));
}

// mulberry32 (Tommy Ettinger), the same arithmetic as src/random.ts: uniform in [0, 1) from a u32 state.
function rand(m: usize): f64 {
  const a = load<u32>(m, 20) + 0x6d2b79f5;
  store<u32>(m, a, 20);
  let t = a;
  t = (t ^ (t >>> 15)) * (t | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return <f64>(t ^ (t >>> 14)) / 4294967296.0;
}

// River's make_padded_tree, depth first (left subtree before right), nodes stored in heap order (children of
// i at 2i + 1 and 2i + 2): the dimension is drawn with weight its box width, the split uniformly in the box
// less `padding` of its width at each end.
function grow(m: usize, tree: i32, i: i32, height: i32): void {
  if (height == 0) return;
  const dims = <i32>load<u32>(m, 0);
  const lim = mLimits(m);
  let total = 0.0;
  for (let j = 0; j < dims; j++) total += load<f64>(lim + (<usize>(2 * j + 1) << 3)) - load<f64>(lim + (<usize>(2 * j) << 3));
  const r = rand(m) * total;
  let on = dims - 1;
  let cum = 0.0;
  for (let j = 0; j < dims; j++) {
    cum += load<f64>(lim + (<usize>(2 * j + 1) << 3)) - load<f64>(lim + (<usize>(2 * j) << 3));
    if (r < cum) { on = j; break; }
  }
  const pLo = lim + (<usize>(2 * on) << 3);
  const pHi = pLo + 8;
  const a = load<f64>(pLo);
  const b = load<f64>(pHi);
  const pad = load<f64>(m, 24);
  const lo = a + pad * (b - a);
  const hi = b - pad * (b - a);
  const at = lo + (hi - lo) * rand(m);
  const k = tree * ((1 << <i32>load<u32>(m, 8)) - 1) + i;
  store<f64>(mSplits(m) + (<usize>k << 3), at);
  store<u8>(mDims(m) + <usize>k, <u8>on);
  store<f64>(pHi, at);
  grow(m, tree, 2 * i + 1, height - 1);
  store<f64>(pHi, b);
  store<f64>(pLo, at);
  grow(m, tree, 2 * i + 2, height - 1);
  store<f64>(pLo, a);
}

/** Lays out and grows the shared trees; 0, or -5 for a shape or padding out of range. */
export function hstModelInit(m: usize, dims: i32, trees: i32, height: i32, seed: u32, padding: f64): i32 {
  if (!hstValidShape(dims, trees, height) || !(padding >= 0 && padding < 0.5)) return -5;
  memory.fill(m, 0, <usize>hstModelBytes(dims, trees, height));
  store<u32>(m, <u32>dims, 0);
  store<u32>(m, <u32>trees, 4);
  store<u32>(m, <u32>height, 8);
  store<u32>(m, <u32>((1 << height) - 1), 12);
  store<u32>(m, seed, 16);
  store<u32>(m, seed, 20);
  store<f64>(m, padding, 24);
  const lim = mLimits(m);
  for (let t = 0; t < trees; t++) {
    for (let j = 0; j < dims; j++) {
      store<f64>(lim + (<usize>(2 * j) << 3), 0.0);
      store<f64>(lim + (<usize>(2 * j + 1) << 3), 1.0);
    }
    grow(m, t, 0, height);
  }
  return 0;
}

@inline function profileBytes(trees: i32, height: i32): i32 { return a8(2 * trees * ((2 << height) - 1)); }

export function hstStateBytes(dims: i32, trees: i32, height: i32): i32 {
  if (!hstValidShape(dims, trees, height)) return -5;
  return HST_S_HEADER + 40 * dims + 2 * profileBytes(trees, height);
}

@inline function sProfile(s: usize, m: usize, k: u32): usize {
  const dims = <usize>load<u32>(s, 0);
  return s + <usize>HST_S_HEADER + 40 * dims + <usize>k * <usize>profileBytes(<i32>load<u32>(m, 4), <i32>load<u32>(m, 8));
}

/**
 * A fresh per-instrument state for model m; size limit = sizeLimit * window (River: 0.1). scoreKind 0: River's
 * score, the sum over the path of r_mass * 2^depth; 1: the paper's, r_mass * 2^depth at the node where the walk
 * stops only (normalised by trees * window * 2^height). scaler 0: min and max of everything seen (River's
 * MinMaxScaler); 1: of the last complete window and the current one (forgets an outlier after two windows).
 * 0 or -5.
 */
export function hstStateInit(s: usize, m: usize, window: i32, sizeLimit: f64, scoreKind: i32, scaler: i32): i32 {
  if (window < 1 || window > HST_MAX_WINDOW || !(sizeLimit >= 0 && sizeLimit <= 1)) return -5;
  if (scoreKind < 0 || scoreKind > 1 || scaler < 0 || scaler > 1) return -5;
  const dims = <i32>load<u32>(m, 0);
  const trees = <i32>load<u32>(m, 4);
  const height = <i32>load<u32>(m, 8);
  memory.fill(s, 0, <usize>hstStateBytes(dims, trees, height));
  store<u32>(s, <u32>dims, 0);
  store<u32>(s, <u32>window, 4);
  store<u32>(s, <u32>((2 << height) - 1), 20);
  store<f64>(s, sizeLimit * <f64>window, 24);
  store<u32>(s, <u32>scoreKind, 48);
  store<u32>(s, <u32>scaler, 52);
  store<f64>(s, <f64>trees * <f64>window * (scoreKind == 0 ? <f64>((2 << height) - 1) : <f64>(1 << height)), 40);
  const lo = s + <usize>HST_S_HEADER;
  const hi = lo + (<usize>dims << 3);
  const loRef = lo + (<usize>dims << 4) + (<usize>dims << 3);
  const hiRef = loRef + (<usize>dims << 3);
  for (let j = 0; j < dims; j++) {
    store<f64>(lo + (<usize>j << 3), Infinity);
    store<f64>(hi + (<usize>j << 3), -Infinity);
    store<f64>(loRef + (<usize>j << 3), Infinity);
    store<f64>(hiRef + (<usize>j << 3), -Infinity);
  }
  return 0;
}

/**
 * Scores the point at x (f64[dims]) against the reference profile, then learns it: 0 during the first window.
 * A point with a non-finite coordinate is refused: score 0, nothing learnt. Each coordinate is scaled by the
 * min and max seen before it (clamped to [0, 1]; 0.5 while the range is empty), then the min and max take it in.
 * With scaler 1 "seen" is the last complete window and the current one: lo/hi hold the current window's range,
 * loRef/hiRef the last one's (always empty with scaler 0, where lo/hi never restart).
 */
export function hstStep(s: usize, m: usize, x: usize): f64 {
  const dims = <i32>load<u32>(s, 0);
  for (let j = 0; j < dims; j++) if (!finite(load<f64>(x + (<usize>j << 3)))) return 0;
  const lo = s + <usize>HST_S_HEADER;
  const hi = lo + (<usize>dims << 3);
  const u = hi + (<usize>dims << 3);
  const loRef = u + (<usize>dims << 3);
  const hiRef = loRef + (<usize>dims << 3);
  for (let j = 0; j < dims; j++) {
    const off = <usize>j << 3;
    const v = load<f64>(x + off);
    const lc = load<f64>(lo + off);
    const hc = load<f64>(hi + off);
    const a = min(lc, load<f64>(loRef + off));
    const b = max(hc, load<f64>(hiRef + off));
    let y = 0.5;
    if (b > a) y = min(1.0, max(0.0, (v - a) / (b - a)));
    store<f64>(u + off, y);
    if (v < lc) store<f64>(lo + off, v);
    if (v > hc) store<f64>(hi + off, v);
  }
  const trees = <i32>load<u32>(m, 4);
  const height = <i32>load<u32>(m, 8);
  const internal = <i32>load<u32>(m, 12);
  const nodes = <i32>load<u32>(s, 20);
  const cur = load<u32>(s, 12);
  const lp = sProfile(s, m, cur);
  const rp = sProfile(s, m, cur ^ 1);
  const limit = load<f64>(s, 24);
  const splits = mSplits(m);
  const sdims = mDims(m);
  // A mass is an integer, so rm < limit is rm < ceil(limit): an integer comparison.
  const below = <u32>Math.ceil(limit);
  // Five trees at a time in lockstep (then four, two, one): their dependent load chains (node -> split dimension ->
  // coordinate -> child) are independent, so the CPU overlaps them; a walk alone is latency-bound.
  let sum: u64 = 0;
  let t = 0;
  if (load<u32>(s, 48) == 0) {
    for (; t + 5 <= trees; t += 5) sum += walk5<i8>(t, rp, lp, splits, sdims, u, nodes, internal, height, below);
    for (; t + 4 <= trees; t += 4) sum += walk4<i8>(t, rp, lp, splits, sdims, u, nodes, internal, height, below);
    for (; t + 2 <= trees; t += 2) sum += walk2<i8>(t, rp, lp, splits, sdims, u, nodes, internal, height, below);
    for (; t < trees; t++) sum += walk1<i8>(t, rp, lp, splits, sdims, u, nodes, internal, height, below);
  } else {
    for (; t + 5 <= trees; t += 5) sum += walk5<u8>(t, rp, lp, splits, sdims, u, nodes, internal, height, below);
    for (; t + 4 <= trees; t += 4) sum += walk4<u8>(t, rp, lp, splits, sdims, u, nodes, internal, height, below);
    for (; t + 2 <= trees; t += 2) sum += walk2<u8>(t, rp, lp, splits, sdims, u, nodes, internal, height, below);
    for (; t < trees; t++) sum += walk1<u8>(t, rp, lp, splits, sdims, u, nodes, internal, height, below);
  }
  const warm = load<u32>(s, 16);
  // A walk that stops on a node of reference mass 0 (possible with the paper's score, kind 1) counts half a point:
  // s < 1, so the channel's -log2(1 - s) is at most about log2(largest sum / 0.5) instead of the engine's cap.
  const score = warm != 0 ? 1.0 - (sum == 0 ? 0.5 : <f64>sum) / load<f64>(s, 40) : 0.0;
  store<i64>(s, load<i64>(s, 32) + 1, 32);
  const count = load<u32>(s, 8) + 1;
  if (count >= load<u32>(s, 4)) {
    // The window is complete: l becomes the reference, the old reference is emptied to become l.
    store<u32>(s, cur ^ 1, 12);
    memory.fill(rp, 0, <usize>profileBytes(trees, height));
    store<u32>(s, 1, 16);
    store<u32>(s, 0, 8);
    if (load<u32>(s, 52) != 0) {
      // The scaler forgets with the window: the current range becomes the reference one and restarts.
      memory.copy(loRef, lo, <usize>dims << 4);
      for (let j = 0; j < dims; j++) {
        store<f64>(lo + (<usize>j << 3), Infinity);
        store<f64>(hi + (<usize>j << 3), -Infinity);
      }
    }
  } else {
    store<u32>(s, count, 8);
  }
  return score;
}

// One node of one tree's walk. w: the node (low 31 bits) and, in bit 31, whether the walk has stopped (after the
// first node whose reference mass is below the limit). Counts the point in l; returns the node's reference mass if
// the walk had not stopped and either every node counts (K signed: River's score) or the walk stops here (K
// unsigned: the paper's, the terminal node) (high 32 bits), and the next w (low 32 bits). K is a compile-time
// switch, so each score has its own loop without a test per node.
@inline function visit<K>(w: u32, rt: usize, lt: usize, st: usize, dt: usize, u: usize, below: u32): u64 {
  const i = <usize>(w & 0x7fffffff);
  const rm = <u32>load<u16>(rt + (i << 1));
  const lk = lt + (i << 1);
  store<u16>(lk, load<u16>(lk) + 1);
  const d = <usize>load<u8>(dt + i);
  const child = (<u32>i << 1) + 1 + <u32>(load<f64>(u + (d << 3)) >= load<f64>(st + (i << 3)));
  const stop = <u32>(rm < below);
  const mass = isSigned<K>() ? rm & ((w >> 31) - 1) : rm & ((w >> 31) - 1) & (0 - stop);
  return (<u64>mass << 32) | <u64>(child | (w & 0x80000000) | (stop << 31));
}

@inline function leafVisit(w: u32, rt: usize, lt: usize): u32 {
  const i = <usize>(w & 0x7fffffff);
  const lk = lt + (i << 1);
  store<u16>(lk, load<u16>(lk) + 1);
  return <u32>load<u16>(rt + (i << 1)) & ((w >> 31) - 1);
}

// Sum over one tree's path of r_mass * 2^depth. A level's masses fit in u32 (5 trees * window < 2^19): they are
// widened and shifted once per level.
function walk1<K>(t: i32, rp: usize, lp: usize, splits: usize, sdims: usize, u: usize, nodes: i32, internal: i32, height: i32, below: u32): u64 {
  const rt = rp + (<usize>(t * nodes) << 1);
  const lt = lp + (<usize>(t * nodes) << 1);
  const st = splits + (<usize>(t * internal) << 3);
  const dt = sdims + <usize>(t * internal);
  let sum: u64 = 0;
  let w: u32 = 0;
  for (let depth = 0; depth < height; depth++) {
    const r = visit<K>(w, rt, lt, st, dt, u, below);
    sum += (r >> 32) << <u64>depth;
    w = <u32>r;
  }
  return sum + (<u64>leafVisit(w, rt, lt) << <u64>height);
}

function walk2<K>(t: i32, rp: usize, lp: usize, splits: usize, sdims: usize, u: usize, nodes: i32, internal: i32, height: i32, below: u32): u64 {
  const nb = <usize>nodes << 1;
  const rt0 = rp + (<usize>(t * nodes) << 1), rt1 = rt0 + nb;
  const lt0 = lp + (<usize>(t * nodes) << 1), lt1 = lt0 + nb;
  const st0 = splits + (<usize>(t * internal) << 3), st1 = st0 + (<usize>internal << 3);
  const dt0 = sdims + <usize>(t * internal), dt1 = dt0 + <usize>internal;
  let sum: u64 = 0;
  let w0: u32 = 0, w1: u32 = 0;
  for (let depth = 0; depth < height; depth++) {
    const r0 = visit<K>(w0, rt0, lt0, st0, dt0, u, below);
    const r1 = visit<K>(w1, rt1, lt1, st1, dt1, u, below);
    sum += ((r0 >> 32) + (r1 >> 32)) << <u64>depth;
    w0 = <u32>r0; w1 = <u32>r1;
  }
  return sum + (<u64>(leafVisit(w0, rt0, lt0) + leafVisit(w1, rt1, lt1)) << <u64>height);
}

function walk4<K>(t: i32, rp: usize, lp: usize, splits: usize, sdims: usize, u: usize, nodes: i32, internal: i32, height: i32, below: u32): u64 {
  const nb = <usize>nodes << 1;
  const sb = <usize>internal << 3;
  const db = <usize>internal;
  const rt0 = rp + (<usize>(t * nodes) << 1), rt1 = rt0 + nb, rt2 = rt1 + nb, rt3 = rt2 + nb;
  const lt0 = lp + (<usize>(t * nodes) << 1), lt1 = lt0 + nb, lt2 = lt1 + nb, lt3 = lt2 + nb;
  const st0 = splits + (<usize>(t * internal) << 3), st1 = st0 + sb, st2 = st1 + sb, st3 = st2 + sb;
  const dt0 = sdims + <usize>(t * internal), dt1 = dt0 + db, dt2 = dt1 + db, dt3 = dt2 + db;
  let sum: u64 = 0;
  let w0: u32 = 0, w1: u32 = 0, w2: u32 = 0, w3: u32 = 0;
  for (let depth = 0; depth < height; depth++) {
    const r0 = visit<K>(w0, rt0, lt0, st0, dt0, u, below);
    const r1 = visit<K>(w1, rt1, lt1, st1, dt1, u, below);
    const r2 = visit<K>(w2, rt2, lt2, st2, dt2, u, below);
    const r3 = visit<K>(w3, rt3, lt3, st3, dt3, u, below);
    sum += ((r0 >> 32) + (r1 >> 32) + (r2 >> 32) + (r3 >> 32)) << <u64>depth;
    w0 = <u32>r0; w1 = <u32>r1; w2 = <u32>r2; w3 = <u32>r3;
  }
  const leaf = leafVisit(w0, rt0, lt0) + leafVisit(w1, rt1, lt1) + leafVisit(w2, rt2, lt2) + leafVisit(w3, rt3, lt3);
  return sum + (<u64>leaf << <u64>height);
}

function walk5<K>(t: i32, rp: usize, lp: usize, splits: usize, sdims: usize, u: usize, nodes: i32, internal: i32, height: i32, below: u32): u64 {
  const nb = <usize>nodes << 1;
  const sb = <usize>internal << 3;
  const db = <usize>internal;
  const rt0 = rp + (<usize>(t * nodes) << 1), rt1 = rt0 + nb, rt2 = rt1 + nb, rt3 = rt2 + nb, rt4 = rt3 + nb;
  const lt0 = lp + (<usize>(t * nodes) << 1), lt1 = lt0 + nb, lt2 = lt1 + nb, lt3 = lt2 + nb, lt4 = lt3 + nb;
  const st0 = splits + (<usize>(t * internal) << 3), st1 = st0 + sb, st2 = st1 + sb, st3 = st2 + sb, st4 = st3 + sb;
  const dt0 = sdims + <usize>(t * internal), dt1 = dt0 + db, dt2 = dt1 + db, dt3 = dt2 + db, dt4 = dt3 + db;
  let sum: u64 = 0;
  let w0: u32 = 0, w1: u32 = 0, w2: u32 = 0, w3: u32 = 0, w4: u32 = 0;
  for (let depth = 0; depth < height; depth++) {
    const r0 = visit<K>(w0, rt0, lt0, st0, dt0, u, below);
    const r1 = visit<K>(w1, rt1, lt1, st1, dt1, u, below);
    const r2 = visit<K>(w2, rt2, lt2, st2, dt2, u, below);
    const r3 = visit<K>(w3, rt3, lt3, st3, dt3, u, below);
    const r4 = visit<K>(w4, rt4, lt4, st4, dt4, u, below);
    sum += ((r0 >> 32) + (r1 >> 32) + (r2 >> 32) + (r3 >> 32) + (r4 >> 32)) << <u64>depth;
    w0 = <u32>r0; w1 = <u32>r1; w2 = <u32>r2; w3 = <u32>r3; w4 = <u32>r4;
  }
  const leaf = leafVisit(w0, rt0, lt0) + leafVisit(w1, rt1, lt1) + leafVisit(w2, rt2, lt2) + leafVisit(w3, rt3, lt3) + leafVisit(w4, rt4, lt4);
  return sum + (<u64>leaf << <u64>height);
}

/**
 * Whether state s fits model m and holds values the step relies on (a restored snapshot, for instance): 0, or -3.
 * It cannot check the masses themselves.
 */
export function hstStateCheck(s: usize, m: usize): i32 {
  const dims = load<u32>(s, 0);
  const window = load<u32>(s, 4);
  if (dims != load<u32>(m, 0) || load<u32>(s, 20) != (<u32>2 << load<u32>(m, 8)) - 1) return -3;
  if (window < 1 || window > <u32>HST_MAX_WINDOW || load<u32>(s, 8) >= window) return -3;
  if (load<u32>(s, 12) > 1 || load<u32>(s, 16) > 1 || load<u32>(s, 48) > 1 || load<u32>(s, 52) > 1) return -3;
  return 0;
}

/** hstStep over n points at xs (f64[n * dims], row-major), scores to out (f64[n]). */
export function hstStepMany(s: usize, m: usize, xs: usize, n: i32, out: usize): void {
  const stride = <usize>load<u32>(s, 0) << 3;
  for (let i = 0; i < n; i++) store<f64>(out + (<usize>i << 3), hstStep(s, m, xs + <usize>i * stride));
}
