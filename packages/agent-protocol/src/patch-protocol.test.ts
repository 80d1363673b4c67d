import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_LINE, claimFile, isPoolSlot, parsePatchRequest, replyFail, replyFifo } from './index.ts';

describe('patch request lines', () => {
  it('reads the subcommand, the pid and the reply slot (pool or the pid itself)', () => {
    expect(parsePatchRequest('create 4242 pk2x9-17')).toEqual({ subcommand: 'create', pid: 4242, slot: 'pk2x9-17' });
    expect(parsePatchRequest('exec 4242 4242')).toEqual({ subcommand: 'exec', pid: 4242, slot: '4242' });
  });
  it('still reads the older form without a slot', () => {
    expect(parsePatchRequest('create 7')).toEqual({ subcommand: 'create', pid: 7, slot: undefined });
  });
  it.each([
    ['a path in the slot', 'create 7 ../../etc/passwd'],
    ['a slot with a slash', 'create 7 p1/-2'],
    ['a pool slot without its counter', 'create 7 pabc'],
    ['an unknown subcommand', 'delete 7 p1-2'],
    ['pid 0', 'create 0 p1-2'],
    ['a trailing space', 'create 7 p1-2 '],
    ['a second slot', 'create 7 p1-2 p1-3'],
  ])('refuses %s', (_what, line) => {
    expect(parsePatchRequest(line)).toBeUndefined();
  });
  it('keeps the longest valid line under MAX_REQUEST_LINE', () => {
    const longest = `create ${'9'.repeat(10)} p${'z'.repeat(12)}-${'9'.repeat(10)}`;
    expect(parsePatchRequest(longest)?.slot).toBe(`p${'z'.repeat(12)}-${'9'.repeat(10)}`);
    expect(longest.length).toBeLessThanOrEqual(MAX_REQUEST_LINE);
  });
  it('tells pool slots from pid slots', () => {
    expect([isPoolSlot('p1a-3'), isPoolSlot('4242'), isPoolSlot('p1a-3/x'), isPoolSlot('q1-2')]).toEqual([true, false, false, false]);
  });
  it('names the reply FIFO and the claim inside the service directory', () => {
    expect([replyFifo('/run/p', 'p1-2'), replyFifo('/run/p', 12), claimFile('/run/p', 'p1-2')]).toEqual(['/run/p/replies/p1-2', '/run/p/replies/12', '/run/p/claims/p1-2']);
    expect(replyFail('a\nb\r\nc')).toBe('fail a b c\n');
  });
});
