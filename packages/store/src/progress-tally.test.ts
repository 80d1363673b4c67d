import { describe, expect, it } from 'vitest';
import { RealiseTally } from './progress-tally.ts';

const a = '/nix/store/00000000000000000000000000000000-a';
const b = '/nix/store/11111111111111111111111111111111-b';

describe('RealiseTally', () => {
  it('sums NAR bytes per path (never backwards, never past a path\'s size) and counts paths done', () => {
    const t = new RealiseTally();
    expect(t.update({ type: 'resolved', closure: 5, missing: 2, narBytes: 300 })).toEqual({ pathsDone: 0, pathsTotal: 2, narBytesDone: 0, narBytesTotal: 300 });
    t.update({ type: 'fetch-progress', storePath: a, bytesIn: 10, bytesOut: 50, narSize: 100 });
    t.update({ type: 'fetch-progress', storePath: a, bytesIn: 9, bytesOut: 40, narSize: 100 });
    expect(t.update({ type: 'fetch-progress', storePath: b, bytesIn: 10, bytesOut: 250, narSize: 200 }).narBytesDone).toBe(250);
    t.update({ type: 'fetched', storePath: a, narSize: 100, fileSize: 30 });
    t.update({ type: 'registered', storePath: a });
    t.update({ type: 'registered', storePath: a });
    expect(t.update({ type: 'present', storePath: b })).toEqual({ pathsDone: 2, pathsTotal: 2, narBytesDone: 300, narBytesTotal: 300 });
  });
});
