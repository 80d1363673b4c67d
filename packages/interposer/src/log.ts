export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Where the interposer reports: structured lines (message + fields). The caller owns the
 * sink: the shim appends JSON lines to its log file (containerd reads the shim's
 * stdout), the node agent writes its own JSON log.
 */
export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}
