#!/usr/bin/env bash
# A 3-node linen cluster in network namespaces: builds linen, installs it into a
# temporary prefix, wires node1..node3 to one underlay bridge, installs the host-gw
# or vxlan config from conf-examples/, adds two pods per node with cnitool, pings
# every pod from every pod and shows what the backend programmed.
#
#   scripts/demo.sh [--backend vxlan|host-gw] [--keep] [--bin DIR]
#
# --bin DIR skips the build and uses linen executables already installed in DIR
# (e.g. /opt/cni/bin).
#
# Everything lives in namespaces and a temp dir the script creates (names carry its
# pid); the machine's own network is never touched. --keep leaves the cluster up for
# exploring and prints how to remove it. Exit status: 0 when every pair pings.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

backend=vxlan
keep=0
prebuilt=""
while (($#)); do
  case $1 in
    --backend) backend=${2:-}; shift 2 ;;
    --backend=*) backend=${1#*=}; shift ;;
    --keep) keep=1; shift ;;
    --bin) prebuilt=${2:-}; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $backend in vxlan|host-gw) ;; *) echo "demo.sh: --backend must be vxlan or host-gw" >&2; exit 2 ;; esac
if [[ $(id -u) -ne 0 ]]; then
  echo "demo.sh: run as root (it creates network namespaces)" >&2
  exit 1
fi
for tool in cmake ip jq ping bridge; do
  command -v $tool >/dev/null || { echo "demo.sh: $tool missing; run scripts/setup.sh first" >&2; exit 1; }
done

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# --- build and install ------------------------------------------------------------
tmp=$(mktemp -d /tmp/linen-demo.XXXXXX)
if [[ -n $prebuilt ]]; then
  bin=$(cd "$prebuilt" && pwd)
