import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ShimPrograms } from '@flox-k8s/shim-layout';

/**
 * Stand-in shim programs for the agent's installer tests: the same placeholders as the
 * shim's sh launcher and runc front, and a prebuilt interposer that does nothing. The
 * agent installs whatever layout it is given; the real shim is installed in e2e.
 */
export async function standInShimPrograms(dir: string): Promise<ShimPrograms> {
  await mkdir(join(dir, 'prebuilt'), { recursive: true });
  const launcher = join(dir, 'launcher.sh');
  const front = join(dir, 'runc.sh');
  await writeFile(launcher, '#!/bin/sh\nPATH=@LIBEXEC_DIR@:$PATH\nexport PATH\n@CONFIG_EXPORT@\nexec @SHIM_RUNC_V2@ "$@"\n');
  await writeFile(
    front,
    '#!/bin/sh\nnode=@NODE@ entry=@ENTRY@ runc=@REAL_RUNC@ self=@SELF@ patcher=@PATCH_SERVICE_DIR@\n@NODE_ENV@\n@CONFIG_EXPORT@\nexec "$runc" "$@"\n',
  );
  await writeFile(join(dir, 'prebuilt', 'runc-interposer.mjs'), '// stand-in interposer\n');
  await writeFile(join(dir, 'prebuilt', 'fetch-worker.mjs'), '// stand-in fetch worker\n');
  return { launcher, front, interposer: join(dir, 'unused-entry.ts'), fetchWorker: join(dir, 'unused-worker.ts'), prebuilt: join(dir, 'prebuilt') };
}
