// `flox-k8s doctor` on a node before and after the node agent installs the flox runtime: a real
// containerd of one generation on its stock config, the agent's real installer and HTTP
// endpoints, the staged shim layout, and the bundled CLI run as a child process.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, type Check, type DoctorJson } from '@flox-k8s/cli';
import { requireRoot, type ContainerdVersion } from '@flox-k8s/cri-harness';
import { memoryLogger, type RunningAgent } from '@flox-k8s/node-agent';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { startAgentHost, startHostAgent, type AgentHost } from '../node-agent/host.ts';

const run = promisify(execFile);

export function defineDoctorSuite(version: ContainerdVersion): void {
  describe.skipIf(requireRoot())(`flox-k8s doctor on containerd ${version}`, () => {
    let host: AgentHost;
    let apiserver: FakeApiserver | undefined;
    let agent: RunningAgent | undefined;
    let cliDir: string;
    let cli: string;
    let args: string[];

    async function doctor(extra: string[]): Promise<{ code: number; json: DoctorJson; stderr: string }> {
      try {
        const { stdout, stderr } = await run(process.execPath, [cli, 'doctor', ...args, ...extra, '--output', 'json'], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
        return { code: 0, json: JSON.parse(stdout) as DoctorJson, stderr };
      } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string };
        return { code: failed.code, json: JSON.parse(failed.stdout) as DoctorJson, stderr: failed.stderr };
      }
    }
    const status = (json: DoctorJson): Record<string, string> => Object.fromEntries(json.checks.map((c: Check) => [c.id, c.status]));

    beforeAll(async () => {
      cliDir = await mkdtemp(join(tmpdir(), 'flox-e2e-cli-'));
      cli = await bundleCli(join(cliDir, 'bundle'));
      host = await startAgentHost({ version });
      args = [
        '--containerd', host.containerd.binaries.containerd,
        '--containerd-config', host.containerd.paths.config,
        // containerd's PATH in the harness: its own bin dir, then the dir the installer links the shim into.
        '--containerd-path', `${host.containerd.binaries.binDir}:${host.installOptions.shimLinkDir}:${process.env['PATH'] ?? ''}`,
        '--agent-socket', join(host.dir, 'run', 'agent.sock'),
      ];
    }, 600_000);
    afterAll(async () => {
      await agent?.stop();
      await apiserver?.close();
      await host?.stop();
      await rm(cliDir, { recursive: true, force: true });
    });

    it('before install: containerd and its config are fine, the runtime is missing, the agent is not there (exit 1)', async () => {
      const { code, json } = await doctor(['--agent-url', 'http://127.0.0.1:9']);
      expect(code).toBe(1);
      expect(status(json)).toEqual({
        'containerd.version': 'ok',
        'containerd.config': 'ok',
        'runtime.entry': 'problem',
        'runtime.type': 'skipped',
        'runtime.annotations': 'skipped',
        'runtime.systemd-cgroup': 'skipped',
        'shim.layout': 'skipped',
        'agent.socket': 'warning',
        'agent.health': 'problem',
      });
      expect(json.checks.find((c) => c.id === 'containerd.version')?.summary).toContain(`containerd ${version}.`);
    });

    it('after the node agent installed the runtime: every check is ok, the agent alive and ready (exit 0)', async () => {
      apiserver = await startFakeApiserver();
      apiserver.addNode('node-1');
      agent = await startHostAgent(host, apiserver.url, { caches: [{ url: 'http://127.0.0.1:9' }] }, memoryLogger());
      const readyz = `${agent.observability.url}/readyz`;
      const deadline = Date.now() + 30_000;
      while ((await fetch(readyz).then((r) => r.status, () => 0)) !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));

      const { code, json, stderr } = await doctor(['--agent-url', agent.observability.url]);
      expect(json.checks.filter((c) => c.status !== 'ok')).toEqual([]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      const byId = (id: string): Check | undefined => json.checks.find((c) => c.id === id);
      expect(byId('runtime.entry')?.summary).toContain('added by the node agent');
      expect(byId('runtime.type')?.summary).toContain(version === '1.6' ? 'io.containerd.flox.v2' : 'runtime_path');
      expect(byId('shim.layout')?.summary).toContain(join(host.installOptions.installDir, 'shim', 'bin', 'containerd-shim-flox-v2'));
      expect(byId('agent.health')?.summary).toBe(`the agent at ${agent.observability.url} is alive and ready`);
    });
  });
}
