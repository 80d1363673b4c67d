import { describe, expect, test } from 'vitest';
import { activateMode, parseLockfile } from './index.ts';
import { minimalLockfile } from './test-fixtures.ts';

const withMode = (mode?: 'run' | 'dev') =>
  parseLockfile(minimalLockfile([], { version: 1, options: { systems: ['x86_64-linux'], ...(mode === undefined ? {} : { activate: { mode } }) } }));

describe('activateMode: the pod asks, else the manifest says, else run', () => {
  test("the manifest's options.activate.mode applies when nothing is asked", () => {
    expect(activateMode(withMode('dev'))).toBe('dev');
    expect(activateMode(withMode('run'))).toBe('run');
  });

  test('a requested mode beats the manifest', () => {
    expect(activateMode(withMode('dev'), 'run')).toBe('run');
    expect(activateMode(withMode('run'), 'dev')).toBe('dev');
  });

  test('run when neither says', () => {
    expect(activateMode(withMode())).toBe('run');
  });
});
