import { describe, expect, it } from 'vitest';
import { BUSYBOX, DIGEST, samplePlan, sampleSpec } from '../test/plans.ts';
import { patchSpec } from './patch-spec.ts';

describe('patchSpec', () => {
  it('mounts the closure, merges the environment, wraps argv and records what it applied', () => {
    const out = patchSpec(sampleSpec(), samplePlan());
    expect(out.mounts?.map((m) => m.destination)).toEqual([
      '/proc',
      '/data',
      '/nix/store',
      BUSYBOX,
      '/nix/store/8b1dhq3iglr2j02bqx1pqmci5ls7m9nq-flox-fixture-data-1.0',
      '/nix/store/pnzqx8if4bq311b03hp9pvkwy1vjvkp3-hello-flox-1.0',
      '/run/flox/environment',
    ]);
    expect(out.process?.env).toEqual([
      'PATH=/run/flox/environment/bin:/usr/local/bin:/usr/bin:/bin',
      'GREETING=from-pod',
      'FLOX_ENV=/run/flox/environment',
      'XDG_DATA_DIRS=/run/flox/environment/share',
    ]);
    expect(out.process?.args).toEqual([`${BUSYBOX}/bin/sh`, '/run/flox/environment/activate.d/hook.sh', 'echoserver', '--port', '8080']);
    expect(out.annotations).toEqual({
      'flox.dev/environment': 'acme/echoserver:12',
      'io.kubernetes.cri.container-name': 'echoserver',
      'flox.dev/applied-environment': 'acme/echoserver:12',
      'flox.dev/lockfile-digest': DIGEST,
    });
  });

  it('keeps unknown fields and key order, and never modifies its input', () => {
    const input = sampleSpec();
    const before = JSON.stringify(input);
    const out = patchSpec(input, samplePlan());
    expect(JSON.stringify(input)).toBe(before);
    expect(Object.keys(out)).toEqual(Object.keys(input));
    expect(Object.keys(out.process ?? {})).toEqual(Object.keys(input.process ?? {}));
    expect(out['vendor.example/extension']).toEqual({ nested: true });
    expect(out['linux']).toEqual(input['linux']);
    expect(out['linux']).not.toBe(input['linux']);
  });

  it('leaves argv alone without a wrapper', () => {
    const { wrapper: _wrapper, ...plan } = samplePlan();
    expect(patchSpec(sampleSpec(), plan).process?.args).toEqual(['echoserver', '--port', '8080']);
  });

  it('is idempotent: patching twice equals patching once, byte for byte', () => {
    const once = patchSpec(sampleSpec(), samplePlan());
    expect(JSON.stringify(patchSpec(once, samplePlan()))).toBe(JSON.stringify(once));
  });

  it('refuses a spec already patched for another environment or digest', () => {
    const once = patchSpec(sampleSpec(), samplePlan());
    const other = samplePlan({ applied: { environment: 'acme/other', digest: DIGEST } });
    expect(() => patchSpec(once, other)).toThrow(expect.objectContaining({ code: 'FLOXK8S_SPEC_ALREADY_PATCHED' }));
    const forgedDigestOnly = { ...sampleSpec(), annotations: { 'flox.dev/lockfile-digest': 'ab'.repeat(32) } };
    expect(() => patchSpec(forgedDigestOnly, samplePlan())).toThrow(expect.objectContaining({ code: 'FLOXK8S_SPEC_ALREADY_PATCHED' }));
  });

  it('adds annotations and mounts to a spec without them, and tolerates a spec without process', () => {
    const out = patchSpec({ ociVersion: '1.2.0' }, samplePlan());
    expect(out.process).toBeUndefined();
    expect(out.mounts).toHaveLength(5);
    expect(out.annotations?.['flox.dev/applied-environment']).toBe('acme/echoserver:12');
  });

  it('cannot wrap a process without args', () => {
    const spec = { ociVersion: '1.0.2', process: { env: ['A=1'] } };
    expect(() => patchSpec(spec, samplePlan())).toThrow(expect.objectContaining({ code: 'FLOXK8S_SPEC_INVALID', path: 'process.args' }));
  });

  it('reports collisions and invalid input with codes', () => {
    const clash = { ...sampleSpec(), mounts: [{ destination: '/run/flox/environment', type: 'tmpfs', source: 'tmpfs' }] };
    expect(() => patchSpec(clash, samplePlan())).toThrow(expect.objectContaining({ code: 'FLOXK8S_MOUNT_COLLISION' }));
    expect(() => patchSpec({ ociVersion: '1.0.2', process: { env: ['BROKEN'] } }, samplePlan())).toThrow(
      expect.objectContaining({ code: 'FLOXK8S_SPEC_INVALID', path: 'process.env[0]' }),
    );
    expect(() => patchSpec(sampleSpec(), samplePlan({ storePaths: ['/etc'] }))).toThrow(
      expect.objectContaining({ code: 'FLOXK8S_PATCH_PLAN_INVALID', path: 'storePaths[0]' }),
    );
  });
});
