// Alerts out as NDJSON: to a file and to stdout. A sink that cannot keep up (a full disk, a stalled pipe) must not
// hold ingestion back or grow memory without bound: past `maxPendingBytes` unwritten, lines are dropped and
// counted (atc_alerts_dropped_total{sink}) rather than queued.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

export class NdjsonSink {
  readonly name: string;
  readonly #out: Writable;
  readonly #ownsStream: boolean;
  readonly #maxPendingBytes: number;
  dropped = 0;
  written = 0;
  error: Error | undefined;

  constructor(name: string, out: Writable, ownsStream: boolean, maxPendingBytes = 64 << 20) {
    this.name = name;
    this.#out = out;
    this.#ownsStream = ownsStream;
    this.#maxPendingBytes = maxPendingBytes;
    out.on('error', (err) => { this.error ??= err; });
  }

  /** Opens (appends to) `path`; rejects with the reason if it cannot, so a bad path fails at start, not silently. */
  static async file(path: string): Promise<NdjsonSink> {
    const out = createWriteStream(path, { flags: 'a' });
    await Promise.race([once(out, 'open'), once(out, 'error').then(([err]) => { throw new Error(`alerts file ${path}: ${(err as Error).message}`); })]);
    return new NdjsonSink(`file:${path}`, out, true);
  }

  write(lines: string, count: number): void {
    if (this.error || this.#out.writableLength > this.#maxPendingBytes) {
      this.dropped += count;
      return;
    }
    this.#out.write(lines);
    this.written += count;
  }

  /** Resolves once everything written so far is flushed (and the file closed, if this sink opened it). */
  async close(): Promise<void> {
    if (this.error) return;
    if (this.#ownsStream) {
      this.#out.end();
      await once(this.#out, 'finish').catch(() => {});
    } else if (this.#out.writableLength > 0) {
      // A stalled consumer (the case this sink drops for) must not hold shutdown: wait a while, then give up.
      await Promise.race([once(this.#out, 'drain').catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
  }
}
