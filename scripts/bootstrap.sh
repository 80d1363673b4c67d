#!/usr/bin/env bash
# Sets up this checkout on a fresh Debian 12 machine, idempotently: the Debian packages the
# suites and the demo drive for real, Node (>= 22.18; the version in .node-version when the
# machine's is older or missing), pnpm at package.json's packageManager version, then
# `pnpm install --frozen-lockfile`. Node and pnpm come from the npm registry with curl and are
# checked against the registry's sha512 integrity, so nothing but bash, coreutils, tar and curl
# (installed first) is needed: no Node, no npm, no pnpm.
#
#   scripts/bootstrap.sh          set up, then print the PATH line for your shell
#   source scripts/bootstrap.sh   define bootstrap(); ./dev and .ci/run call it and keep its PATH
#
# Tools go to $FLOXK8S_TOOLS_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/flox-k8s/tools.
# A second run finds everything in place: no download, no apt-get, no pnpm install when
# node_modules already matches pnpm-lock.yaml.

# Debian packages, one list (CI installs the same): containerd + runc for e2e and the demo;
# nix-bin for the real-Nix fixture caches; busybox-static for the fixture closure's programs
# and the test images; xz/zstd/bzip2 for the compression baselines; curl + ca-certificates
# to fetch Node and pnpm; git for the bootstrap acceptance test (a clean clone) and the
# floxmeta source's tests (`git http-backend`); patchelf for the large Nix fixture (real ELF
# programs relocated into /nix/store) and the agent image's binaries; docker-registry + skopeo
# for the OCI-image peer of the store benchmark and its test (a real registry on loopback);
# musl-tools (musl-gcc; gcc + libc6-dev as the fallback compiler) to build the compiled runc front
# (apps/shim/c, static) into the shim's bundle and test layouts.
FLOXK8S_DEBIAN_PACKAGES=(
  containerd
  runc
  nix-bin
  busybox-static
  xz-utils
  zstd
  bzip2
  ca-certificates
  curl
  git
  patchelf
  docker-registry
  skopeo
  gcc
  libc6-dev
  musl-tools
)

floxk8s_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
floxk8s_tools="${FLOXK8S_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flox-k8s/tools}"
floxk8s_registry="${npm_config_registry:-https://registry.npmjs.org}"
floxk8s_registry="${floxk8s_registry%/}"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

log() { printf '[bootstrap %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf 'bootstrap: %s\n' "$*" >&2; return 1; }

# --- Debian packages ---------------------------------------------------------------------
ensure_debian_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    # Not Debian: say what is needed. CI is Debian, where nothing may be skipped.
    [ "${CI:-}" != true ] || die "CI needs Debian (dpkg-query not found)"
    log "not a Debian system: install the equivalents of ${FLOXK8S_DEBIAN_PACKAGES[*]} yourself"
    return 0
  fi
  local missing=() p
  for p in "${FLOXK8S_DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing Debian packages ${missing[*]}; run as root or install them: apt-get install ${missing[*]}"
    sudo=(sudo)
  fi
  log "apt-get install ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- packages from the npm registry, verified ------------------------------------------------
# The registry's integrity ("sha512-<base64>") of name@version.
npm_integrity() {
  curl -fsSL --retry 3 "$floxk8s_registry/$1/$2" | grep -oE '"integrity": ?"sha512-[A-Za-z0-9+/=]+"' | head -n 1 | sed -E 's/.*"(sha512-[^"]+)"$/\1/'
}

# Download name@version's tarball, check it against the registry's sha512, unpack it into dest
# (the tarball's package/ directory becomes dest). dest appears whole or not at all.
fetch_npm_package() {
  local name="$1" version="$2" dest="$3" integrity tmp want got
  integrity="$(npm_integrity "$name" "$version")"
  [ -n "$integrity" ] || die "no sha512 integrity for $name@$version at $floxk8s_registry"
  mkdir -p "$floxk8s_tools"
  tmp="$(mktemp -d "$floxk8s_tools/.fetch-XXXXXX")"
  log "downloading $name@$version from $floxk8s_registry"
  if ! curl -fsSL --retry 3 -o "$tmp/package.tgz" "$floxk8s_registry/$name/-/${name##*/}-$version.tgz"; then
    rm -rf "$tmp"
    die "could not download $name@$version"
    return 1
  fi
  want="$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
  got="$(sha512sum "$tmp/package.tgz" | cut -d ' ' -f 1)"
  if [ "$want" != "$got" ]; then
    rm -rf "$tmp"
    die "$name@$version: sha512 $got does not match the registry's integrity $integrity"
    return 1
  fi
  mkdir "$tmp/package"
  tar -xzf "$tmp/package.tgz" -C "$tmp/package" --strip-components=1
  rm -rf "$dest"
  mv "$tmp/package" "$dest"
  rm -rf "$tmp"
}

# --- Node ------------------------------------------------------------------------------------
# >= 22.18: the repository's scripts and the demo run TypeScript with Node's type stripping,
# on by default from 22.18.
node_is_new_enough() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 18) ? 0 : 1)' 2>/dev/null
}

