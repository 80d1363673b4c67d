// Decoded chunks that this package allocated and nobody else has seen. Their memory can be handed
// back the moment they have been hashed and written, instead of waiting for a GC: V8 collects
// dead ArrayBuffers only every ~64 MB of external allocation, which was a third of the client's
// peak RSS while streaming a large NAR (bench/rss.ts). Detaching frees the memory at once, and
// the decoder's next output buffer reuses it (no fresh pages to fault in).
const owned = new WeakSet<ArrayBufferLike>();

/** Mark `chunk` as released-on-consume if its ArrayBuffer is exactly the decoder's own output buffer. */
export function markOwned(chunk: Uint8Array, outputBufferSize: number): void {
  // Pool-allocated (small) buffers share their ArrayBuffer with unrelated data: never those.
  if (outputBufferSize > Buffer.poolSize >>> 1 && chunk.buffer.byteLength === outputBufferSize) owned.add(chunk.buffer);
}

/**
 * Free the memory behind a consumed chunk if it is owned and the decoder has moved on from its
 * buffer (the chunk ends where the buffer ends: zlib fills an output buffer front to back and
 * takes a new one once it is full). Earlier slices of the same buffer were consumed before.
 */
export function releaseChunk(chunk: Uint8Array): void {
  const ab = chunk.buffer;
  if (ab instanceof ArrayBuffer && owned.has(ab) && !ab.detached && chunk.byteOffset + chunk.byteLength === ab.byteLength) {
    owned.delete(ab);
    ab.transfer(0);
  }
}

/** ArrayBuffers that a one-shot decode produced and only its result views (see markWholeOwned). */
const wholeOwned = new WeakSet<ArrayBufferLike>();

/**
 * Mark a one-shot zlib result as ours alone. zlib hands back its single output buffer sliced to
 * what was decoded, so the view is usually shorter than its ArrayBuffer (decodeZstdWhole sizes that
 * buffer NarSize + 1 to detect overlong output): releaseWhole's own test would keep it, and every
 * whole NAR's decoded bytes stayed allocated until a GC (116 MB of them per *large* realise; the
 * agent's peak RSS went from 180–213 to 162–177 MB with this mark). Only a view at offset 0 of a buffer larger than Buffer's pool
 * qualifies: pool slabs are shared.
 */
export function markWholeOwned(buf: Uint8Array): void {
  if (buf.byteOffset === 0 && buf.buffer.byteLength > Buffer.poolSize) wholeOwned.add(buf.buffer);
}

/** Whether `buf` is the whole of an ArrayBuffer of its own: larger than half of Buffer's pool, whose slabs are shared. */
function wholeOfItsOwn(buf: Uint8Array): boolean {
  return buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer.byteLength > Buffer.poolSize >>> 1;
}

/**
 * Free a buffer once nothing reads it any more: one that is the whole of its own ArrayBuffer
 * (allocUnsafeSlow, a concatenated zlib result) or one marked by markWholeOwned.
 */
export function releaseWhole(buf: Uint8Array): void {
  const ab = buf.buffer;
  if (!(ab instanceof ArrayBuffer) || ab.detached) return;
  if (wholeOfItsOwn(buf) || wholeOwned.has(ab)) {
    wholeOwned.delete(ab);
    ab.transfer(0);
  }
}

/** Compressed input that is ours alone (see markInputOwned). */
const ownedInput = new WeakSet<ArrayBufferLike>();

/**
 * Mark a received chunk, already hashed, as ours alone: a socket read of a response body of our own
 * dispatcher, or a batch chunksOf joined. A decoder frees it once it has consumed the last byte
 * (releaseInput): otherwise these dead 64 KiB–1 MiB buffers waited for V8's next GC, which runs
 * only every ~64 MB of them. Only a chunk that is the whole of its own (unpooled) ArrayBuffer qualifies.
 */
export function markInputOwned(chunk: Uint8Array): void {
  if (wholeOfItsOwn(chunk)) ownedInput.add(chunk.buffer);
}

/** Free a marked input chunk once a decoder has consumed `view`, if `view` ends where its ArrayBuffer does (earlier views of it were consumed before). */
export function releaseInput(view: Uint8Array): void {
  const ab = view.buffer;
  if (ab instanceof ArrayBuffer && ownedInput.has(ab) && !ab.detached && view.byteOffset + view.byteLength === ab.byteLength) {
    ownedInput.delete(ab);
    ab.transfer(0);
  }
}
