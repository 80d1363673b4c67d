import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { SBOM_TOOL } from './tool.ts';

test('SBOM_TOOL names this package at the version of its package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  expect(SBOM_TOOL).toEqual({ name: pkg.name, version: pkg.version });
});
