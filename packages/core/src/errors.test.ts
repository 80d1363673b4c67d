import { describe, expect, it } from 'vitest';
import type * as errors from './errors.ts';
import { FloxK8sError, errorCode, isFloxK8sError } from './errors.ts';

class PkgError extends FloxK8sError {
  static override readonly family = '@flox-k8s/test-pkg';
}
class ThingMissingError extends PkgError {
  static override readonly code = 'FLOXK8S_TEST_THING_MISSING' as const;
  constructor(message: string) {
    super(ThingMissingError.code, message);
  }
}
class ThingBrokenError extends PkgError {
  static override readonly code = 'FLOXK8S_TEST_THING_BROKEN' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(ThingBrokenError.code, message, options);
  }
}

describe('FloxK8sError', () => {
  it('carries its code, name, message and cause', () => {
    const cause = new Error('disk');
    const error = new ThingBrokenError('the thing broke', { cause });
    expect(error).toMatchObject({ code: 'FLOXK8S_TEST_THING_BROKEN', name: 'ThingBrokenError', message: 'the thing broke', cause });
    expect(error).toBeInstanceOf(Error);
  });

  it('answers instanceof for its own class, its family and the base, never for a sibling', () => {
    const missing = new ThingMissingError('x');
    expect(missing instanceof ThingMissingError).toBe(true);
    expect(missing instanceof PkgError).toBe(true);
    expect(missing instanceof FloxK8sError).toBe(true);
    expect(missing instanceof ThingBrokenError).toBe(false);
    // A family base's instance is not an instance of a subclass (tooling/nix-fixtures made every
    // fixture error instanceof NixCommandError this way).
    expect(new PkgError('FLOXK8S_TEST_OTHER', 'x') instanceof ThingMissingError).toBe(false);
    expect(new Error('x') instanceof FloxK8sError).toBe(false);
    expect({ code: 'FLOXK8S_TEST_THING_MISSING' } instanceof ThingMissingError).toBe(false);
  });

  it('answers instanceof across two copies of a package (Symbol.for brands, not prototypes)', async () => {
    // A second evaluation of the same module: what a duplicate install gives a process.
    const second = new URL('./errors.ts?copy', import.meta.url).href;
    const copy = (await import(/* @vite-ignore */ second)) as typeof errors;
    expect(copy.FloxK8sError).not.toBe(FloxK8sError);
    class CopyMissingError extends copy.FloxK8sError {
      static override readonly code = 'FLOXK8S_TEST_THING_MISSING' as const;
    }
    const fromCopy = new CopyMissingError('FLOXK8S_TEST_THING_MISSING', 'x');
    expect(fromCopy instanceof ThingMissingError).toBe(true);
    expect(fromCopy instanceof FloxK8sError).toBe(true);
    expect(fromCopy instanceof ThingBrokenError).toBe(false);
    expect(new ThingMissingError('x') instanceof copy.FloxK8sError).toBe(true);
    expect(copy.isFloxK8sError(new ThingBrokenError('x'))).toBe(true);
  });

  it('falls back to prototype identity for a subclass that declares neither code nor family', () => {
    class Loose extends FloxK8sError {}
    expect(new Loose('FLOXK8S_TEST_LOOSE', 'x') instanceof Loose).toBe(true);
    expect(new ThingMissingError('x') instanceof Loose).toBe(false);
  });
});

describe('errorCode', () => {
  it('is the FLOXK8S_ code of any error that carries one, else undefined', () => {
    expect(errorCode(new ThingMissingError('x'))).toBe('FLOXK8S_TEST_THING_MISSING');
    expect(errorCode(Object.assign(new Error('forwarded'), { code: 'FLOXK8S_NAR_HASH_MISMATCH' }))).toBe('FLOXK8S_NAR_HASH_MISMATCH');
    expect(errorCode(Object.assign(new Error('enoent'), { code: 'ENOENT' }))).toBeUndefined();
    expect(errorCode('FLOXK8S_X')).toBeUndefined();
    expect(errorCode(null)).toBeUndefined();
    expect(isFloxK8sError(Object.assign(new Error('x'), { code: 'FLOXK8S_X' }))).toBe(false);
  });
});
