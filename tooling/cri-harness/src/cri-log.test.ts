import { describe, expect, it } from 'vitest';
import { parseCriLog } from './cri-log.ts';

describe('parseCriLog', () => {
  it('joins partial lines, splits streams and keeps bytes exactly', () => {
    const text = Buffer.concat([
      Buffer.from('2026-11-21T12:00:00.000000001Z stdout F hello\n'),
      Buffer.from('2026-11-21T12:00:00.000000002Z stderr F err \u00e9\n'),
      Buffer.from('2026-11-21T12:00:00.000000003Z stdout P part'),
      Buffer.from('\n2026-11-21T12:00:00.000000004Z stdout F ial\n'),
      Buffer.from('2026-11-21T12:00:00.000000005Z stdout F \n'),
      Buffer.from('garbage line\n'),
    ]);
    const log = parseCriLog(text);
    expect(log.stdout.toString()).toBe('hello\npartial\n\n');
    expect(log.stderr.toString()).toBe('err \u00e9\n');
    expect(log.entries.map((e) => e.partial)).toEqual([false, false, true, false, false]);
  });
});
