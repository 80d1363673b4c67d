import { statfs } from 'node:fs/promises';
import type { GcPassReport } from '@flox-k8s/agent-protocol';
import type { GcResult, Store } from '@flox-k8s/store';
import { reportTaskError } from '../background.ts';
import { codeLabel } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AgentMetrics } from '../metrics/metrics.ts';

export interface DiskUsage {
  totalBytes: number;
  usedBytes: number;
}

export async function diskUsage(path: string): Promise<DiskUsage> {
  const s = await statfs(path);
  const total = s.blocks * s.bsize;
  return { totalBytes: total, usedBytes: total - s.bavail * s.bsize };
}

/**
 * Turn disk watermarks (fractions of the store's file system) into the store's byte watermarks:
 * collect only when the disk is fuller than `high`, and free enough store bytes to get back to `low`.
 */
export function storeTarget(disk: DiskUsage, storeBytes: number, high: number, low: number): { collect: boolean; lowWatermarkBytes: number } {
  const collect = disk.usedBytes > high * disk.totalBytes;
  const excess = disk.usedBytes - low * disk.totalBytes;
  return { collect, lowWatermarkBytes: Math.max(0, Math.floor(storeBytes - excess)) };
}

export interface GcLoopOptions {
  store: Pick<Store, 'gc' | 'root'>;
  intervalMs: number;
  highWatermark: number;
  lowWatermark: number;
  /** Where the host's `/` is seen from here (container roots name runc's state on the host; default `/`). */
  hostRoot?: string;
  metrics: AgentMetrics;
  log: Logger;
  /** Disk usage source (default statfs of the store root). */
  usage?: () => Promise<DiskUsage>;
  /** Told what each pass did (GET /status reports the last ones). */
  onPass?: (pass: GcPassReport) => void;
}

/** One GC pass: measure, collect if above the high watermark, report. */
export async function gcOnce(options: GcLoopOptions): Promise<GcResult | undefined> {
  const { store, metrics, log } = options;
  const startedAt = new Date().toISOString();
  const report = (pass: Omit<GcPassReport, 'startedAt' | 'finishedAt'>): void => options.onPass?.({ startedAt, finishedAt: new Date().toISOString(), ...pass });
  let storeBytes: number | undefined;
  let disk: DiskUsage | undefined;
  try {
    const hostRoot = options.hostRoot ?? '/';
    const probe = await store.gc({ dryRun: true, highWatermark: Number.MAX_SAFE_INTEGER, hostRoot });
    storeBytes = probe.storeBytes;
    metrics.storeBytes.set(probe.storeBytes);
    recordContainerRoots(probe, metrics, log);
    disk = await (options.usage ?? (() => diskUsage(store.root)))();
    const target = storeTarget(disk, probe.storeBytes, options.highWatermark, options.lowWatermark);
    if (!target.collect) {
      metrics.gcRuns.inc({ result: 'skipped' });
      report({ outcome: 'skipped', freedBytes: 0, deletedPaths: 0, storeBytes, disk });
      return undefined;
    }
    const result = await store.gc({ highWatermark: target.lowWatermarkBytes, lowWatermark: target.lowWatermarkBytes, hostRoot });
    recordContainerRoots(result, metrics, log);
    metrics.gcFreedBytes.inc(result.freedBytes);
    metrics.storeBytes.set(result.storeBytes - result.freedBytes);
    metrics.gcRuns.inc({ result: 'collected' });
    log.info('gc', {
      freedBytes: result.freedBytes,
      deleted: result.deleted.length,
      storeBytes: result.storeBytes,
      diskUsed: disk.usedBytes,
      diskTotal: disk.totalBytes,
      containerRoots: result.containerRoots.live,
    });
    report({ outcome: 'collected', freedBytes: result.freedBytes, deletedPaths: result.deleted.length, storeBytes: result.storeBytes, disk });
    return result;
  } catch (error) {
    // Nothing is deleted when GC stops on an error (an unreadable root fails closed): count it by code.
    metrics.gcRuns.inc({ result: 'error' });
    metrics.gcFailures.inc({ code: codeLabel(error) });
    reportTaskError({ metrics, log }, 'gc', error);
    report({ outcome: 'error', freedBytes: 0, deletedPaths: 0, storeBytes, disk, code: codeLabel(error), message: String((error as Error).message).slice(0, 1000) });
    return undefined;
  }
}

/** Running containers whose roots held, and roots of deleted containers released (each GC pass reads them). */
function recordContainerRoots(result: GcResult, metrics: AgentMetrics, log: Logger): void {
  metrics.containerRoots.set(result.containerRoots.live);
  if (result.containerRoots.released === 0) return;
  metrics.containerRootsReleased.inc(result.containerRoots.released);
  log.info('container roots released', { released: result.containerRoots.released, live: result.containerRoots.live });
}

/** Run `gcOnce` every interval; passes never overlap. */
export function startGcLoop(options: GcLoopOptions): { stop(): Promise<void> } {
  // A first pass right away fills the store-bytes gauge and catches a disk already over the mark.
  let running: Promise<unknown> = gcOnce(options);
  const timer = setInterval(() => {
    running = running.then(() => gcOnce(options));
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
