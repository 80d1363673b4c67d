import { errorCode, FloxK8sError } from '@flox-k8s/core';

/** Base class of every error the node agent raises; `code` is stable, messages are not. */
export class AgentError extends FloxK8sError {
  static override readonly family = '@flox-k8s/node-agent' as const;
}

/** A host command (containerd --version, restart) failed. */
export class HostCommandError extends AgentError {
  static override readonly code = 'FLOXK8S_AGENT_HOST_COMMAND_FAILED' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(HostCommandError.code, message, options);
  }
}

/** Install state on the host is missing or does not match what is on disk. */
export class InstallStateError extends AgentError {
  static override readonly code = 'FLOXK8S_AGENT_INSTALL_STATE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(InstallStateError.code, message, options);
  }
}

/** Agent configuration (file or environment) failed validation. */
export class AgentConfigInvalidError extends AgentError {
  static override readonly code = 'FLOXK8S_AGENT_CONFIG_INVALID' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(AgentConfigInvalidError.code, message, options);
  }
}

/** A realise request on the local socket was malformed. */
export class RealiseRequestInvalidError extends AgentError {
  static override readonly code = 'FLOXK8S_AGENT_REQUEST_INVALID' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(RealiseRequestInvalidError.code, message, options);
  }
}

/** A realise was cancelled because every waiting client went away or the agent stopped. */
export class RealiseCancelledError extends AgentError {
  static override readonly code = 'FLOXK8S_AGENT_REALISE_CANCELLED' as const;
  constructor(message: string) {
    super(RealiseCancelledError.code, message);
  }
}

/** The agent image's inputs are unusable (a binary whose libraries ldd cannot list). */
export class AgentImageInputError extends AgentError {
  static override readonly code = 'FLOXK8S_AGENT_IMAGE_INPUT' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(AgentImageInputError.code, message, options);
  }
}

/** The stub image could not be put into containerd's image store. */
export class StubImageError extends AgentError {
  static override readonly code = 'FLOXK8S_AGENT_STUB_IMAGE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(StubImageError.code, message, options);
  }
}

/** `uninstall` was asked for on a node where the agent still runs (it would install again on its next start). */
export class AgentStillRunningError extends AgentError {
  static override readonly code = 'FLOXK8S_AGENT_STILL_RUNNING' as const;
  constructor(message: string) {
    super(AgentStillRunningError.code, message);
  }
}

/** The code an error is counted and reported under (metrics, events, the socket's error line). */
export function codeLabel(error: unknown): string {
  return errorCode(error) ?? 'FLOXK8S_AGENT_UNKNOWN';
}
