// `who-uses` and `status` against real peers: the fake API server (real list and pod-proxy
// wire format) with two real node agents run as their own program (child processes), each
// with a store realised from the Nix fixture's signed loopback cache and pods seen through
// its watch; beside them an agent pod that is down and one from before GET /status existed.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { NodeStatus } from '@flox-k8s/agent-protocol';
import { agentProcessLauncher, startFleetHarness, writeKubeconfig, type FleetHarness } from '@flox-k8s/fleet-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { StatusJson, WhoUsesJson } from '../src/index.ts';
import { NODE_AGENT_DIR, nodeAgentProgram } from './agent-program.ts';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy.ts';
import { removeBundle, runCli, writeConfig, type CliRun } from './run-cli.ts';

let harness: FleetHarness;
let config: string;
let kube: string[];
let agentVersion: string;
/** The CLI's own way to the API server, recorded (the agents' requests do not pass it). */
let recorder: RecordingProxy;
let recorded: string[];

/** The rows of the first table in `stdout`, split at runs of two or more spaces. */
function tableRows(stdout: string): string[][] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith('NODE '));
  const end = lines.indexOf('', start);
  return lines.slice(start, end).map((l) => l.split(/ {2,}/));
}

const short = (digest: string): string => `${digest.slice(0, 12)}…`;
const cli = (args: string[], env?: Record<string, string>): Promise<CliRun> => runCli(args, { config, ...(env ? { env } : {}) });

beforeAll(async () => {
  harness = await startFleetHarness({ launch: agentProcessLauncher(nodeAgentProgram()) });
  await harness.runExamplePods();
  await harness.addDownAgent('node-c');
  // An agent from before GET /status: it lists environments (none) and answers 404 elsewhere.
  await harness.addFakeAgent('node-d', (req, res) => {
    if (req.url === '/environments') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'flox.dev/v1alpha1', kind: 'NodeEnvironments', node: 'node-d', system: 'x86_64-linux', environments: [] }));
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  config = await writeConfig(harness.dir);
  kube = ['--kubeconfig', harness.kubeconfig];
  recorder = await startRecordingProxy(harness.apiserver.url);
  recorded = ['--kubeconfig', await writeKubeconfig(join(harness.dir, 'recorded-kubeconfig'), recorder.url)];
  agentVersion = (JSON.parse(await readFile(join(NODE_AGENT_DIR, 'package.json'), 'utf8')) as { version: string }).version;
}, 300_000);

afterAll(async () => {
  await recorder?.close();
  await harness?.close();
  await removeBundle();
});

