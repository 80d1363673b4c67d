// Test helpers shared by the environment suites (not shipped: test-* files stay out of the build).

/** The nix-fixtures lockfile with only the hello-flox package: a second, smaller environment (closure: script, busybox, data). */
export function helloOnlyLockfile(bytes: Uint8Array): Uint8Array {
  const lock = JSON.parse(Buffer.from(bytes).toString()) as { manifest: { install: Record<string, unknown> }; packages: Array<{ install_id: string }> };
  lock.packages = lock.packages.filter((p) => p.install_id === 'hello-flox');
  lock.manifest.install = { 'hello-flox': lock.manifest.install['hello-flox'] };
  return new TextEncoder().encode(`${JSON.stringify(lock, null, 2)}\n`);
}

/** Poll `fn` every 20 ms until it gives a value, or fail after `ms`. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
