// The store's NAR fetch worker as an entry point of the interposer's bundle
// (lib/fetch-worker.mjs, beside lib/runc-interposer.mjs): a bundled store has no worker
// module of its own to start, so main.ts hands the store this one's URL.
import { runFetchWorker } from '@flox-k8s/store/fetch-worker';

runFetchWorker();
