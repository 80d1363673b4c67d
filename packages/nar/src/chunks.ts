import { Readable, finished } from 'node:stream';

// Async iteration of a byte Readable (`for await`) reads in paused mode, where each read()
// returns the whole internal buffer concatenated: an extra copy of every byte (measured ~25% of
// dumpNar's CPU). Flowing mode hands chunks over as they were pushed, so we bridge 'data' events
// to an async iterator with a small queue and pause/resume for backpressure.
const HIGH = 8;
const LOW = 2;

/** Iterate a Readable's chunks without copying; other async iterables pass through. */
export function chunksOf(source: Readable | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (!(source instanceof Readable) || source.readableObjectMode) return source;
  return iterate(source);
}

async function* iterate(stream: Readable): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
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
    if (queue.length >= HIGH) stream.pause();
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
      const chunk = queue.shift();
      if (chunk !== undefined) {
        if (queue.length <= LOW && stream.isPaused() && failure === undefined) stream.resume();
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
