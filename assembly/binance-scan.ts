// The byte scanner's syntax pass in WebAssembly (build/scan.wasm): the JSON object of a Binance capture line,
// validated whole, its known fields recorded per (frame, field) slot and its level arrays read into decimal
// mantissas, for the lines Binance writes. The plain TypeScript twin is BinanceScanner's #object / #levels
// (src/adapters/binance-scan.ts). This is a fast path, not a second parser: it accepts a subset of the lines the
// twin accepts (no whitespace, escapes, control or non-ASCII bytes anywhere, no negative or fractional unquoted
// numbers) and, for every line it accepts, leaves exactly the slots and levels the twin would; for anything else it
// answers "not mine" and the host runs the twin, which decides as before (and falls back to JSON.parse where it
// must). test/binance-scan-wasm.test.ts holds the two together on every line of the captures and on mutated lines.
//
// Why another algorithm and not a port: a line-for-line port measured only 11% under V8's code for the twin (1.0 ns
// a byte): both are bound by a chain of dependent steps, each position found by reading the bytes before it. Here
// stage 1 classifies the line 16 bytes at a time (SIMD) and lists every quote; since no string holds an escape,
// every string is a pair of consecutive quotes, so stage 2 takes a string's end from the list instead of scanning
// for it, and the levels' prices and sizes are checked and converted eight bytes at a time (SWAR) at positions known
// in advance: the work of one level no longer waits for the one before it.
//
// No allocation; the quote cursor lives in a local. The bytes at `p` must be readable 16 bytes past `end` (the
// host pads its regions). Output block at `out`, its layout computed the same way by the host (src/wasm/scan.ts,
// checked against scan_layout at load):
//
//   out + 0      i32[42]  gen    the line generation that last set the slot (a slot of another line is absent)
//   out + 168    i32[42]  from   a string value's span [from, to) relative to p
//   out + 336    i32[42]  to
//   out + 504    f64[42]  int    a non-negative integer value, exact (V_INT)
//   out + 840    f64[42]  mant   a string value read as a plain decimal: its mantissa, NaN when it is not one
//   out + 1176   u8[42]   kind   V_STRING .. V_OBJECT
//   out + 1218   u8[42]   dec    the decimal's count of decimals
//   out + 1260   u8[42]   neg    1 when the string starts with '-'
//   out + 1304   i32 x 4  the slot whose array filled the bids, the asks (-1: none), their counts
//   out + 1320   time     scan_timed's receive time: f64 seconds, f64 nanoseconds, u32 low and high halves of the ns
//   out + 1344   i32 x 4  lineFacts: where the stream's type starts, the type (1 trade, 2 bookTicker, 0 another),
//                         whether the symbol is the previous accepted line's, that symbol's length (-1: none)
//   out + 1360   u8[48]   that symbol's bytes
//   out + 1408   levels   bids then asks, `cap` levels each: f64 pxMant[cap], f64 qtyMant[cap], u8 pxDec[cap],
//                         u8 qtyDec[cap] (cap a multiple of 8)
//
// Slots: frame + field, frame 0 the top-level object and 21 the "data" object of a combined-stream message. The
// quote list goes to `qp` (i32, room for end - start + 4 entries).

const F_STREAM: i32 = 0, F_DATA: i32 = 1, F_B: i32 = 7, F_A: i32 = 9, F_PU: i32 = 13, F_LAST_ID: i32 = 15;
const F_BIDS: i32 = 16, F_ASKS: i32 = 17, F_SYMBOL: i32 = 18;
const NF: i32 = 21;
const TOP: i32 = 0, DATA: i32 = NF;

const V_STRING: u8 = 1, V_INT: u8 = 2, V_NUMBER: u8 = 3, V_TRUE: u8 = 4, V_FALSE: u8 = 5, V_NULL: u8 = 6, V_ARRAY: u8 = 7, V_OBJECT: u8 = 8;

/** Not accepted here: the host asks the twin. */
const PASS: i32 = -1;

const Q: u32 = 34, COMMA: u32 = 44, COLON: u32 = 58, LBRACE: u32 = 123, RBRACE: u32 = 125, LBRACKET: u32 = 91;
const RBRACKET: u32 = 93, DOT: u32 = 46, MINUS: u32 = 45, ZERO: u32 = 48;

/** 2^53 - 1, and 2^53: a mantissa is read in an i64 that stops growing at 2^53 (so it never wraps). */
const MAX_SAFE: i64 = 9007199254740991;
const TWO_53: i64 = 9007199254740992;
/** Decimals a level's price or size may have (binance-message.ts MAX_DECIMALS). */
const MAX_DECIMALS: i32 = 18;
/** A quote position past any line: the list ends with a few, so that reading ahead needs no test. */
const NO_QUOTE: i32 = 0x7fffffff;

export const O_GEN: i32 = 0, O_FROM: i32 = 168, O_TO: i32 = 336, O_INT: i32 = 504, O_MANT: i32 = 840;
export const O_KIND: i32 = 1176, O_DEC: i32 = 1218, O_NEG: i32 = 1260;
export const O_BIDS_SLOT: i32 = 1304, O_ASKS_SLOT: i32 = 1308, O_BIDS_N: i32 = 1312, O_ASKS_N: i32 = 1316;
/** What the classifier asks of an accepted line (see lineFacts): i32 type start, i32 type, i32 symbol same, the last symbol. */
export const O_TYPE_FROM: i32 = 1344, O_TYPE: i32 = 1348, O_SYM_SAME: i32 = 1352, O_SYM_LEN: i32 = 1356, O_SYM: i32 = 1360;
const SYM_CAP: i32 = 48;
export const O_LEVELS: i32 = 1408;

/** Field ids of one-letter keys by byte (-1 for the rest): e s p q m b B a A u U t i r (binance-scan.ts). */
const ONE_LETTER: usize = memory.data<i8>([
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  // 64 '@', 65 'A' = 10, 66 'B' = 8, 85 'U' = 12
  -1, 10, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  // 97 'a' = 9, 98 'b' = 7, 101 'e' = 2, 105 'i' = 19, 109 'm' = 6, 112 'p' = 4, 113 'q' = 5, 114 'r' = 20, 115 's' = 3,
  // 116 't' = 14, 117 'u' = 11
  -1, 9, 7, -1, -1, 2, -1, -1, -1, 19, -1, -1, -1, 6, -1, -1, 4, 5, 20, 3, 14, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
]);

