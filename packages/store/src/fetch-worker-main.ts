// The store's own fetch worker module: what FetchPool starts unless `Store.open` was
// given another `fetchWorker` (a bundle's entry point calling runFetchWorker).
import { runFetchWorker } from './fetch-worker.ts';

runFetchWorker();
