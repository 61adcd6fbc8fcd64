#!/bin/bash
# Fails when a lower layer reaches up (docs/architecture.md, "Layers"):
#   plugins -> overlay / ipam -> libcni (protocol), libcni/netlink, netns -> libcni/sys
# Checks the #include "..." lines of the sources, and, given the link graph the
# configure step writes (<build>/linen_link_graph.txt), the libraries' link edges.
#
#   check-layers.sh SRC_DIR [LINK_GRAPH]   check a tree
#   check-layers.sh --self-test            each rule catches a planted violation
set -u

# Prints one line per violation; the caller counts them.
check_includes() {
  local src=$1 file inc
  # grep -o keeps file:line:include, so one include is one record.
  while IFS= read -r rec; do
    file=${rec%%:*}
    inc=${rec#*\"}; inc=${inc%\"*}
    file=${file#"$src"/}
    # Tests sit beside the code but are not part of its layer: they may use
    # test/support (temp namespaces, process runner).
    case $file in *_test.cc | *test_fixture.h | *test_fixture.cc) continue ;; esac
    case $file in
      libcni/sys/*)
        [[ $inc == libcni/sys/* ]] || echo "$file includes $inc: libcni/sys may include only libcni/sys/" ;;
      netns/*)
        [[ $inc == netns/* || $inc == libcni/sys/* ]] ||
          echo "$file includes $inc: netns/ may include only netns/ and libcni/sys/" ;;
      libcni/netlink/*)
        case $inc in overlay/* | plugins/* | ipam/* | agent/* | tools/*)
          echo "$file includes $inc: libcni/netlink may not include $inc" ;; esac ;;
      libcni/*)
        case $inc in netns/* | overlay/* | plugins/* | ipam/* | agent/* | tools/*)
          echo "$file includes $inc: libcni/ (protocol) may not include $inc" ;; esac ;;
    esac
  done < <(grep -rHoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]+"' \
             --include='*.h' --include='*.cc' "$src/libcni" "$src/netns" 2>/dev/null)
  # The bottom layer is libc and libstdc++ only; its tests may compare against others.
  grep -rHlE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(nlohmann|netlink|CLI|curl|gtest)/' \
    --include='*.h' --include='*.cc' "$src/libcni/sys" 2>/dev/null | grep -v '_test\.cc$' |
    sed "s|^$src/||; s|\$|: libcni/sys may use only libc and libstdc++|"
}

# Library -> the linen libraries it may link; any other linen library is an upward edge.
declare -A ALLOWED=(
  [cni_sys]=""
  [cni_netns]="cni_sys"
  [cni]="cni_sys"
  [cni_runtime]="cni cni_sys"
  [cni_netlink]="cni cni_netns cni_sys"
)

check_links() {
  local graph=$1 target libs lib
  declare -A ours=()
  while IFS=$'\t' read -r target libs; do ours[$target]=1; done < "$graph"
  while IFS=$'\t' read -r target libs; do
    [[ -v ALLOWED[$target] ]] || continue
    for lib in ${libs//;/ }; do
      [[ -v ours[$lib] ]] || continue
      [[ " ${ALLOWED[$target]} " == *" $lib "* ]] ||
        echo "target $target links $lib: allowed are: ${ALLOWED[$target]:-(none)}"
    done
  done < "$graph"
}

run() {
  local out
  out=$(check_includes "$1"; [[ -n ${2:-} ]] && check_links "$2")
  if [[ -n $out ]]; then
    printf '%s\n' "$out"
    return 1
  fi
  return 0
}

self_test() {
  local fails=0
  t=$(mktemp -d) || exit 2  # global: the EXIT trap runs after this function returns
  trap 'rm -rf "$t"' EXIT
  mkdir -p "$t"/libcni/sys "$t"/libcni/netlink "$t"/libcni/runtime "$t"/netns
  printf '#include "libcni/sys/fd.h"\n#include <string>\n' > "$t/libcni/sys/ok.cc"
  printf '#include "libcni/sys/error.h"\n' > "$t/netns/ok.cc"
  printf '#include "netns/netns.h"\n' > "$t/libcni/netlink/ok.cc"
  printf 'cni_sys\t\ncni_netns\tcni_sys;Threads::Threads\ncni\tcni_sys;nlohmann_json::nlohmann_json\n' > "$t/graph"
  run "$t" "$t/graph" > /dev/null || { echo "self-test: a clean tree was refused"; fails=1; }
  expect() {  # file, text, what the report must say
    local f=$1 text=$2 want=$3 report
    mkdir -p "$(dirname "$t/$f")"
    printf '%s\n' "$text" > "$t/$f"
    report=$(run "$t")
    [[ $report == *"$want"* ]] || { echo "self-test: $f with '$text' not reported"; fails=1; }
    rm "$t/$f"
  }
  expect libcni/runtime/bad.cc '#include "netns/netns.h"' 'libcni/runtime/bad.cc includes netns/netns.h'
  expect libcni/bad.h '  #  include "overlay/backend/x.h"' 'libcni/bad.h includes overlay/backend/x.h'
  expect libcni/bad.cc '#include "plugins/bridge/x.h"' 'includes plugins/bridge/x.h'
  expect libcni/bad.cc '#include "ipam/host-local/x.h"' 'includes ipam/host-local/x.h'
  expect libcni/bad.cc '#include "agent/x.h"' 'includes agent/x.h'
  expect libcni/netlink/bad.cc '#include "overlay/x.h"' 'libcni/netlink may not include overlay/x.h'
  expect libcni/sys/bad.cc '#include "libcni/types.h"' 'libcni/sys may include only libcni/sys/'
  expect libcni/sys/bad.cc '#include <nlohmann/json.hpp>' 'libcni/sys may use only libc'
  printf '#include "test/support/test_support.h"\n' > "$t/netns/x_test.cc"
  [[ -z $(run "$t") ]] || { echo "self-test: a test file was held to its layer"; fails=1; }
  rm "$t/netns/x_test.cc"
  expect netns/bad.cc '#include "libcni/types.h"' 'netns/ may include only netns/ and libcni/sys/'
  printf 'cni_sys\t\ncni\tcni_sys\ncni_netns\tcni_sys;cni\n' > "$t/graph"
  [[ $(run "$t" "$t/graph") == *"target cni_netns links cni"* ]] ||
    { echo "self-test: the upward link cni_netns -> cni was not reported"; fails=1; }
  [[ $fails == 0 ]] && echo "self-test passed"
  return $fails
}

if [[ ${1:-} == --self-test ]]; then
  self_test
  exit
fi
[[ $# -ge 1 ]] || { echo "usage: $0 SRC_DIR [LINK_GRAPH] | --self-test" >&2; exit 2; }
if [[ -n ${2:-} && ! -f $2 ]]; then
  echo "link graph $2 is missing (written by the configure step)" >&2
  exit 1
fi
run "$1" "${2:-}" && echo "layers ok"
