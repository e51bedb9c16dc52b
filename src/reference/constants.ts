// The ids, configuration indices and record offsets of assembly/layout.ts, for the reference twin and the tests
// that hold the WASM against it. assembly/layout.ts is the source of truth; these are copied by hand, on purpose:
// the twin must not share code with the thing it checks.

export const ABI_VERSION = 1;

// ---- Feature ids -------------------------------------------------------------------------------------------
export const F_RETURN = 0;        // trade price log return, bps
// Bucket features (rvol, intensity, volume, flow, quoteRate) are observed once per closed time bucket, when the
// instrument's next event arrives.
export const F_RVOL = 1;          // realised volatility in the bucket: sqrt(sum r^2) of trade returns, bps
export const F_INTENSITY = 2;     // trades per second in the bucket
export const F_VOLUME = 3;        // ln(1 + size traded in the bucket)
export const F_FLOW = 4;          // signed flow in the bucket: (buy - sell) / (buy + sell)
export const F_SPREAD = 5;        // (ask - bid) / mid, bps
export const F_MID_JUMP = 6;      // mid log change since the previous quote, bps
export const F_IMBALANCE = 7;     // top of book (bidSize - askSize) / (bidSize + askSize)
export const F_DEPTH = 8;         // bidDepth + askDepth
export const F_DEPTH_IMB = 9;     // (bidDepth - askDepth) / (bidDepth + askDepth)
export const F_QUOTE_RATE = 10;   // quote updates per second in the bucket
export const F_BASIS = 11;        // (mark - index) / index, bps
export const F_FUNDING = 12;      // funding rate as given
export const F_IV_CHANGE = 13;    // mark IV change since the previous ticker
export const F_VALUE = 14;        // generic value
export const F_VALUE_CHANGE = 15; // generic value change since the previous value
export const N_FEATURES = 16;

// ---- Detector ids ------------------------------------------------------------------------------------------
export const D_ZSCORE = 0;
export const D_ROBUST = 1;
export const D_EWMA = 2;
export const D_CUSUM = 3;
export const D_PH = 4;
export const N_DETECTORS = 5;

// ---- Calibrator modes --------------------------------------------------------------------------------------
export const M_STATIC = 0;
export const M_REGIME = 1;
export const M_TARGET = 2;
export const M_FIXED = 3;

// ---- Event kinds -------------------------------------------------------------------------------------------
export const K_TRADE = 1;  // f0 price, f1 size, f2 side (+1 buyer-initiated, -1 seller, 0 unknown)
export const K_QUOTE = 2;  // f0 bid, f1 bidSize, f2 ask, f3 askSize, f4 bidDepth?, f5 askDepth?
export const K_MARK = 3;   // f0 mark, f1 index?, f2 funding?
export const K_OPTION = 4; // f0 markIv, f1 underlying?, f2 markPrice?, f3 bidIv?, f4 askIv?
export const K_VALUE = 5;  // f0 value
export const N_FIELDS = 6;
/** Batch of capacity C: ts i64[C] @0, seq i64[C] @8C, id u32[C] @16C, kind u32[C] @20C, f_k f64[C] @(24+8k)C, status u8[C] @72C. */
export const BATCH_BYTES_PER_EVENT = 73;

// ---- Reject reasons ----------------------------------------------------------------------------------------
export const R_OK = 0;
export const R_NONFINITE = 1;
export const R_NEGATIVE = 2;
export const R_TIME_BACKWARDS = 3;
export const R_UNKNOWN_INSTRUMENT = 4;
export const R_BAD_KIND = 5;
export const R_CROSSED = 6;
export const R_TABLE_FULL = 7;
export const N_REJECT = 8;

// ---- Alert record (64 bytes) -------------------------------------------------------------------------------
export const AL_TS = 0;            // i64
export const AL_SEQ = 8;           // i64
export const AL_INSTRUMENT = 16;   // u32
export const AL_FEATURE = 20;      // u8
export const AL_DETECTOR = 21;     // u8
export const AL_SEVERITY = 22;     // u8 1..4
export const AL_REGIME = 23;       // u8
export const AL_VALUE = 24;        // f64
export const AL_EXPECTED = 32;     // f64
export const AL_SCORE = 40;        // f64
export const AL_THRESHOLD = 48;    // f64
export const AL_REGIME_FACTOR = 56; // f32
export const AL_MODE = 60;         // u8 (stored as u32)
export const AL_BYTES = 64;
export const MAX_ALERTS_PER_EVENT = 70;

