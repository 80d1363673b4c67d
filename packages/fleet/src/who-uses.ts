// "Which workloads run this package?": one pass over every agent's listing with an SBOM
// package selector (a name with a Nix version range, or a store path).
import type { ClosureEntry, PodUse } from '@flox-k8s/agent-protocol';
import { packageMatcher, type PackageSelector } from '@flox-k8s/sbom';
import { agentEnvironments, type AgentOptions, type AgentRef, type FleetKube } from './agents.ts';

/** What to look for: `{ name, versions? }` (versions: a Nix version range such as `>=3.0 <3.0.14`) or `{ storePath }`. */
export type PackageQuery = PackageSelector;

/** An environment on a node that holds the package. */
export interface EnvironmentMatch {
  node: string;
  agent: AgentRef;
  digest: string;
  references: string[];
  generation: number | undefined;
  /** The closure paths that matched (a package can be in a closure more than once: several outputs or versions). */
  packages: ClosureEntry[];
  /** Pods on that node using the environment now; empty when it is only realised (pre-warmed, or its pods are gone). */
  pods: PodUse[];
}

/** How one agent took part. */
export type AgentStatus =
  | { ok: true; agent: AgentRef; node: string; environments: number }
  | { ok: false; agent: AgentRef; code: string; message: string };

export interface WhoUsesResult {
  /** The query as matched, e.g. `openssl >=3.0 <3.0.14`. */
  query: string;
  /** Sorted by node, then digest. */
  matches: EnvironmentMatch[];
  agents: AgentStatus[];
  /** Every agent answered: an empty `matches` means no node holds the package. */
  complete: boolean;
}

/**
 * Ask every node agent which of its environments contain a package, and which pods use
 * them. Throws `FLOXK8S_SBOM_PACKAGE_SELECTOR_INVALID` / `FLOXK8S_SBOM_VERSION_RANGE_INVALID`
 * for a bad query before asking anyone, and what `agentEnvironments` throws; a failing
 * agent is reported in `agents` (and makes `complete` false), never thrown.
 */
export async function whoUses(kube: FleetKube, query: PackageQuery, options: AgentOptions = {}): Promise<WhoUsesResult> {
  const matcher = packageMatcher(query);
  const answers = await agentEnvironments(kube, options);
  const matches: EnvironmentMatch[] = [];
  const agents: AgentStatus[] = [];
  for (const answer of answers) {
    if (!answer.ok) {
      agents.push(answer);
      continue;
    }
    const { listing, agent } = answer;
    agents.push({ ok: true, agent, node: listing.node, environments: listing.environments.length });
    for (const env of listing.environments) {
      const packages = env.closure.filter((entry) => matcher.matches(entry));
      if (packages.length === 0) continue;
      matches.push({ node: listing.node, agent, digest: env.digest, references: env.references, generation: env.generation, packages, pods: env.pods });
    }
  }
  matches.sort((a, b) => a.node.localeCompare(b.node) || a.digest.localeCompare(b.digest));
  return { query: matcher.text, matches, agents, complete: agents.every((a) => a.ok) };
}
