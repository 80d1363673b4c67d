// Issue 13 (4): kubelet gives a container start ~2 minutes (runtime-request-timeout), then
// retries. With a slow cache and no prefetch (no pod on the API server), the first StartContainer
// (where containerd runs `runc create`, so where the realise happens) fails on its deadline and
// the shim gives up its realise; the node agent keeps fetching for its grace period, the retry
// joins the running fetch, and every NAR is fetched exactly once. Both ways the shim reaches the
// agent: its patch service, and a Node per create realising through the agent's socket.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixFixtures, type NixFixtures } from '@flox-k8s/nix-fixtures';
import { STUB_IMAGE_NAME } from '@flox-k8s/oci-image';
import { containerConfig, containerLogPath, criClient, hostNetworkPod, readContainerLog, removePod, requireRoot, waitForContainer, type ContainerdVersion } from '@flox-k8s/cri-harness';
import { startFloxHost, type FloxHost, type Variant } from './flox-host.ts';

// The CRI deadline of the first attempt, and the shim's own (createTimeoutMs): both far shorter
// than the throttled fetch, as kubelet's 2 minutes are for a multi-GB closure on a slow link.
const CRI_DEADLINE_MS = 5_000;
const CREATE_TIMEOUT_MS = 7_000;
// The fixture's xz NARs (~900 kB) at 50 kB/s: ~18 s.
const NAR_BYTES_PER_SECOND = 50_000;

const variants = [
  { name: 'floxslowsvc', patchService: true, label: 'patch service' },
  { name: 'floxslowsock', patchService: false, label: 'Node per create, agent socket' },
] as const;

