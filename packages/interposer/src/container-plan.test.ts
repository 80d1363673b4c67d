// One runc create, in process, against a real store and the real-Nix fixture cache on
// loopback: what each container adds to its environment's plan (FLOX_ENV_CACHE,
// FLOX_ENV_PROJECT, FLOX_DISABLE_METRICS, the cache tmpfs, flox.dev/nix-mutable's scratch)
// and the activation mode taken from the manifest.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ShimConfig } from '@flox-k8s/config';
import { publishEnvironment } from '@flox-k8s/environments';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { FLOX_ENV_CACHE_DIR } from './container-plan.ts';
import type { InterposeState } from './context.ts';
import { interposeCreate } from './create.ts';
import { mutableRoot, sweepMutableScratch } from './nix-mutable.ts';

interface Spec {
  process: { env: string[]; args: string[]; cwd: string; user?: { uid: number; gid: number } };
  mounts: Array<{ destination: string; type?: string; source?: string; options?: string[] }>;
  annotations: Record<string, string>;
}

let dir: string;
let fixtures: NixFixtures;
let cache: ServedCache;
let config: ShimConfig;
const logged: Array<{ msg: string; fields: Record<string, unknown> | undefined }> = [];
let n = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flox-container-plan-'));
  fixtures = await nixFixtures();
  cache = await serveCache(fixtures.caches.zstd);
  const hub = join(dir, 'hub');
  await publishEnvironment(hub, 'acme', 'fixture', fixtures.lockfile.bytes);
  // The same environment with `options.activate.mode = "dev"` in its manifest.
  const lock = JSON.parse(Buffer.from(fixtures.lockfile.bytes).toString('utf8')) as { manifest: { options?: Record<string, unknown> } };
  lock.manifest.options = { ...lock.manifest.options, activate: { mode: 'dev' } };
  await publishEnvironment(hub, 'acme', 'fixture-dev', new TextEncoder().encode(JSON.stringify(lock, null, 2)));
  config = parseConfig({
    storeRoot: join(dir, 'store'),
    caches: [{ url: cache.url }],
    trustedKeys: [fixtures.publicKey],
    sources: [{ type: 'dir', path: hub }],
    agentSocket: join(dir, 'no-agent.sock'),
    system: 'x86_64-linux',
  });
}, 300_000);

