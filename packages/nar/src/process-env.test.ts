import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FETCH_PROCESS_ENV, trimFreedMemory } from './process-env.ts';

type Fn = (...args: unknown[]) => unknown;
const rssKb = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);

describe('trimFreedMemory', () => {
  it("hands the heap's free memory back: RSS falls by what was freed below a live block", () => {
    const koffi = createRequire(import.meta.url)('koffi') as { load(path: string): { func(signature: string): Fn } };
    const libc = koffi.load('libc.so.6');
    const malloc = libc.func('void *malloc(size_t)');
    const memset = libc.func('void *memset(void *, int, size_t)');
    const free = libc.func('void free(void *)');
    // 96 MiB in 64 KiB blocks (below glibc's mmap threshold: from the heap), touched; then all but
    // the last freed. The last pins the top of the heap, so free() alone returns none of it.
    const blocks = Array.from({ length: 1536 }, () => {
      const block = malloc(64 * 1024);
      memset(block, 1, 64 * 1024);
      return block;
    });
    const last = blocks.pop();
    for (const block of blocks) free(block);
    const before = rssKb();
    expect(trimFreedMemory()).toBe(true);
    const after = rssKb();
    free(last);
    expect(before - after).toBeGreaterThan(80 * 1024);
  });
});

describe('FETCH_PROCESS_ENV', () => {
  it("sets glibc tunables this system's glibc knows (a misspelt one is ignored without a word)", () => {
    // ld.so --list-tunables (glibc 2.33+) prints the values the variables give a new process.
    const loader = process.arch === 'arm64' ? '/lib/ld-linux-aarch64.so.1' : '/lib64/ld-linux-x86-64.so.2';
    const list = (env: Record<string, string>): Map<string, string> =>
      new Map(
        execFileSync(loader, ['--list-tunables'], { env: { PATH: '/usr/bin:/bin', ...env } })
          .toString()
          .split('\n')
          .map((line) => /^(\S+): (\S+)/.exec(line))
          .filter((m) => m !== null)
          .map((m) => [m[1] as string, m[2] as string]),
      );
    const before = list({});
    const after = list({ ...FETCH_PROCESS_ENV });
    expect([before.get('glibc.malloc.hugetlb'), before.get('glibc.malloc.arena_max'), before.get('glibc.malloc.mmap_threshold')]).toEqual(['0x0', '0x0', '0x0']);
    expect([after.get('glibc.malloc.hugetlb'), after.get('glibc.malloc.arena_max'), after.get('glibc.malloc.mmap_threshold')]).toEqual(['0x1', '0x1', '0x200000']);
  });
});
