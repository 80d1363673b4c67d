import { FloxK8sError } from '@flox-k8s/core';

/** An sh template names a value the layout writer does not have (template and writer versions differ). */
export class LayoutTemplateError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_LAYOUT_TEMPLATE' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(LayoutTemplateError.code, message, options);
  }
}

/** The compiled runc front was required (`compiledFront: true`) but none is prebuilt and it could not be compiled. */
export class FrontBuildError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_LAYOUT_FRONT_BUILD' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(FrontBuildError.code, message, options);
  }
}
