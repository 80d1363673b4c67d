// The store's NAR fetch worker as an entry point of the agent's bundle (fetch-worker.mjs,
// beside agent.mjs): a bundled store has no worker module of its own to start, so main.ts
// hands the store this one's URL.
import { runFetchWorker } from '@flox-k8s/store/fetch-worker';

runFetchWorker();
