#!/usr/bin/env bash
# Pod-to-pod TCP throughput across two nodes, our plugins vs. the same data path made
# by hand with iproute2, for the host-gw and vxlan backends.
#
#   bash bench/iperf.sh [--seconds 3] [--rounds 2] [--cni-bin DIR] [--out DIR]
#                       [--backends "host-gw vxlan"] [--families "4 6"] [--ipmasq true|false]
#
# Two node namespaces share an underlay veth (192.168.77.0/24 and fd00:77::/64); each
# node has one pod. --families: the pod network's family, IPv4 (10.244.0.0/16) and/or
# IPv6 (IPv6-only pods in fd00:10:244::/56: vxlan through linen-v6.1 at MTU 1430).
# "hand": cni0 + veth + routes typed with ip(8) (vxlan: VTEP with FDB, ARP, onlink
# route, MTU 1450), plus with --ipmasq true (the default) the same masquerade rule
# typed with nft(8): a nat table makes the kernel track every connection, and that
# cost belongs to both sides of the comparison. "linen": the host-gw / vxlan meta-plugin with a static topology,
# exec'd inside each node namespace, delegating to our bridge + host-local.
# iperf3 runs pod1 -> pod2; the median of --rounds runs counts (the machine is shared).
# Everything lives in namespaces named lbi<pid>*, removed on exit even on failure.
# Prints a table; with --out, appends key=value lines to <out>/summary.txt.
set -euo pipefail

seconds=3 rounds=2 out="" ipmasq=true backends="host-gw vxlan" families="4 6"
cni_bin="$(cd "$(dirname "$0")/.." && pwd)/build-bench/cni-bin"
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --cni-bin) cni_bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --backends) backends=$2; shift 2 ;;
    --families) families=$2; shift 2 ;;
    --ipmasq) ipmasq=$2; shift 2 ;;
    *) echo "iperf.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

p="lbi$$"
n1="${p}n1" n2="${p}n2" p1="${p}p1" p2="${p}p2"
tmp=$(mktemp -d /tmp/linen-iperf-XXXXXX)
# Processes this script started inside its namespaces (an iperf3 server left behind
# by a failed run), then the namespaces themselves.
kill_ns_pids() {
  local ns pid
  for ns in "$p1" "$p2" "$n1" "$n2"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  done
}
cleanup() {
  kill_ns_pids
  for ns in "$p1" "$p2" "$n1" "$n2"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "iperf.sh: $*" >&2; exit 1; }

# 0e:4c + the node IP's bytes, as overlay::DeriveVtepMac computes it.
vtep_mac() { local IFS=.; set -- $1; printf '0e:4c:%02x:%02x:%02x:%02x' "$1" "$2" "$3" "$4"; }
# DeriveVtepMacV6 for fd00:77::<i> (i < 256): 0e:6c + the address's last four bytes.
vtep_mac6() { printf '0e:6c:00:00:00:%02x' "$1"; }

setup_nodes() {
  for ns in "$n1" "$n2" "$p1" "$p2"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # No DAD (before any link exists): a tentative link-local address keeps a node
    # from soliciting neighbours for the IPv6 packets it forwards.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done
  ip -n "$n1" link add ul0 type veth peer name ul0 netns "$n2"
  ip -n "$n1" addr add 192.168.77.1/24 dev ul0
  ip -n "$n2" addr add 192.168.77.2/24 dev ul0
  ip -n "$n1" addr add fd00:77::1/64 dev ul0 nodad
  ip -n "$n2" addr add fd00:77::2/64 dev ul0 nodad
  ip -n "$n1" link set ul0 up
  ip -n "$n2" link set ul0 up
}

teardown_nodes() {
  kill_ns_pids
  for ns in "$p1" "$p2" "$n1" "$n2"; do ip netns del "$ns" 2>/dev/null || true; done
}

# hand <backend> [4|6]: node i owns 10.244.i.0/24 (IPv6: fd00:10:244:i::/64), gateway
# .1 on cni0, pod .2.
hand() {
  [[ ${2:-4} == 6 ]] && { hand6 "$1"; return; }
  local backend=$1 mtu=1500
  [[ $backend == vxlan ]] && mtu=1450
  for i in 1 2; do
    local n="${p}n$i" pod="${p}p$i" j=$((3 - i))
    ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1
    ip -n "$n" link add cni0 mtu "$mtu" type bridge
    ip -n "$n" addr add "10.244.$i.1/24" dev cni0
    ip -n "$n" link set cni0 up
    ip -n "$n" link add vethpod mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns "$pod"
    ip -n "$n" link set vethpod master cni0 up
    ip -n "$pod" addr add "10.244.$i.2/24" dev eth0
    ip -n "$pod" link set eth0 up
    ip -n "$pod" route add default via "10.244.$i.1"
    if [[ $backend == host-gw ]]; then
      ip -n "$n" route add "10.244.$j.0/24" via "192.168.77.$j" dev ul0
    else
      ip -n "$n" link add linen.1 address "$(vtep_mac "192.168.77.$i")" mtu 1450 type vxlan \
        id 1 local "192.168.77.$i" dev ul0 dstport 8472 nolearning
      ip -n "$n" addr add "10.244.$i.0/32" dev linen.1
      ip -n "$n" link set linen.1 up
      local mac_j; mac_j=$(vtep_mac "192.168.77.$j")
      ip -n "$n" neigh replace "10.244.$j.0" lladdr "$mac_j" dev linen.1 nud permanent
      bridge -n "$n" fdb append "$mac_j" dev linen.1 dst "192.168.77.$j" self permanent
      ip -n "$n" route add "10.244.$j.0/24" via "10.244.$j.0" dev linen.1 onlink
    fi
    if [[ $ipmasq == true ]]; then
      ip netns exec "$n" nft -f - <<NFT
table ip handmasq {
 chain postrouting {
  type nat hook postrouting priority srcnat; policy accept;
  ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 ip daddr != 224.0.0.0/4 counter masquerade
 }
}
NFT
    fi
  done
  pod_ip2=10.244.2.2
}

