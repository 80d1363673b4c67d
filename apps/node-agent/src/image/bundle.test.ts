// The agent as it ships (one ESM bundle, in the image): the store inside it cannot start a
// worker module of its own, so the bundle carries the fetch worker as a second file.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from '@flox-k8s/store';
import { AGENT_BUNDLE_FILES, bundleAgent, writeAgentBundle } from './bundle.ts';

const run = promisify(execFile);
let dir: string;
let fixtures: NixFixtures;
let cache: ServedCache;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-agent-bundle-'));
  await writeAgentBundle(await bundleAgent(), dir);
  fixtures = await nixFixtures();
  cache = await serveCache(fixtures.caches.xz);
}, 300_000);
afterAll(async () => {
  await cache?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('bundleAgent', () => {
  it('writes the agent and its fetch worker, and the agent runs from the bundle alone', async () => {
    expect((await readdir(dir)).sort()).toEqual(['agent.mjs', 'fetch-worker.mjs', 'node_modules']);
    const { stdout } = await run(process.execPath, [join(dir, 'agent.mjs'), 'version'], { cwd: dir });
    expect(JSON.parse(stdout)).toMatchObject({ name: 'flox-node-agent' });
  });

  it('decodes xz through liblzma with koffi from beside the bundle; without it, says so and falls back', async () => {
    // Not the NODE_PATH pnpm's .bin/vitest shim exports (the workspace's hoisted modules, koffi among them).
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
    const { stdout } = await run(process.execPath, [join(dir, 'agent.mjs'), 'version'], { cwd: '/', env });
    const liblzma = execFileSync('xz', ['--version']).toString().match(/liblzma (\S+)/)?.[1];
    expect(JSON.parse(stdout)).toMatchObject({ xzDecoder: `liblzma ${liblzma}` });
    // The same bundle without its node_modules: koffi is nowhere to be found from there.
    const bare = await mkdtemp(join(tmpdir(), 'flox-agent-bare-'));
    try {
      await writeFile(join(bare, 'agent.mjs'), await readFile(join(dir, 'agent.mjs')));
      const out = JSON.parse((await run(process.execPath, [join(bare, 'agent.mjs'), 'version'], { cwd: '/', env })).stdout) as { xzDecoder: string };
      expect(out.xzDecoder).toMatch(/^xz processes \(liblzma: .*koffi/);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  it('the bundled fetch worker serves a store on its own (it imports nothing outside the bundle)', async () => {
    const root = join(dir, 'store');
    const store = await Store.open(root, { fetchWorker: pathToFileURL(join(dir, AGENT_BUNDLE_FILES.fetchWorker)) });
    const result = await store.realise([fixtures.storePaths.script], { caches: [{ url: cache.url }], trustedKeys: [fixtures.publicKey], fetchWorkers: 2 });
    expect(result.fetched).toEqual([fixtures.storePaths.busybox, fixtures.storePaths.data, fixtures.storePaths.script].sort());
    expect((await store.verify()).ok).toBe(true);
    expect(cache.count(/^\/nar\//)).toBe(3);
  });
});