export function defineDeadlineSuite(version: ContainerdVersion): void {
  describe.skipIf(requireRoot())(`CRI deadline on containerd ${version}: the retry joins the agent's fetch`, () => {
    let fixtures: NixFixtures;
    let host: FloxHost;

    beforeAll(async () => {
      fixtures = await nixFixtures();
      host = await startFloxHost(
        version,
        variants.map((v) => ({
          name: v.name,
          agent: true,
          patchService: v.patchService,
          source: { environment: 'acme/slow', lockfile: fixtures.lockfile.bytes, cacheDir: fixtures.caches.xz, publicKey: fixtures.publicKey },
          serve: { narBytesPerSecond: NAR_BYTES_PER_SECOND },
          config: { createTimeoutMs: CREATE_TIMEOUT_MS },
          agentSettings: { realiseGraceSeconds: 600 },
        })),
      );
    }, 900_000);
    afterAll(async () => {
      await host?.stop();
    });

    for (const v of variants) {
      it(`${v.label}: the first start fails on its deadline, a later one succeeds, every NAR fetched once (no prefetch)`, async ({ annotate }) => {
        const variant = host.variants[v.name] as Variant;
        const agent = variant.agent as NonNullable<Variant['agent']>;
        const kubelet = host.cri;
        const deadlined = criClient(host.containerd.socket, { deadlineMs: CRI_DEADLINE_MS });
        const pod = await hostNetworkPod({ name: `slow-${v.name}`, logDirectory: join(variant.dir, 'pods', v.name), annotations: { 'flox.dev/environment': 'acme/slow' } });
        const podId = await kubelet.runPodSandbox(pod, v.name);
        try {
          const first = containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['hello-flox'] });
          const firstId = await kubelet.createContainer(podId, first, pod);
          const startedAt = performance.now();
          const failed = await deadlined.startContainer(firstId).then(
            () => undefined,
            (e: unknown) => e as { code?: string; grpcCode?: number; details?: string; message?: string },
          );
          const failedAfterMs = performance.now() - startedAt;
          deadlined.close();
          // The deadline travels with the call (grpc-timeout), and whichever side's timer fires first
          // ends it: the client (DEADLINE_EXCEEDED), containerd's handler (UNKNOWN: "… context
          // deadline exceeded"), or the gRPC server itself, which resets the stream on its deadline
          // (RST_STREAM CANCEL, seen as CANCELLED "Call cancelled"; containerd 2.1's grpc-go). Any of
          // them at the deadline, not before, and before the shim's own createTimeoutMs.
          expect(failed?.code).toBe('FLOXK8S_E2E_CRI_CALL');
          expect(`${failed?.grpcCode} ${failed?.details ?? failed?.message}`).toMatch(/^(4 |2 .*deadline exceeded|1 Call cancelled$)/i);
          expect(failedAfterMs).toBeGreaterThanOrEqual(CRI_DEADLINE_MS - 250);
          expect(failedAfterMs).toBeLessThan(CREATE_TIMEOUT_MS);
          // The shim gave up its realise mid-fetch (its createTimeoutMs): its socket request ended.
          await until('the shim to leave its realise', () => agent.log.some((l) => l['msg'] === 'socket realise' && l['outcome'] === 'cancelled'), 60_000);
          const narsWhenLeft = variant.cache.count(/^\/nar\//);
          expect(narsWhenLeft).toBeGreaterThan(0);

          // kubelet's retries: a new attempt of the container each time, until one starts. Each
          // joins the fetch the agent kept going (an attempt that again outlives the shim's
          // createTimeoutMs leaves it running once more).
          let started: { attempt: number; config: ReturnType<typeof containerConfig>; id: string } | undefined;
          const failures: string[] = [];
          for (let attempt = 1; started === undefined && attempt <= 10; attempt++) {
            const config = { ...containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['hello-flox'], logPath: `app-${attempt}.log` }), metadata: { name: 'app', attempt } };
            const id = await kubelet.createContainer(podId, config, pod);
            await kubelet.startContainer(id).then(
              () => (started = { attempt, config, id }),
              (e: unknown) => failures.push(String((e as { details?: string }).details)),
            );
          }
          expect(started, failures.join('\n')).toBeDefined();
          for (const f of failures) expect(f).toMatch(/FLOXK8S_CREATE_TIMEOUT|FLOXK8S_AGENT_PROTOCOL: realise via node agent aborted/);
          const ok = started as NonNullable<typeof started>;
          expect((await waitForContainer(kubelet, ok.id, { timeoutMs: 60_000 })).exit_code).toBe(0);
          expect((await readContainerLog(containerLogPath(pod, ok.config))).stdout.toString()).toMatch(/hello/i);

          // Every NAR of the closure fetched exactly once, at the server.
          const perNar = new Map<string, number>();
          for (const r of variant.cache.requests) if (r.path.startsWith('/nar/')) perNar.set(r.path, (perNar.get(r.path) ?? 0) + 1);
          expect(perNar.size).toBe(fixtures.closure.length);
          expect([...perNar.values()].every((n) => n === 1)).toBe(true);
          void annotate(
            `first StartContainer failed after ${Math.round(failedAfterMs)} ms (${failed?.grpcCode} ${failed?.details ?? ''}); ${narsWhenLeft} NAR requests when the shim left; ` +
              `${failures.length} retries failed, attempt ${ok.attempt} started; cache NAR requests ${variant.cache.count(/^\/nar\//)} for ${perNar.size} NARs (closure ${fixtures.closure.length})`,
          );
          const metrics = await agent.metrics();
          // Orphaned once per attempt that gave up, rejoined by each next attempt.
          expect(metrics).toContain(`flox_agent_realise_grace_events_total{event="orphaned"} ${failures.length + 1}\n`);
          expect(metrics).toContain(`flox_agent_realise_grace_events_total{event="rejoined"} ${failures.length + 1}\n`);
          expect(metrics).not.toMatch(/flox_agent_realise_grace_events_total\{event="expired"\}/);
        } finally {
          deadlined.close();
          await removePod(kubelet, podId);
        }
      }, 600_000);
    }
  });
}

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
