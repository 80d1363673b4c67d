const brand: unique symbol = Symbol.for('flox-k8s.node-agent.error');

/** Base class of every error the node agent raises; `code` is stable, messages are not. */
export class AgentError extends Error {
  readonly code: string;
  readonly [brand] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== AgentError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

/** The containerd config (or an imported file) is not valid TOML or has an unusable shape. */
export class ContainerdConfigInvalidError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_AGENT_CONTAINERD_CONFIG_INVALID', message, options);
  }
}

/** A `flox` runtime exists that the agent did not add; it refuses to overwrite it. */
export class ContainerdRuntimeConflictError extends AgentError {
  constructor(message: string) {
    super('FLOXK8S_AGENT_CONTAINERD_RUNTIME_CONFLICT', message);
  }
}

/** `containerd --version` printed something the agent cannot read. */
export class ContainerdVersionError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_AGENT_CONTAINERD_VERSION', message, options);
  }
}

/** A host command (containerd --version, restart) failed. */
export class HostCommandError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_AGENT_HOST_COMMAND_FAILED', message, options);
  }
}

/** Install state on the host is missing or does not match what is on disk. */
export class InstallStateError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_AGENT_INSTALL_STATE', message, options);
  }
}

/** Agent configuration (file or environment) failed validation. */
export class AgentConfigInvalidError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_AGENT_CONFIG_INVALID', message, options);
  }
}

/** A realise request on the local socket was malformed. */
export class RealiseRequestInvalidError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_AGENT_REQUEST_INVALID', message, options);
  }
}

/** A realise was cancelled because every waiting client went away or the agent stopped. */
export class RealiseCancelledError extends AgentError {
  constructor(message: string) {
    super('FLOXK8S_AGENT_REALISE_CANCELLED', message);
  }
}

/** The Kubernetes API answered with an error. */
export class KubeApiError extends AgentError {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super('FLOXK8S_AGENT_KUBE_API', message, options);
    this.status = status;
  }
}

/** Error code of any thrown value, for metrics and events. */
export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
    return (error as { code: string }).code;
  }
  return 'FLOXK8S_AGENT_UNKNOWN';
}
