// The large fixture as the e2e suites will use it: the sizes the issue asks for, real ELF
// programs relocated into the store that resolve nothing outside it, a lockfile whose
// install set is the closure's roots, a listing that checks every byte, and caches that
// real Nix substitutes from.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { parseLockfile, storePathsToInstall } from '@flox-k8s/lockfile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixLargeFixtures, type NixLargeFixtures } from './large.ts';
import { runNix } from './nix-command.ts';
import { serveCache } from './serve-cache.ts';
import { nix, nixSkipReason, tempDir } from './test-nix.ts';

const skip = nixSkipReason();
const isElf = (path: string): boolean => {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === '\x7fELF';
  } finally {
    closeSync(fd);
  }
};

describe.skipIf(skip !== undefined)(`nixLargeFixtures${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let large: NixLargeFixtures;
  let work: { dir: string; cleanup: () => Promise<void> };
  let regularFiles: string[];

  beforeAll(async () => {
    // The first build on a machine takes minutes (xz of ~340 MB on two cores); later calls read the cache.
    large = await nixLargeFixtures();
    work = await tempDir('large');
    regularFiles = readFileSync(large.listing.tree, 'utf8')
      .split('\n')
      .filter((line) => /^[fx] /.test(line))
      .map((line) => line.split(' ')[1]!);
  }, 45 * 60_000);
  afterAll(() => work?.cleanup());

  it('has the size of a real environment: ≥ 120 paths, ≥ 2,500 files, ≥ 250 MB of NAR, a ≥ 100 MB file, a ≥ 5-deep chain', async () => {
    expect(large.closure.length).toBeGreaterThanOrEqual(120);
    expect(large.closure).toEqual((await runNix('nix-store', ['--query', '--requisites', ...large.roots])).trim().split('\n').sort());
    const files = execFileSync('find', [...large.closure, '-type', 'f'], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n');
    expect(files.length).toBe(large.stats.files);
    expect(files.length).toBeGreaterThanOrEqual(2_500);
    const infos = JSON.parse(await runNix('nix', ['path-info', '--json', ...large.closure])) as Array<{ narSize: number }>;
    expect(infos.reduce((sum, info) => sum + info.narSize, 0)).toBe(large.narSize);
    expect(large.narSize).toBeGreaterThanOrEqual(250_000_000);
    expect(large.stats.largestFile.path).toBe(`${large.packages['nodejs']!.outputs['out']}/bin/node`);
    expect(large.stats.largestFile.size).toBeGreaterThanOrEqual(100_000_000);
    expect(large.stats.symlinks).toBeGreaterThan(100);
    expect(large.stats.executables).toBeGreaterThan(100);
    // A chain of ≥ 5 references, each one real to Nix.
    expect(large.longestChain.length).toBeGreaterThanOrEqual(6);
    for (const [i, path] of large.longestChain.slice(0, -1).entries()) {
      expect((await runNix('nix-store', ['--query', '--references', path])).split('\n')).toContain(large.longestChain[i + 1]);
    }
  });

  it('relocates real ELF programs: interpreter and RUNPATH name only store paths, and every library resolves inside the closure', () => {
    let programs = 0;
    let libraries = 0;
    const outside: string[] = [];
    for (const file of regularFiles.filter(isElf)) {
      const interpreter = spawnSync('patchelf', ['--print-interpreter', file], { encoding: 'utf8' });
      const rpath = spawnSync('patchelf', ['--print-rpath', file], { encoding: 'utf8' }).stdout.trim();
      const needed = spawnSync('patchelf', ['--print-needed', file], { encoding: 'utf8' }).stdout.trim();
      if (interpreter.status === 0) {
        programs++;
        if (interpreter.stdout.trim() !== large.interpreter) outside.push(`${file}: interpreter ${interpreter.stdout.trim()}`);
      }
      for (const dir of rpath.split(':').filter((d) => d !== '')) {
        if (!large.closure.some((p) => dir.startsWith(`${p}/`))) outside.push(`${file}: RUNPATH ${dir}`);
      }
      if (needed === '') continue;
      libraries++;
      // The store's ld.so still falls back to the host's /lib and ld.so.cache: a library missing from
      // RUNPATH would resolve there, so every resolution must land in the closure.
      const listed = spawnSync(large.interpreter, ['--list', file], { encoding: 'utf8' });
      if (listed.status !== 0) outside.push(`${file}: ld.so --list exited ${listed.status}: ${listed.stderr}`);
      for (const [, target] of `${listed.stdout}${listed.stderr}`.matchAll(/=> (\S+)/g)) {
        if (!large.closure.some((p) => target!.startsWith(`${p}/`))) outside.push(`${file}: resolves ${target}`);
      }
      if (/not found/.test(listed.stdout + listed.stderr)) outside.push(`${file}: ${listed.stdout}`);
    }
    expect(outside).toEqual([]);
    expect(programs).toBeGreaterThanOrEqual(100);
    expect(libraries).toBeGreaterThanOrEqual(300);
  }, 300_000);

  it('runs every exported program on the host through its store interpreter, with no environment, printing exactly the expected output', () => {
    expect(large.programs.length).toBeGreaterThanOrEqual(6);
    for (const program of large.programs) {
      expect(program.argv.every((arg) => !arg.startsWith('/') || arg.startsWith('/nix/store/'))).toBe(true);
      const result = spawnSync(program.argv[0]!, program.argv.slice(1), { env: {}, encoding: 'utf8', timeout: 60_000 });
      expect({ name: program.name, status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
        name: program.name,
        status: 0,
        stdout: program.stdout,
        stderr: '',
      });
    }
    const node = large.programs.find((p) => p.argv[0]!.endsWith('/bin/node'))!;
    expect(spawnSync('patchelf', ['--print-interpreter', node.argv[0]!], { encoding: 'utf8' }).stdout.trim()).toBe(large.interpreter);
  });

  it('writes a lockfile whose install set is exactly the roots, naming every installed package', () => {
    const lock = parseLockfile(large.lockfile.bytes);
    expect(storePathsToInstall(lock, 'x86_64-linux')).toEqual(large.roots);
    const json = JSON.parse(new TextDecoder().decode(large.lockfile.bytes)) as { 'lockfile-version': number; packages: Array<{ install_id: string; outputs: Record<string, string> }> };
    expect(json['lockfile-version']).toBe(1);
    expect(json.packages.map((p) => p.install_id).sort()).toEqual(Object.keys(large.packages).sort());
    for (const p of json.packages) expect(p.outputs).toEqual(large.packages[p.install_id]!.outputs);
    expect(Object.keys(large.packages)).toEqual(expect.arrayContaining(['nodejs', 'nix', 'bash', 'coreutils', 'perl', 'curl', 'openssl', 'tzdata', 'cacert']));
  });

  it("lists the closure for a byte-for-byte check: sha256sum -c passes, tree.txt and Nix's path-info cover every path", () => {
    const checked = execFileSync('sha256sum', ['--quiet', '--strict', '-c', large.listing.sha256], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(checked).toBe('');
    expect(readFileSync(large.listing.sha256, 'utf8').trim().split('\n')).toHaveLength(large.stats.files);
    const tree = readFileSync(large.listing.tree, 'utf8').trim().split('\n');
    expect(tree.filter((line) => line.startsWith('l '))).toHaveLength(large.stats.symlinks);
    for (const path of large.closure) expect(tree).toContain(`d ${path}`);
    const pathInfo = JSON.parse(readFileSync(large.listing.pathInfo, 'utf8')) as Array<{ path: string; narHash: string }>;
    expect(pathInfo.map((p) => p.path).sort()).toEqual(large.closure);
  });

  it('copies only files of the Debian 12 base image and of what .ci/run installs', () => {
    const allowed = readFileSync(join(import.meta.dirname, '..', 'test', 'fixtures', 'debian12-base-and-ci-packages.txt'), 'utf8').split('\n');
    const ciLine = allowed.find((line) => line.startsWith('# ci-apt-packages: '))!;
    // .ci/run installs the list of scripts/bootstrap.sh. The allowed list was computed for the
    // packages in its header: it stays valid (conservative) while the bootstrap installs at
    // least those; recompute it (see its header) when one of them leaves the bootstrap.
    const bootstrap = readFileSync(join(import.meta.dirname, '..', '..', '..', 'scripts', 'bootstrap.sh'), 'utf8');
    const installed = /^FLOXK8S_DEBIAN_PACKAGES=\(([^)]*)\)/m.exec(bootstrap)?.[1]?.split(/\s+/).filter((p) => p !== '') ?? [];
    expect(installed.length).toBeGreaterThan(5);
    const listedFor = ciLine.slice('# ci-apt-packages: '.length).split(' ');
    expect(listedFor.filter((p) => !installed.includes(p))).toEqual([]);
    const plan = JSON.parse(readFileSync(join(large.root, 'plan.json'), 'utf8')) as { units: Array<{ debs: string[] }> };
    const debs = plan.units.flatMap((u) => u.debs);
    expect(debs.length).toBeGreaterThan(50);
    expect(debs.filter((deb) => !allowed.includes(deb))).toEqual([]);
  });

  it.each(['xz', 'zstd'] as const)('publishes a signed %s cache that real nix copy --from accepts into a fresh store', async (compression) => {
    const narinfos = execFileSync('sh', ['-c', `cat ${large.caches[compression]}/*.narinfo`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(narinfos.match(/^Sig: flox-k8s-fixture-1:/gm)).toHaveLength(large.closure.length);
    expect(narinfos.match(new RegExp(`^Compression: ${compression}$`, 'gm'))).toHaveLength(large.closure.length);
    const server = await serveCache(large.caches[compression]);
    const store = join(work.dir, `store-${compression}`);
    try {
      await nix(['copy', '--from', server.url, '--to', store, '--option', 'trusted-public-keys', large.publicKey, ...large.roots], join(work.dir, `xdg-${compression}`));
    } finally {
      await server.close();
    }
    expect(server.count('/nar/')).toBe(large.closure.length);
    const copied = JSON.parse(await nix(['path-info', '--json', '--store', store, ...large.closure], join(work.dir, `xdg-${compression}`))) as Array<{ path: string; narHash: string }>;
    const host = JSON.parse(readFileSync(large.listing.pathInfo, 'utf8')) as Array<{ path: string; narHash: string }>;
    const byPath = (infos: Array<{ path: string; narHash: string }>): Record<string, string> => Object.fromEntries(infos.map((i) => [i.path, i.narHash]));
    expect(byPath(copied)).toEqual(byPath(host));
  }, 600_000);

  it('answers a second call from the cache, without rebuilding', async () => {
    const before = readFileSync(join(large.root, 'manifest.json'), 'utf8');
    const started = performance.now();
    const again = await nixLargeFixtures();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(again).toEqual(large);
    expect(readFileSync(join(large.root, 'manifest.json'), 'utf8')).toBe(before);
  });
});
