// Streaming line input for recorded captures: a file (gzip or plain, told apart by its magic bytes, never by its
// name) read in chunks and cut into lines. Nothing ever holds a whole file; memory is one chunk plus one line.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

/** Bytes read (and, for gzip, inflated) per step: big enough that per-chunk overhead vanishes next to parsing. */
const CHUNK_BYTES = 256 * 1024;

/** True when the file starts with the gzip magic bytes 1f 8b (RFC 1952, section 2.3.1). */
export async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** How an input ended early: `truncated` (the gzip stream stops mid-member) or `corrupt` (bad gzip data). */
export type InputDamage = 'truncated' | 'corrupt';

/**
 * The lines of a file, as arrays of strings (one array per chunk read, so the consumer pays one `await` per
 * chunk, not per line). Line numbers are 1-based and count every line, blank ones included: `firstLine` is the
 * number of the first line of the array most recently yielded.
 *
 * A damaged gzip stream does not throw: every complete line inflated before the damage is yielded, then
 * `damage` says what happened and `damageLine` is the number of the line that was cut off (the partial line
 * itself is dropped, since its end is lost). Other I/O errors (missing file, permissions) throw.
 */
export class LineReader implements AsyncIterable<string[]> {
  readonly path: string;
  gzip = false;
  firstLine = 1;
  /** Lines yielded so far. */
  lines = 0;
  /** Bytes of the file read so far (compressed bytes for gzip). */
  bytesRead = 0;
  damage: InputDamage | undefined;
  damageLine = 0;
  damageMessage = '';

  constructor(path: string) {
    this.path = path;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string[]> {
    this.gzip = await isGzip(this.path);
    const file = createReadStream(this.path, { highWaterMark: CHUNK_BYTES });
    file.on('data', (chunk) => { this.bytesRead += chunk.length; });
    let source: Readable = file;
    if (this.gzip) {
      const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
      // pipeline() forwards a read error of the file into the gunzip stream we iterate, and destroys both if we stop.
      source = pipeline(file, gunzip, () => {});
    }
    const decoder = new StringDecoder('utf8');
    let carry = '';
    try {
      for await (const chunk of source) {
        const text = carry + decoder.write(chunk as Buffer);
        const out: string[] = [];
        let from = 0;
        for (let nl = text.indexOf('\n', from); nl !== -1; nl = text.indexOf('\n', from)) {
          out.push(text.slice(from, nl));
          from = nl + 1;
        }
        carry = from === 0 ? text : text.slice(from);
        if (out.length > 0) yield this.#emit(out);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!this.gzip || (code !== 'Z_BUF_ERROR' && code !== 'Z_DATA_ERROR')) throw err;
      this.damage = code === 'Z_BUF_ERROR' ? 'truncated' : 'corrupt';
      this.damageLine = this.lines + 1;
      this.damageMessage = (err as Error).message;
      return;
    } finally {
      source.destroy();
    }
    const rest = carry + decoder.end();
    if (rest.length > 0) yield this.#emit([rest]);
  }

  #emit(out: string[]): string[] {
    this.firstLine = this.lines + 1;
    this.lines += out.length;
    return out;
  }
}

/** The first line of a file that is not blank (trimmed), or undefined for an empty file: reads only what it needs. */
export async function firstLine(path: string): Promise<string | undefined> {
  const reader = new LineReader(path);
  for await (const lines of reader) {
    for (const line of lines) {
      const t = line.trim();
      if (t.length > 0) return t;
    }
  }
  return undefined;
}
