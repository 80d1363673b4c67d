// Shared test helpers: temp roots, the real-Nix fixture caches served over
// loopback HTTP, and store paths placed directly (for GC/verify tests that
// need thousands of paths without a cache).
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { dumpNar, hashNar, nix32Encode } from '@flox-k8s/nar';
import {
  NixCommandError,
  nixFixtures,
  runNixSync,
  serveCache,
  type NixFixtures,
  type ServeCacheOptions,
  type ServedCache,
} from '@flox-k8s/nix-fixtures';
import { expect } from 'vitest';
import { removeTreeSync } from '../src/fs-util.ts';
import { writePathInfo } from '../src/metadata.ts';
import type { RealiseOptions } from '../src/realise.ts';
import type { Store } from '../src/store.ts';

/** Locks held in a store root (its `locks/` also holds the owner links of live processes, which are no locks). */
export function heldLocks(root: string): string[] {
  return readdirSync(join(root, 'locks')).filter((n) => n.endsWith('.lock'));
}

/** A throwaway directory; remove it with `cleanup`. */
export function tempDir(prefix = 'flox-store-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function cleanup(dir: string): void {
  removeTreeSync(dir);
}

/** The fixtures plus one served cache. */
export async function servedFixtures(
  compression: keyof NixFixtures['caches'] = 'zstd',
  opts: ServeCacheOptions = {},
): Promise<{ fx: NixFixtures; cache: ServedCache; realiseOptions: { caches: Array<{ url: string }>; trustedKeys: string[] } }> {
  const fx = await nixFixtures();
  const cache = await serveCache(fx.caches[compression], opts);
  return { fx, cache, realiseOptions: { caches: [{ url: cache.url }], trustedKeys: [fx.publicKey] } };
}

/** A syntactically valid store path for `name` whose hash derives from `seed`. */
export function fakeStorePath(name: string, seed: string = name): string {
  const digest = createHash('sha256').update(seed).digest().subarray(0, 20);
  return `/nix/store/${nix32Encode(digest)}-${name}`;
}

/**
 * Puts a path with one file of `size` bytes straight into a store root, with
 * correct metadata (the NarHash of what was written), as realise would.
 */
export async function placePath(
  root: string,
  storePath: string,
  opts: { references?: string[]; size?: number; lastUse?: number } = {},
): Promise<void> {
  const base = storePath.slice('/nix/store/'.length);
  const staging = join(root, 'tmp', `staging-${base}`);
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'file'), Buffer.alloc(opts.size ?? 16, base));
  const { narHash, narSize } = await hashNar(dumpNar(staging));
  writePathInfo(
    join(root, 'meta'),
    base,
    { storePath, narHash, narSize, references: [...(opts.references ?? [])].sort(), registrationTime: opts.lastUse ?? Date.now(), rootType: 'directory' },
    'test',
  );
  renameSync(staging, join(root, 'store', base));
}

/** A profile tree as sorted `(path, kind, target)` rows, for comparing with Nix's. */
export function profileTree(dir: string, ignore: (rel: string) => boolean = () => false): string[] {
  const rows: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (ignore(r)) continue;
      const st = lstatSync(join(dir, r));
      if (st.isSymbolicLink()) rows.push(`${r} -> ${readlinkSync(join(dir, r))}`);
      else if (st.isDirectory()) {
        rows.push(`${r}/`);
        walk(r);
      } else rows.push(`${r} (file)`);
    }
  };
  walk('');
  return rows;
}

/** Runs `nix-env` through the fixtures' Nix helper; a failure comes back as its stderr (never throws for a Nix error). */
function nixEnv(args: string[]): { ok: boolean; stderr: string } {
  try {
    runNixSync('nix-env', args, { timeoutMs: 120_000 });
    return { ok: true, stderr: '' };
  } catch (error) {
    if (error instanceof NixCommandError) return { ok: false, stderr: error.stderr };
    throw error;
  }
}

