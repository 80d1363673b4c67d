import {
  NarBadMagicError,
  NarBadNameError,
  NarBadSymlinkError,
  NarFormatError,
  NarLimitError,
  NarTrailingDataError,
  NarUnsortedError,
} from './errors.ts';
import { NarBytes } from './nar-bytes.ts';

/** Bounds the NAR reader enforces; defaults follow Linux limits. */
export interface NarLimits {
  /** Longest entry name in bytes (default 255, NAME_MAX). */
  maxNameLength?: number;
  /** Deepest directory nesting (default 256). */
  maxDepth?: number;
  /** Largest archive in bytes (default 2^50). */
  maxNarSize?: number;
  /** Longest symlink target in bytes (default 4095, PATH_MAX - 1). */
  maxSymlinkTarget?: number;
  /**
   * Most entries (files, directories and symlinks, the root included) in one archive (default
   * 500,000). The NarHash can only be checked at the end, so without it a few kB of compressed
   * NAR could create millions of files first. Real store paths hold far fewer: the whole /usr
   * of a Debian 12 machine is ~140,000 entries.
   */
  maxEntries?: number;
}

/** Default of NarLimits.maxEntries. */
export const MAX_ENTRIES = 500_000;

/** Receives the tree as it is parsed; paths are the entry names from the root (empty for the root). */
export interface NarSink {
  directory(path: readonly Buffer[]): Promise<void> | void;
  directoryEnd(path: readonly Buffer[]): Promise<void> | void;
  file(path: readonly Buffer[], executable: boolean, size: number, contents: AsyncIterable<Buffer>): Promise<void>;
  symlink(path: readonly Buffer[], target: Buffer): Promise<void> | void;
}

