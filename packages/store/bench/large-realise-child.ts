// One cold realise in its own process, so its wall time, CPU and peak RSS are its own
// (bench/large-vs-nix.ts runs it under /usr/bin/time). Two ways, as the product runs it:
// - agent: apps/node-agent's storeRealiser — `Store.open(root)` with the defaults, one
//   long-lived BinaryCacheClient built as the agent builds it, a lease per realise;
// - shim: packages/interposer's no-agent fallback — `Store.open(root, { recover: false })`
//   and `store.realise(paths, { caches, trustedKeys, signal })`, defaults for the rest;
// - shim-workers: the same with `fetchWorkers: 2`, what the default chose for a zstd closure
//   before it counted only xz and bzip2 NARs (for a same-run before/after);
// - agent-running: the agent as it runs on a node that has been up: its store opened at start-up,
//   one realise of the same closure into another store, `<store root>-earlier`, done first (code
//   loaded and compiled, as after any earlier pod; the caller removes that store), `sync`, then
//   the measured realise with a new client (no live connections) into the still empty store.
//   Its figures are the measured realise's alone: wall, process CPU, and the peak RSS from a reset
//   of VmHWM (/proc/self/clear_refs) just before. This is the peer to set beside the OCI pull,
//   which is timed on a containerd already up.
// - agent-running-syncfs: the same with the store's `fsync: 'syncfs'` (config `storeSync: syncfs`):
//   one syncfs per realise instead of an fsync per file, for a store on a file system of its own.
// - agent-running-zlib: agent-running with zstd decoded by Node's zlib (`decoders.zstd: 'zlib'`),
//   as before libzstd through koffi became the default, for a same-run before/after.
// Prints one JSON line: { fetched, bytesDownloaded, realiseMs, realiseCpuMs, mainThreadCpuMs, childCpuMs, vmHwmKb, xzDecoder, zstdDecoder }
// (bytesDownloaded: the compressed NAR bytes fetched, for bench/shared90.ts). realiseMs and
// realiseCpuMs (process.cpuUsage: every thread of this process), and childCpuMs (the `xz -dc`
// subprocesses it reaped meanwhile: cutime + cstime of /proc/self/stat) leave out Node's start-up
// and module loading, which a long-running agent pays once, not per realise.
// bench/large-vs-nix.ts runs it bundled, as the agent and the shim ship (bench/bundle-child.ts):
// then the store's fetch worker is the bundle's `fetch-worker.mjs` beside it.
// Usage: large-realise-child.ts <agent|agent-running|agent-running-syncfs|agent-running-zlib|shim|shim-workers> <store root> <cache url> <public key> <roots file>
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BinaryCacheClient, closeDecoderProcesses, libzstdStatus, liblzmaStatus, type DecoderOptions } from '@flox-k8s/nar';
import { trimFreedMemory } from '@flox-k8s/nar/process-env';
import { Store } from '../src/index.ts';

const [mode, root, url, key, rootsFile] = process.argv.slice(2);
const MODES = ['agent', 'agent-running', 'agent-running-syncfs', 'agent-running-zlib', 'shim', 'shim-workers'];
if (mode === undefined || !MODES.includes(mode) || root === undefined || url === undefined || key === undefined || rootsFile === undefined) {
  throw new Error(`usage: large-realise-child.ts <${MODES.join('|')}> <store root> <cache url> <public key> <roots file>`);
}
const roots = JSON.parse(readFileSync(rootsFile, 'utf8')) as string[];
const caches = [{ url }];
const trustedKeys = [key];
const signal = new AbortController().signal;
const bundledWorker = new URL('./fetch-worker.mjs', import.meta.url);
const fetchWorker = import.meta.url.endsWith('.mjs') && existsSync(fileURLToPath(bundledWorker)) ? bundledWorker : undefined;

// agent-running: the store is opened at start-up and an earlier realise has run (see above).
const storeOptions = { fetchWorker, ...(mode === 'agent-running-syncfs' ? { fsync: 'syncfs' as const } : {}) };
const running = mode.startsWith('agent-running') ? await Store.open(root, storeOptions) : undefined;
const decoders: DecoderOptions = mode === 'agent-running-zlib' ? { zstd: 'zlib' } : {};
if (running !== undefined) {
  const earlier = `${root}-earlier`;
  const store = await Store.open(earlier, storeOptions);
  const client = new BinaryCacheClient({ caches, trustedKeys, storeDir: store.storeDir, decoders });
  try {
    await store.realise(roots, { caches, trustedKeys, client, signal, lease: { id: 'realise-bench-earlier', ttlMs: 15 * 60_000 } });
  } finally {
    await client.close();
  }
  await closeDecoderProcesses();
  // As the agent's realiser does after every realise (apps/node-agent, store-realiser.ts).
  trimFreedMemory();
  // Written back, as an earlier pod's files are on a node that has been up (and as the bench syncs before every peer).
  execFileSync('sync');
  // "5": reset VmHWM to the current RSS (proc(5)), so the peak read below is the measured realise's.
  writeFileSync('/proc/self/clear_refs', '5');
}

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const mainCpu0 = process.threadCpuUsage();
const childCpu0 = reapedChildrenCpuMs();
let fetched: number;
let bytesDownloaded: number;
if (mode === 'agent' || running !== undefined) {
  // apps/node-agent/src/agent.ts and realise/store-realiser.ts.
  const store = running ?? (await Store.open(root, { fetchWorker }));
  const client = new BinaryCacheClient({ caches, trustedKeys, storeDir: store.storeDir, decoders });
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
// The main thread's share: where the realise is bound when it nears the wall time.
const mainCpu = process.threadCpuUsage(mainCpu0);
const mainThreadCpuMs = (mainCpu.user + mainCpu.system) / 1000;
// The `xz -dc` processes are started by a spawner `sh` (@flox-k8s/nar's decoder-processes): their
// CPU time reaches this process's reaped children once that sh has exited. The agent-running mode's
// earlier realise used the same spawner, so its decoders' time is in childCpu0 only if it exited
// then too: it is closed after that realise as well.
await closeDecoderProcesses();
const childCpuMs = reapedChildrenCpuMs() - childCpu0;
const vmHwmKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? Number.NaN);
// Which xz decoder ran: liblzma needs koffi beside the bundle (bundle-child.ts), else xz falls back to processes.
const status = liblzmaStatus();
const xzDecoder = status.loaded ? `liblzma ${status.version}` : `fallback (${status.reason})`;
// And zstd: libzstd likewise needs koffi beside the bundle, else Node's zlib decodes.
const zstdStatus = libzstdStatus();
const zstdDecoder = decoders.zstd === 'zlib' ? 'zlib (forced)' : zstdStatus.loaded ? `libzstd ${zstdStatus.version}` : `zlib (${zstdStatus.reason})`;
process.stdout.write(`${JSON.stringify({ fetched, bytesDownloaded, realiseMs, realiseCpuMs, mainThreadCpuMs, childCpuMs, vmHwmKb, xzDecoder, zstdDecoder })}\n`);
// Idle keep-alive sockets or a pool still closing must not add to the measured wall time.
process.exit(0);

/** CPU of the children this process has reaped: cutime + cstime (fields 16–17 of proc(5)'s stat, ticks of 100 Hz), in ms. */
function reapedChildrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return ((f[13] ?? Number.NaN) + (f[14] ?? Number.NaN)) * 10;
}
