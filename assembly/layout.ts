// Memory layout of the atc arena. Every offset is relative to the arena's base pointer, so an arena can be
// copied (snapshot) and placed anywhere (restore). Nothing here is mutable: these are compile-time constants.
// docs/abi.md is the prose version of this file; keep the two in step.

export const ABI_VERSION: u32 = 3; // 2: the novelty detector (N_DETECTORS 6, C_LEN 280); 3: learned channels (C_LEN 344)
export const MAGIC: u32 = 0x31435441; // "ATC1" little-endian

// ---- Feature ids -------------------------------------------------------------------------------------------
export const F_RETURN: i32 = 0;       // trade price return since the previous trade, (p - p0) / p0, bps
// Bucket features (rvol, intensity, volume, flow, quoteRate, and the book features imbalance, depth and
// depthImbalance as time-weighted means) are observed once per closed time bucket, when the instrument's next event
// arrives: non-overlapping samples, so that consecutive values are not near-duplicates.
export const F_RVOL: i32 = 1;         // realised volatility in the bucket: sqrt(sum r^2) of trade returns, bps
export const F_INTENSITY: i32 = 2;    // trades per second in the bucket
export const F_VOLUME: i32 = 3;       // ln(1 + size traded in the bucket)
export const F_FLOW: i32 = 4;         // signed flow in the bucket: (buy - sell) / (buy + sell)
export const F_SPREAD: i32 = 5;       // (ask - bid) / mid, bps
export const F_MID_JUMP: i32 = 6;     // mid change since the previous quote, (m - m0) / m0, bps
export const F_IMBALANCE: i32 = 7;    // top of book (bidSize - askSize) / (bidSize + askSize), time-weighted bucket mean
export const F_DEPTH: i32 = 8;        // bidDepth + askDepth, time-weighted bucket mean
export const F_DEPTH_IMB: i32 = 9;    // (bidDepth - askDepth) / (bidDepth + askDepth), time-weighted bucket mean
export const F_QUOTE_RATE: i32 = 10;  // quote updates per second in the bucket
export const F_BASIS: i32 = 11;       // (mark - index) / index, bps
export const F_FUNDING: i32 = 12;     // funding rate as given
export const F_IV_CHANGE: i32 = 13;   // mark IV change since the previous ticker
export const F_VALUE: i32 = 14;       // generic value
export const F_VALUE_CHANGE: i32 = 15; // generic value change since the previous value
export const N_FEATURES: i32 = 16;
// Pseudo-features of the instrument-level ("learned") channels: they appear in alert records only (no feature block,
// no config entry in the 16-feature table).
export const F_VECTOR: i32 = 16;      // the vector of the instrument's latest feature values (HST, OCSVM, combined)
export const F_FAIR_VALUE: i32 = 17;  // a fair value regressed from the other features (RLS residuals)

// ---- Detector ids ------------------------------------------------------------------------------------------
export const D_ZSCORE: i32 = 0;
export const D_ROBUST: i32 = 1;
export const D_EWMA: i32 = 2;
export const D_CUSUM: i32 = 3;
export const D_PH: i32 = 4;
export const D_NOVELTY: i32 = 5;
export const N_DETECTORS: i32 = 6;
// Detectors of the learned channels (alert records only): channel index c = N_TABLE_CHANNELS + k, k = d - D_HST.
export const D_HST: i32 = 6;
export const D_OCSVM: i32 = 7;
export const D_RLS: i32 = 8;
export const D_COMBINED: i32 = 9;
export const N_TABLE_CHANNELS: i32 = 96;  // N_FEATURES x N_DETECTORS (feature, detector) channels
export const N_LEARNED: i32 = 4;          // learned channels 96 + k: k 0 HST, 1 OCSVM, 2 RLS, 3 combined
export const K_HST: i32 = 0;
export const K_OCSVM: i32 = 1;
export const K_RLS: i32 = 2;
export const K_COMBINED: i32 = 3;

// ---- Calibrator modes --------------------------------------------------------------------------------------
export const M_STATIC: i32 = 0;
export const M_REGIME: i32 = 1;
export const M_TARGET: i32 = 2;
export const M_FIXED: i32 = 3;

