import { readdir, readFile, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PIDs of processes started under a private containerd: their argv names `dir` (shims) or their root lies inside it (containers). */
export async function processesUnder(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const root = await readlink(`/proc/${pid}/root`).catch(() => '');
    if (cmdline.includes(`${dir}/`) || root.startsWith(`${dir}/`)) out.push(pid);
  }
  return out;
}

/** SIGKILL each PID (they are ours: found under our private dir). */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Mount points at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points = text
    .split('\n')
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Lazily unmount everything below `dir` so it can be removed even while a straggler holds a file. */
export async function unmountAll(dir: string): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const points = await mountsUnder(dir);
    if (points.length === 0) return;
    for (const p of points) await run('umount', ['-l', p], { timeout: 10_000 }).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove private containerd dirs (`<parent>/<prefix>*`) left by runs that died without `stop()`:
 * only those whose recorded containerd PID is gone. Their shims and containers are killed by PID.
 */
export async function sweepStaleDirs(parent: string, prefix: string): Promise<string[]> {
  const swept: string[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(parent, name);
    const pid = Number.parseInt(await readFile(join(dir, 'containerd.pid'), 'utf8').catch(() => ''), 10);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    killAll(await processesUnder(dir));
    await unmountAll(dir);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    swept.push(dir);
  }
  return swept;
}
