import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FloxmetaRemote, floxhubAuthorization, git, gitSkipReason, serveGit, type GitServer } from './index.ts';

describe.skipIf(gitSkipReason())('serveGit + FloxmetaRemote', () => {
  let dir: string;
  let remote: FloxmetaRemote;
  let server: GitServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flox-git-server-'));
    remote = new FloxmetaRemote(join(dir, 'remote'));
    await remote.createOwner('acme');
    await remote.addGeneration('acme', 'hello', { lockfile: '{"lockfile-version": 1}\n' });
    await remote.addGeneration('acme', 'hello', { lockfile: '{"lockfile-version": 1}\n\n' });
    await remote.switchGeneration('acme', 'hello', 1);
    server = await serveGit({ root: remote.root, token: 'tok' });
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the layout the Flox CLI writes: <N>/env/manifest.{toml,lock} and metadata.json', async () => {
    const files = await git(['--git-dir', remote.repo('acme'), 'ls-tree', '-r', '--name-only', 'refs/heads/hello']);
    expect(files.split('\n')).toEqual(['1/env/manifest.lock', '1/env/manifest.toml', '2/env/manifest.lock', '2/env/manifest.toml', 'metadata.json']);
    const metadata = await remote.metadata('acme', 'hello');
    expect(metadata.total_generations).toBe(2);
    expect(metadata.history.map((h) => [h.kind, h.current_generation, h.previous_generation])).toEqual([
      ['edit', '1', undefined],
      ['edit', '2', '1'],
      ['switch_generation', '1', '2'],
    ]);
  });

  it('serves the real git client over smart HTTP, with the token and only with it', async () => {
    const url = `${server.url}/acme/floxmeta`;
    const clone = join(dir, 'clone');
    await git(['-c', `http.extraHeader=Authorization: ${floxhubAuthorization('tok')}`, 'clone', '--quiet', '--bare', '--depth', '1', '--branch', 'hello', url, clone]);
    expect(await git(['--git-dir', clone, 'rev-parse', 'refs/heads/hello'])).toBe(await remote.head('acme', 'hello'));
    expect(server.requests.some((r) => r.method === 'POST' && r.path === '/acme/floxmeta/git-upload-pack')).toBe(true);
    await expect(git(['-c', 'credential.helper=', 'ls-remote', url], { env: { GIT_TERMINAL_PROMPT: '0' } })).rejects.toThrow(/401|Authentication failed|could not read Username/);
  });
});
