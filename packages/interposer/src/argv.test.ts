import { describe, expect, it } from 'vitest';
import { parseRuncArgv } from './argv.ts';

describe('parseRuncArgv', () => {
  it('finds create after containerd global flags', () => {
    const argv = ['--root', '/run/containerd/runc/k8s.io', '--log', '/b/log.json', '--log-format', 'json', '--systemd-cgroup',
      'create', '--bundle', '/b', '--pid-file', '/b/init.pid', '--console-socket', '/tmp/s', 'c1'];
    expect(parseRuncArgv(argv, '/')).toEqual({
      subcommand: 'create',
      globals: { root: '/run/containerd/runc/k8s.io', log: '/b/log.json', logFormat: 'json' },
      bundle: '/b',
      containerId: 'c1',
    });
  });

  it('accepts = forms and single-dash flags, and the cwd as default bundle', () => {
    expect(parseRuncArgv(['-root=/r', '--debug', 'create', '-b=rel', '--no-pivot', 'c2'], '/work')).toMatchObject({
      subcommand: 'create', globals: { root: '/r' }, bundle: '/work/rel', containerId: 'c2',
    });
    expect(parseRuncArgv(['create', 'c3'], '/bundle/dir/')).toMatchObject({ bundle: '/bundle/dir', containerId: 'c3' });
  });

  it('finds exec --process and the container id', () => {
    expect(parseRuncArgv(['--root', '/r', 'exec', '--process', '/tmp/p.json', '--detach', '--pid-file', '/x', 'c1'], '/')).toEqual({
      subcommand: 'exec', globals: { root: '/r', log: undefined, logFormat: undefined }, processFile: '/tmp/p.json', containerId: 'c1',
    });
    expect(parseRuncArgv(['exec', '-e', 'A=1', '-t', 'c1', 'sh'], '/')).toMatchObject({ processFile: undefined, containerId: 'c1' });
  });

  it('does not mistake a flag value for the subcommand', () => {
    expect(parseRuncArgv(['--root', 'create', 'state', 'c1'], '/')).toEqual({ subcommand: 'other', name: 'state' });
    expect(parseRuncArgv(['--log', 'exec', '--log-format', 'json', 'kill', 'c1', 'KILL'], '/')).toEqual({ subcommand: 'other', name: 'kill' });
  });

  it('passes other subcommands and an empty argv as other', () => {
    expect(parseRuncArgv(['delete', '--force', 'c1'], '/')).toEqual({ subcommand: 'other', name: 'delete' });
    expect(parseRuncArgv([], '/')).toEqual({ subcommand: 'other', name: undefined });
  });

  it('rejects a create without container id or a flag without value', () => {
    expect(() => parseRuncArgv(['create', '--bundle', '/b'], '/')).toThrow(expect.objectContaining({ code: 'FLOXK8S_RUNC_ARGV' }));
    expect(() => parseRuncArgv(['--root'], '/')).toThrow(expect.objectContaining({ code: 'FLOXK8S_RUNC_ARGV' }));
  });
});
