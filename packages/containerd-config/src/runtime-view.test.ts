import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigChain } from './config-imports.ts';
import { addRuntime } from './runtime-block.ts';
import { runtimeView } from './runtime-view.ts';

let dir: string;
const stock16 = (): Promise<string> => readFile(join(import.meta.dirname, '../test/fixtures/containerd-1.6-default.toml'), 'utf8');
const spec = { name: 'flox', annotations: ['flox.dev/*'] };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-containerd-view-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runtimeView', () => {
  it('reads the installed runtime and runc from the main file', async () => {
    const main = join(dir, 'config.toml');
    await writeFile(main, addRuntime(await stock16(), main, 2, spec).text);
    const view = runtimeView(await loadConfigChain(main, 2), 'flox');
    expect(view).toMatchObject({ criFile: main, format: 2, marked: true, shadowed: [] });
    expect(view.runtime).toEqual({ runtime_type: 'io.containerd.flox.v2', pod_annotations: ['flox.dev/*'], container_annotations: ['flox.dev/*'] });
    expect(view.runc?.['runtime_type']).toBe('io.containerd.runc.v2');
  });

  it('reports a runtime in the main file as shadowed when an import redefines the CRI section', async () => {
    const main = join(dir, 'config.toml');
    await writeFile(main, addRuntime((await stock16()).replace(/^imports = \[\]$/m, `imports = ["${dir}/conf.d/*.toml"]`), main, 2, spec).text);
    await mkdir(join(dir, 'conf.d'));
    const dropIn = join(dir, 'conf.d', '10-cri.toml');
    await writeFile(dropIn, 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n');
    const view = runtimeView(await loadConfigChain(main, 2), 'flox');
    expect(view).toMatchObject({ criFile: dropIn, runtime: undefined, marked: false, shadowed: [main] });
  });

  it('has no CRI file and no runtime when the config does not exist', async () => {
    const view = runtimeView(await loadConfigChain(join(dir, 'missing.toml'), 3), 'flox');
    expect(view).toEqual({ criFile: undefined, format: 3, runtime: undefined, runc: undefined, marked: false, shadowed: [] });
  });
});

describe('matchesGlob', () => {
  it('matches annotation keys as containerd does (filepath.Match: * stops at /)', async () => {
    const { matchesGlob } = await import('./config-imports.ts');
    expect(matchesGlob('flox.dev/*', 'flox.dev/environment')).toBe(true);
    expect(matchesGlob('flox.dev/environment', 'flox.dev/environment')).toBe(true);
    expect(matchesGlob('*', 'flox.dev/environment')).toBe(false);
    expect(matchesGlob('flox.dev/env?ronment', 'flox.dev/environment')).toBe(true);
    expect(matchesGlob('example.com/*', 'flox.dev/environment')).toBe(false);
  });
});
