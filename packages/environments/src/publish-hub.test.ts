import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type HubSource } from '@flox-k8s/config';
import { lockfileDigest } from '@flox-k8s/lockfile';
import { serveHub, type ServedHub } from '@flox-k8s/nix-fixtures';
import { parseReference, publishEnvironmentToHub, resolveEnvironment, sourceReaders } from './index.ts';

const TOKEN = 'hub-token-5f1e';
let dir: string;
let bytes: Uint8Array;
let hub: ServedHub;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-env-publish-hub-'));
  bytes = new Uint8Array(await readFile(new URL('../test/fixtures/hello-4systems.lock.json', import.meta.url)));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`);
  hub = await serveHub(join(dir, 'hub'), { token: TOKEN });
});
afterAll(async () => {
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

function hubSource(input: { url?: string; tokenFile?: string | undefined } = {}): HubSource {
  const source = { type: 'hub', url: input.url ?? `${hub.url}/envs`, ...('tokenFile' in input ? (input.tokenFile === undefined ? {} : { tokenFile: input.tokenFile }) : { tokenFile: join(dir, 'token') }) };
  return parseConfig({ sources: [source] }).sources[0] as HubSource;
}

describe('publishEnvironmentToHub', () => {
  it('publishes the next generations over PUT; the hub and its directory then resolve them', async () => {
    const second = new TextEncoder().encode(`${new TextDecoder().decode(bytes).trimEnd()}\n\n`);
    expect(await publishEnvironmentToHub(hubSource(), 'acme', 'hello', bytes)).toEqual({ generation: 1, digest: lockfileDigest(bytes), sboms: [] });
    hub.requests.length = 0;
    expect(await publishEnvironmentToHub(hubSource(), 'acme', 'hello', second)).toEqual({ generation: 2, digest: lockfileDigest(second), sboms: [] });
    expect(hub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /envs/acme/hello/live',
      'PUT /envs/acme/hello/generations/2/manifest.lock',
      `PUT /envs/acme/hello/by-digest/${lockfileDigest(second)}`,
      'PUT /envs/acme/hello/live',
    ]);
    expect(hub.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    for (const readers of [sourceReaders([hubSource()]), sourceReaders([{ type: 'dir', path: join(dir, 'hub', 'envs') }])]) {
      const pinned = await resolveEnvironment(parseReference(`acme/hello@sha256:${lockfileDigest(bytes)}`), readers);
      expect(pinned.generation).toBe(1);
      expect(Buffer.from(pinned.bytes).equals(Buffer.from(bytes))).toBe(true);
      expect((await resolveEnvironment(parseReference('acme/hello'), readers)).generation).toBe(2);
    }
  });

  it('never overwrites a generation: one left past live by a failed publish is skipped (412)', async () => {
    const stray = join(dir, 'hub', 'envs', 'acme', 'stray', 'generations', '1');
    await mkdir(stray, { recursive: true });
    await writeFile(join(stray, 'manifest.lock'), 'left by a publish that failed before moving live');
    hub.requests.length = 0;
    expect((await publishEnvironmentToHub(hubSource(), 'acme', 'stray', bytes)).generation).toBe(2);
    expect(hub.requests.filter((r) => r.method === 'PUT' && r.path.includes('/generations/')).map((r) => r.path)).toEqual([
      '/envs/acme/stray/generations/1/manifest.lock',
      '/envs/acme/stray/generations/2/manifest.lock',
    ]);
    expect(await readFile(join(stray, 'manifest.lock'), 'utf8')).toBe('left by a publish that failed before moving live');
    expect(await readFile(join(dir, 'hub', 'envs', 'acme', 'stray', 'live'), 'utf8')).toBe('2\n');
  });

  it('explains a hub that refuses PUT, and a missing token, with coded errors', async () => {
    const readOnly = await serveHub(join(dir, 'hub'), { readOnly: true });
    try {
      await expect(publishEnvironmentToHub(hubSource({ url: readOnly.url, tokenFile: undefined }), 'acme', 'ro', bytes)).rejects.toMatchObject({
        code: 'FLOXK8S_ENV_SOURCE_FAILED',
        message: expect.stringContaining('HTTP 405; the hub does not take PUT'),
      });
    } finally {
      await readOnly.close();
    }
    await expect(publishEnvironmentToHub(hubSource({ tokenFile: undefined }), 'acme', 'hello', bytes)).rejects.toMatchObject({
      code: 'FLOXK8S_ENV_SOURCE_FAILED',
      message: expect.stringContaining('HTTP 401; check the hub token file'),
    });
  });

  it('names the hub without the password of a URL with user info', async () => {
    const error: unknown = await publishEnvironmentToHub(hubSource({ url: hub.url.replace('http://', 'http://user:s3cret-pw@'), tokenFile: undefined }), 'acme', 'hello', bytes).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FLOXK8S_ENV_SOURCE_FAILED' });
    expect((error as Error).message).not.toContain('s3cret-pw');
  });

  it('rejects an invalid lockfile before any request', async () => {
    hub.requests.length = 0;
    await expect(publishEnvironmentToHub(hubSource(), 'acme', 'hello', new TextEncoder().encode('{"lockfile-version": 7}'))).rejects.toMatchObject({
      code: expect.stringMatching(/^FLOXK8S_LOCKFILE_/),
    });
    expect(hub.requests).toEqual([]);
  });
});