# The IPv6 twin of hand, as linen's backends program it (docs/overlay.md): the VTEP is
# linen-v6.1 with local = the node's IPv6 address and MTU 1500 - 70, its address the
# subnet's first, the masquerade in an ip6 table with ff00::/8 excluded.
hand6() {
  local backend=$1 mtu=1500
  [[ $backend == vxlan ]] && mtu=1430
  for i in 1 2; do
    local n="${p}n$i" pod="${p}p$i" j=$((3 - i))
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.forwarding=1
    ip -n "$n" link add cni0 mtu "$mtu" type bridge
    ip -n "$n" addr add "fd00:10:244:$i::1/64" dev cni0 nodad
    ip -n "$n" link set cni0 up
    ip -n "$n" link add vethpod mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns "$pod"
    ip -n "$n" link set vethpod master cni0 up
    ip -n "$pod" addr add "fd00:10:244:$i::2/64" dev eth0 nodad
    ip -n "$pod" link set eth0 up
    ip -n "$pod" -6 route add default via "fd00:10:244:$i::1"
    if [[ $backend == host-gw ]]; then
      ip -n "$n" -6 route add "fd00:10:244:$j::/64" via "fd00:77::$j" dev ul0
    else
      ip -n "$n" link add linen-v6.1 address "$(vtep_mac6 "$i")" mtu 1430 type vxlan \
        id 1 local "fd00:77::$i" dev ul0 dstport 8472 nolearning
      ip -n "$n" addr add "fd00:10:244:$i::/128" dev linen-v6.1 nodad
      ip -n "$n" link set linen-v6.1 up
      local mac_j; mac_j=$(vtep_mac6 "$j")
      ip -n "$n" -6 neigh replace "fd00:10:244:$j::" lladdr "$mac_j" dev linen-v6.1 nud permanent
      bridge -n "$n" fdb append "$mac_j" dev linen-v6.1 dst "fd00:77::$j" self permanent
      ip -n "$n" -6 route add "fd00:10:244:$j::/64" via "fd00:10:244:$j::" dev linen-v6.1 onlink
    fi
    if [[ $ipmasq == true ]]; then
      ip netns exec "$n" nft -f - <<NFT
table ip6 handmasq {
 chain postrouting {
  type nat hook postrouting priority srcnat; policy accept;
  ip6 saddr fd00:10:244::/56 ip6 daddr != fd00:10:244::/56 ip6 daddr != ff00::/8 counter masquerade
 }
}
NFT
    fi
  done
  pod_ip2=fd00:10:244:2::2
}

conf() {  # conf <backend> <i> [4|6]
  local backend=$1 i=$2 topo
  if [[ ${3:-4} == 6 ]]; then
    topo='"enableIPv4":false,"enableIPv6":true,"ipv6Network":"fd00:10:244::/56",
   "nodes":[{"name":"node1","ipv6":"fd00:77::1","ipv6Subnet":"fd00:10:244:1::/64"},
            {"name":"node2","ipv6":"fd00:77::2","ipv6Subnet":"fd00:10:244:2::/64"}]'
  else
    topo='"network":"10.244.0.0/16",
   "nodes":[{"name":"node1","ip":"192.168.77.1","subnet":"10.244.1.0/24"},
            {"name":"node2","ip":"192.168.77.2","subnet":"10.244.2.0/24"}]'
  fi
  cat <<JSON
{"cniVersion":"1.0.0","name":"benchiperf","type":"$backend","nodeName":"node$i",
 "topology":{"backend":{"type":"$backend"},"ipMasq":$ipmasq,$topo},
 "subnetFile":"$tmp/n$i/subnet.env","dataDir":"$tmp/n$i/delegates",
 "ipam":{"dataDir":"$tmp/n$i/ipam"}}
JSON
}

cni() {  # cni <ADD|DEL> <backend> <i> [4|6]
  local cmd=$1 backend=$2 i=$3 fam=${4:-4}
  mkdir -p "$tmp/n$i"
  conf "$backend" "$i" "$fam" | ip netns exec "${p}n$i" env CNI_COMMAND="$cmd" \
    CNI_CONTAINERID="iperf-$i" CNI_NETNS="/run/netns/${p}p$i" CNI_IFNAME=eth0 \
    CNI_PATH="$cni_bin" "$cni_bin/$backend"
}

