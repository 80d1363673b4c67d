// Every entry of a closure as it sits in /nix/store, for a check that compares a mounted
// copy byte for byte: `files.sha256` (regular files, `sha256sum -c` format) and `tree.txt`
// (one line per entry: type, path, and the sha256 or symlink target), plus the figures the
// fixture's tests and README state.
import { createHash } from 'node:crypto';
import { lstat, open, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ClosureStats {
  paths: number;
  /** Regular files, of which `executables` have a +x bit. */
  files: number;
  executables: number;
  symlinks: number;
  directories: number;
  /** Sum of regular file sizes. */
  fileBytes: number;
  largestFile: { path: string; size: number };
}

/**
 * Writes `files.sha256` and `tree.txt` for the sorted `closure` into `dir`; returns the figures.
 * `tree.txt` lines: `d <path>`, `f <path> <sha256>`, `x <path> <sha256>` (executable), `l <path> <target>`.
 */
export async function writeClosureListing(closure: readonly string[], dir: string): Promise<ClosureStats> {
  const stats: ClosureStats = { paths: closure.length, files: 0, executables: 0, symlinks: 0, directories: 0, fileBytes: 0, largestFile: { path: '', size: -1 } };
  const sums: string[] = [];
  const tree: string[] = [];
  const visit = async (path: string): Promise<void> => {
    const st = await lstat(path);
    if (st.isSymbolicLink()) {
      stats.symlinks++;
      tree.push(`l ${path} ${await readlink(path)}`);
    } else if (st.isDirectory()) {
      stats.directories++;
      tree.push(`d ${path}`);
      for (const name of (await readdir(path)).sort()) await visit(join(path, name));
    } else {
      const executable = (st.mode & 0o111) !== 0;
      const sum = await sha256File(path);
      stats.files++;
      if (executable) stats.executables++;
      stats.fileBytes += st.size;
      if (st.size > stats.largestFile.size) stats.largestFile = { path, size: st.size };
      sums.push(`${sum}  ${path}`);
      tree.push(`${executable ? 'x' : 'f'} ${path} ${sum}`);
    }
  };
  for (const storePath of closure) await visit(storePath);
  await writeFile(join(dir, 'files.sha256'), `${sums.join('\n')}\n`);
  await writeFile(join(dir, 'tree.txt'), `${tree.join('\n')}\n`);
  return stats;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** The longest chain of references (`a` refers to `b` refers to …) in a closure's path-info, as store paths. */
export function longestReferenceChain(infos: ReadonlyArray<{ path: string; references: readonly string[] }>): string[] {
  const refs = new Map(infos.map((info) => [info.path, info.references.filter((r) => r !== info.path)]));
  const memo = new Map<string, string[]>();
  const chainFrom = (path: string): string[] => {
    const known = memo.get(path);
    if (known !== undefined) return known;
    let best: string[] = [];
    for (const next of refs.get(path) ?? []) {
      const chain = chainFrom(next);
      if (chain.length > best.length) best = chain;
    }
    const chain = [path, ...best];
    memo.set(path, chain);
    return chain;
  };
  return infos.map((info) => chainFrom(info.path)).reduce<string[]>((a, b) => (b.length > a.length ? b : a), []);
}
