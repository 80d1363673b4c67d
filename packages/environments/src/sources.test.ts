import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockfileDigest } from '@flox-k8s/lockfile';
import { parseConfig } from '@flox-k8s/config';
import { parseReference, publishEnvironment, resolveEnvironment, sourceReaders } from './index.ts';

const fixture = new URL('../test/fixtures/hello-4systems.lock.json', import.meta.url);
let dir: string;
let bytes: Uint8Array;
let other: Uint8Array;
let server: Server;
let hubUrl: string;
const seen: Array<{ url: string; auth: string | undefined }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-shim-sources-'));
  bytes = new Uint8Array(await readFile(fixture));
  // A second generation: same lockfile, different bytes (so a different digest).
  other = new TextEncoder().encode(`${new TextDecoder().decode(bytes).trimEnd()}\n\n`);
  await publishEnvironment(join(dir, 'hub'), 'acme', 'hello', bytes);
  await publishEnvironment(join(dir, 'hub'), 'acme', 'hello', other);
  await writeFile(join(dir, 'token'), 'tok-123\n');
  // A real HTTP hub serving the same directory, requiring the bearer token.
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    if (req.headers.authorization !== 'Bearer tok-123') return void res.writeHead(401).end();
    const path = join(dir, 'hub', decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    readFile(path).then(
      (body) => res.writeHead(200).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hubUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/envs`;
  await mkdir(join(dir, 'hub-alias'), { recursive: true });
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

function readers(kind: 'dir' | 'hub' | 'hub-no-token') {
  const sources =
    kind === 'dir'
      ? [{ type: 'dir', path: join(dir, 'hub') }]
      : [{ type: 'hub', url: hubUrl.replace('/envs', ''), ...(kind === 'hub' ? { tokenFile: join(dir, 'token') } : {}) }];
  return sourceReaders(parseConfig({ sources }).sources);
}

describe('environment sources', () => {
  it.each(['dir', 'hub'] as const)('%s: live, generation and digest references', async (kind) => {
    const live = await resolveEnvironment(parseReference('acme/hello'), readers(kind));
    expect(live.generation).toBe(2);
    expect(Buffer.from(live.bytes).equals(Buffer.from(other))).toBe(true);
    expect(live.digest).toBe(lockfileDigest(other));

    const first = await resolveEnvironment(parseReference('acme/hello:1'), readers(kind));
    expect(first.generation).toBe(1);
    expect(first.digest).toBe(lockfileDigest(bytes));

    const pinned = await resolveEnvironment(parseReference(`acme/hello@sha256:${lockfileDigest(bytes)}`), readers(kind));
    expect(pinned.generation).toBe(1);
  });

  it('sends the bearer token and explains a 401', async () => {
    seen.length = 0;
    await resolveEnvironment(parseReference('acme/hello:1'), readers('hub'));
    expect(seen.every((s) => s.auth === 'Bearer tok-123')).toBe(true);
    expect(seen.map((s) => s.url)).toEqual(['/acme/hello/generations/1/manifest.lock']);
    await expect(resolveEnvironment(parseReference('acme/hello'), readers('hub-no-token'))).rejects.toMatchObject({
      code: 'FLOXK8S_ENV_SOURCE_FAILED',
      message: expect.stringContaining('HTTP 401; check the hub token file'),
    });
  });

  it('reports a missing environment or generation as not found', async () => {
    await expect(resolveEnvironment(parseReference('acme/nope'), readers('dir'))).rejects.toMatchObject({ code: 'FLOXK8S_ENV_NOT_FOUND' });
    await expect(resolveEnvironment(parseReference('acme/hello:9'), readers('hub'))).rejects.toMatchObject({
      code: 'FLOXK8S_ENV_NOT_FOUND',
      message: expect.stringContaining('generation 9 of acme/hello'),
    });
    await expect(resolveEnvironment(parseReference('acme/hello'), [])).rejects.toMatchObject({ code: 'FLOXK8S_ENV_NOT_FOUND' });
  });

  it('rejects a digest pin that the sources do not serve', async () => {
    const wrong = 'a'.repeat(64);
    await expect(resolveEnvironment(parseReference(`acme/hello@sha256:${wrong}`), readers('dir'))).rejects.toMatchObject({
      code: 'FLOXK8S_ENV_DIGEST_MISMATCH',
    });
  });

  it('rejects references that could name a host path', () => {
    for (const bad of ['../etc/passwd', 'acme/..', '/etc/x', 'acme/hello/../../x', 'acme/.hidden']) {
      expect(() => parseReference(bad), bad).toThrow(expect.objectContaining({ code: 'FLOXK8S_ENV_REF_INVALID' }));
    }
  });

  it('rejects a corrupt live pointer and a corrupt lockfile', async () => {
    const base = join(dir, 'bad');
    await mkdir(join(base, 'acme', 'x', 'generations', '1'), { recursive: true });
    await writeFile(join(base, 'acme', 'x', 'live'), '../../etc\n');
    const r = sourceReaders(parseConfig({ sources: [{ type: 'dir', path: base }] }).sources);
    await expect(resolveEnvironment(parseReference('acme/x'), r)).rejects.toMatchObject({ code: 'FLOXK8S_ENV_SOURCE_FAILED' });
    await writeFile(join(base, 'acme', 'x', 'generations', '1', 'manifest.lock'), '{"lockfile-version": 7}');
    await expect(resolveEnvironment(parseReference('acme/x:1'), r)).rejects.toMatchObject({
      code: 'FLOXK8S_ENV_SOURCE_FAILED',
      message: expect.stringContaining('is not a valid lockfile'),
    });
  });
});
