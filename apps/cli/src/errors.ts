import { FloxK8sError } from '@flox-k8s/core';

/** Base class of the CLI's own errors; every other package's errors pass through with their codes. */
export class CliError extends FloxK8sError {
  static override readonly family = '@flox-k8s/cli' as const;
}

/** The command line is wrong: unknown command or flag, a missing argument, a value that fails validation. Exit 2. */
export class CliUsageError extends CliError {
  static override readonly code = 'FLOXK8S_CLI_USAGE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(CliUsageError.code, message, options);
  }
}

/** A file named on the command line cannot be read or written. */
export class CliFileError extends CliError {
  static override readonly code = 'FLOXK8S_CLI_FILE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(CliFileError.code, message, options);
  }
}

/** `doctor` found problems (its report says which, each with its own code and next step). */
export class DoctorProblemsError extends CliError {
  static override readonly code = 'FLOXK8S_CLI_DOCTOR_PROBLEMS' as const;
  constructor(message: string) {
    super(DoctorProblemsError.code, message);
  }
}

/** No kubeconfig to use, or one that cannot be loaded (`who-uses`, `status`). */
export class CliKubeconfigError extends CliError {
  static override readonly code = 'FLOXK8S_CLI_KUBECONFIG' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(CliKubeconfigError.code, message, options);
  }
}

/** No node agent pod matched the namespace and selector: nothing could be asked. */
export class CliNoAgentsError extends CliError {
  static override readonly code = 'FLOXK8S_CLI_NO_AGENTS' as const;
  constructor(message: string) {
    super(CliNoAgentsError.code, message);
  }
}

/** Some node agents could not answer (without `--allow-incomplete`), or none did: the answer may miss what they hold. */
export class CliFleetIncompleteError extends CliError {
  static override readonly code = 'FLOXK8S_CLI_FLEET_INCOMPLETE' as const;
  constructor(message: string) {
    super(CliFleetIncompleteError.code, message);
  }
}

/** The code a failure is reported under; errors from outside flox-k8s get one too. */
export const UNEXPECTED_CODE = 'FLOXK8S_CLI_UNEXPECTED';

/** Exit codes: 0 ok, 1 the command failed, 2 the command line is wrong. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
