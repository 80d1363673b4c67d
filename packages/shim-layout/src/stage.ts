import { lstat, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installLayout, type InstallLayoutOptions } from './layout.ts';

async function rewriteTree(dir: string, from: string, to: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const st = await lstat(path);
    if (st.isDirectory()) await rewriteTree(path, from, to);
    else if (st.isFile()) {
      const text = await readFile(path, 'utf8');
      if (text.includes(from)) await writeFile(path, text.replaceAll(from, to), { mode: st.mode & 0o7777 });
    }
  }
}

/**
 * A layout for `options.prefix` (a path on another machine: the host the node agent
 * installs on), written to the staging directory `dest` here. The layout bakes absolute
 * paths into its sh fronts, so it is built under a scratch root and the scratch prefix is
 * taken out of the files afterwards.
 */
export async function stageLayout(options: InstallLayoutOptions, dest: string): Promise<string> {
  const scratch = await mkdtemp(join(tmpdir(), 'flox-shim-layout-'));
  try {
    const prefix = join(scratch, options.prefix);
    await installLayout({ ...options, prefix });
    await rewriteTree(prefix, scratch, '');
    await rm(dest, { recursive: true, force: true });
    await rename(prefix, dest);
    return dest;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
