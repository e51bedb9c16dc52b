// Running a command of the CLI in process: its stdout and stderr captured as text, its exit code returned.
import { Writable } from 'node:stream';
import { main, type Io } from '../../src/cli.js';

/** A stream that keeps what is written to it; `isTTY` as a terminal would say (progress lines). */
export class Sink extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void { this.text += chunk.toString(); done(); }
}

export interface CliRun { code: number; stdout: string; stderr: string }

/** Runs `command(argv, io)` (by default the whole CLI, `main`) with captured output; `tty` makes stderr a terminal. */
export async function runCli(argv: string[], command: (argv: string[], io: Io) => Promise<number> = main, tty = false): Promise<CliRun> {
  const stdout = new Sink(), stderr = new Sink();
  stderr.isTTY = tty;
  const code = await command(argv, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