describe('who-uses', () => {
  it('prints node, pods, environment, package@version and store path; the agent that is down makes it exit 1 with its code', async () => {
    const { full, hello } = harness.environments;
    const script = harness.fixtures.storePaths.script;
    const run = await cli(['who-uses', '--package', 'hello-flox', '--versions', '>=1.0 <2', ...kube]);
    expect(run.code).toBe(1);
    expect(tableRows(run.stdout)).toEqual([
      ['NODE', 'PODS', 'ENVIRONMENT', 'PACKAGE', 'STORE PATH'],
      ['node-a', 'apps/web, apps/worker', `acme/fixture:${full.generation}, acme/fixture@sha256:${short(full.digest)}`, 'hello-flox@1.0', script],
      ['node-b', 'apps/greeter', `acme/hello:${hello.generation}`, 'hello-flox@1.0', script],
    ]);
    expect(run.stdout).toContain('\nhello-flox >=1.0 <2: 2 environments on 2 nodes, used by 3 pods\n1 of 4 agents could not answer (the answer is incomplete):\n');
    expect(run.stdout).toMatch(/\n {2}node-c {2}flox-system\/flox-node-agent-node-c {2}FLOXK8S_FLEET_AGENT_UNREACHABLE: agent flox-system\/flox-node-agent-node-c on node-c answered HTTP 503/);
    expect(run.stderr).toBe(
      'flox-k8s: error FLOXK8S_CLI_FLEET_INCOMPLETE: 1 of 4 node agents could not answer: node-c (FLOXK8S_FLEET_AGENT_UNREACHABLE); what their nodes hold is missing from the answer; --allow-incomplete accepts that\n',
    );

    const allowed = await cli(['who-uses', '--package', 'hello-flox', '--versions', '>=1.0 <2', ...kube, '--allow-incomplete']);
    expect(allowed).toMatchObject({ code: 0, stderr: '', stdout: run.stdout });
  });

  it('takes the package as one argument: <name>@<range>, <name>, or a store path', async () => {
    const flags = await cli(['who-uses', '--package', 'hello-flox', '--versions', '>=1.0 <2', ...kube, '--allow-incomplete', '-o', 'json']);
    const argument = await cli(['who-uses', 'hello-flox@>=1.0 <2', ...kube, '--allow-incomplete', '-o', 'json']);
    expect(argument.code).toBe(0);
    expect(argument.json<WhoUsesJson>()).toEqual(flags.json<WhoUsesJson>());
    expect(argument.json<WhoUsesJson>().matches.map((m) => m.node)).toEqual(['node-a', 'node-b']);

    const exact = await cli(['who-uses', 'hello-flox@1.0', ...kube, '--allow-incomplete', '-o', 'json']);
    expect(exact.json<WhoUsesJson>().matches.map((m) => m.node)).toEqual(['node-a', 'node-b']);
    const other = await cli(['who-uses', 'hello-flox@1.1', ...kube, '--allow-incomplete', '-o', 'json']);
    expect(other.json<WhoUsesJson>().matches).toEqual([]);
    const anyVersion = await cli(['who-uses', 'hello-flox', ...kube, '--allow-incomplete', '-o', 'json']);
    expect(anyVersion.json<WhoUsesJson>().matches.map((m) => m.node)).toEqual(['node-a', 'node-b']);

    const tree = harness.fixtures.storePaths.tree;
    const byPath = await cli(['who-uses', tree, ...kube, '--allow-incomplete', '-o', 'json']);
    expect(byPath.json<WhoUsesJson>()).toMatchObject({ query: tree, matches: [{ node: 'node-a', packages: [{ storePath: tree }] }] });
    expect(byPath.json<WhoUsesJson>().matches).toHaveLength(1);
  });

  it('--output json gives the structured result (also on exit 1) and the error as JSON on stderr', async () => {
    const { full } = harness.environments;
    const run = await cli(['who-uses', '--store-path', harness.fixtures.storePaths.tree, ...kube, '-o', 'json']);
    expect(run.code).toBe(1);
    expect(run.error()).toMatchObject({ code: 'FLOXK8S_CLI_FLEET_INCOMPLETE' });
    const result = run.json<WhoUsesJson>();
    expect(result).toMatchObject({ query: harness.fixtures.storePaths.tree, complete: false });
    expect(result.matches).toEqual([
      {
        node: 'node-a',
        agent: { namespace: 'flox-system', pod: 'flox-node-agent-node-a', node: 'node-a', port: Number(new URL(harness.agents[0]!.url).port) },
        digest: full.digest,
        references: [`acme/fixture:${full.generation}`, `acme/fixture@sha256:${full.digest}`],
        generation: full.generation,
        packages: [{ storePath: harness.fixtures.storePaths.tree, name: 'flox-fixture-tree', version: '1.0' }],
        pods: [
          { namespace: 'apps', name: 'web', uid: 'uid-web', reference: `acme/fixture:${full.generation}` },
          { namespace: 'apps', name: 'worker', uid: 'uid-worker', reference: `acme/fixture@sha256:${full.digest}` },
        ],
      },
    ]);
    expect(result.agents.map((a) => [a.agent.node, a.ok ? `ok ${a.environments}` : a.code])).toEqual([
      ['node-a', 'ok 1'],
      ['node-b', 'ok 1'],
      ['node-c', 'FLOXK8S_FLEET_AGENT_UNREACHABLE'],
      ['node-d', 'ok 0'],
    ]);
  });

  it('says when no node holds the package in that range', async () => {
    const run = await cli(['who-uses', '--package', 'hello-flox', '--versions', '<1.0', ...kube, '--allow-incomplete']);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('hello-flox <1.0: no environment on the 3 nodes that answered holds it');
  });

  it.each([
    [['--package', 'xz', '--versions', '>=5.6.0 <<5.6.1'], /^--versions: .*\(FLOXK8S_SBOM_VERSION_RANGE_INVALID\)$/],
    [['--store-path', '/etc/passwd'], /^--store-path: .*\(FLOXK8S_SBOM_PACKAGE_SELECTOR_INVALID\)$/],
    [[], /^give <name>\[@<version range>\], --package <name> \[--versions <range>\] or --store-path <path>$/],
    [['--package', 'xz', '--store-path', '/nix/store/00000000000000000000000000000000-xz-5.6.0'], /^give <name>/],
    [['xz@>=5.6.0 <<5.6.1'], /^<query>: .*\(FLOXK8S_SBOM_VERSION_RANGE_INVALID\)$/],
    [['xz@~5.6'], /^<query>: .*\(FLOXK8S_SBOM_VERSION_RANGE_INVALID\)$/],
    [['@5.6.0'], /^<query>: expected <name>\[@<version range>\], got "@5.6.0"$/],
    [['/etc/passwd'], /^<query>: .*\(FLOXK8S_SBOM_PACKAGE_SELECTOR_INVALID\)$/],
    [['xz', '--package', 'xz'], /^give the package as <query> or with --package\/--versions\/--store-path, not both$/],
    [['xz', '--versions', '>=1'], /not both$/],
    [['--versions', '>=1'], /^--versions goes with --package$/],
    [['--package', 'xz', '--timeout', '0'], /^--timeout: /],
    [['--package', 'xz', '--namespace', 'Not_A_Namespace'], /^--namespace: expected a namespace name/],
  ])('refuses %j as a usage error (exit 2) before asking anyone', async (args, message) => {
    const before = recorder.seen.length;
    const run = await cli(['who-uses', ...args, ...recorded, '-o', 'json']);
    expect([run.code, run.stdout, run.error().code]).toEqual([2, '', 'FLOXK8S_CLI_USAGE']);
    expect(run.error().message).toMatch(message);
    expect(recorder.seen.length).toBe(before);
  });
});

