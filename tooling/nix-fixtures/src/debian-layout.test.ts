import { describe, expect, it } from 'vitest';
import { destination, relocatedLinkTarget } from './debian-layout.ts';
import { upstreamVersion } from './debian-packages.ts';
import { FixturePlanInvalidError } from './errors.ts';
import { orderUnits, reaches } from './unit-order.ts';

describe('nixpkgs-style layout of Debian files', () => {
  it.each([
    ['/usr/bin/curl', 'bin', 'bin/curl'],
    ['/bin/bash', 'bin', 'bin/bash'],
    ['/sbin/mkfs.ext4', 'bin', 'bin/mkfs.ext4'],
    ['/lib/x86_64-linux-gnu/libc.so.6', 'out', 'lib/libc.so.6'],
    ['/usr/lib/x86_64-linux-gnu/perl/5.36.0/POSIX.pm', 'out', 'lib/perl/5.36.0/POSIX.pm'],
    ['/lib64/ld-linux-x86-64.so.2', 'out', 'lib/ld-linux-x86-64.so.2'],
    ['/usr/lib/nix/libnixstore.so', 'out', 'lib/nix/libnixstore.so'],
    ['/usr/share/man/man1/curl.1.gz', 'man', 'share/man/man1/curl.1.gz'],
    ['/usr/share/doc/curl/copyright', 'doc', 'share/doc/curl/copyright'],
    ['/usr/share/zoneinfo/Europe/Paris', 'out', 'share/zoneinfo/Europe/Paris'],
    ['/etc/ssl/certs/ca-certificates.crt', 'out', 'etc/ssl/certs/ca-certificates.crt'],
  ])('%s goes to %s:%s', (path, output, rel) => {
    expect(destination(path)).toEqual({ output, rel });
  });

  it('leaves out headers and state', () => {
    expect(destination('/usr/include/zlib.h')).toBeUndefined();
    expect(destination('/var/lib/dpkg/info/x.list')).toBeUndefined();
  });

  it('keeps a link inside its output relative, and anything else as written', () => {
    const link = { output: 'out' as const, rel: 'lib/libz.so.1' };
    expect(relocatedLinkTarget(link, { output: 'out', rel: 'lib/libz.so.1.2.13' }, 'libz.so.1.2.13')).toBe('libz.so.1.2.13');
    expect(relocatedLinkTarget({ output: 'out', rel: 'share/perl/5.36' }, { output: 'out', rel: 'share/perl/5.36.0' }, '5.36.0')).toBe('5.36.0');
    expect(relocatedLinkTarget({ output: 'bin', rel: 'bin/x' }, { output: 'bin', rel: 'bin/sub/y' }, '/usr/bin/sub/y')).toBe('sub/y');
    expect(relocatedLinkTarget({ output: 'out', rel: 'share/a/b/c' }, { output: 'out', rel: 'lib/d' }, '/usr/lib/d')).toBe('../../../lib/d');
    expect(relocatedLinkTarget({ output: 'bin', rel: 'bin/awk' }, undefined, '/etc/alternatives/awk')).toBe('/etc/alternatives/awk');
    expect(relocatedLinkTarget({ output: 'bin', rel: 'bin/x' }, { output: 'out', rel: 'lib/x' }, '../lib/x')).toBe('../lib/x');
  });

  it('names store paths after the upstream version', () => {
    expect(upstreamVersion('2.36-9+deb12u14')).toBe('2.36');
    expect(upstreamVersion('1:1.2.13.dfsg-1')).toBe('1.2.13');
    expect(upstreamVersion('2025b-0+deb12u2')).toBe('2025b');
    expect(upstreamVersion('20230311+deb12u1')).toBe('20230311');
    expect(upstreamVersion('2.9.14+dfsg-1.3~deb12u5')).toBe('2.9.14');
  });
});

describe('unit order', () => {
  const unit = (key: string, ...deps: string[]): { key: string; refs: string[] } => ({ key, refs: deps.map((d) => `${d}/out`) });

  it('puts every unit after the units it refers to', () => {
    const order = orderUnits([unit('curl', 'openssl', 'glibc'), unit('glibc'), unit('openssl', 'glibc')]).map((u) => u.key);
    expect(order).toEqual(['glibc', 'openssl', 'curl']);
    expect(reaches(new Map([unit('a', 'b'), unit('b', 'c'), unit('c')].map((u) => [u.key, u])), 'a', 'c')).toBe(true);
  });

  it('refuses a reference cycle with FLOXK8S_FIXTURE_PLAN_INVALID naming it', () => {
    const cycle = (): unknown => orderUnits([unit('a', 'b'), unit('b', 'c'), unit('c', 'a')]);
    expect(cycle).toThrow(FixturePlanInvalidError);
    expect(cycle).toThrow(expect.objectContaining({ code: 'FLOXK8S_FIXTURE_PLAN_INVALID', message: expect.stringContaining('a -> b -> c -> a') }));
  });
});
