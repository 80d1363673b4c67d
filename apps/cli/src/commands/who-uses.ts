import type { PackageQuery, WhoUsesResult } from '@flox-k8s/fleet';
import { z } from 'zod';
import { addClusterOptions, clusterClient, clusterFlags, fleetOptions, incompleteness } from '../cluster.ts';
import { defineCommand } from '../command.ts';
import { CliUsageError } from '../errors.ts';
import { outputSchema } from '../flags.ts';
import { environmentLabel, podList, renderTable } from '../table.ts';

/** What `who-uses --output json` prints (also when it exits 1 for an incomplete answer): `@flox-k8s/fleet`'s `WhoUsesResult`. */
export type WhoUsesJson = WhoUsesResult;

function render(result: WhoUsesResult): string {
  const lines: string[] = [];
  const rows = result.matches.flatMap((m) =>
    m.packages.map((p) => [m.node, podList(m.pods), environmentLabel(m.references, m.digest), p.version === '' ? p.name : `${p.name}@${p.version}`, p.storePath]),
  );
  const answered = result.agents.filter((a) => a.ok).length;
  if (rows.length > 0) {
    lines.push(renderTable(['NODE', 'PODS', 'ENVIRONMENT', 'PACKAGE', 'STORE PATH'], rows), '');
    const nodes = new Set(result.matches.map((m) => m.node)).size;
    const pods = result.matches.reduce((n, m) => n + m.pods.length, 0);
    lines.push(`${result.query}: ${result.matches.length} environment${result.matches.length === 1 ? '' : 's'} on ${nodes} node${nodes === 1 ? '' : 's'}, used by ${pods} pod${pods === 1 ? '' : 's'}`);
  } else {
    lines.push(`${result.query}: no environment on the ${answered} node${answered === 1 ? '' : 's'} that answered holds it`);
  }
  const failed = result.agents.filter((a) => !a.ok);
  if (failed.length > 0) {
    lines.push(`${failed.length} of ${result.agents.length} agents could not answer (the answer is incomplete):`);
    for (const a of failed) lines.push(`  ${a.agent.node ?? '-'}  ${a.agent.namespace}/${a.agent.pod}  ${a.code}: ${a.message}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The query from `<query>` or the flags (one of them): `/…` is a store path, `name@range` splits
 * at the first `@` (Nix package names have none; a range may hold spaces, so it is one argument).
 */
function packageQuery(flags: { query?: string | undefined; package?: string | undefined; versions?: string | undefined; storePath?: string | undefined }): PackageQuery {
  if (flags.query !== undefined) {
    if (flags.package !== undefined || flags.versions !== undefined || flags.storePath !== undefined) throw new CliUsageError('give the package as <query> or with --package/--versions/--store-path, not both');
    if (flags.query.startsWith('/')) return { storePath: flags.query };
    const at = flags.query.indexOf('@');
    if (at === -1) return { name: flags.query };
    if (at === 0) throw new CliUsageError(`<query>: expected <name>[@<version range>], got "${flags.query}"`);
    return { name: flags.query.slice(0, at), versions: flags.query.slice(at + 1) };
  }
  if (flags.versions !== undefined && flags.package === undefined) throw new CliUsageError('--versions goes with --package');
  if ((flags.package === undefined) === (flags.storePath === undefined)) throw new CliUsageError('give <name>[@<version range>], --package <name> [--versions <range>] or --store-path <path>');
  return flags.storePath !== undefined ? { storePath: flags.storePath } : { name: flags.package as string, ...(flags.versions === undefined ? {} : { versions: flags.versions }) };
}

export const whoUsesCommand = defineCommand({
  name: 'who-uses',
  summary: 'which environments on which nodes hold a package, and which pods use them (asks every node agent through the API server)',
  help: `
The package is given as one argument, <name>[@<version range>] or a store path, or with
--package/--versions or --store-path.

Asks every node agent, through the Kubernetes API server's pod proxy, for what its node has
realised (GET /environments), and matches each environment's closure: by package name and
a Nix version range (compared in Nix's order, as builtins.compareVersions), or by store path.
Prints one row per matching store path: node, pods using the environment, the environment,
package@version and store path. Agents that could not answer are listed with their code.

Exit codes: 0 every agent answered (whether or not anything matched); 1 an agent could not
answer (FLOXK8S_CLI_FLEET_INCOMPLETE; 0 with --allow-incomplete, unless none answered), no
agent pod was found (FLOXK8S_CLI_NO_AGENTS) or the API server failed; 2 usage.
The caller needs RBAC: list pods and get pods/proxy in the agents' namespace.

Examples:
  flox-k8s who-uses 'xz@>=5.6.0 <=5.6.1'
  flox-k8s who-uses openssl@3.0.13
  flox-k8s who-uses --package xz --versions '>=5.6.0 <=5.6.1'
  flox-k8s who-uses --package openssl --versions '<3.0.14' --output json
  flox-k8s who-uses --store-path /nix/store/…-openssl-3.0.13`,
  arguments: [{ name: 'query', description: '<name>[@<version range>] (e.g. \'xz@>=5.6.0 <=5.6.1\', openssl@3.0.13) or a store path', required: false }],
  options(cmd) {
    cmd
      .option('--package <name>', 'package name, as the SBOM names it (the lockfile\'s pname, else the store path\'s)')
      .option('--versions <range>', 'Nix version range with --package, e.g. \'>=3.0 <3.0.14\' or \'<1.1.1x || =3.0.0\' (default: any)')
      .option('--store-path <path>', 'a store path (/nix/store/<hash>-<name>) instead of --package');
    addClusterOptions(cmd);
  },
  schema: (env) =>
    clusterFlags(env).extend({
      package: z.string().min(1).optional(),
      versions: z.string().min(1).optional(),
      storePath: z.string().min(1).optional(),
      query: z.string().min(1, 'expected <name>[@<version range>] or a store path').optional(),
      output: outputSchema,
    }),
  async run(flags, ctx) {
    const query = packageQuery(flags);
    // The query is checked before anything is asked: a bad range is a usage error.
    const [{ whoUses }, { packageMatcher }] = await Promise.all([import('@flox-k8s/fleet'), import('@flox-k8s/sbom')]);
    try {
      packageMatcher(query);
    } catch (error) {
      const flag = flags.query !== undefined ? '<query>' : flags.storePath !== undefined ? '--store-path' : flags.versions !== undefined ? '--versions' : '--package';
      throw new CliUsageError(`${flag}: ${(error as Error).message} (${(error as { code?: string }).code ?? 'invalid'})`, { cause: error });
    }
    const kube = await clusterClient(flags, ctx.env);
    const result: WhoUsesJson = await whoUses(kube, query, fleetOptions(flags, ctx.signal));
    const failure = incompleteness(result.agents.length, result.agents.filter((a) => !a.ok), flags);
    return { json: result, human: render(result), ...(failure ? { failure } : {}) };
  },
});
