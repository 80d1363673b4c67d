import { codeLabel } from './errors.ts';
import type { Logger } from './log.ts';
import type { AgentMetrics } from './metrics/metrics.ts';

/**
 * Work the agent does outside any request: timers, event handlers, server sockets. A failure
 * there has no caller to hand a coded error to, and an uncaught one would end the process (and
 * with it every pod's realise and patch service), so each is logged and counted instead.
 */
export type BackgroundTask =
  | 'lease-renewal'
  | 'lease-release'
  | 'gc'
  | 'prewarm'
  | 'pod-event'
  | 'patch-request'
  | 'realise-socket'
  | 'metrics-server'
  | 'unhandled-rejection';

export interface TaskErrorSink {
  metrics: Pick<AgentMetrics, 'errors' | 'taskErrors'>;
  log: Pick<Logger, 'error'>;
}

/** Logs one background failure with its code and counts it (`flox_agent_task_errors_total{task,code}`, `flox_agent_errors_total{code}`). */
export function reportTaskError(sink: TaskErrorSink, task: BackgroundTask, error: unknown, fields: Record<string, unknown> = {}): void {
  const code = codeLabel(error);
  try {
    sink.metrics.taskErrors.inc({ task, code });
    sink.metrics.errors.inc({ code });
    sink.log.error(`${task} failed`, { ...fields, task, code, error });
  } catch {
    // Reporting must never be what takes the process down.
  }
}

/** Runs `fn` (sync or async) for a timer or an event handler: a throw or a rejection is reported, never propagated. */
export function guarded(sink: TaskErrorSink, task: BackgroundTask, fn: () => unknown, fields?: Record<string, unknown>): void {
  try {
    const result = fn();
    if (result instanceof Promise) result.catch((error: unknown) => reportTaskError(sink, task, error, fields));
  } catch (error) {
    reportTaskError(sink, task, error, fields);
  }
}
