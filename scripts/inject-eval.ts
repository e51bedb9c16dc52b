// Injected anomalies on real captures: per channel (feature.detector), its detection rate per anomaly type and its
// false alarms per hour (docs/eval.md, "Injected anomalies on real captures"; the harness is src/eval/inject-eval.ts).
//
//   npm run eval:inject [-- --config FILE] [--captures GLOB|LIST] [--per N] [--seed S] [--delay-ms D]
//                          [--sweep CHANNEL=T1,T2,...]... [--index-from spot|FILE] [--json] [--out FILE]
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../src/config.js';
import { DEFAULT_DELAY_MS, DEFAULT_PER, DEFAULT_SEED, formatInjectTable, injectEval, type SweepSpec } from '../src/eval/inject-eval.js';
import { ANOMALY_TYPES } from '../src/eval/inject.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, basename(resolve(here, '..')) === 'dist' ? '../..' : '..');

export const HELP = `Usage: npm run eval:inject -- [--config FILE] [--captures GLOB|LIST] [--per N] [--seed S]
                                [--delay-ms D] [--sweep CHANNEL=T1,T2,...]... [--index-from spot|FILE]
                                [--json] [--out FILE]

Injects known anomalies into normal Binance captures, one per copy of a capture, and reports for every channel
(feature.detector) the configuration enables, or that alerted, its detection rate per anomaly type (an alert on
the anomaly's instrument within the detection window) and its false alarms per hour on the untouched captures.

Options:
  --config FILE    engine configuration (JSON, merged over the defaults; docs/configuration.md)
  --captures X     capture files: a comma-separated list, or a glob in the file name (dir/*.gz); default every
                   .gz in ../shared/data/binance (normal market captures: no known event inside)
  --per N          placements per anomaly type per capture (default ${DEFAULT_PER})
  --seed S         seed of the placements and of the anomalies' directions (default ${DEFAULT_SEED})
  --delay-ms D     detection window after an anomaly's start, ms (default ${DEFAULT_DELAY_MS})
  --sweep C=T,...  rerun the same placements with channel C's threshold at each value (its mode kept) and print
                   its detection rate per type and false alarms per hour per threshold (e.g. vector.hst=5,6,7,8);
                   repeatable, one channel each; C must be enabled by the configuration
  --index-from X   an index for the perpetuals: X is "spot" (the capture of --captures whose name starts with
                   spot-) or a capture file. Each other capture gets a mark event a second for its busiest
                   instrument, f1 (index) the mid of X's busiest instrument at that time, f0 (mark) the
                   instrument's own mid (a proxy); the fair-value anomaly (fairValueDrift) needs it
  --json           print the report as JSON instead of the table
  --out FILE       where the JSON report goes (default bench/results/inject-eval.json)
  -h, --help       this help

Anomaly types: ${ANOMALY_TYPES.map((t) => t.name).join(', ')}.
`;

class UsageError extends Error {}

