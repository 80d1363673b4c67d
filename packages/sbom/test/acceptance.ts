// The acceptance checks of an environment's SBOM against a real Nix-built closure,
// as a function of the fixture, so the same checks run on every fixture handed in
// (today the small nix-fixtures environment and a 127-path bench closure; the
// realistic fixtures of the real-scale work plug in the same way).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLockfile, storePathsToInstall, type Lockfile } from '@flox-k8s/lockfile';
import { BinaryCacheClient, type Narinfo } from '@flox-k8s/nar';
import { nixSkipReason, serveCache, type ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from '@flox-k8s/store';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  closureFromCache,
  cycloneDxJson,
  environmentSbom,
  spdxJson,
  type ClosurePathInfo,
  type EnvironmentIdentity,
  type EnvironmentSbom,
} from '../src/index.ts';
import { nixPathInfo, type NixPathInfo } from './nix-path-info.ts';
import { cycloneDxProblems, spdxProblems } from './validate.ts';

/** A real closure to make an SBOM of: a lockfile and a signed binary cache that holds its closure. */
export interface SbomFixture {
  /** The lockfile's exact bytes. */
  lockfile: Uint8Array;
  system: string;
  environment: EnvironmentIdentity;
  /** A `file://` binary cache directory (served over loopback HTTP by the suite). */
  cacheDir: string;
  /** `name:base64` key the cache's narinfos are signed with. */
  publicKey: string;
  /** The suite fails unless the closure has at least this many paths (default 1). */
  minPaths?: number;
}

interface CdxComponent {
  'bom-ref': string;
  hashes: Array<{ alg: string; content: string }>;
  properties: Array<{ name: string; value: string }>;
}
interface CdxBom {
  metadata: { component: { 'bom-ref': string } };
  components: CdxComponent[];
  dependencies: Array<{ ref: string; dependsOn?: string[] }>;
}
interface SpdxDoc {
  packages: Array<{ SPDXID: string; packageFileName?: string; checksums: Array<{ checksumValue: string }> }>;
  relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
}

