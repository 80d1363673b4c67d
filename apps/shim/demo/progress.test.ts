import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeProgress, followShimLog, type ShimLogLine } from './progress.ts';

describe('demo progress', () => {
  it('follows the shim log from its end, line by line, across partial writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flox-demo-progress-'));
    try {
      const file = join(dir, 'shim.log');
      await writeFile(file, `${JSON.stringify({ msg: 'before' })}\n`);
      const seen: ShimLogLine[] = [];
      const follow = await followShimLog(file, (l) => seen.push(l), 10);
      const line = JSON.stringify({ msg: 'realise progress', via: 'in-process', pathsDone: 3, pathsTotal: 138, narBytesDone: 12_345_678, narBytesTotal: 344_456_888 });
      await appendFile(file, line.slice(0, 20));
      await new Promise((r) => setTimeout(r, 50));
      await appendFile(file, `${line.slice(20)}\nnot json\n`);
      await follow.stop();
      expect(seen.map(describeProgress)).toEqual(['fetching 3/138 store paths, 12.3 of 344.5 MB (in-process)']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
