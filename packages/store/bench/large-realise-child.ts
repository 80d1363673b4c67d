// One cold realise in its own process, so its wall time, CPU and peak RSS are its own
// (bench/large-vs-nix.ts runs it under /usr/bin/time). Two ways, as the product runs it:
// - agent: apps/node-agent's storeRealiser — `Store.open(root)` with the defaults, one
//   long-lived BinaryCacheClient built as the agent builds it, a lease per realise;
// - shim: packages/interposer's no-agent fallback — `Store.open(root, { recover: false })`
//   and `store.realise(paths, { caches, trustedKeys, signal })`, defaults for the rest;
// - shim-workers: the same with `fetchWorkers: 2`, what the default chose for a zstd closure
//   before it counted only xz and bzip2 NARs (for a same-run before/after).
// Prints one JSON line: { fetched, bytesDownloaded, realiseMs, realiseCpuMs, vmHwmKb } (bytesDownloaded:
// the compressed NAR bytes fetched, for bench/shared90.ts). realiseMs and realiseCpuMs
// (process.cpuUsage: every thread of this process, not its xz children) leave out Node's start-up
// and module loading, which a long-running agent pays once, not per realise.
// bench/large-vs-nix.ts runs it bundled, as the agent and the shim ship (bench/bundle-child.ts):
// then the store's fetch worker is the bundle's `fetch-worker.mjs` beside it.
// Usage: large-realise-child.ts <agent|shim|shim-workers> <store root> <cache url> <public key> <roots file>
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BinaryCacheClient } from '@flox-k8s/nar';
import { Store } from '../src/index.ts';

const [mode, root, url, key, rootsFile] = process.argv.slice(2);
if ((mode !== 'agent' && mode !== 'shim' && mode !== 'shim-workers') || root === undefined || url === undefined || key === undefined || rootsFile === undefined) {
  throw new Error('usage: large-realise-child.ts <agent|shim|shim-workers> <store root> <cache url> <public key> <roots file>');
}
const roots = JSON.parse(readFileSync(rootsFile, 'utf8')) as string[];
const caches = [{ url }];
const trustedKeys = [key];
const signal = new AbortController().signal;
const bundledWorker = new URL('./fetch-worker.mjs', import.meta.url);
const fetchWorker = import.meta.url.endsWith('.mjs') && existsSync(fileURLToPath(bundledWorker)) ? bundledWorker : undefined;

const t0 = performance.now();
const cpu0 = process.cpuUsage();
let fetched: number;
let bytesDownloaded: number;
if (mode === 'agent') {
  // apps/node-agent/src/agent.ts and realise/store-realiser.ts.
  const store = await Store.open(root, { fetchWorker });
  const client = new BinaryCacheClient({ caches, trustedKeys, storeDir: store.storeDir });
  try {
    const result = await store.realise(roots, { caches, trustedKeys, client, signal, lease: { id: 'realise-bench', ttlMs: 15 * 60_000 } });
    fetched = result.fetched.length;
    bytesDownloaded = result.bytesDownloaded;
  } finally {
    await client.close();
  }
} else {
  // packages/interposer/src/prepare-cold.ts and realise.ts.
  const store = await Store.open(root, { recover: false, fetchWorker });
  const result = await store.realise(roots, { caches, trustedKeys, signal, ...(mode === 'shim-workers' ? { fetchWorkers: 2 } : {}) });
  fetched = result.fetched.length;
  bytesDownloaded = result.bytesDownloaded;
}
const realiseMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const realiseCpuMs = (cpu.user + cpu.system) / 1000;
const vmHwmKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? Number.NaN);
process.stdout.write(`${JSON.stringify({ fetched, bytesDownloaded, realiseMs, realiseCpuMs, vmHwmKb })}\n`);
// Idle keep-alive sockets or a pool still closing must not add to the measured wall time.
process.exit(0);
