import { spawn } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixtureInputMissingError, FixtureManifestInvalidError } from './errors.ts';
import { FIXTURE_ACTIVATION } from './fixture-lockfile.ts';
import { BUSYBOX_APPLETS } from './fixtures-expression.ts';
import { nixFixtures, type NixFixtures } from './fixtures.ts';
import { runNix } from './nix-command.ts';
import { run } from './run.ts';
import { nixSkipReason, tempDir } from './test-nix.ts';

const skip = nixSkipReason();
const hashPart = (storePath: string): string => storePath.slice('/nix/store/'.length, '/nix/store/'.length + 32);

describe.skipIf(skip !== undefined)(`nixFixtures${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fixtures: NixFixtures;
  let work: { dir: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    fixtures = await nixFixtures();
    work = await tempDir('fixtures');
  });
  afterAll(() => work?.cleanup());

  it('builds busybox with applet links to the Debian static binary', async () => {
    const bin = join(fixtures.storePaths.busybox, 'bin');
    expect(await readFile(join(bin, 'busybox'))).toEqual(await readFile('/bin/busybox'));
    for (const applet of ['sh', 'ls', 'cat', 'echo', 'env', 'id', 'touch', 'sleep', 'printf', 'test', 'wget', 'mkdir', 'rm', 'true', 'false', 'stat', 'readlink']) {
      expect(BUSYBOX_APPLETS).toContain(applet);
      expect(await readlink(join(bin, applet))).toBe('busybox');
    }
    expect(await run(join(bin, 'echo'), ['hi'])).toBe('hi\n');
  });

  it('records real references: the script refers to busybox and data', async () => {
    const references = (await runNix('nix-store', ['--query', '--references', fixtures.storePaths.script])).trim().split('\n').sort();
    expect(references).toEqual([fixtures.storePaths.busybox, fixtures.storePaths.data].sort());
    const script = await readFile(join(fixtures.storePaths.script, 'bin', 'hello-flox'), 'utf8');
    expect(script.split('\n')[0]).toBe(`#!${fixtures.storePaths.busybox}/bin/sh`);
    expect(script).toContain(`${fixtures.storePaths.data}/share/flox-fixture/greeting.txt`);
    const output = await run(join(fixtures.storePaths.script, 'bin', 'hello-flox'), ['x'], { env: { FLOX_FIXTURE_VAR: 'set' } });
    expect(output).toBe('Hello from a flox-k8s fixture!\nFLOX_FIXTURE_VAR=set\nFLOX_FIXTURE_HOOK=unset\nargs: x\n');
    expect(fixtures.closure).toEqual(Object.values(fixtures.storePaths).sort());
  });

  it('builds a tree with an executable, an empty file, nested and empty directories and symlinks', async () => {
    const tree = fixtures.storePaths.tree;
    expect((await stat(join(tree, 'bin', 'tree-tool'))).mode & 0o111).not.toBe(0);
    expect((await stat(join(tree, 'share', 'empty-file'))).size).toBe(0);
    expect(await readFile(join(tree, 'share', 'nested', 'deeper', 'deepest', 'file.txt'), 'utf8')).toBe('deep\n');
    expect(await readdir(join(tree, 'empty-dir'))).toEqual([]);
    expect(await readlink(join(tree, 'share', 'relative-link'))).toBe('../bin/tree-tool');
    expect(await readlink(join(tree, 'share', 'self-link'))).toBe(`${tree}/bin/tree-tool`);
    expect((await lstat(join(tree, 'share', 'dangling-link'))).isSymbolicLink()).toBe(true);
    expect((await readdir(join(tree, 'share'))).filter((n) => n.length === 1).sort()).toEqual(['B', 'a']);
  });

  it('publishes signed narinfos with the asked compression in every cache', async () => {
    const keyName = fixtures.publicKey.split(':')[0];
    expect(keyName).toBe('flox-k8s-fixture-1');
    for (const [compression, dir] of Object.entries(fixtures.caches)) {
      expect(await readFile(join(dir, 'nix-cache-info'), 'utf8')).toContain('StoreDir: /nix/store');
      const narinfo = await readFile(join(dir, `${hashPart(fixtures.storePaths.script)}.narinfo`), 'utf8');
      expect(narinfo).toContain(`Compression: ${compression}\n`);
      expect(narinfo).toMatch(new RegExp(`^Sig: ${keyName}:[A-Za-z0-9+/]{86}==$`, 'm'));
      const references = /^References: (.*)$/m.exec(narinfo)?.[1]?.split(' ').sort();
      expect(references).toEqual([fixtures.storePaths.busybox, fixtures.storePaths.data].map((p) => p.slice('/nix/store/'.length)).sort());
    }
  });

  it('writes a lockfile-version 1 catalog lockfile naming the store paths for x86_64-linux', async () => {
    expect(await readFile(fixtures.lockfile.path)).toEqual(Buffer.from(fixtures.lockfile.bytes));
    const lock = JSON.parse(new TextDecoder().decode(fixtures.lockfile.bytes)) as {
      'lockfile-version': number;
      manifest: { version: number; vars: Record<string, string>; hook: { 'on-activate': string }; options: { systems: string[] } };
      packages: Array<{ install_id: string; system: string; outputs: { out: string }; derivation: string; priority: number; group: string }>;
    };
    expect(lock['lockfile-version']).toBe(1);
    expect(lock.manifest.version).toBe(1);
    expect(lock.manifest.options.systems).toEqual(['x86_64-linux']);
    expect(lock.manifest.vars).toEqual(FIXTURE_ACTIVATION.vars);
    expect(lock.manifest.hook['on-activate']).toContain('export FLOX_FIXTURE_HOOK="from-hook"');
    expect(lock.packages.map((p) => p.outputs.out).sort()).toEqual(Object.values(fixtures.storePaths).sort());
    expect(new Set(lock.packages.map((p) => p.system))).toEqual(new Set(['x86_64-linux']));
    for (const pkg of lock.packages) {
      expect(pkg.derivation).toMatch(/^\/nix\/store\/[0-9a-z]{32}-.+\.drv$/);
      expect(pkg).toMatchObject({ priority: 5, group: 'toplevel' });
    }
  });

  it('answers a second call from the cache without rebuilding', async () => {
    const manifestFile = join(fixtures.root, 'manifest.json');
    const before = await readFile(manifestFile, 'utf8');
    const again = await nixFixtures();
    expect(again).toEqual(fixtures);
    expect(await readFile(manifestFile, 'utf8')).toBe(before);
  });

  it('builds once when several processes ask at the same time, and rebuilds when paths were collected', async () => {
    const cacheDir = join(work.dir, 'concurrent');
    const index = fileURLToPath(new URL('./index.ts', import.meta.url));
    const child = `const m = await import(${JSON.stringify(index)}); const f = await m.nixFixtures({ cacheDir: ${JSON.stringify(cacheDir)} }); console.log(f.root);`;
    const roots = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<string>((resolve, reject) => {
            const proc = spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'inherit'] });
            let out = '';
            proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
            proc.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}`))));
          }),
      ),
    );
    expect(new Set(roots).size).toBe(1);
    const root = roots[0] ?? '';
    expect(await readdir(cacheDir)).toEqual([root.slice(cacheDir.length + 1)]); // no .tmp-*, no .lock left
    const first = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8')) as { buildId: string; closure: string[] };

    // Simulate garbage collection: a closure path that no longer exists forces a rebuild.
    const collected = { ...first, closure: [...first.closure.slice(1), '/nix/store/00000000000000000000000000000000-collected'] };
    await writeFile(join(root, 'manifest.json'), JSON.stringify(collected));
    const rebuilt = await nixFixtures({ cacheDir });
    const second = JSON.parse(await readFile(join(rebuilt.root, 'manifest.json'), 'utf8')) as { buildId: string };
    expect(rebuilt.root).toBe(root);
    expect(second.buildId).not.toBe(first.buildId);
    expect(rebuilt.closure).toEqual(fixtures.closure);
  }, 180_000);

  it('fails with coded errors for a corrupt manifest or a missing busybox', async () => {
    // The directory name depends only on the inputs, so a corrupt twin of the real one is found by the same call.
    const cacheDir = join(work.dir, 'errors');
    await mkdir(join(cacheDir, basename(fixtures.root)), { recursive: true });
    const corruptManifest = { kind: 'nix-fixtures', key: 'x', closure: ['/tmp/not-a-store-path'] };
    await writeFile(join(cacheDir, basename(fixtures.root), 'manifest.json'), JSON.stringify(corruptManifest));
    const corrupt = await nixFixtures({ cacheDir }).catch((e: unknown) => e);
    expect(corrupt).toBeInstanceOf(FixtureManifestInvalidError);
    expect((corrupt as FixtureManifestInvalidError).code).toBe('FLOXK8S_FIXTURE_MANIFEST_INVALID');

    const missing = await nixFixtures({ cacheDir, busyboxBinary: join(work.dir, 'no-busybox') }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FixtureInputMissingError);
    expect((missing as FixtureInputMissingError).code).toBe('FLOXK8S_FIXTURE_INPUT_MISSING');
  });
});
