#!/bin/sh
# The DaemonSet's init container (deploy/kubernetes/linen.yaml): puts linen's CNI
# plugins into the host's CNI bin dir and its conflist into the host's CNI config dir.
#
#   install-cni.sh [--bin-src DIR] [--bin-dir DIR] [--conf-src FILE] [--conf-dest FILE]
#
# Defaults are the image's and the DaemonSet's paths: /opt/linen/bin ->
# /host/opt/cni/bin, /etc/linen/cni-conf.json -> /host/etc/cni/net.d/10-linen.conflist.
#
# A container runtime may exec a plugin at any moment, so a plugin is never written
# in place: it is copied to a temporary name in the destination directory and
# renamed over the old one (rename is atomic within a filesystem; a runtime execs
# either the old or the new file, never a half-written one, and a plugin that is
# running keeps its old inode, where writing in place would fail with "Text file
# busy"). The conflist is written the same way and only when its content changed:
# runtimes watch /etc/cni/net.d, and a rewrite with equal bytes would still reload
# the network. Plain POSIX sh with cp, mv, rm, cmp, chmod, mkdir: the image has no
# more than that.
set -eu

bin_src=/opt/linen/bin
bin_dir=/host/opt/cni/bin
conf_src=/etc/linen/cni-conf.json
conf_dest=/host/etc/cni/net.d/10-linen.conflist

while [ $# -gt 0 ]; do
  case $1 in
    --bin-src) bin_src=$2; shift 2 ;;
    --bin-dir) bin_dir=$2; shift 2 ;;
    --conf-src) conf_src=$2; shift 2 ;;
    --conf-dest) conf_dest=$2; shift 2 ;;
    -h|--help) echo "install-cni.sh [--bin-src DIR] [--bin-dir DIR] [--conf-src FILE] [--conf-dest FILE]"; exit 0 ;;
    *) echo "install-cni: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Check every source before touching the host: a broken image or ConfigMap changes
# nothing.
[ -d "$bin_src" ] || { echo "install-cni: no plugin directory $bin_src" >&2; exit 1; }
found=0
for f in "$bin_src"/*; do
  [ -f "$f" ] || continue
  [ -x "$f" ] || { echo "install-cni: $f is not executable" >&2; exit 1; }
  found=1
done
[ "$found" = 1 ] || { echo "install-cni: no plugins in $bin_src" >&2; exit 1; }
[ -s "$conf_src" ] || { echo "install-cni: no network config at $conf_src" >&2; exit 1; }

# install_file SRC DEST MODE: atomic replace unless DEST already has SRC's bytes.
# Prints "installed DEST" or "unchanged DEST".
install_file() {
  src=$1 dest=$2 mode=$3
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
    echo "install-cni: unchanged $dest"
    return 0
  fi
  dir=${dest%/*}
  mkdir -p "$dir"
  tmp="$dir/.${dest##*/}.linen-tmp.$$"
  # A failure between copy and rename leaves no temp behind.
  trap 'rm -f "$tmp"' EXIT
  cp "$src" "$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$dest"
  trap - EXIT
  echo "install-cni: installed $dest"
}

for f in "$bin_src"/*; do
  [ -f "$f" ] || continue
  install_file "$f" "$bin_dir/${f##*/}" 755
done
install_file "$conf_src" "$conf_dest" 644
