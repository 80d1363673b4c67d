// The runc interposer alone, warm: `runc create` of a prepared bundle that names an
// environment whose closure and plan are cached, through the installed sh front versus
// the real runc on the same spec, interleaved in the same run: the front (per-create Node,
// ESM bundle), runc directly, and the front with `/bin/true` as its "real runc" (what the
// interposer costs until the exec).
//   node --conditions=@flox-k8s/source bench/interposer.ts [rounds=30]
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache } from '@flox-k8s/nix-fixtures';
import { publishEnvironment } from '@flox-k8s/environments';
import { installLayout } from '@flox-k8s/shim-layout';
import { shimPrograms } from '../src/programs.ts';
import { median, report } from './stats.ts';

const rounds = Number(process.argv[2] ?? 30);
const runc = '/usr/sbin/runc';
const dir = mkdtempSync(join(tmpdir(), 'flox-bench-interposer-'));
const root = join(dir, 'runc-root');
const tag = dir.slice(-6).toLowerCase();

// Asynchronous: the fixture cache the cold warm-up realises from is served by this process.
async function run(file: string, args: string[], env: Record<string, string>): Promise<number> {
  const t = process.hrtime.bigint();
  // `create` hands its stdio to the container: give it /dev/null, or we would wait for the container.
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const status = await new Promise<number | null>((r) => child.on('exit', r));
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${status}: ${stderr}`);
  return ms;
}

const cache = await serveCache((await nixFixtures()).caches.xz);
try {
  const fixtures = await nixFixtures();
  await publishEnvironment(join(dir, 'hub'), 'acme', 'bench', fixtures.lockfile.bytes);
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      storeRoot: join(dir, 'store'),
      caches: [{ url: cache.url }],
      trustedKeys: [fixtures.publicKey],
      sources: [{ type: 'dir', path: join(dir, 'hub') }],
      agentSocket: join(dir, 'agent.sock'),
      logFile: join(dir, 'shim.log'),
    }),
  );
  // No patch service: this measures the per-create Node entry points.
  const options = { fromSource: true, config, compileCache: join(dir, 'cc'), patchServiceDir: '' };
  const layout = await installLayout({ programs: shimPrograms, ...options, prefix: join(dir, 'install'), runc });
  const dry = await installLayout({ programs: shimPrograms, ...options, prefix: join(dir, 'install-true'), runc: '/bin/true' });
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

  // A minimal bundle: static busybox, `sleep 1000`, no terminal, the environment annotation.
  const bundle = join(dir, 'bundle');
  mkdirSync(join(bundle, 'rootfs', 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(bundle, 'rootfs', 'bin', 'busybox'));
  symlinkSync('busybox', join(bundle, 'rootfs', 'bin', 'sleep'));
  spawnSync(runc, ['spec', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as Record<string, unknown> & { process: { args: string[]; terminal: boolean } };
  spec.process.args = ['/bin/sleep', '1000'];
  spec.process.terminal = false;
  spec['annotations'] = { 'flox.dev/environment': 'acme/bench', 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.container-name': 'app' };
  const original = JSON.stringify(spec);
  const fresh = (): void => writeFileSync(join(bundle, 'config.json'), original);

  const globals = ['--root', root, '--log', join(dir, 'runc.log'), '--log-format', 'json'];
  const samples = { flox: [] as number[], runc: [] as number[], dry: [] as number[] };
  type Who = keyof typeof samples;
  const bins: Record<Who, string> = { flox: layout.interposer, runc, dry: dry.interposer };
  const once = async (who: Who, id: string): Promise<number> => {
    fresh();
    const bin = bins[who];
    const ms = await run(bin, [...globals, 'create', '--bundle', bundle, id], env);
    if (who !== 'dry') spawnSync(runc, [...globals, 'delete', '--force', id]);
    return ms;
  };
  // Warm-up: realises the closure, writes the plan cache, fills the compile cache.
  for (let i = 0; i < 3; i++) {
    for (const who of Object.keys(bins) as Who[]) await once(who, `${who}-warm-${tag}-${i}`);
  }
  const load = loadavg()[0] ?? 0;
  for (let i = 0; i < rounds; i++) {
    const order: Who[] = i % 2 === 0 ? ['flox', 'runc', 'dry'] : ['dry', 'runc', 'flox'];
    for (const who of order) samples[who].push(await once(who, `${who}-${tag}-${i}`));
  }
  process.stdout.write(`runc interposer, warm create, ${rounds} rounds, load average ${load.toFixed(2)} → ${(loadavg()[0] ?? 0).toFixed(2)}\n`);
  const ok = report('runc create via front (ESM bundle)', samples.flox, samples.runc, 40);
  process.stdout.write(`  front + per-create Node until exec (runc = /bin/true): median ${median(samples.dry).toFixed(1)} ms\n`);
  process.exitCode = ok ? 0 : 1;
} finally {
  await cache.close();
  spawnSync('sh', ['-c', `for c in $(${runc} --root ${root} list -q 2>/dev/null); do ${runc} --root ${root} delete --force $c; done`]);
  rmSync(dir, { recursive: true, force: true });
}