// ---- Event kinds and batch columns -------------------------------------------------------------------------
export const K_TRADE: u32 = 1;   // f0 price, f1 size, f2 side (+1 buyer-initiated, -1 seller, 0 unknown)
export const K_QUOTE: u32 = 2;   // f0 bid, f1 bidSize, f2 ask, f3 askSize, f4 bidDepth?, f5 askDepth?
export const K_MARK: u32 = 3;    // f0 mark, f1 index?, f2 funding?
export const K_OPTION: u32 = 4;  // f0 markIv, f1 underlying?, f2 markPrice?, f3 bidIv?, f4 askIv?
export const K_VALUE: u32 = 5;   // f0 value
export const N_FIELDS: i32 = 6;
// A batch of capacity C is one region: ts i64[C] @0, seq i64[C] @8C, instrument u32[C] @16C, kind u32[C] @20C,
// field k f64[C] @(24 + 8k)C, status u8[C] @72C. 73 bytes per event.
export const BATCH_BYTES_PER_EVENT: i32 = 73;

// ---- Reject reasons (status byte of an event; 0 = accepted) ------------------------------------------------
export const R_OK: u8 = 0;
export const R_NONFINITE: u8 = 1;       // NaN or Infinity in a required field, Infinity in an optional one
export const R_NEGATIVE: u8 = 2;        // price <= 0, size or depth < 0
export const R_TIME_BACKWARDS: u8 = 3;  // timestamp earlier than the instrument's previous event
export const R_UNKNOWN_INSTRUMENT: u8 = 4;
export const R_BAD_KIND: u8 = 5;
export const R_CROSSED: u8 = 6;         // ask < bid
export const R_TABLE_FULL: u8 = 7;      // auto-registration found the instrument table full
export const N_REJECT: i32 = 8;

// ---- Alert record: 64 bytes --------------------------------------------------------------------------------
export const AL_TS: i32 = 0;          // i64 ns
export const AL_SEQ: i32 = 8;         // i64 sequence number of the event that fired
export const AL_INSTRUMENT: i32 = 16; // u32
export const AL_FEATURE: i32 = 20;    // u8
export const AL_DETECTOR: i32 = 21;   // u8
export const AL_SEVERITY: i32 = 22;   // u8 1..4
export const AL_REGIME: i32 = 23;     // u8 0 calm, 1 normal, 2 volatile, 3 stressed
export const AL_VALUE: i32 = 24;      // f64 feature value
export const AL_EXPECTED: i32 = 32;   // f64 what the detector expected
export const AL_SCORE: i32 = 40;      // f64
export const AL_THRESHOLD: i32 = 48;  // f64
export const AL_REGIME_FACTOR: i32 = 56; // f32 volatility ratio (fast / slow realised volatility)
export const AL_MODE: i32 = 60;       // u32 calibrator mode
export const AL_BYTES: i32 = 64;
// An event makes at most 13 observations: closing a bucket observes 8 bucket features (5 of trades and quotes, 3
// of the book) plus 3 for a run of empty buckets, and the event itself at most 2 (a quote: spread, mid jump; a
// mark: basis, funding; a value: value, value change). Each observation fires at most one alert per detector:
// 13 x 6 = 78 (60 in practice, as a channel fires at most once per event). Each learned channel steps at most once
// per event and fires at most one alert: + 4 = 82. 84 covers that with 2 to spare (unchanged since ABI 2, so that
// hosts' alert buffers stay valid); one more feature observation per event would need 88.
export const MAX_ALERTS_PER_EVENT: i32 = 84;

