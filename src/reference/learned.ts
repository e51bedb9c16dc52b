// Twin of assembly/learned.ts: the HST channel score and the learned channels' state in the reference engine.
import { HstModel, HstState } from './hst.js';
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

/** The HST kernel's score s in [0, 1] as the channel's score: -log2(1 - s), 0 for s = 0, capped. */
export function hstChannelScore(s: number, cap: number): number {
  const m = 1 - s;
  if (m >= 1) return 0;
  if (!(m > 0)) return cap;
  const v = negLog2(m);
  return v <= cap ? v : cap;
}

/** One instrument's learned channel: its observation rate, calibrator and suppression, and the kernel state. */
export class RefLearned {
  readonly rate = new RateEstimator();
  readonly channel = new RefChannel();
  /** The kernel's last raw score. */
  last = 0;
  constructor(readonly hst: HstState) {}
  get steps(): number { return this.rate.observations; }
}

export { HstModel, HstState };
