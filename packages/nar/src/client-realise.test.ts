import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { nixFixtures, serveCache, type NixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyCache, readNarinfo, rewriteNarinfo } from '../test/cache-kit.ts';
import { nixDump } from '../test/nix.ts';
import { BinaryCacheClient, type ClientEvent } from './client.ts';
import { sha256Nix32 } from './hash.ts';
import { removeTree } from './remove-tree.ts';

describe('BinaryCacheClient realises the fixture caches', () => {
  let fx: NixFixtures;
  let tmp: string;
  beforeAll(async () => {
    fx = await nixFixtures();
    tmp = await mkdtemp(join(tmpdir(), 'nar-client-'));
  });
  afterAll(async () => {
    await removeTree(tmp);
  });

  // zstd and uncompressed NARs this small are fetched whole by default; wholeNarMaxBytes 0 streams them.
  it.each([
    ['xz', undefined],
    ['zstd', undefined],
    ['zstd', 0],
    ['bzip2', undefined],
    ['none', undefined],
    ['none', 0],
  ] as const)('%s (wholeNarMaxBytes %s): closure + fetchNar reproduce every store path exactly', async (compression, wholeNarMaxBytes) => {
    const server = await serveCache(fx.caches[compression]);
    const events: ClientEvent[] = [];
    const client = new BinaryCacheClient({
      caches: [{ url: server.url }],
      trustedKeys: [fx.publicKey],
      onProgress: (e) => events.push(e),
      ...(wholeNarMaxBytes === undefined ? {} : { wholeNarMaxBytes }),
    });
    try {
      const closure = await client.closure([fx.storePaths.script, fx.storePaths.tree]);
      expect([...closure.keys()]).toEqual(fx.closure);
      for (const [storePath, found] of closure) {
        expect(found.narinfo.compression).toBe(compression);
        const dest = join(tmp, `${compression}-${wholeNarMaxBytes}-${storePath.slice(11)}`);
        const result = await client.fetchNar(found, dest);
        expect(result).toEqual({ narHash: found.narinfo.narHash, narSize: found.narinfo.narSize, fileSize: found.narinfo.fileSize });
        expect(nixDump(dest).equals(nixDump(storePath))).toBe(true);
        const done = events.filter((e) => e.type === 'progress' && e.storePath === storePath && e.done);
        expect(done).toEqual([expect.objectContaining({ bytesIn: found.narinfo.fileSize, bytesOut: found.narinfo.narSize })]);
      }
      // One narinfo request per path: closure lookups are cached.
      expect(server.count(/\.narinfo$/)).toBe(fx.closure.length);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('decodes a multi-frame zstd NAR', async () => {
    const dir = await copyCache(fx.caches.none, join(tmp, 'multiframe'));
    const secret = await readFile(fx.secretKeyFile, 'utf8');
    const info = await readNarinfo(dir, fx.storePaths.busybox);
    const nar = await readFile(join(dir, info.url));
    const half = Math.floor(nar.length / 2);
    const frames = Buffer.concat([
      execFileSync('zstd', ['-c', '-q'], { input: nar.subarray(0, half) }),
      execFileSync('zstd', ['-c', '-q'], { input: nar.subarray(half) }),
    ]);
    await writeFile(join(dir, 'nar', 'multiframe.nar.zst'), frames);
    await rewriteNarinfo(
      dir,
      fx.storePaths.busybox,
      (n) => ({ ...n, url: 'nar/multiframe.nar.zst', compression: 'zstd', fileHash: sha256Nix32(frames), fileSize: frames.length }),
      secret,
    );
    const server = await serveCache(dir);
    try {
      for (const wholeNarMaxBytes of [0, 1 << 30]) {
        const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [fx.publicKey], wholeNarMaxBytes });
        try {
          const dest = join(tmp, `multiframe-out-${wholeNarMaxBytes}`);
          await client.fetchNar(await client.narinfo(fx.storePaths.busybox), dest);
          expect(nixDump(dest).equals(nar)).toBe(true);
        } finally {
          await client.close();
        }
      }
    } finally {
      await server.close();
    }
  });

  it('a small NAR is fetched whole (nothing is written before the last byte arrives) unless wholeNarMaxBytes or the budget says stream', async () => {
    const info = await readNarinfo(fx.caches.none, fx.storePaths.busybox);
    const nar = await readFile(join(fx.caches.none, info.url));
    // The server sends half the NAR, then holds the rest until the test has looked at dest.
    let sendRest: (() => void) | undefined;
    let halfSent: (() => void) | undefined;
    const server = await serveCache(fx.caches.none, {
      onRequest: (req, res) => {
        if (!req.url?.startsWith('/nar/')) return false;
        res.writeHead(200, { 'content-length': String(nar.length) });
        res.write(nar.subarray(0, nar.length >> 1), () => {
          sendRest = () => res.end(nar.subarray(nar.length >> 1));
          halfSent?.();
        });
        return true;
      },
    });
    try {
      const cases = [
        [{}, false],
        [{ wholeNarMaxBytes: 0 }, true],
        [{ wholeNarBudgetBytes: info.fileSize! - 1 }, true],
      ] as const;
      for (const [options, streams] of cases) {
        const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [fx.publicKey], ...options });
        try {
          const dest = join(tmp, `whole-${JSON.stringify(options).replace(/\W/g, '')}`);
          const half = new Promise<void>((resolve) => (halfSent = resolve));
          const fetched = client.fetchNar(await client.narinfo(fx.storePaths.busybox), dest);
          await half;
          // A streamed NAR is being written by now; a whole one waits for its last byte.
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect([options, await readdir(tmp).then((names) => names.includes(basename(dest)))]).toEqual([options, streams]);
          sendRest?.();
          await fetched;
          expect(nixDump(dest).equals(nar)).toBe(true);
        } finally {
          await client.close();
        }
      }
    } finally {
      await server.close();
    }
  });

  it('rejects a whole-NAR option that is not a byte count with FLOXK8S_CLIENT_OPTIONS_INVALID', () => {
    for (const [name, value] of [
      ['wholeNarMaxBytes', -1],
      ['wholeNarMaxBytes', Number.NaN],
      ['wholeNarBudgetBytes', 1.5],
      ['wholeNarBudgetBytes', Number.POSITIVE_INFINITY],
    ] as const) {
      expect(() => new BinaryCacheClient({ caches: [], trustedKeys: [fx.publicKey], [name]: value })).toThrow(
        expect.objectContaining({ code: 'FLOXK8S_CLIENT_OPTIONS_INVALID', message: expect.stringContaining(name) }),
      );
    }
  });

  it('runs at most decoders.processes decoders, each NAR downloaded only once it holds a slot, largest first', async () => {
    let inFlight = 0;
    let most = 0;
    const order: string[] = [];
    const server = await serveCache(fx.caches.xz, {
      onRequest: (req, res) => {
        if (!(req.url ?? '').startsWith('/nar/')) return false;
        order.push(req.url ?? '');
        inFlight++;
        most = Math.max(most, inFlight);
        res.once('close', () => inFlight--);
        return false;
      },
    });
    // Every xz NAR through a decoder process (bound 0), one at a time.
    const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [fx.publicKey], decoders: { xzInProcessMaxNarSize: 0, processes: 1 } });
    const out = join(tmp, 'one-decoder');
    await mkdir(out);
    try {
      const closure = [...(await client.closure(fx.closure)).values()];
      expect(closure.length).toBeGreaterThan(2);
      await Promise.all(closure.map((found, i) => client.fetchNar(found, join(out, String(i)))));
      expect(most).toBe(1);
      expect(order.length).toBe(closure.length);
      // The first NAR takes the free slot at once; the others wait and are granted largest first.
      const sizeOf = new Map(closure.map((f) => [`/${f.narinfo.url}`, f.narinfo.narSize]));
      const waited = order.slice(1).map((u) => sizeOf.get(u) as number);
      expect(waited).toEqual([...waited].sort((a, b) => b - a));
      for (const [i, found] of closure.entries()) expect(nixDump(join(out, String(i))).equals(nixDump(found.narinfo.storePath))).toBe(true);
    } finally {
      await client.close();
      await server.close();
      await removeTree(out);
    }
  });

  it('rejects a decoder process count that is not a whole number of 1 or more with FLOXK8S_CLIENT_OPTIONS_INVALID', () => {
    for (const processes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new BinaryCacheClient({ caches: [], trustedKeys: [fx.publicKey], decoders: { processes } })).toThrow(
        expect.objectContaining({ code: 'FLOXK8S_CLIENT_OPTIONS_INVALID', message: expect.stringContaining('decoders.processes') }),
      );
    }
    expect(() => new BinaryCacheClient({ caches: [], trustedKeys: [fx.publicKey], decoders: { processes: 1 } })).not.toThrow();
  });

  it('refuses a destination that exists with FLOXK8S_NAR_DESTINATION and leaves it alone', async () => {
    const server = await serveCache(fx.caches.zstd);
    const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [fx.publicKey] });
    try {
      const dest = join(tmp, 'existing');
      await writeFile(dest, 'mine');
      await expect(client.fetchNar(await client.narinfo(fx.storePaths.tree), dest)).rejects.toMatchObject({ code: 'FLOXK8S_NAR_DESTINATION' });
      expect(await readFile(dest, 'utf8')).toBe('mine');
    } finally {
      await client.close();
      await server.close();
    }
  });
});
