import { execFile } from 'node:child_process';
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { e2eCacheDir } from './env.ts';
import { ContainerdFetchError } from './errors.ts';
import { withFileLock } from './lock.ts';
import { debianMirror, machineCodename, machineDebianSources } from './debian-sources.ts';

const run = promisify(execFile);

/** The containerd generations the suites run against. */
export type ContainerdVersion = '1.6' | '1.7' | '2.1';

/** Where one containerd generation's programs are. runc is always bookworm's (sid's needs a newer glibc). */
export interface ContainerdBinaries {
  version: ContainerdVersion;
  /** Full version string of the Debian package, e.g. `1.7.24~ds1-6+deb13u1`. */
  packageVersion: string;
  containerd: string;
  shim: string;
  ctr: string;
  runc: string;
  /** Directory holding containerd, ctr and containerd-shim-runc-v2: put it first on containerd's PATH. */
  binDir: string;
}

const suites: Record<Exclude<ContainerdVersion, '1.6'>, string> = { '1.7': 'trixie', '2.1': 'sid' };
const bookwormRunc = '/usr/sbin/runc';

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

function layout(binDir: string, version: ContainerdVersion, packageVersion: string): ContainerdBinaries {
  return {
    version,
    packageVersion,
    containerd: join(binDir, 'containerd'),
    shim: join(binDir, 'containerd-shim-runc-v2'),
    ctr: join(binDir, 'ctr'),
    runc: bookwormRunc,
    binDir,
  };
}

/**
 * containerd of one generation: 1.6 is the installed bookworm package; 1.7 (trixie) and 2.1 (sid)
 * are fetched once with `apt-get download` through a private sources list on the machine's own
 * Debian mirror, unpacked with `dpkg -x`, and cached under the e2e cache dir (a lock serialises
 * concurrent processes).
 */
export async function containerdBinaries(version: ContainerdVersion, options: { cacheDir?: string } = {}): Promise<ContainerdBinaries> {
  if (version === '1.6') {
    const bins = layout('/usr/bin', '1.6', '');
    if (!(await exists(bins.containerd))) {
      throw new ContainerdFetchError('containerd 1.6 is expected at /usr/bin/containerd (Debian bookworm package "containerd"); install it with apt-get install containerd runc');
    }
    const { stdout } = await run(bins.containerd, ['--version']);
    return { ...bins, packageVersion: stdout.trim().split(/\s+/).pop() ?? '' };
  }
  const base = join(options.cacheDir ?? e2eCacheDir(), 'containerd');
  const dir = join(base, version);
  const readyFile = join(dir, 'ready.json');
  const cached = async (): Promise<ContainerdBinaries | undefined> => {
    const text = await readFile(readyFile, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    return layout(join(dir, 'root', 'usr', 'bin'), version, (JSON.parse(text) as { packageVersion: string }).packageVersion);
  };
  const hit = await cached();
  if (hit) return hit;
  await mkdir(base, { recursive: true });
  return withFileLock(join(base, `${version}.lock`), 10 * 60_000, async () => (await cached()) ?? fetchContainerd(version, base, dir));
}

async function fetchContainerd(version: Exclude<ContainerdVersion, '1.6'>, base: string, dir: string): Promise<ContainerdBinaries> {
  const suite = suites[version];
  const mirror = debianMirror(await machineDebianSources(), await machineCodename());
  const apt = join(base, 'apt', suite);
  const work = `${dir}.partial`;
  await rm(work, { recursive: true, force: true });
  await mkdir(join(apt, 'lists', 'partial'), { recursive: true });
  await mkdir(join(apt, 'cache', 'archives', 'partial'), { recursive: true });
  await mkdir(join(apt, 'parts'), { recursive: true });
  await mkdir(work, { recursive: true });
  const signedBy = mirror.signedBy ?? '/usr/share/keyrings/debian-archive-keyring.gpg';
  const sourcesList = join(apt, 'sources.list');
  await writeFile(sourcesList, `deb [signed-by=${signedBy}] ${mirror.uri} ${suite} main\n`);
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
    // The containerd package carries containerd, containerd-shim-runc-v2 and ctr.
    await run('apt-get', [...options, '-q', 'download', `containerd/${suite}`], { cwd: work, timeout: 10 * 60_000, maxBuffer: 16 << 20 });
    const deb = (await readdir(work)).find((n) => n.startsWith('containerd_') && n.endsWith('.deb'));
    if (deb === undefined) throw new ContainerdFetchError(`apt-get download containerd/${suite} left no containerd_*.deb in ${work}`);
    await run('dpkg', ['-x', join(work, deb), join(work, 'root')], { timeout: 5 * 60_000 });
    const packageVersion = (await run('dpkg-deb', ['-f', join(work, deb), 'Version'])).stdout.trim();
    const bins = layout(join(work, 'root', 'usr', 'bin'), version, packageVersion);
    const { stdout } = await run(bins.containerd, ['--version']);
    if (!stdout.includes(` ${version}.`) && !stdout.includes(` v${version}.`)) {
      throw new ContainerdFetchError(`containerd from ${suite} reports "${stdout.trim()}"; expected version ${version}.x`);
    }
    await rm(join(work, deb));
    await writeFile(join(work, 'ready.json'), `${JSON.stringify({ packageVersion, suite, mirror: mirror.uri })}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    // The suite's package lists are ~100 MB and only needed again when the cache is rebuilt.
    await rm(apt, { recursive: true, force: true });
    return layout(join(dir, 'root', 'usr', 'bin'), version, packageVersion);
  } catch (cause) {
    await rm(work, { recursive: true, force: true });
    if (cause instanceof ContainerdFetchError) throw cause;
    const stderr = (cause as { stderr?: string }).stderr?.trim() ?? '';
    throw new ContainerdFetchError(
      `could not fetch containerd ${version} from ${mirror.uri} ${suite}: ${stderr || (cause as Error).message}; check that the mirror is reachable`,
      { cause },
    );
  }
}
