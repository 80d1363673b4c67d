// A separate process that looks up and fetches NARs with BinaryCacheClient and
// reports, as one JSON line, each outcome and every error nobody handled
// (process 'uncaughtException' / 'unhandledRejection'): a library must never
// leave one behind. Argument: JSON { caches, trustedKeys, storePaths, dir,
// client? (extra BinaryCacheClient options) }. Also reports the peak RSS.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { BinaryCacheClient, type BinaryCacheClientOptions } from '../src/index.ts';

const args = JSON.parse(process.argv[2] ?? '{}') as {
  caches: BinaryCacheClientOptions['caches'];
  trustedKeys: string[];
  storePaths: string[];
  dir: string;
  client?: Partial<BinaryCacheClientOptions>;
};
const unhandled: string[] = [];
process.on('uncaughtException', (err) => unhandled.push(`uncaughtException: ${String(err)}`));
process.on('unhandledRejection', (err) => unhandled.push(`unhandledRejection: ${String(err)}`));

const client = new BinaryCacheClient({ caches: args.caches, trustedKeys: args.trustedKeys, retries: 0, ...args.client });
const outcomes: Array<{ storePath: string; code?: string; message?: string; ms: number }> = [];
for (const storePath of args.storePaths) {
  const started = performance.now();
  try {
    const found = await client.narinfo(storePath);
    await client.fetchNar(found, join(await mkdtemp(join(args.dir, 'f-')), 'out'));
    outcomes.push({ storePath, ms: performance.now() - started });
  } catch (err) {
    outcomes.push({ storePath, code: (err as { code?: string }).code, message: (err as Error).message, ms: performance.now() - started });
  }
}
await client.close();
// Give late 'error' events (destroyed bodies, decoder children) a moment to surface.
await new Promise((r) => setTimeout(r, 300));
process.stdout.write(`${JSON.stringify({ outcomes, unhandled, maxRssKb: process.resourceUsage().maxRSS })}\n`);
