import type { Logger } from '../log.ts';
import type { AgentMetrics } from '../metrics/metrics.ts';
import type { GraceEvent } from './coordinator.ts';

const MESSAGES: Record<GraceEvent['type'], string> = {
  orphaned: 'realise continues without a caller',
  rejoined: 'realise rejoined by a caller',
  completed: 'realise finished with no caller waiting',
  failed: 'realise failed with no caller waiting',
  expired: 'realise cancelled: no caller came back',
};

/** One grace-period event as a metric and a log line. */
export function recordGrace(event: GraceEvent, metrics: AgentMetrics, log: Logger, graceSeconds: number): void {
  metrics.realiseGraceEvents.inc({ event: event.type });
  metrics.realiseOrphaned.set(event.orphaned);
  const fields = { environment: event.job.environment, digest: event.job.digest, paths: event.job.storePaths.length, orphaned: event.orphaned };
  if (event.type === 'orphaned' || event.type === 'expired') log.info(MESSAGES[event.type], { ...fields, graceSeconds });
  else if (event.type === 'failed') log.warn(MESSAGES[event.type], fields);
  else log.info(MESSAGES[event.type], fields);
}
