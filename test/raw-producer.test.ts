// examples/raw-producer/producer.mjs is a producer + subscriber written from docs/protocol.md alone
// (ws + msgpackr, no atc code). Run it against a real `atc serve` and check its summary: if the
// docs and the server drift apart, this fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist/src/cli.js');
const example = join(root, 'examples/raw-producer/producer.mjs');
const run = promisify(execFile);

let server: ChildProcess | undefined;
let port = 0;
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atc-raw-producer-'));
  const config = join(dir, 'config.json');
  // A low static threshold so that the synthetic data raises alerts for the subscriber.
  writeFileSync(config, JSON.stringify({
    thresholdFloor: 0,
    suppression: { cooldownMs: 0 },
    thresholds: { default: { mode: 'static', threshold: 2 } },
  }));
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--no-stdout', '--workers', '1', '--config', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: dir, // the server writes its checkpoint (default path, relative) here, not in the repo
  });
  server = child;
  port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error('atc serve did not log "listening" within 8 s')), 8000);
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      let rec: { msg?: string; url?: string };
      try { rec = JSON.parse(line); } catch { return; }
      if (rec.msg === 'listening' && rec.url) {
        clearTimeout(timer);
        resolvePort(Number(new URL(rec.url).port));
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`atc serve exited early (${code})`)); });
  });
}, 10_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    const t = setTimeout(() => server!.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('examples/raw-producer (a producer written from docs/protocol.md only)', () => {
  it('streams, is acked and processed, and sees the NaN frame refused then resent', async () => {
    const { stdout } = await run(process.execPath, [example, String(port)], { timeout: 13_000 });
    const summary = JSON.parse(stdout.trim().split('\n').pop()!);

    const sent = 20 * 500 + 7 + 13; // 20 cols frames + 2 rows frames
    expect(summary.failure).toBeUndefined();
    expect(summary.frames).toBe(22);
    expect(summary.sent).toBe(sent);
    expect(summary.acked).toBe(22); // every frame acked
    expect(summary.events).toBe(sent); // the server's cumulative count
    expect(summary.processedSeq).toBe(summary.lastSeq);
    expect(summary.processed).toBe(sent); // events processed = events sent
    expect(summary.health.eventsProcessed).toBe(sent);

    expect(summary.errors).toEqual(['nonFinite']); // the only refusal: the NaN frame
    expect(summary.nanError).toMatchObject({ code: 'nonFinite', seq: 10, field: 'price' });
    expect(summary.nanError.index).toBe(summary.nanError.expectedIndex);
    expect(summary.resendAccepted).toBe(true); // same seq, fixed, accepted

    expect(summary.alerts).toBeGreaterThan(0);
    expect(summary.alerts + summary.dropped).toBe(summary.health.alerts);
  }, 15_000);
});