describe('status', () => {
  it('--output json: per node the agent\'s status and environments, each failure per endpoint with its code', async () => {
    const { full, hello } = harness.environments;
    const run = await cli(['status', ...kube, '-o', 'json']);
    expect(run.code).toBe(1);
    expect(run.error()).toMatchObject({ code: 'FLOXK8S_CLI_FLEET_INCOMPLETE', message: expect.stringContaining('2 of 4 node agents could not answer: node-c (FLOXK8S_FLEET_AGENT_UNREACHABLE), node-d (FLOXK8S_FLEET_AGENT_HTTP)') });
    const json = run.json<StatusJson>();
    expect(json.complete).toBe(false);
    expect(json.nodes.map((n) => [n.node, n.ok, n.errors.map((e) => `${e.endpoint} ${e.code}`)])).toEqual([
      ['node-a', true, []],
      ['node-b', true, []],
      ['node-c', false, ['/status FLOXK8S_FLEET_AGENT_UNREACHABLE', '/environments FLOXK8S_FLEET_AGENT_UNREACHABLE']],
      ['node-d', false, ['/status FLOXK8S_FLEET_AGENT_HTTP']],
    ]);
    const [a, b, , d] = json.nodes as [StatusJson['nodes'][number], StatusJson['nodes'][number], unknown, StatusJson['nodes'][number]];

    // The store as realised: every closure path, with the NarSize the cache signed.
    const narSize = async (path: string): Promise<number> => Number(/^NarSize: (\d+)$/m.exec(await (await fetch(`${harness.cache.url}/${path.slice(11, 43)}.narinfo`)).text())![1]);
    const closureBytes = (await Promise.all(harness.fixtures.closure.map(narSize))).reduce((x, y) => x + y, 0);
    expect(a.status).toMatchObject({
      kind: 'NodeStatus',
      node: 'node-a',
      system: 'x86_64-linux',
      agent: { version: agentVersion, ready: true },
      store: { root: join(harness.dir, 'node-a', 'store'), paths: harness.fixtures.closure.length, narBytes: closureBytes },
      gc: { intervalSeconds: 300, highWatermark: 0.85, lowWatermark: 0.7 },
    });
    expect(a.status!.agent.checks.map((c) => c.name).sort()).toEqual(['install', 'patcher', 'socket', 'watch']);
    expect(a.status!.gc.passes).toBeGreaterThanOrEqual(1);
    expect(a.status!.gc.last).toMatchObject({ outcome: expect.stringMatching(/^(skipped|collected)$/) });
    expect(b.status!.store.paths).toBe(3);
    expect(a.environments).toEqual([
      {
        digest: full.digest,
        references: [`acme/fixture:${full.generation}`, `acme/fixture@sha256:${full.digest}`],
        generation: full.generation,
        closurePaths: harness.fixtures.closure.length,
        pods: [
          { namespace: 'apps', name: 'web', uid: 'uid-web', reference: `acme/fixture:${full.generation}` },
          { namespace: 'apps', name: 'worker', uid: 'uid-worker', reference: `acme/fixture@sha256:${full.digest}` },
        ],
      },
    ]);
    expect(b.environments).toEqual([{ digest: hello.digest, references: [`acme/hello:${hello.generation}`], generation: hello.generation, closurePaths: 3, pods: [{ namespace: 'apps', name: 'greeter', uid: 'uid-greeter', reference: `acme/hello:${hello.generation}` }] }]);
    expect(d).toMatchObject({ environments: [], errors: [{ message: expect.stringContaining('answered HTTP 404') }] });
    expect(d.status).toBeUndefined();
  });

  it('prints each node for people; --allow-incomplete exits 0', async () => {
    const { full } = harness.environments;
    const run = await cli(['status', ...kube, '--allow-incomplete']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.split('\n');
    expect(lines).toContain(`node-a  flox-system/flox-node-agent-node-a  agent ${agentVersion}  ready`);
    expect(lines.find((l) => l.startsWith('  store ') && l.includes(join(harness.dir, 'node-a', 'store')))).toMatch(new RegExp(`^ {2}store {9}${harness.fixtures.closure.length} paths, [0-9.]+ [kMG]?B in `));
    expect(lines).toContain(`    acme/fixture:${full.generation}, acme/fixture@sha256:${short(full.digest)}  ${harness.fixtures.closure.length} paths  pods: apps/web, apps/worker`);
    expect(lines).toContain('  environments  1 realised, 2 pods using them');
    expect(lines.filter((l) => l.startsWith('  last GC ')).length).toBe(2);
    expect(lines.filter((l) => l.includes('FLOXK8S_FLEET_AGENT_UNREACHABLE')).map((l) => l.trim().split(' ')[0])).toEqual(['/status', '/environments']);
    expect(lines).toContain('node-d  flox-system/flox-node-agent-node-d');
    expect(lines.at(-2)).toBe('4 node agents: 2 answered, 2 could not (the answer is incomplete)');
  });
});

describe('status of an agent that answers but is not ready', () => {
  it('shows NOT READY with the failed checks and the last collection, exit 0 (an answer, not a failure)', async () => {
    // A mock agent (a loopback server) in its own namespace, answering a valid NodeStatus.
    const status: NodeStatus = {
      apiVersion: 'flox.dev/v1alpha1',
      kind: 'NodeStatus',
      node: 'node-u',
      system: 'x86_64-linux',
      agent: { version: '9.9.9', startedAt: '2026-01-02T03:00:00.000Z', ready: false, checks: [{ name: 'socket', ok: true }, { name: 'watch', ok: false }, { name: 'install', ok: false }] },
      store: { root: '/var/lib/flox-k8s', paths: 12, narBytes: 3_456_789, disk: { totalBytes: 1000, usedBytes: 900 } },
      gc: {
        intervalSeconds: 300,
        highWatermark: 0.85,
        lowWatermark: 0.7,
        passes: 7,
        last: { startedAt: '2026-01-02T03:04:00.000Z', finishedAt: '2026-01-02T03:04:05.678Z', outcome: 'skipped', freedBytes: 0, deletedPaths: 0, disk: { totalBytes: 1000, usedBytes: 600 } },
        lastCollection: { startedAt: '2026-01-02T02:59:00.000Z', finishedAt: '2026-01-02T02:59:01.000Z', outcome: 'collected', freedBytes: 1_536_000, deletedPaths: 1 },
      },
    };
    const mockAgent = createServer((req, res) => {
      if (req.url === '/status') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status));
      if (req.url === '/environments') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'flox.dev/v1alpha1', kind: 'NodeEnvironments', node: 'node-u', system: 'x86_64-linux', environments: [] }));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => mockAgent.listen(0, '127.0.0.1', r));
    try {
      harness.apiserver.putPod({
        metadata: { name: 'flox-node-agent-node-u', namespace: 'unready', labels: { 'app.kubernetes.io/name': 'flox-node-agent' } },
        spec: { nodeName: 'node-u', containers: [{ name: 'agent', ports: [{ name: 'metrics', containerPort: (mockAgent.address() as AddressInfo).port, protocol: 'TCP' }] }] },
        status: { phase: 'Running', podIP: '127.0.0.1' },
      });
      const human = await cli(['status', ...kube, '-n', 'unready']);
      expect(human).toMatchObject({ code: 0, stderr: '' });
      expect(human.stdout).toBe(
        [
          'node-u  unready/flox-node-agent-node-u  agent 9.9.9  NOT READY (watch, install failed)',
          '  store         12 paths, 3.5 MB in /var/lib/flox-k8s; file system 90% used (GC above 85%, down to 70%)',
          '  last GC       2026-01-02T03:04:05Z skipped (file system 60% used)',
          '  last collect  2026-01-02T02:59:01Z collected 1.5 MB (1 path)',
          '  environments  0 realised, 0 pods using them',
          '',
          '1 node agent: 1 answered',
          '',
        ].join('\n'),
      );
      const json = await cli(['status', ...kube, '-n', 'unready', '-o', 'json']);
      expect(json.code).toBe(0);
      expect(json.json<StatusJson>()).toEqual({ complete: true, nodes: [{ node: 'node-u', agent: { namespace: 'unready', pod: 'flox-node-agent-node-u', node: 'node-u', port: (mockAgent.address() as AddressInfo).port }, ok: true, status, environments: [], errors: [] }] });
    } finally {
      mockAgent.closeAllConnections();
      await new Promise((r) => mockAgent.close(r));
    }
  });
});

