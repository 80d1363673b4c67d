// The machine's Debian packages as the large fixture's planner needs them: which files a
// package installed, which package owns a file, which source package it was built from,
// and where the dynamic linker finds a soname. Read from dpkg's database and ld.so.cache.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FixtureInputMissingError } from './errors.ts';

export interface DebianPackage {
  /** Binary package name without the architecture (`libc6`). */
  name: string;
  version: string;
  /** Source package (`glibc`) and its version. */
  source: string;
  sourceVersion: string;
}

const DPKG_INFO = '/var/lib/dpkg/info';

/** Every installed package (status `ii`), by name. */
export function installedPackages(): Map<string, DebianPackage> {
  const text = execFileSync(
    'dpkg-query',
    ['-W', '-f', '${binary:Package}\\t${Version}\\t${source:Package}\\t${source:Version}\\t${db:Status-Abbrev}\\n'],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const out = new Map<string, DebianPackage>();
  for (const line of text.split('\n')) {
    const [binary, version, source, sourceVersion, status] = line.split('\t');
    if (binary === undefined || version === undefined || source === undefined || sourceVersion === undefined) continue;
    if (status?.trim() !== 'ii') continue;
    const name = binary.replace(/:[a-z0-9]+$/, '');
    out.set(name, { name, version, source: source || name, sourceVersion: sourceVersion || version });
  }
  return out;
}

/** The paths dpkg recorded for `pkg` (files, symlinks and directories, as listed). */
export function packagePaths(pkg: string): string[] {
  for (const name of [`${pkg}:amd64.list`, `${pkg}.list`]) {
    try {
      return readFileSync(join(DPKG_INFO, name), 'utf8').split('\n').filter((line) => line !== '' && line !== '/.');
    } catch {
      // try the other spelling
    }
  }
  throw new FixtureInputMissingError(`the dpkg file list of package ${pkg}`, join(DPKG_INFO, `${pkg}.list`), `Install it: apt-get install ${pkg}.`);
}

// Debian 12 is usr-merged: /lib is /usr/lib on disk, while dpkg lists a file under
// whichever of the two the package shipped it.
const ALIASES: Array<[string, string]> = [
  ['/lib/', '/usr/lib/'],
  ['/bin/', '/usr/bin/'],
  ['/sbin/', '/usr/sbin/'],
  ['/lib64/', '/usr/lib64/'],
];

/** The spellings under which dpkg may list `path`. */
export function pathSpellings(path: string): string[] {
  const out = [path];
  for (const [short, long] of ALIASES) {
    if (path.startsWith(short)) out.push(long + path.slice(short.length));
    if (path.startsWith(long)) out.push(short + path.slice(long.length));
  }
  return out;
}

/** path (as dpkg lists it) → owning package, over every installed package. */
export function fileOwners(): Map<string, string> {
  const owners = new Map<string, string>();
  for (const name of readdirSync(DPKG_INFO)) {
    if (!name.endsWith('.list')) continue;
    const pkg = name.slice(0, -'.list'.length).replace(/:[a-z0-9]+$/, '');
    for (const line of readFileSync(join(DPKG_INFO, name), 'utf8').split('\n')) if (line !== '') owners.set(line, pkg);
  }
  return owners;
}

/** soname → path for x86-64 libraries in the dynamic linker's cache (`ldconfig -p`). */
export function linkerCache(): Map<string, string> {
  const text = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s+(\S+) \(([^)]*)\) => (\S+)$/.exec(line);
    if (m && m[2]?.includes('x86-64') && !out.has(m[1]!)) out.set(m[1]!, m[3]!);
  }
  return out;
}

/** The upstream part of a Debian version, as a store-path version: `1:2.36-9+deb12u14` → `2.36`, `2025b-0+deb12u2` → `2025b`. */
export function upstreamVersion(debianVersion: string): string {
  const noEpoch = debianVersion.replace(/^\d+:/, '');
  const noRevision = noEpoch.includes('-') ? noEpoch.slice(0, noEpoch.lastIndexOf('-')) : noEpoch;
  // Repacked sources carry a marker (`1.2.13.dfsg`, `2.1.9+ds1`): not part of the version.
  return /^[0-9][0-9A-Za-z.]*/.exec(noRevision)?.[0]?.replace(/\.(?:dfsg|ds|repack)\d*$/, '').replace(/\.$/, '') ?? noRevision;
}