/** Declare the SBOM acceptance tests of one fixture (skipped with the reason outside CI when real Nix is missing). */
export function describeSbomAcceptance(label: string, load: () => Promise<SbomFixture>): void {
  const skip = nixSkipReason();
  describe.skipIf(skip !== undefined)(`SBOM of ${label}${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
    let fixture: SbomFixture;
    let server: ServedCache;
    let lock: Lockfile;
    let narinfos: Narinfo[];
    let cdx: string;
    let spdx: string;
    const sbomOf = (closure: Iterable<ClosurePathInfo>): EnvironmentSbom =>
      environmentSbom({ lockfile: lock, system: fixture.system, closure, environment: fixture.environment });

    beforeAll(async () => {
      fixture = await load();
      lock = parseLockfile(fixture.lockfile);
      server = await serveCache(fixture.cacheDir);
      narinfos = await closureFromCache(client(), lock, fixture.system);
      const sbom = sbomOf(narinfos);
      cdx = cycloneDxJson(sbom);
      spdx = spdxJson(sbom);
    });
    afterAll(async () => {
      await server?.close();
    });
    const client = (): BinaryCacheClient => new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [fixture.publicKey] });

    test('the closure is as large as the fixture promises, and only narinfos were fetched', () => {
      expect(narinfos.length).toBeGreaterThanOrEqual(fixture.minPaths ?? 1);
      expect(server.count('/nar/')).toBe(0);
      expect(server.count(/\.narinfo$/)).toBe(narinfos.length);
    });

    test('both formats validate: CycloneDX 1.6 (library validator) and SPDX 2.3 (published schema)', async () => {
      expect(await cycloneDxProblems(cdx)).toEqual([]);
      expect(spdxProblems(spdx)).toEqual([]);
    });

    test('CycloneDX lists every closure path with its NarHash, size, references and signatures, and the graph from References', () => {
      const bom = JSON.parse(cdx) as CdxBom;
      expect(bom.components.map((c) => c['bom-ref']).sort()).toEqual(narinfos.map((n) => n.storePath));
      const byRef = new Map(bom.components.map((c) => [c['bom-ref'], c]));
      const deps = new Map(bom.dependencies.map((d) => [d.ref, d.dependsOn ?? []]));
      for (const n of narinfos) {
        const c = byRef.get(n.storePath)!;
        const props = (name: string): string[] => c.properties.filter((p) => p.name === name).map((p) => p.value);
        const refs = n.references.map((r) => `/nix/store/${r}`).sort();
        expect(c.hashes).toEqual([{ alg: 'SHA-256', content: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown }]);
        expect(props('nix:store_path')).toEqual([n.storePath]);
        expect(props('nix:narinfo:nar_hash')).toEqual([n.narHash]);
        expect(props('nix:narinfo:nar_size')).toEqual([String(n.narSize)]);
        expect(props('nix:narinfo:references')).toEqual([refs.join(' ')]);
        expect(props('nix:narinfo:sig')).toEqual([...n.sigs].sort());
        expect(props('nix:narinfo:deriver')).toEqual(n.deriver === undefined ? [] : [`/nix/store/${n.deriver}`]);
        expect(deps.get(n.storePath)).toEqual(refs.filter((r) => r !== n.storePath));
      }
      expect(deps.get(bom.metadata.component['bom-ref'])).toEqual(storePathsToInstall(lock, fixture.system));
    });

    test('SPDX lists every closure path with its checksum and a DEPENDS_ON per reference', () => {
      const doc = JSON.parse(spdx) as SpdxDoc;
      const [root, ...packages] = doc.packages;
      expect(root?.SPDXID).toBe('SPDXRef-environment');
      expect(packages.map((p) => p.packageFileName)).toEqual(narinfos.map((n) => n.storePath));
      const idOf = new Map(packages.map((p) => [p.packageFileName!, p.SPDXID]));
      const edges = doc.relationships.filter((r) => r.relationshipType === 'DEPENDS_ON').map((r) => `${r.spdxElementId} ${r.relatedSpdxElement}`);
      const expected = [
        ...storePathsToInstall(lock, fixture.system).map((p) => `SPDXRef-environment ${idOf.get(p)}`),
        ...narinfos.flatMap((n) =>
          n.references.map((r) => `/nix/store/${r}`).filter((r) => r !== n.storePath).map((r) => `${idOf.get(n.storePath)} ${idOf.get(r)}`),
        ),
      ];
      expect(edges.sort()).toEqual(expected.sort());
      const cdxHashes = new Map((JSON.parse(cdx) as CdxBom).components.map((c) => [c['bom-ref'], c.hashes[0]?.content]));
      for (const p of packages) expect(p.checksums).toEqual([{ algorithm: 'SHA256', checksumValue: cdxHashes.get(p.packageFileName!) }]);
    });

    test('the same lockfile and closure give byte-identical output (fresh client, closure in another order)', async () => {
      const again = await closureFromCache(client(), lock, fixture.system);
      const sbom = sbomOf([...again].reverse());
      expect(cycloneDxJson(sbom)).toBe(cdx);
      expect(spdxJson(sbom)).toBe(spdx);
    });

    test('component count, NarHashes, sizes, references and derivers equal `nix path-info -r --json`', async () => {
      const nix = await nixPathInfo(storePathsToInstall(lock, fixture.system));
      const bom = JSON.parse(cdx) as CdxBom;
      expect(bom.components).toHaveLength(nix.length);
      const byRef = new Map(bom.components.map((c) => [c['bom-ref'], c]));
      for (const info of nix) {
        const c = byRef.get(info.path);
        expect(c, info.path).toBeDefined();
        const prop = (name: string): string | undefined => c!.properties.find((p) => p.name === name)?.value;
        expect(c!.hashes[0]?.content).toBe(sriToHex(info.narHash));
        expect(prop('nix:narinfo:nar_size')).toBe(String(info.narSize));
        expect(prop('nix:narinfo:references')).toBe([...info.references].sort().join(' '));
        expect(prop('nix:narinfo:deriver')).toBe(info.deriver);
      }
    });

    test('the node store\'s records of the realised closure give the same SBOM, without the signatures', async () => {
      const root = await mkdtemp(join(tmpdir(), 'flox-k8s-sbom-store-'));
      try {
        const store = await Store.open(root, { fsync: false });
        const { closure } = await store.realise(storePathsToInstall(lock, fixture.system), {
          caches: [{ url: server.url }],
          trustedKeys: [fixture.publicKey],
        });
        const records = closure.map((p) => store.pathInfo(p)!);
        const unsigned = narinfos.map((n) => ({ ...n, sigs: [] }));
        expect(cycloneDxJson(sbomOf(records))).toBe(cycloneDxJson(sbomOf(unsigned)));
        expect(spdxJson(sbomOf(records))).toBe(spdx);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  });
}

// Nix prints NarHash as SRI; decoding the base64 here, not with our nix32 code, keeps the check independent.
function sriToHex(sri: NixPathInfo['narHash']): string {
  if (!sri.startsWith('sha256-')) throw new Error(`unexpected narHash ${sri}`);
  return Buffer.from(sri.slice('sha256-'.length), 'base64').toString('hex');
}
