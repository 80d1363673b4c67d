import { createHash } from 'node:crypto';
import {
  NarBadMagicError,
  NarBadNameError,
  NarBadPaddingError,
  NarBadSymlinkError,
  NarFormatError,
  NarLimitError,
  NarTrailingDataError,
  NarTruncatedError,
  NarUnsortedError,
} from './errors.ts';
import { formatSha256 } from './hash.ts';

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

/**
 * What NarParser reports, synchronously, in archive order. `path` is the parser's own array (the
 * names from the root): read it during the call, copy it to keep it. `data` and `target` are views
 * of the chunk being pushed, valid only during the call.
 */
export interface NarHandler {
  directory(path: readonly Buffer[]): void;
  directoryEnd(path: readonly Buffer[]): void;
  fileStart(path: readonly Buffer[], executable: boolean, size: number): void;
  fileData(data: Buffer): void;
  fileEnd(): void;
  symlink(path: readonly Buffer[], target: Buffer): void;
}

const MAGIC = 'nix-archive-1';
// u64 length 13, the magic, and 3 bytes of zero padding.
const MAGIC_BYTES = Buffer.concat([Buffer.from([13, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(MAGIC), Buffer.alloc(3)]);
const MAX_TAG = 16;
const EMPTY = Buffer.alloc(0);

const TAG = {
  open: Buffer.from('('),
  close: Buffer.from(')'),
  type: Buffer.from('type'),
  regular: Buffer.from('regular'),
  symlink: Buffer.from('symlink'),
  directory: Buffer.from('directory'),
  executable: Buffer.from('executable'),
  contents: Buffer.from('contents'),
  target: Buffer.from('target'),
  entry: Buffer.from('entry'),
  name: Buffer.from('name'),
  node: Buffer.from('node'),
};

/** Where the parser is in the grammar: what the next token must be. */
const At = {
  Magic: 0,
  Open: 1,
  TypeKey: 2,
  Type: 3,
  RegularTag: 4,
  ExecutableMarker: 5,
  ContentsTag: 6,
  Size: 7,
  Contents: 8,
  ContentsPadding: 9,
  Close: 10,
  TargetKey: 11,
  Target: 12,
  EntryOrClose: 13,
  EntryOpen: 14,
  NameKey: 15,
  Name: 16,
  NodeKey: 17,
  EntryClose: 18,
  Done: 19,
} as const;
type At = (typeof At)[keyof typeof At];

interface Limits {
  maxNameLength: number;
  maxDepth: number;
  maxNarSize: number;
  maxSymlinkTarget: number;
  maxEntries: number;
}

const padded = (len: number): number => (len + 7) & ~7;

function sameBytes(buf: Buffer, pos: number, len: number, tag: Buffer): boolean {
  if (len !== tag.length) return false;
  for (let i = 0; i < len; i++) if (buf[pos + i] !== tag[i]) return false;
  return true;
}

/**
 * The NAR reader: a push parser. Each `push(chunk)` parses what the chunk completes and reports it
 * to the handler before returning, with no promise per token or entry (the async reader this
 * replaced awaited ~20 times per entry). A token cut by a chunk boundary is carried over in a small
 * buffer of its own (at most one name or symlink target); file contents are reported as views of
 * the chunk, so once `push` returns nothing refers to the chunk any more. Every error is a typed
 * NarError; after one, the parser must not be used again.
 */
export class NarParser {
  readonly #handler: NarHandler;
  readonly #limits: Limits;
  #at: At = At.Magic;
  // The token being read: its length once known (-1: its 8-byte length comes first).
  #len = -1;
  #carry: Buffer = Buffer.alloc(0);
  #carried = 0;
  /** Bytes pushed so far, and bytes consumed by the grammar. */
  #size = 0;
  #offset = 0;
  #nodes = 0;
  readonly #path: Buffer[] = [];
  // For each open directory, its last entry name (for the order check).
  readonly #previous: (Buffer | undefined)[] = [];
  #executable = false;
  #remaining = 0;
  // Zero bytes after a file's contents, up to the next multiple of 8.
  #padding = 0;

  constructor(handler: NarHandler, limits: NarLimits = {}) {
    this.#handler = handler;
    this.#limits = {
      maxNameLength: limits.maxNameLength ?? 255,
      maxDepth: limits.maxDepth ?? 256,
      maxNarSize: limits.maxNarSize ?? 2 ** 50,
      maxSymlinkTarget: limits.maxSymlinkTarget ?? 4095,
      maxEntries: limits.maxEntries ?? MAX_ENTRIES,
    };
  }

  /** Bytes pushed so far (the archive's size once `end` returned). */
  get size(): number {
    return this.#size;
  }

  /** Parse the next bytes of the archive. */
  push(chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#size > this.#limits.maxNarSize) {
      throw new NarLimitError(`NAR exceeds the size limit of ${this.#limits.maxNarSize} bytes; raise limits.maxNarSize if this archive is expected`);
    }
    let off = 0;
    for (;;) {
      if (this.#at === At.Contents) {
        const take = Math.min(this.#remaining, chunk.length - off);
        if (take > 0) {
          this.#handler.fileData(chunk.subarray(off, off + take));
          off += take;
          this.#offset += take;
          this.#remaining -= take;
        }
        if (this.#remaining > 0) return;
        this.#handler.fileEnd();
        this.#at = this.#padding > 0 ? At.ContentsPadding : At.Close;
        continue;
      }
      if (this.#at === At.Done) {
        if (off < chunk.length) throw new NarTrailingDataError(`unexpected bytes after the end of the NAR at offset ${this.#offset}`);
        return;
      }
      const need = this.#at === At.Magic ? MAGIC_BYTES.length : this.#at === At.ContentsPadding ? this.#padding : this.#len < 0 ? 8 : padded(this.#len);
      let buf: Buffer;
      let pos: number;
      if (this.#carried > 0) {
        const take = Math.min(need - this.#carried, chunk.length - off);
        chunk.copy(this.#carry, this.#carried, off, off + take);
        this.#carried += take;
        off += take;
        if (this.#carried < need) return;
        buf = this.#carry;
        pos = 0;
        this.#carried = 0;
      } else if (chunk.length - off >= need) {
        buf = chunk;
        pos = off;
        off += need;
      } else {
        if (this.#carry.length < need) this.#carry = Buffer.allocUnsafe(Math.max(need, 64));
        chunk.copy(this.#carry, 0, off);
        this.#carried = chunk.length - off;
        return;
      }
      this.#step(buf, pos, need);
      this.#offset += need;
    }
  }

  /** The archive ended: throws NarTruncatedError unless it was complete. */
  end(): void {
    if (this.#at !== At.Done) {
      throw new NarTruncatedError(`NAR ended after ${this.#size} bytes while reading ${this.#what()}; the download or file is incomplete`);
    }
  }

  #what(): string {
    switch (this.#at) {
      case At.Magic:
        return 'the magic';
      case At.Contents:
        return 'file contents';
      case At.ContentsPadding:
        return 'padding of file contents';
      case At.Size:
        return 'file size';
      case At.ExecutableMarker:
        return 'the executable marker';
      case At.Name:
        return 'entry name';
      case At.Target:
        return 'symlink target';
      default:
        return 'a tag';
    }
  }

  /** Consume `need` bytes at `buf[pos..]`: a token's length, or its (padded) body. */
  #step(buf: Buffer, pos: number, need: number): void {
    if (this.#at === At.Magic) {
      if (!buf.subarray(pos, pos + need).equals(MAGIC_BYTES)) {
        throw new NarBadMagicError(`not a NAR: expected the "${MAGIC}" magic, found ${JSON.stringify(buf.subarray(pos, pos + need).toString('latin1'))}`);
      }
      this.#enterNode();
      return;
    }
    if (this.#at === At.ContentsPadding) {
      for (let i = pos; i < pos + need; i++) {
        if (buf[i] !== 0) throw new NarBadPaddingError(`non-zero padding byte after file contents at offset ${this.#offset}; NAR padding must be zero`);
      }
      this.#at = At.Close;
      return;
    }
    if (this.#len < 0) {
      const lo = buf.readUInt32LE(pos);
      const hi = buf.readUInt32LE(pos + 4);
      if (hi > 0x1fffff) throw new NarLimitError(`absurd length ${buf.readBigUInt64LE(pos)} for ${this.#what()}`);
      const value = hi * 0x100000000 + lo;
      this.#onNumber(value);
      return;
    }
    // A padded body: check the padding, then the token itself.
    const len = this.#len;
    for (let i = pos + len; i < pos + need; i++) {
      if (buf[i] !== 0) throw new NarBadPaddingError(`non-zero padding byte after ${this.#what()} at offset ${this.#offset + len}; NAR padding must be zero`);
    }
    this.#len = -1;
    this.#onString(buf, pos, len);
  }

  /** An 8-byte number: a token's length, the executable marker or a file's size. */
  #onNumber(value: number): void {
    switch (this.#at) {
      case At.ExecutableMarker:
        if (value !== 0) throw new NarFormatError(`the executable marker must be an empty string, found ${value} bytes`);
        this.#at = At.ContentsTag;
        return;
      case At.Size:
        this.#handler.fileStart(this.#path, this.#executable, value);
        this.#remaining = value;
        this.#padding = (8 - (value % 8)) % 8;
        this.#at = At.Contents;
        return;
      case At.Name: {
        const max = this.#limits.maxNameLength;
        if (value > max) throw new NarLimitError(`entry name is ${value} bytes long; the limit is ${max}`);
        break;
      }
      case At.Target: {
        const max = this.#limits.maxSymlinkTarget;
        if (value > max) throw new NarLimitError(`symlink target is ${value} bytes long; the limit is ${max}`);
        break;
      }
      default:
        if (value > MAX_TAG) throw new NarFormatError(`expected a NAR tag (at most ${MAX_TAG} bytes), found a string of ${value} bytes`);
    }
    this.#len = value;
    // An empty body has nothing to read: take it now (a 0-byte step).
    if (value === 0) {
      this.#len = -1;
      this.#onString(EMPTY, 0, 0);
    }
  }

  #expect(buf: Buffer, pos: number, len: number, tag: Buffer): void {
    if (!sameBytes(buf, pos, len, tag)) {
      throw new NarFormatError(`expected NAR tag ${JSON.stringify(tag.toString('latin1'))}, found ${JSON.stringify(buf.toString('latin1', pos, pos + len))}`);
    }
  }

  #enterNode(): void {
    if (++this.#nodes > this.#limits.maxEntries) {
      throw new NarLimitError(`the NAR has more than ${this.#limits.maxEntries} entries (files, directories and symlinks); raise limits.maxEntries if this archive is expected`);
    }
    this.#at = At.Open;
  }

  /** A node ended (after its ")"): back to its directory's entry, or the end of the archive. */
  #leaveNode(): void {
    this.#at = this.#path.length === 0 ? At.Done : At.EntryClose;
  }

  #onString(buf: Buffer, pos: number, len: number): void {
    const h = this.#handler;
    switch (this.#at) {
      case At.Open:
        this.#expect(buf, pos, len, TAG.open);
        this.#at = At.TypeKey;
        return;
      case At.TypeKey:
        this.#expect(buf, pos, len, TAG.type);
        this.#at = At.Type;
        return;
      case At.Type:
        if (sameBytes(buf, pos, len, TAG.regular)) {
          this.#executable = false;
          this.#at = At.RegularTag;
        } else if (sameBytes(buf, pos, len, TAG.symlink)) {
          this.#at = At.TargetKey;
        } else if (sameBytes(buf, pos, len, TAG.directory)) {
          if (this.#path.length >= this.#limits.maxDepth) {
            throw new NarLimitError(`directory ${showPath(this.#path)} is nested deeper than the limit of ${this.#limits.maxDepth}`);
          }
          h.directory(this.#path);
          this.#previous.push(undefined);
          this.#at = At.EntryOrClose;
        } else {
          throw new NarFormatError(
            `unknown NAR node type ${JSON.stringify(buf.toString('latin1', pos, pos + len))} at ${showPath(this.#path)}; expected regular, symlink or directory`,
          );
        }
        return;
      case At.RegularTag:
        if (sameBytes(buf, pos, len, TAG.executable)) {
          this.#executable = true;
          this.#at = At.ExecutableMarker;
          return;
        }
        this.#expect(buf, pos, len, TAG.contents);
        this.#at = At.Size;
        return;
      case At.ContentsTag:
        this.#expect(buf, pos, len, TAG.contents);
        this.#at = At.Size;
        return;
      case At.Close:
        this.#expect(buf, pos, len, TAG.close);
        this.#leaveNode();
        return;
      case At.TargetKey:
        this.#expect(buf, pos, len, TAG.target);
        this.#at = At.Target;
        return;
      case At.Target: {
        const target = buf.subarray(pos, pos + len);
        if (len === 0 || hasByte(buf, pos, len, 0)) {
          throw new NarBadSymlinkError(`symlink ${showPath(this.#path)} has an ${len === 0 ? 'empty target' : 'target containing NUL'}`);
        }
        h.symlink(this.#path, target);
        this.#at = At.Close;
        return;
      }
      case At.EntryOrClose:
        if (sameBytes(buf, pos, len, TAG.close)) {
          // The directory's own ")".
          h.directoryEnd(this.#path);
          this.#previous.pop();
          this.#leaveNode();
          return;
        }
        if (!sameBytes(buf, pos, len, TAG.entry)) {
          throw new NarFormatError(`expected NAR tag "entry" or ")", found ${JSON.stringify(buf.toString('latin1', pos, pos + len))} in ${showPath(this.#path)}`);
        }
        this.#at = At.EntryOpen;
        return;
      case At.EntryOpen:
        this.#expect(buf, pos, len, TAG.open);
        this.#at = At.NameKey;
        return;
      case At.NameKey:
        this.#expect(buf, pos, len, TAG.name);
        this.#at = At.Name;
        return;
      case At.Name: {
        const name = Buffer.from(buf.subarray(pos, pos + len));
        checkName(name, this.#path);
        const depth = this.#previous.length - 1;
        const previous = this.#previous[depth];
        if (previous !== undefined && Buffer.compare(previous, name) >= 0) {
          throw new NarUnsortedError(
            `entry ${JSON.stringify(name.toString('latin1'))} in ${showPath(this.#path)} is not after ${JSON.stringify(previous.toString('latin1'))}: NAR entries must be strictly byte-sorted and unique`,
          );
        }
        this.#previous[depth] = name;
        this.#path.push(name);
        this.#at = At.NodeKey;
        return;
      }
      case At.NodeKey:
        this.#expect(buf, pos, len, TAG.node);
        this.#enterNode();
        return;
      case At.EntryClose:
        this.#expect(buf, pos, len, TAG.close);
        this.#path.pop();
        this.#at = At.EntryOrClose;
        return;
      default:
        throw new NarFormatError('unexpected NAR token');
    }
  }
}

function hasByte(buf: Buffer, pos: number, len: number, byte: number): boolean {
  for (let i = pos; i < pos + len; i++) if (buf[i] === byte) return true;
  return false;
}

function checkName(name: Buffer, parent: readonly Buffer[]): void {
  const bad =
    name.length === 0
      ? 'is empty'
      : name.equals(dot) || name.equals(dotdot)
        ? 'is "." or ".."'
        : hasByte(name, 0, name.length, 0x2f)
          ? 'contains "/"'
          : hasByte(name, 0, name.length, 0)
            ? 'contains NUL'
            : undefined;
  if (bad !== undefined) throw new NarBadNameError(`entry name ${JSON.stringify(name.toString('latin1'))} in ${showPath(parent)} ${bad}; NAR names must be single path components`);
}

const dot = Buffer.from('.');
const dotdot = Buffer.from('..');

function showPath(path: readonly Buffer[]): string {
  return path.length === 0 ? '<root>' : path.map((p) => p.toString('utf8')).join('/');
}

/** A chunk as a Buffer over the same memory (no copy). */
const toBuffer = (chunk: Uint8Array): Buffer => (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));

/**
 * File contents handed to an async NarSink: the views NarParser reported for one file, queued
 * until the sink reads them. parseNar reads the next chunk only once the sink has taken what is
 * queued (`taken`), so at most one chunk's views wait here.
 */
class Contents implements AsyncIterable<Buffer> {
  readonly #queue: Buffer[] = [];
  #ended = false;
  #dropped = false;
  #wake: (() => void) | undefined;
  #takenWaiter: (() => void) | undefined;

  get ended(): boolean {
    return this.#ended;
  }

  push(data: Buffer): void {
    if (this.#dropped) return;
    this.#queue.push(data);
    this.#signal();
  }

  end(): void {
    this.#ended = true;
    this.#signal();
  }

  /** The sink stopped reading (its call settled): later contents are not kept. */
  drop(): void {
    this.#dropped = true;
    this.#queue.length = 0;
  }

  /** Resolves once the sink has taken every queued piece. */
  taken(): Promise<void> {
    if (this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#takenWaiter = resolve;
    });
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      const next = this.#queue.shift();
      if (next !== undefined) {
        if (this.#queue.length === 0) {
          const waiter = this.#takenWaiter;
          this.#takenWaiter = undefined;
          waiter?.();
        }
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }
}

type SinkCall = { file: Contents; run: () => Promise<void> } | { file?: undefined; run: () => Promise<void> | void };

/**
 * Parse a NAR from `source`, feeding an async `sink` in archive order (each call awaited before the
 * next); returns `{ narHash: 'sha256:<nix32>', narSize }`. Built on NarParser: a file's contents
 * reach the sink as the chunks carrying them arrive.
 */
export async function parseNar(
  source: AsyncIterable<Uint8Array>,
  sink: NarSink,
  limits: NarLimits = {},
  onChunk?: (bytes: number) => void,
): Promise<{ narHash: string; narSize: number }> {
  const calls: SinkCall[] = [];
  let contents: Contents | undefined;
  const parser = new NarParser(
    {
      directory: (path) => {
        const p = [...path];
        calls.push({ run: () => sink.directory(p) });
      },
      directoryEnd: (path) => {
        const p = [...path];
        calls.push({ run: () => sink.directoryEnd(p) });
      },
      fileStart: (path, executable, size) => {
        const p = [...path];
        const file = new Contents();
        contents = file;
        calls.push({ file, run: () => sink.file(p, executable, size, file) });
      },
      fileData: (data) => contents?.push(data),
      fileEnd: () => {
        contents?.end();
        contents = undefined;
      },
      symlink: (path, target) => {
        const p = [...path];
        const t = Buffer.from(target);
        calls.push({ run: () => sink.symlink(p, t) });
      },
    },
    limits,
  );
  // A file whose sink call runs while its contents still arrive.
  let open: { file: Contents; done: Promise<void>; settled: boolean } | undefined;
  const settle = async (): Promise<void> => {
    for (;;) {
      if (open !== undefined) {
        const file = open;
        if (!file.file.ended) {
          // Back-pressure: the next chunk is read once the sink has taken this one's contents, or
          // has settled without them (a failure is reported now; an early return drops the rest).
          await Promise.race([file.file.taken(), file.done.then(() => undefined, () => undefined)]);
          if (!file.settled) return;
          file.file.drop();
        }
        open = undefined;
        await file.done;
      }
      const call = calls.shift();
      if (call === undefined) return;
      if (call.file === undefined) {
        await call.run();
        continue;
      }
      const entry = { file: call.file, done: call.run(), settled: false };
      // Awaited in turn; an early failure must not go unhandled meanwhile.
      entry.done.then(
        () => (entry.settled = true),
        () => (entry.settled = true),
      );
      open = entry;
    }
  };
  try {
    const digest = await pushNar(source, parser, (chunk) => {
      onChunk?.(chunk.length);
      return settle();
    });
    await settle();
    return digest;
  } catch (err) {
    // Let a running sink call finish reading (or fail) before reporting.
    if (open !== undefined) {
      open.file.end();
      await open.done.catch(() => undefined);
    }
    throw err;
  }
}

/**
 * Push every chunk of `source` into `parser` and hash the archive (the one loop of parseNar,
 * unpackNar and hashNar); `after` runs on each chunk once it is parsed and hashed, and is awaited
 * when it returns a promise. Leaving early returns the source.
 */
export async function pushNar(
  source: AsyncIterable<Uint8Array>,
  parser: NarParser,
  after?: (chunk: Buffer) => Promise<void> | void,
): Promise<{ narHash: string; narSize: number }> {
  const hash = createHash('sha256');
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    const buf = toBuffer(chunk);
    parser.push(buf);
    hash.update(buf);
    const pending = after?.(buf);
    if (pending !== undefined) await pending;
  }
  parser.end();
  return { narHash: formatSha256(hash.digest()), narSize: parser.size };
}
