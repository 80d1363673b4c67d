import { describe, expect, it } from 'vitest';
import { formatMegabytes, formatProgress, formatSeconds, RealiseTally, Throttle } from './index.ts';

const A = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a';
const B = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b';
const C = '/nix/store/cccccccccccccccccccccccccccccccc-c';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('RealiseTally over @flox-k8s/store events', () => {
  it('adds up paths and bytes; repeated and stale reports never count twice', () => {
    const c = clock();
    const tally = new RealiseTally(c.now);
    expect(tally.snapshot()).toMatchObject({ planned: false, pathsTotal: 0, bytesDone: 0 });
    tally.observe({ type: 'resolved', closure: 10, missing: 3, narBytes: 3_000_000 });
    tally.observe({ type: 'fetch-start', storePath: A, narSize: 1_000_000 });
    tally.observe({ type: 'fetch-progress', storePath: A, bytesIn: 10, bytesOut: 400_000, narSize: 1_000_000 });
    tally.observe({ type: 'fetch-progress', storePath: A, bytesIn: 5, bytesOut: 300_000, narSize: 1_000_000 }); // out of order
    tally.observe({ type: 'fetch-progress', storePath: B, bytesIn: 10, bytesOut: 500_000, narSize: 1_500_000 });
    c.advance(2_000);
    expect(tally.snapshot()).toEqual({ planned: true, pathsTotal: 3, pathsDone: 0, bytesTotal: 3_000_000, bytesDone: 900_000, elapsedMs: 2_000 });
    expect(tally.bytesOutstanding).toBe(2_100_000);
    tally.observe({ type: 'fetched', storePath: A, narSize: 1_000_000, fileSize: 300_000 });
    tally.observe({ type: 'fetched', storePath: A, narSize: 1_000_000, fileSize: 300_000 });
    tally.observe({ type: 'registered', storePath: A });
    tally.observe({ type: 'fetch-progress', storePath: A, bytesIn: 1, bytesOut: 999, narSize: 1_000_000 }); // after done: ignored
    // B was realised by another process while we waited: its known size counts.
    tally.observe({ type: 'present', storePath: B });
    expect(tally.snapshot()).toMatchObject({ pathsDone: 2, bytesDone: 2_500_000 });
    tally.observe({ type: 'present', storePath: C });
    expect(tally.snapshot()).toMatchObject({ pathsDone: 3, bytesDone: 2_500_000 });
  });

  it('never reports more than the plan', () => {
    const tally = new RealiseTally();
    tally.plan(1, 100);
    tally.pathBytes(A, 5_000);
    tally.pathDone(B, 7_000);
    expect(tally.snapshot()).toMatchObject({ pathsDone: 1, pathsTotal: 1, bytesDone: 100, bytesTotal: 100 });
    expect(tally.bytesOutstanding).toBe(0);
  });
});

describe('formatProgress', () => {
  it('one line: paths, megabytes, percent, rate after the first second', () => {
    const base = { planned: true, pathsTotal: 120, pathsDone: 42, bytesTotal: 310_000_000, bytesDone: 120_400_000 };
    expect(formatProgress({ ...base, elapsedMs: 10_000 })).toBe('42/120 paths, 120/310 MB (38%), 12.0 MB/s');
    expect(formatProgress({ ...base, elapsedMs: 400 })).toBe('42/120 paths, 120/310 MB (38%)');
    expect(formatProgress({ ...base, planned: false, elapsedMs: 3_000 })).toBe('resolving the closure');
    expect(formatProgress({ planned: true, pathsTotal: 0, pathsDone: 0, bytesTotal: 0, bytesDone: 0, elapsedMs: 0 })).toBe('0/0 paths, 0/0 MB (100%)');
    expect([formatMegabytes(1_234_567), formatMegabytes(0), formatSeconds(4_249)]).toEqual(['1.2 MB', '0 MB', '4.2 s']);
  });
});

describe('Throttle', () => {
  it('lets each key go at most once per interval; the first call goes', () => {
    const c = clock();
    const throttle = new Throttle(5_000, c.now);
    expect([throttle.ready('pod-a'), throttle.ready('pod-a'), throttle.ready('pod-b')]).toEqual([true, false, true]);
    c.advance(4_999);
    expect(throttle.ready('pod-a')).toBe(false);
    c.advance(1);
    expect(throttle.ready('pod-a')).toBe(true);
    throttle.forget('pod-b');
    expect(throttle.ready('pod-b')).toBe(true);
  });
});
