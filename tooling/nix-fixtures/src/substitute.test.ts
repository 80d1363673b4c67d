// Acceptance (issue 2): the fixture caches are real. Real Nix substitutes the
// fixture closure over HTTP from serveCache into a separate chroot store, with
// only the generated key trusted, for every compression.
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NixCommandError } from './errors.ts';
import { nixFixtures, type NixFixtures } from './fixtures.ts';
import { COMPRESSIONS } from './nix.ts';
import { serveCache } from './serve-cache.ts';
import { nix, nixSkipReason, tempDir } from './test-nix.ts';

const skip = nixSkipReason();

describe.skipIf(skip !== undefined)(`substituting the fixture closure with real Nix${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fixtures: NixFixtures;
  let work: { dir: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    fixtures = await nixFixtures();
    work = await tempDir('substitute');
  });
  afterAll(() => work?.cleanup());

  /** Copies the closure of `script` and `tree` from the HTTP cache into a new chroot store. */
  async function substitute(cacheUrl: string, storeRoot: string, trustedKey: string): Promise<void> {
    await nix(
      [
        'copy',
        '--from', cacheUrl,
        '--to', storeRoot,
        '--option', 'trusted-public-keys', trustedKey,
        fixtures.storePaths.script,
        fixtures.storePaths.tree,
      ],
      join(work.dir, 'nix-cache'),
    );
  }

  it.each(COMPRESSIONS)('substitutes and verifies the closure from the %s cache', async (compression) => {
    const server = await serveCache(fixtures.caches[compression]);
    const storeRoot = join(work.dir, `store-${compression}`);
    try {
      await substitute(server.url, storeRoot, fixtures.publicKey);
    } finally {
      await server.close();
    }

    // Nix re-hashed every path and checked the signatures against the trusted key.
    await nix(
      ['store', 'verify', '--store', storeRoot, '--option', 'trusted-public-keys', fixtures.publicKey, ...fixtures.closure],
      join(work.dir, 'nix-cache'),
    );
    const infos = JSON.parse(
      await nix(['path-info', '--json', '--store', storeRoot, ...fixtures.closure], join(work.dir, 'nix-cache')),
    ) as Array<{ path: string; narHash: string; references: string[] }>;
    const hostInfos = JSON.parse(
      await nix(['path-info', '--json', ...fixtures.closure], join(work.dir, 'nix-cache')),
    ) as Array<{ path: string; narHash: string; references: string[] }>;
    expect(infos.map(({ path, narHash, references }) => ({ path, narHash, references: [...references].sort() }))).toEqual(
      hostInfos.map(({ path, narHash, references }) => ({ path, narHash, references: [...references].sort() })),
    );

    // The bytes themselves, as a container would see them.
    const inStore = (storePath: string, ...rest: string[]): string => join(storeRoot, storePath, ...rest);
    expect(await readFile(inStore(fixtures.storePaths.busybox, 'bin', 'busybox'))).toEqual(await readFile('/bin/busybox'));
    expect(await readlink(inStore(fixtures.storePaths.busybox, 'bin', 'sh'))).toBe('busybox');
    const script = await readFile(inStore(fixtures.storePaths.script, 'bin', 'hello-flox'), 'utf8');
    expect(script.startsWith(`#!${fixtures.storePaths.busybox}/bin/sh\n`)).toBe(true);
    expect(await readFile(inStore(fixtures.storePaths.tree, 'share', 'empty-file'))).toHaveLength(0);
    expect(await readlink(inStore(fixtures.storePaths.tree, 'share', 'self-link'))).toBe(
      `${fixtures.storePaths.tree}/bin/tree-tool`,
    );

    // One narinfo GET and one NAR GET per closure path went over HTTP.
    expect(server.count('/nix-cache-info')).toBeGreaterThanOrEqual(1);
    expect(server.count('/nar/')).toBe(fixtures.closure.length);
    expect(server.requests.filter((r) => r.method === 'GET' && r.path.endsWith('.narinfo'))).toHaveLength(
      fixtures.closure.length,
    );
  }, 120_000);

  it('refuses the closure when the generated key is not the trusted one', async () => {
    const server = await serveCache(fixtures.caches.xz);
    const storeRoot = join(work.dir, 'store-untrusted');
    // Same name, different (valid) key: only the signature can tell them apart.
    const otherKey = `${fixtures.publicKey.split(':')[0]}:${Buffer.alloc(32, 7).toString('base64')}`;
    try {
      const failure = await substitute(server.url, storeRoot, otherKey).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(NixCommandError);
      expect((failure as NixCommandError).code).toBe('FLOXK8S_FIXTURE_NIX_FAILED');
      expect((failure as NixCommandError).stderr).toMatch(/lacks a valid signature/);
    } finally {
      await server.close();
    }
    expect(server.count('/nar/')).toBe(0);
  }, 120_000);
});
