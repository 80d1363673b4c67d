import { FloxK8sError } from '@flox-k8s/core';

/**
 * Base class of every error thrown by `@flox-k8s/nix-fixtures`. `instanceof` is answered by
 * the `@flox-k8s/core` brand: each class for its own code, so a fixture error is not a
 * NixCommandError unless it is one.
 */
export class NixFixturesError extends FloxK8sError {
  static override readonly family = '@flox-k8s/nix-fixtures' as const;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'NixFixturesError';
  }
}

/** A Nix command (nix-build, nix copy, …) exited non-zero or could not be started. */
export class NixCommandError extends NixFixturesError {
  static override readonly code = 'FLOXK8S_FIXTURE_NIX_FAILED' as const;
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(command: string, exitCode: number | null, stderr: string, options?: { cause?: unknown }) {
    const tail = stderr.trim().split('\n').slice(-15).join('\n');
    super(
      `expected \`${command}\` to succeed, but it ${exitCode === null ? 'could not run' : `exited with ${exitCode}`}` +
        `${tail ? `:\n${tail}` : ''}\nCheck that Nix is installed (nix-bin) and that you are root.`,
      'FLOXK8S_FIXTURE_NIX_FAILED',
      options,
    );
    this.name = 'NixCommandError';
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Another process held the fixture build lock for longer than the wait bound. */
export class FixtureLockTimeoutError extends NixFixturesError {
  static override readonly code = 'FLOXK8S_FIXTURE_LOCK_TIMEOUT' as const;
  constructor(lockPath: string, waitedMs: number, holder: string) {
    super(
      `expected to take the fixture build lock ${lockPath} within ${Math.round(waitedMs / 1000)} s, ` +
        `but it is still held (${holder}). If no build is running, delete the lock file.`,
      'FLOXK8S_FIXTURE_LOCK_TIMEOUT',
    );
    this.name = 'FixtureLockTimeoutError';
  }
}

/** A cached `manifest.json` (or another file the builder wrote) does not have the expected shape. */
export class FixtureManifestInvalidError extends NixFixturesError {
  static override readonly code = 'FLOXK8S_FIXTURE_MANIFEST_INVALID' as const;
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super(
      `expected ${file} to be a fixture manifest, but ${detail}. Delete the directory to rebuild it.`,
      'FLOXK8S_FIXTURE_MANIFEST_INVALID',
      options,
    );
    this.name = 'FixtureManifestInvalidError';
  }
}

/** A required host input (the static busybox binary, …) is missing. */
export class FixtureInputMissingError extends NixFixturesError {
  static override readonly code = 'FLOXK8S_FIXTURE_INPUT_MISSING' as const;
  constructor(what: string, path: string, hint: string, options?: { cause?: unknown }) {
    super(`expected ${what} at ${path}, but it is not there. ${hint}`, 'FLOXK8S_FIXTURE_INPUT_MISSING', options);
    this.name = 'FixtureInputMissingError';
  }
}

/** A Nix command succeeded but printed something other than what the builder relies on. */
export class NixOutputUnexpectedError extends NixFixturesError {
  static override readonly code = 'FLOXK8S_FIXTURE_NIX_OUTPUT_UNEXPECTED' as const;
  constructor(command: string, expected: string, found: string) {
    super(
      `expected \`${command}\` to print ${expected}, but it printed ${found}. Check the Nix version (2.8+ is supported).`,
      'FLOXK8S_FIXTURE_NIX_OUTPUT_UNEXPECTED',
    );
    this.name = 'NixOutputUnexpectedError';
  }
}

/** The host's packages cannot be laid out as a store closure (an unresolvable library, a file collision, a reference cycle). */
export class FixturePlanInvalidError extends NixFixturesError {
  constructor(detail: string, hint: string) {
    super(`expected the machine's packages to lay out as a store closure, but ${detail}. ${hint}`, 'FLOXK8S_FIXTURE_PLAN_INVALID');
    this.name = 'FixturePlanInvalidError';
  }
}
