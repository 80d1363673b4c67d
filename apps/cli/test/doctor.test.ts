import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addRuntime } from '@flox-k8s/containerd-config';
import { requireRoot, startContainerd, type ContainerdHandle } from '@flox-k8s/cri-harness';
import type { Check, DoctorJson } from '../src/index.ts';
import { removeBundle, runCli, writeConfig } from './run-cli.ts';

// A real containerd 1.6 (Debian's) started on its own stock config: its `--version` line and
// `config default` are what doctor reads on a fresh node. The installed runtime, a real shim
// layout and a real agent are e2e's (e2e/src/cli/), where the node agent can be imported.
let containerd: ContainerdHandle;
let stock: string;
let dir: string;
let config: string;
const flox = { name: 'flox', annotations: ['flox.dev/*'] };

async function doctor(configText: string | undefined, extra: string[] = []): Promise<{ code: number | null; json: DoctorJson; stderr: string; byId: (id: string) => Check }> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.toml`);
  if (configText !== undefined) await writeFile(file, configText);
  const run = await runCli(
    ['doctor', '--containerd', containerd.binaries.containerd, '--containerd-config', file, '--containerd-path', '/nonexistent', '--no-agent', ...extra, '-o', 'json'],
    { config },
  );
  const json = run.json<DoctorJson>();
  return { code: run.code, json, stderr: run.stderr, byId: (id) => json.checks.find((c) => c.id === id) as Check };
}

describe.skipIf(requireRoot())('doctor against a real containerd 1.6 and its stock config', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flox-cli-doctor-'));
    config = await writeConfig(dir);
    containerd = await startContainerd({ version: '1.6', config: 'stock', importTestImages: false });
    stock = await readFile(containerd.paths.config, 'utf8');
  }, 300_000);
  afterAll(async () => {
    await containerd?.stop();
    await removeBundle();
    await rm(dir, { recursive: true, force: true });
  });

  it('on the stock config: reads the version and config, reports the missing runtime with the block to add, exit 1', async () => {
    const { code, json, stderr, byId } = await doctor(stock);
    expect(code).toBe(1);
    expect(byId('containerd.version')).toMatchObject({ status: 'ok', summary: expect.stringMatching(/^containerd 1\.6\.\d+ at .*: config version 2; /) });
    expect(byId('containerd.config')).toMatchObject({ status: 'ok' });
    expect(byId('runtime.entry')).toMatchObject({ status: 'problem', code: 'FLOXK8S_DOCTOR_RUNTIME_MISSING', next: expect.stringContaining('runtime_type = "io.containerd.flox.v2"') });
    expect(json).toMatchObject({ ok: false, problems: 1 });
    expect(JSON.parse(stderr)).toEqual({ error: { code: 'FLOXK8S_CLI_DOCTOR_PROBLEMS', message: '1 problem: runtime.entry (FLOXK8S_DOCTOR_RUNTIME_MISSING)' } });

    const human = await runCli(['doctor', '--containerd', containerd.binaries.containerd, '--containerd-config', containerd.paths.config, '--no-agent'], { config });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^ok {7}containerd\.version: containerd 1\.6\./);
    expect(human.stdout).toContain('PROBLEM  runtime.entry: no runtime "flox"');
    expect(human.stdout).toContain('               runtime_type = "io.containerd.flox.v2"');
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe('1 problem, 0 warnings');
    expect(human.stderr).toBe('flox-k8s: error FLOXK8S_CLI_DOCTOR_PROBLEMS: 1 problem: runtime.entry (FLOXK8S_DOCTOR_RUNTIME_MISSING)\n');
  });

  it('accepts the installer\'s block, then looks for the shim on containerd\'s PATH', async () => {
    const { byId, json } = await doctor(addRuntime(stock, 'config.toml', 2, flox).text);
    for (const id of ['runtime.entry', 'runtime.type', 'runtime.annotations', 'runtime.systemd-cgroup']) expect(byId(id).status, id).toBe('ok');
    expect(byId('runtime.entry').summary).toContain('added by the node agent');
    expect(byId('shim.layout')).toMatchObject({ status: 'problem', code: 'FLOXK8S_DOCTOR_SHIM_MISSING' });
    expect(json.problems).toBe(1);
  });

  it('names each misconfiguration with its own code', async () => {
    const runtimePath = await doctor(addRuntime(stock, 'config.toml', 2, { ...flox, runtimePath: '/opt/flox-k8s/shim/bin/containerd-shim-flox-v2', systemdCgroup: false }).text);
    expect(runtimePath.byId('runtime.type')).toMatchObject({ status: 'problem', code: 'FLOXK8S_DOCTOR_RUNTIME_PATH_IGNORED' });

    const podOnly = `${stock}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.flox]\n  runtime_type = "io.containerd.flox.v2"\n  pod_annotations = ["flox.dev/*"]\n`;
    const annotations = await doctor(podOnly);
    expect(annotations.byId('runtime.entry').summary).toContain('written by hand');
    expect(annotations.byId('runtime.annotations')).toMatchObject({ status: 'problem', code: 'FLOXK8S_DOCTOR_ANNOTATIONS', summary: expect.stringMatching(/^container_annotations does not pass flox\.dev\/environment/) });

    expect(stock).toContain('SystemdCgroup = false');
    const systemd = await doctor(addRuntime(stock.replace('SystemdCgroup = false', 'SystemdCgroup = true'), 'config.toml', 2, flox).text);
    expect(systemd.byId('runtime.systemd-cgroup')).toMatchObject({ status: 'problem', code: 'FLOXK8S_DOCTOR_SYSTEMD_CGROUP', next: expect.stringContaining('gets no runc options') });

    await mkdir(join(dir, 'conf.d'), { recursive: true });
    await writeFile(join(dir, 'conf.d', '10-cri.toml'), 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n');
    const imported = addRuntime(stock.replace(/^imports = \[\]$/m, `imports = ["${dir}/conf.d/*.toml"]`), 'config.toml', 2, flox).text;
    const shadowed = await doctor(imported);
    expect(shadowed.byId('runtime.entry')).toMatchObject({ status: 'problem', code: 'FLOXK8S_DOCTOR_RUNTIME_SHADOWED', summary: expect.stringContaining(join(dir, 'conf.d', '10-cri.toml')) });
    expect(shadowed.byId('containerd.config').details).toEqual([`imports, in load order: ${join(dir, 'conf.d', '10-cri.toml')}`]);

    const invalid = await doctor(`${stock}\n[plugins\n`);
    expect(invalid.byId('containerd.config')).toMatchObject({ status: 'problem', code: 'FLOXK8S_CONTAINERD_CONFIG_INVALID' });
    expect(invalid.byId('runtime.entry').status).toBe('skipped');

    const run = await runCli(['doctor', '--containerd', join(dir, 'no-containerd'), '--containerd-config', containerd.paths.config, '--no-agent', '-o', 'json'], { config });
    expect(run.json<DoctorJson>().checks[0]).toMatchObject({ id: 'containerd.version', status: 'problem', code: 'FLOXK8S_DOCTOR_CONTAINERD_NOT_FOUND' });
  });

  describe('the agent checks', () => {
    let socketServer: NetServer;
    let mockAgent: HttpServer;
    let mockAgentUrl: string;
    beforeAll(async () => {
      socketServer = createNetServer((c) => c.end());
      await new Promise<void>((r) => socketServer.listen(join(dir, 'agent.sock'), r));
      // A mock of the agent's observability endpoint that is alive but not ready (a real agent
      // answers in e2e/src/cli/doctor-suite.ts).
      mockAgent = createHttpServer((req, res) => {
        if (req.url === '/healthz') res.writeHead(200).end('ok\n');
        else res.writeHead(503).end('[+]watching ok\n[-]install failed\nnot ready\n');
      });
      await new Promise<void>((r) => mockAgent.listen(0, '127.0.0.1', r));
      mockAgentUrl = `http://127.0.0.1:${(mockAgent.address() as { port: number }).port}`;
    });
    afterAll(async () => {
      await new Promise((r) => socketServer.close(r));
      await new Promise((r) => mockAgent.close(r));
    });

    it('connects to the realise socket, reports an unreachable or unready agent with next steps', async () => {
      const base = ['doctor', '--containerd', containerd.binaries.containerd, '--containerd-config', containerd.paths.config, '-o', 'json'];
      const socketOk = await runCli([...base, '--agent-socket', join(dir, 'agent.sock')], { config });
      const checks = socketOk.json<DoctorJson>().checks;
      expect(checks.find((c) => c.id === 'agent.socket')).toMatchObject({ status: 'ok' });
      expect(checks.find((c) => c.id === 'agent.health')).toMatchObject({ status: 'skipped', next: expect.stringContaining('--agent-url') });

      const nodeConfig = await writeConfig(dir, { agentSocket: join(dir, 'missing.sock') });
      const fromConfig = await runCli([...base, '--agent-url', 'http://127.0.0.1:9'], { config: nodeConfig });
      const byId = (id: string): Check | undefined => fromConfig.json<DoctorJson>().checks.find((c) => c.id === id);
      expect(byId('agent.socket')).toMatchObject({ status: 'warning', code: 'FLOXK8S_DOCTOR_AGENT_SOCKET', summary: expect.stringContaining(join(dir, 'missing.sock')) });
      expect(byId('agent.health')).toMatchObject({ status: 'problem', code: 'FLOXK8S_DOCTOR_AGENT_UNREACHABLE' });

      const notReady = await runCli([...base, '--agent-socket', join(dir, 'agent.sock'), '--agent-url', mockAgentUrl], { config });
      expect(notReady.json<DoctorJson>().checks.find((c) => c.id === 'agent.health')).toMatchObject({
        status: 'problem',
        code: 'FLOXK8S_DOCTOR_AGENT_NOT_READY',
        details: ['[-]install failed'],
      });
    });
  });
});
