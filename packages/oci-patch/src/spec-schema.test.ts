import { describe, expect, it } from 'vitest';
import { parseProcess, parseSpec } from './spec-schema.ts';

const invalid = (path: string) => expect.objectContaining({ code: 'FLOXK8S_SPEC_INVALID', path });

describe('parseSpec', () => {
  it('returns the very same object, so key order and unknown fields are untouched', () => {
    const input = { zeta: 1, ociVersion: '1.2.0', mounts: [{ z: 1, destination: '/x', uidMappings: [] }], alpha: { b: 1, a: 2 } };
    const before = JSON.stringify(input);
    expect(parseSpec(input)).toBe(input);
    expect(JSON.stringify(input)).toBe(before);
  });

  it.each([
    [{}, 'ociVersion'],
    [{ ociVersion: '0.9.0' }, 'ociVersion'],
    [{ ociVersion: '1.0.2', process: { env: ['OK=1', 'NOEQUALS'] } }, 'process.env[1]'],
    [{ ociVersion: '1.0.2', process: { env: ['=value'] } }, 'process.env[0]'],
    [{ ociVersion: '1.0.2', process: { args: ['sh', 3] } }, 'process.args[1]'],
    [{ ociVersion: '1.0.2', mounts: [{ destination: '/ok' }, { destination: 'relative' }] }, 'mounts[1].destination'],
    [{ ociVersion: '1.0.2', mounts: [{ destination: '/ok', options: 'ro' }] }, 'mounts[0].options'],
    [{ ociVersion: '1.0.2', annotations: { 'flox.dev/environment': 7 } }, 'annotations["flox.dev/environment"]'],
  ])('rejects %j at %s', (spec, path) => {
    expect(() => parseSpec(spec)).toThrow(invalid(path));
  });

  it('rejects non-objects at the root', () => {
    for (const bad of [null, [], 'config', 42]) expect(() => parseSpec(bad)).toThrow(invalid(''));
  });

  it('accepts 1.0, 1.1 and 1.2 specs', () => {
    for (const ociVersion of ['1.0.0', '1.0.2-dev', '1.1.0', '1.2.0']) expect(parseSpec({ ociVersion }).ociVersion).toBe(ociVersion);
  });
});

describe('parseProcess', () => {
  it('validates a runc exec --process document', () => {
    const p = { terminal: false, args: ['sh'], env: ['A=1'], cwd: '/', user: { uid: 0, gid: 0 } };
    expect(parseProcess(p)).toBe(p);
    expect(() => parseProcess({ args: 'sh' })).toThrow(invalid('args'));
  });
});
