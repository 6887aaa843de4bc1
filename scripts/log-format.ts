/** Turns the services' JSON log lines into one readable line each, prefixed by service. */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m'];
const RESET = '\x1b[0m';
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg', 'reqId']);

export function createLineFormatter(names: string[], { color = process.stdout.isTTY } = {}) {
  const width = Math.max(...names.map((name) => name.length));
  return (name: string, line: string): string => {
    const tint = color ? (COLORS[names.indexOf(name) % COLORS.length] ?? '') : '';
    const prefix = `${tint}[${name.padEnd(width)}]${color ? RESET : ''}`;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return `${prefix} ${line}`;
    }
    if (typeof entry !== 'object' || entry === null || !('level' in entry)) return `${prefix} ${line}`;
    const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
    const level = LEVELS[entry.level as number] ?? String(entry.level);
    // An error reads as its message; only an error or fatal entry shows where it came from, below.
    const error = errorOf(entry.err);
    const extra = Object.entries(entry)
      .filter(([key]) => !SKIP.has(key))
      .map(
        ([key, value]) =>
          `${key}=${key === 'err' && error ? JSON.stringify(error.message) : typeof value === 'string' ? value : JSON.stringify(value)}`,
      )
      .join(' ');
    const stack =
      error?.stack && (entry.level as number) >= 50
        ? `\n${error.stack
            .split('\n')
            .slice(1)
            .map((frame) => `${prefix}     ${frame.trim()}`)
            .join('\n')}`
        : '';
    return `${prefix} ${time} ${level} ${typeof entry.msg === 'string' ? entry.msg : ''}${extra ? ` ${extra}` : ''}${stack}`;
  };
}

function errorOf(value: unknown): { message: string; stack?: string } | undefined {
  if (typeof value !== 'object' || value === null || typeof (value as { message?: unknown }).message !== 'string') return undefined;
  const { message, stack } = value as { message: string; stack?: unknown };
  return { message, stack: typeof stack === 'string' ? stack : undefined };
}