// ---- Configuration: an array of f64 ------------------------------------------------------------------------
export const C_VERSION: i32 = 0;
export const C_MAX_INSTRUMENTS: i32 = 1;
export const C_WINDOW: i32 = 2;
export const C_TIME_WINDOW_NS: i32 = 3;
export const C_TIME_BUCKETS: i32 = 4;
export const C_RESERVED_5: i32 = 5;     // must be 0
export const C_WARMUP: i32 = 6;
export const C_EWMA_ALPHA: i32 = 7;
export const C_CHART_LAMBDA: i32 = 8;
export const C_CUSUM_K: i32 = 9;
export const C_PH_DELTA: i32 = 10;
export const C_PH_ALPHA: i32 = 11;
export const C_VOL_FAST_NS: i32 = 12;
export const C_VOL_SLOW_NS: i32 = 13;
export const C_REGIME_VOL_EXP: i32 = 14;
export const C_REGIME_LIQ_EXP: i32 = 15;
export const C_REGIME_MIN: i32 = 16;
export const C_REGIME_MAX: i32 = 17;
export const C_TARGET_PER_HOUR: i32 = 18;
export const C_TAIL_P: i32 = 19;
export const C_TAIL_MEMORY: i32 = 20;
export const C_QUANTILE_STEP: i32 = 21;
export const C_CALIB_WARMUP: i32 = 22;
export const C_RATE_EPOCH_NS: i32 = 23;
export const C_RATE_MEMORY_NS: i32 = 24;
export const C_HYSTERESIS: i32 = 25;
export const C_COOLDOWN_NS: i32 = 26;
export const C_MIN_PERSISTENCE: i32 = 27;
export const C_THRESHOLD_FLOOR: i32 = 28;
export const C_AUTO_REGISTER: i32 = 29;
export const C_SCORE_CAP: i32 = 30;
export const C_RATE_GAIN: i32 = 31;       // step of the alert-rate correction (log threshold per alert)
export const C_FEATURE_BASE: i32 = 32;          // per feature f: enabled @ +3f, detector mask @ +3f+1, minScale @ +3f+2
export const C_CHANNEL_BASE: i32 = 32 + 3 * 16;  // per channel c = f*6+d: mode @ +2c, static threshold @ +2c+1
export const C_NOVELTY_REFRACTORY: i32 = 32 + 3 * 16 + 2 * 16 * 6; // 272: observations a novelty detector stays silent after scoring
export const C_NOVELTY_PHASES: i32 = 273;          // time-of-day phases of the seasonal range (0 = off, <= NV_MAX_PHASES)
export const C_NOVELTY_PHASE_WARMUP_NS: i32 = 274; // history a feature needs before its seasonal range is judged
// 275..279 reserved, must be 0.
// ABI 3: the learned channels, one section of 16 values each. A section whose `enabled` value is 0 must be all 0.
export const C_LEARNED_BASE: i32 = 280;    // section of learned channel k at C_LEARNED_BASE + 16k
export const C_LEARNED_SECTION: i32 = 16;
// Half-Space Trees (k = 0), 280..295:
export const C_HST_ENABLED: i32 = 280;     // 0 / 1
export const C_HST_FEATURES: i32 = 281;    // feature mask, int [1, 65535]; every feature in it must be enabled
export const C_HST_TREES: i32 = 282;       // int [1, 256]
export const C_HST_HEIGHT: i32 = 283;      // int [1, 15]
export const C_HST_WINDOW: i32 = 284;      // int [1, 65535]
export const C_HST_SIZE_LIMIT: i32 = 285;  // [0, 1], of the window
export const C_HST_PADDING: i32 = 286;     // [0, 0.5)
export const C_HST_SEED: i32 = 287;        // int [0, 2^32 - 1]
export const C_HST_SCORE_KIND: i32 = 288;  // 0 River's path sum, 1 the paper's terminal node
export const C_HST_SCALER: i32 = 289;      // 0 all-time min/max, 1 forgetting (last complete window and current one)
export const C_HST_MODE: i32 = 290;        // calibrator mode of channel 96
export const C_HST_THRESHOLD: i32 = 291;   // its base threshold, > 0 (+Infinity: never fires)
// 292..295 reserved, must be 0.
// One-class SVM (k = 1), 296..311:
export const C_OCSVM_BASE: i32 = 296;
export const C_OCSVM_ENABLED: i32 = 296;    // 0 / 1
export const C_OCSVM_FEATURES: i32 = 297;   // feature mask, int [1, 65535]; every feature in it must be enabled
export const C_OCSVM_COMPONENTS: i32 = 298; // random Fourier features D, int [1, 1024]
export const C_OCSVM_NU: i32 = 299;         // (0, 1]
export const C_OCSVM_GAMMA: i32 = 300;      // RBF width, (0, 1e6]; 0 = 1 / dims
export const C_OCSVM_WINDOW: i32 = 301;     // int [1, 2^24]
export const C_OCSVM_WARMUP: i32 = 302;     // int [0, 2^31 - 1]: steps scored 0 (and not judged)
export const C_OCSVM_SEED: i32 = 303;       // int [0, 2^32 - 1]
export const C_OCSVM_SCALER: i32 = 304;     // 0 min/max of the last two windows, 1 EWMA standardiser
// 305 reserved, must be 0.
export const C_OCSVM_MODE: i32 = 306;       // calibrator mode of channel 97
export const C_OCSVM_THRESHOLD: i32 = 307;  // its base threshold, > 0
// 308..311 reserved, must be 0.
// RLS residuals, "price away from fair value" (k = 2), 312..327. Series ids (RS_*): 0 mid, 1 trade, 2 mark, 3 index,
// 4 markIv, 5 underlying, 6 ivMid, 7 neighbourIv, 8 value. A regressor set is a mask of series ids (1..8 of them).
export const C_RLS_BASE: i32 = 312;
export const C_RLS_ENABLED: i32 = 312;      // 0 / 1
export const C_RLS_PRICE_TARGET: i32 = 313; // series id the price model predicts (instruments without option events)
export const C_RLS_PRICE_X: i32 = 314;      // its regressors: series mask, int [1, 511], 1..8 bits, not the target
export const C_RLS_OPTION_TARGET: i32 = 315; // series id the option model predicts (instruments with option events)
export const C_RLS_OPTION_X: i32 = 316;     // its regressors
export const C_RLS_LAMBDA: i32 = 317;       // forgetting factor [0.9, 1)
export const C_RLS_PRICE_DELTA: i32 = 318;  // P = delta I at the start, [1e-6, 1e12], price model
export const C_RLS_WARMUP: i32 = 319;       // int [0, 2^31 - 1]: steps scored 0 (and not judged)
export const C_RLS_PRICE_MIN_SCALE: i32 = 320; // floor of sigma in the target's units (bps for a price), (0, 1e15]
export const C_RLS_OPTION_MIN_SCALE: i32 = 321;
export const C_RLS_MODE: i32 = 322;         // calibrator mode of channel 98
export const C_RLS_THRESHOLD: i32 = 323;    // its base threshold, > 0
export const C_RLS_CLIP: i32 = 324;         // residual clip in sigma for learning, >= 1 (Infinity: none)
export const C_RLS_MAX_STALE_NS: i32 = 325; // int [0, 9.2e18]: the target's last value must be at most this old
export const C_RLS_OPTION_DELTA: i32 = 326; // P = delta I at the start, option model
// 327 reserved, must be 0.
// Combination (k = 3), 328..343:
export const C_COMBINE_BASE: i32 = 328;
export const C_COMBINE_KIND: i32 = 328;     // 0 off, 1 k of n, 2 combined score
export const C_COMBINE_K: i32 = 329;        // int [1, members]
export const C_COMBINE_MEMBERS: i32 = 330;  // 330..337: channel indices (0..98), -1 = none; enabled, distinct
export const COMBINE_MAX_MEMBERS: i32 = 8;
export const C_COMBINE_MODE: i32 = 338;     // calibrator mode of channel 99 (k of n: 0, static)
export const C_COMBINE_THRESHOLD: i32 = 339; // its base threshold (k of n: k)
export const C_COMBINE_WINDOW_NS: i32 = 340; // int [0, 9.2e18]
export const C_COMBINE_EXCLUSIVE: i32 = 341; // 0 / 1: the members' own alerts are not emitted
export const C_COMBINE_CAP: i32 = 342;      // [1, 1e6]: cap of a member's score / threshold (combined score)
// 343 reserved, must be 0.
export const C_LEN: i32 = 344;

