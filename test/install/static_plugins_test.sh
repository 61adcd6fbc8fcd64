#!/usr/bin/env bash
# Every CNI plugin linen ships is a static executable (a runtime may exec it on any
# distribution), and nothing in the tree loads libnftables: nftables goes over
# netlink (libcni/netlink/nftables.h).
#   static_plugins_test.sh <source dir> <cni-bin dir>
set -euo pipefail
src=$1 bin=$2
fail=0
for p in bridge host-local loopback host-gw vxlan portmap bandwidth; do
  f=$bin/$p
  [[ -x $f ]] || { echo "FAIL: $f missing"; fail=1; continue; }
  desc=$(file -b "$f")
  if [[ $desc != *"static-pie linked"* && $desc != *"statically linked"* ]]; then
    echo "FAIL: $p is not static: $desc"
    fail=1
  elif readelf -l "$f" | grep -q 'INTERP'; then
    echo "FAIL: $p asks for a dynamic loader"
    fail=1
  else
    echo "ok: $p: ${desc%%,*}, static"
  fi
  # No run-time loading of a shared library (a static binary that dlopens one
  # drags in a second libc).
  if strings -a "$f" | grep -qE '^libnftables\.so|^libnftables'; then
    echo "FAIL: $p names libnftables"
    fail=1
  fi
done
if grep -rIlE 'libnftables|nft_ctx_new|dlopen' "$src" --include='*.cc' --include='*.h' \
     --include='CMakeLists.txt' --include='*.cmake' --include='*.sh' \
     --exclude-dir='build*' --exclude-dir='.git' \
     | grep -v -e 'test/install/static_plugins_test.sh' -e 'libcni/netlink/nftables.h'; then
  echo "FAIL: the files above load or link libnftables (or dlopen)"
  fail=1
fi
((fail == 0)) && echo "all plugins static, no libnftables"
exit $fail
