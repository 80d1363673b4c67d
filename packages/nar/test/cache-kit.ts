// Builds altered copies of the real Nix fixture caches for client tests.
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseNarinfo, serializeNarinfo, type Narinfo } from '../src/narinfo.ts';
import { signNarinfo } from '../src/signatures.ts';

/** Copy a cache directory so a test can alter it. */
export async function copyCache(src: string, dest: string): Promise<string> {
  await cp(src, dest, { recursive: true });
  return dest;
}

/** The narinfo file of a store path inside a cache directory. */
export function narinfoFile(cacheDir: string, storePath: string): string {
  return join(cacheDir, `${storePath.slice('/nix/store/'.length, '/nix/store/'.length + 32)}.narinfo`);
}

export async function readNarinfo(cacheDir: string, storePath: string): Promise<Narinfo> {
  return parseNarinfo(await readFile(narinfoFile(cacheDir, storePath), 'utf8'));
}

/** Rewrite a narinfo; re-sign it with `secretKey` (file contents) so only the edited fact is wrong. */
export async function rewriteNarinfo(cacheDir: string, storePath: string, edit: (n: Narinfo) => Narinfo, secretKey?: string): Promise<Narinfo> {
  let info = edit(await readNarinfo(cacheDir, storePath));
  if (secretKey !== undefined) info = signNarinfo({ ...info, sigs: [] }, secretKey);
  await writeFile(narinfoFile(cacheDir, storePath), serializeNarinfo(info));
  return info;
}
