// The Nix expression behind `nixFixtures()`. Its text is part of the cache key:
// any edit here produces new store paths and a fresh cache directory.
//
// The sandbox is off, so each builder is the host's /bin/sh with the host's
// coreutils on PATH. Outputs run inside containers, so what they execute is
// referenced by store path, never by host path.

/** Version of the fixture layout; bump when the lockfile or manifest format written around the expression changes. */
export const FIXTURES_VERSION = 1;

/** Attribute name, store-path name parts and lockfile install id of each fixture package. */
export const FIXTURE_PACKAGES = {
  busybox: { pname: 'flox-fixture-busybox', version: '1.0', installId: 'busybox' },
  data: { pname: 'flox-fixture-data', version: '1.0', installId: 'flox-fixture-data' },
  script: { pname: 'hello-flox', version: '1.0', installId: 'hello-flox' },
  tree: { pname: 'flox-fixture-tree', version: '1.0', installId: 'tree' },
} as const;

export type FixturePackage = keyof typeof FIXTURE_PACKAGES;
export const FIXTURE_ATTRS: readonly FixturePackage[] = ['busybox', 'data', 'script', 'tree'];

/** Applets linked in `busybox/bin`; tests and the e2e suite run these inside containers. */
export const BUSYBOX_APPLETS: readonly string[] = [
  'sh', 'ls', 'cat', 'echo', 'env', 'id', 'touch', 'sleep', 'printf', 'test', '[', 'wget', 'mkdir', 'rm',
  'true', 'false', 'stat', 'readlink', 'head', 'tail', 'wc', 'grep', 'sed', 'sha256sum', 'pwd', 'uname', 'nc', 'ps', 'kill',
];

const p = FIXTURE_PACKAGES;
const name = (key: FixturePackage): string => `${p[key].pname}-${p[key].version}`;

/** The expression; `busyboxBinary` is a path argument (`/bin/busybox`), copied into the store as a build input. */
export const FIXTURES_EXPRESSION = `{ busyboxBinary }:
let
  system = "x86_64-linux";
  mk = name: script: extra: derivation ({
    inherit name system;
    builder = "/bin/sh";
    args = [ "-eu" "-c" script ];
    PATH = "/usr/bin:/bin";
  } // extra);

  busybox = mk "${name('busybox')}" ''
    mkdir -p "$out/bin"
    cp \${busyboxBinary} "$out/bin/busybox"
    chmod 0555 "$out/bin/busybox"
    for applet in ${BUSYBOX_APPLETS.map((a) => `'${a}'`).join(' ')}; do
      ln -s busybox "$out/bin/$applet"
    done
  '' { };

  data = mk "${name('data')}" ''
    d="$out/share/flox-fixture"
    mkdir -p "$d/nested/deeper"
    printf 'Hello from a flox-k8s fixture!\\n' > "$d/greeting.txt"
    printf 'key = "value"\\n' > "$d/nested/deeper/config.toml"
    # ~590 KB of text: several compression blocks and NAR chunks.
    seq 1 100000 > "$d/numbers.txt"
  '' { };

  # The script references busybox (shebang and commands) and data (a file path),
  # so Nix records both as runtime references.
  script = mk "${name('script')}" ''
    mkdir -p "$out/bin"
    printf '%s' "$helloFlox" > "$out/bin/hello-flox"
    chmod 0555 "$out/bin/hello-flox"
  '' {
    helloFlox = ''
      #!\${busybox}/bin/sh
      # Prints the fixture greeting and the variables a Flox activation sets.
      \${busybox}/bin/cat \${data}/share/flox-fixture/greeting.txt
      echo "FLOX_FIXTURE_VAR=''\${FLOX_FIXTURE_VAR-unset}"
      echo "FLOX_FIXTURE_HOOK=''\${FLOX_FIXTURE_HOOK-unset}"
      if [ "$#" -gt 0 ]; then echo "args: $*"; fi
    '';
  };

  # Shapes a NAR writer/reader must get right: an executable, an empty file, an
  # empty and a nested directory, relative, absolute (self-referencing) and
  # dangling symlinks, and names whose byte order (B < a) differs from a
  # case-insensitive sort.
  tree = mk "${name('tree')}" ''
    mkdir -p "$out/bin" "$out/share/nested/deeper/deepest" "$out/empty-dir"
    printf '#!/bin/sh\\necho tree-tool\\n' > "$out/bin/tree-tool"
    chmod 0555 "$out/bin/tree-tool"
    : > "$out/share/empty-file"
    printf 'upper\\n' > "$out/share/B"
    printf 'lower\\n' > "$out/share/a"
    printf 'deep\\n' > "$out/share/nested/deeper/deepest/file.txt"
    ln -s ../bin/tree-tool "$out/share/relative-link"
    ln -s "$out/bin/tree-tool" "$out/share/self-link"
    ln -s does-not-exist "$out/share/dangling-link"
  '' { };
in { inherit busybox data script tree; }
`;
