// Builds store state directly (directories + metadata records), as a realise
// would have left it, without downloading anything: for the warm-realise and
// GC benchmarks, which measure the store's own bookkeeping.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nix32Encode } from '@flox-k8s/nar';

export function syntheticPath(i: number, prefix = 'bench'): string {
  const hash = nix32Encode(createHash('sha256').update(`${prefix}-${i}`).digest().subarray(0, 20));
  return `/nix/store/${hash}-${prefix}-${i}`;
}

/** Writes `count` paths; `references(i)` lists the indices path i references. */
export function writeSyntheticStore(root: string, count: number, references: (i: number) => number[], prefix = 'bench'): string[] {
  for (const dir of ['store', 'meta', 'tmp', 'locks', 'roots/leases', 'roots/pins', 'roots/inflight', 'profiles', 'closures']) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  const paths = Array.from({ length: count }, (_, i) => syntheticPath(i, prefix));
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const path = paths[i] as string;
    const base = path.slice(11);
    mkdirSync(join(root, 'store', base));
    writeFileSync(join(root, 'store', base, 'file'), `content of ${base}\n`);
    // The record format of src/metadata.ts, written without fsync (setup speed only).
    writeFileSync(
      join(root, 'meta', `${base}.json`),
      JSON.stringify({
        version: 1,
        storePath: path,
        // Not the real hash: these benchmarks never verify.
        narHash: 'sha256:0000000000000000000000000000000000000000000000000000',
        narSize: 4096,
        references: references(i).map((j) => paths[j] as string).sort(),
        registrationTime: now - (count - i) * 1000,
      }),
    );
  }
  return paths;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
