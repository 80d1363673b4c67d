import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectLayout } from './inspect.ts';
import { installLayout } from './layout.ts';

// Templates with the placeholder lines of the shim app's sh programs (apps/shim/sh; an app a
// package's test cannot import). e2e inspects the real layout through the CLI's doctor.
let dir: string;
let launcher: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flox-layout-inspect-it's-"));
  const programs = join(dir, 'programs');
  await mkdir(join(programs, 'prebuilt'), { recursive: true });
  await writeFile(join(programs, 'launcher.sh'), '#!/bin/sh\nPATH=@LIBEXEC_DIR@:$PATH\nexport PATH\n@CONFIG_EXPORT@\nexec @SHIM_RUNC_V2@ "$@"\n');
  await writeFile(join(programs, 'front.sh'), '#!/bin/sh\nfloxk8s_node=@NODE@\nfloxk8s_entry=@ENTRY@\nfloxk8s_runc=@REAL_RUNC@\nfloxk8s_self=@SELF@\nfloxk8s_patcher=@PATCH_SERVICE_DIR@\n@NODE_ENV@\n@CONFIG_EXPORT@\n');
  await writeFile(join(programs, 'prebuilt', 'runc-interposer.mjs'), '');
  await writeFile(join(programs, 'prebuilt', 'fetch-worker.mjs'), '');
  const layout = await installLayout({
    programs: { launcher: join(programs, 'launcher.sh'), front: join(programs, 'front.sh'), interposer: join(programs, 'unused.ts'), fetchWorker: join(programs, 'unused-worker.ts'), prebuilt: join(programs, 'prebuilt') },
    prefix: join(dir, 'prefix'),
    node: process.execPath,
  });
  launcher = join(dir, 'containerd-shim-flox-v2');
  await symlink(layout.launcher, launcher);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('inspectLayout', () => {
  it('reads the front dir, Node and bundle back through a symlinked launcher (quotes in paths included)', async () => {
    const layout = await inspectLayout(launcher);
    expect(layout).toEqual({
      launcher: join(dir, 'prefix', 'bin', 'containerd-shim-flox-v2'),
      frontDir: join(dir, 'prefix', 'libexec', 'flox-k8s'),
      node: process.execPath,
      entry: join(dir, 'prefix', 'lib', 'runc-interposer.mjs'),
      problems: [],
    });
  });

  it('puts koffi and its binary beside a prebuilt bundle too (npm packs no node_modules)', async () => {
    const koffi = JSON.parse(await readFile(join(dir, 'prefix', 'lib', 'node_modules', 'koffi', 'package.json'), 'utf8')) as { name: string };
    expect(koffi.name).toBe('koffi');
    const binary = `@koromix/koffi-${process.platform}-${process.arch}`;
    expect((JSON.parse(await readFile(join(dir, 'prefix', 'lib', 'node_modules', binary, 'package.json'), 'utf8')) as { name: string }).name).toBe(binary);
  });

  it('names each missing piece', async () => {
    await rm(join(dir, 'prefix', 'lib', 'runc-interposer.mjs'));
    expect((await inspectLayout(launcher)).problems).toEqual([`the interposer bundle ${join(dir, 'prefix', 'lib', 'runc-interposer.mjs')} the runc front runs is missing`]);
    await chmod(join(dir, 'prefix', 'libexec', 'flox-k8s', 'runc'), 0o644);
    expect((await inspectLayout(launcher)).problems).toEqual([`the runc front ${join(dir, 'prefix', 'libexec', 'flox-k8s', 'runc')} the launcher names is missing or not executable`]);
    expect((await inspectLayout(join(dir, 'nowhere'))).problems).toEqual([`${join(dir, 'nowhere')} is missing or not executable`]);
  });
});