afterAll(async () => {
  await cache?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function state(): InterposeState {
  return { context: () => ({ config, log: { log: (_level, msg, fields) => logged.push({ msg, fields }) } }) };
}

/** A bundle like containerd's, patched by one create; returns the bundle and its patched spec. */
async function create(annotations: Record<string, string>, process: Partial<Spec['process']> = {}, rootfsFiles: string[] = []): Promise<{ bundle: string; id: string; spec: Spec }> {
  const id = `c${++n}`;
  const bundle = join(dir, 'bundles', id);
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  for (const d of rootfsFiles) mkdirSync(join(bundle, 'rootfs', d), { recursive: true });
  const spec = {
    ociVersion: '1.0.2',
    process: { args: ['hello-flox'], env: ['PATH=/usr/bin:/bin'], cwd: '/', user: { uid: 0, gid: 0 }, ...process },
    root: { path: 'rootfs' },
    mounts: [],
    annotations: { 'flox.dev/environment': 'acme/fixture', 'io.kubernetes.cri.container-name': 'app', 'io.kubernetes.cri.container-type': 'container', ...annotations },
  };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  await interposeCreate({ subcommand: 'create', globals: { root: join(dir, 'runc'), log: undefined, logFormat: undefined }, bundle, containerId: id }, spec, state());
  return { bundle, id, spec: JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as Spec };
}

const envOf = (spec: Spec, name: string): string | undefined => spec.process.env.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);

describe('what each container adds', () => {
  it('FLOX_ENV_CACHE is a tmpfs of the container user; FLOX_ENV_PROJECT its working directory', async () => {
    const { spec, bundle } = await create({}, { cwd: '/srv/app', user: { uid: 1000, gid: 100 } });
    expect(envOf(spec, 'FLOX_ENV_CACHE')).toBe(FLOX_ENV_CACHE_DIR);
    expect(envOf(spec, 'FLOX_ENV_PROJECT')).toBe('/srv/app');
    expect(envOf(spec, 'FLOX_DISABLE_METRICS')).toBeUndefined();
    expect(spec.mounts.filter((m) => m.type === 'tmpfs')).toEqual([
      { destination: FLOX_ENV_CACHE_DIR, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=0755', 'uid=1000', 'gid=100'] },
    ]);
    // kubectl exec sees them too.
    const execPlan = JSON.parse(readFileSync(join(bundle, 'flox-k8s-exec-plan.json'), 'utf8')) as { env: Array<{ name: string }> };
    expect(execPlan.env.map((v) => v.name)).toEqual(expect.arrayContaining(['FLOX_ENV_CACHE', 'FLOX_ENV_PROJECT']));
  });

  it('values the pod sets itself win', async () => {
    const { spec } = await create({}, { env: ['PATH=/bin', 'FLOX_ENV_CACHE=/data/cache', 'FLOX_ENV_PROJECT=/data'] });
    expect(envOf(spec, 'FLOX_ENV_CACHE')).toBe('/data/cache');
    expect(envOf(spec, 'FLOX_ENV_PROJECT')).toBe('/data');
  });

  it('flox.dev/disable-metrics: "true" sets FLOX_DISABLE_METRICS=true and says so in the log', async () => {
    const { spec } = await create({ 'flox.dev/disable-metrics': 'true' });
    expect(envOf(spec, 'FLOX_DISABLE_METRICS')).toBe('true');
    expect(logged.some((l) => l.msg.startsWith('flox.dev/disable-metrics'))).toBe(true);
  });
});

describe("the manifest's activation mode", () => {
  it('options.activate.mode = "dev" applies without an annotation; the annotation beats it; warm starts agree', async () => {
    const dev = (await create({ 'flox.dev/environment': 'acme/fixture-dev' })).spec;
    expect(envOf(dev, 'PKG_CONFIG_PATH')).toBe('/run/flox-k8s/env/lib/pkgconfig:/run/flox-k8s/env/share/pkgconfig');
    expect(envOf(dev, 'CPATH')).toBe('/run/flox-k8s/env/include');
    const warm = (await create({ 'flox.dev/environment': 'acme/fixture-dev' })).spec;
    expect(envOf(warm, 'PKG_CONFIG_PATH')).toBe(envOf(dev, 'PKG_CONFIG_PATH'));
    const run = (await create({ 'flox.dev/environment': 'acme/fixture-dev', 'flox.dev/activate-mode': 'run' })).spec;
    expect(envOf(run, 'PKG_CONFIG_PATH')).toBeUndefined();
    expect(envOf((await create({})).spec, 'CPATH')).toBeUndefined();
    const modes = logged.filter((l) => l.msg === 'container patched').slice(-4).map((l) => l.fields?.['mode']);
    expect(modes).toEqual(['dev', 'manifest', 'run', 'manifest']);
  });
});

describe('flox.dev/nix-mutable', () => {
  it('creates the scratch layers: /nix/store owned by the container user, one overlay per closure directory', async () => {
    const { spec, id, bundle } = await create({ 'flox.dev/nix-mutable': 'true' }, { user: { uid: 1000, gid: 100 } });
    const scratch = join(mutableRoot(config.storeRoot), id);
    const overlays = spec.mounts.filter((m) => m.type === 'overlay');
    expect(overlays[0]?.destination).toBe('/nix/store');
    // Lowers: the store view (the closure's entries), then an empty directory (the stub image has no store).
    expect(overlays[0]?.options?.[0]).toMatch(/^lowerdir=[^:,]+\/\.flox-k8s\/nix-store:/);
    expect(overlays[0]?.options?.[0]?.endsWith(`:${join(scratch, 'empty')}`)).toBe(true);
    expect(spec.mounts.filter((m) => m.destination === '/nix/store')).toHaveLength(1);
    expect(overlays.slice(1).map((m) => m.destination)).toEqual([...fixtures.closure].sort());
    expect(statSync(join(scratch, 'store', 'upper'))).toMatchObject({ uid: 1000, gid: 100 });
    expect(statSync(join(scratch, 'store', 'upper')).mode & 0o7777).toBe(0o755);
    for (const path of fixtures.closure) {
      const base = path.slice('/nix/store/'.length);
      const lower = statSync(join(config.storeRoot, 'store', base));
      expect(statSync(join(scratch, 'paths', base, 'upper')).mode).toBe(lower.mode);
      expect(existsSync(join(scratch, 'paths', base, 'work'))).toBe(true);
    }
    expect(readFileSync(join(scratch, 'bundle'), 'utf8')).toBe(bundle);
    expect(statSync(mutableRoot(config.storeRoot)).mode & 0o777).toBe(0o700);
  });

  it("keeps an image's own /nix/store visible: it is the lower layer of /nix/store", async () => {
    const { spec, bundle } = await create({ 'flox.dev/nix-mutable': 'true' }, {}, ['nix/store/00000000000000000000000000000000-from-the-image']);
    expect(spec.mounts.find((m) => m.destination === '/nix/store')?.options?.[0]).toMatch(new RegExp(`^lowerdir=[^:,]+:${join(bundle, 'rootfs', 'nix', 'store').replaceAll('.', '\\.')}$`));
  });

  it("takes an image's empty /nix/store (the stub image's mount point) for no store: the lower is an empty directory of ours", async () => {
    const { spec, id, bundle } = await create({ 'flox.dev/nix-mutable': 'true' }, {}, ['nix/store/']);
    expect(statSync(join(bundle, 'rootfs', 'nix', 'store')).isDirectory()).toBe(true);
    expect(spec.mounts.find((m) => m.destination === '/nix/store')?.options?.[0]?.endsWith(`:${join(mutableRoot(config.storeRoot), id, 'empty')}`)).toBe(true);
  });

  it('sweeps the scratch of containers whose bundle containerd removed, and of creates that died half-way', async () => {
    const gone = await create({ 'flox.dev/nix-mutable': 'true' });
    const alive = await create({ 'flox.dev/nix-mutable': 'true' });
    rmSync(gone.bundle, { recursive: true });
    const orphan = join(mutableRoot(config.storeRoot), 'orphan');
    mkdirSync(orphan);
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(orphan, hourAgo, hourAgo);
    const young = join(mutableRoot(config.storeRoot), 'being-created');
    mkdirSync(young);
    expect(sweepMutableScratch({ scratchRoot: mutableRoot(config.storeRoot), bundleExists: existsSync })).toBe(2);
    expect(existsSync(join(mutableRoot(config.storeRoot), gone.id))).toBe(false);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(join(mutableRoot(config.storeRoot), alive.id))).toBe(true);
    expect(existsSync(young)).toBe(true);
  });

  it('refuses a container id that cannot name a directory before making anything of it (its GC root first: FLOXK8S_STORE_OPTIONS_INVALID)', async () => {
    const bundle = join(dir, 'bundles', 'bad-id');
    mkdirSync(join(bundle, 'rootfs'), { recursive: true });
    const spec = { ociVersion: '1.0.2', process: { args: ['x'], env: [], cwd: '/' }, root: { path: 'rootfs' }, annotations: { 'flox.dev/environment': 'acme/fixture', 'flox.dev/nix-mutable': 'true' } };
    await expect(
      interposeCreate({ subcommand: 'create', globals: { root: dir, log: undefined, logFormat: undefined }, bundle, containerId: '../escape' }, spec, state()),
    ).rejects.toMatchObject({ code: 'FLOXK8S_STORE_OPTIONS_INVALID' });
    expect(existsSync(join(mutableRoot(config.storeRoot), '..', 'escape'))).toBe(false);
  });
});
