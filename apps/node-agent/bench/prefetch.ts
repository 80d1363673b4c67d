// node --conditions=@flox-k8s/source bench/prefetch.ts
// What the agent's prefetch buys at container create: the shim's realise answered by the agent from
// a prefetched store (socket round trip) vs. the baseline, an in-process realise into a cold store
// from a loopback binary cache. Medians of several runs, same process, same fixtures.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLockfile, storePathsToInstall } from '@flox-k8s/lockfile';
import { nixFixtures, serveCache } from '@flox-k8s/nix-fixtures';
import { realiseViaAgent } from '@flox-k8s/agent-protocol';
import { Store } from '@flox-k8s/store';
import { RealiseCoordinator } from '../src/realise/coordinator.ts';
import { listenRealiseSocket } from '../src/realise/socket-server.ts';
import { storeRealiser } from '../src/realise/store-realiser.ts';

const RUNS = 7;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const fixtures = await nixFixtures();
const cache = await serveCache(fixtures.caches.zstd);
const dir = await mkdtemp(join(tmpdir(), 'flox-agent-bench-'));
const caches = [{ url: cache.url }];
const trustedKeys = [fixtures.publicKey];
const storePaths = storePathsToInstall(parseLockfile(fixtures.lockfile.bytes), 'x86_64-linux');
try {
  const cold: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const store = await Store.open(join(dir, `cold-${i}`), { fsync: false });
    const t = performance.now();
    await store.realise(storePaths, { caches, trustedKeys });
    cold.push(performance.now() - t);
  }

  const store = await Store.open(join(dir, 'agent'), { fsync: false });
  const realiser = storeRealiser({ store, caches, trustedKeys });
  const socket = await listenRealiseSocket({ socketPath: join(dir, 'run', 'agent.sock'), coordinator: new RealiseCoordinator(realiser) });
  const body = { storePaths, environment: 'acme/bench', digest: 'c'.repeat(64) };
  await realiseViaAgent(socket.socketPath, body); // the prefetch
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const done = await realiseViaAgent(socket.socketPath, body);
    warm.push(performance.now() - t);
    if (done.fetched.length !== 0) throw new Error('expected a prefetched store');
  }
  await socket.close();
  await realiser.close();

  const c = median(cold);
  const w = median(warm);
  process.stdout.write(
    `closure: ${fixtures.closure.length} paths\n` +
      `baseline  in-process realise, cold store (loopback cache): median ${c.toFixed(1)} ms over ${RUNS} runs\n` +
      `agent     socket realise after prefetch:                   median ${w.toFixed(1)} ms over ${RUNS} runs\n` +
      `ratio     baseline / agent = ${(c / w).toFixed(1)}x\n`,
  );
} finally {
  await cache.close();
  await rm(dir, { recursive: true, force: true });
}
