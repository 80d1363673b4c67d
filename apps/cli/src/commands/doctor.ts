import { z } from 'zod';
import { defineCommand } from '../command.ts';
import { renderReport, skipped, type Check } from '../doctor/report.ts';
import { DoctorProblemsError } from '../errors.ts';
import { addConfigOption, configFlags, outputSchema, pathFlag } from '../flags.ts';
import { cliConfig } from '../node-config.ts';

/** What `doctor --output json` prints (also when it exits 1). */
export interface DoctorJson {
  ok: boolean;
  problems: number;
  warnings: number;
  checks: Check[];
}

export const doctorCommand = defineCommand({
  name: 'doctor',
  summary: 'check this node: containerd, the flox runtime and its options, the shim, the node agent',
  help: `
Each check prints ok, PROBLEM (exit 1), warning or skipped, with its code and the next
step. Checks: containerd.version, containerd.config (the main file and its imports, in
containerd's load order), runtime.entry (the runtime in the file whose CRI section
containerd keeps), runtime.type (and whether this containerd honours runtime_path),
runtime.annotations (flox.dev/environment passed into the OCI spec),
runtime.systemd-cgroup (the same driver as runc), shim.layout (the launcher, runc
front, Node and interposer it names), agent.socket, agent.health (/healthz, /readyz).

Example:
  flox-k8s doctor --agent-url http://10.42.0.17:9464`,
  options(cmd) {
    cmd
      .option('--containerd <path>', 'the containerd binary (default: containerd on PATH)')
      .option('--containerd-config <file>', 'containerd\'s main config (default /etc/containerd/config.toml)')
      .option('--containerd-path <PATH>', 'the PATH containerd runs with, where it finds containerd-shim-flox-v2 (default: this PATH)')
      .option('--runtime-name <name>', 'the runtime handler (RuntimeClass handler; default flox)')
      .option('--agent-url <url>', 'the node agent\'s HTTP endpoint (metrics port, default 9464) to check /healthz and /readyz')
      .option('--agent-socket <path>', 'the node agent\'s realise socket (default: the config\'s agentSocket)')
      .option('--no-agent', 'skip the node agent checks');
    addConfigOption(cmd);
  },
  schema: (env) =>
    configFlags(env).extend({
      containerd: z.string().min(1).default('containerd'),
      containerdConfig: pathFlag(env).default('/etc/containerd/config.toml'),
      containerdPath: z.string().default(env.path),
      runtimeName: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected a runtime handler name').default('flox'),
      agentUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s):// URL' }).optional(),
      agentSocket: pathFlag(env).optional(),
      agent: z.boolean().default(true),
      output: outputSchema,
    }),
  async run(flags, ctx) {
    const [{ checkAgentHealth, checkAgentSocket }, { checkConfig, checkRuntime, checkVersion }, { checkShim }] = await Promise.all([
      import('../doctor/agent.ts'),
      import('../doctor/containerd.ts'),
      import('../doctor/shim.ts'),
    ]);
    const checks: Check[] = [];
    const version = await checkVersion(flags.containerd, ctx.env.path);
    checks.push(version.check);
    const config = await checkConfig(flags.containerdConfig, version.info);
    checks.push(config.check);
    let runtime: Record<string, unknown> | undefined;
    if (config.chain === undefined) {
      for (const id of ['runtime.entry', 'runtime.type', 'runtime.annotations', 'runtime.systemd-cgroup']) checks.push(skipped(id, 'the containerd config is unreadable'));
    } else {
      const found = checkRuntime(config.chain, version.info, flags.runtimeName);
      checks.push(...found.checks);
      runtime = found.view.runtime;
    }
    checks.push(await checkShim(runtime, version.binary, flags.containerdPath));
    if (flags.agent) {
      const socket = flags.agentSocket ?? cliConfig(flags, ctx.env).agentSocket;
      checks.push(await checkAgentSocket(socket), await checkAgentHealth(flags.agentUrl));
    } else {
      checks.push(skipped('agent.socket', '--no-agent'), skipped('agent.health', '--no-agent'));
    }
    const problems = checks.filter((c) => c.status === 'problem');
    const json: DoctorJson = {
      ok: problems.length === 0,
      problems: problems.length,
      warnings: checks.filter((c) => c.status === 'warning').length,
      checks,
    };
    const failure =
      problems.length === 0 ? undefined : new DoctorProblemsError(`${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.map((p) => `${p.id} (${p.code})`).join(', ')}`);
    return { json, human: renderReport(checks), ...(failure ? { failure } : {}) };
  },
});
