import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectLayout, installLayout, type InstallLayout } from '@flox-k8s/shim-layout';
import { shimPrograms } from '../src/programs.ts';

// Real sh fronts with recording stand-ins for runc, node and containerd-shim-runc-v2
// (stand-ins, not mocks of our code: the fronts are what is under test).
const dir = mkdtempSync(join(tmpdir(), 'flox-shim-layout-'));
const record = join(dir, 'calls');
let layout: InstallLayout;
let searched: InstallLayout;
// Each case runs against the compiled front (`runc`, the sh front beside it as `runc.sh`) and the sh front alone.
const layouts: Record<string, { layout: InstallLayout; searched: InstallLayout }> = {};
let a = 'a';
let b = 'b';

function standIn(name: string, exitCode: number, extra = ''): string {
  const path = join(dir, 'fake', name);
  execFileSync('mkdir', ['-p', join(dir, 'fake')]);
  writeFileSync(
    path,
    `#!/bin/sh\nprintf '%s' "${name}" >> '${record}'\nfor a in "$@"; do printf ' [%s]' "$a" >> '${record}'; done\necho >> '${record}'\n${extra}\nexit ${exitCode}\n`,
    { mode: 0o755 },
  );
  return path;
}

beforeAll(async () => {
  const runc = standIn('runc', 7, `printf '\\000\\001proto\\377'`);
  const node = standIn('node', 0, 'echo "real=$FLOXK8S_REAL_RUNC config=$FLOXK8S_CONFIG cache=$NODE_COMPILE_CACHE malloc=$MALLOC_MMAP_THRESHOLD_ arenas=$MALLOC_ARENA_MAX options=$NODE_OPTIONS tunables=$GLIBC_TUNABLES nohandoff=${FLOXK8S_FRONT_NO_HANDOFF-unset}"');
  const shim = standIn('containerd-shim-runc-v2', 3, 'echo "PATH=$PATH"');
  for (const compiledFront of [true, false]) {
    const kind = compiledFront ? 'compiled' : 'sh';
    layouts[kind] = {
      layout: await installLayout({ programs: shimPrograms, prefix: join(dir, `a-${kind}`), node, runc, shimRuncV2: shim, config: '/etc/x/config.json', compileCache: join(dir, 'cc'), fromSource: true, patchServiceDir: join(dir, 'no-patch-service'), compiledFront }),
      searched: await installLayout({ programs: shimPrograms, prefix: join(dir, `b-${kind}`), node, fromSource: true, patchServiceDir: '', compiledFront }),
    };
  }
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: Buffer; calls: string[] } {
  writeFileSync(record, '');
  const result = spawnSync(file, args, { env: { PATH: '/usr/bin:/bin', ...env } });
  return { status: result.status, stdout: result.stdout, calls: readFileSync(record, 'utf8').trim().split('\n') };
}

describe.each(['compiled', 'sh'])('install layout, %s front', (kind) => {
  beforeAll(() => {
    ({ layout, searched } = layouts[kind] as { layout: InstallLayout; searched: InstallLayout });
    a = `a-${kind}`;
    b = `b-${kind}`;
  });

  it('the front is what was asked for: the compiled one with the sh front beside it, or the sh front alone', () => {
    expect(layout.compiledFront).toBe(kind === 'compiled');
    expect(readFileSync(layout.interposer).subarray(0, 4).toString('latin1')).toBe(kind === 'compiled' ? '\x7fELF' : '#!/b');
    expect(layout.frontScript).toBe(join(dir, a, 'libexec', 'flox-k8s', kind === 'compiled' ? 'runc.sh' : 'runc'));
    expect(readFileSync(layout.frontScript, 'utf8')).toMatch(/^#!\/bin\/sh\n/);
    if (kind === 'compiled') expect(readFileSync(join(dir, a, 'libexec', 'flox-k8s', 'runc-front.conf'), 'utf8')).toBe(`runc=${join(dir, 'fake', 'runc')}\npatcher=${join(dir, 'no-patch-service')}\n`);
  });

  it('lays out bin/, libexec/flox-k8s/ and lib/', () => {
    expect(layout.launcher).toBe(join(dir, a, 'bin', 'containerd-shim-flox-v2'));
    expect(layout.interposer).toBe(join(dir, a, 'libexec', 'flox-k8s', 'runc'));
    // The fetch worker is an entry of its own beside the interposer (in-process realises start it by URL).
    expect(layout.bundles).toEqual([join(dir, a, 'lib', 'fetch-worker.mjs'), join(dir, a, 'lib', 'runc-interposer.mjs')]);
  });

  it('lib/ carries koffi and its binary beside the bundles: from there, xz decodes through the system liblzma', () => {
    const script = "process.stdout.write(require('koffi').load('liblzma.so.5').func('const char *lzma_version_string(void)')())";
    // Not the NODE_PATH pnpm's .bin/vitest shim exports (the workspace's hoisted modules, koffi among them).
    const fromLayout = execFileSync(process.execPath, ['-e', script], { cwd: join(dir, a, 'lib', 'chunks'), env: { PATH: '/usr/bin:/bin' } }).toString();
    expect(fromLayout).toBe(execFileSync('xz', ['--version']).toString().match(/liblzma (\S+)/)?.[1]);
  });

  it('reads back with inspectLayout (what the CLI\'s doctor checks on a node)', async () => {
    expect(await inspectLayout(layout.launcher)).toEqual({
      launcher: layout.launcher,
      frontDir: join(dir, a, 'libexec', 'flox-k8s'),
      node: join(dir, 'fake', 'node'),
      entry: join(dir, a, 'lib', 'runc-interposer.mjs'),
      problems: [],
    });
  });

  it('passes state/kill/delete straight to runc: same argv, stdout bytes and exit status, no Node', () => {
    for (const args of [
      ['--root', '/run/containerd/runc/k8s.io', '--log', '/b/log.json', '--log-format', 'json', 'state', 'c1'],
      ['--root=/r', '--systemd-cgroup', 'kill', 'c1', '9'],
      ['--root', 'create', '--log', 'exec', 'delete', '--force', 'c1'],
    ]) {
      const r = run(layout.interposer, args);
      expect(r.status).toBe(7);
      expect(r.stdout).toEqual(Buffer.from([0, 1, ...Buffer.from('proto'), 0xff]));
      expect(r.calls).toEqual([`runc ${args.map((a) => `[${a}]`).join(' ')}`]);
    }
  });

  it('sends create and exec to Node with the original argv and the real runc', () => {
    const args = ['--root', '/r', '--log', '/l', 'create', '--bundle', '/b', 'c1'];
    const r = run(layout.interposer, args);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([`node [--no-warnings] [${join(dir, a, 'lib', 'runc-interposer.mjs')}] ${args.map((a) => `[${a}]`).join(' ')}`]);
    // With no agent this Node realises closures: it runs as a NAR-fetching process should (@flox-k8s/nar/process-env).
    expect(r.stdout.toString()).toBe(`real=${join(dir, 'fake', 'runc')} config=/etc/x/config.json cache=${join(dir, 'cc')} malloc=2097152 arenas=1 options=--max-semi-space-size=2 tunables=glibc.malloc.hugetlb=1 nohandoff=unset\n`);
    expect(run(layout.interposer, ['exec', '--process', '/p', 'c1']).calls[0]).toMatch(/^node /);
    // FLOXK8S_CONFIG from the environment wins over the baked default.
    expect(run(layout.interposer, ['create', 'c1'], { FLOXK8S_CONFIG: '/other.json' }).stdout.toString()).toContain('config=/other.json');
    // NODE_OPTIONS the host set for the shim are kept, after ours (so they win).
    expect(run(layout.interposer, ['create', 'c1'], { NODE_OPTIONS: '--max-old-space-size=300' }).stdout.toString()).toContain('options=--max-semi-space-size=2 --max-old-space-size=300 tunables=glibc.malloc.hugetlb=1 nohandoff=unset\n');
    // So are glibc tunables, after ours (':'-separated; glibc takes the last value of a tunable).
    expect(run(layout.interposer, ['create', 'c1'], { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0:glibc.malloc.tcache_count=0' }).stdout.toString()).toContain(
      'options=--max-semi-space-size=2 tunables=glibc.malloc.hugetlb=1:glibc.malloc.hugetlb=0:glibc.malloc.tcache_count=0 nohandoff=unset\n',
    );
    // The compiled front's word to the script after a hand-off that got no answer is not passed on.
    expect(run(layout.interposer, ['create', 'c1'], { FLOXK8S_FRONT_NO_HANDOFF: '1' }).stdout.toString()).toContain(' nohandoff=unset\n');
  });

  it('sends a create whose spec names no environment straight to runc (sandboxes, plain containers)', () => {
    const plain = join(dir, 'plain-bundle');
    const flox = join(dir, 'flox-bundle');
    execFileSync('mkdir', ['-p', plain, flox]);
    writeFileSync(join(plain, 'config.json'), JSON.stringify({ annotations: { 'io.kubernetes.cri.container-type': 'sandbox' } }));
    writeFileSync(join(flox, 'config.json'), JSON.stringify({ annotations: { 'flox.dev/environment': 'acme/x' } }));
    for (const args of [['create', '--bundle', plain, 'c1'], ['--root', '/r', 'create', `--bundle=${plain}`, '--pid-file', '/p', 'c1'], ['create', '-b', plain, 'c1']]) {
      const r = run(layout.interposer, args);
      expect(r.status).toBe(7);
      expect(r.calls).toEqual([`runc ${args.map((a) => `[${a}]`).join(' ')}`]);
    }
    expect(run(layout.interposer, ['create', '--bundle', flox, 'c1']).calls[0]).toMatch(/^node /);
  });

  it('finds the first runc on PATH that is not itself', () => {
    const path = `${join(dir, b, 'libexec', 'flox-k8s')}:${join(dir, 'fake')}:/usr/bin:/bin`;
    const r = run(searched.interposer, ['state', 'c1'], { PATH: path });
    expect(r.status).toBe(7);
    expect(r.calls).toEqual(['runc [state] [c1]']);
    const none = run(searched.interposer, ['state', 'c1'], { PATH: join(dir, b, 'libexec', 'flox-k8s') });
    expect(none.status).toBe(127);
  });

  it('launcher: interposer first on PATH, same argv and exit status, prints nothing of its own', () => {
    const r = run(layout.launcher, ['-namespace', 'k8s.io', '-id', 'x', 'start']);
    expect(r.status).toBe(3);
    expect(r.calls).toEqual(['containerd-shim-runc-v2 [-namespace] [k8s.io] [-id] [x] [start]']);
    expect(r.stdout.toString()).toBe(`PATH=${join(dir, a, 'libexec', 'flox-k8s')}:/usr/bin:/bin\n`);
  });
});

describe('compiled front', () => {
  it('a layout reinstalled with the sh front alone keeps nothing of the compiled one', async () => {
    const prefix = join(dir, 'reinstalled');
    const front = join(prefix, 'libexec', 'flox-k8s');
    await installLayout({ programs: shimPrograms, prefix, fromSource: true, patchServiceDir: '', compiledFront: true });
    expect(readdirSync(front).sort()).toEqual(['runc', 'runc-front.conf', 'runc.sh']);
    const sh = await installLayout({ programs: shimPrograms, prefix, fromSource: true, patchServiceDir: '', compiledFront: false });
    expect(readdirSync(front)).toEqual(['runc']);
    expect(readFileSync(sh.interposer, 'utf8')).toMatch(/^#!\/bin\/sh\n/);
  }, 120_000);

  it('a compiled front whose settings are missing or not what install-layout writes leaves every call to the sh front', () => {
    const { layout } = layouts['compiled'] as { layout: InstallLayout };
    const conf = join(dir, 'a-compiled', 'libexec', 'flox-k8s', 'runc-front.conf');
    const written = readFileSync(conf, 'utf8');
    try {
      for (const text of [undefined, 'runc=relative/runc\npatcher=\n', `runc=${join(dir, 'fake', 'runc')}\nunknown=1\npatcher=\n`, 'x'.repeat(20_000)]) {
        rmSync(conf, { force: true });
        if (text !== undefined) writeFileSync(conf, text);
        // `state` goes to runc either way: through the script here (its PATH search finds the stand-in).
        const r = run(layout.interposer, ['state', 'c1'], { PATH: `${join(dir, 'fake')}:/usr/bin:/bin` });
        expect(r.status).toBe(7);
        expect(r.calls).toEqual(['runc [state] [c1]']);
        // A create goes to the script's decision (Node here), never to the service or runc directly.
        expect(run(layout.interposer, ['create', 'c1']).calls[0]).toMatch(/^node /);
      }
    } finally {
      writeFileSync(conf, written);
    }
  });
});
