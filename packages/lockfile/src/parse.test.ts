import { describe, expect, test } from 'vitest';
import { LockfileInvalidError, lockfileDigest, parseLockfile } from './index.ts';
import { lockfileBytes, lockfileFixtureNames, lockfileJson } from './test-fixtures.ts';

// sha256sum of each fixture file, computed with coreutils when the fixtures were copied.
const SHA256: Record<string, string> = {
  'dr-flox-services-include.lock.json': '26f7bb6f790bc5c1693c536b94099b002774c1690870255f78b643926e436a71',
  'flake-hello.lock.json': '3abccd68d65072e159b90b7a87d693a4db2d4ff23070ec0081fd3e64809b2ee2',
  'floxai-large.lock.json': 'f8e5a1221bea5e7364e420df1d80fbf332a582ddb69359a9b7cfb6d9768a6f02',
  'hello-4systems.lock.json': 'e2f197ba9e4976fa929d5767eadd932af048c592a0048e321c7b386c2249235b',
  'kind-demo-services.lock.json': 'ee3677c8c85d9892fb0bcb3dd76e83eab787d4bfe02fd387f7e943316d4704b4',
  'kitchen-sink-profile.lock.json': '9c6c62080a9b80badbbd80fd89dc12493956046ea53135f527e4a7e69341b9b9',
  'mina-indexer-mixed-flake.lock.json': 'efd1b7e6573d5300b1658fb9097be70756393155b808a9240b820b73d9f974e7',
  'tiny-vars-hook.lock.json': '8cd147f4ec646948af5a6ff6e97d7eccceee6b3d47b225f4356cf9a8fce8f7ef',
};

describe('every real Flox lockfile parses', () => {
  test('the fixture set is the one SOURCES.md lists', () => {
    expect(lockfileFixtureNames()).toEqual(Object.keys(SHA256).sort());
  });

  test.each(lockfileFixtureNames())('%s: bytes, text and decoded JSON give the same lockfile', (name) => {
    const bytes = lockfileBytes(name);
    const fromBytes = parseLockfile(bytes);
    const fromText = parseLockfile(bytes.toString('utf8'));
    const fromValue = parseLockfile(JSON.parse(bytes.toString('utf8')));
    expect(fromBytes.digest).toBe(SHA256[name]);
    expect(fromText.digest).toBe(SHA256[name]);
    expect(fromValue.digest).toBeUndefined();
    expect({ ...fromBytes, digest: undefined }).toEqual({ ...fromValue, digest: undefined });
    expect(fromBytes.lockfileVersion).toBe(1);
    expect(fromBytes.packages).toHaveLength((lockfileJson(name)['packages'] as unknown[]).length);
  });
});

