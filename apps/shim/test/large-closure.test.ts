// The bundled interposer as installed, on a closure of the size users run (the large fixture:
// 138 paths, 344 MB of NAR, a 126 MB node): an in-process realise that big streams its NARs
// on the store's fetch worker threads, which the bundle must be able to start. The "real
// runc" is a recording stand-in; e2e runs the real one on these closures.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixLargeFixtures, nixSkipReason, serveCache, type NixLargeFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from '@flox-k8s/store';
import { publishEnvironment } from '@flox-k8s/environments';
import { installLayout, type InstallLayout } from '@flox-k8s/shim-layout';
import { shimPrograms } from '../src/programs.ts';

const skip = nixSkipReason();

describe.skipIf(skip !== undefined)(`bundled interposer, large closure${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let dir: string;
  let fixtures: NixLargeFixtures;
  let cache: ServedCache;
  let layout: InstallLayout;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flox-interposer-large-'));
    fixtures = await nixLargeFixtures();
    // zstd: its large NARs (bin/node, libicu, …) stream, so they go to the fetch workers.
    cache = await serveCache(fixtures.caches.zstd);
    await publishEnvironment(join(dir, 'hub'), 'acme', 'large', fixtures.lockfile.bytes);
    writeFileSync(join(dir, 'fake-runc'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${join(dir, 'runc-calls')}'\nexit 0\n`, { mode: 0o755 });
    // What ships: the prebuilt bundle when `pnpm build` made one, else esbuild now (same build).
    layout = await installLayout({ programs: shimPrograms, prefix: join(dir, 'install'), runc: join(dir, 'fake-runc'), compileCache: join(dir, 'cc'), patchServiceDir: '' });
  }, 900_000);
  afterAll(async () => {
    await cache?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('realises all 138 paths in-process on the fetch workers and patches the spec', async () => {
    const storeRoot = join(dir, 'store');
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        storeRoot,
        caches: [{ url: cache.url }],
        trustedKeys: [fixtures.publicKey],
        sources: [{ type: 'dir', path: join(dir, 'hub') }],
        agentSocket: join(dir, 'no-agent.sock'),
        logFile: join(dir, 'shim.log'),
      }),
    );
    const bundle = join(dir, 'bundle');
    mkdirSync(join(bundle, 'rootfs'), { recursive: true });
    const annotations = { 'flox.dev/environment': 'acme/large', 'io.kubernetes.cri.container-name': 'app', 'io.kubernetes.cri.container-type': 'container' };
    writeFileSync(join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: ['node', '--version'], env: [], cwd: '/' }, root: { path: 'rootfs' }, mounts: [], annotations }));
    const child = spawn(layout.interposer, ['--root', join(dir, 'runc-root'), 'create', '--bundle', bundle, 'large-1'], {
      env: { PATH: '/usr/bin:/bin', FLOXK8S_CONFIG: config },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const status = await new Promise<number | null>((r) => child.on('close', r));
    // Before the fix: FLOXK8S_STORE_FETCH_FAILED … Cannot find module '…/lib/chunks/fetch-worker.js'.
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(cache.count(/^\/nar\//)).toBe(fixtures.closure.length);

    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { mounts: Array<{ destination: string }> };
    expect(spec.mounts.map((m) => m.destination).filter((d) => d.startsWith('/nix/store/')).sort()).toEqual(fixtures.closure);
    // Every path byte-identical to Nix's: re-hashed against the signed NarHash it was fetched with.
    const store = await Store.open(storeRoot, { recover: false });
    const verified = await store.verify();
    expect({ ok: verified.ok, checked: verified.checked, corrupt: verified.corrupt }).toEqual({ ok: true, checked: fixtures.closure.length, corrupt: [] });
    expect(readdirSync(join(storeRoot, 'store')).sort()).toEqual(fixtures.closure.map((p) => p.slice('/nix/store/'.length)).sort());
    const log = readFileSync(join(dir, 'shim.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(log.filter((l) => l['msg'] === 'container patched').map((l) => [l['via'], l['fetched']])).toEqual([['in-process', fixtures.closure.length]]);
    // A cold start that long says how far it is (what `pnpm demo` shows): the last line is the whole closure.
    const progress = log.filter((l) => l['msg'] === 'realise progress');
    expect(progress.at(-1)).toMatchObject({ via: 'in-process', pathsDone: fixtures.closure.length, pathsTotal: fixtures.closure.length, narBytesDone: fixtures.narSize, narBytesTotal: fixtures.narSize });
  }, 600_000);
});
