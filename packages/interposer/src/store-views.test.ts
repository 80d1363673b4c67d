import { describe, expect, it } from 'vitest';
import { wantsMountedView } from './store-views.ts';

const paths = (n: number): string[] => Array.from({ length: n }, (_, i) => `/nix/store/${String(i).padStart(32, '0')}-p${i}`);
const plan = (storePaths: string[], symlinks: string[] = [], nixMutable?: { scratchDir: string; storeLower: string; directories: string[] }) => ({
  storePaths,
  storeView: { hostPath: '/v', symlinks },
  ...(nixMutable === undefined ? {} : { nixMutable }),
});
const on = { minPaths: 64, maxMounts: 8192 };

describe('wantsMountedView', () => {
  it('counts the paths to bind: from minPaths on, symlinks and repeats not counted', () => {
    expect(wantsMountedView(plan(paths(64)), on)).toBe(true);
    expect(wantsMountedView(plan(paths(63)), on)).toBe(false);
    const closure = paths(65);
    expect(wantsMountedView(plan(closure, closure.slice(0, 2)), on)).toBe(false);
    expect(wantsMountedView(plan([...paths(63), ...paths(63)]), on)).toBe(false);
  });

  it('never with maxMounts 0, a view larger than maxMounts, or a nix-mutable container', () => {
    expect(wantsMountedView(plan(paths(100)), { minPaths: 64, maxMounts: 0 })).toBe(false);
    expect(wantsMountedView(plan(paths(100)), { minPaths: 64, maxMounts: 100 })).toBe(false);
    expect(wantsMountedView(plan(paths(100)), { minPaths: 64, maxMounts: 101 })).toBe(true);
    expect(wantsMountedView(plan(paths(100), [], { scratchDir: '/s', storeLower: '/s/e', directories: [] }), on)).toBe(false);
  });
});
