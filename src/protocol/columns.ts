// Validated events as struct-of-arrays: what the decoder hands the pool, and the reusable storage it fills. The
// wire carries columns little-endian (docs/protocol.md, "Columns"), and the decoder views them in place when they
// are aligned: that is only correct on a little-endian machine, so this module refuses to load on any other.
import { N_FIELDS } from '../abi.js';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('atc protocol: this machine is big-endian; the wire columns are little-endian typed arrays');
}

/**
 * Validated events, struct-of-arrays. Views are valid until the next decode call (they may point into scratch, or
 * into the bytes decoded). Each array holds exactly n elements; an omitted f-column is a shared all-NaN array that
 * must not be written.
 */
export interface Columns {
  n: number;
  ts: BigInt64Array;          // ns since epoch
  seq: BigInt64Array | null;  // producer's event sequence numbers; null: the pool assigns them
  instrument: Uint32Array;    // registered ids
  kind: Uint8Array;           // abi Kind: 1 trade, 2 quote, 3 mark, 4 option, 5 value
  f: Float64Array[];          // 6 columns, NaN = absent optional field (src/abi.ts, docs/abi.md "Events")
}

/** The first n events of a ColumnScratch, each column exactly n long (the word views 2n). */
export interface ScratchViews {
  ts: BigInt64Array;
  tsWords: Int32Array;
  seq: BigInt64Array;
  seqWords: Int32Array;
  instrument: Uint32Array;
  kind: Uint8Array;
  f: Float64Array[];
}

/**
 * Reusable column storage for one decoder. It grows (to the larger of the need and twice its capacity) only when a
 * frame holds more events than it has room for, so a connection that sends frames of steady size allocates nothing
 * here after its first frame. The views of n events are cached for the last n, for the same reason.
 */
export class ColumnScratch {
  #capacity = 0;
  ts!: BigInt64Array;
  /** The ts column as (lo, hi) int32 pairs: sign and zero tests without materialising a bigint per event. */
  tsWords!: Int32Array;
  tsBytes!: Uint8Array;
  seq!: BigInt64Array;
  seqWords!: Int32Array;
  seqBytes!: Uint8Array;
  instrument!: Uint32Array;
  instrumentBytes!: Uint8Array;
  kind!: Uint8Array;
  f!: Float64Array[];
  fBytes!: Uint8Array[];
  #viewN = -1;
  #views: ScratchViews | undefined;
  // The column of an omitted field: all NaN, never written. Apart from the rest, because an aligned cols frame
  // (viewed in place, nothing copied) needs this and nothing else of the scratch.
  #nan = new Float64Array(0);
  #nanView = new Float64Array(0);

  constructor(capacity = 1024) {
    this.#allocate(Math.max(1, capacity));
  }

  get capacity(): number { return this.#capacity; }

  /** Makes room for n events (keeping nothing: callers fill the scratch after asking). */
  ensure(n: number): void {
    if (n > this.#capacity) this.#allocate(Math.max(n, this.#capacity * 2));
  }

  /** Exact-length views of the first n events of every column (cached for the last n asked for). */
  views(n: number): ScratchViews {
    if (n !== this.#viewN || this.#views === undefined) {
      this.#views = {
        ts: this.ts.subarray(0, n), tsWords: this.tsWords.subarray(0, 2 * n),
        seq: this.seq.subarray(0, n), seqWords: this.seqWords.subarray(0, 2 * n),
        instrument: this.instrument.subarray(0, n), kind: this.kind.subarray(0, n),
        f: this.f.map((c) => c.subarray(0, n)),
      };
      this.#viewN = n;
    }
    return this.#views;
  }

  /** n NaNs, shared and read-only (grown only when a frame needs more). */
  nan(n: number): Float64Array {
    if (this.#nanView.length !== n) {
      if (this.#nan.length < n) this.#nan = new Float64Array(Math.max(n, 2 * this.#nan.length)).fill(NaN);
      this.#nanView = this.#nan.subarray(0, n);
    }
    return this.#nanView;
  }

  #allocate(cap: number): void {
    this.#capacity = cap;
    this.ts = new BigInt64Array(cap);
    this.tsWords = new Int32Array(this.ts.buffer);
    this.tsBytes = new Uint8Array(this.ts.buffer);
    this.seq = new BigInt64Array(cap);
    this.seqWords = new Int32Array(this.seq.buffer);
    this.seqBytes = new Uint8Array(this.seq.buffer);
    this.instrument = new Uint32Array(cap);
    this.instrumentBytes = new Uint8Array(this.instrument.buffer);
    this.kind = new Uint8Array(cap);
    this.f = Array.from({ length: N_FIELDS }, () => new Float64Array(cap));
    this.fBytes = this.f.map((c) => new Uint8Array(c.buffer));
    this.#viewN = -1;
    this.#views = undefined;
  }
}
