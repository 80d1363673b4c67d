#!/usr/bin/env bash
# Captures the config.json containerd 1.6 hands to runc for a plain `ctr run`.
# Starts a private containerd (own root/state/socket/config in a temp dir), runs a
# container whose runc is a wrapper that copies <bundle>/config.json out and then
# execs the real runc, and stops containerd by PID. Needs root.
# ctr 1.6 copies container labels into spec annotations, so --label stands in
# for the pod annotation the CRI path would carry.
# Usage: test/capture/capture-ctr-run.sh OUT.json
set -euo pipefail
out="$(realpath -m "${1:?usage: capture-ctr-run.sh OUT.json}")"
tmp="$(mktemp -d /tmp/oci-patch-capture.XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  umount -R "$tmp/state" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/root" "$tmp/state" "$tmp/rootfs/bin" "$tmp/captured"
cp /bin/busybox "$tmp/rootfs/bin/busybox"
ln -s busybox "$tmp/rootfs/bin/sh"
ln -s busybox "$tmp/rootfs/bin/true"

cat > "$tmp/runc-wrapper" <<WRAP
#!/bin/sh
# Copy the bundle's config.json out before runc reads it (create/run only).
prev=""
for a in "\$@"; do
  if [ "\$prev" = "--bundle" ] || [ "\$prev" = "-b" ]; then cp "\$a/config.json" "$tmp/captured/config.json"; fi
  prev="\$a"
done
exec /usr/sbin/runc "\$@"
WRAP
chmod +x "$tmp/runc-wrapper"

cat > "$tmp/config.toml" <<TOML
version = 2
root = "$tmp/root"
state = "$tmp/state"
[grpc]
  address = "$tmp/containerd.sock"
[ttrpc]
  address = "$tmp/containerd-ttrpc.sock"
[debug]
  address = "$tmp/containerd-debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  disable_cgroup = false
TOML

containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -S "$tmp/containerd.sock" ] && break; sleep 0.1; done
[ -S "$tmp/containerd.sock" ] || { cat "$tmp/containerd.log" >&2; exit 1; }

ctr --address "$tmp/containerd.sock" --namespace flox-capture run --rm \
  --runtime io.containerd.runc.v2 --runc-binary "$tmp/runc-wrapper" \
  --label flox.dev/environment=acme/echoserver:12 \
  --env GREETING=hello --env PATH=/usr/local/bin:/usr/bin:/bin \
  --rootfs "$tmp/rootfs" flox-capture-ctr /bin/true

# Kept byte-for-byte as containerd wrote it: the golden test checks that parsing
# and re-serialising reproduces these exact bytes.
cp "$tmp/captured/config.json" "$out"
echo "captured $out"