describe('reaching the cluster', () => {
  it('takes the kubeconfig from --kubeconfig, else KUBECONFIG, else ~/.kube/config; says which one fails to load', async () => {
    const home = join(harness.dir, 'home');
    await mkdir(join(home, '.kube'), { recursive: true });
    const args = ['who-uses', '--package', 'hello-flox', '--allow-incomplete', '-o', 'json'];
    const none = await cli(args, { HOME: home });
    expect([none.code, none.error().code]).toEqual([1, 'FLOXK8S_CLI_KUBECONFIG']);
    expect(none.error().message).toMatch(/^no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG/);

    await copyFile(harness.kubeconfig, join(home, '.kube', 'config'));
    const fromHome = await cli(args, { HOME: home });
    expect(fromHome.code).toBe(0);
    expect(fromHome.json<WhoUsesJson>().matches.map((m) => m.node)).toEqual(['node-a', 'node-b']);

    const fromEnv = await cli(args, { HOME: join(harness.dir, 'nowhere'), KUBECONFIG: harness.kubeconfig });
    expect(fromEnv.json<WhoUsesJson>().matches.map((m) => m.node)).toEqual(['node-a', 'node-b']);

    const list = await cli(args, { KUBECONFIG: `${harness.kubeconfig}:${join(home, '.kube', 'config')}` });
    expect([list.code, list.error().code]).toEqual([1, 'FLOXK8S_CLI_KUBECONFIG']);
    expect(list.error().message).toContain('KUBECONFIG names 2 files');

    const missing = await cli([...args, '--kubeconfig', join(home, 'absent')]);
    expect([missing.code, missing.error().code]).toEqual([1, 'FLOXK8S_CLI_KUBECONFIG']);
    expect(missing.error().message).toContain(`cannot load kubeconfig ${join(home, 'absent')} (--kubeconfig)`);
  });

  it('fails with the code of what went wrong: the API server down, no agent pods, no agent answering at all', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const down = await writeKubeconfig(join(harness.dir, 'down-kubeconfig'), `http://127.0.0.1:${port}`);
    for (const command of ['who-uses', 'status']) {
      const extra = command === 'who-uses' ? ['--package', 'xz'] : [];
      const apiDown = await cli([command, ...extra, '--kubeconfig', down, '-o', 'json']);
      expect([command, apiDown.code, apiDown.stdout, apiDown.error().code]).toEqual([command, 1, '', 'FLOXK8S_KUBE_API']);

      const empty = await cli([command, ...extra, ...kube, '--namespace', 'kube-system']);
      expect([command, empty.code, empty.stdout]).toEqual([command, 1, '']);
      expect(empty.stderr).toMatch(/^flox-k8s: error FLOXK8S_CLI_NO_AGENTS: no node agent pod matches app\.kubernetes\.io\/name=flox-node-agent in namespace kube-system/);
    }

    // A namespace whose only agent is down: --allow-incomplete accepts a partial answer, not none at all.
    harness.apiserver.putPod({
      metadata: { name: 'flox-node-agent-lonely', namespace: 'lonely', labels: { 'app.kubernetes.io/name': 'flox-node-agent' } },
      spec: { nodeName: 'node-z', containers: [{ name: 'agent', ports: [{ name: 'metrics', containerPort: port, protocol: 'TCP' }] }] },
      status: { phase: 'Running', podIP: '127.0.0.1' },
    });
    const lonely = await cli(['who-uses', '--package', 'xz', ...kube, '-n', 'lonely', '--allow-incomplete', '-o', 'json']);
    expect([lonely.code, lonely.error().code]).toEqual([1, 'FLOXK8S_CLI_FLEET_INCOMPLETE']);
    expect(lonely.error().message).toBe('1 of 1 node agent could not answer: node-z (FLOXK8S_FLEET_AGENT_UNREACHABLE); what their nodes hold is missing from the answer');
    expect(lonely.json<WhoUsesJson>()).toMatchObject({ complete: false, matches: [] });
  });
});

