// The node agent, as the shim and an operator reach it: its realise socket on the node, and
// its HTTP health endpoints (/healthz alive, /readyz installed + watching + serving).
import { connect } from 'node:net';
import { ok, problem, skipped, warning, type Check } from './report.ts';

const TIMEOUT_MS = 3000;
const FIND_AGENT = 'kubectl -n flox-system get pods -l app.kubernetes.io/name=flox-node-agent -o wide';

export function checkAgentSocket(socket: string): Promise<Check> {
  const id = 'agent.socket';
  return new Promise((resolve) => {
    const conn = connect(socket);
    const timer = setTimeout(() => conn.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    conn.once('connect', () => {
      clearTimeout(timer);
      conn.destroy();
      resolve(ok(id, `the agent's realise socket ${socket} accepts connections`));
    });
    conn.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(
        warning(
          id,
          'FLOXK8S_DOCTOR_AGENT_SOCKET',
          `cannot connect to the agent's realise socket ${socket} (${error.code ?? error.message}): containers realise in-process, without prefetch or the warm path`,
          `check that the node agent runs on this node (${FIND_AGENT}) and that agentSocket in the config names the socket it serves`,
        ),
      );
    });
  });
}

export async function checkAgentHealth(url: string | undefined): Promise<Check> {
  const id = 'agent.health';
  if (url === undefined) {
    return skipped(id, 'no --agent-url given', `pass --agent-url http://<agent pod IP>:9464 (${FIND_AGENT}) to check /healthz and /readyz`);
  }
  const base = url.replace(/\/+$/, '');
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    return { status: res.status, body: await res.text() };
  };
  let healthz;
  try {
    healthz = await get('/healthz');
  } catch (error) {
    return problem(id, 'FLOXK8S_DOCTOR_AGENT_UNREACHABLE', `no answer from ${base}/healthz: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`, `check the agent pod (${FIND_AGENT}) and the URL (agent.metricsHost/metricsPort, default port 9464)`);
  }
  if (healthz.status !== 200) {
    return problem(id, 'FLOXK8S_DOCTOR_AGENT_UNHEALTHY', `${base}/healthz answered HTTP ${healthz.status}`, `read the agent's log: kubectl -n flox-system logs <agent pod>`);
  }
  const readyz = await get('/readyz').catch((error: unknown) => ({ status: 0, body: (error as Error).message }));
  const failing = readyz.body.split('\n').filter((line) => line.startsWith('[-]'));
  if (readyz.status !== 200) {
    return problem(
      id,
      'FLOXK8S_DOCTOR_AGENT_NOT_READY',
      `the agent is alive but not ready (${base}/readyz answered HTTP ${readyz.status})`,
      `read the agent's log for the failing checks: kubectl -n flox-system logs <agent pod>`,
      failing.length > 0 ? failing : undefined,
    );
  }
  return ok(id, `the agent at ${base} is alive and ready`);
}
