import { execFile } from 'node:child_process';
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { e2eCacheDir } from './env.ts';
import { ContainerdFetchError } from './errors.ts';
import { withFileLock } from './lock.ts';
import { debianMirror, machineCodename, machineDebianSources } from './debian-sources.ts';
import {
  FETCH_SUITES,
  generationPattern,
  inGeneration,
  parseMadison,
  selectContainerd,
  upstreamOf,
  type ContainerdVersion,
} from './containerd-generations.ts';

export type { ContainerdVersion } from './containerd-generations.ts';

const run = promisify(execFile);

/** Where one containerd generation's programs are. runc is always bookworm's (sid's needs a newer glibc). */
export interface ContainerdBinaries {
  version: ContainerdVersion;
  /** Full version string of the Debian package, e.g. `1.7.24~ds1-6+deb13u1`. */
  packageVersion: string;
  /** The containerd version itself, e.g. `1.7.24` or `2.1.9`: what the generation label stands for today. */
  upstreamVersion: string;
  containerd: string;
  shim: string;
  ctr: string;
  runc: string;
  /** Directory holding containerd, ctr and containerd-shim-runc-v2: put it first on containerd's PATH. */
  binDir: string;
}

const bookwormRunc = '/usr/sbin/runc';

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

function layout(binDir: string, version: ContainerdVersion, packageVersion: string, upstreamVersion = upstreamOf(packageVersion)): ContainerdBinaries {
  return {
    version,
    packageVersion,
    upstreamVersion,
    containerd: join(binDir, 'containerd'),
    shim: join(binDir, 'containerd-shim-runc-v2'),
    ctr: join(binDir, 'ctr'),
    runc: bookwormRunc,
    binDir,
  };
}

/**
 * containerd of one generation: 1.6 is the installed bookworm package; 1.7 and 2.1 (containerd 2)
 * are the newest package of that generation in trixie or sid on the day of the first fetch
 * (`apt-cache madison` through a private sources list on the machine's own Debian mirror),
 * fetched with `apt-get download`, unpacked with `dpkg -x`, and cached under the e2e cache dir
 * until it is deleted (a lock serialises concurrent processes).
 */
