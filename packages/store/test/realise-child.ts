// A separate process realising paths into a store, for the crash-safety and
// cross-process single-flight tests. Argument: JSON
// { root, url, publicKey, paths, goFile?, fsync? }. Prints "ready" just before
// realise starts and the result as one JSON line when done.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Store } from '../src/index.ts';

const args = JSON.parse(process.argv[2] ?? '{}') as { root: string; url: string; publicKey: string; paths: string[]; goFile?: string; fsync?: boolean };
const store = await Store.open(args.root, { fsync: args.fsync ?? true });
if (args.goFile !== undefined) {
  for (let i = 0; i < 2000 && !existsSync(args.goFile); i++) await sleep(5);
}
process.stdout.write('ready\n');
try {
  const result = await store.realise(args.paths, { caches: [{ url: args.url }], trustedKeys: [args.publicKey] });
  process.stdout.write(`${JSON.stringify({ ok: true, fetched: result.fetched, closure: result.closure })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, code: (err as { code?: string }).code, message: (err as Error).message })}\n`);
  process.exitCode = 1;
}
