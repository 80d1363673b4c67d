// Shared helpers for the benchmark scripts: timing, medians, and local test data.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { copyFileSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixShellCommand } from '@flox-k8s/nix-fixtures';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Wall and CPU (user + system, all threads) seconds of one run. */
export interface Timing {
  wall: number;
  cpu: number;
}

/** Time an in-process function. */
export async function timeFn(fn: () => Promise<void> | void): Promise<Timing> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const d = process.cpuUsage(c);
  return { wall: (performance.now() - t) / 1000, cpu: (d.user + d.system) / 1e6 };
}

/** Time a shell pipeline with /usr/bin/time (CPU of every process in it). */
export function timeShell(script: string): Timing {
  const out = join(tmpdir(), `nar-bench-time-${process.pid}`);
  sh(`/usr/bin/time -f '%e %U %S' -o '${out}' sh -c "${script.replaceAll('"', '\\"')}"`);
  const [wall, user, system] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(out, { force: true });
  return { wall: wall!, cpu: user! + system! };
}

/**
 * Times shell pipelines from a long-lived helper shell: bash's EPOCHREALTIME and `times` give
 * microsecond wall and millisecond CPU figures (/usr/bin/time's are 10 ms, an eighth of a 0.08 s
 * nix-store run), and the calling process never forks. A fork write-protects every page of the
 * forking process (copy on write), and the next run then takes a page fault on each 4 KiB page it
 * writes again (1.5-2.3 us each on this VM, 16k per 64 MB), which no process that does not fork pays.
 */
export class ShellTimer {
  readonly #shell = spawn('bash', ['--norc', '--noprofile'], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LC_ALL: 'C' } });
  readonly #lines = createInterface({ input: this.#shell.stdout })[Symbol.asyncIterator]();
  #childCpu = 0;

  async #line(): Promise<string> {
    const r = await this.#lines.next();
    if (r.done === true) throw new Error('the timing shell exited');
    return r.value as string;
  }

  async time(script: string): Promise<Timing> {
    const quoted = `'${script.replaceAll("'", "'\\''")}'`;
    this.#shell.stdin.write(`s=$EPOCHREALTIME; sh -c ${quoted} > /dev/null; rc=$?; e=$EPOCHREALTIME; echo "$rc $s $e"; times\n`);
    const [rc, start, end] = (await this.#line()).split(' ');
    await this.#line(); // the shell's own CPU
    // Children's cumulative user and system time, as `0m0.042s 0m0.050s`.
    const cumulative = (await this.#line())
      .split(' ')
      .map((t) => /^(\d+)m([\d.]+)s$/.exec(t))
      .reduce((sum, m) => sum + Number(m?.[1]) * 60 + Number(m?.[2]), 0);
    if (rc !== '0') throw new Error(`command failed (${rc}): ${script}`);
    const cpu = cumulative - this.#childCpu;
    this.#childCpu = cumulative;
    return { wall: Number(end) - Number(start), cpu };
  }

  close(): void {
    this.#shell.stdin.end();
  }
}

/** Run `fn` `runs` times (after `prepare` each time, untimed). */
export async function timeRuns(runs: number, fn: () => Promise<Timing> | Timing, prepare?: () => Promise<void> | void): Promise<Timing[]> {
  const out: Timing[] = [];
  for (let i = 0; i < runs; i++) {
    await prepare?.();
    out.push(await fn());
  }
  return out;
}

export function medians(ts: Timing[]): Timing {
  return { wall: median(ts.map((t) => t.wall)), cpu: median(ts.map((t) => t.cpu)) };
}

/** Run a shell pipeline, failing loudly. */
export function sh(script: string): void {
  const r = spawnSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`command failed (${r.status}): ${script}`);
}

export function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/**
 * Where bench trees come from, with each source's share of the bytes. Shaped like a real package
 * closure: a real Nix closure (this machine's /nix/store), shared libraries, an interpreter's many
 * small modules, headers (a dev output), a Node.js install and data files. Trees built only from
 * /usr/lib are dominated by a few huge files (10 files held 85% of a 643 MB NAR), which hides the
 * per-file costs every real closure pays.
 */
