// The wrapper shell is looked up through the node store's copies, as the container will see it,
// not through the host's own /nix/store (a node need not have one).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wrapperShell } from './wrapper-shell.ts';

const dir = mkdtempSync(join(tmpdir(), 'flox-wrapper-shell-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// A store path that exists only in the node store, never on this host's /nix/store.
const BASH = '/nix/store/00000000000000000000000000000009-only-in-the-node-store-bash';

describe('wrapperShell', () => {
  it("finds the profile's shell through the node store, and refuses what dangles there", () => {
    const store = join(dir, 'store');
    mkdirSync(join(store, BASH.slice('/nix/store/'.length), 'bin'), { recursive: true });
    writeFileSync(join(store, BASH.slice('/nix/store/'.length), 'bin', 'bash'), '#!bash\n');
    const profile = join(dir, 'profile');
    mkdirSync(profile);
    // As buildEnv links a directory only one package has: the whole bin/.
    symlinkSync(`${BASH}/bin`, join(profile, 'bin'));
    expect(wrapperShell({ hostPath: profile, containerPath: '/run/flox-k8s/env' }, store, undefined)).toBe('/run/flox-k8s/env/bin/bash');

    const empty = join(dir, 'empty-store');
    mkdirSync(empty);
    const rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    writeFileSync(join(rootfs, 'bin', 'sh'), '');
    expect(wrapperShell({ hostPath: profile, containerPath: '/run/flox-k8s/env' }, empty, rootfs)).toBe('/bin/sh');
    expect(() => wrapperShell({ hostPath: profile, containerPath: '/run/flox-k8s/env' }, empty, undefined)).toThrow(expect.objectContaining({ code: 'FLOXK8S_WRAPPER_SHELL_MISSING' }));
  });
});
