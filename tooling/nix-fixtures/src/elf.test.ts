import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readElfDynamic } from './elf.ts';
import { isCi } from './env.ts';

const patchelf = (flag: string, file: string): string => spawnSync('patchelf', [flag, file], { encoding: 'utf8' }).stdout.trim();
const tmp = mkdtempSync(join(tmpdir(), 'flox-k8s-elf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// patchelf and nix-bin come with .ci/run; elsewhere the comparison needs them installed.
const missing = ['/usr/bin/patchelf', '/usr/bin/nix'].find((tool) => !existsSync(tool));
const skip = isCi() || missing === undefined ? undefined : `${missing} is not installed`;

describe.skipIf(skip !== undefined)(`readElfDynamic${skip ? ` (skipped: ${skip})` : ''}`, () => {
  // patchelf (installed by .ci/run) is the reference reader.
  it.each(['/bin/sh', '/usr/bin/nix', '/usr/lib/x86_64-linux-gnu/libc.so.6'])('reads what patchelf reads from %s', (file) => {
    const info = readElfDynamic(file)!;
    expect(info.needed).toEqual(patchelf('--print-needed', file).split('\n').filter((l) => l !== ''));
    expect(info.runpath.join(':')).toBe(patchelf('--print-rpath', file));
    const interpreter = spawnSync('patchelf', ['--print-interpreter', file], { encoding: 'utf8' });
    expect(info.interpreter).toBe(interpreter.status === 0 ? interpreter.stdout.trim() : undefined);
  });

  it('finds no interpreter and no libraries in a static program, and nothing in a non-ELF file', () => {
    expect(readElfDynamic('/bin/busybox')).toEqual({ needed: [], runpath: [] });
    writeFileSync(join(tmp, 'script'), '#!/bin/sh\necho hi\n');
    expect(readElfDynamic(join(tmp, 'script'))).toBeUndefined();
    writeFileSync(join(tmp, 'short'), '\x7fEL');
    expect(readElfDynamic(join(tmp, 'short'))).toBeUndefined();
  });
});
