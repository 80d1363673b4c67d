// The real-Nix fixture environment (@flox-k8s/nix-fixtures) published into a directory hub,
// its signed cache served on loopback, and a node config naming both: what realise and sbom
// run against.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishEnvironment } from '@flox-k8s/environments';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { writeConfig } from './run-cli.ts';

/** A bearer token for the cache: it must never appear in anything the CLI prints. */
export const CACHE_TOKEN = 'cache-bearer-9f3c2a71d0';

export interface FixtureEnv {
  dir: string;
  fixtures: NixFixtures;
  cache: ServedCache;
  hub: string;
  /** A config with the hub as source, the served cache (with a credentials file) and the fixture key. */
  config: string;
  close(): Promise<void>;
}

export async function fixtureEnv(name: string): Promise<FixtureEnv> {
  const dir = await mkdtemp(join(tmpdir(), `flox-cli-${name}-`));
  const fixtures = await nixFixtures();
  const cache = await serveCache(fixtures.caches.xz);
  const hub = join(dir, 'hub');
  await publishEnvironment(hub, 'acme', 'fixture', fixtures.lockfile.bytes);
  await writeFile(join(dir, 'lockfile.lock'), fixtures.lockfile.bytes);
  const credentials = join(dir, 'cache-token');
  await writeFile(credentials, `${CACHE_TOKEN}\n`);
  const config = await writeConfig(dir, {
    storeRoot: join(dir, 'default-store'),
    caches: [{ url: cache.url, credentialsFile: credentials }],
    trustedKeys: [fixtures.publicKey],
    sources: [{ type: 'dir', path: hub }],
  });
  return {
    dir,
    fixtures,
    cache,
    hub,
    config,
    close: async () => {
      await cache.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