const MAGIC = 'nix-archive-1';
// u64 length 13, the magic, and 3 bytes of zero padding.
const MAGIC_BYTES = Buffer.concat([Buffer.from([13, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(MAGIC), Buffer.alloc(3)]);
const MAX_TAG = 16;

interface Limits {
  maxNameLength: number;
  maxDepth: number;
  maxSymlinkTarget: number;
  maxEntries: number;
}

class NarParser {
  readonly #bytes: NarBytes;
  readonly #sink: NarSink;
  readonly #limits: Limits;
  #nodes = 0;

  constructor(bytes: NarBytes, sink: NarSink, limits: Limits) {
    this.#bytes = bytes;
    this.#sink = sink;
    this.#limits = limits;
  }

  async #string(max: number, what: string): Promise<Buffer> {
    const len = await this.#bytes.u64(`length of ${what}`);
    if (len > max) throw new NarLimitError(`${what} is ${len} bytes long; the limit is ${max}`);
    const s = await this.#bytes.read(len, what);
    await this.#bytes.padding(len, what);
    return s;
  }

  async #tag(): Promise<string> {
    const len = await this.#bytes.u64('length of a tag');
    if (len > MAX_TAG) throw new NarFormatError(`expected a NAR tag (at most ${MAX_TAG} bytes), found a string of ${len} bytes`);
    const s = await this.#bytes.read(len, 'a tag');
    await this.#bytes.padding(len, 'a tag');
    return s.toString('latin1');
  }

  async #expect(tag: string): Promise<void> {
    const got = await this.#tag();
    if (got !== tag) throw new NarFormatError(`expected NAR tag ${JSON.stringify(tag)}, found ${JSON.stringify(got)}`);
  }

  // Without an await when the token is in the current chunk (see NarBytes.tryString); the callers
  // fall back to the awaiting versions above, which read the same bytes and report every error.
  #tagNow(): string | undefined {
    return this.#bytes.tryString(MAX_TAG)?.toString('latin1');
  }

  /** True when `tag` was consumed without awaiting; throws on another tag, like #expect. */
  #expectNow(tag: string): boolean {
    const got = this.#tagNow();
    if (got === undefined) return false;
    if (got !== tag) throw new NarFormatError(`expected NAR tag ${JSON.stringify(tag)}, found ${JSON.stringify(got)}`);
    return true;
  }

  async run(): Promise<void> {
    const header = await this.#bytes.read(8 + 16, 'the magic');
    if (!header.equals(MAGIC_BYTES)) {
      throw new NarBadMagicError(`not a NAR: expected the "${MAGIC}" magic, found ${JSON.stringify(header.toString('latin1'))}`);
    }
    await this.#node([]);
    if (!(await this.#bytes.atEnd())) throw new NarTrailingDataError(`unexpected bytes after the end of the NAR at offset ${this.#bytes.size}`);
  }

  async #node(path: Buffer[]): Promise<void> {
    if (++this.#nodes > this.#limits.maxEntries) {
      throw new NarLimitError(`the NAR has more than ${this.#limits.maxEntries} entries (files, directories and symlinks); raise limits.maxEntries if this archive is expected`);
    }
    if (!this.#expectNow('(')) await this.#expect('(');
    if (!this.#expectNow('type')) await this.#expect('type');
    const type = this.#tagNow() ?? (await this.#tag());
    if (type === 'regular') {
      let tag = this.#tagNow() ?? (await this.#tag());
      let executable = false;
      if (tag === 'executable') {
        const marker = this.#bytes.tryU64() ?? (await this.#bytes.u64('the executable marker'));
        if (marker !== 0) throw new NarFormatError(`the executable marker must be an empty string, found ${marker} bytes`);
        executable = true;
        tag = this.#tagNow() ?? (await this.#tag());
      }
      if (tag !== 'contents') throw new NarFormatError(`expected NAR tag "contents", found ${JSON.stringify(tag)}`);
      const size = this.#bytes.tryU64() ?? (await this.#bytes.u64('file size'));
      await this.#sink.file(path, executable, size, this.#bytes.stream(size, 'file contents'));
      if (!this.#bytes.tryPadding(size)) await this.#bytes.padding(size, 'file contents');
    } else if (type === 'symlink') {
      if (!this.#expectNow('target')) await this.#expect('target');
      const max = this.#limits.maxSymlinkTarget;
      const target = this.#bytes.tryString(max) ?? (await this.#string(max, 'symlink target'));
      if (target.length === 0 || target.includes(0)) {
        throw new NarBadSymlinkError(`symlink ${showPath(path)} has an ${target.length === 0 ? 'empty target' : 'target containing NUL'}`);
      }
      await this.#sink.symlink(path, target);
    } else if (type === 'directory') {
      if (path.length >= this.#limits.maxDepth) throw new NarLimitError(`directory ${showPath(path)} is nested deeper than the limit of ${this.#limits.maxDepth}`);
      await this.#sink.directory(path);
      await this.#entries(path);
      await this.#sink.directoryEnd(path);
      return;
    } else {
      throw new NarFormatError(`unknown NAR node type ${JSON.stringify(type)} at ${showPath(path)}; expected regular, symlink or directory`);
    }
    if (!this.#expectNow(')')) await this.#expect(')');
  }

  async #entries(path: Buffer[]): Promise<void> {
    let previous: Buffer | undefined;
    for (;;) {
      const tag = this.#tagNow() ?? (await this.#tag());
      if (tag === ')') return;
      if (tag !== 'entry') throw new NarFormatError(`expected NAR tag "entry" or ")", found ${JSON.stringify(tag)} in ${showPath(path)}`);
      if (!this.#expectNow('(')) await this.#expect('(');
      if (!this.#expectNow('name')) await this.#expect('name');
      const max = this.#limits.maxNameLength;
      const name = Buffer.from(this.#bytes.tryString(max) ?? (await this.#string(max, 'entry name')));
      checkName(name, path);
      if (previous !== undefined && Buffer.compare(previous, name) >= 0) {
        throw new NarUnsortedError(
          `entry ${JSON.stringify(name.toString('latin1'))} in ${showPath(path)} is not after ${JSON.stringify(previous.toString('latin1'))}: NAR entries must be strictly byte-sorted and unique`,
        );
      }
      previous = name;
      if (!this.#expectNow('node')) await this.#expect('node');
      await this.#node([...path, name]);
      if (!this.#expectNow(')')) await this.#expect(')');
    }
  }
}

function checkName(name: Buffer, parent: readonly Buffer[]): void {
  const bad =
    name.length === 0 ? 'is empty' : name.equals(dot) || name.equals(dotdot) ? 'is "." or ".."' : name.includes(0x2f) ? 'contains "/"' : name.includes(0) ? 'contains NUL' : undefined;
  if (bad !== undefined) throw new NarBadNameError(`entry name ${JSON.stringify(name.toString('latin1'))} in ${showPath(parent)} ${bad}; NAR names must be single path components`);
}

const dot = Buffer.from('.');
const dotdot = Buffer.from('..');

function showPath(path: readonly Buffer[]): string {
  return path.length === 0 ? '<root>' : path.map((p) => p.toString('utf8')).join('/');
}

/** Parse a NAR from `source`, feeding `sink`; returns `{ narHash: 'sha256:<nix32>', narSize }`. */
export function parseNar(
  source: AsyncIterable<Uint8Array>,
  sink: NarSink,
  limits: NarLimits = {},
  onChunk?: (bytes: number) => void,
): Promise<{ narHash: string; narSize: number }> {
  return parseNarReleasing(source, sink, limits, onChunk, undefined);
}

/** parseNar that also hands every consumed chunk to `release` (internal: see owned-chunks.ts). */
export async function parseNarReleasing(
  source: AsyncIterable<Uint8Array>,
  sink: NarSink,
  limits: NarLimits,
  onChunk: ((bytes: number) => void) | undefined,
  release: ((chunk: Buffer) => void) | undefined,
): Promise<{ narHash: string; narSize: number }> {
  const bytes = await parseNarBytes(source, sink, limits, onChunk, release, true);
  return { narHash: bytes.digest(), narSize: bytes.size };
}

/** Parse without hashing (the caller hashes the archive bytes itself); returns the archive's size. */
export async function parseNarUnhashed(source: AsyncIterable<Uint8Array>, sink: NarSink, limits: NarLimits): Promise<number> {
  return (await parseNarBytes(source, sink, limits, undefined, undefined, false)).size;
}

async function parseNarBytes(
  source: AsyncIterable<Uint8Array>,
  sink: NarSink,
  limits: NarLimits,
  onChunk: ((bytes: number) => void) | undefined,
  release: ((chunk: Buffer) => void) | undefined,
  hash: boolean,
): Promise<NarBytes> {
  const bytes = new NarBytes(source, limits.maxNarSize ?? 2 ** 50, onChunk, release, hash);
  const parser = new NarParser(bytes, sink, {
    maxNameLength: limits.maxNameLength ?? 255,
    maxDepth: limits.maxDepth ?? 256,
    maxSymlinkTarget: limits.maxSymlinkTarget ?? 4095,
    maxEntries: limits.maxEntries ?? MAX_ENTRIES,
  });
  try {
    await parser.run();
  } catch (err) {
    await bytes.close().catch(() => undefined);
    throw err;
  }
  return bytes;
}
