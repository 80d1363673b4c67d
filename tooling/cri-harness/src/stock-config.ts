import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ContainerdBinaries } from './binaries.ts';
import type { ContainerdPaths } from './config.ts';

const run = promisify(execFile);

/** Which key of which table to set, in whatever quoting style the stock file uses. */
interface Rewrite {
  table: string;
  key: string;
  value: string | boolean;
}

const normaliseHeader = (h: string): string => h.replace(/'/g, '"').replace(/\s+/g, '');

/**
 * Rewrite `key = …` lines of a TOML file by table, keeping everything else (comments, order,
 * quoting) as it was. `table` is written with double quotes (`plugins."io.containerd.grpc.v1.cri"`),
 * `''` for the top level.
 */
export function rewriteTomlKeys(text: string, rewrites: readonly Rewrite[]): string {
  let table = '';
  return text
    .split('\n')
    .map((line) => {
      const header = /^\s*\[([^[\]]+)\]\s*$/.exec(line);
      if (header) {
        table = normaliseHeader(header[1]!);
        return line;
      }
      const kv = /^(\s*)([A-Za-z0-9_-]+)(\s*=\s*)(.*)$/.exec(line);
      if (!kv) return line;
      const hit = rewrites.find((r) => normaliseHeader(r.table) === table && r.key === kv[2]);
      if (!hit) return line;
      return `${kv[1]}${kv[2]}${kv[3]}${typeof hit.value === 'string' ? JSON.stringify(hit.value) : String(hit.value)}`;
    })
    .join('\n');
}

/**
 * containerd's own `config default` output for this version (v2 format for 1.6/1.7, v3 for 2.x),
 * with only what must differ on a shared test machine changed: root, state, socket, opt dir,
 * sandbox image, NRI off, `restrict_oom_score_adj = true`. For installer tests that must meet a
 * config as a node would have it.
 */
export async function stockContainerdConfig(binaries: ContainerdBinaries, paths: ContainerdPaths, sandboxImage: string): Promise<string> {
  const { stdout } = await run(binaries.containerd, ['config', 'default'], { timeout: 30_000, maxBuffer: 4 << 20 });
  const v3 = /^version\s*=\s*3/m.test(stdout);
  const cri = v3 ? 'plugins."io.containerd.cri.v1.runtime"' : 'plugins."io.containerd.grpc.v1.cri"';
  return rewriteTomlKeys(stdout, [
    { table: '', key: 'root', value: paths.root },
    { table: '', key: 'state', value: paths.state },
    { table: 'grpc', key: 'address', value: paths.socket },
    { table: 'ttrpc', key: 'address', value: `${paths.socket}.ttrpc` },
    { table: 'plugins."io.containerd.internal.v1.opt"', key: 'path', value: join(paths.dir, 'opt') },
    { table: 'plugins."io.containerd.grpc.v1.cri"', key: 'sandbox_image', value: sandboxImage },
    { table: 'plugins."io.containerd.cri.v1.images".pinned_images', key: 'sandbox', value: sandboxImage },
    { table: cri, key: 'restrict_oom_score_adj', value: true },
    { table: 'plugins."io.containerd.nri.v1.nri"', key: 'disable', value: true },
    { table: 'plugins."io.containerd.nri.v1.nri"', key: 'socket_path', value: join(paths.dir, 'nri.sock') },
  ]);
}
