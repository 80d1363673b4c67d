// Shared helpers for the benchmark scripts: timing, medians, and local test data.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
 * Build a tree of about `targetBytes` by copying real files (binaries, libraries, text) from this
 * machine, in a fixed order, so the data compresses like real store paths.
 */
export function makeTree(dest: string, targetBytes: number, sources: string[] = ['/usr/lib', '/usr/bin', '/usr/share', '/opt']): number {
  let total = 0;
  const walk = (src: string, dst: string, depth: number): void => {
    if (total >= targetBytes || depth > 12) return;
    let names: string[];
    try {
      names = readdirSync(src).sort();
    } catch {
      return;
    }
    mkdirSync(dst, { recursive: true });
    for (const name of names) {
      if (total >= targetBytes) return;
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
  for (const src of sources) walk(src, join(dest, src.replaceAll('/', '_')), 0);
  return total;
}

export function nixDumpTo(path: string, file: string): void {
  sh(`nix-store --dump '${path}' > '${file}'`);
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
