// Where FloxHub keeps an environment, as the Flox CLI reads and writes it (checked
// against flox/flox v1.14.1-132-g6536dac28, see the package README):
//   <git url>/<owner>/floxmeta               one repository per owner (models/floxmeta.rs)
//   branch <name>                             one branch per environment (floxmeta_branch.rs: remote_branch_name)
//   metadata.json                             the live generation and the history (generations.rs)
//   <N>/env/manifest.toml, <N>/env/manifest.lock   generation N (ENV_DIR_NAME = "env")
import { checkSegment } from '../layout.ts';

/** Flox's `GENERATIONS_METADATA_FILE`. */
export const METADATA_FILE = 'metadata.json';

/** The lockfile of generation N on the environment's branch (the lockfile is optional in Flox). */
export function generationLockfilePath(generation: number): string {
  return `${generation}/env/manifest.lock`;
}

/** The owner's floxmeta repository URL under the configured git URL. */
export function floxmetaRepoUrl(gitUrl: string, owner: string): string {
  return `${gitUrl.replace(/\/+$/, '')}/${checkSegment('owner', owner)}/floxmeta`;
}

/** The environment's branch: its name, exactly (Flox's `remote_branch_name`). */
export function environmentBranch(name: string): string {
  return `refs/heads/${checkSegment('name', name)}`;
}

/** Largest `metadata.json` accepted (its history grows by one short entry per change). */
export const MAX_METADATA_BYTES: number = 8 * 1024 * 1024;
