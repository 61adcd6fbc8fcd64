#!/usr/bin/env bash
# The RSS measurement must tell the plugin alone from its process tree: a "bridge"
# that first runs a child holding ~50 MB, then execs the reference bridge, must be
# reported with a tree peak above 40 MB and a plugin-alone peak far below it.
#   bash bench/rss_check_test.sh <path to linen_bench>
set -euo pipefail
bench=$1
dir=$(mktemp -d /tmp/linen-rss-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/bridge" <<'SH'
#!/bin/sh
sh -c 'x=$(head -c 50000000 /dev/zero | tr "\0" a); exit 0'
exec /usr/lib/cni/bridge
SH
chmod +x "$dir/bridge"
ln -s /usr/lib/cni/host-local "$dir/host-local"
out=$("$bench" cni --impl "big=$dir" --seq 0 --par 0 --rss 1)
echo "$out"
alone=$(sed -n 's/.*rss\.big\.plugin_alone_kb *\([0-9]*\).*/\1/p' <<<"$out")
tree=$(sed -n 's/.*rss\.big\.process_tree_kb *\([0-9]*\).*/\1/p' <<<"$out")
[[ -n $alone && -n $tree ]] || { echo "rss_check_test: figures missing" >&2; exit 1; }
((tree > 40000)) || { echo "rss_check_test: tree peak $tree kB misses the 50 MB child" >&2; exit 1; }
((alone < 20000)) || { echo "rss_check_test: plugin-alone peak $alone kB includes the child" >&2; exit 1; }
echo "rss_check_test: plugin alone $alone kB, tree $tree kB"
