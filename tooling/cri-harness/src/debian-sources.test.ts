import { describe, expect, it } from 'vitest';
import { debianMirror, parseDeb822Sources, parseOneLineSources } from './debian-sources.ts';

const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main
`;

describe('debian sources', () => {
  it('parses deb822 stanzas, ignoring comments and deb-src', () => {
    expect(parseDeb822Sources(deb822)).toEqual([
      { uri: 'http://mirror.example/debian', suites: ['bookworm', 'bookworm-updates'], components: ['main'], signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg' },
      { uri: 'http://mirror.example/debian-security', suites: ['bookworm-security'], components: ['main'] },
    ]);
  });

  it('parses one-line sources with options', () => {
    expect(parseOneLineSources('# c\ndeb [arch=amd64 signed-by=/k.gpg] https://m.example/debian bookworm main contrib\ndeb-src http://x bookworm main\n')).toEqual([
      { uri: 'https://m.example/debian', suites: ['bookworm'], components: ['main', 'contrib'], signedBy: '/k.gpg' },
    ]);
  });

  it('picks the archive mirror, not the security one or a third-party repo', () => {
    const sources = [
      { uri: 'https://deb.nodesource.com/node_20.x', suites: ['nodistro'], components: ['main'] },
      ...parseDeb822Sources(deb822).reverse(),
    ];
    expect(debianMirror(sources, 'bookworm').uri).toBe('http://mirror.example/debian');
  });

  it('fails with FLOXK8S_E2E_CONTAINERD_FETCH when no source carries the machine release', () => {
    expect(() => debianMirror(parseDeb822Sources(deb822), 'trixie')).toThrow(expect.objectContaining({ code: 'FLOXK8S_E2E_CONTAINERD_FETCH' }));
  });
});