export const closureSources: ReadonlyArray<readonly [string, number]> = [
  ['/nix/store', 0.3],
  ['/usr/lib/x86_64-linux-gnu', 0.3],
  ['/usr/lib/python3.11', 0.06],
  ['/usr/lib/python3', 0.06],
  ['/usr/include', 0.1],
  ['/opt/node24', 0.1],
  ['/usr/share', 0.08],
];

/** The old default: /usr/lib first (then the others only to make up a shortfall), so a few huge files dominate (kept to compare with earlier figures). */
export const usrSources: ReadonlyArray<readonly [string, number]> = [['/usr/lib', 1], ['/usr/bin', 0], ['/usr/share', 0], ['/opt', 0]];

/** `--tree closure` (default) or `--tree usr`. */
export function treeSources(): ReadonlyArray<readonly [string, number]> {
  return option('tree', 'closure') === 'usr' ? usrSources : closureSources;
}

/**
 * Build a tree of about `targetBytes` by copying real files (binaries, libraries, text) from this
 * machine, in a fixed order, so the data compresses like real store paths. Each source contributes
 * up to its share of `targetBytes`; what a source lacks is taken from the next ones.
 */
export function makeTree(dest: string, targetBytes: number, sources: ReadonlyArray<readonly [string, number]> = treeSources()): number {
  let total = 0;
  let budget = 0;
  const walk = (src: string, dst: string, depth: number): void => {
    if (total >= budget || depth > 12) return;
    let names: string[];
    try {
      names = readdirSync(src).sort();
    } catch {
      return;
    }
    mkdirSync(dst, { recursive: true });
    for (const name of names) {
      if (total >= budget) return;
      const s = join(src, name);
      const d = join(dst, name);
      const st = lstatSync(s, { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isDirectory()) walk(s, d, depth + 1);
      else if (st.isSymbolicLink()) symlinkSync(readlinkSync(s), d);
      else if (st.isFile()) {
        try {
          copyFileSync(s, d);
          total += st.size;
        } catch {
          // unreadable files are skipped
        }
      }
    }
  };
  const shares = sources.reduce((a, [, share]) => a + share, 0);
  for (const [src, share] of sources) {
    budget = Math.min(targetBytes, budget + (targetBytes * share) / shares);
    walk(src, join(dest, src.replaceAll('/', '_')), 0);
  }
  // Fill up from the sources again if they had less than their share.
  budget = targetBytes;
  for (const [src] of sources) walk(src, join(dest, `${src.replaceAll('/', '_')}-more`), 0);
  return total;
}

/** File-size distribution of a tree: what dominates the cost of unpacking it. */
export function treeDistribution(root: string): string {
  const sizes: number[] = [];
  let dirs = 0;
  let symlinks = 0;
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isDirectory()) {
      dirs++;
      for (const name of readdirSync(p)) walk(join(p, name));
    } else if (st.isSymbolicLink()) symlinks++;
    else sizes.push(st.size);
  };
  walk(root);
  sizes.sort((a, b) => a - b);
  const total = sizes.reduce((a, b) => a + b, 0);
  const at = (q: number): number => sizes[Math.floor(q * (sizes.length - 1))] ?? 0;
  const buckets: Array<[string, number, number]> = [
    ['< 4 KiB', 0, 4096],
    ['4-64 KiB', 4096, 65536],
    ['64 KiB-1 MiB', 65536, 1 << 20],
    ['1-16 MiB', 1 << 20, 16 << 20],
    ['>= 16 MiB', 16 << 20, Infinity],
  ];
  const parts = buckets.map(([name, lo, hi]) => {
    const inside = sizes.filter((s) => s >= lo && s < hi);
    return `${name}: ${inside.length} files ${mb(inside.reduce((a, b) => a + b, 0))}`;
  });
  return (
    `${sizes.length} files, ${dirs} directories, ${symlinks} symlinks, ${mb(total)}; file size median ${at(0.5)} B, p90 ${at(0.9)} B, max ${at(1)} B\n` +
    `  by size: ${parts.join('; ')}`
  );
}

export function nixDumpTo(path: string, file: string): void {
  sh(`${nixShellCommand('nix-store', ['--dump', path])} > '${file}'`);
}

export function bytesOf(file: string): number {
  return lstatSync(file).size;
}

export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function loadAverage(): string {
  return execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
}