/** A list (a,b,c), or a glob with * and ? in the file name (not in the directories). */
export function expandCaptures(spec: string): string[] {
  const out: string[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const name = basename(part);
    if (!/[*?]/.test(name)) {
      if (!existsSync(part) || !statSync(part).isFile()) throw new UsageError(`--captures: ${part} is not a file`);
      out.push(part);
      continue;
    }
    const dir = dirname(part);
    if (/[*?]/.test(dir)) throw new UsageError(`--captures: wildcards only in the file name, not in ${dir}`);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--captures: ${dir} is not a directory`);
    const re = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    const found = readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f));
    if (found.length === 0) throw new UsageError(`--captures: ${part} matches no file`);
    out.push(...found);
  }
  if (out.length === 0) throw new UsageError('--captures: no file given');
  return out;
}

/** "vector.hst=5,6,7,8": a channel and its thresholds (numbers > 0). */
export function parseSweep(spec: string): SweepSpec {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new UsageError(`--sweep ${JSON.stringify(spec)}: must be CHANNEL=T1,T2,... (like vector.hst=5,6,7,8)`);
  const channel = spec.slice(0, eq).trim();
  const values = spec.slice(eq + 1).split(',').map((x) => x.trim());
  const nums = values.map(Number);
  const bad = values.findIndex((x, k) => x === '' || !(Number.isFinite(nums[k]) && nums[k] > 0));
  if (bad >= 0) throw new UsageError(`--sweep ${channel}: threshold ${JSON.stringify(values[bad])} is not a number > 0`);
  return { channel, values: nums };
}

function integer(name: string, v: string | undefined, def: number, lo: number, hi: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!(v.trim() !== '' && Number.isInteger(n) && n >= lo && n <= hi)) throw new UsageError(`--${name} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        config: { type: 'string' }, captures: { type: 'string' }, per: { type: 'string' }, seed: { type: 'string' },
        'delay-ms': { type: 'string' }, json: { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
        sweep: { type: 'string', multiple: true }, 'index-from': { type: 'string' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) { process.stdout.write(HELP); return 0; }
  const per = integer('per', v.per, DEFAULT_PER, 1, 1000);
  const seed = integer('seed', v.seed, DEFAULT_SEED, 0, 0xffffffff);
  let delayMs = DEFAULT_DELAY_MS;
  if (v['delay-ms'] !== undefined) {
    delayMs = Number(v['delay-ms']);
    if (!(v['delay-ms'].trim() !== '' && Number.isFinite(delayMs) && delayMs > 0 && delayMs <= 600_000)) {
      throw new UsageError(`--delay-ms must be a number of milliseconds in (0, 600000], got ${JSON.stringify(v['delay-ms'])}`);
    }
  }
  const captures = expandCaptures(v.captures ?? join(root, '../shared/data/binance/*.gz'));
  let config: Record<string, unknown> = {};
  if (v.config !== undefined) {
    let text: string;
    try { text = readFileSync(v.config, 'utf8'); } catch (e) { throw new UsageError(`--config ${v.config}: ${(e as Error).message}`); }
    let json: unknown;
    try { json = JSON.parse(text); } catch (e) { throw new UsageError(`--config ${v.config}: not JSON: ${(e as Error).message}`); }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`--config ${v.config}: must be a JSON object`);
    config = json as Record<string, unknown>;
  }
  const sweeps = (v.sweep ?? []).map(parseSweep);
  let indexFrom: string | undefined;
  if (v['index-from'] !== undefined) {
    if (v['index-from'] === 'spot') {
      const spot = captures.filter((c) => basename(c).startsWith('spot-'));
      if (spot.length !== 1) throw new UsageError(`--index-from spot: needs exactly one capture named spot-* among --captures, found ${spot.length}`);
      indexFrom = spot[0];
    } else {
      if (!existsSync(v['index-from']) || !statSync(v['index-from']).isFile()) throw new UsageError(`--index-from ${v['index-from']}: not "spot" and not a file`);
      indexFrom = v['index-from'];
    }
  }
  const out = v.out ?? join(root, 'bench/results/inject-eval.json');
  if (out === '' || (existsSync(out) && statSync(out).isDirectory())) throw new UsageError(`--out ${JSON.stringify(out)}: needs a file name`);
  if (!existsSync(dirname(resolve(out)))) mkdirSync(dirname(resolve(out)), { recursive: true });

  const report = await injectEval({ captures, config, per, seed, delayMs, sweeps, indexFrom, log: (line) => process.stderr.write(`${line}\n`) });
  if (v.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(formatInjectTable(report));
  writeFileSync(out, `${JSON.stringify({ generated: new Date().toISOString(), ...report }, null, 2)}\n`);
  process.stderr.write(`eval:inject: ${captures.length} captures, ${report.instrumentHours.toFixed(3)} instrument-hours, ` +
    `${(report.runtimeMs / 1000).toFixed(1)} s; wrote ${out}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    if (e instanceof UsageError || e instanceof ConfigError) { process.stderr.write(`eval:inject: ${e.message}\n`); process.exit(2); }
    process.stderr.write(`eval:inject: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
