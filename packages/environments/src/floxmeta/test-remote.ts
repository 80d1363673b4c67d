// Test helper: a FloxHub-like remote served by the real `git http-backend` on loopback,
// with acme/hello at generations 1 and 2 (live 2), and readers for it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@flox-k8s/config';
import { FloxmetaRemote, serveGit, type GitServer, type ServeGitOptions } from '@flox-k8s/git-server';
import { lockfileDigest } from '@flox-k8s/lockfile';
import { sourceReaders } from '../resolve.ts';
import type { EnvironmentSourceReader } from '../types.ts';

export const TOKEN = 'flox-hub-token-5e3a9c';

export interface TestRemote {
  dir: string;
  remote: FloxmetaRemote;
  server: GitServer;
  tokenFile: string;
  /** Generation N's lockfile bytes (1-based), as committed. */
  lockfiles: Uint8Array[];
  digest(n: number): string;
  /** Serves the same repositories again, e.g. with a fault hook or another token. */
  serve(options?: Omit<ServeGitOptions, 'root'>): Promise<GitServer>;
  /** Readers for one floxmeta source (fresh cache unless `cacheDir` is given). */
  readers(source?: Record<string, unknown>): Promise<EnvironmentSourceReader[]>;
  close(): Promise<void>;
}

const fixture = new URL('../../test/fixtures/hello-4systems.lock.json', import.meta.url);

/** Lockfile N: the fixture with N trailing newlines (valid, distinct digests). */
export async function fixtureLockfile(n: number): Promise<Uint8Array> {
  const text = (await readFile(fixture, 'utf8')).trimEnd();
  return new TextEncoder().encode(`${text}${'\n'.repeat(n)}`);
}

export async function startTestRemote(): Promise<TestRemote> {
  const dir = await mkdtemp(join(tmpdir(), 'flox-floxmeta-'));
  const remote = new FloxmetaRemote(join(dir, 'remote'));
  await remote.createOwner('acme');
  const lockfiles = [await fixtureLockfile(1), await fixtureLockfile(2)];
  for (const lockfile of lockfiles) await remote.addGeneration('acme', 'hello', { lockfile });
  const tokenFile = join(dir, 'floxhub-token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  const servers: GitServer[] = [];
  const serve = async (options: Omit<ServeGitOptions, 'root'> = { token: TOKEN }): Promise<GitServer> => {
    const server = await serveGit({ root: remote.root, ...options });
    servers.push(server);
    return server;
  };
  const server = await serve();
  let caches = 0;
  return {
    dir,
    remote,
    server,
    tokenFile,
    lockfiles,
    digest: (n) => lockfileDigest(lockfiles[n - 1] as Uint8Array),
    serve,
    readers: async (source = {}) => {
      const cacheDir = join(dir, `cache-${++caches}`);
      return sourceReaders(parseConfig({ storeRoot: join(dir, 'store'), sources: [{ type: 'floxmeta', url: server.url, tokenFile, cacheDir, ...source }] }).sources);
    },
    close: async () => {
      for (const s of servers) await s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
