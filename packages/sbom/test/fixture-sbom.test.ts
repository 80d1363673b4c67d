// The SBOM acceptance checks on real Nix-built closures: the small fixture
// environment (4 paths, a catalog-style lockfile) and a 127-path closure built
// by nixBenchFixtures (a binary tree of references) under a store-path lockfile.
import { parseLockfile } from '@flox-k8s/lockfile';
import { BinaryCacheClient } from '@flox-k8s/nar';
import { FIXTURE_PACKAGES, FIXTURE_SYSTEM, nixBenchFixtures, nixFixtures, nixSkipReason, serveCache } from '@flox-k8s/nix-fixtures';
import { describe, expect, test } from 'vitest';
import { closureFromCache, cycloneDxJson, environmentSbom } from '../src/index.ts';
import { describeSbomAcceptance, type SbomFixture } from './acceptance.ts';

async function smallFixture(): Promise<SbomFixture> {
  const f = await nixFixtures();
  return {
    lockfile: f.lockfile.bytes,
    system: FIXTURE_SYSTEM,
    environment: { owner: 'acme', name: 'fixture', generation: 3 },
    cacheDir: f.caches.zstd,
    publicKey: f.publicKey,
    minPaths: 4,
  };
}

// 127 paths = a full binary tree of depth 7; 16 KiB each keeps the first build short.
const BENCH_PATHS = 127;

async function benchFixture(): Promise<SbomFixture> {
  const f = await nixBenchFixtures({ paths: BENCH_PATHS, totalBytes: BENCH_PATHS * 16 * 1024 });
  const storePath = f.roots[0]!;
  // A store-path entry ({install_id, store_path, system, priority}), the shape Flox locks a literal path in.
  const lock = {
    'lockfile-version': 1,
    manifest: { version: 1, install: { bench: { 'store-path': storePath } }, options: { systems: [FIXTURE_SYSTEM] } },
    packages: [{ install_id: 'bench', store_path: storePath, system: FIXTURE_SYSTEM, priority: 5 }],
  };
  return {
    lockfile: new TextEncoder().encode(`${JSON.stringify(lock, null, 2)}\n`),
    system: FIXTURE_SYSTEM,
    environment: { owner: 'acme', name: 'bench' },
    cacheDir: f.caches.zstd,
    publicKey: f.publicKey,
    minPaths: BENCH_PATHS,
  };
}

describeSbomAcceptance('the nix-fixtures environment', smallFixture);
describeSbomAcceptance(`a ${BENCH_PATHS}-path bench closure`, benchFixture);

const skip = nixSkipReason();
describe.skipIf(skip !== undefined)(`names and licences of the fixture environment come from its lockfile${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  test('each installed package is named, versioned, described and licensed as the lockfile says', async () => {
    const f = await nixFixtures();
    const server = await serveCache(f.caches.xz);
    try {
      const lock = parseLockfile(f.lockfile.bytes);
      const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [f.publicKey] });
      const sbom = environmentSbom({
        lockfile: lock,
        system: FIXTURE_SYSTEM,
        closure: await closureFromCache(client, lock, FIXTURE_SYSTEM),
        environment: { owner: 'acme', name: 'fixture', generation: 3 },
      });
      const byPath = new Map(sbom.components.map((c) => [c.storePath, c]));
      for (const [key, pkg] of Object.entries(FIXTURE_PACKAGES)) {
        const c = byPath.get(f.storePaths[key as keyof typeof f.storePaths])!;
        expect([c.name, c.version, c.purl, c.licenses]).toEqual([pkg.pname, pkg.version, `pkg:nix/${pkg.pname}@${pkg.version}`, [{ kind: 'spdx', id: 'Apache-2.0' }]]);
        expect(c.lockedAs).toEqual({ installId: pkg.installId, output: 'out' });
        expect(c.description).toMatch(/flox-k8s test fixture/);
      }
      expect(JSON.parse(cycloneDxJson(sbom)).metadata.component).toMatchObject({ group: 'acme', name: 'fixture', version: '3' });
    } finally {
      await server.close();
    }
  });
});