// ---- Arena header (256 bytes) ------------------------------------------------------------------------------
export const H_MAGIC: i32 = 0;          // u32 MAGIC, u32 ABI_VERSION @4
export const H_TOTAL_BYTES: i32 = 8;    // i64
export const H_CFG: i32 = 16;           // i32 offset of the config copy
export const H_TABLE: i32 = 20;         // i32 offset of the instrument table
export const H_TABLE_MASK: i32 = 24;    // u32 table capacity - 1
export const H_SLOTS: i32 = 28;         // i32 offset of slot 0
export const H_SLOT_BYTES: i32 = 32;    // u32
export const H_N_INSTRUMENTS: i32 = 36; // u32
export const H_CONSUMED: i32 = 40;      // u32 events consumed by the last ingest
export const H_RESERVED_44: i32 = 44;
export const H_ACCEPTED: i32 = 48;      // i64
export const H_ALERTS: i32 = 56;        // i64
export const H_REJECTS: i32 = 64;       // i64 x N_REJECT (64 bytes)
export const H_FEATURE_OFF: i32 = 128;  // i32 x N_FEATURES: block offset inside a slot, -1 when disabled (64 bytes)
export const H_LAST_ID: i32 = 192;      // u32 last looked-up id (+1, 0 = none)
export const H_LAST_SLOT: i32 = 196;    // i32 its slot
export const H_ANY_REGIME: i32 = 200;   // u32 1 when some channel uses the regime-scaled mode
export const H_COMBINE: i32 = 204;      // u32 the combination's kind (0 off): channelStep notes its members' scores
export const H_NEXT_SEQ: i32 = 208;     // i64 sequence number the next unnumbered event (seq < 0) gets
export const H_MODEL_OFF: i32 = 216;    // i32 x N_LEARNED: offset in the arena of learned detector k's model, 0 = none
                                        // (RLS: the price model's; the option model's follows it, RLS_M_BYTES on)
