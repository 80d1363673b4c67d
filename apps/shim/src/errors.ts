import { FloxK8sError } from '@flox-k8s/core';

/** Command-line flags (install-layout, demo) are invalid. */
export class UsageError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_USAGE' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(UsageError.code, message, options);
  }
}

/** The demo cannot run on this machine: a tool or privilege is missing, or containerd is too old. */
export class DemoPrerequisiteError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_DEMO_PREREQUISITE' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(DemoPrerequisiteError.code, message, options);
  }
}
