// How to run a process that fetches NARs with this package (the node agent, the shim's per-create
// fallback): the one home of these settings, which the agent's DaemonSet, the shim's installed
// front and the store's benchmarks all apply. Measured on the *large* closure (store README,
// "Received bytes freed, and glibc's mmap threshold").

import { loadKoffi } from './koffi.ts';

/**
 * Environment for the process. `MALLOC_MMAP_THRESHOLD_`: glibc maps buffers of 2 MiB and more (whole
 * NARs) and unmaps them when freed, instead of keeping them in its arenas; setting it also stops
 * glibc's dynamic threshold from growing past that. The 1 MiB chunks this package frees as soon as
 * they are consumed are reused from the heap without fresh page faults (131072 cost 0.36 CPU-s more
 * for the same peak; without the variable the peak was ~190 MB instead of ~150).
 * `MALLOC_ARENA_MAX=1`: one glibc arena for every thread (libuv's pool decodes zstd, V8's helpers),
 * instead of one per thread each keeping its own freed memory; a node agent that has realised before
 * peaked 4–9 MB lower on the next realise of the *large* closure at the same wall time (store README,
 * "One malloc arena").
 * `NODE_OPTIONS=--max-semi-space-size=2`: V8's young generation otherwise grows to 2 × 16 MB under a
 * realise's allocation rate for ~15 MB live (~15 MB of peak RSS, ~0.15 CPU-s).
 * `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`: glibc (2.35 and later; older ones ignore it) asks for
 * transparent huge pages (`madvise(MADV_HUGEPAGE)`) on its heap and on the buffers it maps, so where
 * the kernel's THP mode is `madvise` or `always` the decoders' windows and output buffers fault in
 * 2 MiB at a time instead of 4 KiB: a running agent's realise of the *large* zstd closure took
 * 0.04–0.08 s less wall and 0.08–0.15 CPU-s less at +1 to +7 MB of peak, a fresh process's 0.17 s
 * and 0.32 CPU-s less (store README, "Huge pages for the decoders' buffers"). With THP `never`
 * nothing changes.
 * NODE_OPTIONS and GLIBC_TUNABLES are lists (FETCH_PROCESS_ENV_SEPARATORS): a launcher that finds
 * them set already puts those after ours, so that they win (later entries do, in both).
 */
export const FETCH_PROCESS_ENV: Readonly<{ MALLOC_MMAP_THRESHOLD_: string; MALLOC_ARENA_MAX: string; NODE_OPTIONS: string; GLIBC_TUNABLES: string }> = Object.freeze({
  MALLOC_MMAP_THRESHOLD_: '2097152',
  MALLOC_ARENA_MAX: '1',
  NODE_OPTIONS: '--max-semi-space-size=2',
  GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1',
});

/** The variables of FETCH_PROCESS_ENV that are lists, and the separator of each. */
export const FETCH_PROCESS_ENV_SEPARATORS: Readonly<{ NODE_OPTIONS: ' '; GLIBC_TUNABLES: ':' }> = Object.freeze({ NODE_OPTIONS: ' ', GLIBC_TUNABLES: ':' });

let mallocTrim: ((pad: number) => number) | null | undefined;

/**
 * Hands the memory glibc's heap keeps free back to the system (`malloc_trim(0)`, through koffi):
 * for a long-running process after a realise, whose decoders' and unpacker's buffers come back to
 * the heap in pieces that only the top of the heap would otherwise return. A node agent that had
 * realised the *large* xz closure before then peaked ~8 MB lower on the next realise, at the same
 * wall time and CPU (store README, "xz in process, through liblzma"). Returns whether it ran: not
 * without koffi or outside glibc (musl has no malloc_trim). Cheap: one arena (MALLOC_ARENA_MAX=1).
 */
export function trimFreedMemory(): boolean {
  if (mallocTrim === undefined) {
    mallocTrim = null;
    const koffi = loadKoffi();
    try {
      if (!(koffi instanceof Error)) mallocTrim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as (pad: number) => number;
    } catch {
      // No glibc (musl has no malloc_trim): nothing to trim with.
    }
  }
  if (mallocTrim === null) return false;
  mallocTrim(0);
  return true;
}