export const H_LEARNED_OFF: i32 = 232;  // i32 x N_LEARNED: offset in a slot of learned channel k's block, -1 = disabled
export const H_LEARNED_MASK: i32 = 248; // u32 union of the enabled vector detectors' feature masks (0 = none)
export const H_VECTOR_OFF: i32 = 252;   // i32 offset in a slot of the latest-values area (LV_*), -1 without learned channels
export const HEADER_BYTES: i32 = 256;

// ---- Instrument slot ---------------------------------------------------------------------------------------
export const S_ID: i32 = 0;              // u32
export const S_FLAGS: i32 = 4;           // u32 SF_*
export const S_LAST_TS: i32 = 8;         // i64
export const S_LAST_TRADE_PX: i32 = 16;
export const S_LAST_MID: i32 = 24;
export const S_LAST_IV: i32 = 32;
export const S_LAST_VALUE: i32 = 40;
export const S_VAR_FAST: i32 = 48;       // time-EWMA of realised variance per bucket (bps^2), fast
export const S_VAR_SLOW: i32 = 56;
export const S_BK_R2: i32 = 64;          // sum of squared returns (bps^2) in the open bucket
export const S_SPR_FAST: i32 = 72;       // time-EWMA of the mean spread per bucket (bps), fast
export const S_SPR_SLOW: i32 = 80;
export const S_BK_SPREAD: i32 = 88;      // sum of spreads (bps) in the open bucket
export const S_BUCKET: i32 = 96;         // i64 id (ts / bucketNs) of the open bucket
export const S_REGIME_FIRST: i32 = 104;  // i64 ts of the first regime update
export const S_EVENTS: i32 = 112;        // i64 accepted events
export const S_REGIME: i32 = 120;        // f64 regime factor
export const S_VOL_RATIO: i32 = 128;
export const S_LIQ_RATIO: i32 = 136;
export const S_BK_QUOTES: i32 = 144;     // f64 quotes in the open bucket
export const S_BUCKET_END: i32 = 152;    // i64 first ts past the open bucket (saves a division per event)
export const S_BK_TRADES: i32 = 160;     // trades in the open bucket
export const S_BK_VOLUME: i32 = 168;     // size traded in it
export const S_BK_SIGNED: i32 = 176;     // signed size (buyer-initiated positive)
export const S_BK_TRADE_R2: i32 = 184;   // sum of squared trade returns (bps^2)
export const S_BK_RETURNS: i32 = 192;    // trade returns in it
// Book features (imbalance, depth, depthImbalance) are bucket features too: each closed bucket observes the
// time-weighted mean of the values its quotes set, sum(v_i dt_i) / bucketNs, each value weighted by how long it
// stood (from its quote to the next quote or the bucket's end; the value standing when the bucket opened counts
// from the bucket's start). The areas are accumulated lazily: a quote or a bucket close adds value x (now -
// S_BOOK_TS) for every value standing, then moves S_BOOK_TS to now.
export const S_BOOK_TS: i32 = 200;       // i64 time up to which the standing book values are in the areas
export const S_BK_IMB_AREA: i32 = 208;   // sum of imbalance x ns it stood, in the open bucket
export const S_BOOK_IMB: i32 = 216;      // imbalance standing (the last quote's)
export const S_BK_DEPTH_AREA: i32 = 224; // sum of depth x ns
export const S_BOOK_DEPTH: i32 = 232;    // depth standing
export const S_BK_DIMB_AREA: i32 = 240;  // sum of depth imbalance x ns
export const S_BOOK_DIMB: i32 = 248;     // depth imbalance standing
export const SLOT_HEADER_BYTES: i32 = 256;
export const SF_USED: u32 = 1;
export const SF_TRADE: u32 = 2;
export const SF_MID: u32 = 4;
export const SF_IV: u32 = 8;
export const SF_VALUE: u32 = 16;
export const SF_BUCKET: u32 = 32;       // the bucket clock has started
export const SF_PARTIAL: u32 = 512;     // the open bucket began mid-bucket (the first one): not observed
export const SF_QUOTES: u32 = 64;
export const SF_VAR: u32 = 128;
export const SF_SPR: u32 = 256;
// Per book feature, two flags: a value stands (the last quote defined it: a top of book with size, depth given,
// depth > 0), and it has stood since the open bucket began (set at a close when the value stands, cleared when a
// quote leaves the feature undefined). A bucket is observed only with the second: a mean over part of a bucket
// would be a mean over a different length. The second flag is the first shifted left by one.
export const SF_IMB: u32 = 1024;
export const SF_IMB_FULL: u32 = 2048;
export const SF_DEPTH: u32 = 4096;
export const SF_DEPTH_FULL: u32 = 8192;
export const SF_DIMB: u32 = 16384;
export const SF_DIMB_FULL: u32 = 32768;
export const SF_BOOK: u32 = SF_IMB | SF_DEPTH | SF_DIMB;
export const SF_BOOK_FULL: u32 = SF_BOOK << 1;
// Five time windows follow the slot header. Each closed bucket pushes its totals into them, so over the last B
// closed buckets they hold: trades, size traded, signed size, squared trade returns, quote updates.
export const TW_TRADES: i32 = 0;
export const TW_VOLUME: i32 = 1;
export const TW_FLOW: i32 = 2;
export const TW_RET2: i32 = 3;
export const TW_QUOTES: i32 = 4;
export const N_TIME_WINDOWS: i32 = 5;

