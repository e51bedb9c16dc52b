// Structured logs: one JSON object per line on stderr ({"level","time","msg",...fields}), so that stdout can carry
// alerts and a log shipper can parse every line. A level below the logger's threshold is a no-op.
export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFn = (msg: string, fields?: Record<string, unknown>) => void;
export interface Logger { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn }

const noop: LogFn = () => {};

export function createLogger(level: Level = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const make = (l: Exclude<Level, 'silent'>): LogFn => {
    if (RANK[l] < RANK[level]) return noop;
    return (msg, fields) => write(JSON.stringify({ level: l, time: new Date().toISOString(), msg, ...fields }, jsonSafe) + '\n');
  };
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') };
}

/** JSON.stringify replacer: bigints as strings, errors as their message. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}
