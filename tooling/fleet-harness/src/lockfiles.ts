/** The nix-fixtures lockfile with only the hello-flox package: a second, smaller environment (closure: script, busybox, data). */
export function helloOnlyLockfile(bytes: Uint8Array): Uint8Array {
  const lock = JSON.parse(Buffer.from(bytes).toString()) as { manifest: { install: Record<string, unknown> }; packages: Array<{ install_id: string }> };
  lock.packages = lock.packages.filter((p) => p.install_id === 'hello-flox');
  lock.manifest.install = { 'hello-flox': lock.manifest.install['hello-flox'] };
  return new TextEncoder().encode(`${JSON.stringify(lock, null, 2)}\n`);
}
