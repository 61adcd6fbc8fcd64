#!/usr/bin/env bash
# The harness must notice leaks: an "implementation" whose DEL does nothing (the
# reference bridge for ADD, a no-op for DEL) has to be reported with leaked IPs,
# veths and nat rules, and linen_bench must exit 1.
#   bash bench/leak_check_test.sh <path to linen_bench>
set -euo pipefail
bench=$1
dir=$(mktemp -d /tmp/linen-leaky-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/bridge" <<'SH'
#!/bin/sh
[ "$CNI_COMMAND" = DEL ] && exit 0
exec /usr/lib/cni/bridge
SH
chmod +x "$dir/bridge"
ln -s /usr/lib/cni/host-local "$dir/host-local"
rc=0
out=$("$bench" cni --impl "leaky=$dir" --seq 2 --par 0 --rss 0 2>/dev/null) || rc=$?
echo "$out"
fail() { echo "leak_check_test: $*" >&2; exit 1; }
((rc == 1)) || fail "expected exit 1, got $rc"
# IP files: the 2 measured pods and the warm-up pod (the store is counted whole).
grep -Eq 'leak\.seq\.leaky\.ip_files +3 +BAD' <<<"$out" || fail "leaked IP files not counted"
grep -Eq 'leak\.seq\.leaky\.node_veths +[1-9][0-9]* +BAD' <<<"$out" || fail "leaked veths not counted"
grep -Eq 'leak\.seq\.leaky\.pod_ifaces +2 +BAD' <<<"$out" || fail "leaked pod interfaces not counted"
grep -Eq 'leak\.seq\.leaky\.nft_lines +[1-9][0-9]* +BAD' <<<"$out" || fail "leaked nat rules not counted"
echo "leak_check_test: leaks detected as they should be"
