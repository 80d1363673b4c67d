// What the bundled interposer mounts, checked on the objects behind the mount sources, not on
// strings: a symlink store path (validly signed; legal in Nix) and a file store path, a mount
// source replaced by a symlink after realise, and pod-set annotations that claim "patched".
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSha256, nix32Encode, serializeNarinfo, signNarinfo } from '@flox-k8s/nar';
import { narOf, storePathFor, storePathLockfile, writeSignedCache } from '@flox-k8s/hostile-nars';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { publishEnvironment } from '@flox-k8s/environments';
import { bundledInterposer, type BundledInterposer } from './bundled-interposer.ts';

interface Mount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}
interface Spec {
  annotations?: Record<string, string>;
  mounts?: Mount[];
}

const dir = mkdtempSync(join(tmpdir(), 'flox-closure-mounts-'));
const hostOnly = join(dir, 'host-only');
const HOST_LINK = storePathFor('mounts-link-to-host-dir');
const FILE = storePathFor('mounts-a-file');
let fixtures: NixFixtures;
let cache: ServedCache;
let oddCache: ServedCache;
let harness: BundledInterposer;
let fixtureDigest: string;

const annotations = (environment: string): Record<string, string> => ({
  'flox.dev/environment': environment,
  'io.kubernetes.cri.container-name': 'app',
  'io.kubernetes.cri.container-type': 'container',
});
const specOf = (b: string): Spec => JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')) as Spec;

