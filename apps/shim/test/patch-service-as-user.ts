// Runs the patch service as another user (for patch-service-owner.test.ts): starts as root,
// loads everything, then drops to the uid/gid given (setgroups, setgid, setuid) and serves
// `<dir>`. One JSON line on stdout per report (`{"report":…}`), after `{"listening":…}`.
// A test-only pause, not a seam in the library: with `--pause-open <pid>`, the first open of
// that pid's reply FIFO prints `{"opening":path}` and waits until `<dir>.go` exists, so the
// test can swap the FIFO for a symlink between the service's lstat and its open (`node:fs`
// is patched and the ESM exports re-synced, as the store's fault injector does).
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { parseConfig } from '@flox-k8s/config';
import { listenPatchService } from '@flox-k8s/interposer';

const [dir, uid, gid, ...rest] = process.argv.slice(2);
const pauseFor = rest[0] === '--pause-open' ? rest[1] : undefined;
const print = (value: unknown): boolean => process.stdout.write(`${JSON.stringify(value)}\n`);

if (pauseFor !== undefined) {
  const openSync = fs.openSync;
  let paused = false;
  fs.openSync = ((path: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
    if (!paused && String(path).endsWith(`/replies/${pauseFor}`)) {
      paused = true;
      print({ opening: String(path) });
      const cell = new Int32Array(new SharedArrayBuffer(4));
      for (let i = 0; i < 1000 && !fs.existsSync(`${dir}.go`); i++) Atomics.wait(cell, 0, 0, 10);
    }
    return openSync(path, flags as fs.OpenMode, mode);
  }) as typeof fs.openSync;
  syncBuiltinESMExports();
}

process.setgroups?.([]);
process.setgid?.(Number(gid));
process.setuid?.(Number(uid));
const service = await listenPatchService({
  dir: dir as string,
  config: parseConfig({ storeRoot: `${dir}-store`, sources: [] }),
  log: { log: () => undefined },
  onRequest: (report) => print({ report }),
  replyOpenTimeoutMs: 3000,
});
print({ listening: service.fifo, uid: process.getuid?.() });
process.on('SIGTERM', () => void service.close().then(() => process.exit(0)));
