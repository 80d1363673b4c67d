// Scans installed Debian packages for the large fixture's planner: each package's files with
// their store destination, and for ELF files the packages that provide their DT_NEEDED
// libraries (searched as ld.so does: RUNPATH, ld.so.cache, the default directories).
import { closeSync, existsSync, lstatSync, openSync, readlinkSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { destination, type Destination } from './debian-layout.ts';
import { fileOwners, linkerCache, packagePaths, pathSpellings } from './debian-packages.ts';
import { readElfDynamic } from './elf.ts';
import { FixturePlanInvalidError } from './errors.ts';

/** A file as dpkg lists it (`listed`), where it goes, and what it needs at run time. */
export interface ScannedFile {
  deb: string;
  listed: string;
  dest: Destination;
  kind: 'file' | 'symlink';
  /** Symlinks: the target as written. */
  target?: string;
  /** ELF files: the package and listed path of each DT_NEEDED library, and whether it has an interpreter. */
  needs?: Array<{ deb: string; listed: string }>;
  interpreter?: boolean;
  /** Scripts in `bin`: the `#!` interpreter and the rest of that line. */
  script?: { interpreter: string; rest: string };
}

export interface DebianScanner {
  /** The files of `deb` that a runtime closure keeps (directories and left-out paths skipped). */
  files(deb: string): ScannedFile[];
  /** The ELF facts of a file outside dpkg (the Node binary). */
  elf(file: string): Pick<ScannedFile, 'needs' | 'interpreter'> | undefined;
  /** The package and listed path that own `path`, under any usr-merge spelling. */
  ownerOf(path: string): { deb: string; listed: string } | undefined;
}

const DEFAULT_LIBRARY_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib', '/usr/lib'];

export function debianScanner(): DebianScanner {
  const owners = fileOwners();
  const cache = linkerCache();
  const ownerOf = (path: string): { deb: string; listed: string } | undefined => {
    for (const listed of [...pathSpellings(path), ...(existsSync(path) ? pathSpellings(realpathSync(path)) : [])]) {
      const deb = owners.get(listed);
      if (deb !== undefined) return { deb, listed };
    }
    return undefined;
  };
  const resolveNeeded = (file: string, soname: string, runpath: string[]): { deb: string; listed: string } => {
    const candidates = [
      ...runpath.map((dir) => join(dir.replaceAll('$ORIGIN', dirname(file)), soname)),
      cache.get(soname),
      ...DEFAULT_LIBRARY_DIRS.map((dir) => join(dir, soname)),
    ];
    for (const candidate of candidates) {
      const owner = candidate !== undefined && existsSync(candidate) ? ownerOf(candidate) : undefined;
      if (owner !== undefined) return owner;
    }
    throw new FixturePlanInvalidError(`${file} needs ${soname}, which no installed package provides`, 'Install the package that ships it.');
  };
  const elf = (file: string): Pick<ScannedFile, 'needs' | 'interpreter'> | undefined => {
    const info = readElfDynamic(file);
    if (info === undefined || (info.interpreter === undefined && info.needed.length === 0)) return undefined;
    return { needs: info.needed.map((soname) => resolveNeeded(file, soname, info.runpath)), interpreter: info.interpreter !== undefined };
  };
  const files = (deb: string): ScannedFile[] => {
    const listed = packagePaths(deb);
    // dpkg lists directories too: a path with listed children is one.
    const parents = new Set<string>();
    for (const path of listed) for (let p = dirname(path); p !== '/' && !parents.has(p); p = dirname(p)) parents.add(p);
    const out: ScannedFile[] = [];
    for (const path of listed) {
      const dest = parents.has(path) ? undefined : destination(path);
      if (dest === undefined) continue;
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue; // dpkg listed it, the image left it out (e.g. a path-exclude)
      }
      if (st.isSymbolicLink()) out.push({ deb, listed: path, dest, kind: 'symlink', target: readlinkSync(path) });
      else if (st.isFile() && statSync(path).isFile()) {
        out.push({ deb, listed: path, dest, kind: 'file', ...elf(path), ...(dest.output === 'bin' ? scriptOf(path) : {}) });
      }
    }
    return out;
  };
  return { files, elf, ownerOf };
}

function scriptOf(path: string): Pick<ScannedFile, 'script'> {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(256);
    const line = head.subarray(0, readSync(fd, head, 0, 256, 0)).toString('latin1').split('\n')[0] ?? '';
    const m = /^#!\s*(\S+)(.*)$/.exec(line);
    return m === null ? {} : { script: { interpreter: m[1]!, rest: m[2]! } };
  } finally {
    closeSync(fd);
  }
}
