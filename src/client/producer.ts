// A producer for the sidecar's /ingest endpoint (docs/protocol.md): hello, instrument registration, columnar or
// row frames with sequence numbers, and credit-based flow control. `send` pipelines: it waits only when the
// credit window is used up, so a fast producer keeps the socket full without ever outrunning the server.
import WebSocket from 'ws';
import { Unpackr } from 'msgpackr';
import type { EventBatch } from '../events.js';
import { FrameEncoder } from '../protocol/encode.js';

export interface ProducerOptions {
  token?: string;
  /** Names a resumable stream: after a reconnect, `welcome.nextSeq` says which frame to send next. */
  producer?: string;
  /** Ask for `processed` notices (the engine has processed every event of frames up to a seq). */
  notify?: boolean;
  /** Put the token in an Authorization header at the upgrade instead of the hello. */
  tokenInHeader?: boolean;
}

export interface Welcome { v: number; nextSeq: number; events: number; window: number; maxFrameBytes: number; maxFrameEvents: number }
export interface Ack { seq: number; n: number; events: number; window: number; duplicate?: boolean }
export interface ServerError { code: string; message: string; seq?: number; index?: number; field?: string }

export class ProducerError extends Error {
  readonly code: string;
  readonly seq: number | undefined;
  constructor(e: ServerError) {
    super(`atc server: ${e.code}: ${e.message}`);
    this.name = 'ProducerError';
    this.code = e.code;
    this.seq = e.seq;
  }
}

/** A message awaiting the server's reply. The server answers a connection's messages in order. */
type Request =
  | { kind: 'frame'; seq: number; n: number; sentMs: number; resolve: (a: Ack) => void; reject: (e: Error) => void }
  | { kind: 'register'; resolve: (ids: number[]) => void; reject: (e: Error) => void };

export class ProducerClient {
  readonly #ws: WebSocket;
  readonly #enc = new FrameEncoder();
  readonly #unpackr = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true });
  readonly welcome: Welcome;
  #nextSeq: number;
  #sentEvents: number;
  #window: number;
  /** Requests in the order sent (their replies come in that order); head index to avoid shifting. */
  #requests: Request[] = [];
  #head = 0;
  readonly #pending = new Set<Promise<Ack>>();
  #creditWaiters: (() => void)[] = [];
  #closedError: Error | null = null;
  /** Errors the server sent that no pending call was waiting for. */
  readonly errors: ServerError[] = [];
  /** Called with the seq of every `processed` notice and the time (performance.now()) it arrived. */
  onProcessed: ((seq: number, atMs: number) => void) | null = null;
  /** Called with the seq and round-trip ms of every ack. */
  onAck: ((ack: Ack, rttMs: number) => void) | null = null;

