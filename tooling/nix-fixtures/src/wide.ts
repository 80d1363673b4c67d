import { createHash, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { closureResult, publishClosure, stepTimer, type PublishedClosure } from './closure-fixture.ts';
import { cachedFixture, numberedRoots } from './cached-fixture.ts';
import { FixtureInputMissingError } from './errors.ts';
import { FIXTURE_SYSTEM } from './fixture-lockfile.ts';
import type { FixtureProgram } from './large-programs.ts';
import { floxLockfile } from './lockfile-writer.ts';
import { wideManifestSchema, writeManifest, type WideManifest } from './manifest.ts';
import { derivationOutputs, instantiate, realiseAll } from './nix.ts';
import { WIDE_BUILDER, WIDE_EXPRESSION, WIDE_VERSION } from './wide-expression.ts';

/** Many small store paths in one closure (the bind-mount farm at scale); see README.md "Wide". */
export interface NixWideFixtures extends PublishedClosure {
  root: string;
  /** A Flox lockfile installing `wide-check`, the `groups` packages and busybox. */
  lockfile: { path: string; bytes: Uint8Array };
  /** Lockfile install id → store path name and `out` path. */
  packages: Record<string, { name: string; out: string }>;
  /**
   * `wide-check` (counts the closure paths it can see) runs anywhere; `ls /nix/store` (exactly the
   * closure, sorted) is only right inside a container that mounts exactly the closure.
   */
  programs: Array<FixtureProgram & { containerOnly?: true }>;
  timingsMs: Record<string, number>;
}

export interface NixWideFixturesOptions {
  /** Packages, each referring to `perGroup` library paths (default 32 × 32: 1,058 paths with busybox and wide-check). */
  groups?: number;
  perGroup?: number;
  cacheDir?: string;
  /** The static busybox the packages' scripts run; default `/bin/busybox` (Debian's busybox-static). */
  busyboxBinary?: string;
}

/** Builds (once, cached like `nixFixtures()`) the wide fixture. */
export async function nixWideFixtures(options: NixWideFixturesOptions = {}): Promise<NixWideFixtures> {
  const groups = Math.max(1, Math.floor(options.groups ?? 32));
  const perGroup = Math.max(1, Math.floor(options.perGroup ?? 32));
  const busyboxBinary = options.busyboxBinary ?? '/bin/busybox';
  const busybox = await readFile(busyboxBinary).catch((cause: unknown) => {
    throw new FixtureInputMissingError('a static busybox binary', busyboxBinary, 'Install it: apt-get install busybox-static.', { cause });
  });
  const key = createHash('sha256')
    .update(`nix-wide-fixtures\0${WIDE_VERSION}\0${WIDE_EXPRESSION}\0${WIDE_BUILDER}\0${groups}\0${perGroup}\0`)
    .update(busybox)
    .digest('hex')
    .slice(0, 32);
  return cachedFixture({
    kind: 'wide',
    key,
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
    schema: wideManifestSchema,
    build: (dir) => buildWide(dir, key, { groups, perGroup, busyboxBinary }),
    result: resultFrom,
    gcRoots: (manifest) => numberedRoots(manifest.roots),
  });
}

async function buildWide(dir: string, key: string, input: { groups: number; perGroup: number; busyboxBinary: string }): Promise<void> {
  if (!/^\/[A-Za-z0-9/._+-]+$/.test(input.busyboxBinary)) {
    throw new FixtureInputMissingError('an absolute path usable as a Nix path literal', input.busyboxBinary, 'Pass a plain path.');
  }
  const { timingsMs, timed } = stepTimer();
  await writeFile(join(dir, 'wide.nix'), WIDE_EXPRESSION);
  await writeFile(join(dir, 'wide-builder.sh'), WIDE_BUILDER);
  const pkgNames = Array.from({ length: input.groups }, (_, g) => `wide-pkg-${String(g).padStart(2, '0')}`);
  const attrs = ['check', 'busybox', ...pkgNames];
  const args = { busyboxBinary: input.busyboxBinary, groups: String(input.groups), perGroup: String(input.perGroup) };
  const drvs = await timed('instantiate', () => instantiate(join(dir, 'wide.nix'), attrs, args));
  // A thousand tiny builds: their cost is Nix's per-build overhead, so run several at once.
  await timed('build', () => realiseAll(drvs, { maxJobs: 8 }));
  const outputs = await derivationOutputs(drvs);
  const packages: WideManifest['packages'] = {};
  attrs.forEach((attr, i) => {
    const derivation = drvs[i]!;
    const out = outputs.get(derivation)!['out']!;
    packages[attr === 'check' ? 'wide-check' : attr === 'busybox' ? 'busybox' : attr] = { name: basename(out).slice(33), derivation, out };
  });
  const published = await publishClosure(dir, Object.values(packages).map((p) => p.out), timed);

  const lockfile = floxLockfile({
    system: FIXTURE_SYSTEM,
    packages: Object.entries(packages).map(([installId, p]) => ({
      installId,
      pname: installId,
      version: p.name.slice(p.name.lastIndexOf('-') + 1),
      description: installId === 'wide-check' ? 'Counts the store paths of the wide fixture it can see' : `Wide fixture package ${installId}`,
      license: 'Apache-2.0',
      derivation: p.derivation,
      outputs: { out: p.out },
      outputsToInstall: ['out'],
    })),
  });
  await writeFile(join(dir, 'manifest.lock'), lockfile);
  const busybox = packages['busybox']!.out;
  const manifest: WideManifest = {
    kind: 'nix-wide-fixtures',
    key,
    builtAt: new Date().toISOString(),
    buildId: randomUUID(),
    packages,
    ...published,
    programs: [
      {
        name: 'wide-check: every closure path is there',
        argv: [`${packages['wide-check']!.out}/bin/wide-check`],
        stdout: `wide: ${published.closure.length} of ${published.closure.length} store paths present\n`,
      },
      {
        name: 'ls /nix/store: exactly the closure (inside a container only)',
        argv: [`${busybox}/bin/ls`, '/nix/store'],
        stdout: published.closure.map((p) => `${basename(p)}\n`).join(''),
        containerOnly: true,
      },
    ],
    lockfile: 'manifest.lock',
    timingsMs,
  };
  await writeManifest(dir, manifest);
}

async function resultFrom(root: string, manifest: WideManifest): Promise<NixWideFixtures | undefined> {
  const common = await closureResult(root, manifest);
  if (common === undefined) return undefined;
  return {
    ...common,
    packages: Object.fromEntries(Object.entries(manifest.packages).map(([id, p]) => [id, { name: p.name, out: p.out }])),
    programs: manifest.programs.map((p) => ({ ...p, argv: [...p.argv] })),
  };
}
