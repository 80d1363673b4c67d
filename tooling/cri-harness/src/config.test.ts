import { describe, expect, it } from 'vitest';
import { containerdPaths, renderContainerdConfig } from './config.ts';
import { renderToml } from './toml.ts';

const paths = containerdPaths('/tmp/ctrd');
const flox = {
  name: 'flox',
  runtimeType: 'io.containerd.flox.v2',
  podAnnotations: ['flox.dev/*'],
  containerAnnotations: ['flox.dev/*'],
};

describe('renderToml', () => {
  it('quotes dotted keys, renders plain keys before sub-tables and escapes strings', () => {
    expect(renderToml({ a: 1, t: { 'x.y': { s: 'q"\\', l: ['a', 'b'], b: true } }, z: 'last' })).toBe(
      'a = 1\nz = "last"\n\n[t]\n\n[t."x.y"]\ns = "q\\"\\\\"\nl = ["a", "b"]\nb = true\n',
    );
  });
});

describe('renderContainerdConfig', () => {
  it('writes a version 2 config with the io.containerd.grpc.v1.cri table for 1.6', () => {
    const toml = renderContainerdConfig('1.6', paths, { sandboxImage: 'flox-k8s.test/pause:1', runtimes: [flox] });
    expect(toml).toContain('version = 2\n');
    expect(toml).toContain('root = "/tmp/ctrd/root"\nstate = "/tmp/ctrd/state"\n');
    expect(toml).toContain('[grpc]\naddress = "/tmp/ctrd/containerd.sock"\n');
    expect(toml).toContain('[plugins."io.containerd.grpc.v1.cri"]\nsandbox_image = "flox-k8s.test/pause:1"\nrestrict_oom_score_adj = true\n');
    expect(toml).toContain('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\nSystemdCgroup = false\nRoot = "/tmp/ctrd/runc"\n');
    expect(toml).toContain(
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.flox]\nruntime_type = "io.containerd.flox.v2"\npod_annotations = ["flox.dev/*"]\ncontainer_annotations = ["flox.dev/*"]\n',
    );
    // A flox.v2 runtime gets no options table (containerd would hand it runc's options otherwise).
    expect(toml).not.toContain('runtimes.flox.options');
    expect(toml).not.toContain('nri');
  });

  it('puts the state (task bundles) in a run dir when given one, and keeps the root and runc root in the private dir', () => {
    const run = containerdPaths('/tmp/ctrd', '/dev/shm/run');
    expect([run.state, run.root, run.runcRoot]).toEqual(['/dev/shm/run/state', '/tmp/ctrd/root', '/tmp/ctrd/runc']);
    expect(renderContainerdConfig('2.1', run, { sandboxImage: 'p:1' })).toContain('root = "/tmp/ctrd/root"\nstate = "/dev/shm/run/state"\n');
  });

  it('disables NRI on 1.7', () => {
    expect(renderContainerdConfig('1.7', paths, { sandboxImage: 'p:1' })).toContain('[plugins."io.containerd.nri.v1.nri"]\ndisable = true\n');
  });

  it('writes a version 3 config split into cri.v1.images and cri.v1.runtime for 2.1', () => {
    const toml = renderContainerdConfig('2.1', paths, {
      sandboxImage: 'flox-k8s.test/pause:1',
      runtimes: [{ name: 'capture', options: { BinaryName: '/x/runc' }, runtimePath: '/x/shim' }],
      criConfig: { enable_unprivileged_ports: false },
    });
    expect(toml).toContain('version = 3\n');
    expect(toml).toContain('[plugins."io.containerd.cri.v1.images".pinned_images]\nsandbox = "flox-k8s.test/pause:1"\n');
    expect(toml).toContain('[plugins."io.containerd.cri.v1.runtime"]\nrestrict_oom_score_adj = true\nenable_cdi = false\nenable_unprivileged_ports = false\n');
    expect(toml).toContain('[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.capture]\nruntime_type = "io.containerd.runc.v2"\nruntime_path = "/x/shim"\n');
    expect(toml).toContain('[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.capture.options]\nSystemdCgroup = false\nRoot = "/tmp/ctrd/runc"\nBinaryName = "/x/runc"\n');
    expect(toml).toContain('[plugins."io.containerd.grpc.v1.cri"]\nstream_server_address = "127.0.0.1"\n');
    expect(toml).toContain('[plugins."io.containerd.nri.v1.nri"]\ndisable = true\n');
    expect(toml).not.toContain('sandbox_image');
  });
});