// ---- Configuration indices (f64[C_LEN]) --------------------------------------------------------------------
export const C_VERSION = 0;
export const C_MAX_INSTRUMENTS = 1;
export const C_WINDOW = 2;
export const C_TIME_WINDOW_NS = 3;
export const C_TIME_BUCKETS = 4;
export const C_RESERVED_5 = 5; // must be 0
export const C_WARMUP = 6;
export const C_EWMA_ALPHA = 7;
export const C_CHART_LAMBDA = 8;
export const C_CUSUM_K = 9;
export const C_PH_DELTA = 10;
export const C_PH_ALPHA = 11;
export const C_VOL_FAST_NS = 12;
export const C_VOL_SLOW_NS = 13;
export const C_REGIME_VOL_EXP = 14;
export const C_REGIME_LIQ_EXP = 15;
export const C_REGIME_MIN = 16;
export const C_REGIME_MAX = 17;
export const C_TARGET_PER_HOUR = 18;
export const C_TAIL_P = 19;
export const C_TAIL_MEMORY = 20;
export const C_QUANTILE_STEP = 21;
export const C_CALIB_WARMUP = 22;
export const C_RATE_EPOCH_NS = 23;
export const C_RATE_MEMORY_NS = 24;
export const C_HYSTERESIS = 25;
export const C_COOLDOWN_NS = 26;
export const C_MIN_PERSISTENCE = 27;
export const C_THRESHOLD_FLOOR = 28;
export const C_AUTO_REGISTER = 29;
export const C_SCORE_CAP = 30;
export const C_RATE_GAIN = 31; // step of the alert-rate correction (log threshold per alert)
/** Per feature f: enabled @ +3f, detector mask @ +3f+1, minScale @ +3f+2. */
export const C_FEATURE_BASE = 32;
/** Per channel c = f * N_DETECTORS + d: mode @ +2c, static threshold @ +2c+1. */
export const C_CHANNEL_BASE = 32 + 3 * N_FEATURES;
export const C_LEN = 32 + 3 * N_FEATURES + 2 * N_FEATURES * N_DETECTORS; // 240

export const featureEnabledIndex = (f: number): number => C_FEATURE_BASE + 3 * f;
export const featureMaskIndex = (f: number): number => C_FEATURE_BASE + 3 * f + 1;
export const featureMinScaleIndex = (f: number): number => C_FEATURE_BASE + 3 * f + 2;
export const channelModeIndex = (f: number, d: number): number => C_CHANNEL_BASE + 2 * (f * N_DETECTORS + d);
export const channelThresholdIndex = (f: number, d: number): number => C_CHANNEL_BASE + 2 * (f * N_DETECTORS + d) + 1;

// ---- Error codes -------------------------------------------------------------------------------------------
export const E_CONFIG_VERSION = -1;
export const E_BAD_ARENA = -3;
export const E_TABLE_FULL = -4;
export const E_BAD_ARGUMENT = -5;
export const E_NOT_FOUND = -6;

// ---- Kernel state offsets (for tests that read a kernel's counters straight from memory) ------------------
export const W_CAP = 0;      // u32
export const W_N = 4;        // u32
export const W_TOTAL = 32;   // i64 values ever pushed
export const W_SKIPPED = 40; // i64 non-finite values refused
export const W_ORDER = 48;   // u32 1 when the sorted copy (order statistics) is kept
export const E_N = 24;       // i64 values taken by an EWMA

// ---- Detector constants ------------------------------------------------------------------------------------
/** Normal consistency constant for the MAD: 1 / Phi^-1(3/4). */
export const MAD_TO_SIGMA = 1.482602218505602;
/** Scores since the target-rate threshold was recomputed, after which it is recomputed. */
export const TARGET_RECOMPUTE_EVERY = 16;
/** Nanoseconds in an hour. */
export const NS_PER_HOUR = 3.6e12;
/** The smallest i64: an instrument's "last timestamp" before its first event. */
export const I64_MIN = -(2n ** 63n);
