#!/usr/bin/env bash
# scripts/install.sh into a temporary root: executables land in <root>/opt/cni/bin, the
# chosen config in <root>/etc/cni/net.d, and a different existing config is refused
# without --force and replaced with it. Never touches the real /opt or /etc.
set -euo pipefail
src=$1 build=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$src/scripts/install.sh" --build-dir "$build" --root "$root" --conf 10-linen-bridge.conflist >/dev/null
for exe in bridge host-local loopback; do
  [[ -x $root/opt/cni/bin/$exe ]] || fail "$exe not installed in $root/opt/cni/bin"
done
cmp -s "$src/conf-examples/10-linen-bridge.conflist" "$root/etc/cni/net.d/10-linen-bridge.conflist" \
  || fail "config not installed verbatim"

# Same content again: fine, idempotent.
bash "$src/scripts/install.sh" --build-dir "$build" --root "$root" --conf 10-linen-bridge.conflist >/dev/null \
  || fail "reinstalling an identical config failed"

echo '{"cniVersion":"1.0.0","name":"other","plugins":[{"type":"bridge"}]}' >"$root/etc/cni/net.d/10-linen-bridge.conflist"
if bash "$src/scripts/install.sh" --build-dir "$build" --root "$root" --conf 10-linen-bridge.conflist 2>"$root/err"; then
  fail "overwrote a different existing config without --force"
fi
grep -q -- "--force" "$root/err" || fail "refusal does not say how to override: $(cat "$root/err")"
grep -q '"other"' "$root/etc/cni/net.d/10-linen-bridge.conflist" || fail "refused install still changed the file"

bash "$src/scripts/install.sh" --build-dir "$build" --root "$root" --conf 10-linen-bridge.conflist --force >/dev/null
cmp -s "$src/conf-examples/10-linen-bridge.conflist" "$root/etc/cni/net.d/10-linen-bridge.conflist" \
  || fail "--force did not replace the config"

if bash "$src/scripts/install.sh" --build-dir "$build" --root "$root" --conf no-such.conflist 2>/dev/null; then
  fail "an unknown example config was accepted"
fi
echo "install_test: ok"
