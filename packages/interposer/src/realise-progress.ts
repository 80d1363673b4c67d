import type { Logger } from './log.ts';

/** Running totals of a realise (`@flox-k8s/store`'s RealiseTotals; the agent sends the same). */
export interface ProgressTotals {
  pathsDone: number;
  pathsTotal: number;
  narBytesDone: number;
  narBytesTotal: number;
}

/** Log lines at most this often while a cold start fetches (the shim's log; `pnpm demo` shows them). */
export const PROGRESS_LOG_INTERVAL_MS = 1000;

/**
 * A `realise progress` log line for a long cold start: the first totals at once, then at most
 * one line per interval, and the last totals when the realise ends (`done()`).
 */
export function progressLogger(log: Logger, via: 'agent' | 'in-process'): { report(totals: ProgressTotals): void; done(): void } {
  let last: ProgressTotals | undefined;
  let logged: ProgressTotals | undefined;
  let loggedAt = -Infinity;
  const write = (totals: ProgressTotals): void => {
    logged = totals;
    loggedAt = performance.now();
    log.log('info', 'realise progress', { via, ...totals });
  };
  return {
    report(totals) {
      last = totals;
      if (totals.pathsTotal > 0 && performance.now() - loggedAt >= PROGRESS_LOG_INTERVAL_MS) write(totals);
    },
    done() {
      if (last !== undefined && last.pathsTotal > 0 && last !== logged) write(last);
    },
  };
}
