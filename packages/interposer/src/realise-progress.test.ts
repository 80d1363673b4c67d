import { describe, expect, it } from 'vitest';
import { progressLogger } from './realise-progress.ts';

describe('progressLogger', () => {
  it('logs the first totals at once, then at most one line a second, and the last totals at the end', () => {
    const lines: Array<Record<string, unknown>> = [];
    const p = progressLogger({ log: (_level, msg, fields) => lines.push({ msg, ...fields }) }, 'in-process');
    p.report({ pathsDone: 0, pathsTotal: 0, narBytesDone: 0, narBytesTotal: 0 }); // nothing to fetch: no line
    p.report({ pathsDone: 0, pathsTotal: 3, narBytesDone: 0, narBytesTotal: 900 });
    p.report({ pathsDone: 1, pathsTotal: 3, narBytesDone: 300, narBytesTotal: 900 });
    p.report({ pathsDone: 3, pathsTotal: 3, narBytesDone: 900, narBytesTotal: 900 });
    p.done();
    expect(lines).toEqual([
      { msg: 'realise progress', via: 'in-process', pathsDone: 0, pathsTotal: 3, narBytesDone: 0, narBytesTotal: 900 },
      { msg: 'realise progress', via: 'in-process', pathsDone: 3, pathsTotal: 3, narBytesDone: 900, narBytesTotal: 900 },
    ]);
  });
});
