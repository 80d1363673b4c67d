import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNarinfo, serializeNarinfo, signNarinfo } from '@flox-k8s/nar';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { Semaphore } from './phases.ts';
import { Store } from './store.ts';
import { cleanup, heldLocks, tempDir } from '../test/helpers.ts';

let fx: NixFixtures;
const dirs: string[] = [];
const servers: ServedCache[] = [];
beforeAll(async () => {
  fx = await nixFixtures();
});
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) cleanup(d);
});

const hashOf = (storePath: string): string => storePath.slice('/nix/store/'.length, '/nix/store/'.length + 32);

/** A rejection or resolution within `ms`, else 'hung'. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T | 'hung' | { error: unknown }> {
  const timer = sleep(ms).then(() => 'hung' as const);
  return Promise.race([promise.catch((error: unknown) => ({ error })), timer]);
}

describe('reference cycles', () => {
  it('two signed narinfos that reference each other are rejected with a code, promptly, leaving nothing', async () => {
    const cacheDir = tempDir('flox-cycle-cache-');
    dirs.push(cacheDir);
    cpSync(fx.caches.zstd, cacheDir, { recursive: true });
    // data now references script, which references data: a cycle, correctly signed.
    const file = join(cacheDir, `${hashOf(fx.storePaths.data)}.narinfo`);
    const info = parseNarinfo(readFileSync(file, 'utf8'));
    const signed = signNarinfo({ ...info, sigs: [], references: [...info.references, fx.storePaths.script.slice(11)].sort() }, readFileSync(fx.secretKeyFile, 'utf8'));
    writeFileSync(file, serializeNarinfo(signed));
    const server = await serveCache(cacheDir);
    servers.push(server);
    const root = tempDir();
    dirs.push(root);
    const store = await Store.open(root);
    const outcome = await within(
      10_000,
      store.realise([fx.storePaths.script], { caches: [{ url: server.url }], trustedKeys: [fx.publicKey], signal: AbortSignal.timeout(5_000) }),
    );
    expect(outcome).not.toBe('hung');
    expect(outcome).toMatchObject({ error: { code: 'FLOXK8S_STORE_REFERENCE_CYCLE' } });
    expect([...(outcome as { error: { cycle: string[] } }).error.cycle].sort()).toEqual([fx.storePaths.data, fx.storePaths.script].sort());
    expect(readdirSync(join(root, 'store'))).toEqual([]);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    expect(heldLocks(root)).toEqual([]);
    expect(readdirSync(join(root, 'roots', 'inflight'))).toEqual([]);
  }, 20_000);
});

describe('every wait of a realise honours its AbortSignal', () => {
  it('a path waiting for a reference another caller is still fetching releases its lock on abort', async () => {
    // busybox (the big NAR) is held back for 4 s; everything else is served at once.
    const server = await serveCache(fx.caches.zstd, {
      onRequest: async (req) => {
        if (req.url?.startsWith('/nar/') && statSync(join(fx.caches.zstd, decodeURIComponent(req.url))).size > 200_000) await sleep(4_000);
        return false;
      },
    });
    servers.push(server);
    const options = { caches: [{ url: server.url }], trustedKeys: [fx.publicKey], fetchWorkers: 0 };
    const root = tempDir();
    dirs.push(root);
    const store = await Store.open(root);
    const first = store.realise([fx.storePaths.busybox], options); // never aborted
    await sleep(200);
    const controller = new AbortController();
    const events: string[] = [];
    const second = store.realise([fx.storePaths.script], {
      ...options,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'fetched') events.push(e.storePath);
      },
    });
    // script and data arrive quickly; script then waits for busybox, which the first caller fetches.
    for (let i = 0; i < 100 && !events.includes(fx.storePaths.script); i++) await sleep(20);
    expect(events).toContain(fx.storePaths.script);
    controller.abort(new Error('caller gave up'));
    const outcome = await within(1_500, second);
    expect(outcome).toMatchObject({ error: { code: 'FLOXK8S_STORE_ABORTED' } });
    // within a moment script's lock is released and its download removed, while busybox is still on its way
    await sleep(300);
    expect(heldLocks(root)).toEqual([`${fx.storePaths.busybox.slice(11)}.lock`]);
    expect(readdirSync(join(root, 'store'))).not.toContain(fx.storePaths.script.slice(11));
    expect((await first).closure).toEqual([fx.storePaths.busybox]);
    expect(heldLocks(root)).toEqual([]);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
  }, 20_000);

  it('waiting for a download slot ends when the signal fires, and the slot passes on', async () => {
    const downloads = new Semaphore(1);
    let release: () => void = () => undefined;
    const holder = downloads.run(() => new Promise<void>((r) => (release = r)));
    const controller = new AbortController();
    const waiting = downloads.run(async () => 'never', controller.signal);
    const third = downloads.run(async () => 'third');
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toMatchObject({ code: 'FLOXK8S_STORE_ABORTED' });
    release();
    await holder;
    expect(await third).toBe('third');
  });
});
