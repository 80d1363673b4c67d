// What the large fixture's environment installs: real programs and data from the machine's
// Debian packages (only packages of the Debian 12 base image and of what .ci/run installs),
// plus the Node binary that runs the suite, each relocated into /nix/store. Their libraries
// follow from the programs' ELF dependencies, one store path per Debian source package.

/** Version of the large layout; part of the cache key. */
export const LARGE_VERSION = 3;

export interface LargePackageSpec {
  /** Lockfile install id and pname (nixpkgs' attribute name for the same software). */
  installId: string;
  /** Debian binary packages whose files the store path holds (one source package); none for `nodejs`. */
  debs: readonly string[];
  description: string;
  license: string;
  /**
   * makeWrapper-style wrapper: `bin/<program>` becomes a bash script that sets these
   * variables (paths relative to the package's `out`) and execs `bin/.<program>-wrapped`.
   */
  wrap?: { program: string; env: Record<string, readonly string[]> };
}

export const LARGE_PACKAGES: readonly LargePackageSpec[] = [
  { installId: 'nodejs', debs: [], description: 'Event-driven I/O framework for the V8 JavaScript engine', license: 'MIT' },
  { installId: 'nix', debs: ['nix-bin'], description: 'Powerful package manager that makes package management reliable and reproducible', license: 'LGPL-2.1-or-later' },
  { installId: 'bash', debs: ['bash'], description: 'GNU Bourne-Again Shell, the de facto standard shell on Linux', license: 'GPL-3.0-or-later' },
  { installId: 'coreutils', debs: ['coreutils'], description: 'GNU Core Utilities', license: 'GPL-3.0-or-later' },
  {
    installId: 'perl',
    debs: ['perl-base', 'perl', 'perl-modules-5.36', 'libperl5.36'],
    description: 'Standard implementation of the Perl 5 programming language',
    license: 'Artistic-1.0-Perl',
    // Debian's perl looks for its modules under /usr; in the store, as in nixpkgs, a wrapper says where they are.
    wrap: { program: 'perl', env: { PERL5LIB: ['lib/perl-base', 'lib/perl/5.36.0', 'share/perl/5.36.0'] } },
  },
  { installId: 'findutils', debs: ['findutils'], description: 'GNU Find Utilities', license: 'GPL-3.0-or-later' },
  { installId: 'gnugrep', debs: ['grep'], description: 'GNU implementation of the Unix grep command', license: 'GPL-3.0-or-later' },
  { installId: 'gnused', debs: ['sed'], description: 'GNU sed, a batch stream editor', license: 'GPL-3.0-or-later' },
  { installId: 'gnutar', debs: ['tar'], description: 'GNU implementation of the tar archiver', license: 'GPL-3.0-or-later' },
  { installId: 'gzip', debs: ['gzip'], description: 'GNU zip compression program', license: 'GPL-3.0-or-later' },
  { installId: 'diffutils', debs: ['diffutils'], description: 'Commands for showing the differences between files', license: 'GPL-3.0-or-later' },
  { installId: 'mawk', debs: ['mawk'], description: 'Interpreter for the AWK programming language', license: 'GPL-2.0-only' },
  { installId: 'xz', debs: ['xz-utils', 'liblzma5'], description: 'General-purpose data compression software, successor of LZMA', license: '0BSD' },
  { installId: 'zstd', debs: ['zstd', 'libzstd1'], description: 'Zstandard real-time compression algorithm', license: 'BSD-3-Clause' },
  { installId: 'bzip2', debs: ['bzip2', 'libbz2-1.0'], description: 'High-quality data compression program', license: 'bzip2-1.0.6' },
  { installId: 'curl', debs: ['curl', 'libcurl4', 'libcurl3-gnutls'], description: 'Command line tool for transferring files with URL syntax', license: 'curl' },
  { installId: 'openssl', debs: ['openssl', 'libssl3'], description: 'Cryptographic library that implements the SSL and TLS protocols', license: 'Apache-2.0' },
  { installId: 'util-linux', debs: ['util-linux', 'util-linux-extra'], description: 'Set of system utilities for Linux', license: 'GPL-2.0-or-later' },
  { installId: 'e2fsprogs', debs: ['e2fsprogs'], description: 'Tools for creating and checking ext2/ext3/ext4 filesystems', license: 'GPL-2.0-or-later' },
  { installId: 'ncurses', debs: ['ncurses-bin', 'ncurses-base', 'libtinfo6'], description: 'Free software emulation of curses in System V Release 4.0', license: 'MIT' },
  { installId: 'gnupg', debs: ['gpgv'], description: 'Modern release of the GNU Privacy Guard, a GPL OpenPGP implementation', license: 'GPL-3.0-or-later' },
  { installId: 'tzdata', debs: ['tzdata'], description: 'Database of current and historical time zones', license: 'Public-Domain' },
  { installId: 'cacert', debs: ['ca-certificates'], description: 'A bundle of X.509 certificates of public Certificate Authorities', license: 'MPL-2.0' },
  { installId: 'busybox', debs: ['busybox-static'], description: 'Tiny versions of common UNIX utilities in a single small executable', license: 'GPL-2.0-only' },
];
