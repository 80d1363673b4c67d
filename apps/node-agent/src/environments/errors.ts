import { AgentError } from '../errors.ts';

/** A request to the agent's HTTP port that it cannot answer as asked (bad digest, bad format). */
export class AgentHttpBadRequestError extends AgentError {
  static override readonly code = 'FLOXK8S_AGENT_HTTP_BAD_REQUEST' as const;
  constructor(message: string) {
    super(AgentHttpBadRequestError.code, message);
  }
}

/** No environment with that lockfile digest was realised on this node (or it was forgotten). */
export class EnvironmentUnknownError extends AgentError {
  static override readonly code = 'FLOXK8S_AGENT_ENVIRONMENT_UNKNOWN' as const;
  constructor(message: string) {
    super(EnvironmentUnknownError.code, message);
  }
}

/** The environment is known, but part of its closure is no longer in the store (collected). */
export class EnvironmentNotRealisedError extends AgentError {
  static override readonly code = 'FLOXK8S_AGENT_ENVIRONMENT_NOT_REALISED' as const;
  constructor(message: string) {
    super(EnvironmentNotRealisedError.code, message);
  }
}
