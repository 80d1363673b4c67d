// A FloxHub stand-in for the shim suites: the fixture environment pushed as generations of
// acme/fixture in a floxmeta repository (made with the git CLI), served by the real
// `git http-backend` on loopback, token-protected as FloxHub is.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FloxmetaRemote, serveGit, type GitServer } from '@flox-k8s/git-server';
import type { ShimConfigInput } from '@flox-k8s/config';
import { ENV_NAME, ENV_OWNER } from './flox-node.ts';

export const FLOXHUB_TOKEN = 'e2e-floxhub-token-7d1f';

export interface Floxhub {
  server: GitServer;
  tokenFile: string;
  /** sha256 of generation N's lockfile (1 and 2; 2 is live). */
  digests: [string, string];
  /** The `sources` of a shim config reading acme/fixture from this hub. */
  sources: NonNullable<ShimConfigInput['sources']>;
  close(): Promise<void>;
}

/** Generation 1 is the fixture lockfile; generation 2 the same environment with other bytes (another digest), live. */
export async function startFloxhub(lockfile: Uint8Array): Promise<Floxhub> {
  const dir = await mkdtemp(join(tmpdir(), 'flox-e2e-floxhub-'));
  try {
    const remote = new FloxmetaRemote(join(dir, 'remote'));
    await remote.createOwner(ENV_OWNER);
    const second = new TextEncoder().encode(`${new TextDecoder().decode(lockfile).trimEnd()}\n\n`);
    await remote.addGeneration(ENV_OWNER, ENV_NAME, { lockfile });
    await remote.addGeneration(ENV_OWNER, ENV_NAME, { lockfile: second });
    const tokenFile = join(dir, 'floxhub-token');
    await writeFile(tokenFile, `${FLOXHUB_TOKEN}\n`, { mode: 0o600 });
    const server = await serveGit({ root: remote.root, token: FLOXHUB_TOKEN });
    return {
      server,
      tokenFile,
      digests: [sha256(lockfile), sha256(second)],
      sources: [{ type: 'floxmeta', url: server.url, tokenFile }],
      close: async () => {
        await server.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
