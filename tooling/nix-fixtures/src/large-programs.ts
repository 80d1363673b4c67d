// Programs of the large closure to run, with the exact stdout each must print. Every argv
// names store paths only and needs no environment, so the same list runs on the host and
// inside a container whose rootfs is empty but for the mounted closure. bash gets --norc:
// Debian's bash reads ~/.bashrc when stdin is a socket (as libuv's pipes are).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FixturePlanInvalidError } from './errors.ts';
import { nixCommand } from './nix-command.ts';

export interface FixtureProgram {
  /** What it exercises, e.g. `node` or `perl (wrapper, modules from three store dirs)`. */
  name: string;
  argv: string[];
  stdout: string;
}

/** Output name → store path, per unit key (`glibc`, `nodejs`, `perl`, …). */
export type UnitPaths = Record<string, Record<string, string>>;

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');
const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

/**
 * The programs and their expected output. `unitOf(deb)` names the unit holding a Debian
 * package (`nodejs` for Node); `versions` holds each unit's version.
 */
export async function largePrograms(paths: UnitPaths, versions: Record<string, string>, unitOf: (deb: string) => string): Promise<FixtureProgram[]> {
  const at = (deb: string, output: string): string => {
    const path = paths[unitOf(deb)]?.[output];
    if (path === undefined) throw new FixturePlanInvalidError(`the unit of ${deb} has no ${output} output`, 'Keep the programs of large-programs.ts in LARGE_PACKAGES.');
    return path;
  };
  const version = (deb: string): string => versions[unitOf(deb)] ?? '';
  const libc = `${at('libc6', 'out')}/lib/libc.so.6`;
  const xz = `${at('xz-utils', 'bin')}/bin/xz`;
  const zstd = `${at('zstd', 'bin')}/bin/zstd`;
  const tzFile = `${at('tzdata', 'out')}/share/zoneinfo/iso3166.tab`;
  return [
    {
      name: 'node (the 100+ MB program: glibc, libstdc++ and libgcc_s from the store)',
      argv: [
        `${at('nodejs', 'out')}/bin/node`,
        '-e',
        "console.log('node ' + process.versions.node + ' ' + require('node:crypto').createHash('sha256').update('flox-k8s').digest('hex'))",
      ],
      stdout: `node ${version('nodejs')} ${sha256('flox-k8s')}\n`,
    },
    {
      name: 'bash (libtinfo from ncurses)',
      argv: [`${at('bash', 'bin')}/bin/bash`, '--norc', '-c', 'echo "bash ${BASH_VERSINFO[0]} $((6 * 7))"'],
      stdout: `bash ${version('bash').split('.')[0]} 42\n`,
    },
    {
      name: 'coreutils sha256sum of glibc',
      argv: [`${at('coreutils', 'bin')}/bin/sha256sum`, libc],
      stdout: `${sha256(await readFile(libc))}  ${libc}\n`,
    },
    {
      name: 'perl through its wrapper, with modules from perl-base, libperl (XS) and perl-modules',
      argv: [
        `${at('perl-base', 'bin')}/bin/perl`,
        '-MList::Util=sum',
        '-MDigest::MD5=md5_hex',
        '-MText::Balanced=extract_bracketed',
        '-e',
        'print "perl ", sum(1..10), " ", md5_hex("flox-k8s"), " ", (extract_bracketed("(a)b", "()"))[0], "\\n"',
      ],
      stdout: `perl 55 ${md5('flox-k8s')} (a)\n`,
    },
    {
      name: 'nix-store (nix and its 40-odd libraries)',
      // The settings of a bare install: as root without a nixbld group, Nix warns on stderr.
      // `--store dummy://`: as root, Nix opens the local store even for --version and, /nix/store
      // being a read-only mount (a flox container's store view), tries to remount it writable,
      // which a container may not ("remounting /nix/store writable: Operation not permitted").
      argv: [`${at('nix-bin', 'bin')}/bin/nix-store`, ...nixCommand('nix-store', ['--store', 'dummy://', '--version']).args],
      stdout: `nix-store (Nix) ${version('nix-bin')}\n`,
    },
    {
      name: 'xz and zstd in a bash pipeline',
      argv: [`${at('bash', 'bin')}/bin/bash`, '--norc', '-c', `printf flox-k8s | ${xz} | ${xz} -d | ${zstd} -q | ${zstd} -dq; echo`],
      stdout: 'flox-k8s\n',
    },
    {
      name: 'curl reading a store file (libcurl with gnutls, krb5, ldap, ssh2, …)',
      argv: [`${at('curl', 'bin')}/bin/curl`, '-sS', `file://${tzFile}`],
      stdout: await readFile(tzFile, 'utf8'),
    },
    {
      name: 'openssl dgst (libssl, libcrypto)',
      argv: [`${at('openssl', 'bin')}/bin/openssl`, 'dgst', '-sha256', tzFile],
      stdout: `SHA2-256(${tzFile})= ${sha256(await readFile(tzFile))}\n`,
    },
  ];
}
