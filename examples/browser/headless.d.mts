// Types for headless.mjs (used from TypeScript by test/browser.test.ts and bench/embed.ts).
import type { Page } from 'playwright-core';

export declare const CHROMIUM: string;
export declare const CHROMIUM_ARGS: string[];

/** What host.js leaves on window.atc.results for each case. */
export interface CaseResult {
  alerts: number;
  accepted: number;
  /** Rejected events by reason name. */
  rejected: Record<string, number>;
  alertsHex: string;
  statusHex: string;
  match: boolean;
  /** Only with ?repeat=R. */
  events?: number;
  repeat?: number;
  nsPerEvent?: number;
  nsPerEventMin?: number;
}

export declare function openExample(options?: {
  query?: string;
  /** Extra directories to serve: URL prefix -> directory. */
  mounts?: Record<string, string>;
  timeoutMs?: number;
  viewport?: { width: number; height: number };
}): Promise<{
  page: Page;
  atc: { done: boolean; error: string | null; results: Record<string, CaseResult> };
  /** Console errors and uncaught exceptions of the page. */
  errors: string[];
  close: () => Promise<void>;
}>;
