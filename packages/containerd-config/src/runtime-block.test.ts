import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { addRuntime, type FloxRuntimeSpec, getPath, removeRuntime, renderRuntimeBlock, runtimesPath } from './runtime-block.ts';
import { parseContainerdVersion } from './containerd-version.ts';

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, '../test/fixtures', name), 'utf8');
const v16 = fixture('containerd-1.6-default.toml');
const v2x = fixture('containerd-2.x-excerpt.toml');
const runtime: FloxRuntimeSpec = { name: 'flox', annotations: ['flox.dev/*'] };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('addRuntime / removeRuntime', () => {
  it('appends a v2 runtime to the 1.6 stock config, leaving every original byte in place', () => {
    const { text, changed, format } = addRuntime(v16, 'config.toml', 2, runtime);
    expect(changed).toBe(true);
    expect(format).toBe(2);
    expect(text.startsWith(v16)).toBe(true);
    const entry = getPath(parse(text), [...runtimesPath(2), 'flox']);
    expect(entry).toEqual({ runtime_type: 'io.containerd.flox.v2', pod_annotations: ['flox.dev/*'], container_annotations: ['flox.dev/*'] });
    // the stock runc runtime is untouched
    expect(getPath(parse(text), [...runtimesPath(2), 'runc', 'runtime_type'])).toBe('io.containerd.runc.v2');
    expect(removeRuntime(text).text).toBe(v16);
  });

  it('writes the v3 table for containerd 2.x configs, with runtime_path and the runc cgroup driver', () => {
    const { text, format } = addRuntime(v2x, 'config.toml', 3, { ...runtime, runtimePath: '/opt/flox-k8s/shim/bin/containerd-shim-flox-v2', systemdCgroup: true });
    expect(format).toBe(3);
    const entry = getPath(parse(text), ['plugins', 'io.containerd.cri.v1.runtime', 'containerd', 'runtimes', 'flox']);
    expect(entry).toEqual({
      runtime_type: 'io.containerd.runc.v2',
      runtime_path: '/opt/flox-k8s/shim/bin/containerd-shim-flox-v2',
      pod_annotations: ['flox.dev/*'],
      container_annotations: ['flox.dev/*'],
      options: { SystemdCgroup: true },
    });
    expect(removeRuntime(text).text).toBe(v2x);
  });

  it('is idempotent: a second add changes nothing', () => {
    const once = addRuntime(v16, 'config.toml', 2, runtime).text;
    const twice = addRuntime(once, 'config.toml', 2, runtime);
    expect(twice.changed).toBe(false);
    expect(twice.text).toBe(once);
  });

  it('replaces a stale block in place when the runtime spec changes', () => {
    const once = addRuntime(v16, 'config.toml', 2, runtime).text;
    const moved = addRuntime(once, 'config.toml', 2, { ...runtime, annotations: ['flox.dev/*', 'example.com/*'] });
    expect(moved.changed).toBe(true);
    expect(moved.text.match(/flox-k8s runtime: added/g)).toHaveLength(1);
    expect(removeRuntime(moved.text).text).toBe(v16);
  });

  it('restores a file without a final newline byte for byte', () => {
    const original = 'version = 2\nroot = "/var/lib/containerd"';
    const added = addRuntime(original, 'config.toml', 2, runtime);
    expect(parse(added.text)).toHaveProperty('root', '/var/lib/containerd');
    expect(removeRuntime(added.text).text).toBe(original);
    expect(addRuntime(added.text, 'config.toml', 2, runtime).changed).toBe(false);
  });

  it('treats a config without version as format 1 and uses plugins.cri', () => {
    const { text, format } = addRuntime('[plugins.cri]\n  sandbox_image = "pause"\n', 'config.toml', 1, runtime);
    expect(format).toBe(1);
    expect(getPath(parse(text), ['plugins', 'cri', 'containerd', 'runtimes', 'flox', 'runtime_type'])).toBe('io.containerd.flox.v2');
  });

  it('refuses to overwrite a flox runtime it did not add', () => {
    const foreign = `${v16}\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.flox]\n  runtime_type = "io.containerd.kata.v2"\n`;
    expect(codeOf(() => addRuntime(foreign, 'config.toml', 2, runtime))).toBe('FLOXK8S_CONTAINERD_RUNTIME_CONFLICT');
  });

  it('rejects invalid TOML with a coded error naming the line', () => {
    expect(codeOf(() => addRuntime('version = 2\n[plugins\n', 'config.toml', 2, runtime))).toBe('FLOXK8S_CONTAINERD_CONFIG_INVALID');
  });

  it('rejects a layout where appending a table is not valid TOML (runtimes as an inline table)', () => {
    const inline = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  runtimes = { runc = { runtime_type = "io.containerd.runc.v2" } }\n';
    expect(codeOf(() => addRuntime(inline, 'config.toml', 2, runtime))).toBe('FLOXK8S_CONTAINERD_CONFIG_INVALID');
  });

  it('rejects an unknown config version', () => {
    expect(codeOf(() => addRuntime('version = 7\n', 'config.toml', 2, runtime))).toBe('FLOXK8S_CONTAINERD_CONFIG_INVALID');
  });

  it('renders quoted plugin keys and both annotation lists', () => {
    expect(renderRuntimeBlock(2, runtime)).toContain('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.flox]');
    expect(renderRuntimeBlock(3, runtime)).toContain('[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.flox]');
  });
});

describe('parseContainerdVersion', () => {
  it('reads Debian and upstream version lines', () => {
    expect(parseContainerdVersion('containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3\n')).toMatchObject({
      version: '1.6.20',
      configVersion: 2,
      supportsRuntimePath: false,
    });
    expect(parseContainerdVersion('containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-1\n')).toMatchObject({ configVersion: 2, supportsRuntimePath: true });
    expect(parseContainerdVersion('containerd github.com/containerd/containerd/v2 v2.1.9 abcdef\n')).toMatchObject({ version: '2.1.9', configVersion: 3, supportsRuntimePath: true });
    expect(parseContainerdVersion('containerd github.com/containerd/containerd v1.7.0 1fbd\n').supportsRuntimePath).toBe(false);
  });

  it('rejects garbage and too-old versions with a coded error', () => {
    expect(codeOf(() => parseContainerdVersion('command not found'))).toBe('FLOXK8S_CONTAINERD_VERSION');
    expect(codeOf(() => parseContainerdVersion('containerd github.com/containerd/containerd v1.5.9 x'))).toBe('FLOXK8S_CONTAINERD_VERSION');
  });
});
