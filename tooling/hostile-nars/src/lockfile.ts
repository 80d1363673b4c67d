// A Flox lockfile that names store paths directly (store-path packages: `{install_id,
// store_path, system, priority}`), so tests can put hand-made store paths (a symlink root,
// a file root, a hostile NAR) into an environment.

/** The bytes of a lockfile (lockfile-version 1) installing each store path under its install id. */
export function storePathLockfile(paths: Record<string, string>, system = 'x86_64-linux'): Uint8Array {
  const install: Record<string, { 'store-path': string }> = {};
  for (const [installId, storePath] of Object.entries(paths)) install[installId] = { 'store-path': storePath };
  const lock = {
    'lockfile-version': 1,
    manifest: { version: 1, install, options: { systems: [system] } },
    packages: Object.entries(paths).map(([installId, storePath]) => ({ install_id: installId, store_path: storePath, system, priority: 5 })),
  };
  return new TextEncoder().encode(`${JSON.stringify(lock, null, 2)}\n`);
}
