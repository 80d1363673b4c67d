// Worker-thread side of FetchPool (fetch-pool.ts): runs BinaryCacheClient.fetchNar
// for the paths the pool hands it. NAR parsing, hashing and the synchronous file
// creation of unpacking then happen off the store's main thread, on both cores.
import { parentPort, workerData } from 'node:worker_threads';
import { BinaryCacheClient, type FoundNarinfo } from '@flox-k8s/nar';
import { serializeError, type FetchWorkerConfig, type ToPool, type ToWorker } from './fetch-protocol.ts';

const port = parentPort;
if (port === null) throw new Error('fetch-worker.ts must run in a worker thread');
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