else
  say "building linen (build-demo/)"
  log=$tmp/build.log
  if ! { cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DLINEN_BUILD_TESTS=OFF &&
         cmake --build build-demo -j"$(nproc)" &&
         cmake --install build-demo --prefix "$tmp/prefix"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "demo.sh: build failed (log above)" >&2
    rm -rf "$tmp"
    exit 1
  fi
  bin=$tmp/prefix/bin
fi
for exe in "$backend" bridge host-local cnitool; do
  [[ -x $bin/$exe ]] || { echo "demo.sh: $bin/$exe missing" >&2; rm -rf "$tmp"; exit 1; }
done
echo "linen executables: $bin ($(ls "$bin" | tr '\n' ' '))"

# --- namespaces ---------------------------------------------------------------------
id=$$
ul=lnd$id-ul
nodes=(node1 node2 node3)
nsof() { echo "lnd$id-$1"; }   # node1 -> lnd<pid>-node1, node1a -> lnd<pid>-node1a
created=()
declare -A pod_ip pod_node

cleanup() {
  local rc=$?
  if ((keep)); then
    say "kept: namespaces ${created[*]}"
    echo "explore:  ip netns exec $(nsof node1) ip route show proto 76"
    echo "          ip netns exec $(nsof node1a) ping ${pod_ip[node3b]:-<pod IP>}"
    echo "remove:   for n in ${created[*]}; do ip netns del \$n; done; rm -rf $tmp"
    exit $rc
  fi
  # Pods first, then nodes, then the underlay: every veth goes with its namespace.
  for ((i=${#created[@]}-1; i>=0; i--)); do ip netns del "${created[i]}" 2>/dev/null || true; done
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "underlay: bridge ulbr in namespace $ul, nodes on 192.168.50.0/24"
ip netns add "$ul"; created+=("$ul")
ip -n "$ul" link add ulbr type bridge
ip -n "$ul" link set ulbr up
for i in 1 2 3; do
  n=$(nsof node$i)
  ip netns add "$n"; created+=("$n")
  ip -n "$n" link set lo up
  ip -n "$n" link add eth0 type veth peer name ul$i netns "$ul"
  ip -n "$n" addr add 192.168.50.$i/24 dev eth0
  ip -n "$n" link set eth0 up
  ip -n "$ul" link set ul$i master ulbr up
  echo "node$i: namespace $n, eth0 192.168.50.$i"
done

# --- configs: one network config for every node --------------------------------------
# The nodes share this machine's filesystem, so each gets its own copy of the config
# with private state paths (on a real node the defaults are right).
say "config conf-examples/$backend.conflist + conf-examples/topology.json"
cp conf-examples/topology.json "$tmp/topology.json"
net=$(jq -r .name "conf-examples/$backend.conflist")
for node in "${nodes[@]}"; do
  d=$tmp/$node
  mkdir -p "$d/net.d"
  jq --arg topo "$tmp/topology.json" --arg d "$d" '
    .plugins[0].topology = $topo
    | .plugins[0].subnetFile = ($d + "/run/subnet.env")
    | .plugins[0].dataDir = ($d + "/delegates")
    | .plugins[0].ipam.dataDir = ($d + "/ipam")' \
    "conf-examples/$backend.conflist" > "$d/net.d/$backend.conflist"
done
jq . "$tmp/node1/net.d/$backend.conflist"

# --- pods -----------------------------------------------------------------------
# cnitool runs "on the node": inside the node's namespace, with the node's config.
on_node() {  # on_node <node> <cnitool args...>
  local node=$1; shift
  ip netns exec "$(nsof "$node")" env NETCONFPATH="$tmp/$node/net.d" CNI_PATH="$bin" \
    "$bin/cnitool" --cache-dir "$tmp/$node/cache" "$@"
}
pods=()
say "adding 2 pods per node with cnitool"
for node in "${nodes[@]}"; do
  for s in a b; do
    pod=$node$s
    ns=$(nsof "$pod")
    ip netns add "$ns"; created+=("$ns")
    ip -n "$ns" link set lo up
    if ! out=$(on_node "$node" --json add "$net" "/run/netns/$ns"); then
      echo "cnitool add failed on $node for $pod:" >&2
      echo "$out" >&2
      exit 1
    fi
    ip=$(jq -r '.ips[0].address' <<<"$out")
    pod_ip[$pod]=${ip%/*}
    pod_node[$pod]=$node
    pods+=("$pod")
    printf '%-7s on %s: %s\n' "$pod" "$node" "$ip"
  done
done

# --- ping matrix ----------------------------------------------------------------------
say "ping matrix (row pings column)"
printf '%-8s' ""
for to in "${pods[@]}"; do printf '%-8s' "$to"; done
echo
fail=0
for from in "${pods[@]}"; do
  printf '%-8s' "$from"
  for to in "${pods[@]}"; do
    if [[ $from == "$to" ]]; then printf '%-8s' " -"; continue; fi
    if ip netns exec "$(nsof "$from")" ping -c 1 -W 2 "${pod_ip[$to]}" >/dev/null 2>&1; then
      printf '%-8s' " ok"
    else
      printf '%-8s' " FAIL"; fail=$((fail + 1))
    fi
  done
  echo
done

# --- what the backend programmed ----------------------------------------------------------
for node in "${nodes[@]}"; do
  n=$(nsof "$node")
  say "$node: routes to peers (protocol 76 = linen)"
  ip -n "$n" route show proto 76
  if [[ $backend == vxlan ]]; then
    echo "-- linen.1:"
    ip -n "$n" -d link show linen.1 | grep -oE 'mtu [0-9]+|link/ether [0-9a-f:]+|vxlan id .* nolearning' | paste -sd' '
    echo "-- FDB (VTEP MAC -> peer node):"
    bridge -n "$n" fdb show dev linen.1
    echo "-- neighbours (peer subnet.0 -> VTEP MAC):"
    ip -n "$n" neigh show dev linen.1
  fi
  echo "-- subnet.env:"
  cat "$tmp/$node/run/subnet.env"
done

echo
if ((fail)); then
  echo "demo.sh: $fail pod pairs could not reach each other ($backend)" >&2
  exit 1
fi
echo "demo.sh: all ${#pods[@]} pods reach each other over $backend"
