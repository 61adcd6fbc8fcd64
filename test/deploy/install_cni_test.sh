#!/usr/bin/env bash
# scripts/install-cni.sh (the DaemonSet's init container) into temporary dirs:
# plugins replaced by rename (a reader of the old file keeps the old bytes, a running
# plugin does not block the update), the conflist written only when its content
# changed (same inode otherwise), no temp files left, a bad source changes nothing.
#   install_cni_test.sh <source dir>
set -euo pipefail
src=$1
script=$src/scripts/install-cni.sh
t=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$t"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$t/src" "$t/host/bin" "$t/host/net.d"
printf '#!/bin/sh\necho plugin-a v1\n' >"$t/src/plugin-a"
# A plugin that keeps running while it is replaced (a runtime mid-ADD).
cp /bin/sleep "$t/src/plugin-b"
chmod 755 "$t/src/plugin-a" "$t/src/plugin-b"
echo '{"cniVersion":"1.0.0","name":"linen","plugins":[{"type":"vxlan"}]}' >"$t/conf.json"
run() {
  sh "$script" --bin-src "$t/src" --bin-dir "$t/host/bin" --conf-src "$t/conf.json" \
    --conf-dest "$t/host/net.d/10-linen.conflist" "$@"
}

out=$(run)
[[ $("$t/host/bin/plugin-a") == "plugin-a v1" ]] || fail "plugin-a not installed or not executable"
[[ -x $t/host/bin/plugin-b ]] || fail "plugin-b not installed"
cmp -s "$t/conf.json" "$t/host/net.d/10-linen.conflist" || fail "conflist not written"
grep -q "installed $t/host/net.d/10-linen.conflist" <<<"$out" || fail "no report of the write: $out"

# Second run, nothing changed: nothing rewritten (same inodes), reported unchanged.
conf_inode=$(stat -c %i "$t/host/net.d/10-linen.conflist")
a_inode=$(stat -c %i "$t/host/bin/plugin-a")
out=$(run)
[[ $(stat -c %i "$t/host/net.d/10-linen.conflist") == "$conf_inode" ]] || fail "unchanged conflist rewritten"
[[ $(stat -c %i "$t/host/bin/plugin-a") == "$a_inode" ]] || fail "unchanged plugin rewritten"
grep -q "unchanged $t/host/net.d/10-linen.conflist" <<<"$out" || fail "not reported unchanged: $out"

# New plugin versions while the old ones are open and running.
"$t/host/bin/plugin-b" 30 &
pids+=($!)
exec 3<"$t/host/bin/plugin-a"
printf '#!/bin/sh\necho plugin-a v2 with a longer body\n' >"$t/src/plugin-a"
printf '\n' >>"$t/src/plugin-b"  # different bytes; plugin-b is still running
run >/dev/null || fail "update failed while a plugin was running (written in place?)"
[[ $("$t/host/bin/plugin-a") == "plugin-a v2 with a longer body" ]] || fail "plugin-a not updated"
# The reader of the old file still sees the old bytes: a new inode, not an overwrite.
grep -q "plugin-a v1" <&3 || fail "plugin-a was rewritten in place"
exec 3<&-
[[ $(stat -c %i "$t/host/bin/plugin-a") != "$a_inode" ]] || fail "plugin-a kept its inode"
cmp -s "$t/src/plugin-b" "$t/host/bin/plugin-b" || fail "running plugin-b not replaced"
[[ $(stat -c %a "$t/host/bin/plugin-a") == 755 ]] || fail "plugin mode not 755"

# A changed conflist is replaced (new inode).
echo '{"cniVersion":"1.0.0","name":"linen","plugins":[{"type":"host-gw"}]}' >"$t/conf.json"
run >/dev/null
cmp -s "$t/conf.json" "$t/host/net.d/10-linen.conflist" || fail "changed conflist not written"
[[ $(stat -c %i "$t/host/net.d/10-linen.conflist") != "$conf_inode" ]] || fail "conflist written in place"

# No temporary file left anywhere.
leftover=$(find "$t/host" -name '*linen-tmp*')
[[ -z $leftover ]] || fail "temp files left: $leftover"

# Bad sources: refused, nothing on the host changes.
before=$(cd "$t/host" && find . -type f -exec md5sum {} + | sort)
if sh "$script" --bin-src "$t/src" --bin-dir "$t/host/bin" --conf-src "$t/missing.json" \
    --conf-dest "$t/host/net.d/10-linen.conflist" 2>"$t/err"; then
  fail "missing conflist accepted"
fi
grep -q "no network config" "$t/err" || fail "unclear error: $(cat "$t/err")"
mkdir "$t/empty"
if sh "$script" --bin-src "$t/empty" --bin-dir "$t/host/bin" --conf-src "$t/conf.json" \
    --conf-dest "$t/host/net.d/10-linen.conflist" 2>"$t/err"; then
  fail "empty plugin dir accepted"
fi
grep -q "no plugins" "$t/err" || fail "unclear error: $(cat "$t/err")"
after=$(cd "$t/host" && find . -type f -exec md5sum {} + | sort)
[[ $before == "$after" ]] || fail "a refused run changed the host dirs"
echo "install_cni_test: ok"