linen() {  # linen <backend> [4|6]
  local backend=$1 fam=${2:-4}
  [[ -x $cni_bin/$backend ]] || die "$cni_bin/$backend not built"
  for i in 1 2; do
    cni ADD "$backend" "$i" "$fam" > "$tmp/add$i.json" || die "linen $backend ADD on node$i failed: $(cat "$tmp/add$i.json")"
  done
  pod_ip2=$(jq -r '.ips[0].address' "$tmp/add2.json" | cut -d/ -f1)
}

linen_del() {  # linen_del <backend> [4|6]
  local backend=$1 fam=${2:-4}
  for i in 1 2; do cni DEL "$backend" "$i" "$fam" >/dev/null || die "linen $backend DEL on node$i failed"; done
  rm -rf "$tmp"/n*
}

# Gbit/s from pod1 to pod2.
measure() {
  ip netns exec "$p1" ping -c1 -W2 "$pod_ip2" >/dev/null || die "$label: pod1 cannot ping pod2 ($pod_ip2)"
  ip netns exec "$p2" iperf3 -s -1 >/dev/null 2>&1 &
  local srv=$!
  # Wait until the server listens (a condition, polled), not for a fixed time.
  local tries=0
  until ip netns exec "$p2" ss -Hltn 'sport = :5201' | grep -q .; do
    ((++tries < 2000)) || die "iperf3 server did not start"
  done
  local json
  json=$(ip netns exec "$p1" iperf3 -c "$pod_ip2" -t "$seconds" -J) || die "$label: iperf3 failed"
  wait "$srv" || true
  jq -r '.end.sum_received.bits_per_second / 1e9 | . * 1000 | round / 1000' <<<"$json"
}

# A case is a backend over one family: "vxlan" (IPv4, the keys of earlier runs) or
# "vxlan.ipv6".
cases=()
for backend in $backends; do
  for fam in $families; do
    case $fam in
      4) cases+=("$backend") ;;
      6) cases+=("$backend.ipv6") ;;
      *) die "--families takes 4 and/or 6" ;;
    esac
  done
done

declare -A best runs
for case_ in "${cases[@]}"; do
  backend=${case_%.ipv6} fam=4
  [[ $case_ == *.ipv6 ]] && fam=6
  for ((r = 0; r < rounds; r++)); do
    # Alternate who goes first, so a load swing does not always hit the same side.
    kinds="hand linen"
    ((r % 2)) && kinds="linen hand"
    for kind in $kinds; do
      label="$kind-$case_"
      setup_nodes
      if [[ $kind == hand ]]; then hand "$backend" "$fam"; else linen "$backend" "$fam"; fi
      mtu=$(ip -n "$p1" -o link show eth0 | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
      gbps=$(measure)
      echo "  $label round $r: $gbps Gbit/s (pod MTU $mtu)" >&2
      runs[$label]="${runs[$label]:-} $gbps"
      best["$label.mtu"]=$mtu
      [[ $kind == linen ]] && linen_del "$backend" "$fam"
      teardown_nodes
    done
  done
done

# The median of the rounds counts: single runs swing by +-10% on a shared machine, and
# a median moves less with one lucky or unlucky run than a best-of does.
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END{print (NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2}'; }
for label in "${!runs[@]}"; do best[$label]=$(median "${runs[$label]}"); done

echo "== iperf3 pod-to-pod across two nodes (median of $rounds x ${seconds}s)"
for backend in "${cases[@]}"; do
  h=${best[hand-$backend]} l=${best[linen-$backend]}
  ratio=$(awk -v l="$l" -v h="$h" 'BEGIN{printf "%.3f", l/h}')
  verdict=$(awk -v r="$ratio" 'BEGIN{print (r>=0.95)?"PASS":"MISS"}')
  printf '  %-34s %8.2f Gbit/s (pod MTU %s)\n' "iperf.$backend.hand" "$h" "${best[hand-$backend.mtu]}"
  printf '  %-34s %8.2f Gbit/s (pod MTU %s)\n' "iperf.$backend.linen" "$l" "${best[linen-$backend.mtu]}"
  printf '  %-34s %12s   target >= 0.950  %s\n' "ratio.iperf.$backend" "$ratio" "$verdict"
  if [[ -n $out ]]; then
    {
      echo "iperf.$backend.hand_gbps=$h"; echo "iperf.$backend.linen_gbps=$l"
      echo "iperf.$backend.hand_mtu=${best[hand-$backend.mtu]}"
      echo "iperf.$backend.linen_mtu=${best[linen-$backend.mtu]}"
      echo "ratio.iperf.$backend=$ratio"
    } >> "$out/summary.txt"
  fi
  [[ ${best[hand-$backend.mtu]} == "${best[linen-$backend.mtu]}" ]] ||
    echo "  WARNING: pod MTU differs ($backend): hand ${best[hand-$backend.mtu]}, linen ${best[linen-$backend.mtu]}"
done