describe('lockfileDigest', () => {
  test('is the lowercase hex sha256 of the exact bytes', () => {
    expect(lockfileDigest('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(lockfileDigest(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(lockfileDigest('é')).toBe(lockfileDigest(new Uint8Array([0xc3, 0xa9])));
  });

  test('one changed byte (whitespace) changes the digest though the content is equal', () => {
    const bytes = lockfileBytes('tiny-vars-hook');
    const spaced = Buffer.concat([bytes, Buffer.from('\n')]);
    expect(parseLockfile(spaced).digest).not.toBe(parseLockfile(bytes).digest);
  });
});

describe('entry kinds and manifest forms', () => {
  test('catalog entries keep snake_case data as camelCase fields', () => {
    const lock = parseLockfile(lockfileBytes('hello-4systems'));
    const entry = lock.packages.find((p) => p.system === 'x86_64-linux');
    expect(entry).toEqual({
      kind: 'catalog',
      installId: 'hello',
      system: 'x86_64-linux',
      priority: 5,
      attrPath: 'hello',
      name: 'hello-2.12.3',
      pname: 'hello',
      version: '2.12.3',
      derivation: expect.stringMatching(/^\/nix\/store\/[a-z0-9]{32}-hello-2\.12\.3\.drv$/) as unknown,
      lockedUrl: 'https://github.com/flox/nixpkgs?rev=d407951447dcd00442e97087bf374aad70c04cea',
      group: 'toplevel',
      description: 'Program that produces a familiar, friendly greeting',
      licenses: ['GPL-3.0-or-later'],
      outputs: { out: '/nix/store/nm7p8wxflggcwxfzayhysq4z6a1wg373-hello-2.12.3' },
      outputsToInstall: ['out'],
    });
    expect(lock.manifest.format).toEqual({ kind: 'schema-version', schemaVersion: '1.14.0' });
  });

  test('flake entries are recognised by their kebab-case keys', () => {
    const lock = parseLockfile(lockfileBytes('flake-hello'));
    expect(lock.manifest.format).toEqual({ kind: 'version', version: 1 });
    expect(lock.packages.map((p) => p.kind)).toEqual(['flake', 'flake', 'flake', 'flake']);
    const entry = lock.packages[0];
    expect(entry?.kind === 'flake' && entry.lockedFlakeAttrPath).toBe('legacyPackages.aarch64-darwin.hello');
    // The package's own description and `licenses[]`, not `flake-description`.
    expect(entry?.kind === 'flake' && [entry.description, entry.licenses]).toEqual([
      'Program that produces a familiar, friendly greeting',
      ['GPL-3.0-or-later'],
    ]);
    expect(lock.manifest.install['hello']).toEqual({ flake: 'github:NixOS/nixpkgs/nixpkgs-unstable#hello' });
  });

  test('a mixed lockfile has both kinds', () => {
    const lock = parseLockfile(lockfileBytes('mina-indexer-mixed-flake'));
    const flakes = lock.packages.filter((p) => p.kind === 'flake').map((p) => p.installId);
    expect(new Set(flakes)).toEqual(new Set(['nightly-rust']));
    expect(lock.packages.filter((p) => p.kind === 'catalog')).toHaveLength(46);
  });

  test('store-path entries parse', () => {
    const lock = parseLockfile({
      'lockfile-version': 1,
      manifest: { version: 1, install: { tool: { 'store-path': '/nix/store/0c0ww2ik4jx8jbl9b8b9lpp6vabmyfjm-tool-1.0' } } },
      packages: [
        { install_id: 'tool', store_path: '/nix/store/0c0ww2ik4jx8jbl9b8b9lpp6vabmyfjm-tool-1.0', system: 'x86_64-linux', priority: 5 },
      ],
    });
    expect(lock.packages).toEqual([
      { kind: 'store-path', installId: 'tool', system: 'x86_64-linux', priority: 5, storePath: '/nix/store/0c0ww2ik4jx8jbl9b8b9lpp6vabmyfjm-tool-1.0' },
    ]);
    expect(lock.manifest.install['tool']).toEqual({ storePath: '/nix/store/0c0ww2ik4jx8jbl9b8b9lpp6vabmyfjm-tool-1.0' });
  });

  test('compose keeps the composer and each included manifest', () => {
    const lock = parseLockfile(lockfileBytes('dr-flox-services-include'));
    expect(lock.compose?.include.map((i) => [i.name, i.descriptor])).toEqual([['elder-library', { remote: 'flox/elder-library' }]]);
    expect(lock.compose?.composer.format).toEqual({ kind: 'schema-version', schemaVersion: '1.10.0' });
    expect(lock.compose?.composer.include).toEqual({ environments: [{ remote: 'flox/elder-library' }] });
    expect(lock.compose?.warnings).toHaveLength(1);
    expect(lock.manifest.services['orakle']).toEqual({ command: 'python3 $FLOX_ENV_CACHE/orakle_service.py --port $ORACLE_PORT' });
    expect(Object.keys(lock.manifest.build)).toEqual(['grimoire-page']);
  });

  test('manifest sections: vars, hook, profile, options, services', () => {
    const kitchen = parseLockfile(lockfileBytes('kitchen-sink-profile'));
    expect(kitchen.manifest.vars).toEqual({ VARS_SECTION_VAR: 'vars_section_var' });
    expect(Object.keys(kitchen.manifest.profile).sort()).toEqual(['bash', 'common', 'fish', 'tcsh', 'zsh']);
    expect(kitchen.manifest.install['hello']).toEqual({ pkgPath: 'hello', outputs: 'all' });
    const kind = parseLockfile(lockfileBytes('kind-demo-services'));
    expect(kind.manifest.services['port-forward']?.command).toBe('kubectl port-forward services/quotes 3000:3000');
    expect(kind.manifest.install['iptables']?.systems).toEqual(['aarch64-linux', 'x86_64-linux']);
    const tiny = parseLockfile(lockfileBytes('tiny-vars-hook'));
    expect(tiny.manifest.hook.onActivate).toBe('    mkdir -p dummy_dir\n    export foo="baz"\n');
    expect(tiny.manifest.options.systems).toHaveLength(4);
  });

  test('outputs_to_install repeats from the catalog server are collapsed', () => {
    const lock = parseLockfile(lockfileBytes('dr-flox-services-include'));
    const curl = lock.packages.find((p) => p.installId === 'curl' && p.system === 'x86_64-linux');
    expect(curl?.kind === 'catalog' && curl.outputsToInstall).toEqual(['bin', 'man']);
  });

  test('unknown keys anywhere are tolerated (forward compatibility)', () => {
    const json = lockfileJson('hello-4systems');
    json['future-top-level'] = { x: 1 };
    const manifest = json['manifest'] as Record<string, unknown>;
    manifest['future-section'] = [1, 2];
    (manifest['install'] as Record<string, Record<string, unknown>>)['hello']!['future-key'] = true;
    (json['packages'] as Array<Record<string, unknown>>)[0]!['future-field'] = 'x';
    expect(parseLockfile(JSON.stringify(json)).packages).toHaveLength(4);
  });

  test('options.activate.mode is exposed', () => {
    const lock = parseLockfile({ 'lockfile-version': 1, manifest: { version: 1, options: { activate: { mode: 'run' } } }, packages: [] });
    expect(lock.manifest.options.activateMode).toBe('run');
  });

  test('errors carry every problem with a readable path', () => {
    const json = lockfileJson('hello-4systems');
    const packages = json['packages'] as Array<Record<string, unknown>>;
    packages[1]!['outputs'] = { out: '/tmp/evil' };
    packages[3]!['priority'] = 'high';
    const error = catchError(() => parseLockfile(json));
    expect(error).toBeInstanceOf(LockfileInvalidError);
    const invalid = error as LockfileInvalidError;
    expect(invalid.code).toBe('FLOXK8S_LOCKFILE_INVALID');
    expect(invalid.issues.map((i) => i.path)).toEqual(['packages[1].outputs.out', 'packages[3].priority']);
    expect(invalid.issues[0]?.message).toMatch(/^expected \/nix\/store path/);
    expect(invalid.message).toContain('packages[1].outputs.out: expected /nix/store path');
  });
});

describe('package description and licenses', () => {
  test('the catalog\'s "[ A, B ]" list text is split; a bare id is one license', () => {
    const lock = parseLockfile(lockfileBytes('mina-indexer-mixed-flake'));
    const byId = new Map(lock.packages.filter((p) => p.system === 'x86_64-linux').map((p) => [p.installId, p]));
    const licenses = (id: string): unknown => {
      const p = byId.get(id);
      return p?.kind === 'store-path' ? undefined : p?.licenses;
    };
    expect(licenses('rust-analyzer')).toEqual(['MIT', 'Apache-2.0']);
    expect(licenses('postgresql_16')).toEqual(['PostgreSQL']);
    expect(licenses('sqlfluff')).toEqual(['MIT']);
  });

  test('every real lockfile entry keeps its license strings, none empty', () => {
    for (const name of lockfileFixtureNames()) {
      const raw = (lockfileJson(name)['packages'] as Array<Record<string, unknown>>);
      const lock = parseLockfile(lockfileBytes(name));
      lock.packages.forEach((p, i) => {
        const entry = raw[i]!;
        const text = entry['license'] ?? entry['licenses'];
        if (p.kind === 'store-path') return;
        if (text === undefined || text === null) expect(p.licenses).toBeUndefined();
        else expect(p.licenses?.length).toBeGreaterThan(0);
        expect(p.licenses?.every((l) => l.trim() === l && l !== '' && !/[[\],]/.test(l)) ?? true).toBe(true);
        expect(p.description).toBe(entry['description'] ?? undefined);
      });
    }
  });

  test('a license that is neither a string nor a list of strings is rejected with its path', () => {
    const json = lockfileJson('hello-4systems');
    (json['packages'] as Array<Record<string, unknown>>)[0]!['license'] = { spdx: 'MIT' };
    const error = catchError(() => parseLockfile(json)) as LockfileInvalidError;
    expect(error.code).toBe('FLOXK8S_LOCKFILE_INVALID');
    expect(error.issues.map((i) => i.path)).toEqual(['packages[0].license']);
  });

  test('empty and repeated items are dropped', () => {
    const json = lockfileJson('hello-4systems');
    (json['packages'] as Array<Record<string, unknown>>)[0]!['license'] = '[ MIT, , MIT,Apache-2.0 ]';
    (json['packages'] as Array<Record<string, unknown>>)[1]!['license'] = '';
    const lock = parseLockfile(json);
    const [first, second] = lock.packages;
    expect(first?.kind === 'catalog' && first.licenses).toEqual(['MIT', 'Apache-2.0']);
    expect(second?.kind === 'catalog' && second.licenses).toBeUndefined();
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
