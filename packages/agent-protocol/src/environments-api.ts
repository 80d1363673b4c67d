// The node agent's environment listing, served on its HTTP port (beside /metrics) and
// read through the API server's pod proxy by cluster-wide queries:
//
//   GET /environments                                   → 200 NodeEnvironments (JSON)
//   GET /environments/<digest>/sbom?format=cyclonedx|spdx → 200 the SBOM document
//   errors                                              → 4xx/5xx { "error": { "code", "message" } }
import { z } from 'zod';

/** Path of the listing. */
export const ENVIRONMENTS_PATH = '/environments';
/** SBOM formats the agent serves. */
export const SBOM_FORMATS = ['cyclonedx', 'spdx'] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];
/** Content types of the SBOM documents. */
export const SBOM_CONTENT_TYPES: Record<SbomFormat, string> = {
  cyclonedx: 'application/vnd.cyclonedx+json; version=1.6',
  spdx: 'application/spdx+json',
};

/** Path of one environment's SBOM. */
export function environmentSbomPath(digest: string, format: SbomFormat): string {
  return `${ENVIRONMENTS_PATH}/${digest}/sbom?format=${format}`;
}

const digest = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex');
const storePath = z.string().regex(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+$/, 'expected a /nix/store path');
const text = z.string().max(1024);

/** One path of an environment's closure, named as its SBOM names it. */
export interface ClosureEntry {
  storePath: string;
  /** Package name: the lockfile's pname, else Nix's split of the store path name. */
  name: string;
  /** Empty when the store path name carries none. */
  version: string;
}

/** A pod on the node that uses the environment. */
export interface PodUse {
  namespace: string;
  name: string;
  uid: string;
  /** The `flox.dev/environment` value the pod gave. */
  reference: string;
}

/** An environment realised on the node. */
export interface NodeEnvironment {
  /** sha256 of the lockfile bytes: the environment's identity. */
  digest: string;
  /** The references pods and the pre-warm list resolved to this lockfile (sorted). */
  references: string[];
  /** The published generation, when a reference resolved to one. */
  generation?: number | undefined;
  /** The store paths the lockfile installs on the node's system (sorted). */
  storePaths: string[];
  /** The whole closure (sorted by store path). */
  closure: ClosureEntry[];
  /** Pods on the node using it now (sorted by namespace/name). */
  pods: PodUse[];
}

/** Body of `GET /environments`. */
export interface NodeEnvironments {
  apiVersion: 'flox.dev/v1alpha1';
  kind: 'NodeEnvironments';
  node: string;
  system: string;
  environments: NodeEnvironment[];
}

/** Body of every error answer. */
export interface AgentHttpError {
  error: { code: string; message: string };
}

/** Validates a {@link NodeEnvironments} (an agent's answer is outside input to whoever reads it). */
export const nodeEnvironmentsSchema: z.ZodType<NodeEnvironments> = z.object({
  apiVersion: z.literal('flox.dev/v1alpha1'),
  kind: z.literal('NodeEnvironments'),
  node: z.string().min(1).max(253),
  system: z.string().min(1).max(64),
  environments: z
    .array(
      z.object({
        digest,
        references: z.array(text).max(1000),
        generation: z.number().int().positive().optional(),
        storePaths: z.array(storePath).max(100_000),
        closure: z.array(z.object({ storePath, name: z.string().max(256), version: z.string().max(256) })).max(100_000),
        pods: z.array(z.object({ namespace: z.string().max(253), name: z.string().max(253), uid: z.string().max(64), reference: text })).max(10_000),
      }),
    )
    .max(10_000),
});

/** Validates an {@link AgentHttpError}. */
export const agentHttpErrorSchema: z.ZodType<AgentHttpError> = z.object({ error: z.object({ code: z.string().max(128), message: z.string().max(4096) }) });