beforeAll(async () => {
  fixtures = await nixFixtures();
  cache = await serveCache(fixtures.caches.xz);
  mkdirSync(hostOnly);
  writeFileSync(join(hostOnly, 'secret.txt'), 'host only\n');
  writeSignedCache(
    join(dir, 'odd-cache'),
    [
      { name: 'mounts-link-to-host-dir', nar: narOf({ type: 'symlink', target: hostOnly }), compression: 'xz' },
      { name: 'mounts-a-file', nar: narOf({ type: 'regular', contents: 'a file store path\n' }), compression: 'zstd' },
    ],
    readFileSync(fixtures.secretKeyFile, 'utf8'),
    { formatSha256, nix32Encode, serializeNarinfo, signNarinfo },
  );
  oddCache = await serveCache(join(dir, 'odd-cache'));
  ({ digest: fixtureDigest } = await publishEnvironment(join(dir, 'hub'), 'acme', 'fixture', fixtures.lockfile.bytes));
  await publishEnvironment(join(dir, 'hub'), 'acme', 'link', storePathLockfile({ busybox: fixtures.storePaths.busybox, hostlink: HOST_LINK }));
  await publishEnvironment(join(dir, 'hub'), 'acme', 'file', storePathLockfile({ busybox: fixtures.storePaths.busybox, file: FILE }));
  harness = await bundledInterposer(dir, fixtures, cache);
}, 300_000);
afterAll(async () => {
  await cache?.close();
  await oddCache?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every bind mount's source is a directory or a regular file inside the store root: never a symlink. */
function expectRealSources(spec: Spec, storeRoot: string): void {
  const binds = (spec.mounts ?? []).filter((m) => m.type === 'bind');
  expect(binds.length).toBeGreaterThan(0);
  for (const m of binds) {
    expect(m.source.startsWith(`${storeRoot}/`), m.source).toBe(true);
    const st = lstatSync(m.source);
    expect(st.isDirectory() || st.isFile(), `${m.destination} <- ${m.source}`).toBe(true);
    expect(m.options).toEqual(['rbind', 'ro', 'nosuid', 'nodev']);
  }
}

/** Creates a container of `acme/<name>` in its own store; returns its mounts by destination, every source checked. */
async function createdMounts(name: string): Promise<Map<string, Mount>> {
  const config = harness.writeConfig(name, { caches: [{ url: cache.url }, { url: oddCache.url }] });
  const b = harness.bundle(name, annotations(`acme/${name}`));
  const r = await harness.interpose(['create', '--bundle', b, `${name}-1`], config);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const spec = specOf(b);
  expectRealSources(spec, join(dir, `store-${name}`));
  return new Map((spec.mounts ?? []).map((m) => [m.destination, m]));
}

describe('closure mounts (bundled interposer, as a process)', () => {
  it('a symlink store path is never a mount source: the store view at /nix/store holds the same symlink', async () => {
    const mounts = await createdMounts('link');
    expect(mounts.has(HOST_LINK)).toBe(false);
    const view = mounts.get('/nix/store')?.source as string;
    expect(readlinkSync(join(view, HOST_LINK.slice('/nix/store/'.length)))).toBe(hostOnly);
  });

  it('a file store path is bind-mounted as the file, onto an empty file of the store view', async () => {
    const mounts = await createdMounts('file');
    expect(readFileSync(mounts.get(FILE)?.source as string, 'utf8')).toBe('a file store path\n');
    const view = mounts.get('/nix/store')?.source as string;
    expect(lstatSync(join(view, FILE.slice('/nix/store/'.length))).isFile()).toBe(true);
  });

  it('a mount source replaced by a symlink after realise: FLOXK8S_MOUNT_SOURCE_INVALID, runc not run, spec untouched', async () => {
    const config = harness.writeConfig('toctou');
    expect((await harness.interpose(['create', '--bundle', harness.bundle('toctou-1', annotations('acme/fixture')), 'toctou-1'], config)).status).toBe(0);
    // Replace a realised directory store path with a symlink to a host directory (the cached plan still names it).
    const source = join(dir, 'store-toctou', 'store', fixtures.storePaths.data.slice('/nix/store/'.length));
    renameSync(source, `${source}.real`);
    symlinkSync(hostOnly, source);
    try {
      const b = harness.bundle('toctou-2', annotations('acme/fixture'));
      const before = readFileSync(join(b, 'config.json'));
      const r = await harness.interpose(['create', '--bundle', b, 'toctou-2'], config);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^flox-k8s: environment acme/fixture: FLOXK8S_MOUNT_SOURCE_INVALID: mount source refused: store path ${fixtures.storePaths.data}: ${source} is a symlink;`));
      expect(readFileSync(harness.recorded, 'utf8')).toBe('');
      expect(readFileSync(join(b, 'config.json'))).toEqual(before);
    } finally {
      rmSync(source);
      renameSync(`${source}.real`, source);
    }
  });

  it('pod-set flox.dev/applied-environment and flox.dev/lockfile-digest never mark a container as patched', async () => {
    const config = harness.writeConfig('forged');
    const forgeries: Array<Record<string, string>> = [
      { 'flox.dev/applied-environment': 'acme/fixture', 'flox.dev/lockfile-digest': fixtureDigest },
      { 'flox.dev/lockfile-digest': fixtureDigest },
    ];
    for (const forged of forgeries) {
      const b = harness.bundle(`forged-${Object.keys(forged).length}`, { ...annotations('acme/fixture'), ...forged });
      const before = readFileSync(join(b, 'config.json'));
      const r = await harness.interpose(['create', '--bundle', b, 'forged'], config);
      expect(r.stderr).toMatch(/^flox-k8s: environment acme\/fixture: FLOXK8S_ANNOTATION_RESERVED: annotation flox\.dev\/(applied-environment|lockfile-digest) is written by flox-k8s/);
      expect(r.status).toBe(1);
      expect(readFileSync(harness.recorded, 'utf8')).toBe('');
      expect(readFileSync(join(b, 'config.json'))).toEqual(before);
    }
    // What we patched ourselves is recognised by the marker beside config.json, not by the annotations.
    const b = harness.bundle('ours', annotations('acme/fixture'));
    expect((await harness.interpose(['create', '--bundle', b, 'ours'], config)).status).toBe(0);
    const once = readFileSync(join(b, 'config.json'), 'utf8');
    expect(JSON.parse(readFileSync(join(b, 'flox-k8s-patched.json'), 'utf8'))).toMatchObject({ environment: 'acme/fixture', digest: fixtureDigest });
    expect((await harness.interpose(['create', '--bundle', b, 'ours'], config)).status).toBe(0);
    expect(readFileSync(join(b, 'config.json'), 'utf8')).toBe(once);
    const log = readFileSync(join(dir, 'forged.log'), 'utf8');
    expect(log).toContain('"msg":"container already patched"');
  });
});
