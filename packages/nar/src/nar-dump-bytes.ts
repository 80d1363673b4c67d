import { readSync } from 'node:fs';
import { NarUnsupportedFileError } from './errors.ts';
import { STREAM_CHUNK, dumpArchive, type NarWriter } from './nar-dump.ts';

// dumpNar's Readable must hand out a fresh buffer per chunk, and on this kind of VM fresh memory is
// what costs (bench/dump.ts: reading the tree into fresh buffers, with no NAR and no stream, already
// takes 1.3x nix-store --dump). A WHATWG byte stream lets the consumer bring the buffer: with a BYOB
// reader the NAR is written straight into the reader's own (reused) memory, as nix-store does.

const ZEROS = Buffer.alloc(8);

/** Writes the archive into the view of the current read request; what does not fit waits for the next one. */
class ViewWriter implements NarWriter {
  #view: Uint8Array = new Uint8Array(0);
  #pos = 0;
  // Token bytes that did not fit the last view, in order; non-empty only while the view is full
  // (file contents are only read when there is room).
  readonly #spill: Buffer[] = [];

  /** Start filling `view`; bytes left over from the last one come first. */
  target(view: Uint8Array): void {
    this.#view = view;
    this.#pos = 0;
    while (this.#spill.length > 0 && this.#pos < view.length) {
      const head = this.#spill[0] as Buffer;
      const n = Math.min(head.length, view.length - this.#pos);
      view.set(head.subarray(0, n), this.#pos);
      this.#pos += n;
      if (n === head.length) this.#spill.shift();
      else this.#spill[0] = head.subarray(n);
    }
  }

  get written(): number {
    return this.#pos;
  }

  get full(): boolean {
    return this.#pos === this.#view.length;
  }

  get drained(): boolean {
    return this.#spill.length === 0;
  }

  put(bytes: Buffer): void {
    // While bytes wait in the spill the view is full (target() drains the spill first), so
    // nothing is written here then and the order holds.
    const n = Math.min(bytes.length, this.#view.length - this.#pos);
    this.#view.set(n === bytes.length ? bytes : bytes.subarray(0, n), this.#pos);
    this.#pos += n;
    // Tokens are shared constants: keep a view of the rest, never a copy that could be written to.
    if (n < bytes.length) this.#spill.push(bytes.subarray(n));
  }

  u64(n: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeUInt32LE(n % 0x100000000, 0);
    b.writeUInt32LE(Math.floor(n / 0x100000000), 4);
    this.put(b);
  }

  pad(len: number): void {
    const rem = len % 8;
    if (rem !== 0) this.put(ZEROS.subarray(0, 8 - rem));
  }

  str(s: Buffer): void {
    this.u64(s.length);
    this.put(s);
    this.pad(s.length);
  }

  read(fd: number, want: number, position: number, path: Buffer): number {
    const room = this.#view.length - this.#pos;
    if (room === 0) return 0;
    const got = readSync(fd, this.#view, this.#pos, Math.min(room, want), position);
    if (got === 0) throw new NarUnsupportedFileError(`${path.toString()}: file shrank while being archived`);
    this.#pos += got;
    return got;
  }

  end(): void {}
}

/**
 * The NAR of the tree at `path` (byte-identical to `nix-store --dump`) as a WHATWG byte stream.
 * Read it with a BYOB reader (`stream.getReader({ mode: 'byob' })`) to have the archive written into
 * your own buffer, which you may reuse for the next read: no allocation per chunk. A default reader
 * (or `for await`) gets fresh chunks of up to 1 MiB, as from dumpNar. Errors are NarErrors or fs errors.
 */
export function dumpNarByteStream(path: string): ReadableStream<Uint8Array> {
  const out = new ViewWriter();
  const steps = dumpArchive(path, out);
  let finished = false;
  return new ReadableStream({
    type: 'bytes',
    // Default readers get buffers of this size: every pull then has a view to fill.
    autoAllocateChunkSize: STREAM_CHUNK,
    pull(controller) {
      const request = controller.byobRequest;
      if (request === null) throw new Error('dumpNarByteStream: a pull without a read request');
      const view = request.view as Uint8Array;
      out.target(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      while (!out.full && !finished) finished = steps.next().done === true;
      const n = out.written;
      if (n > 0) request.respond(n);
      if (finished && out.drained) {
        controller.close();
        // A read still waiting once the stream is closed must be answered with 0 bytes.
        if (n === 0) request.respond(0);
      }
    },
    cancel() {
      steps.return(undefined);
    },
  });
}
