// The lockfile-derived parts of the SBOM (names, versions, licences, descriptions,
// purls) on every real Flox lockfile of @flox-k8s/lockfile's fixtures, for every
// system each one locks. Their store paths live on cache.nixos.org, which this
// machine cannot reach, so the path infos are synthetic (test/synthetic.ts).
import { readFileSync, readdirSync } from 'node:fs';
import { lockfileSystems, parseLockfile, storePathsToInstall, type LockedPackage, type Lockfile } from '@flox-k8s/lockfile';
import { describe, expect, test } from 'vitest';
import { cycloneDxJson, environmentSbom, parseDrvName, spdxJson, type EnvironmentSbom } from '../src/index.ts';
import { syntheticPathInfo } from './synthetic.ts';
import { cycloneDxProblems, spdxProblems } from './validate.ts';

// Read in place: the fixtures (and their SOURCES.md) belong to @flox-k8s/lockfile.
const LOCKFILES = new URL('../../lockfile/test/fixtures/lockfiles/', import.meta.url);
const names = readdirSync(LOCKFILES).filter((f) => f.endsWith('.lock.json')).sort();

function sbomOf(name: string, system: string): { lock: Lockfile; sbom: EnvironmentSbom } {
  const lock = parseLockfile(readFileSync(new URL(name, LOCKFILES)));
  const closure = storePathsToInstall(lock, system).map((p) => syntheticPathInfo(p));
  return { lock, sbom: environmentSbom({ lockfile: lock, system, closure, environment: { owner: 'flox', name: name.replace('.lock.json', '') } }) };
}

const cases = names.flatMap((name) => {
  const lock = parseLockfile(readFileSync(new URL(name, LOCKFILES)));
  return lockfileSystems(lock).map((system) => [name, system] as const);
});