/** 10^0 .. 10^8, and for each n the least m with m * 10^n >= 2^53 (a mantissa saturates there: it never wraps). */
const POW10: usize = memory.data<u64>([1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000]);
const SAT: usize = memory.data<u64>([9007199254740992, 900719925474100, 90071992547410, 9007199254741, 900719925475, 90071992548, 9007199255, 900719926, 90071993]);

@inline function at(p: usize, pos: i32): u32 { return <u32>load<u8>(p + <usize>pos); }
@inline function quote(qp: usize, i: i32): i32 { return load<i32>(qp + (<usize>i << 2)); }

// ---- Eight digits at a time (SWAR) ------------------------------------------------------------------------------

/** Index (0..8) of the first byte of x (the first in memory is the lowest) that is not an ASCII digit; 8 if none. */
@inline function firstNonDigit(x: u64): i32 {
  const y = ((x & 0xF0F0F0F0F0F0F0F0) ^ 0x3030303030303030) | (((x + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) ^ 0x3030303030303030);
  return y == 0 ? 8 : <i32>(ctz(y) >> 3);
}

/** Length of the run of digits at pos. It stops at the first non-digit: callers know one comes before their end. */
@inline function digitRun(p: usize, pos: i32): i32 {
  let i = pos;
  for (;;) {
    const nd = firstNonDigit(load<u64>(p + <usize>i));
    i += nd;
    if (nd < 8) break;
  }
  return i - pos;
}

/** The value of the n (1..8) digits at q (Lemire's parse_eight_digits_unrolled, after shifting the others out). */
@inline function digits8(q: usize, n: i32): u64 {
  let v = (load<u64>(q) - 0x3030303030303030) << (<u64>(8 - n) << 3);
  v = v * 10 + (v >> 8);
  return (((v & 0x000000FF000000FF) * 0x000F424000000064) + (((v >> 16) & 0x000000FF000000FF) * 0x0000271000000001)) >> 32;
}

/** m * 10^n + (the n digits at pos), saturating at 2^53: the twin's test `m <= 2^53 - 1` stays exact. */
@inline function accumulate(p: usize, pos: i32, n: i32, m: i64): i64 {
  while (n > 0) {
    const k = n < 8 ? n : 8;
    const v = <i64>digits8(p + <usize>pos, k);
    m = <u64>m < load<u64>(SAT + (<usize>k << 3)) ? m * <i64>load<u64>(POW10 + (<usize>k << 3)) + v : TWO_53;
    pos += k;
    n -= k;
  }
  return m;
}



/**
 * High bit of each of the first L (0..8) bytes of x that is not an ASCII digit. Exact for bytes up to 0x7e (stage 1
 * sees to that inside the line; the bytes past L may be anything, and nothing carries down from them): b + 0x46 has
 * its high bit set for b > '9', and b + 0x50 its high bit clear for b < '0'.
 */
@inline function nonDigits(x: u64, L: i32): u64 {
  return ((x + 0x4646464646464646) | ~(x + 0x5050505050505050)) & load<u64>(KEEP + (<usize>L << 3));
}

/** The value of n (1..8) digit bytes at the bottom of x. */
@inline function digitsOf(x: u64, n: i32): u64 {
  let v = (x - 0x3030303030303030) << (<u64>(8 - n) << 3);
  v = v * 10 + (v >> 8);
  return (((v & 0x000000FF000000FF) * 0x000F424000000064) + (((v >> 16) & 0x000000FF000000FF) * 0x0000271000000001)) >> 32;
}

/** decimal16 for L <= 8, in one 64-bit word: about half the instructions. */
@inline function decimal8(q: usize, L: i32, allowDot: bool): i64 {
  const x = load<u64>(q);
  const nd = nonDigits(x, L);
  if (nd == 0) return <i64>(digitsOf(x, L) << 5);
  // One non-digit, a dot with a digit on each side: drop it (the bytes after it move down one).
  const di = <i32>(ctz(nd) >> 3);
  if (!allowDot || (nd & (nd - 1)) != 0 || ((x >> (<u64>di << 3)) & 0xff) != 46 || di == 0 || di == L - 1) return -1;
  const low = (load<u64>(KEEP + (<usize>di << 3)) >> 7) * 0xff; // the first di bytes
  const w = (x & low) | ((x >> 8) & ~low);
  return <i64>(digitsOf(w, L - 1) << 5) | <i64>(L - 1 - di);
}

/** KEEP[L]: the high bits of the first L bytes (L = 0..8). */
const KEEP: usize = memory.data<u64>([0, 0x80, 0x8080, 0x808080, 0x80808080, 0x8080808080, 0x808080808080, 0x80808080808080, 0x8080808080808080]);

/**
 * The decimal of the L (1..16) bytes at q, when they are digits with at most one '.' between two of them: returns
 * (mantissa << 5) | decimals, the mantissa exact (16 digits at most: below 2^63), or -1. One 16-byte load, no loop:
 * the digits are moved (dot dropped) to the end of a vector by a shuffle computed from the dot's place, then summed
 * in pairs, fours and eights (i16x8 multiply-add, i32x4 dot product) like the eight-digit SWAR above.
 */
@inline function decimal16(q: usize, L: i32, allowDot: bool): i64 {
  const raw = v128.load(q);
  const v = i8x16.sub(raw, v128.load(K48));
  const keep = (1 << L) - 1;
  const nonDigit = i8x16.bitmask(i8x16.ge_u(v, v128.load(K10))) & keep;
  const dots = i8x16.bitmask(i8x16.eq(raw, v128.load(KDOT))) & keep;
  // Every non-digit is a dot, and there is at most one, with a digit on each side.
  if (nonDigit != dots) return -1;
  let nd = L;
  let di = 16; // the dot's index; 16: none
  if (dots != 0) {
    di = ctz(dots);
    if (!allowDot || (dots & (dots - 1)) != 0 || di == 0 || di == L - 1) return -1;
    nd = L - 1;
  }
  // Output lane o takes digit t = o - (16 - nd) (a leading zero when t < 0: index 0x80 reads 0), read from byte t,
  // or t + 1 past the dot.
  const t = i8x16.sub(v128.load(IOTA), i8x16.splat(<i8>(16 - nd)));
  const past = i8x16.ge_s(t, i8x16.splat(<i8>di)); // t >= di: one further
  const idx = v128.or(i8x16.sub(t, past), i8x16.lt_s(t, i8x16.splat(0))); // -1 where t < 0: out of range
  const d = i8x16.swizzle(v, idx);
  const pairs = i16x8.add(i16x8.mul(v128.and(d, v128.load(KFF)), v128.load(K10W)), i16x8.shr_u(d, 8));
  const fours = i32x4.dot_i16x8_s(pairs, v128.load(HUNDRED_ONE));
  const hi = <i64>i32x4.extract_lane(fours, 0) * 10000 + <i64>i32x4.extract_lane(fours, 1);
  const lo = <i64>i32x4.extract_lane(fours, 2) * 10000 + <i64>i32x4.extract_lane(fours, 3);
  const m = hi * 100000000 + lo;
  return (m << 5) | <i64>(di == 16 ? 0 : L - 1 - di);
}

/** The integer of the L (1..16) digits at q, or -1 when one is not a digit: two words, no vector. */
@inline function integer16(q: usize, L: i32): i64 {
  const x0 = load<u64>(q);
  if (L <= 8) return nonDigits(x0, L) != 0 ? -1 : <i64>digitsOf(x0, L);
  const x1 = load<u64>(q + 8);
  if ((nonDigits(x0, 8) | nonDigits(x1, L - 8)) != 0) return -1;
  return <i64>(digitsOf(x0, 8) * load<u64>(POW10 + (<usize>(L - 8) << 3)) + digitsOf(x1, L - 8));
}

/** decimal8 or decimal16 by length (1..16). */
@inline function decimalN(q: usize, L: i32, allowDot: bool): i64 {
  return L <= 8 ? decimal8(q, L, allowDot) : decimal16(q, L, allowDot);
}

/** For each byte value, the offsets (0..7) of its set bits, in order, padded to eight. */
const QUOTE_OFFSETS: usize = memory.data<u8>([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 2, 3, 0, 0, 0, 0, 0, 0, 0, 2, 3, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0, 2, 4, 0, 0, 0, 0, 0, 0, 0, 2, 4, 0, 0, 0, 0, 0, 1, 2, 4, 0, 0, 0, 0, 0, 0, 1, 2, 4, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 1, 3, 4, 0, 0, 0, 0, 0, 0, 1, 3, 4, 0, 0, 0, 0, 2, 3, 4, 0, 0, 0, 0, 0, 0, 2, 3, 4, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 1, 5, 0, 0, 0, 0, 0, 0, 0, 1, 5, 0, 0, 0, 0, 0, 2, 5, 0, 0, 0, 0, 0, 0, 0, 2, 5, 0, 0, 0, 0, 0, 1, 2, 5, 0, 0, 0, 0, 0, 0, 1, 2, 5, 0, 0, 0, 0, 3, 5, 0, 0, 0, 0, 0, 0, 0, 3, 5, 0, 0, 0, 0, 0, 1, 3, 5, 0, 0, 0, 0, 0, 0, 1, 3, 5, 0, 0, 0, 0, 2, 3, 5, 0, 0, 0, 0, 0, 0, 2, 3, 5, 0, 0, 0, 0, 1, 2, 3, 5, 0, 0, 0, 0, 0, 1, 2, 3, 5, 0, 0, 0, 4, 5, 0, 0, 0, 0, 0, 0, 0, 4, 5, 0, 0, 0, 0, 0, 1, 4, 5, 0, 0, 0, 0, 0, 0, 1, 4, 5, 0, 0, 0, 0, 2, 4, 5, 0, 0, 0, 0, 0, 0, 2, 4, 5, 0, 0, 0, 0, 1, 2, 4, 5, 0, 0, 0, 0, 0, 1, 2, 4, 5, 0, 0, 0, 3, 4, 5, 0, 0, 0, 0, 0, 0, 3, 4, 5, 0, 0, 0, 0, 1, 3, 4, 5, 0, 0, 0, 0, 0, 1, 3, 4, 5, 0, 0, 0, 2, 3, 4, 5, 0, 0, 0, 0, 0, 2, 3, 4, 5, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 1, 6, 0, 0, 0, 0, 0, 0, 0, 1, 6, 0, 0, 0, 0, 0, 2, 6, 0, 0, 0, 0, 0, 0, 0, 2, 6, 0, 0, 0, 0, 0, 1, 2, 6, 0, 0, 0, 0, 0, 0, 1, 2, 6, 0, 0, 0, 0, 3, 6, 0, 0, 0, 0, 0, 0, 0, 3, 6, 0, 0, 0, 0, 0, 1, 3, 6, 0, 0, 0, 0, 0, 0, 1, 3, 6, 0, 0, 0, 0, 2, 3, 6, 0, 0, 0, 0, 0, 0, 2, 3, 6, 0, 0, 0, 0, 1, 2, 3, 6, 0, 0, 0, 0, 0, 1, 2, 3, 6, 0, 0, 0, 4, 6, 0, 0, 0, 0, 0, 0, 0, 4, 6, 0, 0, 0, 0, 0, 1, 4, 6, 0, 0, 0, 0, 0, 0, 1, 4, 6, 0, 0, 0, 0, 2, 4, 6, 0, 0, 0, 0, 0, 0, 2, 4, 6, 0, 0, 0, 0, 1, 2, 4, 6, 0, 0, 0, 0, 0, 1, 2, 4, 6, 0, 0, 0, 3, 4, 6, 0, 0, 0, 0, 0, 0, 3, 4, 6, 0, 0, 0, 0, 1, 3, 4, 6, 0, 0, 0, 0, 0, 1, 3, 4, 6, 0, 0, 0, 2, 3, 4, 6, 0, 0, 0, 0, 0, 2, 3, 4, 6, 0, 0, 0, 1, 2, 3, 4, 6, 0, 0, 0, 0, 1, 2, 3, 4, 6, 0, 0, 5, 6, 0, 0, 0, 0, 0, 0, 0, 5, 6, 0, 0, 0, 0, 0, 1, 5, 6, 0, 0, 0, 0, 0, 0, 1, 5, 6, 0, 0, 0, 0, 2, 5, 6, 0, 0, 0, 0, 0, 0, 2, 5, 6, 0, 0, 0, 0, 1, 2, 5, 6, 0, 0, 0, 0, 0, 1, 2, 5, 6, 0, 0, 0, 3, 5, 6, 0, 0, 0, 0, 0, 0, 3, 5, 6, 0, 0, 0, 0, 1, 3, 5, 6, 0, 0, 0, 0, 0, 1, 3, 5, 6, 0, 0, 0, 2, 3, 5, 6, 0, 0, 0, 0, 0, 2, 3, 5, 6, 0, 0, 0, 1, 2, 3, 5, 6, 0, 0, 0, 0, 1, 2, 3, 5, 6, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0, 4, 5, 6, 0, 0, 0, 0, 1, 4, 5, 6, 0, 0, 0, 0, 0, 1, 4, 5, 6, 0, 0, 0, 2, 4, 5, 6, 0, 0, 0, 0, 0, 2, 4, 5, 6, 0, 0, 0, 1, 2, 4, 5, 6, 0, 0, 0, 0, 1, 2, 4, 5, 6, 0, 0, 3, 4, 5, 6, 0, 0, 0, 0, 0, 3, 4, 5, 6, 0, 0, 0, 1, 3, 4, 5, 6, 0, 0, 0, 0, 1, 3, 4, 5, 6, 0, 0, 2, 3, 4, 5, 6, 0, 0, 0, 0, 2, 3, 4, 5, 6, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0, 2, 7, 0, 0, 0, 0, 0, 0, 0, 2, 7, 0, 0, 0, 0, 0, 1, 2, 7, 0, 0, 0, 0, 0, 0, 1, 2, 7, 0, 0, 0, 0, 3, 7, 0, 0, 0, 0, 0, 0, 0, 3, 7, 0, 0, 0, 0, 0, 1, 3, 7, 0, 0, 0, 0, 0, 0, 1, 3, 7, 0, 0, 0, 0, 2, 3, 7, 0, 0, 0, 0, 0, 0, 2, 3, 7, 0, 0, 0, 0, 1, 2, 3, 7, 0, 0, 0, 0, 0, 1, 2, 3, 7, 0, 0, 0, 4, 7, 0, 0, 0, 0, 0, 0, 0, 4, 7, 0, 0, 0, 0, 0, 1, 4, 7, 0, 0, 0, 0, 0, 0, 1, 4, 7, 0, 0, 0, 0, 2, 4, 7, 0, 0, 0, 0, 0, 0, 2, 4, 7, 0, 0, 0, 0, 1, 2, 4, 7, 0, 0, 0, 0, 0, 1, 2, 4, 7, 0, 0, 0, 3, 4, 7, 0, 0, 0, 0, 0, 0, 3, 4, 7, 0, 0, 0, 0, 1, 3, 4, 7, 0, 0, 0, 0, 0, 1, 3, 4, 7, 0, 0, 0, 2, 3, 4, 7, 0, 0, 0, 0, 0, 2, 3, 4, 7, 0, 0, 0, 1, 2, 3, 4, 7, 0, 0, 0, 0, 1, 2, 3, 4, 7, 0, 0, 5, 7, 0, 0, 0, 0, 0, 0, 0, 5, 7, 0, 0, 0, 0, 0, 1, 5, 7, 0, 0, 0, 0, 0, 0, 1, 5, 7, 0, 0, 0, 0, 2, 5, 7, 0, 0, 0, 0, 0, 0, 2, 5, 7, 0, 0, 0, 0, 1, 2, 5, 7, 0, 0, 0, 0, 0, 1, 2, 5, 7, 0, 0, 0, 3, 5, 7, 0, 0, 0, 0, 0, 0, 3, 5, 7, 0, 0, 0, 0, 1, 3, 5, 7, 0, 0, 0, 0, 0, 1, 3, 5, 7, 0, 0, 0, 2, 3, 5, 7, 0, 0, 0, 0, 0, 2, 3, 5, 7, 0, 0, 0, 1, 2, 3, 5, 7, 0, 0, 0, 0, 1, 2, 3, 5, 7, 0, 0, 4, 5, 7, 0, 0, 0, 0, 0, 0, 4, 5, 7, 0, 0, 0, 0, 1, 4, 5, 7, 0, 0, 0, 0, 0, 1, 4, 5, 7, 0, 0, 0, 2, 4, 5, 7, 0, 0, 0, 0, 0, 2, 4, 5, 7, 0, 0, 0, 1, 2, 4, 5, 7, 0, 0, 0, 0, 1, 2, 4, 5, 7, 0, 0, 3, 4, 5, 7, 0, 0, 0, 0, 0, 3, 4, 5, 7, 0, 0, 0, 1, 3, 4, 5, 7, 0, 0, 0, 0, 1, 3, 4, 5, 7, 0, 0, 2, 3, 4, 5, 7, 0, 0, 0, 0, 2, 3, 4, 5, 7, 0, 0, 1, 2, 3, 4, 5, 7, 0, 0, 0, 1, 2, 3, 4, 5, 7, 0, 6, 7, 0, 0, 0, 0, 0, 0, 0, 6, 7, 0, 0, 0, 0, 0, 1, 6, 7, 0, 0, 0, 0, 0, 0, 1, 6, 7, 0, 0, 0, 0, 2, 6, 7, 0, 0, 0, 0, 0, 0, 2, 6, 7, 0, 0, 0, 0, 1, 2, 6, 7, 0, 0, 0, 0, 0, 1, 2, 6, 7, 0, 0, 0, 3, 6, 7, 0, 0, 0, 0, 0, 0, 3, 6, 7, 0, 0, 0, 0, 1, 3, 6, 7, 0, 0, 0, 0, 0, 1, 3, 6, 7, 0, 0, 0, 2, 3, 6, 7, 0, 0, 0, 0, 0, 2, 3, 6, 7, 0, 0, 0, 1, 2, 3, 6, 7, 0, 0, 0, 0, 1, 2, 3, 6, 7, 0, 0, 4, 6, 7, 0, 0, 0, 0, 0, 0, 4, 6, 7, 0, 0, 0, 0, 1, 4, 6, 7, 0, 0, 0, 0, 0, 1, 4, 6, 7, 0, 0, 0, 2, 4, 6, 7, 0, 0, 0, 0, 0, 2, 4, 6, 7, 0, 0, 0, 1, 2, 4, 6, 7, 0, 0, 0, 0, 1, 2, 4, 6, 7, 0, 0, 3, 4, 6, 7, 0, 0, 0, 0, 0, 3, 4, 6, 7, 0, 0, 0, 1, 3, 4, 6, 7, 0, 0, 0, 0, 1, 3, 4, 6, 7, 0, 0, 2, 3, 4, 6, 7, 0, 0, 0, 0, 2, 3, 4, 6, 7, 0, 0, 1, 2, 3, 4, 6, 7, 0, 0, 0, 1, 2, 3, 4, 6, 7, 0, 5, 6, 7, 0, 0, 0, 0, 0, 0, 5, 6, 7, 0, 0, 0, 0, 1, 5, 6, 7, 0, 0, 0, 0, 0, 1, 5, 6, 7, 0, 0, 0, 2, 5, 6, 7, 0, 0, 0, 0, 0, 2, 5, 6, 7, 0, 0, 0, 1, 2, 5, 6, 7, 0, 0, 0, 0, 1, 2, 5, 6, 7, 0, 0, 3, 5, 6, 7, 0, 0, 0, 0, 0, 3, 5, 6, 7, 0, 0, 0, 1, 3, 5, 6, 7, 0, 0, 0, 0, 1, 3, 5, 6, 7, 0, 0, 2, 3, 5, 6, 7, 0, 0, 0, 0, 2, 3, 5, 6, 7, 0, 0, 1, 2, 3, 5, 6, 7, 0, 0, 0, 1, 2, 3, 5, 6, 7, 0, 4, 5, 6, 7, 0, 0, 0, 0, 0, 4, 5, 6, 7, 0, 0, 0, 1, 4, 5, 6, 7, 0, 0, 0, 0, 1, 4, 5, 6, 7, 0, 0, 2, 4, 5, 6, 7, 0, 0, 0, 0, 2, 4, 5, 6, 7, 0, 0, 1, 2, 4, 5, 6, 7, 0, 0, 0, 1, 2, 4, 5, 6, 7, 0, 3, 4, 5, 6, 7, 0, 0, 0, 0, 3, 4, 5, 6, 7, 0, 0, 1, 3, 4, 5, 6, 7, 0, 0, 0, 1, 3, 4, 5, 6, 7, 0, 2, 3, 4, 5, 6, 7, 0, 0, 0, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 1, 2, 3, 4, 5, 6, 7], 8);

const IOTA: usize = memory.data<u8>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], 16);
const K95: usize = memory.data<u8>([95, 95, 95, 95, 95, 95, 95, 95, 95, 95, 95, 95, 95, 95, 95, 95], 16);
const KM35: usize = memory.data<i8>([-35, -35, -35, -35, -35, -35, -35, -35, -35, -35, -35, -35, -35, -35, -35, -35], 16);
const KBS: usize = memory.data<u8>([92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92], 16);
const KQ: usize = memory.data<u8>([34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34], 16);
const K48: usize = memory.data<u8>([48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48], 16);
const K10: usize = memory.data<u8>([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10], 16);
const KDOT: usize = memory.data<u8>([46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46], 16);
const KFF: usize = memory.data<u16>([255, 255, 255, 255, 255, 255, 255, 255], 16);
const K10W: usize = memory.data<u16>([10, 10, 10, 10, 10, 10, 10, 10], 16);
const HUNDRED_ONE: usize = memory.data<i16>([100, 1, 100, 1, 100, 1, 100, 1], 16);

