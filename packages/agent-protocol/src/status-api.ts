// The node agent's status, served on its HTTP port beside /environments and read through
// the API server's pod proxy (`flox-k8s status`):
//
//   GET /status → 200 NodeStatus (JSON): the agent (version, readiness), its store (paths,
//                 NAR bytes, the file system), its GC (settings, the last pass, the last
//                 pass that collected)
import { z } from 'zod';

/** Path of the status document. */
export const STATUS_PATH = '/status';

/** What one GC pass did. */
export interface GcPassReport {
  /** ISO 8601, UTC. */
  startedAt: string;
  finishedAt: string;
  /** `collected`: the disk was over the high watermark and paths were deleted (maybe none); `skipped`: it was not; `error`: the pass failed (`code`). */
  outcome: 'collected' | 'skipped' | 'error';
  /** NarSize of the deleted paths (0 unless collected). */
  freedBytes: number;
  deletedPaths: number;
  /** NAR bytes the store held when the pass measured it (absent when it failed before). */
  storeBytes?: number | undefined;
  /** The store's file system when the pass measured it. */
  disk?: FileSystemUsage | undefined;
  /** The error's code and message, for `error`. */
  code?: string | undefined;
  message?: string | undefined;
}

export interface FileSystemUsage {
  totalBytes: number;
  usedBytes: number;
}

/** Body of `GET /status`. */
export interface NodeStatus {
  apiVersion: 'flox.dev/v1alpha1';
  kind: 'NodeStatus';
  node: string;
  system: string;
  agent: {
    version: string;
    /** When this agent process started (ISO 8601). */
    startedAt: string;
    /** `/readyz`: every check passes. */
    ready: boolean;
    checks: Array<{ name: string; ok: boolean }>;
  };
  store: {
    /** The store's host directory. */
    root: string;
    /** Valid paths now. */
    paths: number;
    /** Their NarSize sum now (what GC's watermarks count). */
    narBytes: number;
    /** The store's file system now (absent when it cannot be measured). */
    disk?: FileSystemUsage | undefined;
  };
  gc: {
    intervalSeconds: number;
    /** Fractions of the file system: collect above `highWatermark`, down to `lowWatermark`. */
    highWatermark: number;
    lowWatermark: number;
    /** Passes since the agent started. */
    passes: number;
    /** The latest pass (absent before the first one ends). */
    last?: GcPassReport | undefined;
    /** The latest pass that collected. */
    lastCollection?: GcPassReport | undefined;
  };
}

const bytes = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const time = z.iso.datetime();
const fraction = z.number().min(0).max(1);
const disk = z.object({ totalBytes: bytes, usedBytes: bytes });
const gcPass = z.object({
  startedAt: time,
  finishedAt: time,
  outcome: z.enum(['collected', 'skipped', 'error']),
  freedBytes: bytes,
  deletedPaths: bytes,
  storeBytes: bytes.optional(),
  disk: disk.optional(),
  code: z.string().max(128).optional(),
  message: z.string().max(4096).optional(),
});

/** Validates a {@link NodeStatus} (an agent's answer is outside input to whoever reads it). */
export const nodeStatusSchema: z.ZodType<NodeStatus> = z.object({
  apiVersion: z.literal('flox.dev/v1alpha1'),
  kind: z.literal('NodeStatus'),
  node: z.string().min(1).max(253),
  system: z.string().min(1).max(64),
  agent: z.object({
    version: z.string().min(1).max(64),
    startedAt: time,
    ready: z.boolean(),
    checks: z.array(z.object({ name: z.string().min(1).max(64), ok: z.boolean() })).max(64),
  }),
  store: z.object({ root: z.string().min(1).max(4096), paths: bytes, narBytes: bytes, disk: disk.optional() }),
  gc: z.object({
    intervalSeconds: z.number().int().positive(),
    highWatermark: fraction,
    lowWatermark: fraction,
    passes: bytes,
    last: gcPass.optional(),
    lastCollection: gcPass.optional(),
  }),
});
