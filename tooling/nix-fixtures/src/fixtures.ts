import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachesPresent } from './closure-fixture.ts';
import { KEY_NAME } from './publish.ts';
import { cachedFixture } from './cached-fixture.ts';
import { FixtureInputMissingError, NixOutputUnexpectedError } from './errors.ts';
import { fixtureLockfile } from './fixture-lockfile.ts';
import { FIXTURE_ATTRS, FIXTURES_EXPRESSION, FIXTURES_VERSION, type FixturePackage } from './fixtures-expression.ts';
import { fixturesManifestSchema, writeManifest, type FixturesManifest } from './manifest.ts';
import {
  closureOf,
  COMPRESSIONS,
  copyToFileCache,
  generateKey,
  instantiate,
  realise,
  type Compression,
} from './nix.ts';

/** Real store paths built by real Nix, published as signed binary caches, plus a lockfile naming them. */
export interface NixFixtures {
  /** Cache directory holding everything below. */
  root: string;
  /** `/nix/store/...` paths of the four fixture packages. */
  storePaths: { busybox: string; data: string; script: string; tree: string };
  /** Sorted full closure of the four. */
  closure: string[];
  /** `flox-k8s-fixture-1:<base64>`: trust this key to substitute from `caches`. */
  publicKey: string;
  secretKeyFile: string;
  /** Directories of `file://` binary caches holding the closure, one per compression. */
  caches: Record<Compression, string>;
  /** A Flox lockfile (lockfile-version 1, catalog-style, x86_64-linux) naming the four store paths. */
  lockfile: { path: string; bytes: Uint8Array };
}

export interface NixFixturesOptions {
  /** Where cache directories live; default `${XDG_CACHE_HOME:-$HOME/.cache}/flox-k8s/nix-fixtures`. */
  cacheDir?: string;
  /** The static busybox to wrap; default `/bin/busybox` (Debian's busybox-static). */
  busyboxBinary?: string;
}

export { KEY_NAME };
const LOCKFILE = 'manifest.lock';

/**
 * Builds the fixtures once and caches them by the hash of their inputs (the Nix
 * expression, the busybox bytes, the layout version). Safe to call from many
 * processes at once; a warm call runs no Nix command unless the store paths were
 * garbage-collected, in which case everything is rebuilt.
 */
export async function nixFixtures(options: NixFixturesOptions = {}): Promise<NixFixtures> {
  const busyboxBinary = options.busyboxBinary ?? '/bin/busybox';
  const busybox = await readFile(busyboxBinary).catch((cause: unknown) => {
    throw new FixtureInputMissingError('a static busybox binary', busyboxBinary, 'Install it: apt-get install busybox-static.', {
      cause,
    });
  });
  const key = createHash('sha256')
    .update(`nix-fixtures\0${FIXTURES_VERSION}\0${FIXTURES_EXPRESSION}\0`)
    .update(busybox)
    .digest('hex')
    .slice(0, 32);

  return cachedFixture({
    kind: 'fixtures',
    key,
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
    schema: fixturesManifestSchema,
    build: (tmpDir) => buildFixtures(tmpDir, key, busyboxBinary),
    result: resultFrom,
    gcRoots: (manifest) => ({ ...manifest.storePaths }),
  });
}

async function buildFixtures(dir: string, key: string, busyboxBinary: string): Promise<void> {
  if (!/^\/[A-Za-z0-9/._+-]+$/.test(busyboxBinary)) {
    throw new FixtureInputMissingError('an absolute path usable as a Nix path literal', busyboxBinary, 'Pass a plain path.');
  }
  const expressionFile = join(dir, 'fixtures.nix');
  await writeFile(expressionFile, FIXTURES_EXPRESSION);
  const drvs = await instantiate(expressionFile, FIXTURE_ATTRS, { busyboxBinary });
  const outs = await realise(drvs);
  const storePaths = byAttr(outs);
  const derivations = byAttr(drvs);
  const closure = await closureOf(outs);

  await mkdir(join(dir, 'keys'));
  const publicKey = await generateKey(KEY_NAME, join(dir, 'keys', 'secret.key'), join(dir, 'keys', 'public.key'));
  await mkdir(join(dir, 'caches'));
  // Sequential: parallel `nix copy` runs gain little on two cores and contend for the store's locks.
  for (const compression of COMPRESSIONS) {
    await copyToFileCache(outs, join(dir, 'caches', compression), compression, join(dir, 'keys', 'secret.key'));
  }
  await writeFile(join(dir, LOCKFILE), fixtureLockfile({ outputs: storePaths, derivations }));

  const manifest: FixturesManifest = {
    kind: 'nix-fixtures',
    key,
    builtAt: new Date().toISOString(),
    buildId: randomUUID(),
    storePaths,
    derivations,
    closure,
    publicKey,
    secretKeyFile: 'keys/secret.key',
    caches: { xz: 'caches/xz', zstd: 'caches/zstd', bzip2: 'caches/bzip2', none: 'caches/none' },
    lockfile: LOCKFILE,
  };
  await writeManifest(dir, manifest);
}

function byAttr(paths: readonly string[]): Record<FixturePackage, string> {
  const [busybox, data, script, tree] = paths;
  if (busybox === undefined || data === undefined || script === undefined || tree === undefined) {
    throw new NixOutputUnexpectedError('nix-instantiate/nix-store', `${FIXTURE_ATTRS.length} paths`, `${paths.length}`);
  }
  return { busybox, data, script, tree };
}

async function resultFrom(root: string, manifest: FixturesManifest): Promise<NixFixtures | undefined> {
  const caches = await cachesPresent(root, manifest.caches);
  if (caches === undefined) return undefined;
  const lockfilePath = join(root, manifest.lockfile);
  return {
    root,
    storePaths: { ...manifest.storePaths },
    closure: [...manifest.closure],
    publicKey: manifest.publicKey,
    secretKeyFile: join(root, manifest.secretKeyFile),
    caches,
    lockfile: { path: lockfilePath, bytes: new Uint8Array(await readFile(lockfilePath)) },
  };
}
