import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { trimFreedMemory } from './process-env.ts';

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
