// Real runc on a bundle with an EMPTY rootfs, patched by patchSpec, with a closure
// built by real Nix (@flox-k8s/nix-fixtures). Needs root and runc; outside CI the
// suite skips with a reason when either is missing, under CI=true it must run.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { nixFixtures, treeDigest, type NixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixMutableScratchDirs, patchSpec, type PatchPlan, type Spec } from '../src/index.ts';

const run = promisify(execFile);
const RUNC = '/usr/sbin/runc';
const PROFILE = '/run/flox/env';
const isRoot = process.getuid?.() === 0;
const haveRunc = existsSync(RUNC);
const inCi = process.env['CI'] === 'true';
const skipReason = !isRoot ? 'needs root' : !haveRunc ? `needs ${RUNC}` : undefined;
if (inCi && skipReason !== undefined) throw new Error(`runc integration test cannot run under CI: ${skipReason}`);

describe.skipIf(skipReason !== undefined)(`runc run on a patched bundle with an empty rootfs${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let fixtures: NixFixtures;
  let tmp: string;
  let hostStoreDir: string;
  let profileDir: string;
  let viewDir: string;
  let hostSecret: string;
  let closure: string[];
  let counter = 0;
  // Store paths whose root is not a directory (legal in Nix): a symlink out of the closure (to a
  // directory that exists only on the host), a symlink to another closure path, and a file.
  const SYM_HOST = '/nix/store/00000000000000000000000000000001-link-to-host';
  const SYM_BUSYBOX = '/nix/store/00000000000000000000000000000002-link-to-busybox';
  const FILE = '/nix/store/00000000000000000000000000000003-a-file';

  beforeAll(async () => {
    fixtures = await nixFixtures();
    tmp = await mkdtemp(join(tmpdir(), 'oci-patch-runc-'));
    hostStoreDir = join(tmp, 'store');
    await mkdir(hostStoreDir);
    // The node's store is separate from the host /nix/store: copy the closure over.
    for (const storePath of fixtures.closure) {
      await cp(storePath, join(hostStoreDir, storePath.slice('/nix/store/'.length)), { recursive: true, verbatimSymlinks: true, mode: 0 });
    }
    hostSecret = join(tmp, 'host-only');
    await mkdir(hostSecret);
    await writeFile(join(hostSecret, 'secret.txt'), 'host secret\n');
    await symlink(hostSecret, join(hostStoreDir, SYM_HOST.slice('/nix/store/'.length)));
    await symlink(fixtures.storePaths.busybox, join(hostStoreDir, SYM_BUSYBOX.slice('/nix/store/'.length)));
    await writeFile(join(hostStoreDir, FILE.slice('/nix/store/'.length)), 'the file store path\n');
    closure = [...fixtures.closure, SYM_HOST, SYM_BUSYBOX, FILE].sort();
    profileDir = await makeProfile(join(tmp, 'profile'), fixtures);
    viewDir = await makeStoreView(join(tmp, 'view'), hostStoreDir, closure);
  });

  afterAll(async () => {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  function plan(extra: Partial<PatchPlan> = {}): PatchPlan {
    return {
      hostStoreDir,
      storePaths: closure,
      storeView: { hostPath: viewDir, symlinks: [SYM_HOST, SYM_BUSYBOX] },
      profile: { hostPath: profileDir, containerPath: PROFILE },
      env: [
        { name: 'PATH', value: `${PROFILE}/bin`, merge: 'prepend' },
        { name: 'FLOX_ENV', value: PROFILE, merge: 'set' },
        { name: 'FLOX_FIXTURE_VAR', value: 'from-vars', merge: 'default' },
      ],
      applied: { environment: 'acme/fixture:1', digest: 'ab'.repeat(32) },
      ...extra,
    };
  }

  async function runPatched(args: string[], p: PatchPlan): Promise<string> {
    const bundle = join(tmp, `bundle-${++counter}`);
    await mkdir(join(bundle, 'rootfs'), { recursive: true });
    expect(await readdir(join(bundle, 'rootfs'))).toEqual([]);
    await run(RUNC, ['spec', '--bundle', bundle]);
    const generated = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as Spec & { process: { terminal: boolean } };
    generated.process.terminal = false;
    generated.process.args = args;
    const patched = patchSpec(generated, p);
    await writeFile(join(bundle, 'config.json'), JSON.stringify(patched));
    const id = `oci-patch-${process.pid}-${counter}`;
    const state = join(tmp, 'runc-state');
    try {
      const { stdout } = await run(RUNC, ['--root', state, 'run', '--bundle', bundle, id], { timeout: 30_000 }).catch((error: unknown) => {
        throw new Error(`runc run failed: ${String((error as { stderr?: unknown }).stderr ?? error)} (stdout: ${String((error as { stdout?: unknown }).stdout ?? '')})`, { cause: error });
      });
      return stdout;
    } finally {
      await run(RUNC, ['--root', state, 'delete', '--force', id]).catch(() => undefined);
    }
  }

  it('resolves the command through PATH from the activation env, and sees FLOX_ENV and [vars]', async () => {
    const out = await runPatched(['hello-flox', 'one'], plan());
    expect(out).toContain('FLOX_FIXTURE_VAR=from-vars');
    expect(out).toContain('FLOX_FIXTURE_HOOK=unset');
    expect(out).toContain('args: one');
    const probe = await runPatched(['sh', '-c', 'echo "FLOX_ENV=$FLOX_ENV"; echo "PATH=$PATH"; command -v hello-flox'], plan());
    expect(probe.split('\n')).toEqual([
      `FLOX_ENV=${PROFILE}`,
      `PATH=${PROFILE}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      `${PROFILE}/bin/hello-flox`,
      '',
    ]);
  });

  it('cannot write to /nix/store, any mounted store path or the profile (EROFS)', async () => {
    const targets = ['/nix/store', ...fixtures.closure, PROFILE];
    const script = 'for p in "$@"; do err=$(touch "$p/.probe" 2>&1); echo "$?|$p|$err"; done';
    const out = await runPatched(['sh', '-c', script, 'sh', ...targets], plan());
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(targets.length);
    for (const [i, line] of lines.entries()) {
      const [rc, path, err] = line.split('|');
      expect(path).toBe(targets[i]);
      expect(rc).toBe('1');
      expect(err).toBe(`touch: ${targets[i]}/.probe: Read-only file system`);
    }
    for (const storePath of fixtures.closure) {
      expect(existsSync(join(hostStoreDir, storePath.slice('/nix/store/'.length), '.probe'))).toBe(false);
    }
  });

  it('/nix/store holds exactly the closure: the symlink paths as the same symlinks, resolved in the container', async () => {
    const busybox = `${fixtures.storePaths.busybox}/bin/busybox`;
    const script = [
      'ls -a /nix/store',
      `echo "sym=$(readlink ${SYM_HOST})"`,
      `cat ${SYM_HOST}/secret.txt 2>&1 || echo "no host file"`,
      `${SYM_BUSYBOX}/bin/busybox echo "through the link: ok"`,
      `cat ${FILE}`,
    ].join('; ');
    const out = await runPatched([busybox, 'sh', '-c', script], plan());
    const bases = closure.map((p) => p.slice('/nix/store/'.length));
    expect(out).toBe(
      [
        ...['.', '..', ...bases].sort(),
        `sym=${hostSecret}`,
        `cat: can't open '${SYM_HOST}/secret.txt': No such file or directory`,
        'no host file',
        'through the link: ok',
        'the file store path',
        '',
      ].join('\n'),
    );
  });

  it('mounts the view, every closure path and the profile read-only, nosuid and nodev (mountinfo in the container)', async () => {
    const out = await runPatched(['cat', '/proc/self/mountinfo'], plan());
    // mountinfo: id parent major:minor root mount-point mount-options …
    const options = new Map(out.trim().split('\n').map((line) => {
      const fields = line.split(' ');
      return [fields[4] as string, new Set((fields[5] as string).split(','))] as const;
    }));
    const mounted = ['/nix/store', ...closure.filter((p) => p !== SYM_HOST && p !== SYM_BUSYBOX), PROFILE];
    for (const point of mounted) {
      expect([point, ...(options.get(point) ?? ['not mounted'])]).toEqual(expect.arrayContaining([point, 'ro', 'nosuid', 'nodev']));
    }
    for (const link of [SYM_HOST, SYM_BUSYBOX]) expect(options.has(link)).toBe(false);
  });

  it('flox.dev/nix-mutable: the container writes under /nix/store and into closure paths; the node store keeps its bytes', async () => {
    const before = await treeDigest(hostStoreDir);
    const scratchDir = join(tmp, `mutable-${counter}`);
    const directories = fixtures.closure.filter((p) => existsSync(join(p, '.')));
    const nixMutable = { scratchDir, storeLower: join(scratchDir, 'empty'), directories };
    const dirs = nixMutableScratchDirs(nixMutable);
    for (const d of [nixMutable.storeLower, dirs.store.upper, dirs.store.work, ...dirs.paths.flatMap((p) => [p.upper, p.work])]) await mkdir(d, { recursive: true });
    const data = fixtures.storePaths.data;
    const greeting = `${data}/share/flox-fixture/greeting.txt`;
    const script = [
      'set -e',
      'echo new > /nix/store/new-entry',
      // Store files and directories are read-only (0444/0555) and runc's default capabilities have
      // no CAP_DAC_OVERRIDE: the owner (root) makes them writable first, as a user of a mutable store would.
      `chmod -R u+w ${data}`,
      `echo changed > ${greeting}`,
      `rm ${data}/share/flox-fixture/numbers.txt`,
      `mkdir ${data}/added`,
      'cat /nix/store/new-entry', `cat ${greeting}`, `ls ${data}/share/flox-fixture`,
      'hello-flox >/dev/null && echo still-runs',
    ].join('; ');
    const out = await runPatched(['sh', '-c', script], plan({ nixMutable, tmpfs: ['/run/flox/cache'] }));
    expect(out.split('\n')).toEqual(['new', 'changed', 'greeting.txt', 'nested', 'still-runs', '']);
    expect(await treeDigest(hostStoreDir)).toBe(before);
    // The writes went to this container's scratch directory, nowhere else.
    const base = data.slice('/nix/store/'.length);
    expect(await readFile(join(dirs.store.upper, 'new-entry'), 'utf8')).toBe('new\n');
    expect(await readFile(join(scratchDir, 'paths', base, 'upper', 'share', 'flox-fixture', 'greeting.txt'), 'utf8')).toBe('changed\n');
  });

  it('runs the hook through the wrapper and leaves the workload as PID 1', async () => {
    const wrapper = { shell: `${fixtures.storePaths.busybox}/bin/sh`, script: `${PROFILE}/activate.d/hook.sh` };
    const out = await runPatched(['sh', '-c', 'echo "hook=$FLOX_FIXTURE_HOOK pid=$$"'], plan({ wrapper }));
    expect(out).toBe('hook=ran pid=1\n');
  });
});

