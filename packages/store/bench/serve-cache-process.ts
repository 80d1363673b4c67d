// Serves a binary cache directory from its own process, so the cache server
// never shares an event loop (or a core's time slices) with the client being
// measured. Prints the URL on stdout; exits when stdin closes.
// Usage: serve-cache-process.ts <cache dir> [memory|files]: `memory` (the benches' default)
// answers from memory, `files` streams each file from disk (see ServeCacheOptions.inMemory).
import { serveCache } from '@flox-k8s/nix-fixtures';

const dir = process.argv[2];
const mode = process.argv[3] ?? 'memory';
if (dir === undefined || (mode !== 'memory' && mode !== 'files')) throw new Error('usage: serve-cache-process.ts <cache dir> [memory|files]');
const cache = await serveCache(dir, { idleCloseMs: 30 * 60_000, inMemory: mode === 'memory' });
process.stdout.write(`${cache.url}\n`);
process.stdin.resume();
process.stdin.on('close', () => void cache.close().then(() => process.exit(0)));
