// The wide fixture: a thousand store paths in one closure, with a lockfile whose install
// set is its roots, programs that count what they see, and caches real Nix substitutes from.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseLockfile, storePathsToInstall } from '@flox-k8s/lockfile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNix } from './nix-command.ts';
import { serveCache } from './serve-cache.ts';
import { nix, nixSkipReason, tempDir } from './test-nix.ts';
import { nixWideFixtures, type NixWideFixtures } from './wide.ts';

const skip = nixSkipReason();

describe.skipIf(skip !== undefined)(`nixWideFixtures${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let wide: NixWideFixtures;
  let work: { dir: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    wide = await nixWideFixtures();
    work = await tempDir('wide');
  }, 20 * 60_000);
  afterAll(() => work?.cleanup());

  it('holds ≥ 1,000 small store paths in one closure, with real references', async () => {
    expect(wide.closure.length).toBeGreaterThanOrEqual(1_000);
    expect(wide.closure).toEqual((await runNix('nix-store', ['--query', '--requisites', wide.packages['wide-check']!.out])).trim().split('\n').sort());
    const pkg = wide.packages['wide-pkg-00']!.out;
    const references = (await runNix('nix-store', ['--query', '--references', pkg])).trim().split('\n').filter((ref) => ref !== pkg);
    expect(references).toHaveLength(33); // its 32 libraries and busybox
    expect(references).toContain(wide.packages['busybox']!.out);
    expect(wide.stats.largestFile.size).toBeLessThan(4_000_000); // busybox; everything else is tiny
    expect(wide.narSize / wide.closure.length).toBeLessThan(10_000);
  });

  it('writes a lockfile whose install set is exactly the roots', () => {
    const lock = parseLockfile(wide.lockfile.bytes);
    expect(storePathsToInstall(lock, 'x86_64-linux')).toEqual(wide.roots);
    expect(wide.roots).toEqual(Object.values(wide.packages).map((p) => p.out).sort());
    expect(Object.keys(wide.packages)).toHaveLength(34);
  });

  it('runs wide-check and a package script on the host with exactly the expected output', () => {
    const [check, list] = wide.programs;
    const result = spawnSync(check!.argv[0]!, check!.argv.slice(1), { env: {}, encoding: 'utf8' });
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 0, stdout: check!.stdout });
    expect(check!.stdout).toBe(`wide: ${wide.closure.length} of ${wide.closure.length} store paths present\n`);
    const pkg = spawnSync(`${wide.packages['wide-pkg-31']!.out}/bin/wide-pkg-31`, { env: {}, encoding: 'utf8' });
    expect(pkg.stdout).toBe('wide-pkg-31: 32 libraries\n');
    // Inside a container that mounts exactly the closure, ls /nix/store prints every path and nothing else.
    expect(list!.containerOnly).toBe(true);
    expect(list!.stdout.trim().split('\n')).toEqual(wide.closure.map((p) => basename(p)));
  });

  it('lists every file for a byte-for-byte check', () => {
    const sums = readFileSync(wide.listing.sha256, 'utf8').trim().split('\n');
    expect(sums).toHaveLength(wide.stats.files);
    const checked = spawnSync('sha256sum', ['--quiet', '--strict', '-c', wide.listing.sha256], { encoding: 'utf8' });
    expect({ status: checked.status, stdout: checked.stdout }).toEqual({ status: 0, stdout: '' });
  });

  it.each(['xz', 'zstd'] as const)('publishes a signed %s cache that real nix copy --from accepts into a fresh store', async (compression) => {
    const server = await serveCache(wide.caches[compression]);
    const store = join(work.dir, `store-${compression}`);
    try {
      await nix(['copy', '--from', server.url, '--to', store, '--option', 'trusted-public-keys', wide.publicKey, ...wide.roots], join(work.dir, `xdg-${compression}`));
    } finally {
      await server.close();
    }
    expect(server.count('/nar/')).toBe(wide.closure.length);
    await nix(['store', 'verify', '--store', store, '--option', 'trusted-public-keys', wide.publicKey, ...wide.closure], join(work.dir, `xdg-${compression}`));
  }, 600_000);
});
