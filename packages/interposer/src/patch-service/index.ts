/**
 * `@flox-k8s/shim/patch-service`: the runc front's `create`/`exec` work as a long-lived
 * service (run by the node agent), so a warm container start pays no Node start-up.
 * @module
 */
export { listenPatchService, type PatchService, type PatchServiceOptions } from './server.ts';
export type { PatchRequestReport } from './handle.ts';
export { REQUEST_FIFO, REPLIES_DIR, parsePatchRequest, type PatchRequest, type PatchSubcommand } from './protocol.ts';
export { PatchServiceError, CreateTimeoutError } from './errors.ts';
