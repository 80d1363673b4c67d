// publishEnvironment with SBOMs: real Nix-built closures served from a signed loopback
// cache; the SBOMs land beside manifest.lock only when the whole closure could be read.
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@flox-k8s/config';
import { parseSha256 } from '@flox-k8s/nar';
import { nixFixtures, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReference, publishEnvironment, readPublishedSbom, resolveEnvironment, sourceReaders } from './index.ts';
import { serveFixtureCache, tree } from './test-publish-fixtures.ts';

let fixtures: NixFixtures;
let cache: ServedCache;
let dir: string;
let hub: Server;
let hubUrl: string;

beforeAll(async () => {
  fixtures = await nixFixtures();
  cache = await serveFixtureCache(fixtures);
  dir = await mkdtemp(join(tmpdir(), 'flox-publish-'));
  hub = createServer((req, res) => {
    const path = join(dir, 'hub', decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    readFile(path).then(
      (body) => res.writeHead(200).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  hubUrl = `http://127.0.0.1:${(hub.address() as { port: number }).port}`;
}, 300_000);

afterAll(async () => {
  await cache?.close();
  await new Promise((r) => hub?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('publishEnvironment with SBOMs', () => {
  it('writes CycloneDX and SPDX beside manifest.lock: the whole closure with the NarHashes the cache signed', async () => {
    const sbom = { caches: [{ url: cache.url }], trustedKeys: [fixtures.publicKey] };
    const published = await publishEnvironment(join(dir, 'hub'), 'acme', 'fixture', fixtures.lockfile.bytes, { sbom });
    expect(published).toMatchObject({ generation: 1, sboms: ['sbom.x86_64-linux.cdx.json', 'sbom.x86_64-linux.spdx.json'] });
    expect(await tree(join(dir, 'hub', 'acme', 'fixture', 'generations'))).toEqual(['1', '1/manifest.lock', '1/sbom.x86_64-linux.cdx.json', '1/sbom.x86_64-linux.spdx.json']);
    const gen = join(dir, 'hub', 'acme', 'fixture', 'generations', '1');
    const bom = JSON.parse(await readFile(join(gen, 'sbom.x86_64-linux.cdx.json'), 'utf8')) as {
      metadata: { component: Record<string, unknown> };
      components: Array<{ 'bom-ref': string; hashes: Array<{ content: string }>; properties: Array<{ name: string; value: string }> }>;
    };
    expect(bom.metadata.component).toMatchObject({ group: 'acme', name: 'fixture', version: '1', hashes: [{ alg: 'SHA-256', content: published.digest }] });
    expect(bom.components.map((c) => c['bom-ref']).sort()).toEqual([...fixtures.closure].sort());
    for (const c of bom.components) {
      const narinfo = await (await fetch(`${cache.url}/${c['bom-ref'].slice(11, 43)}.narinfo`)).text();
      const narHash = /^NarHash: (.*)$/m.exec(narinfo)![1]!;
      expect(c.hashes[0]!.content).toBe(Buffer.from(parseSha256(narHash)).toString('hex'));
      expect(c.properties.filter((p) => p.name === 'nix:narinfo:sig').map((p) => p.value)).toEqual([/^Sig: (.*)$/m.exec(narinfo)![1]]);
    }
    const spdx = JSON.parse(await readFile(join(gen, 'sbom.x86_64-linux.spdx.json'), 'utf8')) as { spdxVersion: string; packages: unknown[] };
    expect(spdx.spdxVersion).toBe('SPDX-2.3');
    expect(spdx.packages).toHaveLength(fixtures.closure.length + 1);

    // The same lockfile published elsewhere as the same generation gives the same bytes.
    const other = await publishEnvironment(join(dir, 'hub-copy'), 'acme', 'fixture', fixtures.lockfile.bytes, { sbom });
    expect(other.generation).toBe(1);
    for (const file of published.sboms) {
      expect(await readFile(join(dir, 'hub-copy', 'acme', 'fixture', 'generations', '1', file))).toEqual(await readFile(join(gen, file)));
    }
  });

  it('serves the published SBOM through dir and hub sources, from the source that served the lockfile', async () => {
    for (const source of [{ type: 'dir', path: join(dir, 'hub') }, { type: 'hub', url: hubUrl }]) {
      const readers = sourceReaders(parseConfig({ sources: [{ type: 'dir', path: join(dir, 'empty') }, source] }).sources);
      const fetched = await resolveEnvironment(parseReference('acme/fixture:1'), readers);
      const bytes = await readPublishedSbom(fetched, readers, 'x86_64-linux', 'spdx');
      expect(Buffer.from(bytes!)).toEqual(await readFile(join(dir, 'hub', 'acme', 'fixture', 'generations', '1', 'sbom.x86_64-linux.spdx.json')));
      expect(await readPublishedSbom(fetched, readers, 'aarch64-linux', 'spdx')).toBeUndefined();
    }
  });

  it.each([
    ['a closure path missing from the cache', () => ({ caches: [{ url: `${cache.url}/broken` }], trustedKeys: [fixtures.publicKey] })],
    ['narinfos signed by an untrusted key', () => ({ caches: [{ url: cache.url }], trustedKeys: ['other-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='] })],
    ['a cache that is down', () => ({ caches: [{ url: 'http://127.0.0.1:9' }], trustedKeys: [fixtures.publicKey] })],
  ])('fails with a code and writes nothing when it meets %s', async (_what, sbom) => {
    const base = join(dir, 'hub');
    const before = await tree(base);
    const error = await publishEnvironment(base, 'acme', 'fixture', fixtures.lockfile.bytes, { sbom: sbom() }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FLOXK8S_ENV_PUBLISH_SBOM_FAILED', message: expect.stringContaining('nothing was published') });
    expect(await tree(base)).toEqual(before);
  });

  it('publishes after a generation a crashed publish left complete but not live, ignoring its leftovers', async () => {
    const base = join(dir, 'crashed');
    await publishEnvironment(base, 'acme', 'x', fixtures.lockfile.bytes);
    await mkdir(join(base, 'acme', 'x', 'generations', '2'));
    await writeFile(join(base, 'acme', 'x', 'generations', '2', 'manifest.lock'), fixtures.lockfile.bytes);
    await mkdir(join(base, 'acme', 'x', 'generations', '.tmp-3-1-abcd'));
    const published = await publishEnvironment(base, 'acme', 'x', fixtures.lockfile.bytes);
    expect(published).toMatchObject({ generation: 3, sboms: [] });
    expect(await readFile(join(base, 'acme', 'x', 'live'), 'utf8')).toBe('3\n');
  });
});
