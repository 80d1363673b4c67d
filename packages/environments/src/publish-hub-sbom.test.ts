// publishEnvironmentToHub with SBOMs: the real Nix-built fixture closure from its signed
// loopback cache, published over PUT to a loopback hub (serveHub). The SBOM files must land
// beside manifest.lock with the bytes the directory publish writes, and an unreadable
// closure must cost the hub no PUT at all.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type HubSource } from '@flox-k8s/config';
import { nixFixtures, serveHub, type NixFixtures, type ServedCache, type ServedHub } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReference, publishEnvironment, publishEnvironmentToHub, readPublishedSbom, resolveEnvironment, sourceReaders } from './index.ts';
import { serveFixtureCache, tree } from './test-publish-fixtures.ts';

const TOKEN = 'hub-token-sbom-77c1';
const SBOM_FILES = ['sbom.x86_64-linux.cdx.json', 'sbom.x86_64-linux.spdx.json'];
let fixtures: NixFixtures;
let cache: ServedCache;
let hub: ServedHub;
let dir: string;

beforeAll(async () => {
  fixtures = await nixFixtures();
  cache = await serveFixtureCache(fixtures);
  dir = await mkdtemp(join(tmpdir(), 'flox-publish-hub-sbom-'));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`);
  hub = await serveHub(join(dir, 'served'), { token: TOKEN });
}, 300_000);

afterAll(async () => {
  await hub?.close();
  await cache?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const hubSource = (): HubSource => parseConfig({ sources: [{ type: 'hub', url: `${hub.url}/envs`, tokenFile: join(dir, 'token') }] }).sources[0] as HubSource;
const sbomOptions = (url = cache.url, keys = [fixtures.publicKey]) => ({ caches: [{ url }], trustedKeys: keys });
const puts = (): string[] => hub.requests.filter((r) => r.method === 'PUT').map((r) => r.path);

describe('publishEnvironmentToHub with SBOMs', () => {
  it('PUTs the SBOMs beside manifest.lock, before by-digest and live, byte-identical to the directory publish', async () => {
    hub.requests.length = 0;
    const published = await publishEnvironmentToHub(hubSource(), 'acme', 'fixture', fixtures.lockfile.bytes, { sbom: sbomOptions() });
    expect(published).toMatchObject({ generation: 1, sboms: SBOM_FILES });
    expect(puts()).toEqual([
      '/envs/acme/fixture/generations/1/manifest.lock',
      ...SBOM_FILES.map((f) => `/envs/acme/fixture/generations/1/${f}`),
      `/envs/acme/fixture/by-digest/${published.digest}`,
      '/envs/acme/fixture/live',
    ]);
    expect(hub.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);

    const byDir = await publishEnvironment(join(dir, 'dir'), 'acme', 'fixture', fixtures.lockfile.bytes, { sbom: sbomOptions() });
    expect(byDir).toEqual(published);
    for (const file of SBOM_FILES) {
      const served = await readFile(join(dir, 'served', 'envs', 'acme', 'fixture', 'generations', '1', file));
      expect(served.length).toBeGreaterThan(1000);
      expect(served.equals(await readFile(join(dir, 'dir', 'acme', 'fixture', 'generations', '1', file)))).toBe(true);
    }
    // …and a reader of the hub finds them where the admission webhook looks.
    const readers = sourceReaders([hubSource()]);
    const fetched = await resolveEnvironment(parseReference('acme/fixture'), readers);
    const spdx = await readPublishedSbom(fetched, readers, 'x86_64-linux', 'spdx');
    expect(Buffer.from(spdx!).equals(await readFile(join(dir, 'dir', 'acme', 'fixture', 'generations', '1', SBOM_FILES[1]!)))).toBe(true);
  });

  it('makes the SBOMs for the generation number it gets: a number taken by a stray generation moves them on', async () => {
    const stray = join(dir, 'served', 'envs', 'acme', 'stray', 'generations', '1');
    await mkdir(stray, { recursive: true });
    await writeFile(join(stray, 'manifest.lock'), 'left by a publish that failed before moving live');
    hub.requests.length = 0;
    const published = await publishEnvironmentToHub(hubSource(), 'acme', 'stray', fixtures.lockfile.bytes, { sbom: sbomOptions() });
    expect(published).toMatchObject({ generation: 2, sboms: SBOM_FILES });
    expect(puts().filter((p) => p.includes('/sbom.'))).toEqual(SBOM_FILES.map((f) => `/envs/acme/stray/generations/2/${f}`));
    expect(await tree(join(dir, 'served', 'envs', 'acme', 'stray', 'generations', '1'))).toEqual(['manifest.lock']);
    const bom = JSON.parse(await readFile(join(dir, 'served', 'envs', 'acme', 'stray', 'generations', '2', SBOM_FILES[0]!), 'utf8')) as { metadata: { component: { version: string } } };
    expect(bom.metadata.component.version).toBe('2');
  });

  it.each([
    ['a closure path missing from the cache', () => sbomOptions(`${cache.url}/broken`)],
    ['narinfos signed by an untrusted key', () => sbomOptions(cache.url, ['other-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='])],
    ['a cache that is down', () => sbomOptions('http://127.0.0.1:9')],
  ])('PUTs nothing and fails with a code when it meets %s', async (_what, sbom) => {
    const before = await tree(join(dir, 'served'));
    hub.requests.length = 0;
    const error = await publishEnvironmentToHub(hubSource(), 'acme', 'unreadable', fixtures.lockfile.bytes, { sbom: sbom() }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FLOXK8S_ENV_PUBLISH_SBOM_FAILED', message: expect.stringContaining('nothing was published') });
    expect(hub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /envs/acme/unreadable/live']);
    expect(await tree(join(dir, 'served'))).toEqual(before);
  });
});
