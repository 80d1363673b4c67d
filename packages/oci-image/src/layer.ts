import { createHash } from 'node:crypto';
import { constants, gzipSync, zstdCompressSync } from 'node:zlib';
import { ImageInputInvalidError } from './errors.ts';
import { packTar, type TarHeader } from './tar.ts';

/** One thing in a layer. Paths are relative to the image root (`bin/busybox`; a leading `/` is allowed). */
export type LayerEntry =
  | { type: 'file'; path: string; content: Uint8Array | string; mode?: number }
  | { type: 'directory'; path: string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** A finished layer blob with the two digests an image needs. */
export interface LayerBlob {
  mediaType: string;
  /** sha256 of the blob as stored (compressed when gzip). */
  digest: string;
  /** sha256 of the uncompressed tar: the config's `rootfs.diff_ids` entry. */
  diffId: string;
  size: number;
  bytes: Uint8Array;
}

/** Fixed header fields: identical inputs must give identical bytes, whoever builds them and when. */
export interface LayerDefaults {
  /** Seconds since the epoch stamped on every entry. */
  mtime: number;
}

const fileMode = 0o644;
const dirMode = 0o755;

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function normalisePath(raw: string): string {
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) {
    throw new ImageInputInvalidError(`layer entry path ${JSON.stringify(raw)}: expected a path inside the image root, without ".."`);
  }
  return parts.join('/');
}

/** Sorted, de-duplicated entries with every missing parent directory added (mode 0755). */
export function normaliseEntries(entries: readonly LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const entry of entries) {
    const path = normalisePath(entry.path);
    if (byPath.has(path)) throw new ImageInputInvalidError(`layer entry ${JSON.stringify(path)} appears twice; expected each path once`);
    byPath.set(path, { ...entry, path });
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const existing = byPath.get(parent);
      if (existing === undefined) byPath.set(parent, { type: 'directory', path: parent });
      else if (existing.type !== 'directory') {
        throw new ImageInputInvalidError(`layer entry ${JSON.stringify(path)} lies under ${JSON.stringify(parent)}, which is a ${existing.type}; expected a directory`);
      }
    }
  }
  // Byte order of the path keeps the tar stable across locales; parents sort before children.
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function header(entry: LayerEntry, size: number, defaults: LayerDefaults): TarHeader {
  const common = { name: entry.path, mtime: new Date(defaults.mtime * 1000), uid: 0, gid: 0, uname: '', gname: '' };
  switch (entry.type) {
    case 'file':
      return { ...common, type: 'file', size, mode: (entry.mode ?? fileMode) & 0o7777 };
    case 'directory':
      return { ...common, type: 'directory', mode: (entry.mode ?? dirMode) & 0o7777 };
    case 'symlink':
      return { ...common, type: 'symlink', linkname: entry.target, mode: 0o777 };
  }
}

/** The uncompressed tar of a layer, deterministic for the same entries and defaults. */
export async function layerTar(entries: readonly LayerEntry[], defaults: LayerDefaults): Promise<Buffer> {
  return packTar(
    normaliseEntries(entries).map((entry) => {
      const body = entry.type === 'file' ? Buffer.from(entry.content) : undefined;
      return { header: header(entry, body?.length ?? 0, defaults), body };
    }),
  );
}

/**
 * Build a layer blob; gzip output is stable because Node's gzip header carries no mtime or name,
 * zstd's because the frame header carries only the content size. zstd uses level 3, what
 * containerd and buildkit write by default, so a benchmark compares the layers a registry would hold.
 */
export async function buildLayer(entries: readonly LayerEntry[], compression: LayerCompression, defaults: LayerDefaults): Promise<LayerBlob> {
  const tarBytes = await layerTar(entries, defaults);
  const diffId = sha256(tarBytes);
  if (compression === 'none') {
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffId, diffId, size: tarBytes.length, bytes: tarBytes };
  }
  if (compression === 'zstd') {
    const bytes = zstdCompressSync(tarBytes, { params: { [constants.ZSTD_c_compressionLevel]: 3 } });
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha256(bytes), diffId, size: bytes.length, bytes };
  }
  const bytes = gzipSync(tarBytes, { level: 9 });
  return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(bytes), diffId, size: bytes.length, bytes };
}
