#!/usr/bin/env bash
# scripts/build-image.sh in a private buildah store: the image runs `linend --version`,
# answers CNI VERSION from its bridge plugin, and its shell runs install-cni.sh (so the
# tools the init container needs are all in it). Containers run with chroot isolation
# inside a network namespace made for the test, never on the host's network.
#   image_test.sh <source dir> <build dir>
set -euo pipefail
src=$1 build=$2
command -v buildah >/dev/null || { echo "SKIP: buildah not installed (scripts/setup.sh)"; exit 77; }
t=$(mktemp -d)
netns=linen-img-$$
b=(buildah --root "$t/root" --runroot "$t/run" --storage-driver vfs)
ctr=""
cleanup() {
  [[ -n $ctr ]] && "${b[@]}" rm "$ctr" >/dev/null 2>&1
  ip netns del "$netns" 2>/dev/null || true
  # vfs layers are plain directories, some read-only: make them removable first.
  chmod -R u+w "$t" 2>/dev/null || true
  rm -rf "$t"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$src/scripts/build-image.sh" --build-dir "$build" --no-build --storage-root "$t" \
  --tag localhost/linen:test --oci-archive "$t/linen.tar" || fail "build-image.sh failed"
[[ -s $t/linen.tar ]] || fail "no oci-archive written"
entry=$("${b[@]}" inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' localhost/linen:test)
[[ $entry == '[/usr/local/bin/linend]' ]] || fail "entrypoint $entry"

ip netns add "$netns"
ctr=$("${b[@]}" from localhost/linen:test)
run() { ip netns exec "$netns" "${b[@]}" run --isolation chroot "$ctr" -- "$@"; }

out=$(run /usr/local/bin/linend --version) || fail "linend does not start in the image: $out"
[[ $out == "linend "* ]] || fail "linend --version printed: $out"
out=$(run /bin/sh -c 'printf "{\"cniVersion\":\"1.0.0\"}" | CNI_COMMAND=VERSION /opt/linen/bin/bridge') \
  || fail "bridge VERSION failed: $out"
grep -q '"supportedVersions"' <<<"$out" || fail "bridge VERSION printed: $out"
grep -q '"1.0.0"' <<<"$out" || fail "bridge does not support 1.0.0: $out"
out=$(run /bin/sh -c 'printf "{}" > /tmp/c.json &&
  /bin/sh /usr/local/bin/install-cni.sh --bin-dir /tmp/host/bin --conf-src /tmp/c.json \
    --conf-dest /tmp/host/net.d/10-linen.conflist &&
  /bin/sh /usr/local/bin/install-cni.sh --bin-dir /tmp/host/bin --conf-src /tmp/c.json \
    --conf-dest /tmp/host/net.d/10-linen.conflist') || fail "install-cni.sh failed in the image: $out"
grep -q "installed /tmp/host/bin/vxlan" <<<"$out" || fail "install-cni.sh output: $out"
grep -q "unchanged /tmp/host/net.d/10-linen.conflist" <<<"$out" || fail "install-cni.sh output: $out"
echo "image_test: ok"
