// The threshold search of one channel (instrument, feature, detector): find the threshold whose alert count over the
// fit period is the target count T = target rate x the channel's scoring hours.
//
// N(t), the alerts a whole replay raises at threshold t, is a step function of t that suppression shapes (an episode
// ends below hysteresis x t, a cooldown follows, CUSUM and Page-Hinkley restart when they fire), so it is measured,
// never computed from scores: every probe is an engine run. It is close to non-increasing, and a bracket [a, b] with
// N(a) > y >= N(b) always holds a crossing of level y, whatever its shape in between: the search bisects brackets in
// log t (Press et al., Numerical Recipes, 9.1), which takes ~14 probes from [floor, scoreCap] to a relative width
// of 1e-3. Channels are independent given their thresholds (per-channel state only; CUSUM and Page-Hinkley restart
// only their own statistic), so one run probes a candidate for every channel at once.
//
// When T is large enough to count (T >= nMin), the threshold is the crossing of T itself. A short fit period asks for
// a fraction of an alert (2/h over 4 minutes is 0.14), which no count can show: then the largest (up to nMin) alert
// "peaks" are located as the crossings of the levels k - 1/2, k = 1..L (the k-th largest threshold that still gives k
// alerts), and an exponential tail is fitted to their excesses over u (the (L+1)-th, or the floor): the maximum
// likelihood scale is their mean excess, sigma = mean(p_k - u), and N(t) = L exp(-(t - u) / sigma) = T gives
// t = u + sigma ln(L / T) (peaks over threshold with shape 0, Coles 2001, 4.3 and 4.3.4: too few exceedances to
// estimate a shape, the exponential is the default).

export type ChannelStatus =
  /** N(t) = T at the chosen threshold, to the count (T >= nMin). */
  | 'fitted'
  /** T < nMin: threshold from the exponential tail of the largest alert peaks. */
  | 'tail'
  /** Fewer than T alerts even at the floor: the threshold is the floor, the rate stays below target. */
  | 'belowTarget'
  /** Scored, but no alert even at the floor: no per-instrument threshold (the channel's base applies). */
  | 'silent'
  /** Never scored in the fit period (the feature was not observed, or never past its warm-up). */
  | 'unobserved'
  /** More than T alerts even at the score cap (scores pinned at the cap). */
  | 'capped';

export interface SearchOptions {
  /** Lowest threshold probed: the engine's thresholdFloor (a lower one is raised to it anyway). */
  lo: number;
  /** Highest: scoreCap (a score never exceeds it). */
  hi: number;
  /** Relative bracket width at which a crossing counts as found. */
  eps: number;
  /** Target counts below this are fitted with the tail model. */
  nMin: number;
}

export const DEFAULT_SEARCH: Omit<SearchOptions, 'lo' | 'hi'> = { eps: 1e-3, nMin: 10 };

export interface ChannelFit {
  status: ChannelStatus;
  /** The instrument's own threshold for the channel; NaN when it gets none (silent, unobserved). */
  threshold: number;
  /** Alerts in the fit period at that threshold: measured (fitted, belowTarget, capped) or the tail model's (tail). */
  expectedAlerts: number;
  /** Tail model: its threshold u, peaks used and scale sigma. */
  tail?: { u: number; peaks: number; sigma: number };
  /** Engine runs that probed this channel. */
  probes: number;
}

/** The search state of one channel: probes seen so far and the levels whose crossings it looks for. */
export class ChannelSearch {
  readonly target: number;
  readonly #o: SearchOptions;
  /** Probes: threshold -> alerts, kept sorted by threshold. */
  #t: number[] = [];
  #n: number[] = [];
  #levels: number[] = [];
  #status: ChannelStatus | undefined;

  /** `target`: T, the alerts wanted over the fit period; exposure 0 (never scored) makes the channel 'unobserved'. */
  constructor(target: number, exposureHours: number, o: SearchOptions) {
    this.target = target;
    this.#o = o;
    if (!(exposureHours > 0)) this.#status = 'unobserved';
  }