ensure_node() {
  node_is_new_enough && return 0
  local want arch version prefix
  want="$(tr -d '[:space:]' <"$floxk8s_root/.node-version")"
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no Node package for $(uname -m) on the npm registry" ;;
  esac
  # That Node already fetched (an exact version, or the newest of a major): use it, offline.
  mkdir -p "$floxk8s_tools"
  if [[ "$want" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    prefix="$floxk8s_tools/node-$want"
  else
    prefix="$(find "$floxk8s_tools" -maxdepth 1 -type d -name "node-$want.*" | sort -V | tail -n 1)"
  fi
  if [ -z "$prefix" ] || [ ! -x "$prefix/bin/node" ]; then
    if [[ "$want" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
      version="$want"
    else
      # The newest release of that major: the registry's abbreviated document lists them all.
      version="$(curl -fsSL --retry 3 -H 'Accept: application/vnd.npm.install-v1+json' "$floxk8s_registry/node-linux-$arch" |
        grep -oE "\"$want\\.[0-9]+\\.[0-9]+\": ?\\{" | grep -oE "$want\\.[0-9]+\\.[0-9]+" | sort -V | tail -n 1)"
      [ -n "$version" ] || die "no Node $want.x for linux-$arch at $floxk8s_registry"
    fi
    prefix="$floxk8s_tools/node-$version"
    fetch_npm_package "node-linux-$arch" "$version" "$prefix"
  fi
  export PATH="$prefix/bin:$PATH"
  node_is_new_enough || die "$prefix/bin/node does not run or is older than 22.18"
}

# --- pnpm --------------------------------------------------------------------------------------
ensure_pnpm() {
  local want prefix bin
  want="$(node -p 'require(process.argv[1]).packageManager.split("@")[1]' "$floxk8s_root/package.json")"
  prefix="$floxk8s_tools/pnpm-$want"
  # The fetched one first: starting pnpm to ask its version costs about a second.
  if [ ! -x "$prefix/bin/pnpm" ]; then
    if [ "$(pnpm --version 2>/dev/null)" = "$want" ]; then return 0; fi
    fetch_npm_package pnpm "$want" "$prefix.tmp"
    # The package's own bin entry, run by the Node above (its shebang is `env node`).
    bin="$(node -p 'require(process.argv[1]).bin.pnpm' "$prefix.tmp/package.json")"
    chmod +x "$prefix.tmp/$bin"
    ln -sfn "$(basename "$bin")" "$prefix.tmp/bin/pnpm"
    [ "$("$prefix.tmp/bin/pnpm" --version)" = "$want" ] || die "$prefix.tmp/bin/pnpm is not pnpm $want"
    rm -rf "$prefix"
    mv "$prefix.tmp" "$prefix"
  fi
  export PATH="$prefix/bin:$PATH"
}

# --- the workspace -------------------------------------------------------------------------------
ensure_workspace() {
  # pnpm keeps a copy of the lockfile it installed; when it matches, there is nothing to do.
  if cmp -s "$floxk8s_root/pnpm-lock.yaml" "$floxk8s_root/node_modules/.pnpm/lock.yaml"; then return 0; fi
  log "pnpm install --frozen-lockfile"
  (cd "$floxk8s_root" && pnpm install --frozen-lockfile)
}

# Callers run it under `set -euo pipefail` (./dev, .ci/run, and this file run directly): any
# failing step stops it. Call it plainly, not in `if` or `||`, which would switch that off.
bootstrap() {
  ensure_debian_packages
  ensure_node
  ensure_pnpm
  ensure_workspace
  log "node $(node --version), pnpm $(command -v pnpm)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  bootstrap
  printf 'export PATH=%q:%q:"$PATH"\n' "$(dirname "$(command -v node)")" "$(dirname "$(command -v pnpm)")"
fi
