import { FloxK8sError } from '@flox-k8s/core';

/** An sh template names a value the layout writer does not have (template and writer versions differ). */
export class LayoutTemplateError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_LAYOUT_TEMPLATE' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(LayoutTemplateError.code, message, options);
  }
}