describe('SBOMs of the real Flox lockfiles (synthetic path infos)', () => {
  test('there are real lockfiles with packages to test', () => {
    expect(names.length).toBeGreaterThanOrEqual(8);
    expect(cases.filter(([name, system]) => sbomOf(name, system).sbom.components.length > 0).length).toBeGreaterThanOrEqual(20);
  });

  test.each(cases)('%s on %s: both formats validate; each component is named, versioned and licensed by its lockfile entry', async (name, system) => {
    const { lock, sbom } = sbomOf(name, system);
    const cdx = cycloneDxJson(sbom);
    const spdx = spdxJson(sbom);
    expect(await cycloneDxProblems(cdx)).toEqual([]);
    expect(spdxProblems(spdx)).toEqual([]);

    const cdxByRef = new Map((JSON.parse(cdx) as { components: CdxComponent[] }).components.map((c) => [c['bom-ref'], c]));
    const spdxByPath = new Map((JSON.parse(spdx) as { packages: SpdxPackage[] }).packages.map((p) => [p.packageFileName, p]));
    expect(sbom.components.map((c) => c.storePath)).toEqual(storePathsToInstall(lock, system));
    for (const c of sbom.components) {
      const entry = firstEntryLocking(lock, system, c.storePath);
      const split = parseDrvName(c.storePath.slice(44));
      const name = entry?.pname || split.name;
      const version = entry?.version || split.version;
      expect([c.name, c.version]).toEqual([name, version]);
      expect(decodePurl(c.purl)).toEqual({ name, version });
      const licenses = entry?.licenses ?? [];
      // SPDX ids may only change case (to the listed spelling); names stay as written.
      expect(c.licenses.map((l) => (l.kind === 'spdx' ? l.id : l.name).toLowerCase())).toEqual(licenses.map((l) => l.toLowerCase()));
      const cdxComponent = cdxByRef.get(c.storePath)!;
      expect(cdxComponent.description).toBe(entry?.description);
      expect(cdxComponent.purl).toBe(c.purl);
      expect((cdxComponent.licenses ?? []).length).toBe(licenses.length);
      const spdxPackage = spdxByPath.get(c.storePath)!;
      expect(spdxPackage.externalRefs).toEqual([{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: c.purl }]);
      if (licenses.length === 0) expect(spdxPackage.licenseDeclared).toBe('NOASSERTION');
      else expect(spdxPackage.licenseDeclared.split(' AND ')).toHaveLength(new Set(licenses).size);
    }
  });

  test('known entries: hello, a two-licence list, a licence off the SPDX list, a flake without pname', () => {
    const hello = sbomOf('hello-4systems.lock.json', 'x86_64-linux').sbom.components;
    expect(hello.map((c) => [c.name, c.version, c.purl, c.licenses])).toEqual([
      ['hello', '2.12.3', 'pkg:nix/hello@2.12.3', [{ kind: 'spdx', id: 'GPL-3.0-or-later' }]],
    ]);

    const mina = sbomOf('mina-indexer-mixed-flake.lock.json', 'x86_64-linux');
    const analyzer = mina.sbom.components.find((c) => c.lockedAs?.installId === 'rust-analyzer')!;
    expect(analyzer.licenses).toEqual([{ kind: 'spdx', id: 'MIT' }, { kind: 'spdx', id: 'Apache-2.0' }]);
    const analyzerSpdx = (JSON.parse(spdxJson(mina.sbom)) as { packages: SpdxPackage[] }).packages.find((p) => p.packageFileName === analyzer.storePath);
    expect(analyzerSpdx?.licenseDeclared).toBe('Apache-2.0 AND MIT');
    // The fenix flake entry has no pname or version: Nix's split of the store name names it.
    const rust = mina.sbom.components.find((c) => c.lockedAs?.installId === 'nightly-rust')!;
    expect([rust.name, rust.version]).toEqual([parseDrvName(rust.storeName).name, parseDrvName(rust.storeName).version]);

    const floxai = sbomOf('floxai-large.lock.json', 'x86_64-linux').sbom;
    const sqlite = floxai.components.filter((c) => c.lockedAs?.installId === 'sqlite');
    // A `version = 1` manifest installs every output but stubs.
    expect(sqlite.map((c) => c.lockedAs?.output).sort()).toEqual(['bin', 'debug', 'dev', 'doc', 'man', 'out']);
    for (const c of sqlite) expect([c.name, c.version, c.licenses]).toEqual(['sqlite', '3.50.2', [{ kind: 'name', name: 'Public Domain' }]]);
    const doc = JSON.parse(spdxJson(floxai)) as { packages: SpdxPackage[]; hasExtractedLicensingInfos: Array<{ licenseId: string; name: string }> };
    const ref = doc.hasExtractedLicensingInfos.find((i) => i.name === 'Public Domain')!.licenseId;
    expect(doc.packages.filter((p) => p.licenseDeclared === ref).map((p) => p.packageFileName).sort()).toEqual(sqlite.map((c) => c.storePath));
  });
});

interface CdxComponent {
  'bom-ref': string;
  description?: string;
  purl?: string;
  licenses?: unknown[];
}
interface SpdxPackage {
  packageFileName?: string;
  licenseDeclared: string;
  externalRefs?: unknown[];
}

function firstEntryLocking(lock: Lockfile, system: string, storePath: string): Exclude<LockedPackage, { kind: 'store-path' }> | undefined {
  for (const p of lock.packages) {
    if (p.system !== system || p.kind === 'store-path') continue;
    if (Object.values(p.outputs).includes(storePath)) return p;
  }
  return undefined;
}

function decodePurl(purl: string): { name: string; version: string } {
  const match = /^pkg:nix\/([^@/?#]+)(?:@([^@/?#]+))?$/.exec(purl);
  if (match === null) throw new Error(`not a pkg:nix purl: ${purl}`);
  return { name: decodeURIComponent(match[1]!), version: decodeURIComponent(match[2] ?? '') };
}
