// Reference channel: the threshold of one (feature, detector) under its calibrator mode, and the suppression that
// turns exceedances into one alert per episode (assembly/channel.ts, channelStep).
import { M_REGIME, M_TARGET } from '../abi.js';
import { I64_MIN, TARGET_RECOMPUTE_EVERY } from './constants.js';
import { RateEstimator, TailCalibrator } from './calibrator.js';
import type { RefParams } from './params.js';

export type ChannelStepParams = Pick<RefParams,
  'tailP' | 'tailMemory' | 'quantileStep' | 'calibWarmup' | 'rateGain' | 'targetPerHour' | 'thresholdFloor' | 'hysteresis' |
  'cooldownNs' | 'minPersistence'>;

/**
 * Suppression (hysteresis, minimum persistence, cooldown), one alert per episode:
 *  - outside an episode, an exceedance (score >= threshold) extends a run of consecutive exceedances; the run
 *    fires an alert, and opens an episode, once it is minPersistence long and the cooldown has passed; a score
 *    below the threshold resets the run;
 *  - inside an episode nothing fires; the episode ends when the score falls below hysteresis x threshold, and a
 *    cooldown of cooldownNs starts then.
 */
export class Suppressor {
  persist = 0;
  inEpisode = false;
  /** No alert before this ts: no cooldown before the first episode, whatever the timestamps. */
  coolUntil = I64_MIN;

  /** Returns true when this score fires an alert. */
  step(score: number, threshold: number, exceed: boolean, ts: bigint, p: ChannelStepParams): boolean {
    if (this.inEpisode) {
      if (score < threshold * p.hysteresis) {
        this.inEpisode = false;
        this.coolUntil = ts + p.cooldownNs;
      }
      return false;
    }
    const run = exceed ? this.persist + 1 : 0;
    if (exceed && run >= p.minPersistence && ts >= this.coolUntil) {
      this.inEpisode = true;
      this.persist = 0;
      return true;
    }
    this.persist = run;
    return false;
  }
}

/** Severity grade from score / threshold: 1 below 1.5, 2 below 2.5, 3 below 4, else 4. */
export function severityOf(score: number, threshold: number): number {
  const ratio = score / threshold;
  return ratio < 1.5 ? 1 : ratio < 2.5 ? 2 : ratio < 4 ? 3 : 4;
}

/** Regime code of a volatility ratio (fast / slow): 0 calm (< 0.75), 1 normal (< 1.5), 2 volatile (< 3), 3 stressed. */
export function regimeCode(volRatio: number): number {
  if (volRatio < 0.75) return 0;
  if (volRatio < 1.5) return 1;
  if (volRatio < 3) return 2;
  return 3;
}

export class RefChannel {
  readonly calibrator = new TailCalibrator();
  readonly suppressor = new Suppressor();
  /** Cached target-rate threshold and scores since it was computed (2^30 forces a recomputation). */
  cachedThreshold = 0;
  sinceRecompute = 2 ** 30; // the first calibrated score computes the threshold
  /** Alert probability per score the target asks for (targetPerHour / observations per hour), as last computed. */
  alertProb = 0;
  /** Log multiplier of the tail-fit threshold, learned from the alert rate. */
  kappa = 0;
  /** Per-instrument base threshold (every mode; see threshold()); NaN = unset (use the configured base). */
  fixedThreshold = NaN;
  alerts = 0;
  exceedances = 0;
  lastScore = 0;
  lastThreshold = 0;

  /** True when the channel is in target mode and its calibrator is past warm-up (decided before this score). */
  #calibrated(mode: number, p: ChannelStepParams): boolean {
    return mode === M_TARGET && this.calibrator.n >= p.calibWarmup;
  }

  /** The threshold this score is judged against. */
  threshold(mode: number, configured: number, regimeFactor: number, rate: RateEstimator, ts: bigint, p: ChannelStepParams): number {
    // A per-instrument threshold replaces the configured base in every mode (fixed and static as is, regime scaled,
    // target as its warm-up fallback), as in assembly/channel.ts.
    const base = Number.isNaN(this.fixedThreshold) ? configured : this.fixedThreshold;
    let thr = base;
    if (mode === M_REGIME) {
      thr = base * regimeFactor;
    } else if (mode === M_TARGET) {
      // Until the calibrator has seen calibWarmup scores, the base threshold holds.
      if (this.#calibrated(mode, p)) {
        if (this.sinceRecompute >= TARGET_RECOMPUTE_EVERY) {
          const perHour = rate.perHour(ts);
          // Alert probability per score that gives targetPerHour alerts at perHour observations.
          this.alertProb = perHour > 0 ? p.targetPerHour / perHour : 0;
          this.cachedThreshold = this.alertProb > 0 ? this.calibrator.threshold(this.alertProb) * Math.exp(this.kappa) : base;
          this.sinceRecompute = 0;
        }
        this.sinceRecompute++;
        thr = this.cachedThreshold;
      }
    }
    if (!(thr > 0)) thr = base; // a degenerate calibration (constant scores) never yields a threshold of 0
    return thr < p.thresholdFloor ? p.thresholdFloor : thr;
  }

  /**
   * Judge a score; returns the threshold used when an alert fires, else null. The calibrator learns from what the
   * detector let pass: an exceeding score enters censored at the threshold.
   */
  step(mode: number, base: number, regimeFactor: number, rate: RateEstimator, score: number, ts: bigint, p: ChannelStepParams): number | null {
    const calibrated = this.#calibrated(mode, p);
    const thr = this.threshold(mode, base, regimeFactor, rate, ts, p);
    // A score of 0 is never an anomaly.
    const exceed = score >= thr && score > 0;
    this.lastScore = score;
    this.lastThreshold = thr;
    if (exceed) this.exceedances++;
    if (mode === M_TARGET) {
      const closed = this.calibrator.learn(exceed ? thr : score, p);
      if (closed) this.sinceRecompute = 2 ** 30; // the tail changed: recompute at the next score
    }
    const fire = this.suppressor.step(score, thr, exceed, ts, p);
    if (calibrated) {
      // Alert-rate correction (integral control, Robbins and Monro 1951): kappa rises by gain per alert and falls
      // by gain p per score, so its only fixed point is alerts per score = p; bounded to [-1.5, 1.5].
      let kappa = this.kappa - p.rateGain * this.alertProb;
      if (fire) {
        kappa += p.rateGain;
        this.sinceRecompute = 2 ** 30;
      }
      this.kappa = kappa > 1.5 ? 1.5 : kappa < -1.5 ? -1.5 : kappa;
    }
    if (!fire) return null;
    this.alerts++;
    return thr;
  }
}
