import { FloxK8sError } from '@flox-k8s/core';

/** The agent's socket did not answer (absent, refused, timed out): realise in-process instead. */
export class AgentUnavailableError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_AGENT_UNAVAILABLE' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(AgentUnavailableError.code, message, options);
  }
}

/** The node agent's realise socket answered with something outside the protocol. */
export class AgentProtocolError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_AGENT_PROTOCOL' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(AgentProtocolError.code, message, options);
  }
}

/**
 * Realising a closure failed, through the agent or in-process. Its `code` is
 * `FLOXK8S_REALISE_FAILED`, or the code of the failure it reports (the agent's error
 * line, the store's error: `FLOXK8S_NAR_HASH_MISMATCH`, …), so the one failure line a
 * container start shows names the real cause.
 */
export class RealiseFailedError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_REALISE_FAILED' as const;

  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? RealiseFailedError.code, message, options);
  }
}

/** The agent answered with an error line; `code` is the agent's code. */
export function agentRealiseError(code: string, message: string): RealiseFailedError {
  return new RealiseFailedError(`node agent: ${message}`, { code });
}
