// The webhook's log: JSON lines on stdout (the container's log), one object per event.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** A JSON-lines log writing at `level` and above through `write` (default: stdout). */
export function jsonLog(level: LogLevel = 'info', write: (line: string) => void = (line) => process.stdout.write(line)): Log {
  return (at, msg, fields = {}) => {
    if (ORDER[at] < ORDER[level]) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level: at, msg };
    for (const [k, v] of Object.entries(fields)) record[k] = v instanceof Error ? { name: v.name, message: v.message, code: (v as { code?: unknown }).code } : v;
    write(`${JSON.stringify(record)}\n`);
  };
}