  get probes(): number { return this.#t.length; }

  /** Record a probe's alert count. The first one must be at `lo`: it decides which levels are searched. */
  observe(t: number, n: number): void {
    let i = 0;
    while (i < this.#t.length && this.#t[i] < t) i++;
    if (this.#t[i] === t) { this.#n[i] = n; return; }
    this.#t.splice(i, 0, t);
    this.#n.splice(i, 0, n);
    if (this.#t.length === 1 && this.#status === undefined) this.#start(n);
  }

  #start(nLo: number): void {
    const T = this.target, o = this.#o;
    if (nLo === 0) { this.#status = 'silent'; return; }
    if (nLo <= T) { this.#status = nLo === T ? 'fitted' : 'belowTarget'; return; }
    if (T >= o.nMin) { this.#levels = [T]; return; }
    // Peaks 1..L, and the (L + 1)-th as the tail's threshold when there are more than nMin alerts at the floor.
    const k = Math.min(nLo, o.nMin + 1);
    for (let level = 1; level <= k; level++) this.#levels.push(level - 0.5);
  }

  /** The bracket of level y: [a, b] with N(a) > y >= N(b), b the virtual point hi (N = 0) when no probe is below y. */
  #bracket(y: number): { a: number; na: number; b: number; nb: number } {
    let a = -1;
    for (let i = this.#t.length - 1; i >= 0; i--) if (this.#n[i] > y) { a = i; break; }
    let b = -1;
    for (let i = a + 1; i < this.#t.length; i++) if (this.#n[i] <= y) { b = i; break; }
    // a >= 0 always: levels are searched only when N(lo) > y.
    return b < 0
      ? { a: this.#t[a], na: this.#n[a], b: this.#o.hi, nb: 0 }
      : { a: this.#t[a], na: this.#n[a], b: this.#t[b], nb: this.#n[b] };
  }

  #converged(y: number): boolean {
    const { a, b } = this.#bracket(y);
    return b <= a * (1 + this.#o.eps);
  }

  get done(): boolean {
    return this.#status !== undefined || (this.#t.length > 0 && this.#levels.every((y) => this.#converged(y)));
  }

  /** The thresholds to probe next: the geometric midpoint of every unconverged bracket, each once. */
  propose(): number[] {
    if (this.#t.length === 0) return this.#status === 'unobserved' ? [] : [this.#o.lo];
    if (this.done) return [];
    const out: number[] = [];
    for (const y of this.#levels) {
      if (this.#converged(y)) continue;
      const { a, b } = this.#bracket(y);
      const mid = Math.sqrt(a * b);
      if (!out.includes(mid)) out.push(mid);
    }
    return out;
  }

  /** The fit, once done. */
  result(): ChannelFit {
    const o = this.#o, probes = this.#t.length;
    const nLo = this.#n[0] ?? 0;
    switch (this.#status) {
      case 'unobserved': case 'silent': return { status: this.#status, threshold: NaN, expectedAlerts: 0, probes };
      case 'belowTarget': case 'fitted': return { status: this.#status, threshold: o.lo, expectedAlerts: nLo, probes };
    }
    const T = this.target;
    if (this.#levels.length === 1 && this.#levels[0] === T) {
      const { a, na, b, nb } = this.#bracket(T);
      if (b >= o.hi) {
        // Still more than T alerts within eps of the cap: nothing below the cap brings the count down.
        return { status: 'capped', threshold: o.hi, expectedAlerts: na, probes };
      }
      // The bracket's end whose count is nearer T (ties: the higher threshold, fewer alerts).
      return Math.abs(na - T) < Math.abs(nb - T)
        ? { status: 'fitted', threshold: a, expectedAlerts: na, probes }
        : { status: 'fitted', threshold: b, expectedAlerts: nb, probes };
    }
    // Tail model: peak k lies in the bracket of level k - 1/2.
    const peaks = this.#levels.map((y) => { const { a, b } = this.#bracket(y); return Math.sqrt(a * b); });
    const L = Math.min(nLo, o.nMin);
    const u = nLo > o.nMin ? peaks[o.nMin] : o.lo;
    let sum = 0;
    for (let k = 0; k < L; k++) sum += peaks[k] - u;
    const sigma = sum / L;
    let t = sigma > 0 ? u + sigma * Math.log(L / T) : peaks[0];
    if (!(t >= o.lo)) t = o.lo;
    if (t > o.hi) t = o.hi;
    return { status: 'tail', threshold: t, expectedAlerts: T, tail: { u, peaks: L, sigma }, probes };
  }
}
