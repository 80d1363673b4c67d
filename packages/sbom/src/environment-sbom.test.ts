import { parseLockfile } from '@flox-k8s/lockfile';
import { describe, expect, test } from 'vitest';
import { catchError, syntheticPathInfo, syntheticStorePath } from '../test/synthetic.ts';
import { cycloneDxJson } from './cyclonedx.ts';
import { environmentSbom, type EnvironmentSbomInput } from './environment-sbom.ts';
import { SbomError } from './errors.ts';
import { spdxJson } from './spdx.ts';

// A small synthetic environment: app → lib → libc, lib references itself, and the
// catalog entry of `app` also locks a `man` output that is not installed (a schema-version
// manifest installs only outputs_to_install), which `app` references.
const LIBC = syntheticStorePath('glibc-2.40-66');
const LIB = syntheticStorePath('libfoo-1.2.3');
const APP = syntheticStorePath('app-0.9');
const APP_MAN = syntheticStorePath('app-0.9-man');
const SYSTEM = 'x86_64-linux';

const lockText = JSON.stringify({
  'lockfile-version': 1,
  manifest: { 'schema-version': '1.10.0', install: { app: { 'pkg-path': 'app' } }, options: { systems: [SYSTEM] } },
  packages: [
    {
      install_id: 'app', system: SYSTEM, priority: 5, attr_path: 'app', pname: 'the-app', version: '0.9.0',
      description: 'An app', license: '[ MIT, Public Domain ]', outputs: { out: APP, man: APP_MAN }, outputs_to_install: ['out'],
    },
  ],
});

const closure = [
  syntheticPathInfo(APP, [LIB, APP_MAN]),
  syntheticPathInfo(APP_MAN),
  syntheticPathInfo(LIB, [LIB, LIBC]),
  syntheticPathInfo(LIBC),
];

function input(extra: Partial<EnvironmentSbomInput> = {}): EnvironmentSbomInput {
  return { lockfile: parseLockfile(lockText), system: SYSTEM, closure, environment: { owner: 'acme', name: 'app', generation: 7 }, ...extra };
}

