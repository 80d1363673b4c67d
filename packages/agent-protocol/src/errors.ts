import { RealiseFailedError, ShimError } from '../errors.ts';

/** The agent's socket did not answer (absent, refused, timed out): realise in-process instead. */
export class AgentUnavailableError extends ShimError {
  override readonly code = 'FLOXK8S_AGENT_UNAVAILABLE';
}

export { AgentProtocolError, RealiseFailedError } from '../errors.ts';

/** The agent answered with an error line; `code` is the agent's code. */
export function agentRealiseError(code: string, message: string): RealiseFailedError {
  return new RealiseFailedError(`node agent: ${message}`, { code });
}
