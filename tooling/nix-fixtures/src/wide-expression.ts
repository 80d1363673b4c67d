// The Nix expression and builder behind `nixWideFixtures()`: many small store paths in one
// closure, for the bind-mount farm at scale. `groups` packages each refer to `perGroup`
// library paths and to a busybox; `wide-check` refers to every package and lists the whole
// closure, so a container can count what it sees. Builders are the host's /bin/sh (the
// sandbox is off): a thousand builds must stay cheap.

/** Version of the wide layout; part of the cache key. */
export const WIDE_VERSION = 1;

export const WIDE_BUSYBOX_APPLETS: readonly string[] = ['sh', 'ls', 'cat', 'wc', 'test', '[', 'echo'];

export const WIDE_EXPRESSION = `{ busyboxBinary, groups, perGroup }:
let
  system = "x86_64-linux";
  pad = n: let s = toString n; in if builtins.stringLength s < 2 then "0" + s else s;
  mk = name: kind: extra: derivation ({
    inherit name system kind;
    builder = "/bin/sh";
    args = [ "-eu" ./wide-builder.sh ];
    PATH = "/usr/bin:/bin";
  } // extra);
  busybox = mk "wide-busybox-1.35.0" "busybox" { inherit busyboxBinary; applets = "${WIDE_BUSYBOX_APPLETS.join(' ')}"; };
  lib = g: k: mk "wide-lib-\${pad g}-\${pad k}-1.0" "lib" { group = toString g; index = toString k; };
  pkg = g: mk "wide-pkg-\${pad g}-1.0" "pkg" {
    pname = "wide-pkg-\${pad g}";
    inherit busybox;
    libs = builtins.genList (k: lib g k) perGroup;
  };
  pkgs = builtins.genList pkg groups;
  check = mk "wide-check-1.0" "check" {
    inherit busybox;
    paths = [ busybox ] ++ pkgs ++ builtins.concatLists (map (p: p.libs) pkgs);
    # A thousand store paths are more than one environment variable should hold.
    passAsFile = [ "paths" ];
  };
in { inherit busybox check; } // builtins.listToAttrs (map (p: { name = p.pname; value = p; }) pkgs)
`;

export const WIDE_BUILDER = `# Writes one path of the wide fixture; see wide-expression.ts in @flox-k8s/nix-fixtures.
case "$kind" in
busybox)
  mkdir -p "$out/bin"
  cp "$busyboxBinary" "$out/bin/busybox"
  chmod 0555 "$out/bin/busybox"
  for applet in $applets; do ln -s busybox "$out/bin/$applet"; done
  ;;
lib)
  # A small library-like path: a data file, a doc link to it.
  mkdir -p "$out/lib/wide" "$out/share/doc/$name"
  printf 'wide library %s of group %s\\n' "$index" "$group" > "$out/lib/wide/data-$group-$index.txt"
  ln -s "../../../lib/wide/data-$group-$index.txt" "$out/share/doc/$name/data.txt"
  ;;
pkg)
  mkdir -p "$out/bin" "$out/nix-support"
  for lib in $libs; do echo "$lib"; done > "$out/nix-support/libraries"
  {
    echo "#!$busybox/bin/sh"
    echo "n=0"
    echo "for p in \\$($busybox/bin/cat $out/nix-support/libraries); do [ -e \\"\\$p/lib/wide\\" ] && n=\\$((n + 1)); done"
    echo "echo \\"$pname: \\$n libraries\\""
  } > "$out/bin/$pname"
  chmod 0555 "$out/bin/$pname"
  ;;
check)
  mkdir -p "$out/bin" "$out/nix-support"
  { for path in $(cat "$pathsPath"); do echo "$path"; done; echo "$out"; } > "$out/nix-support/closure"
  {
    echo "#!$busybox/bin/sh"
    echo "n=0; total=0; missing="
    echo "for p in \\$($busybox/bin/cat $out/nix-support/closure); do total=\\$((total + 1)); if [ -e \\"\\$p\\" ]; then n=\\$((n + 1)); else missing=\\"\\$missing \\$p\\"; fi; done"
    echo "echo \\"wide: \\$n of \\$total store paths present\\""
    echo "[ -z \\"\\$missing\\" ] || { echo \\"missing:\\$missing\\"; exit 1; }"
  } > "$out/bin/wide-check"
  chmod 0555 "$out/bin/wide-check"
  ;;
*)
  echo "unknown kind $kind" >&2
  exit 1
  ;;
esac
`;