// ---- Count window (kernel state) ---------------------------------------------------------------------------
export const W_CAP: i32 = 0;      // u32 W
export const W_N: i32 = 4;        // u32 values held (<= W)
export const W_HEAD: i32 = 8;     // u32 next ring index to write
export const W_SINCE: i32 = 12;   // u32 updates since the last exact recomputation
export const W_S1: i32 = 16;      // sum of (x - K) over the window
export const W_S2: i32 = 24;      // sum of (x - K)^2
export const W_TOTAL: i32 = 32;   // i64 values ever pushed
export const W_SKIPPED: i32 = 40; // i64 non-finite values refused
export const W_ORDER: i32 = 48;   // u32 1 when the sorted copy (order statistics) is maintained
export const W_SHIFT: i32 = 56;   // K: the window's mean at the last exact recomputation (the first value before)
export const W_INV_N: i32 = 64;   // 1 / n and 1 / (n - 1), kept as n changes (only while the window fills), so
export const W_INV_N1: i32 = 72;  // that reading the mean and variance costs no division
export const W_HEADER_BYTES: i32 = 80; // ring f64[W] follows, then sorted f64[W]

// ---- EWMA (kernel state) -----------------------------------------------------------------------------------
export const E_ALPHA: i32 = 0;
export const E_MEAN: i32 = 8;
export const E_VAR: i32 = 16;
export const E_N: i32 = 24;       // i64
export const E_BYTES: i32 = 32;

// ---- Time window (kernel state) ----------------------------------------------------------------------------
export const T_BUCKETS: i32 = 0;   // u32 B
export const T_CUR: i32 = 4;       // u32 ring index of the open bucket
export const T_BUCKET_NS: i32 = 8; // i64
export const T_CUR_ID: i32 = 16;   // i64 floor(ts / bucketNs) of the open bucket; i64.MIN = nothing pushed yet
export const T_CUR_END: i32 = 56;  // i64 first ts past the open bucket (saves a division per push)
export const T_HEADER_BYTES: i32 = 64;
export const TB_N: i32 = 0;        // bucket: n, shift K (its first value), sum(x - K), sum((x - K)^2), min, max
export const TB_SHIFT: i32 = 8;
export const TB_S1: i32 = 16;
export const TB_S2: i32 = 24;
export const TB_MIN: i32 = 32;
export const TB_MAX: i32 = 40;
export const TB_BYTES: i32 = 48;

