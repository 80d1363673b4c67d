// The one base of every coded error in flox-k8s (@changesets/errors and undici do the
// same). `instanceof` is answered from data on the instance, keyed by `Symbol.for`, not
// by prototype identity: it keeps working when a process holds two copies of a package
// (a bundle beside node_modules, two versions in one tree).

const kFloxK8sError: unique symbol = Symbol.for('@flox-k8s/core.error');
const kKinds: unique symbol = Symbol.for('@flox-k8s/core.error.kinds');

type ErrorClass = { readonly code?: string | undefined; readonly family?: string | undefined; readonly name: string };

/**
 * The identity `instanceof` checks for a class: the code it owns (a concrete error), or
 * the family it names (a package's base class). Only the class's own static counts, so a
 * subclass never answers for its parent's identity.
 */
function identityOf(cls: ErrorClass): string | undefined {
  if (Object.hasOwn(cls, 'code') && typeof cls.code === 'string') return `code:${cls.code}`;
  if (Object.hasOwn(cls, 'family') && typeof cls.family === 'string') return `family:${cls.family}`;
  return undefined;
}

/**
 * Base class of every error flox-k8s throws. `code` is stable (`FLOXK8S_…`); tests and
 * callers assert on it, never on the message, which is for people: what was expected,
 * what was found, what to do.
 *
 * A concrete error class declares the code it owns, once in the whole project:
 *
 * ```ts
 * export class NarHashMismatchError extends NarError {
 *   static override readonly code = 'FLOXK8S_NAR_HASH_MISMATCH' as const;
 *   constructor(message: string, options?: { cause?: unknown }) {
 *     super(NarHashMismatchError.code, message, options);
 *   }
 * }
 * ```
 *
 * A package's own base class declares a `family` instead (`'@flox-k8s/nar'`), so
 * `error instanceof NarError` holds for all of that package's errors.
 */
export class FloxK8sError extends Error {
  /** The code this class owns; undefined on bases. */
  static readonly code: string | undefined = undefined;
  /** The family a package's base class stands for; undefined on concrete classes. */
  static readonly family: string | undefined = '@flox-k8s';
  /** Stable machine-readable code (`FLOXK8S_…`). */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    const kinds: string[] = [];
    for (let cls: unknown = new.target; typeof cls === 'function' && cls !== Error; cls = Object.getPrototypeOf(cls)) {
      const identity = identityOf(cls as ErrorClass);
      if (identity !== undefined) kinds.push(identity);
    }
    Object.defineProperty(this, kFloxK8sError, { value: true });
    Object.defineProperty(this, kKinds, { value: Object.freeze(kinds) });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (!isFloxK8sError(value)) return false;
    const identity = identityOf(this);
    // A class with neither code nor family of its own: plain prototype identity.
    if (identity === undefined) return Function.prototype[Symbol.hasInstance].call(this, value);
    return ((value as unknown as Record<symbol, readonly string[]>)[kKinds] ?? []).includes(identity);
  }
}

/** True for an error of any flox-k8s package, whichever copy of the package made it. */
export function isFloxK8sError(value: unknown): value is FloxK8sError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kFloxK8sError] === true;
}

/**
 * The `FLOXK8S_…` code of a thrown value, else undefined. Errors of any package carry
 * one, and so do wrappers that forward a cause's code (a realise failure keeps the
 * store's `FLOXK8S_NAR_HASH_MISMATCH`); anything else (an errno, a plain Error) has none,
 * so callers pick their own fallback: `errorCode(e) ?? 'FLOXK8S_INTERNAL'`.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('FLOXK8S_') ? code : undefined;
}
