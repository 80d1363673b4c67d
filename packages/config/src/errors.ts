import { FloxK8sError } from '@flox-k8s/core';

/** The config file (or a secret file it names) is missing, unreadable or does not match the schema. */
export class ConfigInvalidError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_CONFIG_INVALID' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(ConfigInvalidError.code, message, options);
  }
}
