import { describe, expect, it } from 'vitest';
import { parseDemoFlags } from './flags.ts';

describe('demo flags', () => {
  it('takes repeatable caches and keys and the command after our flags', () => {
    const key = `k-1:${'A'.repeat(43)}=`;
    expect(parseDemoFlags(['--', '--cache', 'http://127.0.0.1:1', '--cache=https://c.example', '--trusted-key', key, '--', 'sh', '-c', 'exit 3'])).toEqual({
      lockfile: undefined,
      caches: ['http://127.0.0.1:1', 'https://c.example'],
      trustedKeys: [key],
      hub: undefined,
      environment: undefined,
      command: ['sh', '-c', 'exit 3'],
      help: false,
      large: false,
    });
    expect(parseDemoFlags(['--', '--large']).large).toBe(true);
    expect(parseDemoFlags(['--hub', '/srv/hub', 'hello-flox', '--verbose']).command).toEqual(['hello-flox', '--verbose']);
    expect(parseDemoFlags(['--hub', '/srv/hub']).hub).toEqual({ kind: 'dir', path: '/srv/hub' });
  });

  it('rejects bad values with a coded error naming the flag', () => {
    for (const [args, where] of [
      [['--cache', 'ftp://x'], 'cache[0]'],
      [['--trusted-key', 'nokey'], 'trusted-key[0]'],
      [['--environment', '../etc'], 'environment'],
      [['--bogus'], "Unknown option '--bogus'"],
      [['--hub', 'https://hub.example'], '--environment'],
      [['--hub', 's3://bucket'], 'http(s):// URL or a directory'],
      [['--large', '--lockfile', 'x.lock', '--', 'sh'], '--large'],
    ] as const) {
      expect(() => parseDemoFlags(args), args.join(' ')).toThrow(expect.objectContaining({ code: 'FLOXK8S_USAGE', message: expect.stringContaining(where) }));
    }
  });
});
