// A capture file as a stream of byte chunks (inflated when it is gzip), and the lines in them, without decoding
// anything to strings: the fast path of the Binance reader scans bytes. Same rules as LineReader (lines.ts): gzip
// told apart by its magic bytes, a damaged gzip stream ends the input quietly after its last complete line and says
// where, other I/O errors throw. Nothing holds the whole file: memory is one chunk plus the line that straddles
// two chunks.
import { createReadStream } from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { isGzip, type InputDamage } from './lines.js';

/** Bytes read (and, for gzip, inflated) per step: big enough that per-chunk overhead vanishes next to parsing. */
const CHUNK_BYTES = 256 * 1024;
/** Inflated bytes per chunk of a gzip input (see the iterator). */
const INFLATE_BYTES = 1024 * 1024;
const NEWLINE = 10;

/** The byte chunks of a file; `damage` is set (and iteration ends) when a gzip stream is cut off or corrupt. */
export class ByteChunks implements AsyncIterable<Buffer> {
  readonly path: string;
  gzip = false;
  /** Bytes of the file read so far (compressed bytes for gzip). */
  bytesRead = 0;
  damage: InputDamage | undefined;
  damageMessage = '';

  constructor(path: string) {
    this.path = path;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    this.gzip = await isGzip(this.path);
    const file = createReadStream(this.path, { highWaterMark: CHUNK_BYTES });
    file.on('data', (chunk) => { this.bytesRead += chunk.length; });
    let source: Readable = file;
    if (this.gzip) {
      // zlib inflates on libuv's thread pool; room for four inflated chunks lets it run ahead while this thread
      // parses. With the default 16 KiB it stopped after each chunk: this thread waited 10-17 ms for zlib in a
      // 110 ms replay of the USD-M capture, 5-13 ms with 256 KiB chunks. 1 MiB chunks (a quarter as many round
      // trips to the pool, awaits and lines cut between chunks) took 3-8% off the end-to-end CPU time on one core
      // and on two (USD-M 124 -> 116 ms, COIN-M 90 -> 86, spot 48 -> 46 on a loaded machine); 512 KiB gained less,
      // 2 MiB no more. ZlibOptions does not declare the stream options that zlib passes on to its Transform.
      const gunzip = createGunzip({ chunkSize: INFLATE_BYTES, readableHighWaterMark: 4 * INFLATE_BYTES } as ZlibOptions);
      // pipeline() forwards a read error of the file into the gunzip stream we iterate, and destroys both if we stop.
      source = pipeline(file, gunzip, () => {});
    }
    try {
      for await (const chunk of source) yield chunk as Buffer;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!this.gzip || (code !== 'Z_BUF_ERROR' && code !== 'Z_DATA_ERROR')) throw err;
      this.damage = code === 'Z_BUF_ERROR' ? 'truncated' : 'corrupt';
      this.damageMessage = (err as Error).message;
    } finally {
      source.destroy();
    }
  }
}

/**
 * Cuts byte chunks into lines. `push(chunk)` returns the lines in order through `next()`, as (bytes, start, end)
 * spans without the newline: a line inside the chunk is a span of the chunk itself (no copy); only a line that
 * straddles two chunks is copied, into a scratch buffer that grows to the longest such line.
 */
export class LineSplitter {
  /** The current line: bytes[start, end). */
  bytes: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  #chunk: Buffer = Buffer.alloc(0);
  #pos = 0;
  #carry: Buffer = Buffer.alloc(64 * 1024);
  #carryLen = 0;
  #carryDone = false;

  /** Start on a new chunk; the lines it completes come from next(). */
  push(chunk: Buffer): void {
    this.#chunk = chunk;
    this.#pos = 0;
    this.#carryDone = this.#carryLen === 0;
  }

  /** Move to the next complete line of the current chunk; false when the chunk has no more (its tail is kept). */
  next(): boolean {
    const chunk = this.#chunk;
    if (!this.#carryDone) {
      // The line begun in earlier chunks ends in this one, or not yet.
      const nl = chunk.indexOf(NEWLINE);
      if (nl === -1) {
        this.#append(chunk, 0, chunk.length);
        this.#pos = chunk.length;
        this.#carryDone = true;
        return false;
      }
      this.#append(chunk, 0, nl);
      this.#carryDone = true;
      this.#pos = nl + 1;
      this.bytes = this.#carry;
      this.start = 0;
      this.end = this.#carryLen;
      this.#carryLen = 0;
      return true;
    }
    const nl = chunk.indexOf(NEWLINE, this.#pos);
    if (nl === -1) {
      if (this.#pos < chunk.length) this.#append(chunk, this.#pos, chunk.length);
      this.#pos = chunk.length;
      return false;
    }
    this.bytes = chunk;
    this.start = this.#pos;
    this.end = nl;
    this.#pos = nl + 1;
    return true;
  }

  /** After the last chunk: the final line when the input does not end with a newline. */
  finish(): boolean {
    if (this.#carryLen === 0) return false;
    this.bytes = this.#carry;
    this.start = 0;
    this.end = this.#carryLen;
    this.#carryLen = 0;
    return true;
  }

  /** Bytes of a line begun but not finished (what a truncated input cuts off). */
  get pending(): number { return this.#carryLen; }

  #append(src: Buffer, from: number, to: number): void {
    const n = to - from;
    if (this.#carryLen + n > this.#carry.length) {
      const bigger = Buffer.alloc(Math.max(this.#carry.length * 2, this.#carryLen + n));
      this.#carry.copy(bigger, 0, 0, this.#carryLen);
      this.#carry = bigger;
    }
    src.copy(this.#carry, this.#carryLen, from, to);
    this.#carryLen += n;
  }
}

/** A splitter for the module's lifetime, so that the class's hidden class outlives every reader (see ladder.ts). */
export const KEEP_ALIVE: readonly LineSplitter[] = [new LineSplitter()];
