// `atc serve` as a user runs it: a real process, SIGTERM drains and checkpoints, `--restore` continues; bad
// options are refused before anything starts, naming the option.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sendFiles } from '../src/cli-serve.js';
import { ProducerClient } from '../src/client/producer.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli.js');
const SAMPLE = join(ROOT, 'data/samples/binance-usdm-btcusdt.txt.gz');
const dir = mkdtempSync(join(tmpdir(), 'atc-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Start `atc serve` on a free port; resolves with the process and its URL (from the structured "listening" log). */
function serve(args: string[]): Promise<{ proc: ChildProcess; url: string; logs: Record<string, unknown>[] }> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--no-stdout', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'listening') resolve({ proc, url: entry.url as string, logs });
      }
    });
    proc.once('exit', (code) => reject(new Error(`serve exited ${code} before listening: ${buf}`)));
  });
}

function exited(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

describe('atc serve', () => {
  it('SIGTERM drains, checkpoints and exits 0; --restore continues with the same instruments and streams', async () => {
    const ckpt = join(dir, 'state.bin');
    const first = await serve(['--checkpoint', ckpt, '--workers', '1']);
    const report = await sendFiles({ url: first.url, files: [SAMPLE], format: 'auto', pace: { kind: 'max' }, frame: 1000, rows: false, producer: 'feed' });
    expect(report.events).toBe(36_960);
    const metrics = await (await fetch(`${first.url.replace('ws:', 'http:')}/metrics`)).text();
    expect(metrics).toMatch(/^atc_events_total 36960$/m);
    first.proc.kill('SIGTERM');
    expect(await exited(first.proc)).toBe(0);
    expect(first.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['checkpoint written', 'stopped']));
    expect(statSync(ckpt).size).toBeGreaterThan(1000);

    const second = await serve(['--checkpoint', ckpt, '--restore', '--workers', '2']);
    expect(second.logs.find((l) => l.msg === 'listening')).toMatchObject({ restored: true, instruments: 1 });
    const c = await ProducerClient.connect(second.url, { producer: 'feed' });
    expect(c.welcome.nextSeq).toBe(report.frames);
    expect(c.welcome.events).toBe(36_960);
    await c.close();
    second.proc.kill('SIGINT');
    expect(await exited(second.proc)).toBe(0);
  });

  it('refuses bad options and configuration with exit 2, naming what is wrong', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ window: 64, server: { port: 70_000 } }));
    let r = spawnSync(process.execPath, [CLI, 'serve', '--config', bad], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/server\.port/);
    writeFileSync(bad, JSON.stringify({ server: { wokers: 2 } }));
    r = spawnSync(process.execPath, [CLI, 'serve', '--config', bad], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/server\.wokers: unknown option/);
    writeFileSync(bad, JSON.stringify({ window: -3 }));
    r = spawnSync(process.execPath, [CLI, 'serve', '--config', bad], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/config\.window/);
    r = spawnSync(process.execPath, [CLI, 'serve', '--restore', '--checkpoint', join(dir, 'missing.bin')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot read the checkpoint/);
    r = spawnSync(process.execPath, [CLI, 'send'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/at least one input file/);
  });
});
