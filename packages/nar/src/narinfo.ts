import { NarinfoInvalidError } from './errors.ts';
import { normaliseSha256 } from './hash.ts';
import { parseStorePath, parseStorePathBase } from '@flox-k8s/core';

/** A parsed `.narinfo`: metadata of one store path in a binary cache. Hashes are normalised to `sha256:<nix32>`. */
export interface Narinfo {
  storePath: string;
  /** NAR file location, relative to the cache root. */
  url: string;
  compression: 'xz' | 'zstd' | 'bzip2' | 'none' | (string & {});
  fileHash?: string;
  fileSize?: number;
  narHash: string;
  narSize: number;
  /** Basenames (`<hash>-<name>`), as written in the narinfo. */
  references: string[];
  deriver?: string;
  sigs: string[];
  ca?: string;
  system?: string;
}

function size(value: string, key: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new NarinfoInvalidError(`narinfo ${key}: expected a non-negative integer, found ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function hash(value: string, key: string): string {
  try {
    return normaliseSha256(value);
  } catch (cause) {
    throw new NarinfoInvalidError(`narinfo ${key}: expected a sha256 hash, found ${JSON.stringify(value)}`, { cause });
  }
}

function checked<T>(key: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw new NarinfoInvalidError(`narinfo ${key}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Parse a narinfo document. Unknown keys are ignored; `Compression` defaults to bzip2;
 * StorePath, URL, NarHash and NarSize are required. Throws NarinfoInvalidError (FLOXK8S_NARINFO_INVALID).
 */
export function parseNarinfo(text: string, storeDir = '/nix/store'): Narinfo {
  const fields = new Map<string, string>();
  const sigs: string[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line === '') continue;
    const colon = line.indexOf(': ');
    if (colon <= 0) throw new NarinfoInvalidError(`narinfo line ${lineNo}: expected "Key: value", found ${JSON.stringify(line.slice(0, 80))}`);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 2);
    if (key === 'Sig') sigs.push(value);
    else if (fields.has(key)) throw new NarinfoInvalidError(`narinfo line ${lineNo}: duplicate key ${key}`);
    else fields.set(key, value);
  }
  const need = (key: string): string => {
    const v = fields.get(key);
    if (v === undefined || v === '') throw new NarinfoInvalidError(`narinfo ${key}: required field is missing`);
    return v;
  };
  const storePath = need('StorePath');
  checked('StorePath', () => parseStorePath(storePath, storeDir));
  const refs = fields.get('References') ?? '';
  const references = refs === '' ? [] : refs.split(' ');
  references.forEach((r, i) => checked(`References[${i}]`, () => parseStorePathBase(r, storeDir)));
  const info: Narinfo = {
    storePath,
    url: need('URL'),
    compression: fields.get('Compression') || 'bzip2',
    narHash: hash(need('NarHash'), 'NarHash'),
    narSize: size(need('NarSize'), 'NarSize'),
    references,
    sigs,
  };
  const fileHash = fields.get('FileHash');
  if (fileHash !== undefined) info.fileHash = hash(fileHash, 'FileHash');
  const fileSize = fields.get('FileSize');
  if (fileSize !== undefined) info.fileSize = size(fileSize, 'FileSize');
  const deriver = fields.get('Deriver');
  if (deriver !== undefined && deriver !== 'unknown-deriver') {
    checked('Deriver', () => parseStorePathBase(deriver, storeDir));
    info.deriver = deriver;
  }
  const ca = fields.get('CA');
  if (ca !== undefined && ca !== '') info.ca = ca;
  const system = fields.get('System');
  if (system !== undefined && system !== '') info.system = system;
  return info;
}

/** Serialise a narinfo in the field order Nix writes. */
export function serializeNarinfo(n: Narinfo): string {
  const lines = [`StorePath: ${n.storePath}`, `URL: ${n.url}`, `Compression: ${n.compression}`];
  if (n.fileHash !== undefined) lines.push(`FileHash: ${n.fileHash}`);
  if (n.fileSize !== undefined) lines.push(`FileSize: ${n.fileSize}`);
  lines.push(`NarHash: ${n.narHash}`, `NarSize: ${n.narSize}`, `References: ${n.references.join(' ')}`);
  if (n.deriver !== undefined) lines.push(`Deriver: ${n.deriver}`);
  if (n.system !== undefined) lines.push(`System: ${n.system}`);
  for (const sig of n.sigs) lines.push(`Sig: ${sig}`);
  if (n.ca !== undefined) lines.push(`CA: ${n.ca}`);
  return `${lines.join('\n')}\n`;
}

/** The `nix-cache-info` document at a cache's root. */
export interface NixCacheInfo {
  storeDir: string;
  wantMassQuery: boolean;
  /** Lower is preferred; Nix's default is 50. */
  priority: number;
}

/** Parse `nix-cache-info`; unknown keys are ignored. Throws NarinfoInvalidError. */
export function parseNixCacheInfo(text: string): NixCacheInfo {
  const info: NixCacheInfo = { storeDir: '/nix/store', wantMassQuery: false, priority: 50 };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new NarinfoInvalidError(`nix-cache-info: expected "Key: value", found ${JSON.stringify(line.slice(0, 80))}`);
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'StoreDir') info.storeDir = value;
    else if (key === 'WantMassQuery') info.wantMassQuery = value === '1';
    else if (key === 'Priority') info.priority = size(value, 'nix-cache-info Priority');
  }
  return info;
}
