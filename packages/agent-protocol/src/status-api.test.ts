import { describe, expect, it } from 'vitest';
import { nodeStatusSchema, type NodeStatus } from './index.ts';

const status = (): NodeStatus => ({
  apiVersion: 'flox.dev/v1alpha1',
  kind: 'NodeStatus',
  node: 'node-a',
  system: 'x86_64-linux',
  agent: { version: '0.0.0', startedAt: '2026-12-03T13:00:00.000Z', ready: true, checks: [{ name: 'watch', ok: true }] },
  store: { root: '/var/lib/flox-k8s', paths: 7, narBytes: 2_600_000, disk: { totalBytes: 100_000_000_000, usedBytes: 45_000_000_000 } },
  gc: {
    intervalSeconds: 300,
    highWatermark: 0.85,
    lowWatermark: 0.7,
    passes: 2,
    last: { startedAt: '2026-12-03T13:05:00.000Z', finishedAt: '2026-12-03T13:05:00.020Z', outcome: 'error', freedBytes: 0, deletedPaths: 0, code: 'FLOXK8S_STORE_GC_ROOT_UNREADABLE', message: 'a lease cannot be read' },
    lastCollection: { startedAt: '2026-12-03T13:00:00.000Z', finishedAt: '2026-12-03T13:00:01.000Z', outcome: 'collected', freedBytes: 1_200_000, deletedPaths: 12, storeBytes: 3_800_000 },
  },
});

describe('nodeStatusSchema', () => {
  it('accepts a status with an error pass and an earlier collection, and one before any GC pass', () => {
    expect(nodeStatusSchema.parse(status())).toEqual(status());
    const fresh = status();
    fresh.gc = { intervalSeconds: 300, highWatermark: 0.85, lowWatermark: 0.7, passes: 0 };
    delete fresh.store.disk;
    expect(nodeStatusSchema.safeParse(fresh).success).toBe(true);
  });

  it.each<[string, (s: NodeStatus) => void]>([
    ['another kind', (s) => void (s.kind = 'NodeEnvironments' as never)],
    ['a negative path count', (s) => void (s.store.paths = -1)],
    ['a fractional byte count', (s) => void (s.store.narBytes = 1.5)],
    ['a watermark over 1', (s) => void (s.gc.highWatermark = 85)],
    ['an outcome outside the protocol', (s) => void (s.gc.last!.outcome = 'maybe' as never)],
    ['a time that is not ISO 8601', (s) => void (s.gc.last!.startedAt = 'yesterday')],
    ['a missing agent version', (s) => void delete (s.agent as Partial<NodeStatus['agent']>).version],
  ])('rejects %s', (_what, spoil) => {
    const s = status();
    spoil(s);
    expect(nodeStatusSchema.safeParse(s).success).toBe(false);
  });
});
