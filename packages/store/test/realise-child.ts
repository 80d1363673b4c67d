// A separate process realising paths into a store, for the crash-safety and
// cross-process single-flight tests. Argument: JSON
// { root, url, publicKey, paths, goFile?, fsync? }. Prints "ready" once the
// store is open; with a goFile it then blocks until that file exists (a start
// barrier: the test writes it once every child is ready). Prints the result
// as one JSON line when done: what it fetched, which paths it waited for
// (another process held their lock), when it passed the barrier, and its peak RSS.
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Store } from '../src/index.ts';

const args = JSON.parse(process.argv[2] ?? '{}') as { root: string; url: string; publicKey: string; paths: string[]; goFile?: string; fsync?: boolean | 'syncfs' };
const store = await Store.open(args.root, { fsync: args.fsync ?? true });
process.stdout.write('ready\n');
if (args.goFile !== undefined) {
  const deadline = Date.now() + 120_000;
  while (!existsSync(args.goFile)) {
    if (Date.now() > deadline) throw new Error(`no go file ${args.goFile} within 120 s`);
    await sleep(2);
  }
}
const released = Date.now();
const waited: string[] = [];
try {
  const result = await store.realise(args.paths, {
    caches: [{ url: args.url }],
    trustedKeys: [args.publicKey],
    onProgress: (e) => {
      if (e.type === 'waiting') waited.push(e.storePath);
    },
  });
  // vmHwmKb: this process's peak resident set so far (the bounded-memory test's measure).
  const vmHwmKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  process.stdout.write(`${JSON.stringify({ ok: true, fetched: result.fetched, closure: result.closure, waited, released, vmHwmKb })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, code: (err as { code?: string }).code, message: (err as Error).message })}\n`);
  process.exitCode = 1;
}
