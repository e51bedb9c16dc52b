// Constants of the reference twin itself. The ids, configuration indices and record offsets it shares with the
// module come from src/abi.ts, the host's one copy of assembly/layout.ts, which test/abi.test.ts holds against
// both builds; the twin shares no code with the module it checks, only those numbers.

/** Normal consistency constant for the MAD: 1 / Phi^-1(3/4). */
export const MAD_TO_SIGMA = 1.482602218505602;
/** Scores since the target-rate threshold was recomputed, after which it is recomputed. */
export const TARGET_RECOMPUTE_EVERY = 16;
/** Nanoseconds in an hour. */
export const NS_PER_HOUR = 3.6e12;
/** The smallest i64: an instrument's "last timestamp" before its first event, a channel's cooldown before its first episode. */
export const I64_MIN = -(2n ** 63n);
/** Largest magnitude of a feature value the detectors take (beyond it a square could overflow): refused like NaN. */
export const MAX_FEATURE_VALUE = 1e150;
