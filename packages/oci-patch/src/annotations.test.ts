import { describe, expect, it } from 'vitest';
import { appliedEnvironment, shouldPatch, shouldPatchExec } from './annotations.ts';

const spec = (annotations?: Record<string, string>) => ({ ociVersion: '1.0.2-dev', ...(annotations ? { annotations } : {}) });
const ENV = { 'flox.dev/environment': 'acme/echoserver:12' };

describe('shouldPatch', () => {
  it('patches a container that names an environment, in run mode by default', () => {
    expect(shouldPatch(spec({ ...ENV, 'io.kubernetes.cri.container-name': 'web' }))).toEqual({
      patch: true,
      environment: 'acme/echoserver:12',
      mode: 'run',
      modeFromAnnotation: false,
      containerName: 'web',
      nixMutable: false,
      disableMetrics: false,
    });
  });

  it('reads flox.dev/nix-mutable and flox.dev/disable-metrics as Flox writes them ("true"/"false")', () => {
    expect(shouldPatch(spec({ ...ENV, 'flox.dev/nix-mutable': 'true', 'flox.dev/disable-metrics': 'True' }))).toMatchObject({ nixMutable: true, disableMetrics: true });
    expect(shouldPatch(spec({ ...ENV, 'flox.dev/nix-mutable': 'false', 'flox.dev/disable-metrics': ' ' }))).toMatchObject({ nixMutable: false, disableMetrics: false });
  });

  it('rejects another value of a boolean annotation with a coded error naming it', () => {
    for (const key of ['flox.dev/nix-mutable', 'flox.dev/disable-metrics']) {
      expect(() => shouldPatch(spec({ ...ENV, [key]: 'yes' }))).toThrow(expect.objectContaining({ code: 'FLOXK8S_ANNOTATION_INVALID', annotation: key }));
    }
  });

  it('takes the mode from flox.dev/activate-mode', () => {
    expect(shouldPatch(spec({ ...ENV, 'flox.dev/activate-mode': 'dev' }))).toMatchObject({ patch: true, mode: 'dev', modeFromAnnotation: true });
    expect(shouldPatch(spec({ ...ENV, 'flox.dev/activate-mode': ' ' }))).toMatchObject({ patch: true, mode: 'run', modeFromAnnotation: false });
  });

  it('rejects an unknown mode with a coded error', () => {
    expect(() => shouldPatch(spec({ ...ENV, 'flox.dev/activate-mode': 'Dev' }))).toThrow(
      expect.objectContaining({ code: 'FLOXK8S_ANNOTATION_INVALID', annotation: 'flox.dev/activate-mode' }),
    );
  });

  it('says no-environment without the annotation or with a blank one', () => {
    expect(shouldPatch(spec())).toEqual({ patch: false, reason: 'no-environment' });
    expect(shouldPatch(spec({ 'flox.dev/environment': '  ' }))).toEqual({ patch: false, reason: 'no-environment' });
  });

  it('never patches the pod sandbox, even though it carries the pod annotations', () => {
    expect(shouldPatch(spec({ ...ENV, 'io.kubernetes.cri.container-type': 'sandbox' }))).toEqual({ patch: false, reason: 'sandbox' });
    expect(shouldPatch(spec({ ...ENV, 'io.kubernetes.cri.container-type': 'container' }))).toMatchObject({ patch: true });
  });

  it('skips containers named in flox.dev/skip-containers (comma-separated, spaces ignored)', () => {
    const skip = { ...ENV, 'flox.dev/skip-containers': 'istio-proxy, log-shipper' };
    expect(shouldPatch(spec({ ...skip, 'io.kubernetes.cri.container-name': 'log-shipper' }))).toEqual({ patch: false, reason: 'skipped' });
    expect(shouldPatch(spec({ ...skip, 'io.kubernetes.cri.container-name': 'log' }))).toMatchObject({ patch: true });
    // ctr containers have no CRI name: the list cannot match them.
    expect(shouldPatch(spec(skip))).toMatchObject({ patch: true, containerName: undefined });
  });

  it('rejects a spec whose annotations are not a string map', () => {
    expect(() => shouldPatch({ ociVersion: '1.0.2', annotations: { a: 1 } })).toThrow(
      expect.objectContaining({ code: 'FLOXK8S_SPEC_INVALID', path: 'annotations.a' }),
    );
    expect(() => shouldPatch(null)).toThrow(expect.objectContaining({ code: 'FLOXK8S_SPEC_INVALID' }));
  });
});

describe('shouldPatchExec', () => {
  it('also honours flox.dev/skip-containers-exec', () => {
    const base = { ...ENV, 'io.kubernetes.cri.container-name': 'web' };
    expect(shouldPatchExec(spec(base))).toMatchObject({ patch: true, environment: 'acme/echoserver:12' });
    expect(shouldPatchExec(spec({ ...base, 'flox.dev/skip-containers-exec': 'web' }))).toEqual({ patch: false, reason: 'skipped' });
    expect(shouldPatch(spec({ ...base, 'flox.dev/skip-containers-exec': 'web' }))).toMatchObject({ patch: true });
    expect(shouldPatchExec(spec({ ...base, 'flox.dev/skip-containers': 'web' }))).toEqual({ patch: false, reason: 'skipped' });
    expect(shouldPatchExec(spec({ ...base, 'io.kubernetes.cri.container-type': 'sandbox' }))).toEqual({ patch: false, reason: 'sandbox' });
  });
});

describe('appliedEnvironment', () => {
  it('reads what patchSpec recorded', () => {
    expect(appliedEnvironment(spec(ENV))).toBeUndefined();
    expect(
      appliedEnvironment(spec({ 'flox.dev/applied-environment': 'acme/echoserver:12', 'flox.dev/lockfile-digest': 'ab'.repeat(32) })),
    ).toEqual({ environment: 'acme/echoserver:12', digest: 'ab'.repeat(32) });
  });
});
