import { describe, expect, test } from 'vitest';
import { EnvironmentRefInvalidError, formatEnvironmentRef, parseEnvironmentRef } from './index.ts';

const HEX = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);

describe('parseEnvironmentRef accepts the three forms', () => {
  test.each([
    ['acme/echoserver', { owner: 'acme', name: 'echoserver', kind: 'live' }],
    ['acme/echoserver:12', { owner: 'acme', name: 'echoserver', kind: 'generation', generation: 12 }],
    [`flox/elder-library@sha256:${HEX}`, { owner: 'flox', name: 'elder-library', kind: 'digest', digest: HEX }],
    ['My_Org-2/env.v2_x', { owner: 'My_Org-2', name: 'env.v2_x', kind: 'live' }],
  ])('%s', (input, expected) => {
    const ref = parseEnvironmentRef(input);
    expect(ref).toEqual(expected);
    expect(formatEnvironmentRef(ref)).toBe(input);
  });
});

describe('parseEnvironmentRef rejects everything else with FLOXK8S_ENV_REF_INVALID', () => {
  test.each([
    ['empty', ''],
    ['no slash', 'echoserver'],
    ['two slashes', 'acme/team/echoserver'],
    ['absolute path', '/var/lib/flox/acme/echo'],
    ['relative parent', '../../etc/passwd'],
    ['dot-dot name', 'acme/..'],
    ['dot-dot owner', '../echo'],
    ['dot name', 'acme/.'],
    ['hidden name', 'acme/.ssh'],
    ['dot-dot inside', 'acme/a..b'],
    ['url', 'https://hub.flox.dev/acme/echo'],
    ['scheme-ish', 'file:acme/echo'],
    ['backslash', 'acme\\echo'],
    ['space', 'acme/echo server'],
    ['leading space', ' acme/echo'],
    ['newline', 'acme/echo\n'],
    ['tab', 'acme/\techo'],
    ['empty owner', '/echo'],
    ['empty name', 'acme/'],
    ['empty generation', 'acme/echo:'],
    ['generation zero', 'acme/echo:0'],
    ['leading zero generation', 'acme/echo:012'],
    ['negative generation', 'acme/echo:-1'],
    ['non-numeric generation', 'acme/echo:latest'],
    ['huge generation', 'acme/echo:9999999999999999'],
    ['short digest', 'acme/echo@sha256:abc'],
    ['uppercase digest', `acme/echo@sha256:${HEX.toUpperCase()}`],
    ['other algorithm', `acme/echo@sha512:${HEX}`],
    ['digest and generation', `acme/echo:3@sha256:${HEX}`],
    ['query string', 'acme/echo?x=1'],
    ['percent-encoding', 'acme/%2e%2e'],
    ['NUL byte', 'acme/echo\u0000'],
    ['unicode lookalike', 'acme/ech\u043e'],
    ['option-looking name', 'acme/-rf'],
    ['over-long', `acme/${'a'.repeat(300)}`],
    ['over-long owner', `${'o'.repeat(65)}/echo`],
  ])('%s', (_label, input) => {
    let error: unknown;
    try {
      parseEnvironmentRef(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvironmentRefInvalidError);
    expect((error as EnvironmentRefInvalidError).code).toBe('FLOXK8S_ENV_REF_INVALID');
  });

  test('a non-string (from untyped callers) is rejected with the same code', () => {
    expect(() => parseEnvironmentRef(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'FLOXK8S_ENV_REF_INVALID' }) as Error);
  });

  test('the error message quotes at most 200 characters of hostile input', () => {
    try {
      parseEnvironmentRef(`acme/${'x'.repeat(10_000)}`);
    } catch (e) {
      expect((e as EnvironmentRefInvalidError).input.length).toBeLessThanOrEqual(201);
      expect((e as Error).message.length).toBeLessThan(500);
      return;
    }
    throw new Error('expected a throw');
  });
});
