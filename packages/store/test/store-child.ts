// A separate process doing store work until it is SIGKILLed, for the kill
// tests. Argument: JSON { root, mode, ... }. Prints "ready" once the store is
// open, then works: 'gc' collects once and prints "done"; 'lease' renews one
// lease forever, alternating between two root lists; 'profile' builds one new
// profile after another (a new mount path each time).
import { readFileSync } from 'node:fs';
import { parseLockfile } from '@flox-k8s/lockfile';
import { Store } from '../src/index.ts';

type Args =
  | { root: string; mode: 'gc' }
  | { root: string; mode: 'lease'; id: string; roots: [string[], string[]] }
  | { root: string; mode: 'profile'; lockfile: string; system: string };

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const store = await Store.open(args.root, { fsync: false });
process.stdout.write('ready\n');
switch (args.mode) {
  case 'gc': {
    const result = await store.gc();
    process.stdout.write(`done ${result.deleted.length}\n`);
    break;
  }
  case 'lease':
    for (let i = 0; ; i++) store.lease(args.id, args.roots[i % 2] as string[], 3_600_000);
  // falls through: never reached
  case 'profile': {
    const lock = parseLockfile(readFileSync(args.lockfile));
    for (let i = 0; ; i++) await store.profile(lock, args.system, { containerPath: `/run/flox-kill/${process.pid}/${i}` });
  }
}
