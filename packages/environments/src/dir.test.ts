// A dir source's lockfiles: read and hashed once while the file stays the same, read again when it
// changes (in place or replaced), never shared with the caller, and as strict as `read` about what
// it reads.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type * as Fs from 'node:fs';

// Counts the opens of each path, to tell a read from an answer out of the cache.
const opened = vi.hoisted(() => new Map<string, number>());
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof Fs>();
  const openSync = ((path: string, ...rest: unknown[]) => {
    opened.set(String(path), (opened.get(String(path)) ?? 0) + 1);
    return (fs.openSync as (...args: unknown[]) => number)(path, ...rest);
  }) as typeof fs.openSync;
  return { ...fs, default: { ...fs, openSync }, openSync };
});

const { dirSourceReader } = await import('./dir.ts');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flox-dir-source-'));
  mkdirSync(join(dir, 'acme', 'app', 'generations', '1'), { recursive: true });
  opened.clear();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const relative = 'acme/app/generations/1/manifest.lock';
const sha = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');
const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('utf8');

describe('dir source lockfiles', () => {
  it('an unchanged lockfile is read and hashed once: later answers come from one stat', async () => {
    const path = join(dir, relative);
    const content = `{"lockfile-version":1,"pad":"${'x'.repeat(200_000)}"}`;
    writeFileSync(path, content);
    const reader = dirSourceReader({ type: 'dir', path: dir });
    const first = await reader.readLockfile?.(relative, 1 << 20);
    expect(first?.digest).toBe(sha(content));
    expect(text(first?.bytes)).toBe(content);
    // A new reader (the service builds them per create) shares what was read.
    const second = await dirSourceReader({ type: 'dir', path: dir }).readLockfile?.(relative, 1 << 20);
    expect(second?.digest).toBe(sha(content));
    expect(opened.get(path)).toBe(1);
    // The caller's bytes are its own.
    second?.bytes.fill(0);
    expect(text((await reader.readLockfile?.(relative, 1 << 20))?.bytes)).toBe(content);
    expect(opened.get(path)).toBe(1);
  });

  it('reads again when the file changed: written in place (another size) or replaced (another inode, same size)', async () => {
    const path = join(dir, relative);
    writeFileSync(path, '{"a":1}');
    const reader = dirSourceReader({ type: 'dir', path: dir });
    expect((await reader.readLockfile?.(relative, 1024))?.digest).toBe(sha('{"a":1}'));
    writeFileSync(path, '{"a":10}');
    expect((await reader.readLockfile?.(relative, 1024))?.digest).toBe(sha('{"a":10}'));
    writeFileSync(join(dir, 'new'), '{"a":20}');
    renameSync(join(dir, 'new'), path);
    const replaced = await reader.readLockfile?.(relative, 1024);
    expect(replaced?.digest).toBe(sha('{"a":20}'));
    expect(text(replaced?.bytes)).toBe('{"a":20}');
    expect(opened.get(path)).toBe(3);
  });

  it('a lockfile that went is gone; one over the limit or not a regular file is refused, cached or not', async () => {
    const path = join(dir, relative);
    writeFileSync(path, '{"a":1}');
    const reader = dirSourceReader({ type: 'dir', path: dir });
    await reader.readLockfile?.(relative, 1024);
    await expect(reader.readLockfile?.(relative, 4)).rejects.toMatchObject({ code: 'FLOXK8S_ENV_SOURCE_FAILED', message: expect.stringContaining('over the 4-byte limit') });
    rmSync(path);
    expect(await reader.readLockfile?.(relative, 1024)).toBeUndefined();
    mkdirSync(path);
    await expect(reader.readLockfile?.(relative, 1024)).rejects.toMatchObject({ code: 'FLOXK8S_ENV_SOURCE_FAILED', message: expect.stringContaining('not a regular file') });
    rmSync(path, { recursive: true });
    // A symlink to a file is followed, as `read` does, and the answer is the target's.
    writeFileSync(join(dir, 'target'), '{"b":2}');
    symlinkSync(join(dir, 'target'), path);
    expect((await reader.readLockfile?.(relative, 1024))?.digest).toBe(sha('{"b":2}'));
  });

  it('answers as `read` and a sha256 of its bytes do', async () => {
    writeFileSync(join(dir, relative), '{"c":3}\n');
    const reader = dirSourceReader({ type: 'dir', path: dir });
    const bytes = await reader.read(relative, 1024);
    const read = await reader.readLockfile?.(relative, 1024);
    expect(read).toEqual({ bytes, digest: sha(bytes as Uint8Array) });
  });
});
