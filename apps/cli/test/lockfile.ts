// A small catalog-style lockfile for the publish and resolve tests (no Nix needed): `hello`
// for two Linux systems, as `flox lock` writes it. `note` changes the bytes, so the digest.
const SYSTEMS = {
  'x86_64-linux': '/nix/store/nm7p8wxflggcwxfzayhysq4z6a1wg373-hello-2.12.3',
  'aarch64-linux': '/nix/store/0mcbhw8z1fq4hybx5b0mb8h1s2dxj9bb-hello-2.12.3',
} as const;

export const HELLO_STORE_PATHS: Record<string, string[]> = Object.fromEntries(Object.entries(SYSTEMS).map(([s, p]) => [s, [p]]));

export function helloLockfile(note = ''): Uint8Array {
  const lock = {
    'lockfile-version': 1,
    manifest: { 'schema-version': '1.14.0', install: { hello: { 'pkg-path': 'hello' } }, hook: {}, profile: {}, options: { systems: Object.keys(SYSTEMS) }, vars: note === '' ? {} : { NOTE: note } },
    packages: Object.entries(SYSTEMS).map(([system, out]) => ({
      attr_path: 'hello',
      broken: false,
      derivation: '/nix/store/gsnnaglyb9vpvqcgw3i4czy3n892smms-hello-2.12.3.drv',
      description: 'Program that produces a familiar, friendly greeting',
      install_id: 'hello',
      license: 'GPL-3.0-or-later',
      locked_url: 'https://github.com/flox/nixpkgs?rev=d407951447dcd00442e97087bf374aad70c04cea',
      name: 'hello-2.12.3',
      pname: 'hello',
      rev: 'd407951447dcd00442e97087bf374aad70c04cea',
      rev_count: 1027867,
      rev_date: '2026-07-05T04:06:12Z',
      scrape_date: '2026-07-06T03:13:10.948632Z',
      stabilities: ['unstable'],
      unfree: false,
      version: '2.12.3',
      outputs_to_install: ['out'],
      outputs: { out },
      system,
      group: 'toplevel',
      priority: 5,
    })),
  };
  return new TextEncoder().encode(`${JSON.stringify(lock, null, 2)}\n`);
}
