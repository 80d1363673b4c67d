// One error base and one owner per code, across the repository (ARCHITECTURE.md: "each
// domain rule has exactly one home"; the base is @flox-k8s/core's FloxK8sError).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { codeOwners, sharedCodes, sourceFiles, withoutComments } from '../src/error-codes.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('coded errors', () => {
  it('each FLOXK8S_ code is declared by exactly one class', () => {
    const owners = codeOwners(root);
    // The scan sees the codes (it would pass vacuously otherwise).
    expect(owners.find((o) => o.code === 'FLOXK8S_STORE_PATH_INVALID')).toMatchObject({ file: 'packages/core/src/store-path.ts', owner: 'StorePathInvalidError' });
    expect(owners.find((o) => o.code === 'FLOXK8S_NAR_HASH_MISMATCH')).toMatchObject({ file: 'packages/nar/src/errors.ts', owner: 'NarHashMismatchError' });
    expect(owners.length).toBeGreaterThan(80);
    expect(Object.fromEntries(sharedCodes(owners))).toEqual({});
  });

  it('finds a code declared by two classes', () => {
    const shared = sharedCodes([
      { code: 'FLOXK8S_ANNOTATION_INVALID', file: 'packages/oci-patch/src/errors.ts', owner: 'OciAnnotationInvalidError' },
      { code: 'FLOXK8S_ANNOTATION_INVALID', file: 'apps/shim/src/errors.ts', owner: 'AnnotationInvalidError' },
      { code: 'FLOXK8S_X', file: 'a.ts', owner: 'X' },
      { code: 'FLOXK8S_X', file: 'a.ts', owner: 'X' },
    ]);
    expect([...shared.keys()]).toEqual(['FLOXK8S_ANNOTATION_INVALID']);
  });

  it('has one base (instanceof by brand) and one errorCode()', () => {
    const files = sourceFiles(root).map((path) => ({ path: path.slice(root.length), text: withoutComments(readFileSync(path, 'utf8')) }));
    expect(files.filter((f) => f.text.includes('[Symbol.hasInstance]')).map((f) => f.path)).toEqual(['packages/core/src/errors.ts']);
    expect(files.filter((f) => /function errorCode\(/.test(f.text)).map((f) => f.path)).toEqual(['packages/core/src/errors.ts']);
    // An Error subclass with a code of its own is a second base (internal signals without one are fine).
    const ownBases = files.filter((f) => [...f.text.matchAll(/class \w+ extends Error \{(?!\})([\s\S]*?)\n\}/g)].some((m) => /\bcode\b/.test(m[1] ?? '')));
    expect(ownBases.map((f) => f.path)).toEqual(['packages/core/src/errors.ts']);
  });
});
