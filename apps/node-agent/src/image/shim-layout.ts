import { mkdtemp, readdir, readFile, rm, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installLayout } from '@flox-k8s/shim';

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
 * The shim's install layout for `<installDir>/shim` on the host, built in `dest` (a staging
 * directory the installer copies from). The layout bakes absolute paths into its sh fronts, so it is
 * built under a scratch root and the scratch prefix is taken out of the files afterwards.
 * `patchServiceDir` must match the agent config's (both default to /run/flox-k8s/patcher).
 */
export async function buildShimLayout(installDir: string, dest: string, options: { patchServiceDir?: string } = {}): Promise<string> {
  const scratch = await mkdtemp(join(tmpdir(), 'flox-shim-layout-'));
  try {
    const prefix = join(scratch, installDir, 'shim');
    await installLayout({
      prefix,
      node: join(installDir, 'node', 'bin', 'node'),
      config: join(installDir, 'etc', 'config.json'),
      fromSource: true,
      // The front hands create/exec to the agent's patch service there (config patchServiceDir; default when absent).
      ...(options.patchServiceDir === undefined ? {} : { patchServiceDir: options.patchServiceDir }),
    });
    await rewriteTree(prefix, scratch, '');
    await rm(dest, { recursive: true, force: true });
    const { rename } = await import('node:fs/promises');
    await rename(prefix, dest);
    return dest;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
