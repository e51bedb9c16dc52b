// Alerts out to WebSocket subscribers. Each subscriber filters by instrument, feature, detector and minimum
// severity and takes JSON text or msgpack. A subscriber that reads slower than alerts arrive never slows
// ingestion: once its unsent bytes pass a limit, what it cannot take is dropped and counted (it learns how many
// from the `dropped` field of the next message it gets), and past a number of dropped messages it is disconnected.
import type { SubscriberFilter } from '../protocol/messages.js';
import type { NamedAlert } from '../protocol/encode.js';
import type { WebSocket } from './uws.js';


export interface SubscriberState {
  role: 'subscriber';
  id: number;
  authorized: boolean;
  filter: SubscriberFilter | null;
  /** Alerts dropped for this subscriber so far. */
  dropped: number;
  /** Messages dropped so far (the disconnect limit counts these). */
  droppedMessages: number;
  closed: boolean;
  /** Closes the connection if it has not subscribed (with the token) in time. */
  helloTimer: NodeJS.Timeout | undefined;
}

export interface SubscriberLimits { maxBufferedBytes: number; maxDropped: number }

/** Close code sent to a subscriber disconnected for reading too slowly (4000-4999: application codes). */
export const CLOSE_TOO_SLOW = 4008;

export class SubscriberHub {
  readonly #subs = new Set<WebSocket<SubscriberState>>();
  readonly #limits: SubscriberLimits;
  readonly #encode: (alerts: NamedAlert[], dropped: number, format: 'json' | 'msgpack') => string | Uint8Array;
  droppedAlerts = 0;
  disconnects = 0;

  constructor(limits: SubscriberLimits, encode: (alerts: NamedAlert[], dropped: number, format: 'json' | 'msgpack') => string | Uint8Array) {
    this.#limits = limits;
    this.#encode = encode;
  }

  add(ws: WebSocket<SubscriberState>): void { this.#subs.add(ws); }
  delete(ws: WebSocket<SubscriberState>): void { this.#subs.delete(ws); }
  get size(): number { return this.#subs.size; }
  /** A copy: safe to close sockets while iterating. */
  sockets(): WebSocket<SubscriberState>[] { return [...this.#subs]; }

  /** Fan one batch of alerts out to every subscriber whose filter passes any of them. */
  publish(alerts: NamedAlert[]): void {
    if (this.#subs.size === 0 || alerts.length === 0) return;
    for (const ws of this.#subs) {
      const s = ws.getUserData();
      if (s.closed || s.filter === null) continue;
      const mine = select(alerts, s.filter);
      if (mine.length === 0) continue;
      if (ws.getBufferedAmount() > this.#limits.maxBufferedBytes) {
        this.#drop(ws, s, mine.length);
        continue;
      }
      const msg = this.#encode(mine, s.dropped, s.filter.format);
      // 2: uWebSockets.js dropped it at its own backpressure limit.
      if (ws.send(msg, typeof msg !== 'string') === 2) this.#drop(ws, s, mine.length);
    }
  }

  #drop(ws: WebSocket<SubscriberState>, s: SubscriberState, n: number): void {
    s.dropped += n;
    s.droppedMessages++;
    this.droppedAlerts += n;
    if (s.droppedMessages > this.#limits.maxDropped) {
      s.closed = true;
      this.disconnects++;
      this.#subs.delete(ws);
      ws.end(CLOSE_TOO_SLOW, 'too slow: alerts dropped past the limit');
    }
  }
}

function select(alerts: NamedAlert[], f: SubscriberFilter): NamedAlert[] {
  const out: NamedAlert[] = [];
  for (const na of alerts) {
    const a = na.alert;
    if (a.severity < f.minSeverity) continue;
    if (f.features && !f.features.has(a.feature)) continue;
    if (f.detectors && !f.detectors.has(a.detector)) continue;
    if (f.instruments && !f.instruments.has(na.instrument)) continue;
    out.push(na);
  }
  return out;
}
