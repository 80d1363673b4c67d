import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { nixFixtures } from '@flox-k8s/nix-fixtures';
import { describe, expect, it } from 'vitest';
import { nix32Decode } from './nix32.ts';
import { parseNarinfo, parseNixCacheInfo, serializeNarinfo } from './narinfo.ts';

const fixtures = join(import.meta.dirname, '..', 'test', 'fixtures');

describe('parseNarinfo / serializeNarinfo', () => {
  it('round-trips every narinfo Nix wrote for the fixture caches byte for byte', async () => {
    const fx = await nixFixtures();
    let seen = 0;
    for (const dir of Object.values(fx.caches)) {
      for (const name of (await readdir(dir)).filter((n) => n.endsWith('.narinfo'))) {
        const text = await readFile(join(dir, name), 'utf8');
        const info = parseNarinfo(text);
        expect(info.storePath.slice(11, 43)).toBe(name.slice(0, 32));
        expect(serializeNarinfo(info)).toBe(text);
        seen++;
      }
    }
    expect(seen).toBe(16);
  });

  it('round-trips cache.nixos.org narinfos', async () => {
    for (const name of ['hello-2.10', 'curl-7.82.0-bin']) {
      const text = await readFile(join(fixtures, `${name}.narinfo`), 'utf8');
      expect(serializeNarinfo(parseNarinfo(text))).toBe(text);
    }
  });

  it('parses every field and normalises hex, base64 and SRI hashes to nix32', async () => {
    const text = await readFile(join(fixtures, 'curl-7.82.0-bin.narinfo'), 'utf8');
    const base = parseNarinfo(text);
    expect(base).toMatchObject({
      storePath: '/nix/store/syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7.82.0-bin',
      url: 'nar/05ra3y72i3qjri7xskf9qj8kb29r6naqy1sqpbs3azi3xcigmj56.nar.xz',
      compression: 'xz',
      fileSize: 68852,
      narSize: 196040,
      deriver: '5rwxzi7pal3qhpsyfc16gzkh939q1np6-curl-7.82.0.drv',
    });
    expect(base.references).toHaveLength(4);
    expect(base.sigs).toHaveLength(1);
    const digest = Buffer.from(nix32Decode(base.narHash.slice(7)));
    for (const spelling of [`sha256:${digest.toString('hex')}`, `sha256:${digest.toString('base64')}`, `sha256-${digest.toString('base64')}`]) {
      expect(parseNarinfo(text.replace(base.narHash, spelling)).narHash).toBe(base.narHash);
    }
  });

  it('defaults Compression to bzip2, ignores unknown keys, keeps CA, System and several Sigs', () => {
    const info = parseNarinfo(
      [
        'StorePath: /nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-x',
        'URL: nar/x.nar.bz2',
        'NarHash: sha256:1a5975lzcs7pqk45xizjs378xf2jllrapjnl99d7df33jkvjjamd',
        'NarSize: 12',
        'References: ',
        'Deriver: unknown-deriver',
        'IpfsCid: Qmf8NfV2hnq44RoQw9vxmSpGYTwAovA8FUCxeCJCqmXeNN',
        'CA: fixed:r:sha256:1a5975lzcs7pqk45xizjs378xf2jllrapjnl99d7df33jkvjjamd',
        'System: x86_64-linux',
        'Sig: a:AAAA',
        'Sig: b:BBBB',
        '',
      ].join('\n'),
    );
    expect(info.compression).toBe('bzip2');
    expect(info.references).toEqual([]);
    expect(info.deriver).toBeUndefined();
    expect(info.ca).toBe('fixed:r:sha256:1a5975lzcs7pqk45xizjs378xf2jllrapjnl99d7df33jkvjjamd');
    expect(info.system).toBe('x86_64-linux');
    expect(info.sigs).toEqual(['a:AAAA', 'b:BBBB']);
    expect(info.fileHash).toBeUndefined();
  });

  it.each([
    ['a missing NarHash', 'StorePath: /nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-x\nURL: u\nNarSize: 1\n'],
    ['a bad NarSize', 'StorePath: /nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-x\nURL: u\nNarHash: sha256:1a5975lzcs7pqk45xizjs378xf2jllrapjnl99d7df33jkvjjamd\nNarSize: -1\n'],
    ['a bad StorePath', 'StorePath: /tmp/x\nURL: u\nNarHash: sha256:1a5975lzcs7pqk45xizjs378xf2jllrapjnl99d7df33jkvjjamd\nNarSize: 1\n'],
    ['a bad reference', 'StorePath: /nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-x\nURL: u\nNarHash: sha256:1a5975lzcs7pqk45xizjs378xf2jllrapjnl99d7df33jkvjjamd\nNarSize: 1\nReferences: ../../etc\n'],
    ['a line without a colon', '<html>\n'],
    ['a duplicate key', 'URL: a\nURL: b\n'],
  ])('rejects %s with FLOXK8S_NARINFO_INVALID', (_why, text) => {
    expect(() => parseNarinfo(text)).toThrow(expect.objectContaining({ code: 'FLOXK8S_NARINFO_INVALID' }));
  });
});

describe('parseNixCacheInfo', () => {
  it('reads StoreDir, WantMassQuery and Priority with Nix defaults', async () => {
    const fx = await nixFixtures();
    expect(parseNixCacheInfo(await readFile(join(fx.caches.zstd, 'nix-cache-info'), 'utf8')).storeDir).toBe('/nix/store');
    expect(parseNixCacheInfo('StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\nFoo: bar\n')).toEqual({
      storeDir: '/nix/store',
      wantMassQuery: true,
      priority: 40,
    });
    expect(parseNixCacheInfo('').priority).toBe(50);
    expect(() => parseNixCacheInfo('Priority: high\n')).toThrow(expect.objectContaining({ code: 'FLOXK8S_NARINFO_INVALID' }));
  });
});
