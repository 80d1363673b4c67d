// Pass-through overhead of the runc interposer: `state`, `kill`, `delete` through
// the installed sh front versus the real runc, on real containers, interleaved.
//   node --conditions=@flox-k8s/source bench/passthrough.ts [rounds=30]
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installLayout } from '@flox-k8s/shim-layout';
import { shimPrograms } from '../src/programs.ts';
import { report } from './stats.ts';

const rounds = Number(process.argv[2] ?? 30);
const runc = '/usr/sbin/runc';
const dir = mkdtempSync(join(tmpdir(), 'flox-bench-pass-'));
const root = join(dir, 'runc-root');
const tag = dir.slice(-6).toLowerCase();

function sh(file: string, args: string[], detachStdio = false): number {
  const t = process.hrtime.bigint();
  // `create` hands its stdio to the container: give it /dev/null, or we would wait for the container.
  const r = spawnSync(file, args, { stdio: detachStdio ? 'ignore' : ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}: ${r.stderr?.toString() ?? ''}`);
  return ms;
}

try {
  const layout = await installLayout({ programs: shimPrograms, prefix: join(dir, 'install'), runc, fromSource: true });
  // A minimal bundle: static busybox, `sleep 1000`, no terminal.
  const bundle = join(dir, 'bundle');
  mkdirSync(join(bundle, 'rootfs', 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(bundle, 'rootfs', 'bin', 'busybox'));
  symlinkSync('busybox', join(bundle, 'rootfs', 'bin', 'sleep'));
  spawnSync(runc, ['spec', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { process: { args: string[]; terminal: boolean } };
  spec.process.args = ['/bin/sleep', '1000'];
  spec.process.terminal = false;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));

  const samples = { state: { flox: [] as number[], runc: [] as number[] }, kill: { flox: [] as number[], runc: [] as number[] }, delete: { flox: [] as number[], runc: [] as number[] } };
  const globals = ['--root', root, '--log', join(dir, 'runc.log'), '--log-format', 'json'];
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first so drift hits both sides.
    const order = i % 2 === 0 ? (['flox', 'runc'] as const) : (['runc', 'flox'] as const);
    for (const who of order) {
      const bin = who === 'flox' ? layout.interposer : runc;
      const id = `flox-bench-${tag}-${i}-${who}`;
      sh(runc, [...globals, 'create', '--bundle', bundle, id], true);
      samples.state[who].push(sh(bin, [...globals, 'state', id]));
      samples.kill[who].push(sh(bin, [...globals, 'kill', id, 'KILL']));
      // Wait for the kill to land before delete (not timed).
      for (let w = 0; w < 100 && !readFileSync(join(root, id, 'state.json'), 'utf8').includes('"stopped"') && spawnSync(runc, [...globals, 'state', id]).stdout.toString().includes('"created"'); w++) {
        spawnSync('sleep', ['0.01']);
      }
      samples.delete[who].push(sh(bin, [...globals, 'delete', '--force', id]));
    }
  }
  process.stdout.write(`runc interposer pass-through, ${rounds} rounds, medians (same run, interleaved)\n`);
  let ok = true;
  for (const sub of ['state', 'kill', 'delete'] as const) ok = report(`runc ${sub}`, samples[sub].flox, samples[sub].runc, 2) && ok;
  process.exitCode = ok ? 0 : 1;
} finally {
  spawnSync('sh', ['-c', `for c in $(${runc} --root ${root} list -q 2>/dev/null); do ${runc} --root ${root} delete --force $c; done`]);
  rmSync(dir, { recursive: true, force: true });
}
