/**
 * `@flox-k8s/shim/agent-protocol`: the node agent's local realise service.
 *
 * HTTP/1.1 over a unix socket. `POST /v1/realise` with a JSON {@link RealiseRequest};
 * the answer is `200` with `application/x-ndjson`: any number of `progress` lines,
 * then exactly one `done` or `error` line, then the stream ends.
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
export { AgentUnavailableError, AgentProtocolError, RealiseFailedError } from './errors.ts';
