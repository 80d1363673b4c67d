// Every bad-remote case of the floxmeta source has its code: missing owner, branch or
// generation, bad metadata or lockfile, a branch rewritten mid-read, auth, transport,
// size and time bounds. The token never appears in a message.
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitSkipReason } from '@flox-k8s/git-server';
import { fetchEnvironment, parseReference, type EnvironmentSourceReader } from '../index.ts';
import { fixtureLockfile, startTestRemote, TOKEN, type TestRemote } from './test-remote.ts';

const TOKEN_B64 = Buffer.from(`oauth:${TOKEN}`).toString('base64');

describe.skipIf(gitSkipReason())('floxmeta source: bad remotes', () => {
  let t: TestRemote;
  beforeAll(async () => {
    t = await startTestRemote();
    await t.remote.initEnvironment('acme', 'empty');
    await t.remote.createOwner('hollow');
    await t.remote.commitFiles('acme', 'not-json', { 'metadata.json': '{"version": 2, "history": [' }, 'broken');
    await t.remote.commitFiles('acme', 'bad-schema', { 'metadata.json': '{"version": 2, "total_generations": 1}' }, 'no history');
    await t.remote.commitFiles('acme', 'future', { 'metadata.json': '{"version": 3}' }, 'from a newer flox');
    await t.remote.commitFiles('acme', 'no-metadata', { 'README': 'not an environment' }, 'stray branch');
    await t.remote.addGeneration('acme', 'bad-lock', { lockfile: '{"lockfile-version": 7}' });
    await t.remote.addGeneration('acme', 'unlocked', {});
  });
  afterAll(async () => {
    await t?.close();
  });

  async function expectCode(reference: string, code: string, readers?: EnvironmentSourceReader[]): Promise<Error> {
    const error = await fetchEnvironment(parseReference(reference), readers ?? (await t.readers())).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(error?.code, `${reference}: ${error?.message}`).toBe(code);
    expect(error?.message).not.toContain(TOKEN);
    expect(error?.message).not.toContain(TOKEN_B64);
    return error as Error;
  }

  it('a missing owner, environment or generation', async () => {
    await expectCode('nobody/hello', 'FLOXK8S_FLOXMETA_OWNER_NOT_FOUND');
    await expectCode('acme/nope', 'FLOXK8S_FLOXMETA_ENVIRONMENT_NOT_FOUND');
    // An owner repository with no branch at all advertises only "capabilities^{}".
    await expectCode('hollow/nope', 'FLOXK8S_FLOXMETA_ENVIRONMENT_NOT_FOUND');
    const missing = await expectCode('acme/hello:9', 'FLOXK8S_FLOXMETA_GENERATION_NOT_FOUND');
    expect(missing.message).toContain('generations: 1, 2');
    await expectCode('acme/empty', 'FLOXK8S_FLOXMETA_GENERATION_NOT_FOUND');
  });

  it('metadata that does not parse, fails Flox schema, has an unknown version or is missing', async () => {
    await expectCode('acme/not-json', 'FLOXK8S_FLOXMETA_METADATA_INVALID');
    const schema = await expectCode('acme/bad-schema', 'FLOXK8S_FLOXMETA_METADATA_INVALID');
    expect(schema.message).toContain('history');
    await expectCode('acme/future', 'FLOXK8S_FLOXMETA_METADATA_INVALID');
    await expectCode('acme/no-metadata', 'FLOXK8S_FLOXMETA_METADATA_INVALID');
  });

  it('a lockfile that does not parse, or a generation without one; neither is cached', async () => {
    const readers = await t.readers();
    const bad = await expectCode('acme/bad-lock:1', 'FLOXK8S_FLOXMETA_LOCKFILE_INVALID', readers);
    expect(bad.message).toMatch(/FLOXK8S_LOCKFILE_(INVALID|VERSION_UNSUPPORTED)/);
    await expectCode('acme/unlocked', 'FLOXK8S_FLOXMETA_LOCKFILE_MISSING');
    // Fixed upstream? A pinned generation is immutable, so asking again asks the remote again.
    const before = t.server.requests.length;
    await expectCode('acme/bad-lock:1', 'FLOXK8S_FLOXMETA_LOCKFILE_INVALID', readers);
    expect(t.server.requests.length - before).toBe(2);
  });

  it('a branch rewritten between reading its tip and fetching it', async () => {
    await t.remote.addGeneration('acme', 'moving', { lockfile: await fixtureLockfile(1) });
    let rewrites = 0;
    const server = await t.serve({
      token: TOKEN,
      onRequest: async (req) => {
        if (req.method === 'POST' && rewrites === 0) {
          rewrites++;
          await t.remote.rewriteHistory('acme', 'moving');
        }
      },
    });
    const readers = await t.readers({ url: server.url });
    await expectCode('acme/moving', 'FLOXK8S_FLOXMETA_BRANCH_MOVED', readers);
    expect(rewrites).toBe(1);
    // The retry (kubelet retries a failed create) reads the new tip.
    expect((await fetchEnvironment(parseReference('acme/moving'), readers)).generation).toBe(1);
  });

  it('auth: no token, a rejected token, a missing token file, a forbidden owner', async () => {
    const none = await expectCode('acme/hello', 'FLOXK8S_FLOXMETA_UNAUTHORIZED', await t.readers({ tokenFile: undefined }));
    expect(none.message).toContain('no tokenFile is configured');
    const wrongFile = join(t.dir, 'wrong-token');
    await writeFile(wrongFile, 'not-the-token\n');
    const rejected = await expectCode('acme/hello', 'FLOXK8S_FLOXMETA_UNAUTHORIZED', await t.readers({ tokenFile: wrongFile }));
    expect(rejected.message).toContain(`the token in ${wrongFile} was not accepted`);
    expect(rejected.message).not.toContain('not-the-token');
    await expectCode('acme/hello', 'FLOXK8S_FLOXMETA_TOKEN_MISSING', await t.readers({ tokenFile: join(t.dir, 'absent-token') }));
    const forbidding = await t.serve({
      token: TOKEN,
      onRequest: (req, res) => {
        res.writeHead(403, { 'content-type': 'text/plain' }).end(`forbidden for ${req.headers.authorization}\n`);
        return true;
      },
    });
    await expectCode('acme/hello', 'FLOXK8S_FLOXMETA_FORBIDDEN', await t.readers({ url: forbidding.url }));
  });

  it('never follows a redirect to another origin, so the token stays home', async () => {
    const elsewhere = await t.serve({ token: TOKEN });
    const redirecting = await t.serve({
      onRequest: (req, res) => {
        res.writeHead(302, { location: `${elsewhere.url}${req.url}` }).end();
        return true;
      },
    });
    const before = elsewhere.requests.length;
    const error = await expectCode('acme/hello', 'FLOXK8S_FLOXMETA_TRANSPORT', await t.readers({ url: redirecting.url }));
    expect(error.message).toContain('another origin');
    expect(elsewhere.requests.length).toBe(before);
    // Within the origin a redirect is followed, token and all.
    const moved = await t.serve({
      token: TOKEN,
      onRequest: (req, res) => {
        if (!req.url?.startsWith('/old/')) return false;
        res.writeHead(307, { location: req.url.slice('/old'.length) }).end();
        return true;
      },
    });
    expect((await fetchEnvironment(parseReference('acme/hello:1'), await t.readers({ url: `${moved.url}/old` }))).generation).toBe(1);
  });

  it('transport failures: refused connections, server errors, something that is not git', async () => {
    const closed = await t.serve();
    await closed.close();
    await expectCode('acme/hello', 'FLOXK8S_FLOXMETA_TRANSPORT', await t.readers({ url: closed.url }));
    const failing = await t.serve({ onRequest: (_req, res) => Boolean(res.writeHead(503).end()) });
    expect((await expectCode('acme/hello', 'FLOXK8S_FLOXMETA_TRANSPORT', await t.readers({ url: failing.url }))).message).toContain('HTTP 503');
    const html = await t.serve({ onRequest: (_req, res) => Boolean(res.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in</html>')) });
    await expectCode('acme/hello', 'FLOXK8S_FLOXMETA_TRANSPORT', await t.readers({ url: html.url }));
  });

  it('bounds what it accepts and how long it waits', async () => {
    await expectCode('acme/hello:1', 'FLOXK8S_FLOXMETA_TOO_LARGE', await t.readers({ maxFetchBytes: 256 }));
    // A server that accepts the connection and never answers the fetch.
    const stalled = createServer(() => undefined);
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      await expectCode('acme/hello', 'FLOXK8S_FLOXMETA_TIMEOUT', await t.readers({ url: `http://127.0.0.1:${(stalled.address() as AddressInfo).port}`, timeoutMs: 300 }));
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      stalled.closeAllConnections();
      await new Promise((r) => stalled.close(r));
    }
  });
});
