// Canonical events, columnar: the engine's input. A batch is struct-of-arrays, the layout the WASM reads.
import { Kind, N_FIELDS } from './abi.js';

/** Event timestamps are integer nanoseconds since the Unix epoch: bigint, or a number that is a safe integer. */
export type Nanos = bigint | number;

export class EventBatch {
  length = 0;
  tsNs: BigInt64Array;
  /** Sequence numbers; -1 lets the engine number the event (the next number after the last it saw). */
  seq: BigInt64Array;
  instrument: Uint32Array;
  kind: Uint32Array;
  /** f[k][i]: field k of event i (docs/abi.md, "Events"). NaN marks an optional field as absent. */
  f: Float64Array[];

  constructor(capacity = 1024) {
    this.tsNs = new BigInt64Array(capacity);
    this.seq = new BigInt64Array(capacity);
    this.instrument = new Uint32Array(capacity);
    this.kind = new Uint32Array(capacity);
    this.f = Array.from({ length: N_FIELDS }, () => new Float64Array(capacity));
  }

  get capacity(): number { return this.kind.length; }

  clear(): this { this.length = 0; return this; }

  push(kind: number, instrument: number, tsNs: Nanos, f0: number, f1 = NaN, f2 = NaN, f3 = NaN, f4 = NaN, f5 = NaN, seq: Nanos = -1n): number {
    if (this.length === this.capacity) this.grow();
    const i = this.length++;
    this.tsNs[i] = toNanos(tsNs);
    this.seq[i] = typeof seq === 'bigint' ? seq : BigInt(seq);
    this.instrument[i] = instrument;
    this.kind[i] = kind;
    const f = this.f;
    f[0][i] = f0; f[1][i] = f1; f[2][i] = f2; f[3][i] = f3; f[4][i] = f4; f[5][i] = f5;
    return i;
  }

  /** side: +1 buyer-initiated (taker bought), -1 seller-initiated, 0 unknown. */
  trade(instrument: number, tsNs: Nanos, price: number, size: number, side: number, seq?: Nanos): number {
    return this.push(Kind.trade, instrument, tsNs, price, size, side, NaN, NaN, NaN, seq);
  }
  /** Top of book, with optional depth (summed size within the configured levels or bps) on each side. */
  quote(instrument: number, tsNs: Nanos, bid: number, bidSize: number, ask: number, askSize: number, bidDepth = NaN, askDepth = NaN, seq?: Nanos): number {
    return this.push(Kind.quote, instrument, tsNs, bid, bidSize, ask, askSize, bidDepth, askDepth, seq);
  }
  mark(instrument: number, tsNs: Nanos, mark: number, index = NaN, funding = NaN, seq?: Nanos): number {
    return this.push(Kind.mark, instrument, tsNs, mark, index, funding, NaN, NaN, NaN, seq);
  }
  option(instrument: number, tsNs: Nanos, markIv: number, underlying = NaN, markPrice = NaN, bidIv = NaN, askIv = NaN, seq?: Nanos): number {
    return this.push(Kind.option, instrument, tsNs, markIv, underlying, markPrice, bidIv, askIv, NaN, seq);
  }
  value(instrument: number, tsNs: Nanos, value: number, seq?: Nanos): number {
    return this.push(Kind.value, instrument, tsNs, value, NaN, NaN, NaN, NaN, NaN, seq);
  }

  /** Events [start, end) as a batch sharing this one's memory. */
  slice(start: number, end = this.length): EventBatch {
    const b = Object.create(EventBatch.prototype) as EventBatch;
    b.length = end - start;
    b.tsNs = this.tsNs.subarray(start, end);
    b.seq = this.seq.subarray(start, end);
    b.instrument = this.instrument.subarray(start, end);
    b.kind = this.kind.subarray(start, end);
    b.f = this.f.map((col) => col.subarray(start, end));
    return b;
  }

  private grow(): void {
    const cap = Math.max(16, this.capacity * 2);
    const ts = new BigInt64Array(cap); ts.set(this.tsNs); this.tsNs = ts;
    const seq = new BigInt64Array(cap); seq.set(this.seq); this.seq = seq;
    const inst = new Uint32Array(cap); inst.set(this.instrument); this.instrument = inst;
    const kind = new Uint32Array(cap); kind.set(this.kind); this.kind = kind;
    this.f = this.f.map((col) => { const c = new Float64Array(cap); c.set(col); return c; });
  }
}

export function toNanos(t: Nanos): bigint {
  if (typeof t === 'bigint') return t;
  if (!Number.isSafeInteger(t)) throw new RangeError(`timestamp ${t} is not an integer number of nanoseconds; pass a bigint`);
  return BigInt(t);
}
