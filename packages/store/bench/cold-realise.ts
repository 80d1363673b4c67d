// Cold realise of a ≥ 50-path, ≥ 200 MB closure from a loopback HTTP cache,
// ours vs real Nix 2.8 substituting the same closure from the same cache into
// a fresh store, alternating, in the same run, for xz and zstd.
// Target: ours ≤ 0.67× Nix's wall time.
// Run: node --conditions=@flox-k8s/source bench/cold-realise.ts [runs=3] [dir=/tmp]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nixBenchFixtures } from '@flox-k8s/nix-fixtures';
import { Store } from '../src/index.ts';
import { median } from './synthetic.ts';

const RUNS = Number(process.argv[2] ?? 3);
const parent = process.argv[3] ?? '/tmp';
const TARGET = 0.67;

function nixCopy(url: string, to: string, key: string, paths: string[], xdgCache: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'nix',
      ['--extra-experimental-features', 'nix-command', 'copy', '--from', url, '--to', to, '--option', 'trusted-public-keys', key, ...paths],
      // A fresh XDG cache: Nix must not answer narinfo lookups from its sqlite cache of an earlier run.
      { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: xdgCache, XDG_CACHE_HOME: xdgCache }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nix copy failed (${code}): ${stderr}`))));
  });
}

// The cache server runs in its own process: in-process it would steal the
// measured client's event loop (Nix's client gets a separate process too).
async function serveOutOfProcess(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--conditions=@flox-k8s/source', join(import.meta.dirname, 'serve-cache-process.ts'), dir], {
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
    close: () =>
      new Promise<void>((resolve) => {
        child.on('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

const bf = await nixBenchFixtures();
console.log(`closure: ${bf.closure.length} paths, ${(bf.narSize / 1e6).toFixed(0)} MB of NAR; stores under ${parent}; ${RUNS} runs each`);
const work = mkdtempSync(join(parent, 'flox-bench-cold-'));
try {
  for (const compression of ['xz', 'zstd'] as const) {
    const cache = await serveOutOfProcess(bf.caches[compression]);
    const ours: number[] = [];
    const oursNoFsync: number[] = [];
    const nix: number[] = [];
    try {
      for (let run = 0; run < RUNS; run++) {
        for (const fsync of [true, false]) {
          const root = join(work, `ours-${compression}-${run}-${fsync}`);
          const t0 = performance.now();
          const store = await Store.open(root, { fsync });
          const r = await store.realise(bf.roots, { caches: [{ url: cache.url }], trustedKeys: [bf.publicKey] });
          (fsync ? ours : oursNoFsync).push(performance.now() - t0);
          if (r.fetched.length !== bf.closure.length) throw new Error(`fetched ${r.fetched.length} of ${bf.closure.length}`);
          if (run === RUNS - 1 && fsync) console.log(`  ${compression} durations of the last run:`, JSON.stringify(r.durations));
          rmSync(root, { recursive: true, force: true });
        }
        const to = join(work, `nix-${compression}-${run}`);
        const xdg = join(work, `xdg-${compression}-${run}`);
        mkdirSync(xdg);
        const t1 = performance.now();
        await nixCopy(cache.url, to, bf.publicKey, bf.roots, xdg);
        nix.push(performance.now() - t1);
        rmSync(to, { recursive: true, force: true });
      }
    } finally {
      await cache.close();
    }
    const [o, of, n] = [median(ours), median(oursNoFsync), median(nix)];
    const fmt = (xs: number[]): string => xs.map((x) => (x / 1000).toFixed(2)).join(', ');
    console.log(`${compression}: ours (fsync) median ${(o / 1000).toFixed(2)} s [${fmt(ours)}]`);
    console.log(`${compression}: ours (no fsync) median ${(of / 1000).toFixed(2)} s [${fmt(oursNoFsync)}]`);
    console.log(`${compression}: nix copy median ${(n / 1000).toFixed(2)} s [${fmt(nix)}]`);
    console.log(`${compression}: ratio ours/nix = ${(o / n).toFixed(2)} (fsync), ${(of / n).toFixed(2)} (no fsync); target <= ${TARGET} ${o / n <= TARGET ? '(ok)' : '(OVER)'}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
