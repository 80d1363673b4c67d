import { createHash, randomUUID } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { closureResult, publishClosure, stepTimer } from './closure-fixture.ts';
import type { ClosureStats } from './closure-listing.ts';
import { cachedFixture, numberedRoots } from './cached-fixture.ts';
import { FixtureInputMissingError } from './errors.ts';
import { LARGE_BUILDER, LARGE_EXPRESSION, unitAttr } from './large-expression.ts';
import { LARGE_PACKAGES, LARGE_VERSION } from './large-packages.ts';
import { planLarge } from './large-plan.ts';
import { LARGE_VARIANT_VERSION, variantPlan, type LargeVariant } from './large-variant.ts';
import { largePrograms, type FixtureProgram } from './large-programs.ts';
import { floxLockfile } from './lockfile-writer.ts';
import { FIXTURE_SYSTEM } from './fixture-lockfile.ts';
import { largeManifestSchema, writeManifest, type LargeManifest } from './manifest.ts';
import { derivationOutputs, instantiate, realiseAll } from './nix.ts';
import { whichPatchelf } from './patchelf.ts';
import { run } from './run.ts';

/** A realistic environment built with real Nix from the machine's own programs; see README.md "Large". */
export interface NixLargeFixtures {
  root: string;
  /** A Flox lockfile (lockfile-version 1) installing every package of `packages`. */
  lockfile: { path: string; bytes: Uint8Array };
  /** Lockfile install id → store path name and output paths (all installed). */
  packages: Record<string, { name: string; outputs: Record<string, string> }>;
  /** Every store path built, by unit (Debian source package, or `nodejs`) and output. */
  storePaths: Record<string, Record<string, string>>;
  /** The store's dynamic linker, `<glibc>/lib/ld-linux-x86-64.so.2`: every ELF program's interpreter. */
  interpreter: string;
  /** The store paths the lockfile installs (sorted); their closure is `closure`. */
  roots: string[];
  /** Sorted closure of `roots`. */
  closure: string[];
  /** Sum of NarSize over the closure. */
  narSize: number;
  stats: ClosureStats;
  /** The longest chain of references, root first. */
  longestChain: string[];
  /** Programs to run (argv of store paths, no environment needed) and the exact stdout of each. */
  programs: FixtureProgram[];
  /** Nix's listing of the closure: `nix path-info --json --recursive`, `files.sha256` (`sha256sum -c`), `tree.txt`. */
  listing: { pathInfo: string; sha256: string; tree: string };
  publicKey: string;
  secretKeyFile: string;
  caches: { xz: string; zstd: string };
  /** How long each step of the first build took. */
  timingsMs: Record<string, number>;
}

export interface NixLargeFixturesOptions {
  /** Where cache directories live; default `${XDG_CACHE_HOME:-$HOME/.cache}/flox-k8s/nix-fixtures`. */
  cacheDir?: string;
  /** The dynamically linked Node binary installed as `nodejs` (≥ 100 MB); default the running one. */
  nodeBinary?: string;
  /**
   * `shared90`: a second environment whose closure shares ~90% of the large fixture's store
   * paths (large-variant.ts); its own caches and key. Default: the large fixture itself.
   */
  variant?: LargeVariant;
}

/**
 * Builds (once, cached like `nixFixtures()`) the large fixture: ~140 store paths relocated from
 * the machine's Debian packages and Node, published as signed xz and zstd caches with a lockfile.
 * The key covers the layout version, the expression, the builder, the package list and the Node
 * binary (path, size, mtime): the result is a snapshot of the machine's files at its first build.
 */
export async function nixLargeFixtures(options: NixLargeFixturesOptions = {}): Promise<NixLargeFixtures> {
  const nodeBinary = options.nodeBinary ?? process.execPath;
  const nodeStat = await stat(nodeBinary).catch((cause: unknown) => {
    throw new FixtureInputMissingError('a Node binary', nodeBinary, 'Pass nodeBinary.', { cause });
  });
  const key = createHash('sha256')
    .update(`nix-large-fixtures\0${LARGE_VERSION}\0${LARGE_EXPRESSION}\0${LARGE_BUILDER}\0${JSON.stringify(LARGE_PACKAGES)}\0`)
    .update(`${nodeBinary}\0${nodeStat.size}\0${nodeStat.mtimeMs}`)
    .update(options.variant === undefined ? '' : `\0variant\0${options.variant}\0${LARGE_VARIANT_VERSION}`)
    .digest('hex')
    .slice(0, 32);
  return cachedFixture({
    kind: 'large',
    key,
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
    schema: largeManifestSchema,
    build: (dir) => buildLarge(dir, key, nodeBinary, options.variant),
    result: resultFrom,
    gcRoots: (manifest) => numberedRoots(manifest.roots),
  });
}

