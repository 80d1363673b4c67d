// The floxmeta source against a real git server (git http-backend on loopback), with
// repositories made by the git CLI in FloxHub's layout.
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floxhubAuthorization, gitSkipReason } from '@flox-k8s/git-server';
import { fetchEnvironment, parseReference, resolveEnvironment } from '../index.ts';
import { fixtureLockfile, startTestRemote, TOKEN, type TestRemote } from './test-remote.ts';

const bytesOf = (b: Uint8Array): Buffer => Buffer.from(b);

describe.skipIf(gitSkipReason())('floxmeta source', () => {
  let t: TestRemote;
  beforeAll(async () => {
    t = await startTestRemote();
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Requests the server saw while `run` ran. */
  async function counted<T>(run: () => Promise<T>, server = t.server): Promise<{ value: T; requests: typeof server.requests }> {
    const before = server.requests.length;
    const value = await run();
    return { value, requests: server.requests.slice(before) };
  }

  it('resolves live, pinned and digest references to the committed lockfile bytes', async () => {
    const readers = await t.readers();
    const live = await resolveEnvironment(parseReference('acme/hello'), readers);
    expect(live).toMatchObject({ generation: 2, digest: t.digest(2), source: `floxmeta ${t.server.url}` });
    expect(bytesOf(live.bytes).equals(bytesOf(t.lockfiles[1] as Uint8Array))).toBe(true);
    expect(live.lock.digest).toBe(t.digest(2));

    const first = await resolveEnvironment(parseReference('acme/hello:1'), readers);
    expect(first.generation).toBe(1);
    expect(bytesOf(first.bytes).equals(bytesOf(t.lockfiles[0] as Uint8Array))).toBe(true);

    // Generation 1 is not live: a digest pin finds it among the generations all the same.
    const pinned = await fetchEnvironment(parseReference(`acme/hello@sha256:${t.digest(1)}`), await t.readers());
    expect(pinned).toMatchObject({ generation: 1, digest: t.digest(1) });
  });

  it('sends the token, as Flox does (Basic oauth:<token>), on every request', async () => {
    const { requests } = await counted(async () => fetchEnvironment(parseReference('acme/hello:2'), await t.readers()));
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /acme/floxmeta/info/refs', 'POST /acme/floxmeta/git-upload-pack']);
    expect(requests.every((r) => r.authorization === floxhubAuthorization(TOKEN))).toBe(true);
  });

  it("a request's own token (a pod's /var/run/secrets/flox.dev) replaces the tokenFile; a wrong one is named by its origin", async () => {
    const { parseConfig } = await import('@flox-k8s/config');
    const { sourceReaders } = await import('../index.ts');
    const source = (cacheDir: string) => parseConfig({ sources: [{ type: 'floxmeta', url: t.server.url, cacheDir: join(t.dir, cacheDir) }] }).sources;
    // No tokenFile configured: only the request's token gets in.
    const { value, requests } = await counted(() =>
      fetchEnvironment(parseReference('acme/hello:1'), sourceReaders(source('cache-pod-token'), { floxhubToken: { value: TOKEN, origin: 'the pod Secret' } })),
    );
    expect(value.digest).toBe(t.digest(1));
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((r) => r.authorization === floxhubAuthorization(TOKEN))).toBe(true);
    const readers = sourceReaders(source('cache-pod-wrong'), { floxhubToken: { value: 'not-the-token', origin: 'pod secret /var/run/secrets/flox.dev/floxhub-token' } });
    await expect(fetchEnvironment(parseReference('acme/hello:1'), readers)).rejects.toMatchObject({
      code: 'FLOXK8S_FLOXMETA_UNAUTHORIZED',
      message: expect.stringContaining('the token in pod secret /var/run/secrets/flox.dev/floxhub-token was not accepted') as string,
    });
  });

  it('answers a pinned generation or digest a second time with no request to the remote', async () => {
    const readers = await t.readers();
    const first = await counted(() => fetchEnvironment(parseReference('acme/hello:1'), readers));
    expect(first.requests).toHaveLength(2);
    const again = await counted(() => fetchEnvironment(parseReference('acme/hello:1'), readers));
    expect(again.requests).toEqual([]);
    expect(bytesOf(again.value.bytes).equals(bytesOf(first.value.bytes))).toBe(true);
    // The cache is the node's, not the process's: another process (new readers) on the same cacheDir.
    const cacheDir = join(t.dir, 'cache-shared');
    await fetchEnvironment(parseReference(`acme/hello@sha256:${t.digest(1)}`), await t.readers({ cacheDir }));
    const other = await counted(async () => {
      const fresh = await t.readers({ cacheDir });
      return [await fetchEnvironment(parseReference(`acme/hello@sha256:${t.digest(1)}`), fresh), await fetchEnvironment(parseReference('acme/hello:1'), fresh)];
    });
    expect(other.requests).toEqual([]);
    expect(other.value.map((v) => v.generation)).toEqual([1, 1]);
  });

  it('follows the live generation: one GET while the branch stands still, a fetch when it moves', async () => {
    const remote = await t.serve();
    const readers = await t.readers({ url: remote.url });
    const live = await counted(() => fetchEnvironment(parseReference('acme/hello'), readers), remote);
    expect(live.value.generation).toBe(2);
    expect(live.requests).toHaveLength(2);
    const still = await counted(() => fetchEnvironment(parseReference('acme/hello'), readers), remote);
    expect(still.value.generation).toBe(2);
    expect(still.requests.map((r) => r.method)).toEqual(['GET']);

    const third = await fixtureLockfile(3);
    await t.remote.addGeneration('acme', 'hello', { lockfile: third });
    const moved = await counted(() => fetchEnvironment(parseReference('acme/hello'), readers), remote);
    expect(moved.value.generation).toBe(3);
    expect(bytesOf(moved.value.bytes).equals(bytesOf(third))).toBe(true);
    expect(moved.requests).toHaveLength(2);

    // A rollback (flox generations switch) moves the branch too.
    await t.remote.switchGeneration('acme', 'hello', 1);
    expect((await fetchEnvironment(parseReference('acme/hello'), readers)).generation).toBe(1);
    await t.remote.switchGeneration('acme', 'hello', 3);
  });

  it('with liveTtlMs, reuses a recent branch read without asking', async () => {
    const readers = await t.readers({ liveTtlMs: 60_000 });
    const first = await fetchEnvironment(parseReference('acme/hello'), readers);
    const again = await counted(() => fetchEnvironment(parseReference('acme/hello'), readers));
    expect(again.requests).toEqual([]);
    expect(again.value.digest).toBe(first.digest);
  });

  it('tries the sources in order: a floxmeta miss falls through to the next source', async () => {
    const { parseConfig } = await import('@flox-k8s/config');
    const { publishEnvironment, sourceReaders } = await import('../index.ts');
    const hubDir = join(t.dir, 'dir-source');
    await publishEnvironment(hubDir, 'acme', 'only-in-dir', t.lockfiles[0] as Uint8Array);
    const readers = sourceReaders(
      parseConfig({
        sources: [
          { type: 'floxmeta', url: t.server.url, tokenFile: t.tokenFile, cacheDir: join(t.dir, 'cache-order') },
          { type: 'dir', path: hubDir },
        ],
      }).sources,
    );
    expect((await fetchEnvironment(parseReference('acme/only-in-dir'), readers)).source).toBe(`dir ${hubDir}`);
    await expect(fetchEnvironment(parseReference('acme/neither'), readers)).rejects.toMatchObject({
      code: 'FLOXK8S_ENV_NOT_FOUND',
      message: expect.stringContaining('has no branch neither') as string,
    });
  });

  it('rejects a digest no generation has, as every source does', async () => {
    await expect(fetchEnvironment(parseReference(`acme/hello@sha256:${'a'.repeat(64)}`), await t.readers())).rejects.toMatchObject({
      code: 'FLOXK8S_ENV_DIGEST_MISMATCH',
    });
  });

  it('treats a damaged cache file as a miss, never as an answer, and sweeps stale scratch', async () => {
    const cacheDir = join(t.dir, 'cache-damaged');
    const readers = await t.readers({ cacheDir });
    await fetchEnvironment(parseReference('acme/hello:2'), readers);
    const lockfiles = join(cacheDir, 'v1', 'lockfiles');
    for (const name of await readdir(lockfiles)) await writeFile(join(lockfiles, name), '{"tampered": true}');
    // And scratch a crashed fetch left behind an hour ago is swept by the next fetch.
    const debris = join(cacheDir, 'v1', 'tmp', 'fetch-1-crashed');
    await mkdir(join(debris, 'objects'), { recursive: true });
    const hourAgo = new Date(Date.now() - 3_700_000);
    await utimes(debris, hourAgo, hourAgo);
    const { value, requests } = await counted(() => fetchEnvironment(parseReference('acme/hello:2'), readers));
    expect(requests).toHaveLength(2);
    expect(bytesOf(value.bytes).equals(bytesOf(t.lockfiles[1] as Uint8Array))).toBe(true);
    expect(await readdir(join(cacheDir, 'v1', 'tmp'))).toEqual([]);
  });
});