  private constructor(ws: WebSocket, welcome: Welcome) {
    this.#ws = ws;
    this.welcome = welcome;
    this.#nextSeq = welcome.nextSeq;
    this.#sentEvents = welcome.events;
    this.#window = welcome.window;
    ws.on('message', (data: Buffer) => this.#onMessage(data));
    ws.on('close', (code, reason) => this.#fail(new Error(`connection closed (${code}${reason.length ? `: ${reason}` : ''})`)));
    ws.on('error', (err) => this.#fail(err));
  }

  /** Connect to `url` (ws://host:port, with or without /ingest) and say hello. */
  static async connect(url: string, opts: ProducerOptions = {}): Promise<ProducerClient> {
    const target = url.replace(/\/+$/, '').endsWith('/ingest') ? url : `${url.replace(/\/+$/, '')}/ingest`;
    const headers = opts.token && opts.tokenInHeader ? { authorization: `Bearer ${opts.token}` } : undefined;
    const ws = new WebSocket(target, { headers, perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(new Error(`${target}: HTTP ${res.statusCode} at upgrade`));
      });
    });
    const unpackr = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true });
    const welcome = await new Promise<Welcome>((resolve, reject) => {
      ws.once('message', (data: Buffer) => {
        const m = unpackr.unpack(data) as Record<string, unknown>;
        if (m.t === 'welcome') resolve(m as unknown as Welcome);
        else reject(new ProducerError(m as unknown as ServerError));
      });
      ws.once('close', (code) => reject(new Error(`connection closed before welcome (${code})`)));
      ws.send(new FrameEncoder().hello({ v: 1, token: opts.tokenInHeader ? undefined : opts.token, producer: opts.producer, notify: opts.notify }));
    }).catch((err: unknown) => {
      ws.terminate();
      throw err;
    });
    return new ProducerClient(ws, welcome);
  }

  get nextSeq(): number { return this.#nextSeq; }
  get window(): number { return this.#window; }
  get sentEvents(): number { return this.#sentEvents; }
  /** Messages sent and not yet answered. */
  get inFlight(): number { return this.#requests.length - this.#head; }

  /** Register instruments; resolves to their ids, in order, or rejects with the server's error. */
  register(instruments: Record<string, unknown>[]): Promise<number[]> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    return new Promise<number[]>((resolve, reject) => {
      this.#requests.push({ kind: 'register', resolve, reject });
      this.#ws.send(this.#enc.register(instruments));
    });
  }

  /**
   * Send `batch` (instrument ids as registered) as one columnar frame, once the credit window allows it.
   * Resolves when the server acks the frame (accepted); rejects with the server's error.
   */
  async sendCols(batch: EventBatch): Promise<Ack> {
    await this.ready(batch.length);
    return this.sendColsNow(batch);
  }

  /** Send row objects (canonical event fields, docs/protocol.md) as one row frame. */
  async sendRows(rows: Record<string, unknown>[], useRecords = false): Promise<Ack> {
    await this.ready(rows.length);
    return this.sendRowsNow(rows, useRecords);
  }

  /**
   * Send at once, without waiting for credit (the caller awaited `ready(n)`): the batch is encoded before this
   * returns, so the caller may reuse it. The promise settles with the ack or the server's error.
   */
  sendColsNow(batch: EventBatch): Promise<Ack> {
    return this.#sendFrame(batch.length, (seq) => this.#enc.cols(seq, batch));
  }
  sendRowsNow(rows: Record<string, unknown>[], useRecords = false): Promise<Ack> {
    return this.#sendFrame(rows.length, (seq) => this.#enc.rows(seq, rows, useRecords));
  }

  /** Send raw bytes as if a frame (tests of hostile input); resolves to the server's first reply to it. */
  sendRaw(bytes: Uint8Array | string): void {
    this.#ws.send(bytes);
  }

  /** Resolves when the credit window has room for a frame of n events. */
  async ready(n: number): Promise<void> {
    if (n > this.welcome.maxFrameEvents) throw new RangeError(`frame of ${n} events exceeds the server's maxFrameEvents (${this.welcome.maxFrameEvents})`);
    while (this.#sentEvents + n > this.#window) {
      if (this.#closedError) throw this.#closedError;
      await new Promise<void>((resolve) => this.#creditWaiters.push(resolve));
    }
    if (this.#closedError) throw this.#closedError;
  }

  #sendFrame(n: number, encode: (seq: number) => Uint8Array): Promise<Ack> {
    const seq = this.#nextSeq++;
    this.#sentEvents += n;
    const bytes = encode(seq);
    const p = new Promise<Ack>((resolve, reject) => {
      if (this.#closedError) return reject(this.#closedError);
      this.#requests.push({ kind: 'frame', seq, n, sentMs: performance.now(), resolve, reject });
      this.#ws.send(bytes);
    });
    this.#pending.add(p);
    const forget = () => { this.#pending.delete(p); };
    p.then(forget, forget);
    return p;
  }

  /** Resolves when every frame sent so far is acked or refused. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#ws.readyState === WebSocket.CLOSED) return resolve();
      this.#ws.once('close', () => resolve());
      this.#ws.close(1000);
    });
  }

  #onMessage(data: Buffer): void {
    let m: Record<string, unknown>;
    try {
      m = this.#unpackr.unpack(data) as Record<string, unknown>;
    } catch (err) {
      this.#fail(new Error(`undecodable message from the server: ${(err as Error).message}`));
      return;
    }
    switch (m.t) {
      case 'ack': {
        const ack = m as unknown as Ack;
        this.#grow(ack.window);
        const r = this.#peek();
        // An ack nothing waits for (a frame sent raw, a duplicate) still reaches onAck, with no round trip.
        if (r?.kind === 'frame' && r.seq === ack.seq) {
          this.#head++;
          this.onAck?.(ack, performance.now() - r.sentMs);
          r.resolve(ack);
        } else {
          this.onAck?.(ack, NaN);
        }
        return;
      }
      case 'credit':
        this.#grow(m.window as number);
        return;
      case 'processed':
        this.onProcessed?.(m.seq as number, performance.now());
        return;
      case 'registered': {
        const r = this.#peek();
        if (r?.kind === 'register') { this.#head++; r.resolve(m.ids as number[]); }
        return;
      }
      case 'error': {
        const e = m as unknown as ServerError;
        // The server answers in order: an error answers the oldest message still waiting (it may carry no seq,
        // e.g. a frame refused for its size before it was decoded).
        const r = this.#peek();
        if (r && (e.seq === undefined || r.kind !== 'frame' || r.seq === e.seq)) {
          this.#head++;
          // A refused frame did not consume its seq or credit; frames sent after it are refused as a gap. Rewind
          // so that the next frame sent carries the refused one's seq.
          if (r.kind === 'frame') {
            this.#sentEvents -= r.n;
            this.#nextSeq = Math.min(this.#nextSeq, r.seq);
          }
          r.reject(new ProducerError(e));
        } else {
          this.errors.push(e);
        }
        // Wake anyone waiting for credit: they must see the failure rather than wait for ever.
        this.#grow(this.#window);
        return;
      }
      default:
        this.errors.push({ code: 'unexpected', message: `unexpected message ${JSON.stringify(m.t)}` });
    }
  }

  #peek(): Request | undefined {
    if (this.#head > 1024 && this.#head * 2 > this.#requests.length) {
      this.#requests = this.#requests.slice(this.#head);
      this.#head = 0;
    }
    return this.#head < this.#requests.length ? this.#requests[this.#head] : undefined;
  }


  #grow(window: number): void {
    if (window > this.#window) this.#window = window;
    const waiters = this.#creditWaiters;
    this.#creditWaiters = [];
    for (const w of waiters) w();
  }

  #fail(err: Error): void {
    if (this.#closedError) return;
    this.#closedError = err;
    const waiting = this.#requests.slice(this.#head);
    this.#requests = [];
    this.#head = 0;
    for (const r of waiting) r.reject(err);
    this.#grow(this.#window);
  }
}