describe('the CLI\'s RBAC (apps/node-agent/deploy/cli-rbac.yaml)', () => {
  interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }

  /** The request's RBAC attributes, as the API server derives them (core group only: all the CLI calls). */
  function attributes(method: string, path: string): { namespace: string; resource: string; verb: string } {
    const url = new URL(path, 'http://x');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?/.exec(url.pathname);
    if (m === null || method !== 'GET') throw new Error(`not a namespaced core GET: ${method} ${path}`);
    const [, namespace, resource, name, subresource] = m as unknown as [string, string, string, string | undefined, string | undefined];
    const verb = name !== undefined ? 'get' : url.searchParams.get('watch') === 'true' ? 'watch' : 'list';
    return { namespace, resource: subresource === undefined ? resource : `${resource}/${subresource}`, verb };
  }

  it('allows every request status and who-uses make, and nothing outside the agents\' namespace', async () => {
    const file = join(NODE_AGENT_DIR, 'deploy', 'cli-rbac.yaml');
    const [role] = parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string }; rules: Rule[] });
    expect(role).toMatchObject({ kind: 'Role', metadata: { name: 'flox-k8s-cli', namespace: 'flox-system' } });

    const start = recorder.seen.length;
    const status = await cli(['status', ...recorded, '--allow-incomplete', '-o', 'json']);
    const who = await cli(['who-uses', 'hello-flox@1.0', ...recorded, '--allow-incomplete', '-o', 'json']);
    expect([status.code, who.code]).toEqual([0, 0]);
    expect(who.json<WhoUsesJson>().matches).toHaveLength(2);

    const asked = recorder.seen.slice(start).map((r) => attributes(r.method, r.path));
    // Non-vacuous: the agents were listed and each asked through its pod proxy.
    expect(new Set(asked.map((a) => `${a.verb} ${a.resource}`))).toEqual(new Set(['list pods', 'get pods/proxy']));
    for (const a of asked) {
      expect(a.namespace).toBe(role!.metadata.namespace);
      expect(role!.rules.some((r) => r.apiGroups.includes('') && r.resources.includes(a.resource) && r.verbs.includes(a.verb)), `${a.verb} ${a.resource}`).toBe(true);
    }
  });
});