/** Store the positions at + offset of the set bits of `byte` at w (eight written); returns w past the real ones. */
@inline function quoteByte(w: usize, byte: u32, at: i32): usize {
  const o16 = i16x8.extend_low_i8x16_u(v128.load64_zero(QUOTE_OFFSETS + (<usize>byte << 3)));
  const base = i32x4.splat(at);
  v128.store(w, i32x4.add(i32x4.extend_low_i16x8_u(o16), base));
  v128.store(w, i32x4.add(i32x4.extend_high_i16x8_u(o16), base), 16);
  return w + (<usize>popcnt(byte) << 2);
}

// ---- Fields ---------------------------------------------------------------------------------------------------

function equalsAscii(p: usize, from: i32, w: string): bool {
  for (let i = 0; i < w.length; i++) if (at(p, from + i) != <u32>w.charCodeAt(i)) return false;
  return true;
}

/** The field id of the key in [from, to), or -1 for a key the classifier does not read (binance-scan.ts fieldOf). */
function fieldOf(p: usize, from: i32, to: i32): i32 {
  const n = to - from;
  const c = at(p, from);
  if (n == 1) return <i32>load<i8>(ONE_LETTER + <usize>c);
  if (n == 2) return c == 112 && at(p, from + 1) == 117 ? F_PU : -1;
  if (n == 4) {
    const w = load<u32>(p + <usize>from);
    if (w == 0x61746164) return F_DATA; // "data"
    if (w == 0x73646962) return F_BIDS; // "bids"
    if (w == 0x736b7361) return F_ASKS; // "asks"
    return -1;
  }
  if (n == 6) {
    const w = load<u32>(p + <usize>from), h = load<u16>(p + <usize>from + 4);
    if (w == 0x65727473 && h == 0x6d61) return F_STREAM; // "stre" "am"
    if (w == 0x626d7973 && h == 0x6c6f) return F_SYMBOL; // "symb" "ol"
    return -1;
  }
  if (n == 12 && equalsAscii(p, from, "lastUpdateId")) return F_LAST_ID;
  return -1;
}

