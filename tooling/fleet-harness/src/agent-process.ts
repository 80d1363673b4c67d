// A node agent run as its own program (`flox-node-agent run`) in a child process, for tests of
// other apps: they may not import the agent, but they may run it, as a cluster does.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentLaunch, LaunchedAgent } from './harness.ts';

export interface AgentProgram {
  /** The agent's entry: `apps/node-agent/src/main.ts` (with `nodeArgs` for the source condition) or a bundle. */
  main: string;
  /** Arguments for Node before the entry, e.g. `['--conditions=@flox-k8s/source']` to run from source. */
  nodeArgs?: string[];
  /** How long the agent may take to say it is ready (default 90 s: a realise is not part of it). */
  readyTimeoutMs?: number;
}

/** A running agent process; `output` keeps what it logged (JSON lines), for a test's failure message. */
export interface AgentProcess extends LaunchedAgent {
  pid: number;
  output: string[];
}

const READY_MESSAGE = 'node agent ready';

/**
 * Launches each agent as `node [nodeArgs] main run` with `FLOXK8S_AGENT_CONFIG`, `NODE_NAME` and
 * `KUBECONFIG`, and waits for its `node agent ready` log line, which names its HTTP endpoint.
 * `stop()` sends SIGTERM (the agent stops cleanly and exits 0) and SIGKILL after 10 s.
 */
export function agentProcessLauncher(program: AgentProgram): (launch: AgentLaunch) => Promise<AgentProcess> {
  return async ({ node, config, kubeconfig, dir }) => {
    const configFile = join(dir, 'agent.json');
    await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
    const child = spawn(process.execPath, [...(program.nodeArgs ?? []), program.main, 'run'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', FLOXK8S_AGENT_CONFIG: configFile, NODE_NAME: node, KUBECONFIG: kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let pending = '';
      let settled = false;
      const timer = setTimeout(() => fail(`did not log "${READY_MESSAGE}" within ${program.readyTimeoutMs ?? 90_000} ms`), program.readyTimeoutMs ?? 90_000);
      function fail(why: string): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`agent for ${node} ${why}; its output:\n${output.slice(-20).join('\n')}`));
      }
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          output.push(line);
          const record = parseLine(line);
          if (!settled && record?.['msg'] === READY_MESSAGE && typeof record['metrics'] === 'string') {
            settled = true;
            clearTimeout(timer);
            resolve(record['metrics']);
          }
        }
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => output.push(...chunk.split('\n').filter(Boolean)));
      void exited.then((code) => fail(`exited with ${String(code)} before it was ready`));
    });
    return {
      url,
      pid: child.pid!,
      output,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      },
    };
  };
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
