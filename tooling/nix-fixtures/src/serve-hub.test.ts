import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHub, type ServedHub } from './serve-hub.ts';

let dir: string;
let hub: ServedHub;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-serve-hub-'));
  hub = await serveHub(join(dir, 'root'), { token: 't' });
});
afterAll(async () => {
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

const auth = { authorization: 'Bearer t' };

describe('serveHub', () => {
  it('lets exactly one of racing create-only PUTs win', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        fetch(`${hub.url}/a/b/generations/1/manifest.lock`, { method: 'PUT', headers: { ...auth, 'if-none-match': '*' }, body: `writer ${i}` }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(7);
    const winner = statuses.indexOf(201);
    expect(await readFile(join(dir, 'root', 'a', 'b', 'generations', '1', 'manifest.lock'), 'utf8')).toBe(`writer ${winner}`);
  });

  it('serves what was put, requires the token and stays inside its directory', async () => {
    expect((await fetch(`${hub.url}/a/b/live`, { method: 'PUT', headers: auth, body: '1\n' })).status).toBe(201);
    expect((await fetch(`${hub.url}/a/b/live`, { method: 'PUT', headers: auth, body: '2\n' })).status).toBe(204);
    expect(await (await fetch(`${hub.url}/a/b/live`, { headers: auth })).text()).toBe('2\n');
    expect((await fetch(`${hub.url}/a/b/live`)).status).toBe(401);
    expect((await fetch(`${hub.url}/..%2F..%2F..%2Fetc%2Fpasswd`, { headers: auth })).status).toBe(404);
  });
});