/**
 * A string value [from, to) of a known field: the twin's reading of it as a plain decimal (-?digits(.digits)?):
 * its mantissa (NaN when it is not one, or has no digit before the dot or after it, over 22 decimals or 2^53 - 1),
 * decimals and sign, with its span.
 */
@inline function decimalString(p: usize, from: i32, to: i32, out: usize, so: usize): void {
  const neg = at(p, from) == MINUS ? 1 : 0; // from == to: the closing quote, not '-'
  const b = from + neg;
  store<i32>(out + O_FROM + (so << 2), from);
  store<i32>(out + O_TO + (so << 2), to);
  store<u8>(out + O_NEG + so, <u8>neg);
  const L = to - b;
  if (L < 1 || at(p, b) - ZERO >= 10) {
    // No digit first: never a plain decimal with digits before its dot (a symbol, a stream type, "", "-", ".5").
    store<f64>(out + O_MANT + (so << 3), NaN);
    store<u8>(out + O_DEC + so, 0);
    return;
  }
  if (L <= 16) {
    // Plain and ok exactly when it is digits with at most one interior dot, and the mantissa is exact.
    const r = decimalN(p + <usize>b, L, true);
    const m = r >> 5;
    const ok = r >= 0 && m <= MAX_SAFE;
    store<f64>(out + O_MANT + (so << 3), ok ? <f64>m : NaN);
    store<u8>(out + O_DEC + so, ok ? <u8>(r & 31) : 0);
    return;
  }
  const n1 = digitRun(p, b);
  let m = accumulate(p, b, n1, 0);
  let q = b + n1;
  let dot = false;
  let k = 0;
  if (q < to && at(p, q) == DOT) {
    dot = true;
    k = digitRun(p, q + 1);
    m = accumulate(p, q + 1, k, m);
    q += 1 + k;
  }
  const ok = q == to && n1 > 0 && (!dot || k > 0) && k <= 22 && m <= MAX_SAFE;
  store<f64>(out + O_MANT + (so << 3), ok ? <f64>m : NaN);
  store<u8>(out + O_DEC + so, ok ? <u8>k : 0);
}

