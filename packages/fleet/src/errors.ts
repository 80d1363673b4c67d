import { FloxK8sError } from '@flox-k8s/core';

/** Base class of this package's errors; assert on `code`. */
export class FleetError extends FloxK8sError {
  static override readonly family = '@flox-k8s/fleet' as const;
}

/** The agent pod is not running, has no IP or declares no usable port: nothing was asked. */
export class AgentNotRunningError extends FleetError {
  static override readonly code = 'FLOXK8S_FLEET_AGENT_NOT_RUNNING' as const;
  constructor(message: string) {
    super(AgentNotRunningError.code, message);
  }
}

/** The API server could not reach the agent (the pod proxy answered 502/503/504). */
export class AgentUnreachableError extends FleetError {
  static override readonly code = 'FLOXK8S_FLEET_AGENT_UNREACHABLE' as const;
  readonly status: number;
  constructor(message: string, status: number) {
    super(AgentUnreachableError.code, message);
    this.status = status;
  }
}

/** The agent (or the API server for it) answered with an HTTP error; `agentCode` is the agent's own error code when it sent one. */
export class AgentHttpError extends FleetError {
  static override readonly code = 'FLOXK8S_FLEET_AGENT_HTTP' as const;
  readonly status: number;
  readonly agentCode: string | undefined;
  constructor(message: string, status: number, agentCode: string | undefined) {
    super(AgentHttpError.code, message);
    this.status = status;
    this.agentCode = agentCode;
  }
}

/** The agent answered 200 with something that is not the protocol's document. */
export class AgentAnswerInvalidError extends FleetError {
  static override readonly code = 'FLOXK8S_FLEET_AGENT_ANSWER_INVALID' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(AgentAnswerInvalidError.code, message, options);
  }
}

/** Options that cannot select agents (a bad namespace, selector, port, concurrency or timeout). */
export class FleetOptionsInvalidError extends FleetError {
  static override readonly code = 'FLOXK8S_FLEET_OPTIONS_INVALID' as const;
  constructor(message: string) {
    super(FleetOptionsInvalidError.code, message);
  }
}
