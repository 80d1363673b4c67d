// Sources serving what they should not: a file that is no lockfile (its bytes must never reach
// the error line a pod sees), a pointer that is no number, and a hub that trickles its answer
// under the idle timeout (an overall deadline ends it: FLOXK8S_DEADLINE_EXCEEDED).
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@flox-k8s/config';
import { parseReference, resolveEnvironment, sourceReaders } from './index.ts';
import { hubSourceReader } from './hub.ts';

// What a dir source could be made to serve: some other file of the node.
const SECRET = 'root:$6$c2VjcmV0LXNhbHQ$hash-of-the-root-password:19000:0:99999:7:::\napi-token=do-not-leak-0123456789\n';
// Pointers are read up to 64 bytes.
const POINTER = 'api-token=do-not-leak-0123456789\n';
let dir: string;
let trickle: Server;
let trickleUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-hostile-sources-'));
  const env = join(dir, 'hub', 'acme', 'leaky');
  await mkdir(join(env, 'generations', '1'), { recursive: true });
  await writeFile(join(env, 'generations', '1', 'manifest.lock'), SECRET);
  await writeFile(join(env, 'live'), '1\n');
  const json = join(dir, 'hub', 'acme', 'json');
  await mkdir(join(json, 'generations', '1'), { recursive: true });
  await writeFile(join(json, 'generations', '1', 'manifest.lock'), JSON.stringify({ 'lockfile-version': 1, manifest: { 'api-token=do-not-leak-0123456789': {} }, packages: [] }));
  const pointer = join(dir, 'hub', 'acme', 'pointer');
  await mkdir(pointer, { recursive: true });
  await writeFile(join(pointer, 'live'), POINTER);
  // A hub answering 200 at once, then one byte every 100 ms: never idle for its 10 s timeout.
  trickle = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const timer = setInterval(() => {
      if (++sent > 100 || res.destroyed) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write('{');
    }, 100);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', r));
  trickleUrl = `http://127.0.0.1:${(trickle.address() as { port: number }).port}`;
});
afterAll(async () => {
  trickle.closeAllConnections();
  await new Promise((r) => trickle.close(r));
  await rm(dir, { recursive: true, force: true });
});

const dirReaders = () => sourceReaders(parseConfig({ sources: [{ type: 'dir', path: join(dir, 'hub') }] }).sources);

describe('hostile environment sources', () => {
  it('a file that is no lockfile: the error says what was wrong, its size and digest, never its bytes', async () => {
    const error = await resolveEnvironment(parseReference('acme/leaky'), dirReaders()).then(() => undefined, (e: Error) => e);
    expect(error).toMatchObject({ code: 'FLOXK8S_ENV_SOURCE_FAILED' });
    const digest = createHash('sha256').update(SECRET).digest('hex');
    expect(error?.message).toBe(
      `dir ${join(dir, 'hub')}: generation 1 of acme/leaky is not a valid lockfile (FLOXK8S_LOCKFILE_INVALID: not a JSON lockfile object at all; ` +
        `${Buffer.byteLength(SECRET)} bytes, sha256 ${digest}); validate it with @flox-k8s/lockfile and publish it again`,
    );
    // The parser's details stay in the cause, for the node's own logs.
    expect((error as Error & { cause: { code: string } }).cause.code).toBe('FLOXK8S_LOCKFILE_INVALID');
  });

  it('JSON that fails the schema: counted, not quoted (keys are content too)', async () => {
    const error = await resolveEnvironment(parseReference('acme/json:1'), dirReaders()).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/is not a valid lockfile \(FLOXK8S_LOCKFILE_INVALID: \d+ problems? against the lockfile-version 1 schema; \d+ bytes, sha256 [0-9a-f]{64}\)/);
    expect(error?.message).not.toContain('do-not-leak');
  });

  it('a live pointer that is no number: not quoted either', async () => {
    const error = await resolveEnvironment(parseReference('acme/pointer'), dirReaders()).then(() => undefined, (e: Error) => e);
    expect(error).toMatchObject({ code: 'FLOXK8S_ENV_SOURCE_FAILED' });
    expect(error?.message).toContain(`found ${POINTER.length} characters that are not one`);
    for (const part of ['root:', 'api-token', 'do-not-leak', 'hash-of']) expect(error?.message).not.toContain(part);
  });

  it('a hub trickling its answer under the idle timeout ends at the overall deadline (FLOXK8S_DEADLINE_EXCEEDED)', async () => {
    const reader = hubSourceReader({ type: 'hub', url: trickleUrl, timeoutMs: 10_000, deadlineMs: 700 });
    const started = performance.now();
    const error = await reader.read('acme/slow/generations/1/manifest.lock', 1 << 20).then(() => undefined, (e: Error) => e);
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ code: 'FLOXK8S_DEADLINE_EXCEEDED' });
    expect(error?.message).toContain(`hub ${trickleUrl}: GET acme/slow/generations/1/manifest.lock did not finish within its deadline of 700 ms`);
    expect(elapsed).toBeGreaterThanOrEqual(650);
    expect(elapsed).toBeLessThan(5_000);
    // Through the sources, as the shim and the agent resolve: the only source's failure keeps its code.
    const sources = sourceReaders(parseConfig({ sources: [{ type: 'hub', url: trickleUrl, deadlineMs: 700 }] }).sources);
    await expect(resolveEnvironment(parseReference('acme/slow:1'), sources)).rejects.toMatchObject({
      code: 'FLOXK8S_DEADLINE_EXCEEDED',
      message: expect.stringContaining('deadline of 700 ms'),
    });
  });
});