/**
 * A level's price or size, the string [a, z) between two quotes: digits, optionally '.' and digits, at most
 * MAX_DECIMALS decimals and a mantissa of at most 2^53 - 1 (the twin's #levels). Returns the mantissa and stores the
 * decimals at `dec`, or returns -1.
 */
@inline function levelNumber(p: usize, a: i32, z: i32, dec: usize): i64 {
  const L = z - a;
  if (L >= 1 && L <= 16) {
    const r = decimalN(p + <usize>a, L, true);
    const m = r >> 5;
    if (r < 0 || m > MAX_SAFE) return -1; // 16 digits, no dot, can pass 2^53; decimals are at most 14 here
    store<u8>(dec, <u8>(r & 31));
    return m;
  }
  const n1 = digitRun(p, a);
  let m = accumulate(p, a, n1, 0);
  let q = a + n1;
  let k = 0;
  if (at(p, q) == DOT) {
    k = digitRun(p, q + 1);
    m = accumulate(p, q + 1, k, m);
    q += 1 + k;
    if (k == 0) return -1;
  }
  if (n1 == 0 || q != z || k > MAX_DECIMALS || m > MAX_SAFE) return -1;
  store<u8>(dec, <u8>k);
  return m;
}

/**
 * The level array at p[pos] == '[' into the side at `lv`, quotes from index qi on; returns the position after its
 * ']' and leaves the quote index in the out block's count slot's neighbour, or PASS. Each level is
 * ["price","size"]: four quotes, whose positions fix everything else.
 */
