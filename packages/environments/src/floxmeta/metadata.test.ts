import { describe, expect, it } from 'vitest';
import { parseGenerationsMetadata } from './metadata.ts';

const parse = (value: unknown): ReturnType<typeof parseGenerationsMetadata> => parseGenerationsMetadata(new TextEncoder().encode(JSON.stringify(value)), 'test');
const entry = (kind: string, current: string, previous?: string): Record<string, unknown> => ({
  kind,
  author: 'a',
  hostname: 'h',
  timestamp: 1,
  current_generation: current,
  ...(previous === undefined ? {} : { previous_generation: previous }),
});

describe('metadata.json', () => {
  it('v2: the live generation is the last entry; switches create nothing; unknown kinds and fields pass', () => {
    expect(
      parse({
        version: 2,
        total_generations: 3,
        extra: true,
        history: [entry('install', '1'), { ...entry('upgrade', '2', '1'), targets: [] }, entry('from_the_future', '3', '2'), entry('switch_generation', '1', '3')],
      }),
    ).toEqual({ live: 1, generations: [3, 2, 1] });
    expect(parse({ version: 2, history: [], total_generations: 0 })).toEqual({ live: undefined, generations: [] });
  });

  it('v1 (older Flox): currentGen and the generations map', () => {
    expect(parse({ currentGen: '2', generations: { '1': { created: 1, description: 'x' }, '2': { created: 2, lastActive: 3, description: 'y' } } })).toEqual({ live: 2, generations: [2, 1] });
  });

  it('refuses what Flox refuses: numbers for generation ids, a kind that is not a string, other versions', () => {
    for (const bad of [
      { version: 2, total_generations: 1, history: [{ ...entry('edit', '1'), current_generation: 1 }] },
      { version: 2, total_generations: 1, history: [{ ...entry('edit', '1'), kind: { not: 'a string' } }] },
      { version: 2, total_generations: 1, history: [entry('switch_generation', '1')] },
      { version: 3 },
      { currentGen: '4', generations: {} },
      [],
    ]) {
      expect(() => parse(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'FLOXK8S_FLOXMETA_METADATA_INVALID' }));
    }
    expect(() => parseGenerationsMetadata(new Uint8Array([0xff, 0xfe]), 'test')).toThrow(expect.objectContaining({ code: 'FLOXK8S_FLOXMETA_METADATA_INVALID' }));
  });
});