describe('environmentSbom', () => {
  test('components: lockfile names for locked outputs (installed or not), Nix\'s split for the rest; graph without self-edges', () => {
    const sbom = environmentSbom(input());
    const byPath = new Map(sbom.components.map((c) => [c.storePath, c]));
    expect(sbom.components.map((c) => c.storePath)).toEqual([...closure.map((c) => c.storePath)].sort());
    expect(sbom.installed).toEqual([APP]);
    expect(byPath.get(APP)).toMatchObject({ name: 'the-app', version: '0.9.0', purl: 'pkg:nix/the-app@0.9.0', description: 'An app', lockedAs: { installId: 'app', output: 'out' } });
    expect(byPath.get(APP)?.licenses).toEqual([{ kind: 'spdx', id: 'MIT' }, { kind: 'name', name: 'Public Domain' }]);
    expect(byPath.get(APP_MAN)).toMatchObject({ name: 'the-app', version: '0.9.0', lockedAs: { installId: 'app', output: 'man' } });
    expect(byPath.get(LIB)).toMatchObject({ name: 'libfoo', version: '1.2.3', purl: 'pkg:nix/libfoo@1.2.3', licenses: [], description: undefined, lockedAs: undefined });
    expect(byPath.get(LIB)?.references).toEqual([LIB, LIBC].sort());
    expect(byPath.get(LIB)?.dependsOn).toEqual([LIBC]);
    expect(byPath.get(LIBC)).toMatchObject({ name: 'glibc', version: '2.40-66', dependsOn: [] });
    expect(sbom.environment).toEqual({
      owner: 'acme', name: 'app', generation: 7, system: SYSTEM,
      lockfileDigest: parseLockfile(lockText).digest,
      ref: `acme/app@sha256:${parseLockfile(lockText).digest}`,
    });
  });

  test('SPDX: a licence list is declared with AND; a name off the SPDX list becomes a LicenseRef with its text', () => {
    const doc = JSON.parse(spdxJson(environmentSbom(input()))) as {
      packages: Array<{ packageFileName?: string; licenseDeclared: string }>;
      hasExtractedLicensingInfos: Array<{ licenseId: string; name: string; extractedText: string }>;
    };
    const [info] = doc.hasExtractedLicensingInfos;
    expect(info).toMatchObject({ name: 'Public Domain', extractedText: 'Public Domain', licenseId: expect.stringMatching(/^LicenseRef-Public-Domain-[0-9a-f]{8}$/) as unknown });
    expect(doc.packages.find((p) => p.packageFileName === APP)?.licenseDeclared).toBe(`${info!.licenseId} AND MIT`);
    expect(doc.packages.find((p) => p.packageFileName === LIB)?.licenseDeclared).toBe('NOASSERTION');
  });

  test('timestamps: none by default (SPDX says the epoch); a given one is used in both formats, to the second', () => {
    const plain = environmentSbom(input());
    expect(JSON.parse(cycloneDxJson(plain)).metadata.timestamp).toBeUndefined();
    expect(JSON.parse(spdxJson(plain)).creationInfo.created).toBe('1970-01-01T00:00:00Z');
    const dated = environmentSbom(input({ timestamp: new Date('2026-03-04T05:06:07.891Z') }));
    expect(JSON.parse(cycloneDxJson(dated)).metadata.timestamp).toBe('2026-03-04T05:06:07.000Z');
    expect(JSON.parse(spdxJson(dated)).creationInfo.created).toBe('2026-03-04T05:06:07Z');
  });

  test('a live environment (no generation) has no version and still a digest reference', () => {
    const sbom = environmentSbom(input({ environment: { owner: 'acme', name: 'app' } }));
    const root = JSON.parse(cycloneDxJson(sbom)).metadata.component as Record<string, unknown>;
    expect(root['version']).toBeUndefined();
    expect(root['bom-ref']).toBe(`acme/app@sha256:${sbom.environment.lockfileDigest}`);
  });

  test.each<[string, string, () => Partial<EnvironmentSbomInput>]>([
    ['a reference without a path info', 'FLOXK8S_SBOM_CLOSURE_INCOMPLETE', () => ({ closure: closure.filter((c) => c.storePath !== LIBC) })],
    ['an installed path without a path info', 'FLOXK8S_SBOM_CLOSURE_INCOMPLETE', () => ({ closure: closure.filter((c) => c.storePath !== APP) })],
    ['a path info nothing installed reaches', 'FLOXK8S_SBOM_CLOSURE_UNREACHABLE', () => ({ closure: [...closure, syntheticPathInfo(syntheticStorePath('stray-1.0'))] })],
    ['the same path twice', 'FLOXK8S_SBOM_PATH_INFO_DUPLICATE', () => ({ closure: [...closure, syntheticPathInfo(LIBC)] })],
    ['a path info that is not for a store path', 'FLOXK8S_SBOM_PATH_INFO_INVALID', () => ({ closure: [...closure, syntheticPathInfo('/usr/lib/libc.so')] })],
    ['a lockfile without a digest', 'FLOXK8S_SBOM_OPTIONS_INVALID', () => ({ lockfile: parseLockfile(JSON.parse(lockText)) })],
    ['an owner with a slash', 'FLOXK8S_SBOM_OPTIONS_INVALID', () => ({ environment: { owner: 'a/b', name: 'app' } })],
    ['a name that is ".."', 'FLOXK8S_SBOM_OPTIONS_INVALID', () => ({ environment: { owner: 'acme', name: '..' } })],
    ['generation 0', 'FLOXK8S_SBOM_OPTIONS_INVALID', () => ({ environment: { owner: 'acme', name: 'app', generation: 0 } })],
    ['an invalid Date', 'FLOXK8S_SBOM_OPTIONS_INVALID', () => ({ timestamp: new Date('not a date') })],
    ['a system the lockfile does not have', 'FLOXK8S_SYSTEM_NOT_IN_LOCKFILE', () => ({ system: 'aarch64-darwin' })],
  ])('%s is %s', (_, code, extra) => {
    const error = catchError(() => environmentSbom(input(extra())));
    expect((error as SbomError).code).toBe(code);
    if (code.startsWith('FLOXK8S_SBOM_')) expect(error).toBeInstanceOf(SbomError);
  });

  test('a missing reference names who needs it', () => {
    const error = catchError(() => environmentSbom(input({ closure: closure.filter((c) => c.storePath !== LIBC) })));
    expect(error).toMatchObject({ code: 'FLOXK8S_SBOM_CLOSURE_INCOMPLETE', storePath: LIBC, referrer: LIB });
  });
});
