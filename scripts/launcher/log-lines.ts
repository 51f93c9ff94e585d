const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLOURS = [36, 32, 33, 35, 34, 96, 92, 93, 95, 94];
// pino fields that the prefix and the time column already say.
const HIDDEN = new Set(['level', 'time', 'msg', 'service', 'name', 'pid', 'hostname']);

export interface Prefixer {
  /** `name | line`, the name padded to the longest and coloured on a terminal. */
  prefix(name: string, line: string): string;
}

export function createPrefixer(names: string[], colour: boolean): Prefixer {
  const width = Math.max(...names.map((n) => n.length));
  const codes = new Map(names.map((name, i) => [name, COLOURS[i % COLOURS.length]!]));
  return {
    prefix(name, line) {
      const label = name.padEnd(width);
      return `${colour ? `\x1b[${codes.get(name) ?? 37}m${label}\x1b[0m` : label} | ${line}`;
    },
  };
}

function value(v: unknown): string {
  return typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v);
}

/**
 * A pino JSON line as `12:00:00.000 INFO  message key=value …` (an error's
 * stack on the lines after); any other line as it is.
 */
export function readableLines(line: string): string[] {
  if (!line.startsWith('{')) return [line];
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return [line];
  }
  if (typeof record.level !== 'number' || typeof record.time !== 'number') return [line];
  const time = new Date(record.time).toISOString().slice(11, 23);
  const level = (LEVELS[record.level] ?? String(record.level)).padEnd(5);
  const { err, ...rest } = record as { err?: { type?: string; message?: string; stack?: string } };
  const fields = Object.entries(rest)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, v]) => `${key}=${value(v)}`);
  if (err) fields.push(`err=${value(`${err.type ?? 'Error'}: ${err.message ?? ''}`)}`);
  const head = [time, level, record.msg ?? '', ...fields].join(' ');
  const stack = err?.stack?.split('\n').slice(1) ?? [];
  return [...head.split('\n'), ...stack];
}