@inline function levels(p: usize, pos: i32, end: i32, qp: usize, qi: i32, lv: usize, cap: i32, nOut: usize): i64 {
  const pm = lv, qm = lv + (<usize>cap << 3), pd = lv + (<usize>cap << 4), qd = pd + <usize>cap;
  let n = 0;
  pos++;
  if (pos < end && at(p, pos) == RBRACKET) { store<i32>(nOut, 0); return (<i64>qi << 32) | <i64>(pos + 1); }
  for (;;) {
    const q0 = quote(qp, qi), q1 = quote(qp, qi + 1), q2 = quote(qp, qi + 2), q3 = quote(qp, qi + 3);
    // q3 < end: the four quotes exist (the list ends with NO_QUOTE), and q3 + 2 is at most end.
    if (q3 >= end || at(p, pos) != LBRACKET || q0 != pos + 1 || q2 != q1 + 2 || at(p, q1 + 1) != COMMA || at(p, q3 + 1) != RBRACKET) return PASS;
    if (n == cap) return PASS;
    const price = levelNumber(p, q0 + 1, q1, pd + <usize>n);
    const size = levelNumber(p, q2 + 1, q3, qd + <usize>n);
    if ((price | size) < 0) return PASS;
    store<f64>(pm + (<usize>n << 3), <f64>price);
    store<f64>(qm + (<usize>n << 3), <f64>size);
    n++;
    qi += 4;
    pos = q3 + 2;
    if (pos >= end) return PASS;
    const c = at(p, pos);
    if (c == COMMA) { pos++; continue; }
    if (c == RBRACKET) { store<i32>(nOut, n); return (<i64>qi << 32) | <i64>(pos + 1); }
    return PASS;
  }
}

const F_S: i32 = 3;

/**
 * Facts the classifier (BinanceScanner.#classify, #typeOf, #symbol) would otherwise find with a loop over bytes in
 * TypeScript, for a line this path took: where the type starts in a combined stream's name (after its first '@'),
 * whether that type is exactly "trade" or "bookTicker", and whether the symbol the classifier reads (the "data"
 * frame's "s" in a combined message, else the top frame's) has the bytes of the previous accepted line's, which this
 * block keeps (up to SYM_CAP bytes).
 */
