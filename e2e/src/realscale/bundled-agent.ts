// The node agent as it ships: the esbuild bundle (agent.mjs + fetch-worker.mjs, what the image
// carries) run as a process of its own with a config file, against the fake API server. Its
// realise socket and patch service are what the installed runc front talks to.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_BUNDLE_FILES, bundleAgent, writeAgentBundle, type AgentBundle } from '@flox-k8s/node-agent';
import type { FakeApiserver } from '@flox-k8s/fake-apiserver';
import { FETCH_PROCESS_ENV } from '@flox-k8s/nar/process-env';

let bundled: Promise<AgentBundle> | undefined;

export interface BundledAgent {
  /** `http://127.0.0.1:<port>`: /metrics, /healthz, /readyz. */
  metricsUrl: string;
  /** Its JSON log lines so far. */
  log: Array<Record<string, unknown>>;
  /** The Prometheus text of /metrics now. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export interface BundledAgentOptions {
  /** Gets `agent/` (the bundle), `agent.json` and `kubeconfig`. */
  dir: string;
  /** The agent config (`@flox-k8s/node-agent`'s agent.json); the installer is turned off here. */
  config: Record<string, unknown> & { agent?: Record<string, unknown> };
  apiserver: FakeApiserver;
  nodeName: string;
}

/** Writes the bundle and config, starts `node agent.mjs run` and waits until it says it is ready. */
export async function startBundledAgent(options: BundledAgentOptions): Promise<BundledAgent> {
  bundled ??= bundleAgent();
  const bundle = await bundled;
  const bundleDir = join(options.dir, 'agent');
  await writeAgentBundle(bundle, bundleDir);
  const config = {
    ...options.config,
    agent: { metricsHost: '127.0.0.1', metricsPort: 0, ...options.config.agent, installer: { enabled: false } },
  };
  await writeFile(join(options.dir, 'agent.json'), JSON.stringify(config, null, 2));
  await writeFile(
    join(options.dir, 'kubeconfig'),
    `apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "${options.apiserver.url}", insecure-skip-tls-verify: true } }]\nusers: [{ name: u, user: {} }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n`,
  );
  // As the image runs it (its entrypoint, and the environment its DaemonSet sets), on the Node running the suite.
  const child = spawn(process.execPath, [join(bundleDir, AGENT_BUNDLE_FILES.agent), 'run'], {
    env: {
      ...FETCH_PROCESS_ENV,
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      FLOXK8S_AGENT_CONFIG: join(options.dir, 'agent.json'),
      NODE_NAME: options.nodeName,
      KUBECONFIG: join(options.dir, 'kubeconfig'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: Array<Record<string, unknown>> = [];
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        log.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        log.push({ msg: 'unparsed', line });
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await waitForReady(child, log, exited, () => stderr);
  return {
    metricsUrl: ready,
    log,
    metrics: async () => (await fetch(`${ready}/metrics`)).text(),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForReady(child: ChildProcess, log: Array<Record<string, unknown>>, exited: Promise<number | null>, stderr: () => string): Promise<string> {
  const deadline = Date.now() + 60_000;
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  for (;;) {
    const line = log.find((l) => l['msg'] === 'node agent ready');
    if (line !== undefined) return String(line['metrics']);
    if (gone !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the bundled node agent did not become ready (exit ${String(gone)}): ${stderr()}\n${log.map((l) => JSON.stringify(l)).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
