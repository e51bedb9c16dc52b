// Twin of assembly/learned.ts: the HST channel score and the learned channels' state in the reference engine.
import { HstModel, HstState } from './hst.js';
import { OcsvmModel, OcsvmState } from './ocsvm.js';
import { RlsState } from './rls.js';
import { COMBINE_MAX_MEMBERS, N_SERIES, SERIES_PRICES } from '../abi.js';
import { I64_MIN } from './constants.js';
import { RateEstimator } from './calibrator.js';
import { RefChannel } from './suppression.js';

const SQRT2 = 1.4142135623730951;
const LOG2E = 1.4426950408889634;
const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer); // little-endian: words[1] holds sign, exponent and the mantissa's top

/**
 * -log2(m) for m in (0, 1), with the module's operations in the module's order (assembly/learned.ts negLog2):
 * m = f 2^e, f in [sqrt(1/2), sqrt(2)), ln f = 2 atanh((f - 1) / (f + 1)) by its series to t^19. Bit-identical to
 * the module (no Math.log, whose implementations differ between V8 and AssemblyScript).
 */
export function negLog2(m: number): number {
  scratch[0] = m;
  const hi = words[1];
  let e = ((hi >>> 20) & 0x7ff) - 1023;
  words[1] = (hi & 0x000fffff) | 0x3ff00000;
  let f = scratch[0];
  if (f > SQRT2) { f = f * 0.5; e += 1; }
  const t = (f - 1) / (f + 1);
  const t2 = t * t;
  let p = 1 / 19;
  p = p * t2 + 1 / 17;
  p = p * t2 + 1 / 15;
  p = p * t2 + 1 / 13;
  p = p * t2 + 1 / 11;
  p = p * t2 + 1 / 9;
  p = p * t2 + 1 / 7;
  p = p * t2 + 1 / 5;
  p = p * t2 + 1 / 3;
  p = p * t2 + 1;
  const ln = 2 * t * p;
  return 0 - (e + ln * LOG2E);
}

/** The HST kernel's score s in [0, 1] as the channel's score: -log2(1 - s), 0 for s = 0 and NaN, capped. */
export function hstChannelScore(s: number, cap: number): number {
  const m = 1 - s;
  if (!(m < 1)) return 0; // s <= 0, or NaN
  if (!(m > 0)) return cap;
  const v = negLog2(m);
  return v <= cap ? v : v > cap ? cap : 0;
}

/** One instrument's learned channel: its observation rate, calibrator and suppression, the kernel's last raw score. */
export class RefLearnedChannel {
  readonly rate = new RateEstimator();
  readonly channel = new RefChannel();
  /** The kernel's last raw score (the combination: its score). */
  last = 0;
  get steps(): number { return this.rate.observations; }
}

/** The Half-Space Trees channel (96) of one instrument. */
export class RefLearned extends RefLearnedChannel {
  constructor(readonly hst: HstState) { super(); }
}

/** The one-class SVM channel (97) of one instrument. */
export class RefOcsvmChannel extends RefLearnedChannel {
  constructor(readonly oc: OcsvmState) { super(); }
}

/**
 * The RLS fair-value channel (98) of one instrument: the latest raw value and time of each series (SERIES in
 * src/abi.ts), each price series' own anchor (its first finite value; bit s of `anchored`), whether the instrument
 * has had option events (then the option model), and the kernel state (on the model `model`, 1 price, 2 option).
 */
export class RefRlsChannel extends RefLearnedChannel {
  readonly values = new Float64Array(N_SERIES);
  readonly ts: bigint[] = new Array<bigint>(N_SERIES).fill(0n);
  seen = 0;
  readonly anchors = new Float64Array(N_SERIES);
  anchored = 0;
  option = false;
  model: 1 | 2 = 1;
  constructor(public state: RlsState) { super(); }
  /**
   * Series s in the regression's units: a price as bps of its own anchor, (p - A_s) / A_s x 1e4 (NaN before it has
   * one); the rest as is. As the module (assembly/learned.ts seriesUnits, which says why one anchor per series).
   */
  units(s: number): number {
    const v = this.values[s];
    if (!(SERIES_PRICES & (1 << s))) return v;
    if (!(this.anchored & (1 << s))) return NaN;
    const a = this.anchors[s];
    return (v - a) / a * 1e4;
  }
}

/** The combination (99) of one instrument: per member slot its last exceedance, its last score and score / threshold. */
export class RefCombineChannel extends RefLearnedChannel {
  readonly exceedTs: bigint[] = new Array<bigint>(COMBINE_MAX_MEMBERS).fill(I64_MIN);
  readonly obsTs: bigint[] = new Array<bigint>(COMBINE_MAX_MEMBERS).fill(I64_MIN);
  readonly ratio = new Float64Array(COMBINE_MAX_MEMBERS);
  /** What the event being processed did: bit 0 a member exceeded, bit 1 a member scored. */
  event = 0;
}

export { HstModel, HstState, OcsvmModel, OcsvmState, RlsState };