function lineFacts(p: usize, gen: i32, out: usize): void {
  let type = 0;
  const stream = <usize>(TOP + F_STREAM);
  const combined = load<i32>(out + O_GEN + (stream << 2)) == gen;
  if (combined && load<u8>(out + O_KIND + stream) == V_STRING) {
    const from = load<i32>(out + O_FROM + (stream << 2)), to = load<i32>(out + O_TO + (stream << 2));
    let t = from;
    while (t < to && at(p, t) != 64) t++;
    t = t < to ? t + 1 : from;
    store<i32>(out + O_TYPE_FROM, t);
    const n = to - t;
    if (n == 5 && load<u32>(p + <usize>t) == 0x64617274 && at(p, t + 4) == 101) type = 1; // "trad" "e"
    else if (n == 10 && load<u64>(p + <usize>t) == 0x6b6369546b6f6f62 && load<u16>(p + <usize>t + 8) == 0x7265) type = 2; // "bookTick" "er"
  }
  store<i32>(out + O_TYPE, type);
  // The symbol: the same bytes as the last accepted line's?
  const sym = <usize>((combined ? DATA : TOP) + F_S);
  let same = 0, len = -1;
  if (load<i32>(out + O_GEN + (sym << 2)) == gen && load<u8>(out + O_KIND + sym) == V_STRING) {
    const from = load<i32>(out + O_FROM + (sym << 2)), to = load<i32>(out + O_TO + (sym << 2));
    const n = to - from;
    if (n > 0 && n <= SYM_CAP) {
      len = n;
      const q = p + <usize>from, b = out + O_SYM;
      if (load<i32>(out + O_SYM_LEN) == n) {
        let k = 0;
        while (k + 8 <= n && load<u64>(q + <usize>k) == load<u64>(b + <usize>k)) k += 8;
        while (k < n && load<u8>(q + <usize>k) == load<u8>(b + <usize>k)) k++;
        same = k == n ? 1 : 0;
      }
      if (!same) memory.copy(b, q, <usize>n);
    }
  }
  store<i32>(out + O_SYM_SAME, same);
  store<i32>(out + O_SYM_LEN, len);
}

/**
 * The JSON object of bytes [start, end) at p, nothing else on the line: 0 when this fast path accepts it, every slot
 * and level then recorded under generation `gen` (a value no slot holds yet) as the twin would; PASS otherwise.
 */
export function scan_line(p: usize, start: i32, end: i32, gen: i32, out: usize, cap: i32, qp: usize): i32 {
  store<i32>(out + O_BIDS_SLOT, -1);
  store<i32>(out + O_ASKS_SLOT, -1);
  if (end - start < 2) return PASS;

  // Stage 1: refuse whitespace, control bytes, bytes past 126 and backslashes; list the quotes. 32 bytes a step,
  // eight quote positions written whatever the count (most steps hold fewer), more by a loop when a step has them.
  // Vector constants are loaded from memory: V8 rebuilds a v128.const in the loop each time.
  let nq = 0;
  let w = qp;
  for (let i = start; i < end; i += 32) {
    const v0 = v128.load(p + <usize>i), v1 = v128.load(p + <usize>i + 16);
    // A byte is fine when 33 <= b <= 126: b + 95 (wrapping) is then -128..-35 as a signed byte, so one signed
    // comparison finds the rest (V8 lowers an unsigned byte comparison to four instructions, a signed one to one).
    const c95 = v128.load(K95), cm35 = v128.load(KM35), cbs = v128.load(KBS), cq = v128.load(KQ);
    const bad0 = v128.or(i8x16.gt_s(i8x16.add(v0, c95), cm35), i8x16.eq(v0, cbs));
    const bad1 = v128.or(i8x16.gt_s(i8x16.add(v1, c95), cm35), i8x16.eq(v1, cbs));
    let bm = <u32>i8x16.bitmask(bad0) | (<u32>i8x16.bitmask(bad1) << 16);
    let qm = <u32>i8x16.bitmask(i8x16.eq(v0, cq)) | (<u32>i8x16.bitmask(i8x16.eq(v1, cq)) << 16);
    const rest = end - i;
    if (rest < 32) { const keep = (<u32>1 << <u32>rest) - 1; bm &= keep; qm &= keep; }
    if (bm != 0) return PASS;
    // Each byte of the mask names up to eight quotes: a table gives their offsets in that byte, widened to i32 and
    // stored eight at a time whatever their count (no chain from one quote to the next, no loop to mispredict).
    w = quoteByte(w, qm & 0xff, i);
    w = quoteByte(w, (qm >> 8) & 0xff, i + 8);
    w = quoteByte(w, (qm >> 16) & 0xff, i + 16);
    w = quoteByte(w, qm >> 24, i + 24);
  }
  nq = <i32>((w - qp) >> 2);
  for (let j = 0; j < 4; j++) store<i32>(qp + (<usize>(nq + j) << 2), NO_QUOTE);

  // Stage 2: the twin's grammar over the top-level object and, inside it, a "data" object.
  let pos = start;
  if (at(p, pos) != LBRACE) return PASS;
  pos++;
  let qi = 0;
  let frame = TOP;
  let c = at(p, pos);
  if (c == RBRACE) {
    if (pos + 1 != end) return PASS;
    lineFacts(p, gen, out);
    return 0;
  }
  for (;;) {
    // A key: the next two quotes.
    const keyFrom = pos + 1;
    if (quote(qp, qi) != pos) return PASS;
    const keyTo = quote(qp, qi + 1);
    if (keyTo == NO_QUOTE) return PASS;
    qi += 2;
    const f = keyTo - keyFrom == 1 ? <i32>load<i8>(ONE_LETTER + <usize>at(p, keyFrom)) : fieldOf(p, keyFrom, keyTo);
    pos = keyTo + 1;
    if (at(p, pos) != COLON) return PASS;
    pos++;
    const slot = frame + f;
    const so = <usize>slot;
    // A known key given twice: JSON.parse keeps the last; rather than mimic that, let it decide.
    if (f >= 0 && load<i32>(out + O_GEN + (so << 2)) == gen) return PASS;
    c = at(p, pos);
    let kind: u8;
    if (c == Q) {
      // pos is quote qi (every quote before pos was taken): the string ends at the next one.
      const to = quote(qp, qi + 1);
      qi += 2;
      if (to == NO_QUOTE) return PASS;
      if (f >= 0) decimalString(p, pos + 1, to, out, so);
      pos = to + 1;
      kind = V_STRING;
    } else if (c - ZERO < 10) {
      // A non-negative integer (a '0' alone, or no leading zero); a fraction or exponent is the twin's.
      let v: i64 = 0;
      if (c == ZERO) {
        pos++;
      } else {
        // Followed by ',' and the next key: it ends before that comma, and 16 digits or fewer go in one step.
        const e = quote(qp, qi) - 1;
        const L = e - pos;
        if (L <= 16 && L >= 1 && at(p, e) == COMMA) {
          v = integer16(p + <usize>pos, L);
          if (v < 0) return PASS;
          pos = e;
        } else {
          const nd = digitRun(p, pos);
          v = accumulate(p, pos, nd, 0);
          pos += nd;
        }
      }
      c = at(p, pos);
      if (c == DOT || c == 101 || c == 69) return PASS;
      kind = V_NUMBER;
      if (f >= 0 && v <= MAX_SAFE) { store<f64>(out + O_INT + (so << 3), <f64>v); kind = V_INT; }
    } else if (c == LBRACKET) {
      let r: i64;
      if (f == F_B || f == F_BIDS) {
        if (load<i32>(out + O_BIDS_SLOT) != -1) return PASS;
        store<i32>(out + O_BIDS_SLOT, slot);
        r = levels(p, pos, end, qp, qi, out + O_LEVELS, cap, out + O_BIDS_N);
      } else if (f == F_A || f == F_ASKS) {
        if (load<i32>(out + O_ASKS_SLOT) != -1) return PASS;
        store<i32>(out + O_ASKS_SLOT, slot);
        r = levels(p, pos, end, qp, qi, out + O_LEVELS + <usize>cap * 18, cap, out + O_ASKS_N);
      } else {
        return PASS;
      }
      if (r < 0) return PASS;
      pos = <i32>r;
      qi = <i32>(r >> 32);
      kind = V_ARRAY;
    } else if (c == LBRACE) {
      if (f != F_DATA || frame != TOP) return PASS;
      // Recorded now rather than after its '}' (as the twin does): nothing inside reads a slot of the top frame.
      store<i32>(out + O_GEN + (so << 2), gen);
      store<u8>(out + O_KIND + so, V_OBJECT);
      frame = DATA;
      pos++;
      if (at(p, pos) != RBRACE) continue;
      kind = V_OBJECT; // "data":{} closes at once: below, as any other '}'
    } else if (c == 116 /* t */) {
      if (pos + 4 > end || load<u32>(p + <usize>pos) != 0x65757274) return PASS;
      pos += 4;
      kind = V_TRUE;
    } else if (c == 102 /* f */) {
      if (pos + 5 > end || load<u32>(p + <usize>pos) != 0x736c6166 || at(p, pos + 4) != 101) return PASS;
      pos += 5;
      kind = V_FALSE;
    } else if (c == 110 /* n */) {
      if (pos + 4 > end || load<u32>(p + <usize>pos) != 0x6c6c756e) return PASS;
      pos += 4;
      kind = V_NULL;
    } else {
      return PASS;
    }
    if (f >= 0 && kind != V_OBJECT) { store<i32>(out + O_GEN + (so << 2), gen); store<u8>(out + O_KIND + so, kind); }
    // After a value: ',' and the next key, or '}' closing "data" (then the top object goes on) or the line.
    for (;;) {
      if (pos >= end) return PASS;
      c = at(p, pos);
      if (c == COMMA) { pos++; break; }
      if (c != RBRACE) return PASS;
      pos++;
      if (frame == TOP) {
        if (pos != end) return PASS;
        lineFacts(p, gen, out);
        return 0;
      }
      frame = TOP;
    }
    if (at(p, pos) != Q) return PASS;
  }
  return PASS; // not reached: every path of the loop returns or continues
}

