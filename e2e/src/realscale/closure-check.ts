// The check run inside a container with an empty rootfs: every file of the mounted closure
// byte-identical to what Nix built (`sha256sum -c` over Nix's list), and the tree exactly Nix's
// (every directory, file, executable bit and symlink target, nothing more), with the closure's
// own coreutils, findutils and diffutils, through the environment's PATH.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where the check directory is mounted (read-only) in the container. */
export const CHECK_MOUNT = '/check';

const SCRIPT = `set -o pipefail
sha256sum --quiet --strict -c ${CHECK_MOUNT}/files.sha256 || exit 11
find /nix/store -mindepth 1 \\( -type l -printf 'l %p %l\\n' \\) -o \\( -type d -printf 'd %p\\n' \\) \\
  -o \\( -type f -perm /111 -printf 'x %p\\n' \\) -o \\( -type f -printf 'f %p\\n' \\) \\
  | LC_ALL=C sort | diff ${CHECK_MOUNT}/expected-tree.txt - | head -n 40
[ "\${PIPESTATUS[2]}" = 0 ] || exit 12
echo "verified $(wc -l < ${CHECK_MOUNT}/files.sha256) files, $(wc -l < ${CHECK_MOUNT}/expected-tree.txt) entries"
`;

/**
 * Writes `dir` for the CHECK_MOUNT: Nix's `files.sha256`, the expected `find` listing derived
 * from Nix's `tree.txt` (`d|f|x <path>`, `l <path> <target>`; sorted bytewise as `LC_ALL=C sort`)
 * and `check.sh`. Returns what the script prints when everything matches.
 */
export async function writeClosureCheck(dir: string, listing: { sha256: string; tree: string }): Promise<string> {
  await mkdir(dir, { recursive: true });
  const sha = await readFile(listing.sha256);
  await writeFile(join(dir, 'files.sha256'), sha);
  const expected = (await readFile(listing.tree, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const [kind, path, third] = line.split(' ') as [string, string, string | undefined];
      return kind === 'l' ? `l ${path} ${third ?? ''}` : `${kind} ${path}`;
    })
    .map((l) => Buffer.from(l))
    .sort(Buffer.compare);
  await writeFile(join(dir, 'expected-tree.txt'), Buffer.concat(expected.flatMap((l) => [l, Buffer.from('\n')])));
  await writeFile(join(dir, 'check.sh'), SCRIPT);
  const files = sha.toString('utf8').split('\n').filter((l) => l !== '').length;
  return `verified ${files} files, ${expected.length} entries\n`;
}

/** The command to exec in the container. */
export const CHECK_COMMAND = ['bash', `${CHECK_MOUNT}/check.sh`];
