#!/usr/bin/env bash
# Builds linen's OCI image (deploy/kubernetes/linen.yaml runs it) with Debian's buildah,
# from scratch: no base image is pulled, everything comes from this tree's build and
# this machine's libraries.
#
#   scripts/build-image.sh [--build-dir DIR] [--tag NAME] [--no-build]
#                          [--storage-root DIR] [--oci-archive FILE]
#
# --tag            image name (default localhost/linen:<project version>)
# --no-build       use the executables already in <build-dir>/cni-bin
# --storage-root   a private buildah store (vfs driver) instead of the system one
# --oci-archive    also write the image to FILE (oci-archive), e.g. for
#                  `ctr -n k8s.io images import` on a node, or `skopeo copy` to a registry
#
# Contents:
#   /opt/linen/bin/{bridge,host-local,loopback,host-gw,vxlan,portmap,bandwidth}
#       the CNI plugins, static (the init container copies them to the host, where they
#       must run on whatever distribution the node has); refused if not static
#   /usr/local/bin/linend     linend links libstdc++ statically but glibc, libcurl and
#       libcurl's dependencies dynamically: those .so files (ldd) and the dynamic
#       loader are copied at their paths on this machine
#   /usr/local/bin/install-cni.sh and /bin/{sh,cp,mv,rm,mkdir,chmod,cmp} with their
#       libraries: what the init container runs
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^project(linen VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
build_dir=build
tag=localhost/linen:$version
no_build=0
storage=()
archive=""
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --no-build) no_build=1; shift ;;
    --storage-root) storage=(--root "$2/root" --runroot "$2/run" --storage-driver vfs); shift 2 ;;
    --oci-archive) archive=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "build-image.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v buildah >/dev/null || { echo "build-image.sh: buildah is not installed (scripts/setup.sh)" >&2; exit 1; }

plugins=(bridge host-local loopback host-gw vxlan portmap bandwidth)
if ((!no_build)); then
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$build_dir" -j"$(nproc)" --target linend "${plugins[@]}"
fi
bin=$build_dir/cni-bin
for p in linend "${plugins[@]}"; do
  [[ -x $bin/$p ]] || { echo "build-image.sh: $bin/$p missing (build it, or drop --no-build)" >&2; exit 1; }
done
for p in "${plugins[@]}"; do
  if readelf -l "$bin/$p" | grep -q INTERP; then
    echo "build-image.sh: $bin/$p is dynamically linked (a sanitizer build?); the image ships static plugins" >&2
    exit 1
  fi
done

rootfs=$(mktemp -d)
ctr=""
cleanup() {
  [[ -n $ctr ]] && buildah "${storage[@]}" rm "$ctr" >/dev/null 2>&1
  rm -rf "$rootfs"
}
trap cleanup EXIT

# add FILE [DEST]: FILE (symlinks followed) at DEST (default: its own path) in the image.
add() {
  local src=$1 dest=${2:-$1}
  mkdir -p "$rootfs$(dirname "$dest")"
  cp -L "$src" "$rootfs$dest"
}
# add_with_libs EXE DEST: EXE plus every shared library ldd resolves for it, and the
# dynamic loader, at the paths the loader will look for them.
add_with_libs() {
  local exe=$1 dest=$2 lib
  add "$exe" "$dest"
  # A static executable: ldd says "not a dynamic executable" and fails.
  ldd "$exe" >/dev/null 2>&1 || return 0
  while read -r lib; do
    [[ -e $rootfs$lib ]] || add "$lib"
  done < <(ldd "$exe" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}')
}

for p in "${plugins[@]}"; do add "$bin/$p" "/opt/linen/bin/$p"; done
add_with_libs "$bin/linend" /usr/local/bin/linend
add scripts/install-cni.sh /usr/local/bin/install-cni.sh
chmod 755 "$rootfs/usr/local/bin/install-cni.sh"
for tool in sh cp mv rm mkdir chmod cmp; do
  add_with_libs "$(command -v "$tool")" "/bin/$tool"
done
# glibc resolves names (a --kubeconfig server given by name) with its built-in
# files and dns backends.
mkdir -p "$rootfs/etc" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
echo "hosts: files dns" >"$rootfs/etc/nsswitch.conf"

b=(buildah "${storage[@]}")
ctr=$("${b[@]}" from scratch)
"${b[@]}" copy --quiet "$ctr" "$rootfs" / >/dev/null
"${b[@]}" config \
  --os linux --arch "$(dpkg --print-architecture 2>/dev/null || echo amd64)" \
  --entrypoint '["/usr/local/bin/linend"]' --cmd '' \
  --env PATH=/usr/local/bin:/bin \
  --label org.opencontainers.image.title=linen \
  --label org.opencontainers.image.version="$version" \
  "$ctr"
"${b[@]}" commit --quiet --format oci "$ctr" "$tag" >/dev/null
if [[ -n $archive ]]; then
  rm -f "$archive"
  "${b[@]}" push --quiet "$tag" "oci-archive:$archive:$tag"
fi
echo "build-image.sh: built $tag ($(du -sh "$rootfs" | cut -f1) uncompressed)${archive:+, written to $archive}"
