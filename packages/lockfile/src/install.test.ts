import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { lockfileSystems, packagesFor, parseLockfile, storePathsToInstall, SystemNotInLockfileError } from './index.ts';
import { fakeStorePath, fixturesDir, lockfileBytes, lockfileFixtureNames, minimalLockfile } from './test-fixtures.ts';

const GOLDEN_SYSTEMS = ['x86_64-linux', 'aarch64-linux'] as const;

describe('storePathsToInstall matches the reviewed goldens', () => {
  test.each(lockfileFixtureNames())('%s', (file) => {
    const golden = JSON.parse(
      readFileSync(`${fixturesDir}goldens/${file.replace('.lock.json', '.store-paths.json')}`, 'utf8'),
    ) as Record<string, string[]>;
    const lock = parseLockfile(lockfileBytes(file));
    const actual: Record<string, string[]> = {};
    for (const system of GOLDEN_SYSTEMS) if (lockfileSystems(lock).includes(system)) actual[system] = storePathsToInstall(lock, system);
    expect(actual).toEqual(golden);
    expect(Object.keys(golden).length).toBeGreaterThan(0);
  });
});

describe("Flox's output selection rules", () => {
  const outputs = { bin: fakeStorePath('tool-1.0-bin', 'b'), out: fakeStorePath('tool-1.0', 'c'), stubs: fakeStorePath('tool-1.0-stubs', 'd'), man: fakeStorePath('tool-1.0-man', 'f') };
  const entry = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    install_id: 'tool',
    system: 'x86_64-linux',
    priority: 5,
    outputs,
    outputs_to_install: ['bin'],
    ...extra,
  });

  test('version = 1: every output except stubs, ignoring outputs_to_install', () => {
    const lock = parseLockfile(minimalLockfile([entry()]));
    expect(storePathsToInstall(lock, 'x86_64-linux')).toEqual([outputs.bin, outputs.out, outputs.man].sort());
  });

  test('schema-version: outputs_to_install when the descriptor names no outputs', () => {
    const lock = parseLockfile(minimalLockfile([entry()], { 'schema-version': '1.14.0', install: { tool: { 'pkg-path': 'tool' } } }));
    expect(storePathsToInstall(lock, 'x86_64-linux')).toEqual([outputs.bin]);
  });

  test('schema-version: outputs = "all" installs every output', () => {
    const lock = parseLockfile(minimalLockfile([entry()], { 'schema-version': '1.15.0', install: { tool: { 'pkg-path': 'tool', outputs: 'all' } } }));
    expect(storePathsToInstall(lock, 'x86_64-linux')).toEqual(Object.values(outputs).sort());
  });

  test('schema-version: an outputs list installs exactly those', () => {
    const lock = parseLockfile(minimalLockfile([entry()], { 'schema-version': '1.10.0', install: { tool: { 'pkg-path': 'tool', outputs: ['man', 'out'] } } }));
    expect(storePathsToInstall(lock, 'x86_64-linux')).toEqual([outputs.man, outputs.out].sort());
  });

  test('schema-version: no descriptor outputs and no outputs_to_install falls back to all but stubs', () => {
    const lock = parseLockfile(minimalLockfile([entry({ outputs_to_install: undefined })], { 'schema-version': '1.14.0', install: {} }));
    expect(storePathsToInstall(lock, 'x86_64-linux')).toEqual([outputs.bin, outputs.out, outputs.man].sort());
  });

  test('flake entries use outputs-to-install under schema-version', () => {
    const flake = {
      install_id: 'hello',
      system: 'x86_64-linux',
      priority: 5,
      'locked-url': 'github:NixOS/nixpkgs/abc',
      outputs,
      'outputs-to-install': ['out', 'out'],
    };
    const lock = parseLockfile(minimalLockfile([flake], { 'schema-version': '1.14.0', install: { hello: { flake: 'github:NixOS/nixpkgs#hello' } } }));
    expect(storePathsToInstall(lock, 'x86_64-linux')).toEqual([outputs.out]);
  });

  test('store-path entries install their store path; paths are sorted and unique across entries', () => {
    const shared = fakeStorePath('shared-1.0', 'g');
    const lock = parseLockfile(
      minimalLockfile([
        { install_id: 'a', store_path: shared, system: 'x86_64-linux', priority: 3 },
        { install_id: 'b', store_path: shared, system: 'x86_64-linux', priority: 5 },
        { install_id: 'c', store_path: fakeStorePath('zed-1', '0'), system: 'x86_64-linux', priority: 5 },
        { install_id: 'c', store_path: fakeStorePath('other-arch', '1'), system: 'aarch64-linux', priority: 5 },
      ]),
    );
    expect(storePathsToInstall(lock, 'x86_64-linux')).toEqual([fakeStorePath('zed-1', '0'), shared]);
    expect(packagesFor(lock, 'x86_64-linux')).toEqual([
      { installId: 'a', storePaths: [shared], priority: 3 },
      { installId: 'b', storePaths: [shared], priority: 5 },
      { installId: 'c', storePaths: [fakeStorePath('zed-1', '0')], priority: 5 },
    ]);
  });
});

describe('systems', () => {
  test('a system the lockfile lacks is an error naming the systems it has', () => {
    const lock = parseLockfile(lockfileBytes('kitchen-sink-profile'));
    let error: unknown;
    try {
      storePathsToInstall(lock, 'x86_64-darwin');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SystemNotInLockfileError);
    expect((error as SystemNotInLockfileError).code).toBe('FLOXK8S_SYSTEM_NOT_IN_LOCKFILE');
    expect((error as SystemNotInLockfileError).systems).toEqual(['aarch64-darwin', 'aarch64-linux', 'x86_64-linux']);
    expect((error as Error).message).toContain('aarch64-darwin, aarch64-linux, x86_64-linux');
  });

  test('a system listed in options.systems with no entries installs nothing', () => {
    const lock = parseLockfile(lockfileBytes('tiny-vars-hook'));
    expect(storePathsToInstall(lock, 'aarch64-linux')).toEqual([]);
  });

  test('packages limited to some systems appear only there', () => {
    const lock = parseLockfile(lockfileBytes('mina-indexer-mixed-flake'));
    const linux = packagesFor(lock, 'x86_64-linux').map((p) => p.installId);
    const darwin = packagesFor(lock, 'aarch64-darwin').map((p) => p.installId);
    expect(linux).toContain('glibc');
    expect(linux).not.toContain('libiconv');
    expect(darwin).toContain('libiconv');
    expect(darwin).not.toContain('glibc');
  });

  test('packagesFor carries the lockfile priorities', () => {
    const lock = parseLockfile(lockfileBytes('mina-indexer-mixed-flake'));
    const priorities = new Map(packagesFor(lock, 'x86_64-linux').map((p) => [p.installId, p.priority]));
    const raw = (JSON.parse(lockfileBytes('mina-indexer-mixed-flake').toString('utf8')) as { packages: Array<{ install_id: string; system: string; priority: number }> }).packages;
    for (const p of raw.filter((e) => e.system === 'x86_64-linux')) expect(priorities.get(p.install_id)).toBe(p.priority);
  });
});
