#!/usr/bin/env bash
# Installs linen's executables into <prefix>/bin (default /opt/cni/bin) and one network
# configuration from conf-examples/ into the CNI config dir (default /etc/cni/net.d).
#
#   scripts/install.sh [--build-dir DIR] [--prefix /opt/cni] [--conf vxlan.conflist]
#                      [--conf-dir /etc/cni/net.d] [--root DESTDIR] [--force]
#
# An existing config file with different content is kept unless --force is given:
# CNI runtimes use the lexically first file in the directory, so silently replacing or
# shadowing a working network is how clusters end up with duplicate pod IPs.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
prefix=/opt/cni
conf=""
conf_dir=/etc/cni/net.d
root=""
force=0
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --conf) conf=$2; shift 2 ;;
    --conf-dir) conf_dir=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ -n $conf ]]; then
  src=conf-examples/$conf
  [[ -f $src ]] || { echo "install.sh: no such example config: $src (choose one of: $(ls conf-examples | tr '\n' ' '))" >&2; exit 2; }
  jq empty "$src" || { echo "install.sh: $src is not valid JSON" >&2; exit 2; }
  dest=$root$conf_dir/$(basename "$conf")
  if [[ -e $dest ]] && ! cmp -s "$src" "$dest" && ((!force)); then
    echo "install.sh: $dest exists with different content; not overwriting it (use --force)" >&2
    exit 1
  fi
fi

if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build_dir" -j"$(nproc)"
DESTDIR=$root cmake --install "$build_dir" --prefix "$prefix" >/dev/null
echo "install.sh: executables in $root$prefix/bin"

if [[ -n $conf ]]; then
  mkdir -p "$root$conf_dir"
  tmp=$(mktemp "$root$conf_dir/.linen.XXXXXX")
  cp "$src" "$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$dest"
  echo "install.sh: config $dest"
  others=$(ls "$root$conf_dir" | grep -E '\.(conf|conflist|json)$' | grep -vx "$(basename "$dest")" || true)
  if [[ -n $others ]]; then
    echo "install.sh: warning: other CNI configs in $root$conf_dir ($others); the runtime uses the lexically first" >&2
  fi
fi