export async function containerdBinaries(version: ContainerdVersion, options: { cacheDir?: string } = {}): Promise<ContainerdBinaries> {
  if (version === '1.6') {
    const bins = layout('/usr/bin', '1.6', '');
    if (!(await exists(bins.containerd))) {
      throw new ContainerdFetchError('containerd 1.6 is expected at /usr/bin/containerd (Debian bookworm package "containerd"); install it with apt-get install containerd runc');
    }
    const { stdout } = await run(bins.containerd, ['--version']);
    if (!inGeneration('1.6', stdout.trim().split(/\s+/)[2] ?? '')) {
      throw new ContainerdFetchError(`/usr/bin/containerd reports "${stdout.trim()}"; expected bookworm's containerd 1.6.x`);
    }
    const packageVersion = stdout.trim().split(/\s+/).pop() ?? '';
    return { ...bins, packageVersion, upstreamVersion: upstreamOf(packageVersion) };
  }
  const base = join(options.cacheDir ?? e2eCacheDir(), 'containerd');
  const dir = join(base, version);
  const readyFile = join(dir, 'ready.json');
  const cached = async (): Promise<ContainerdBinaries | undefined> => {
    const text = await readFile(readyFile, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const ready = JSON.parse(text) as { packageVersion: string; upstreamVersion?: string };
    return layout(join(dir, 'root', 'usr', 'bin'), version, ready.packageVersion, ready.upstreamVersion);
  };
  const hit = await cached();
  if (hit) return hit;
  await mkdir(base, { recursive: true });
  return withFileLock(join(base, `${version}.lock`), 10 * 60_000, async () => (await cached()) ?? fetchContainerd(version, base, dir));
}

async function fetchContainerd(version: Exclude<ContainerdVersion, '1.6'>, base: string, dir: string): Promise<ContainerdBinaries> {
  const mirror = debianMirror(await machineDebianSources(), await machineCodename());
  const apt = join(base, 'apt', FETCH_SUITES.join('+'));
  const work = `${dir}.partial`;
  await rm(work, { recursive: true, force: true });
  await mkdir(join(apt, 'lists', 'partial'), { recursive: true });
  await mkdir(join(apt, 'cache', 'archives', 'partial'), { recursive: true });
  await mkdir(join(apt, 'parts'), { recursive: true });
  await mkdir(work, { recursive: true });
  const signedBy = mirror.signedBy ?? '/usr/share/keyrings/debian-archive-keyring.gpg';
  const sourcesList = join(apt, 'sources.list');
  await writeFile(sourcesList, FETCH_SUITES.map((suite) => `deb [signed-by=${signedBy}] ${mirror.uri} ${suite} main\n`).join(''));
  const options = [
    `Dir::Etc::SourceList=${sourcesList}`,
    `Dir::Etc::SourceParts=${join(apt, 'parts')}`,
    `Dir::Etc::PreferencesParts=${join(apt, 'parts')}`,
    `Dir::Etc::Preferences=${join(apt, 'preferences')}`,
    `Dir::State::Lists=${join(apt, 'lists')}`,
    `Dir::Cache=${join(apt, 'cache')}`,
    'APT::Sandbox::User=root',
  ].flatMap((o) => ['-o', o]);
  try {
    await run('apt-get', [...options, '-q', 'update'], { timeout: 5 * 60_000, maxBuffer: 16 << 20 });
    const madison = await run('apt-cache', [...options, 'madison', 'containerd'], { timeout: 60_000, maxBuffer: 16 << 20 });
    const { version: wanted, suite } = selectContainerd(parseMadison(madison.stdout, 'containerd'), version);
    // The containerd package carries containerd, containerd-shim-runc-v2 and ctr.
    await run('apt-get', [...options, '-q', 'download', `containerd=${wanted}`], { cwd: work, timeout: 10 * 60_000, maxBuffer: 16 << 20 });
    const deb = (await readdir(work)).find((n) => n.startsWith('containerd_') && n.endsWith('.deb'));
    if (deb === undefined) throw new ContainerdFetchError(`apt-get download containerd=${wanted} left no containerd_*.deb in ${work}`);
    await run('dpkg', ['-x', join(work, deb), join(work, 'root')], { timeout: 5 * 60_000 });
    const packageVersion = (await run('dpkg-deb', ['-f', join(work, deb), 'Version'])).stdout.trim();
    const bins = layout(join(work, 'root', 'usr', 'bin'), version, packageVersion);
    // `containerd github.com/containerd/containerd/v2 v2.1.9 <commit>`: the binary must be of the generation too.
    const { stdout } = await run(bins.containerd, ['--version']);
    const reported = stdout.trim().split(/\s+/)[2] ?? '';
    if (!inGeneration(version, reported)) {
      throw new ContainerdFetchError(`containerd ${packageVersion} from ${suite} reports "${stdout.trim()}"; expected a containerd ${generationPattern(version)}`);
    }
    await rm(join(work, deb));
    const upstreamVersion = reported.replace(/^v/, '').replace(/[~+].*$/, '');
    await writeFile(join(work, 'ready.json'), `${JSON.stringify({ packageVersion, upstreamVersion, suite, mirror: mirror.uri })}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    // The suite's package lists are ~100 MB and only needed again when the cache is rebuilt.
    await rm(apt, { recursive: true, force: true });
    return layout(join(dir, 'root', 'usr', 'bin'), version, packageVersion, upstreamVersion);
  } catch (cause) {
    await rm(work, { recursive: true, force: true });
    if (cause instanceof ContainerdFetchError) throw cause;
    const stderr = (cause as { stderr?: string }).stderr?.trim() ?? '';
    throw new ContainerdFetchError(
      `could not fetch containerd ${generationPattern(version)} from ${mirror.uri} ${FETCH_SUITES.join('/')}: ${stderr || (cause as Error).message}; check that the mirror is reachable`,
      { cause },
    );
  }
}
