// The node-local cache of a floxmeta source. What it records never changes once read:
// a generation's lockfile (Flox never rewrites generation N), the generation behind a
// digest, and the live generation of a commit (a commit id names its content). So a
// pinned or digest reference answered once is answered from here with no request.
//
//   <cacheDir>/v1/lockfiles/<sha256>                               lockfile bytes (checked on every read)
//   <cacheDir>/v1/sources/<url key>/<owner>/<name>/generations/<N>  "<sha256>\n"
//   <cacheDir>/v1/sources/<url key>/<owner>/<name>/by-digest/<sha256>  "<N>\n"
//   <cacheDir>/v1/sources/<url key>/<owner>/<name>/commits/<oid>    "<N> <sha256>\n"   live generation of that tip
//   <cacheDir>/v1/sources/<url key>/<owner>/<name>/live             "<oid> <ms>\n"     last tip read (liveTtlMs only)
//   <cacheDir>/v1/tmp/                                              scratch of fetches in flight
//
// Reads are synchronous (a few small local files on the container-start path); a file
// that is missing, unreadable or malformed is a miss. Writes go through a temp file and
// a rename, so a reader never sees half a file and concurrent writers agree.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentSourceError } from '../errors.ts';
import { checkSegment } from '../layout.ts';
import type { SourceAnswer } from '../types.ts';

/** A lockfile the cache (or the remote) answered with. */
export type FloxmetaHit = SourceAnswer;

const DIGEST = /^[0-9a-f]{64}$/;
const OID = /^[0-9a-f]{40}$/;

export class FloxmetaCache {
  readonly #root: string;
  readonly #source: string;

  constructor(cacheDir: string, sourceUrl: string) {
    this.#root = join(cacheDir, 'v1');
    // Two sources (say FloxHub and an on-premise mirror) never answer for each other.
    this.#source = join(this.#root, 'sources', createHash('sha256').update(sourceUrl.replace(/\/+$/, '')).digest('hex').slice(0, 16));
  }

  /** Generation N of owner/name, if read before. */
  generation(owner: string, name: string, generation: number): FloxmetaHit | undefined {
    const digest = this.#readLine(join(this.#env(owner, name), 'generations', String(generation)));
    return digest !== undefined && DIGEST.test(digest) ? this.#lockfile(digest, generation) : undefined;
  }

  /** The generation of owner/name whose lockfile has `digest`, if found before. */
  byDigest(owner: string, name: string, digest: string): FloxmetaHit | undefined {
    const line = this.#readLine(join(this.#env(owner, name), 'by-digest', digest));
    return line !== undefined && /^[1-9][0-9]{0,14}$/.test(line) ? this.#lockfile(digest, Number(line)) : undefined;
  }

  /** The live generation at branch tip `commit`, if that tip was read before. */
  commit(owner: string, name: string, commit: string): FloxmetaHit | undefined {
    if (!OID.test(commit)) return undefined;
    const line = this.#readLine(join(this.#env(owner, name), 'commits', commit));
    const match = line === undefined ? null : /^([1-9][0-9]{0,14}) ([0-9a-f]{64})$/.exec(line);
    return match === null ? undefined : this.#lockfile(match[2] as string, Number(match[1]));
  }

  /** The branch tip last read from the remote and when (for `liveTtlMs`). */
  liveTip(owner: string, name: string): { commit: string; readAt: number } | undefined {
    const match = /^([0-9a-f]{40}) ([0-9]{1,16})$/.exec(this.#readLine(join(this.#env(owner, name), 'live')) ?? '');
    return match === null ? undefined : { commit: match[1] as string, readAt: Number(match[2]) };
  }

  /** Records a generation's lockfile (bytes first, then the entries pointing at them). */
  storeGeneration(owner: string, name: string, hit: FloxmetaHit): void {
    this.#write(join(this.#root, 'lockfiles', hit.digest), hit.bytes);
    const env = this.#env(owner, name);
    this.#write(join(env, 'generations', String(hit.generation)), `${hit.digest}\n`);
    this.#write(join(env, 'by-digest', hit.digest), `${hit.generation}\n`);
  }

  /** Records that `commit` has `hit` as its live generation (after storeGeneration). */
  storeCommit(owner: string, name: string, commit: string, hit: FloxmetaHit): void {
    this.#write(join(this.#env(owner, name), 'commits', commit), `${hit.generation} ${hit.digest}\n`);
  }

  storeLiveTip(owner: string, name: string, commit: string, readAt: number): void {
    this.#write(join(this.#env(owner, name), 'live'), `${commit} ${Math.floor(readAt)}\n`);
  }

  /**
   * Where a fetch may unpack; the caller removes it. Scratch left by a process that died
   * mid-fetch (older than an hour, far beyond any read's deadline) is removed first.
   */
  scratchDir(): string {
    const tmp = join(this.#root, 'tmp');
    const stale = Date.now() - 3_600_000;
    for (const name of safeReaddir(tmp)) {
      const path = join(tmp, name);
      try {
        if (statSync(path).mtimeMs < stale) rmSync(path, { recursive: true, force: true });
      } catch {
        // Gone already (another process swept it).
      }
    }
    const dir = join(tmp, `fetch-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`);
    this.#mkdir(dir);
    return dir;
  }

  removeScratch(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
  }

  #env(owner: string, name: string): string {
    return join(this.#source, checkSegment('owner', owner), checkSegment('name', name));
  }

  #lockfile(digest: string, generation: number): FloxmetaHit | undefined {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(join(this.#root, 'lockfiles', digest)));
    } catch {
      return undefined;
    }
    // A damaged cache file is a miss, never a wrong answer.
    if (createHash('sha256').update(bytes).digest('hex') !== digest) return undefined;
    return { bytes, digest, generation };
  }

  #readLine(path: string): string | undefined {
    try {
      const text = readFileSync(path, 'utf8');
      return text.length <= 128 ? text.trim() : undefined;
    } catch {
      return undefined;
    }
  }

  #write(path: string, data: string | Uint8Array): void {
    const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    try {
      this.#mkdir(join(path, '..'));
      writeFileSync(tmp, data);
      renameSync(tmp, path);
    } catch (error) {
      rmSync(tmp, { force: true });
      throw new EnvironmentSourceError(`cannot write the floxmeta cache at ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; check the source's cacheDir`, { cause: error });
    }
  }

  #mkdir(dir: string): void {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new EnvironmentSourceError(`cannot create the floxmeta cache directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; check the source's cacheDir`, { cause: error });
    }
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