async function buildLarge(dir: string, key: string, nodeBinary: string, variant: LargeVariant | undefined): Promise<void> {
  const { timingsMs, timed } = stepTimer();
  const nodeVersion = nodeBinary === process.execPath ? process.versions.node : (await run(nodeBinary, ['-p', 'process.versions.node'])).trim();
  const planned = await timed('plan', () => planLarge({ binary: nodeBinary, version: nodeVersion }));
  const units = variant === undefined ? planned : variantPlan(planned, variant);
  await writeFile(join(dir, 'plan.json'), `${JSON.stringify({ units })}\n`);
  await writeFile(join(dir, 'large.nix'), LARGE_EXPRESSION);
  await writeFile(join(dir, 'large-builder.mjs'), LARGE_BUILDER);

  const args = { planFile: JSON.stringify(join(dir, 'plan.json')), node: JSON.stringify(nodeBinary), patchelf: JSON.stringify(await whichPatchelf()) };
  const drvs = await timed('instantiate', () => instantiate(join(dir, 'large.nix'), units.map((u) => unitAttr(u.key)), args));
  const outputs = await derivationOutputs(drvs);
  await timed('build', () => realiseAll(drvs, { maxJobs: 2 }));

  const built: LargeManifest['units'] = {};
  units.forEach((unit, i) => {
    const derivation = drvs[i]!;
    built[unit.key] = {
      name: unit.name,
      version: unit.version,
      debs: unit.debs,
      derivation,
      outputs: outputs.get(derivation)!,
      ...(unit.installId ? { installId: unit.installId } : {}),
    };
  });
  const installed = units.filter((u) => u.installId !== undefined);
  // A `version = 1` manifest installs every output of every package.
  const published = await publishClosure(dir, installed.flatMap((u) => Object.values(built[u.key]!.outputs)), timed);

  const lockfile = floxLockfile({
    system: FIXTURE_SYSTEM,
    packages: installed.map((unit) => {
      const spec = LARGE_PACKAGES.find((s) => s.installId === unit.installId)!;
      return {
        installId: spec.installId,
        pname: spec.installId,
        version: unit.version,
        description: spec.description,
        license: spec.license,
        derivation: built[unit.key]!.derivation,
        outputs: built[unit.key]!.outputs,
        // nixpkgs' meta.outputsToInstall (Flox installs every output of a `version = 1` manifest anyway).
        outputsToInstall: unit.outputs.includes('bin') ? unit.outputs.filter((o) => o === 'bin' || o === 'man') : ['out'],
      };
    }),
  });
  await writeFile(join(dir, 'manifest.lock'), lockfile);

  const glibc = units.find((u) => u.debs.includes('libc6'))!;
  const manifest: LargeManifest = {
    kind: 'nix-large-fixtures',
    key,
    builtAt: new Date().toISOString(),
    buildId: randomUUID(),
    units: built,
    interpreter: `${built[glibc.key]!.outputs['out']}/lib/ld-linux-x86-64.so.2`,
    ...published,
    lockfile: 'manifest.lock',
    timingsMs,
  };
  await writeManifest(dir, manifest);
}

async function resultFrom(root: string, manifest: LargeManifest): Promise<NixLargeFixtures | undefined> {
  const common = await closureResult(root, manifest);
  if (common === undefined) return undefined;
  const packages: NixLargeFixtures['packages'] = {};
  for (const unit of Object.values(manifest.units)) if (unit.installId !== undefined) packages[unit.installId] = { name: unit.name, outputs: { ...unit.outputs } };
  return {
    ...common,
    packages,
    storePaths: Object.fromEntries(Object.entries(manifest.units).map(([k, u]) => [k, { ...u.outputs }])),
    interpreter: manifest.interpreter,
    // Derived on each call (a few ms: two files hashed), so a new program needs no rebuild.
    programs: await largePrograms(
      Object.fromEntries(Object.entries(manifest.units).map(([k, u]) => [k, u.outputs])),
      Object.fromEntries(Object.entries(manifest.units).map(([k, u]) => [k, u.version])),
      (deb) => Object.entries(manifest.units).find(([, u]) => u.debs.includes(deb))?.[0] ?? deb,
    ),
  };
}