/** The line's receive time: f64 seconds, f64 nanoseconds, the i64 nanoseconds as u32 low and high halves. */
export const O_TIME: i32 = 1320;
/** Not a receive time this path reads (no digits, more than 19, no space after them, past the i64 range, or a
 *  length that is s, ms or us: 10, 13, 16 digits). */
const TIME_PASS: i32 = -2147483648;
const MAX_SEC: i64 = 9223372036, MAX_SEC_NS: i64 = 854775807;

/**
 * A whole capture line [start, end): `<receive ns> <json>`. The receive time (1 to 19 digits, then a space, at most
 * the i64 maximum; scanReceiveTime in binance-scan.ts, the twin) goes to O_TIME, then the JSON to scan_line.
 * Returns the space's position when scan_line took the JSON, -1 - that position when it did not (the host runs the
 * twin on the JSON), or TIME_PASS when the time is not of that form (the host runs the twin on the line).
 */
export function scan_timed(p: usize, start: i32, end: i32, gen: i32, out: usize, cap: i32, qp: usize): i32 {
  const n = digitRun(p, start);
  const space = start + n;
  if (n < 1 || n > 19 || space >= end || at(p, space) != 32) return TIME_PASS;
  // 10, 13 and 16 digits are s, ms and us (fractionDigits in binance-scan.ts): the twin reads those lines.
  if (n == 10 || n == 13 || n == 16) return TIME_PASS;
  // Seconds are the digits before the last nine, nanoseconds the last nine.
  const split = space - 9 > start ? space - 9 : start;
  const sec = accumulate(p, start, split - start, 0);
  const nsec = accumulate(p, split, space - split, 0);
  if (sec > MAX_SEC || (sec == MAX_SEC && nsec > MAX_SEC_NS)) return TIME_PASS;
  const ns = sec * 1000000000 + nsec;
  store<f64>(out + O_TIME, <f64>sec);
  store<f64>(out + O_TIME + 8, <f64>nsec);
  store<u32>(out + O_TIME + 16, <u32>ns);
  store<u32>(out + O_TIME + 20, <u32>(ns >>> 32));
  return scan_line(p, space + 1, end, gen, out, cap, qp) == 0 ? space : -1 - space;
}

/** Offsets of the output block (k = 0..9: gen, from, to, int, mant, kind, dec, neg, bids slot, levels) for the host's check. */
export function scan_layout(k: i32): i32 {
  switch (k) {
    case 0: return O_GEN;
    case 1: return O_FROM;
    case 2: return O_TO;
    case 3: return O_INT;
    case 4: return O_MANT;
    case 5: return O_KIND;
    case 6: return O_DEC;
    case 7: return O_NEG;
    case 8: return O_BIDS_SLOT;
    case 9: return O_LEVELS;
    default: return -1;
  }
}

/** End of the module's static data (its constants): the host keeps its regions above it. */
export function scan_heap_base(): usize { return __heap_base; }
