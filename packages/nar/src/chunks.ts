import { Readable, finished, type Writable } from 'node:stream';
import { releaseWhole } from './owned-chunks.ts';

// Async iteration of a byte Readable (`for await`) reads in paused mode, where each read()
// returns the whole internal buffer concatenated: an extra copy of every byte (measured ~25% of
// dumpNar's CPU). Flowing mode hands chunks over as they were pushed, so we bridge 'data' events
// to an async iterator with a small queue and pause/resume for backpressure.
const HIGH = 8;
const LOW = 2;

/**
 * Iterate a Readable's chunks without copying; other async iterables pass through. With
 * `batchBytes`, chunks already received are joined (one copy) into pieces of up to that size, and
 * up to that much is read ahead: sockets deliver ≤ 64 KiB reads, while a zlib decoder costs a
 * thread hand-off and a calling-thread callback per write. Nothing waits for a batch to fill.
 * With `releaseJoined` (only for a source whose chunks nobody else holds: a response body of our
 * own dispatcher), the chunks that were joined are freed at once (owned-chunks.ts, releaseWhole).
 */
export function chunksOf(source: Readable | AsyncIterable<Uint8Array>, opts: { batchBytes?: number; releaseJoined?: boolean } = {}): AsyncIterable<Uint8Array> {
  if (!(source instanceof Readable) || source.readableObjectMode) return source;
  return iterate(source, opts.batchBytes ?? 0, opts.releaseJoined === true);
}

/** Takes chunks off the front of `queue` while they fit in `max` bytes (at least one) and joins them. */
function takeBatch(queue: Uint8Array[], max: number, release: boolean): Uint8Array {
  const first = queue.shift() as Uint8Array;
  if (max === 0 || queue.length === 0 || first.length + (queue[0] as Uint8Array).length > max) return first;
  const parts = [first];
  let size = first.length;
  while (queue.length > 0 && size + (queue[0] as Uint8Array).length <= max) {
    const next = queue.shift() as Uint8Array;
    parts.push(next);
    size += next.length;
  }
  const joined = Buffer.concat(parts, size);
  if (release) for (const part of parts) releaseWhole(part);
  return joined;
}

async function* iterate(stream: Readable, batchBytes: number, release: boolean): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Uint8Array): void => {
    queue.push(chunk);
    queued += chunk.length;
    if (queue.length >= HIGH && queued >= batchBytes) stream.pause();
    signal();
  };
  stream.on('data', onData);
  const cleanup = finished(stream, (err) => {
    if (err) failure = err;
    else ended = true;
    signal();
  });
  try {
    for (;;) {
      if (queue.length > 0) {
        const chunk = takeBatch(queue, batchBytes, release);
        queued -= chunk.length;
        if ((queue.length <= LOW || queued < batchBytes) && stream.isPaused() && failure === undefined) stream.resume();
        yield chunk;
        continue;
      }
      if (failure !== undefined) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stream.off('data', onData);
    if (!ended) {
      // The consumer stopped early (it failed or returned). Destroying makes some sources
      // (undici bodies) emit a late 'error' such as "Request aborted"; with no listener
      // left that would be an uncaught exception, so swallow what comes after we left.
      stream.on('error', () => {});
      stream.destroy();
    }
    cleanup();
  }
}

/** Resolves once `stream` emits 'drain' (a write returned false) or closes, whichever comes first. */
export function drainedOrClosed(stream: Writable): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
