// The bundled interposer as containerd's runc shim runs it: a real process on a real bundle,
// with a recording stand-in for the real runc (these suites need no root; e2e runs the real one).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NixFixtures, ServedCache } from '@flox-k8s/nix-fixtures';
import { installLayout, type InstallLayout } from '@flox-k8s/shim-layout';
import { shimPrograms } from '../src/programs.ts';

export interface BundledInterposer {
  layout: InstallLayout;
  /** Where the stand-in runc appends each argv it was run with, one line each. */
  recorded: string;
  /** Writes a shim config `<dir>/<name>.json` (store `<dir>/store-<name>`, log `<dir>/<name>.log`). */
  writeConfig(name: string, extra?: Record<string, unknown>): string;
  /** A bundle `<dir>/bundles/<name>` with an empty rootfs and a spec carrying `annotations`. */
  bundle(name: string, annotations: Record<string, string>): string;
  /** Runs the installed front with `args` as runc's caller would (PATH `/usr/bin:/bin` unless given). */
  interpose(args: string[], config: string, path?: string): Promise<{ status: number | null; stderr: string }>;
}

/** Installs the shim layout into `dir` (no patch service: the per-create Node entry points). */
export async function bundledInterposer(dir: string, fixtures: NixFixtures, cache: ServedCache): Promise<BundledInterposer> {
  const recorded = join(dir, 'runc-calls');
  const runc = join(dir, 'fake-runc');
  writeFileSync(runc, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${recorded}'\nexit 0\n`, { mode: 0o755 });
  const layout = await installLayout({ programs: shimPrograms, prefix: join(dir, 'install'), runc, fromSource: true, compileCache: join(dir, 'cc'), patchServiceDir: '' });
  return {
    layout,
    recorded,
    writeConfig(name, extra = {}) {
      const path = join(dir, `${name}.json`);
      writeFileSync(
        path,
        JSON.stringify({
          storeRoot: join(dir, `store-${name}`),
          caches: [{ url: cache.url }],
          trustedKeys: [fixtures.publicKey],
          sources: [{ type: 'dir', path: join(dir, 'hub') }],
          agentSocket: join(dir, `${name}.sock`),
          logFile: join(dir, `${name}.log`),
          ...extra,
        }),
      );
      return path;
    },
    bundle(name, annotations) {
      const b = join(dir, 'bundles', name);
      mkdirSync(join(b, 'rootfs'), { recursive: true });
      const spec = { ociVersion: '1.0.2', process: { args: ['hello-flox'], env: ['PATH=/usr/bin:/bin'], cwd: '/' }, root: { path: 'rootfs' }, mounts: [], annotations };
      writeFileSync(join(b, 'config.json'), JSON.stringify(spec));
      return b;
    },
    async interpose(args, config, path = '/usr/bin:/bin') {
      writeFileSync(recorded, '');
      const child = spawn(layout.interposer, args, { env: { PATH: path, FLOXK8S_CONFIG: config }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const status = await new Promise<number | null>((r) => child.on('close', r));
      return { status, stderr };
    },
  };
}
