// Worker-thread side of FetchPool (fetch-pool.ts): runs BinaryCacheClient.fetchNar
// for the paths the pool hands it. NAR parsing, hashing and the synchronous file
// creation of unpacking then happen off the store's main thread, on both cores.
import { parentPort, workerData } from 'node:worker_threads';
import { BinaryCacheClient, type FoundNarinfo } from '@flox-k8s/nar';
import { StoreOptionsError } from './errors.ts';
import { serializeError, type FetchWorkerConfig, type ToPool, type ToWorker } from './fetch-protocol.ts';

/**
 * Serves a FetchPool from inside its worker thread. The store starts its own worker
 * module by default; a bundle of the store (which has no file beside it to start)
 * emits an entry point that calls this and passes its URL as `Store.open`'s
 * `fetchWorker` (`@flox-k8s/store/fetch-worker`).
 */
export function runFetchWorker(): void {
  const port = parentPort;
  if (port === null) throw new StoreOptionsError('runFetchWorker: expected to run in a worker thread started by the store, found the main thread');
  const config = workerData as FetchWorkerConfig;
  const client = new BinaryCacheClient({
    caches: config.caches,
    trustedKeys: config.trustedKeys,
    storeDir: config.storeDir,
    concurrency: config.concurrency,
    decoders: config.decoders,
  });
  const running = new Map<number, AbortController>();
  const post = (message: ToPool): void => port.postMessage(message);

  async function fetch(id: number, found: FoundNarinfo, dest: string): Promise<void> {
    const controller = new AbortController();
    running.set(id, controller);
    try {
      const result = await client.fetchNar(found, dest, {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === 'progress') post({ type: 'progress', id, bytesIn: e.bytesIn, bytesOut: e.bytesOut, narSize: e.narSize });
        },
      });
      post({ type: 'done', id, result });
    } catch (err) {
      post({ type: 'error', id, error: serializeError(err) });
    } finally {
      running.delete(id);
    }
  }

  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'fetch':
        void fetch(message.id, message.found, message.dest);
        break;
      case 'abort':
        running.get(message.id)?.abort(new Error('fetch aborted by the store'));
        break;
      case 'close':
        void client.close().finally(() => port.close());
        break;
    }
  });
}
