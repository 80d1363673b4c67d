// The node agent's program, run as a child process by the cluster tests (an app never imports
// another app; it may run it, as a cluster does). Found through this package's devDependency
// on @flox-k8s/node-agent and run from source, as every test here runs from source.
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentProgram } from '@flox-k8s/fleet-harness';

export const NODE_AGENT_DIR = realpathSync(fileURLToPath(new URL('../node_modules/@flox-k8s/node-agent', import.meta.url)));

export function nodeAgentProgram(): AgentProgram {
  return { main: join(NODE_AGENT_DIR, 'src', 'main.ts'), nodeArgs: ['--conditions=@flox-k8s/source'] };
}
