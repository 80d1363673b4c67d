import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { runNix } from '@flox-k8s/nix-fixtures';

// The cache server runs in its own process: in-process it would steal the
// measured client's event loop (Nix's client gets a separate process too).
// By default it answers from memory, as a cache's own machine would, and costs the client's cores
// little; FLOXK8S_BENCH_SERVER=files streams every file from disk instead (~2.5 ms of CPU per MB).
export async function serveOutOfProcess(dir: string): Promise<{ url: string; pid: number; close: () => Promise<void> }> {
  const mode = process.env['FLOXK8S_BENCH_SERVER'] ?? 'memory';
  const child = spawn(process.execPath, ['--conditions=@flox-k8s/source', join(import.meta.dirname, 'serve-cache-process.ts'), dir, mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`cache server exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        child.on('exit', () => resolve());
        child.stdin.end();
      }),
  };
}


/** `nix copy` of `paths` from a binary cache URL into a fresh local store at `to`, verifying signatures against `key`. */
export async function nixCopy(url: string, to: string, key: string, paths: string[], xdgCache: string): Promise<void> {
  // A fresh XDG cache: Nix must not answer narinfo lookups from its sqlite cache of an earlier run.
  await runNix('nix', ['copy', '--from', url, '--to', to, '--option', 'trusted-public-keys', key, ...paths], {
    env: { HOME: xdgCache, XDG_CACHE_HOME: xdgCache },
  });
}
