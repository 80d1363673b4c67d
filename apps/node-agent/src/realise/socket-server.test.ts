import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realiseViaAgent } from '@flox-k8s/agent-protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RealiseCoordinator } from './coordinator.ts';
import { listenRealiseSocket, type RealiseSocket } from './socket-server.ts';
import { scriptedRealiser } from './test-scripted-realiser.ts';

const pathA = '/nix/store/0c1g8fghqcmq8l8hzcv8w8p8mxm2jp3r-busybox-1.36.1';
const pathB = '/nix/store/1b2c8fghqcmq8l8hzcv8w8p8mxm2jp3r-hello-2.12';
const digest = 'a'.repeat(64);

let dir: string;
let socket: RealiseSocket;
let realiser: ReturnType<typeof scriptedRealiser>;

async function raw(method: string, path: string, body: string, contentType = 'application/json'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket.socketPath, method, path, headers: { 'content-type': contentType } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-agent-sock-'));
  realiser = scriptedRealiser('/var/lib/flox-k8s');
  socket = await listenRealiseSocket({ socketPath: join(dir, 'run', 'agent.sock'), coordinator: new RealiseCoordinator(realiser), progressIntervalMs: 0 });
});
afterEach(async () => {
  await socket.close();
  await rm(dir, { recursive: true, force: true });
});

describe('realise socket', () => {
  it('is root-only: socket 0600 in a 0700 directory', async () => {
    expect((await stat(socket.socketPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o700);
  });

  it('answers the shim client with progress then done, sharing one realise between two callers', async () => {
    const progress: unknown[] = [];
    const first = realiseViaAgent(socket.socketPath, { storePaths: [pathB, pathA], environment: 'acme/echo:1', digest }, { onProgress: (e) => progress.push(e) });
    const second = realiseViaAgent(socket.socketPath, { storePaths: [pathA, pathB], environment: 'acme/echo:1', digest });
    await until(() => realiser.calls.length === 1);
    // both requests must have reached the coordinator before the work finishes
    await new Promise((r) => setTimeout(r, 50));
    realiser.progress({ phase: 'fetch', storePath: pathA, bytes: 10, totalBytes: 20 });
    await until(() => progress.length === 1);
    realiser.release();
    const [a, b] = await Promise.all([first, second]);
    expect(realiser.calls).toHaveLength(1);
    expect(a).toMatchObject({ type: 'done', closure: [pathA, pathB], storeRoot: '/var/lib/flox-k8s' });
    expect(b.closure).toEqual([pathA, pathB]);
    expect(progress).toEqual([{ type: 'progress', phase: 'fetch', storePath: pathA, bytes: 10, totalBytes: 20 }]);
  });

  it('passes the realise error code through to the client', async () => {
    const pending = realiseViaAgent(socket.socketPath, { storePaths: [pathA], environment: 'acme/echo:1', digest });
    await until(() => realiser.calls.length === 1);
    realiser.release(Object.assign(new Error('hash mismatch'), { code: 'FLOXK8S_NAR_HASH_MISMATCH' }));
    await expect(pending).rejects.toMatchObject({ code: 'FLOXK8S_NAR_HASH_MISMATCH' });
  });

  it('cancels the realise when the only client hangs up, but not while another still waits', async () => {
    const stay = realiseViaAgent(socket.socketPath, { storePaths: [pathA], environment: 'acme/echo:1', digest });
    const leave = new AbortController();
    const left = realiseViaAgent(socket.socketPath, { storePaths: [pathA], environment: 'acme/echo:1', digest }, { signal: leave.signal });
    await until(() => realiser.calls.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    leave.abort();
    await expect(left).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_PROTOCOL' });
    await new Promise((r) => setTimeout(r, 50));
    expect(realiser.aborted).toHaveLength(0);
    realiser.release();
    await expect(stay).resolves.toMatchObject({ type: 'done' });

    const alone = new AbortController();
    const solo = realiseViaAgent(socket.socketPath, { storePaths: [pathB], environment: 'acme/echo:2', digest }, { signal: alone.signal });
    await until(() => realiser.calls.length === 2);
    await new Promise((r) => setTimeout(r, 50));
    alone.abort();
    await solo.catch(() => undefined);
    await until(() => realiser.aborted.length === 1);
  });

  it('rejects malformed requests as untrusted input, with a coded error line', async () => {
    const cases: Array<[string, string, string, number]> = [
      ['POST', '/v1/realise', '{not json', 400],
      ['POST', '/v1/realise', JSON.stringify({ storePaths: ['/etc/passwd'], environment: 'x', digest }), 400],
      ['POST', '/v1/realise', JSON.stringify({ storePaths: [pathA], environment: 'x', digest: 'A'.repeat(64) }), 400],
      ['POST', '/v1/realise', JSON.stringify({ storePaths: [pathA], environment: 'x', digest, extra: 1 }), 400],
      ['POST', '/v1/realise', JSON.stringify({ storePaths: [], environment: 'x', digest }), 400],
      ['GET', '/v1/realise', '', 405],
      ['POST', '/v1/../etc', '', 404],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await raw(method, path, body);
      expect(res.status, `${method} ${path} ${body}`).toBe(status);
      expect(JSON.parse(res.text)).toMatchObject({ type: 'error' });
    }
    const wrongType = await raw('POST', '/v1/realise', JSON.stringify({ storePaths: [pathA], environment: 'x', digest }), 'text/plain');
    expect(wrongType.status).toBe(415);
    const bad = await raw('POST', '/v1/realise', JSON.stringify({ storePaths: ['/etc/passwd'], environment: 'x', digest }));
    expect(JSON.parse(bad.text).code).toBe('FLOXK8S_AGENT_REQUEST_INVALID');
    expect(realiser.calls).toHaveLength(0);
  });

  it('refuses an over-long body without buffering it', async () => {
    const huge = JSON.stringify({ storePaths: Array.from({ length: 300_000 }, () => pathA), environment: 'x', digest });
    const res = await raw('POST', '/v1/realise', huge).catch((error: NodeJS.ErrnoException) => ({ status: -1, text: error.code ?? '' }));
    expect([400, -1]).toContain(res.status);
    expect(realiser.calls).toHaveLength(0);
  });
});
