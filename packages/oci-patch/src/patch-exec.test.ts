import { describe, expect, it } from 'vitest';
import { BUSYBOX, samplePlan } from '../test/plans.ts';
import { patchExecProcess } from './patch-exec.ts';

// What containerd's CRI hands `runc exec --process`: the container's process with new args.
const execProcess = () => ({
  terminal: false,
  user: { uid: 0, gid: 0 },
  args: ['cat', '/etc/motd'],
  env: ['PATH=/usr/bin:/bin', 'HOSTNAME=web-0'],
  cwd: '/',
  capabilities: { bounding: ['CAP_KILL'] },
});

describe('patchExecProcess', () => {
  it('applies the same environment rules and the wrapper, keeping other fields', () => {
    const out = patchExecProcess(execProcess(), samplePlan());
    expect(out).toEqual({
      ...execProcess(),
      args: [`${BUSYBOX}/bin/sh`, '/run/flox/environment/activate.d/hook.sh', 'cat', '/etc/motd'],
      env: [
        'PATH=/run/flox/environment/bin:/usr/bin:/bin',
        'HOSTNAME=web-0',
        'FLOX_ENV=/run/flox/environment',
        'XDG_DATA_DIRS=/run/flox/environment/share',
        'GREETING=from-vars',
      ],
    });
    expect(Object.keys(out)).toEqual(Object.keys(execProcess()));
  });

  it('does not wrap without a wrapper, is idempotent and does not modify its input', () => {
    const { wrapper: _wrapper, ...plan } = samplePlan();
    const input = execProcess();
    const once = patchExecProcess(input, plan);
    expect(once.args).toEqual(['cat', '/etc/motd']);
    expect(input).toEqual(execProcess());
    expect(patchExecProcess(once, plan)).toEqual(once);
    const wrapped = patchExecProcess(input, samplePlan());
    expect(patchExecProcess(wrapped, samplePlan())).toEqual(wrapped);
  });

  it('rejects an invalid process document with a path', () => {
    expect(() => patchExecProcess({ args: ['sh'], env: ['OK=1', 3] }, samplePlan())).toThrow(
      expect.objectContaining({ code: 'FLOXK8S_SPEC_INVALID', path: 'env[1]' }),
    );
    expect(() => patchExecProcess({ env: [] }, samplePlan())).toThrow(expect.objectContaining({ code: 'FLOXK8S_SPEC_INVALID', path: 'args' }));
  });
});
