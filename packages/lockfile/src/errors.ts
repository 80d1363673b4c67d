import { FloxK8sError } from '@flox-k8s/core';

/** One problem found in an input, with a readable path such as `packages[3].outputs.out`. */
export interface LockfileIssue {
  path: string;
  message: string;
}

/**
 * Base class of every error this package throws. Assert on `code`. `instanceof` holds
 * across duplicate installs (the `@flox-k8s/core` error base).
 */
export class LockfileError extends FloxK8sError {
  static override readonly family = '@flox-k8s/lockfile' as const;
}

/** The lockfile is not valid JSON or does not match lockfile-version 1. */
export class LockfileInvalidError extends LockfileError {
  static override readonly code = 'FLOXK8S_LOCKFILE_INVALID' as const;
  /** Every problem found, first one also in the message. */
  readonly issues: LockfileIssue[];

  constructor(issues: LockfileIssue[], options?: { cause?: unknown }) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    const where = first === undefined ? 'lockfile' : first.path === '' ? '(root)' : first.path;
    super(
      LockfileInvalidError.code,
      `invalid Flox lockfile: ${where}: ${first?.message ?? 'unknown problem'}${more}. ` +
        'Re-lock the environment with a current Flox (`flox update` / `flox push`) and publish it again.',
      options,
    );
    this.issues = issues;
  }
}

/** The lockfile declares a `lockfile-version` this package does not read (only 1 is). */
export class LockfileVersionUnsupportedError extends LockfileError {
  static override readonly code = 'FLOXK8S_LOCKFILE_VERSION_UNSUPPORTED' as const;
  readonly found: unknown;

  constructor(found: unknown) {
    super(
      LockfileVersionUnsupportedError.code,
      `unsupported lockfile-version: expected 1, found ${describe(found)}. ` +
        'Lock the environment with Flox ≥ 1.0, which writes lockfile-version 1.',
    );
    this.found = found;
  }
}

/** The requested system has no entries in the lockfile. */
export class SystemNotInLockfileError extends LockfileError {
  static override readonly code = 'FLOXK8S_SYSTEM_NOT_IN_LOCKFILE' as const;
  readonly system: string;
  /** The systems the lockfile does have. */
  readonly systems: string[];

  constructor(system: string, systems: string[]) {
    super(
      SystemNotInLockfileError.code,
      `the lockfile has nothing for system ${JSON.stringify(system)}; it has ` +
        `${systems.length === 0 ? 'no systems at all' : systems.join(', ')}. ` +
        'Add the system to `options.systems` in the manifest and lock again, or schedule the pod on a matching node.',
    );
    this.system = system;
    this.systems = systems;
  }
}

/** An environment reference (`owner/name[:N|@sha256:<hex>]`) is malformed or hostile. */
export class EnvironmentRefInvalidError extends LockfileError {
  static override readonly code = 'FLOXK8S_ENV_REF_INVALID' as const;
  /** The offending input, truncated to 200 characters. */
  readonly input: string;

  constructor(input: string, reason: string) {
    const shown = input.length > 200 ? `${input.slice(0, 200)}…` : input;
    super(
      EnvironmentRefInvalidError.code,
      `invalid environment reference ${JSON.stringify(shown)}: ${reason}. ` +
        'Expected owner/name, owner/name:<generation> or owner/name@sha256:<64 hex digits>.',
    );
    this.input = shown;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'no lockfile-version';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** `activationPlan` was called with options it cannot use (e.g. a relative `envDir`). */
export class ActivationOptionsInvalidError extends LockfileError {
  static override readonly code = 'FLOXK8S_ACTIVATION_OPTIONS_INVALID' as const;

  constructor(reason: string) {
    super(ActivationOptionsInvalidError.code, `invalid activation options: ${reason}.`);
  }
}