/** A store view like the store builds with a profile: a mount point per path, the symlinks themselves. */
async function makeStoreView(dir: string, hostStoreDir: string, closure: string[]): Promise<string> {
  await mkdir(dir);
  for (const storePath of closure) {
    const base = storePath.slice('/nix/store/'.length);
    const st = await lstat(join(hostStoreDir, base));
    if (st.isSymbolicLink()) await symlink(await readlink(join(hostStoreDir, base)), join(dir, base));
    else if (st.isDirectory()) await mkdir(join(dir, base));
    else await writeFile(join(dir, base), '');
  }
  return dir;
}

/** A merged profile like the store builds: bin/ symlinks into the closure and a hook. */
async function makeProfile(dir: string, fixtures: NixFixtures): Promise<string> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'activate.d'));
  for (const pkg of [fixtures.storePaths.busybox, fixtures.storePaths.script]) {
    for (const name of await readdir(join(pkg, 'bin'))) {
      await symlink(join(pkg, 'bin', name), join(dir, 'bin', name)).catch(() => undefined);
    }
  }
  await writeFile(join(dir, 'activate.d', 'hook.sh'), 'export FLOX_FIXTURE_HOOK=ran\nexec "$@"\n');
  await chmod(join(dir, 'activate.d', 'hook.sh'), 0o555);
  return dir;
}
