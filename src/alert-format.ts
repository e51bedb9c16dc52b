// Alerts as JSON, one shape everywhere a person or a program reads them: `atc replay`'s output, the sidecar's
// NDJSON sinks and its JSON subscribers.
import type { Alert } from './engine.js';
import type { Registry } from './registry.js';

const NS_PER_S = 1_000_000_000n;

/** ISO 8601 UTC to the nanosecond: "2024-08-08T23:55:01.123456789Z". */
export function isoNs(tsNs: bigint): string {
  let s = tsNs / NS_PER_S;
  let ns = tsNs % NS_PER_S;
  if (ns < 0n) { ns += NS_PER_S; s -= 1n; }
  const iso = new Date(Number(s) * 1000).toISOString(); // "...T23:55:01.000Z"
  return `${iso.slice(0, -4)}${ns.toString().padStart(9, '0')}Z`;
}

/** The alert as a plain object: times and sequence numbers as strings (JSON numbers lose digits past 2^53). */
export function alertObject(a: Alert, instrument: string) {
  return {
    time: isoNs(a.tsNs),
    tsNs: a.tsNs.toString(),
    instrument,
    feature: a.feature,
    detector: a.detector,
    severity: a.severity,
    regime: a.regime,
    value: a.value,
    expected: a.expected,
    score: a.score,
    threshold: a.threshold,
    volRatio: a.volRatio,
    mode: a.mode,
    seq: a.seq.toString(),
  };
}

/** One NDJSON line. */
export function formatAlert(a: Alert, registry: Registry): string {
  return JSON.stringify(alertObject(a, registry.name(a.instrument))) + '\n';
}
