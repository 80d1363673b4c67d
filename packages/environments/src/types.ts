import type { EnvironmentRef } from '@flox-k8s/lockfile/reference';

/** Reads files of the environment layout relative to a source's base (hub and dir sources). */
export interface SourceReader {
  /** For messages: `hub https://…` or `dir /var/lib/…`. */
  readonly label: string;
  /** The file's bytes, or undefined when it does not exist. Throws on other failures. */
  read(relativePath: string, limit: number): Promise<Uint8Array | undefined>;
  /**
   * A generation's lockfile with its sha256 (64 lowercase hex), as `read` would give it; a reader
   * that can tell an unchanged file without reading it (a dir source) answers from what it read
   * before. Absent: `read` and hash.
   */
  readLockfile?(relativePath: string, limit: number): Promise<{ bytes: Uint8Array; digest: string } | undefined>;
}

/** A lockfile a source found for a reference. */
export interface SourceAnswer {
  bytes: Uint8Array;
  /** sha256 of `bytes`, 64 lowercase hex. */
  digest: string;
  generation: number;
}

/**
 * A source with a layout of its own that resolves references itself (a floxmeta
 * repository). For a digest reference it answers the generation with that digest, else
 * the live one; not having the environment at all is an EnvironmentNotFoundError (or a
 * subclass naming what is missing), so the next source is tried.
 */
export interface ReferenceSourceReader {
  readonly label: string;
  resolve(ref: EnvironmentRef): Promise<SourceAnswer>;
}

/**
 * A FloxHub token given with the request instead of a source's `tokenFile`: the one a pod
 * mounts at `/var/run/secrets/flox.dev` (Flox's Imageless Kubernetes). `origin` says where it
 * came from, for messages; the value never appears in one.
 */
export interface RequestToken {
  value: string;
  origin: string;
}

/** Any configured source, as `sourceReaders` builds them. */
export type EnvironmentSourceReader = SourceReader | ReferenceSourceReader;