// ---- Feature block: detector state, then the count window, then the channels -------------------------------
export const FB_EWMA: i32 = 0;        // EWMA baseline (E_BYTES)
export const FB_CHART: i32 = 32;      // EWMA chart statistic
export const FB_CUSUM_POS: i32 = 40;
export const FB_CUSUM_NEG: i32 = 48;
export const FB_PH_MEAN: i32 = 56;
export const FB_PH_N: i32 = 64;       // i64
export const FB_PH_UP: i32 = 72;
export const FB_RESERVED_80: i32 = 80;
export const FB_PH_DN: i32 = 88;
export const FB_RESERVED_96: i32 = 96;
export const FB_OBS: i32 = 104;       // i64 observations
export const FB_LAST: i32 = 112;      // last value observed
export const FB_RATE_EPOCH: i32 = 120; // i64 start of the current rate epoch (ns)
export const FB_RATE_COUNT: i32 = 128; // f64 observations in the current epoch
export const FB_RATE: i32 = 136;       // f64 observations per hour (decayed)
export const FB_RATE_FIRST: i32 = 144; // i64 ts of the first observation
export const FB_RATE_READY: i32 = 152; // u32 1 once an epoch has completed
export const FB_CHANNELS: i32 = 156;   // u32 offset of the channels inside the block (after the count window)
export const FB_HEADER_BYTES: i32 = 160; // count window follows, then N_DETECTORS channels

// ---- Channel: calibrator and suppression state of one (feature, detector) ----------------------------------
export const CH_U: i32 = 0;           // base threshold: tracked (1 - tailP) quantile of scores
export const CH_M1: i32 = 8;          // decayed mean of excesses over u
export const CH_M2: i32 = 16;         // decayed mean of squared excesses
export const CH_W: i32 = 24;          // decayed weight of excesses
export const CH_N: i32 = 32;          // i64 scores seen by the calibrator
export const CH_THR: i32 = 40;        // cached target-rate threshold
export const CH_SINCE: i32 = 48;      // u32 scores since the threshold was recomputed
export const CH_PERSIST: i32 = 52;    // u32 consecutive exceedances
export const CH_EPISODE: i32 = 56;    // u32 1 while in an alert episode
export const CH_FIXED: i32 = 64;      // f64 threshold set by the host for this instrument (NaN = unset)
export const CH_COOL_UNTIL: i32 = 72; // i64 no new alert before this ts
export const CH_ALERTS: i32 = 80;     // i64 alerts fired
export const CH_EXCEED: i32 = 88;     // i64 scores at or above the threshold
export const CH_LAST_SCORE: i32 = 96;
export const CH_LAST_THR: i32 = 104;
export const CH_KAPPA: i32 = 112;     // log multiplier of the tail-fit threshold, learned from the alert rate
export const CH_P: i32 = 120;         // alert probability per score the target asks for
export const CH_PC: i32 = 128;        // decayed fraction of scores that start a cluster of excesses over u
export const CH_CMAX: i32 = 136;      // peak excess of the open cluster
export const CH_CLUSTER: i32 = 144;   // u32 1 while a cluster is open
export const CH_BYTES: i32 = 152;

// ---- Error codes (negative returns) ------------------------------------------------------------------------
export const E_CONFIG_VERSION: i32 = -1;
export const E_CONFIG_RANGE: i32 = -1000; // -(1000 + index) names the offending config index
export const E_BAD_ARENA: i32 = -3;
export const E_TABLE_FULL: i32 = -4;
export const E_BAD_ARGUMENT: i32 = -5;
export const E_NOT_FOUND: i32 = -6;

// ---- Novelty detector state: after the channels of a feature block whose mask enables D_NOVELTY ------------------
// Ranges (lo, hi) of everything seen so far at three scales (the value, the mean of its last 5, of its last 20),
// the ring of the last 20 values those means come from, and per time-of-day phase the range of the 20-mean.
export const NV_MAX_PHASES: i32 = 24;
export const NV_RING: i32 = 20;
export const NV_COUNT: i32 = 0;       // i64 values pushed into the ring
export const NV_REFRACTORY: i32 = 8;  // u32 observations left in the silent period
export const NV_READY: i32 = 12;      // u32 1 once NV_T0 and the ranges are initialised
export const NV_T0: i32 = 16;         // i64 ts of the feature's first observation
export const NV_LO: i32 = 24;         // f64 x 3
export const NV_HI: i32 = 48;         // f64 x 3
export const NV_RING_OFF: i32 = 72;   // f64 x NV_RING
export const NV_PLO: i32 = 232;       // f64 x NV_MAX_PHASES
export const NV_PHI: i32 = 424;       // f64 x NV_MAX_PHASES
export const NV_EXPECTED: i32 = 616;  // f64 the bound the last score crossed (the value itself when inside)
export const NV_BYTES: i32 = 624;

