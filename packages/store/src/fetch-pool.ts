import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BinaryCacheClient, FoundNarinfo } from '@flox-k8s/nar';
import { StoreFetchError, StoreFetchWorkerMissingError } from './errors.ts';
import { deserializeError, type FetchWorkerConfig, type FetchedNar, type ToPool, type ToWorker } from './fetch-protocol.ts';

/** Progress of one NAR: compressed bytes in, NAR bytes out. */
export type NarProgress = (bytesIn: number, bytesOut: number, narSize: number) => void;

/** Downloads, verifies and unpacks one NAR into `dest` (see BinaryCacheClient.fetchNar). */
export interface NarFetcher {
  fetchNar(found: FoundNarinfo, dest: string, signal: AbortSignal, onProgress: NarProgress): Promise<FetchedNar>;
}

/** The in-process fetcher: the client's own fetchNar on the calling thread. */
export function inProcessFetcher(client: BinaryCacheClient): NarFetcher {
  return {
    fetchNar: (found, dest, signal, onProgress) =>
      client.fetchNar(found, dest, {
        signal,
        onProgress: (e) => {
          if (e.type === 'progress') onProgress(e.bytesIn, e.bytesOut, e.narSize);
        },
      }),
  };
}

interface PendingFetch {
  resolve: (r: FetchedNar) => void;
  reject: (err: unknown) => void;
  onProgress: NarProgress;
  worker: PoolWorker;
}

interface PoolWorker {
  worker: Worker;
  jobs: number;
  dead: boolean;
}

// Source checkouts run the TypeScript worker (and resolve workspace packages
// to their sources); built packages run the emitted JavaScript.
const fromSource = import.meta.url.endsWith('.ts');
/** The store's own worker module, beside this one (absent when the store was bundled). */
export const DEFAULT_FETCH_WORKER: URL = new URL(fromSource ? './fetch-worker-main.ts' : './fetch-worker-main.js', import.meta.url);
const sourceCondition = '--conditions=@flox-k8s/source';

/**
 * The worker module to start, checked before any thread starts: a store inside a bundle
 * (one file, or chunks in another directory) has no worker beside it, and a thread that
 * cannot load its module would only fail once NARs are already in flight.
 */
export function fetchWorkerModule(worker: URL | undefined): URL {
  const url = worker ?? DEFAULT_FETCH_WORKER;
  let file: string | undefined;
  try {
    file = fileURLToPath(url);
  } catch {
    file = undefined;
  }
  if (file === undefined || !existsSync(file)) {
    throw new StoreFetchWorkerMissingError(
      `the NAR fetch worker module ${url.href} does not exist; ${
        worker === undefined
          ? 'this store was bundled without it: emit an entry point calling runFetchWorker (@flox-k8s/store/fetch-worker) and pass its URL as Store.open\'s fetchWorker'
          : 'pass the URL of the entry point calling runFetchWorker (@flox-k8s/store/fetch-worker) as Store.open\'s fetchWorker'
      }, or realise with fetchWorkers: 0`,
    );
  }
  return url;
}

/**
 * fetchNar on worker threads. Each NAR is still one streamed pass
 * (download → decompress → parse + hash → write), but different NARs run on
 * different threads: on the main thread, NAR parsing, SHA-256 and the
 * synchronous creation of every file (≈0.5 ms of kernel time each on ext4)
 * all queue behind one another on one core. Jobs go to the least busy worker;
 * idle workers do not keep the process alive.
 */
export class FetchPool implements NarFetcher {
  readonly #config: FetchWorkerConfig;
  readonly #module: URL;
  readonly #execArgv: string[] | undefined;
  readonly #size: number;
  readonly #workers: PoolWorker[] = [];
  readonly #pending = new Map<number, PendingFetch>();
  #nextId = 1;
  #closed = false;

  /** `module`: a worker module checked by fetchWorkerModule. */
  constructor(config: FetchWorkerConfig, size: number, module: URL = DEFAULT_FETCH_WORKER) {
    this.#config = config;
    this.#module = module;
    // A TypeScript worker resolves workspace packages to their sources, as its parent does.
    this.#execArgv = module.pathname.endsWith('.ts') && !process.execArgv.includes(sourceCondition) ? [sourceCondition] : undefined;
    this.#size = Math.max(1, size);
    // Started now: thread start-up and module loading overlap the closure walk.
    for (let i = 0; i < this.#size; i++) this.#workers.push(this.#spawn());
  }

  #spawn(): PoolWorker {
    const worker = new Worker(this.#module, { workerData: this.#config, ...(this.#execArgv ? { execArgv: this.#execArgv } : {}) });
    const entry: PoolWorker = { worker, jobs: 0, dead: false };
    worker.unref();
    worker.on('message', (m: ToPool) => this.#onMessage(m));
    const die = (err: unknown): void => {
      if (entry.dead) return;
      entry.dead = true;
      for (const [id, p] of this.#pending) {
        if (p.worker !== entry) continue;
        this.#pending.delete(id);
        p.reject(new StoreFetchError(`a NAR fetch worker stopped: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
      }
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`exit code ${code}`)));
    return entry;
  }

  #onMessage(m: ToPool): void {
    const p = this.#pending.get(m.id);
    if (p === undefined) return;
    if (m.type === 'progress') {
      p.onProgress(m.bytesIn, m.bytesOut, m.narSize);
      return;
    }
    this.#pending.delete(m.id);
    if (--p.worker.jobs === 0) p.worker.worker.unref();
    if (m.type === 'done') p.resolve(m.result);
    else p.reject(deserializeError(m.error));
  }

  #pick(): PoolWorker {
    for (let i = this.#workers.length - 1; i >= 0; i--) if (this.#workers[i]?.dead) this.#workers.splice(i, 1);
    while (this.#workers.length < this.#size) this.#workers.push(this.#spawn());
    let best = this.#workers[0] as PoolWorker;
    for (const w of this.#workers) if (w.jobs < best.jobs) best = w;
    return best;
  }

  fetchNar(found: FoundNarinfo, dest: string, signal: AbortSignal, onProgress: NarProgress): Promise<FetchedNar> {
    if (this.#closed) return Promise.reject(new StoreFetchError('the NAR fetch pool is closed'));
    const worker = this.#pick();
    const id = this.#nextId++;
    return new Promise<FetchedNar>((resolve, reject) => {
      const onAbort = (): void => this.#post(worker, { type: 'abort', id });
      const settle = (): void => signal.removeEventListener('abort', onAbort);
      this.#pending.set(id, {
        resolve: (r) => (settle(), resolve(r)),
        reject: (e) => (settle(), reject(e)),
        onProgress,
        worker,
      });
      if (worker.jobs++ === 0) worker.worker.ref();
      this.#post(worker, { type: 'fetch', id, found, dest });
      // The worker answers an abort with an error once it has removed dest.
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #post(worker: PoolWorker, message: ToWorker): void {
    if (!worker.dead) worker.worker.postMessage(message);
  }

  /** Stops the workers once their current fetches are done. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      this.#workers.map(async (w) => {
        if (w.dead) return;
        const exited = new Promise<void>((resolve) => w.worker.once('exit', () => resolve()));
        this.#post(w, { type: 'close' });
        await exited;
      }),
    );
  }
}