/** Adds a directory to the host Nix store (`nix-store --add`) and returns its store path. */
export function nixAdd(dir: string): string {
  return runNixSync('nix-store', ['--add', dir], { timeoutMs: 60_000 }).trim();
}

/**
 * Builds a Nix profile with `nix-env -i` (Nix's builtin buildenv); returns its
 * resolved directory, or the failure. Packages with a non-default priority are
 * installed first, one at a time, each followed by `--set-flag priority`, so no
 * intermediate generation collides at equal priority.
 */
export function nixEnvProfile(profileLink: string, pkgs: Array<{ path: string; name: string; priority?: number }>): { dir?: string; stderr: string } {
  const custom = pkgs.filter((p) => p.priority !== undefined && p.priority !== 5);
  const plain = pkgs.filter((p) => !custom.includes(p));
  for (const p of custom) {
    const install = nixEnv(['-p', profileLink, '-i', p.path]);
    if (!install.ok) return { stderr: install.stderr };
    const flag = nixEnv(['-p', profileLink, '--set-flag', 'priority', String(p.priority), p.name]);
    if (!flag.ok) return { stderr: flag.stderr };
  }
  if (plain.length > 0) {
    const install = nixEnv(['-p', profileLink, '-i', ...plain.map((p) => p.path)]);
    if (!install.ok) return { stderr: install.stderr };
  }
  return { dir: realpathSync(profileLink), stderr: '' };
}

/** Spawns `test/realise-child.ts` with Node's type stripping and the workspace source condition. */
export function spawnRealiseChild(args: { root: string; url: string; publicKey: string; paths: string[]; goFile?: string; fsync?: boolean | 'syncfs' }): ChildProcess {
  return spawn(process.execPath, ['--conditions=@flox-k8s/source', join(import.meta.dirname, 'realise-child.ts'), JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves when the child printed `line`, or rejects when it exits first or after `timeoutMs`. */
export function waitForLine(child: ChildProcess, line: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let stderr = '';
    const timer = setTimeout(() => done(new Error(`child did not print ${line} within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      if (buf.split('\n').includes(line)) done();
    };
    const onErr = (d: Buffer): void => {
      stderr += d.toString();
    };
    const onExit = (): void => done(new Error(`child exited before printing ${line}; stdout: ${buf}; stderr: ${stderr}`));
    function done(err?: Error): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.on('exit', onExit);
  });
}

/** Collects a child's output and exit code. */
export function childResult(child: ChildProcess, timeoutMs = 60_000): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not finish within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** An `onRequest` hook serving NARs in 64 KiB chunks with a pause between them, so a download takes a while. */
export function throttledNars(dir: string, pauseMs = 4): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    if (!req.url?.startsWith('/nar/')) return false;
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(dir, decodeURIComponent(req.url)));
    } catch {
      return false;
    }
    res.writeHead(200, { 'content-length': String(bytes.length) });
    for (let off = 0; off < bytes.length && !res.destroyed; off += 64 << 10) {
      res.write(bytes.subarray(off, off + (64 << 10)));
      await sleep(pauseMs);
    }
    res.end();
    return true;
  };
}

/**
 * Realises `storePath` and aborts once NAR bytes flow: the realise must fail with
 * FLOXK8S_STORE_ABORTED and leave no path, temp file or lock behind.
 */
export async function expectAbortMidBody(store: Store, storePath: string, options: RealiseOptions): Promise<void> {
  const controller = new AbortController();
  const pending = store.realise([storePath], {
    ...options,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.type === 'fetch-progress' && e.bytesIn > 0) controller.abort(new Error('test abort mid-body'));
    },
  });
  await expect(pending).rejects.toMatchObject({ code: 'FLOXK8S_STORE_ABORTED' });
  expect(readdirSync(join(store.root, 'store'))).toEqual([]);
  expect(readdirSync(join(store.root, 'tmp'))).toEqual([]);
  expect(heldLocks(store.root)).toEqual([]);
}