// ---- Latest values: in a slot after the feature blocks, when a learned channel is enabled (H_VECTOR_OFF) ----------
// The instrument's latest value of each of the 16 features (0 until observed), which the vector detectors step on,
// and the features the event being processed observed (cleared after the learned channels have stepped).
export const LV_LAST_F: i32 = 0;         // f64 x N_FEATURES
export const LV_OBSERVED: i32 = 128;     // u32 bit f: feature f observed by the current event
export const LV_BYTES: i32 = 136;

// ---- Learned channel block: in a slot after the latest values, one per enabled learned detector ----------------
// A feature-block header (only its observation count, rate fields and last value are used: FB_OBS, FB_RATE_*, and
// FB_LAST = the kernel's last raw score), then the channel state (CH_BYTES), then the vector the detector last
// stepped on (f64 x N_FEATURES, its first popcount(mask) values), then the detector's kernel state (8-aligned).
export const LB_CHANNEL: i32 = FB_HEADER_BYTES;                 // 160
export const LB_VECTOR: i32 = FB_HEADER_BYTES + CH_BYTES;       // 312
export const LB_STATE: i32 = LB_VECTOR + 8 * N_FEATURES;        // 440

// ---- RLS series: in the RLS block at LB_STATE, before the kernel state ----------------------------------------
// The latest raw value and time of each series the instrument's events carry, each price series' own anchor (its
// first finite value: the series enters as (p - A_s) / A_s x 1e4; one anchor for all would put an option's BTC
// premium and its USD underlying in the same units), the model the state is on, and flags.
export const N_SERIES: i32 = 9;
export const RS_MID: i32 = 0;
export const RS_TRADE: i32 = 1;
export const RS_MARK: i32 = 2;
export const RS_INDEX: i32 = 3;
export const RS_MARK_IV: i32 = 4;
export const RS_UNDERLYING: i32 = 5;
export const RS_IV_MID: i32 = 6;
export const RS_NEIGHBOUR_IV: i32 = 7;
export const RS_VALUE: i32 = 8;
export const RS_PRICES: u32 = (1 << RS_MID) | (1 << RS_TRADE) | (1 << RS_MARK) | (1 << RS_INDEX) | (1 << RS_UNDERLYING);
export const RS_VALUES: i32 = 0;       // f64 x N_SERIES, raw
export const RS_TS: i32 = 72;          // i64 x N_SERIES, time of the last value
export const RS_ANCHORS: i32 = 144;    // f64 x N_SERIES, series s's anchor (0 until set; only price series have one)
export const RS_SEEN: i32 = 216;       // u32 bit s: series s has a value
export const RS_ANCHORED: i32 = 220;   // u32 bit s: series s has its anchor (price series only)
export const RS_MODEL: i32 = 224;      // u32 the model the kernel state is on: 1 price, 2 option
export const RS_FLAGS: i32 = 228;      // u32 bit 1: the instrument has option events (bit 0 and the rest: 0)
export const RS_BYTES: i32 = 232;      // the kernel state follows at LB_STATE + RS_BYTES

// ---- Combination state: in the combined block at LB_STATE ----------------------------------------------------
// Per member m: the last time its score reached its threshold (raw exceedance), the time of its last score and
// that score over its threshold; and what the event being processed did (bit 0: a member exceeded, bit 1: one
// scored; 0 at rest).
export const CB_EVENT: i32 = 0;        // u32
export const CB_MEMBERS: i32 = 8;      // per member, 24 bytes:
export const CB_EXCEED_TS: i32 = 0;    //   i64 (i64.MIN: never)
export const CB_OBS_TS: i32 = 8;       //   i64 (i64.MIN: never)
export const CB_RATIO: i32 = 16;       //   f64 score / threshold
export const CB_MEMBER_BYTES: i32 = 24;
export const CB_BYTES: i32 = CB_MEMBERS + COMBINE_MAX_MEMBERS * CB_MEMBER_BYTES; // 200
