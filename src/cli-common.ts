// What every `atc` command shares: usage errors, argument parsing that explains itself, input files checked before
// any work, JSON files and the engine configuration read with errors that name the file.
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolveConfig, type Config } from './config.js';
import { detectFileFormat, type InputFormat } from './adapters/index.js';

/** An error the user can fix (bad option, missing file, bad config): its message is printed, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** parseArgs, with its errors as usage errors that name the command. */
export function parseCommandArgs<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    // parseArgs explains itself ("Unknown option '--x'", "Option '--out <value>' argument missing").
    throw new UsageError(`${command}: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}; see atc ${command} --help`);
  }
}

/** The size of the file at `path`, or a usage error saying why it cannot be read (`what` names the argument). */
export async function checkFile(path: string, what: string): Promise<number> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${what} ${path}: no such file` : `${what} ${path}: ${(err as Error).message}`);
  }
  if (!s.isFile()) throw new UsageError(`${what} ${path}: not a file`);
  return s.size;
}

/** A JSON file, parsed; usage errors name the file and what is wrong with it. */
export async function readJson(path: string, what: string): Promise<unknown> {
  await checkFile(path, what);
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} ${path}: not valid JSON: ${(err as Error).message}`);
  }
}

/** A configuration file: a JSON object ({} when no path is given). */
export async function readConfigObject(path: string | undefined): Promise<Record<string, unknown>> {
  if (path === undefined) return {};
  const input = await readJson(path, 'config');
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new UsageError(`config ${path}: must be a JSON object, like {"window": 256}`);
  }
  return input as Record<string, unknown>;
}

/**
 * The engine configuration for a replay of recorded files: they cannot say their instruments before they are read,
 * so instruments are registered on first sight unless the file says otherwise.
 */
export async function loadReplayConfig(path: string | undefined): Promise<Config> {
  return resolveConfig({ autoRegister: true, ...(await readConfigObject(path)) });
}

/**
 * An input file checked and its format decided, before any work: the given format, or the one its first lines show
 * (`auto`); a usage error names the file when neither is known. `detected` is what detection found (replay reads
 * `deribitListing` from it).
 */
export async function checkInput(path: string, format: InputFormat | 'auto'): Promise<{ format: InputFormat; bytes: number; detected: Awaited<ReturnType<typeof detectFileFormat>> }> {
  const bytes = await checkFile(path, 'input');
  const detected = await detectFileFormat(path);
  const chosen = format === 'auto' ? detected.format : format;
  if (chosen === undefined && detected.empty) throw new UsageError(`input ${path}: is empty (no line to read)`);
  if (chosen === undefined) {
    throw new UsageError(`input ${path}: cannot tell its format from its first lines (none of "<ns> {json}" (binance), ` +
      `"<time>: {jsonrpc}" (deribit), "{json}" (ndjson), a "timestamp,value" header (csv)); pass --format`);
  }
  return { format: chosen, bytes, detected };
}

/**
 * A file a command writes when its work is done (`--out`, `--report`), checked before the work: a name, in a
 * directory that exists and is writable, and not itself a directory. `example` is a file name for the messages.
 */
export async function checkOutputFile(path: string, option: string, example: string): Promise<void> {
  if (path === '') throw new UsageError(`${option} needs a file name, like ${option} ${example}`);
  const dir = dirname(resolve(path));
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new UsageError(`${option} ${path}: directory ${dir} does not exist`);
  if (!st.isDirectory()) throw new UsageError(`${option} ${path}: ${dir} is not a directory`);
  if ((await stat(path).catch(() => undefined))?.isDirectory()) throw new UsageError(`${option} ${path}: is a directory; give a file name, like ${join(path, example)}`);
  await access(dir, constants.W_OK).catch(() => { throw new UsageError(`${option} ${path}: directory ${dir} is not writable`); });
}
