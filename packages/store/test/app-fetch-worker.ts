// What an application bundling the store ships as its fetch worker entry point (the shim's
// lib/fetch-worker.mjs, the node agent's fetch-worker.mjs): the store's worker, started by URL.
import { runFetchWorker } from '@flox-k8s/store/fetch-worker';

runFetchWorker();
