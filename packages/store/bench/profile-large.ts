// Profiling aid: serves the *large* zstd cache out of process and runs one agent-mode realise
// child with the given extra node flags (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof), into a fresh
// store under argv[2]; prints the child's JSON line.
// Usage: node --conditions=@flox-k8s/source bench/profile-large.ts <dir> <zstd|xz> [agent|shim] [node flags…]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nixLargeFixtures } from '@flox-k8s/nix-fixtures';
import { serveOutOfProcess } from './serve-out-of-process.ts';
import { FETCH_PROCESS_ENV } from '@flox-k8s/nar/process-env';
import { bundleRealiseChild } from './bundle-child.ts';

const [dir = '/dev/shm', compression = 'zstd', mode = 'agent', ...flags] = process.argv.slice(2);
const fixture = await nixLargeFixtures();
const work = mkdtempSync(join(dir, 'flox-prof-'));
const rootsFile = join(work, 'roots.json');
writeFileSync(rootsFile, JSON.stringify(fixture.roots));
// FLOXK8S_BENCH_CHILD: a child bundled earlier (bench/bundle-child.ts), to compare two builds.
const child = process.env['FLOXK8S_BENCH_CHILD'] ?? (await bundleRealiseChild(work));
const cache = await serveOutOfProcess(fixture.caches[compression as 'zstd' | 'xz']);
try {
  const r = spawnSync(process.execPath, [...flags, child, mode, join(work, 'store'), cache.url, fixture.publicKey, rootsFile], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...FETCH_PROCESS_ENV } });
  process.stdout.write(r.stdout);
} finally {
  await cache.close();
  rmSync(work, { recursive: true, force: true });
}
