/**
 * `@flox-k8s/agent-protocol`: the node agent's two wire protocols, for both ends.
 *
 * The realise service: HTTP/1.1 over a unix socket. `POST /v1/realise` with a JSON {@link RealiseRequest};
 * the answer is `200` with `application/x-ndjson`: any number of `progress` lines,
 * then exactly one `done` or `error` line, then the stream ends.
 *
 * The patch service: the runc front (sh) hands `create`/`exec` to the agent over FIFOs
 * in a root-only directory (see `patch-protocol.ts`).
 *
 * The environment listing: `GET /environments` and `GET /environments/<digest>/sbom` on
 * the agent's HTTP port (see `environments-api.ts`); its status: `GET /status` (see `status-api.ts`).
 * @module
 */
export {
  REALISE_PATH,
  NDJSON_CONTENT_TYPE,
  realiseRequestSchema,
  realiseEventSchema,
  formatRealiseEvent,
  type RealiseRequest,
  type RealiseEvent,
  type RealiseProgress,
  type RealiseDone,
  type RealiseErrorEvent,
} from './schema.ts';
export { realiseViaAgent, type RealiseViaAgentOptions } from './client.ts';
export { AgentUnavailableError, AgentProtocolError, RealiseFailedError, agentRealiseError } from './errors.ts';
export {
  ACCEPT_AFTER_MS,
  CLAIMS_DIR,
  FRONT_CONFIG_NAME,
  FRONT_SCRIPT_NAME,
  MAX_REQUEST_LINE,
  POOL_PREFIX,
  REPLIES_DIR,
  REPLY_ACCEPTED,
  REPLY_DECLINE,
  REPLY_OK,
  REQUEST_FIFO,
  claimFile,
  isPoolSlot,
  parsePatchRequest,
  replyFail,
  replyFifo,
  requestFifo,
  type PatchRequest,
  type PatchSubcommand,
} from './patch-protocol.ts';
export {
  ENVIRONMENTS_PATH,
  SBOM_CONTENT_TYPES,
  SBOM_FORMATS,
  agentHttpErrorSchema,
  environmentSbomPath,
  nodeEnvironmentsSchema,
  type AgentHttpError,
  type ClosureEntry,
  type NodeEnvironment,
  type NodeEnvironments,
  type PodUse,
  type SbomFormat,
} from './environments-api.ts';
export { STATUS_PATH, nodeStatusSchema, type FileSystemUsage, type GcPassReport, type NodeStatus } from './status-api.ts';
