import { describe, expect, test } from 'vitest';
import { parseDrvName } from './drv-name.ts';

describe('parseDrvName splits as Nix does: at the first "-" not followed by a letter', () => {
  test.each([
    // Nix's own examples (libexpr names.cc comment, tests/lang parseDrvName, the manual).
    ['apache-httpd-2.0.48', 'apache-httpd', '2.0.48'],
    ['nix-0.12pre12876', 'nix', '0.12pre12876'],
    ['ripgrep-1.2', 'ripgrep', '1.2'],
    ['rip-grep-1.2', 'rip-grep', '1.2'],
    ['7zip_archiver-0.2', '7zip_archiver', '0.2'],
    ['gcc-1-2', 'gcc', '1-2'],
    ['bash--1-2', 'bash', '-1-2'],
    ['xvidtune-?1-2', 'xvidtune', '?1-2'],
    // Store path names as they come.
    ['python3.13-anthropic-0.62.0-dist', 'python3.13-anthropic', '0.62.0-dist'],
    ['glibc-2.40-66-bin', 'glibc', '2.40-66-bin'],
    ['hello', 'hello', ''],
    ['source', 'source', ''],
    ['a-', 'a-', ''],
    ['-1.0', '', '1.0'],
    ['x-_y', 'x', '_y'],
  ])('%s → (%s, %s)', (input, name, version) => {
    expect(parseDrvName(input)).toEqual({ name, version });
  });
});
