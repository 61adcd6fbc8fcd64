#!/usr/bin/env bash
# A 3-node linen cluster in network namespaces: builds linen, installs it into a
# temporary prefix, wires node1..node3 to one underlay bridge, installs the host-gw
# or vxlan config from conf-examples/ with linen's portmap and bandwidth chained after
# it, adds two pods per node with cnitool, pings every pod from every pod, exposes the
# first pod of each node on a hostPort and reaches it from the underlay, and shows
# what the backend programmed.
#
#   scripts/demo.sh [--backend vxlan|host-gw] [--registry static|etcd]
#                   [--dual-stack|--ipv6-only] [--keep] [--bin DIR]
#
# --registry static (default): the plugins read conf-examples/topology.json.
# --registry etcd: etcd runs in the underlay namespace (192.168.50.254:2379), the
#   network config is written under /linen/network, linend runs on every node and
#   the plugins run in agent mode (conf-examples/<backend>-agent.conflist).
# --dual-stack: pods get an IPv4 and an IPv6 address and every pair pings over both
#   (conf-examples/topology-dualstack.json, or etcd-config-dualstack.json in etcd);
#   --ipv6-only: pods get only IPv6 (topology-ipv6only.json / etcd-config-ipv6only.json),
#   and the hostPort is reached over IPv6 ([fd00:50::<i>]:8080).
#   The underlay always carries both families (nodes 192.168.50.<i>, fd00:50::<i>).
# --bin DIR skips the build and uses linen executables already built or installed in
#   DIR (e.g. build/cni-bin or /opt/cni/bin).
#
# Everything lives in namespaces and a temp dir the script creates (names carry its
# pid); the machine's own network is never touched. --keep leaves the cluster up for
# exploring and prints how to remove it. Exit status: 0 when every pair pings.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

backend=vxlan
registry=static
families=ipv4   # ipv4 | dual | ipv6
keep=0
prebuilt=""
while (($#)); do
  case $1 in
    --backend) backend=${2:-}; shift 2 ;;
    --backend=*) backend=${1#*=}; shift ;;
    --registry) registry=${2:-}; shift 2 ;;
    --registry=*) registry=${1#*=}; shift ;;
    --dual-stack) families=dual; shift ;;
    --ipv6-only) families=ipv6; shift ;;
    --keep) keep=1; shift ;;
    --bin) prebuilt=${2:-}; shift 2 ;;
    --bin=*) prebuilt=${1#*=}; shift ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $backend in vxlan|host-gw) ;; *) echo "demo.sh: --backend must be vxlan or host-gw" >&2; exit 2 ;; esac
case $registry in static|etcd) ;; *) echo "demo.sh: --registry must be static or etcd" >&2; exit 2 ;; esac
fams=()   # the pod network's families, in matrix order
[[ $families == ipv6 ]] || fams+=(4)
[[ $families == ipv4 ]] || fams+=(6)
case $families in
  ipv4) mode_name="" ;;
  dual) mode_name=", dual-stack" ;;
  ipv6) mode_name=", IPv6-only" ;;
esac
if [[ $(id -u) -ne 0 ]]; then
  echo "demo.sh: run as root (it creates network namespaces)" >&2
  exit 1
fi
tools=(ip jq ping bridge nft socat)
[[ -n $prebuilt ]] || tools+=(cmake)
[[ $registry == static ]] || tools+=(etcd etcdctl)
for tool in "${tools[@]}"; do
  command -v $tool >/dev/null || { echo "demo.sh: $tool missing; run scripts/setup.sh first" >&2; exit 1; }
done

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# --- cleanup (armed before anything is created) ---------------------------------------
id=$$
ul=lnd$id-ul
nodes=(node1 node2 node3)
nsof() { echo "lnd$id-$1"; }   # node1 -> lnd<pid>-node1, node1a -> lnd<pid>-node1a
etcd_ip=192.168.50.254
etcd_url=http://$etcd_ip:2379
prefix=/linen/network
tmp=$(mktemp -d /tmp/linen-demo.XXXXXX)
# etcd fsyncs its WAL on every write; on a busy disk that stalls for seconds, so its
# store lives in memory (the demo needs no durability).
etcd_store=/dev/shm/$(basename "$tmp")-etcd
created=()      # namespaces, in creation order; each is listed before it is
                # made, so a signal right after `ip netns add` cannot leak it
procs=()        # background processes (linend per node, etcd), in start order
linend_pid=()   # node index -> its linend
declare -A pod_ip pod_ip4 pod_ip6 pod_node

stop_procs() {
  # Agents first (they talk to etcd), then etcd. SIGTERM lets linend stop cleanly; its
  # routes and devices go away with the namespaces below.
  local p
  for ((i=${#procs[@]}-1; i>=0; i--)); do
    p=${procs[i]}
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
cleanup() {
  local rc=$?
  trap - INT TERM
  if ((keep)) && ((${#created[@]})); then
    say "kept: namespaces ${created[*]}"
    ((${#procs[@]})) && echo "processes: ${procs[*]} (linend per node, etcd; logs in $tmp)"
    echo "explore:  ip netns exec $(nsof node1) ip route show proto 76"
    echo "          ip netns exec $(nsof node1a) ping ${pod_ip[node3b]:-<pod IP>}"
    if [[ $registry == etcd ]]; then
      echo "          ip netns exec $ul env ETCDCTL_API=3 etcdctl --endpoints $etcd_url get --prefix $prefix"
    fi
    printf 'remove:   '
    ((${#procs[@]})) && printf 'kill %s; ' "${procs[*]}"
    echo "for n in ${created[*]}; do ip netns del \$n; done; rm -rf $tmp $etcd_store"
    exit $rc
  fi
  stop_procs
  # Pods first, then nodes, then the underlay: every veth goes with its namespace.
  for ((i=${#created[@]}-1; i>=0; i--)); do ip netns del "${created[i]}" 2>/dev/null || true; done
  rm -rf "$tmp" "$etcd_store"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build and install ------------------------------------------------------------
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
    exit 1
  fi
  bin=$tmp/prefix/bin
fi
exes=("$backend" bridge host-local portmap bandwidth cnitool)
[[ $registry == static ]] || exes+=(linend)
for exe in "${exes[@]}"; do
  [[ -x $bin/$exe ]] || { echo "demo.sh: $bin/$exe missing" >&2; exit 1; }
done
echo "linen executables: $bin ($(ls "$bin" | tr '\n' ' '))"
echo "work dir: $tmp"

# --- namespaces ---------------------------------------------------------------------
say "underlay: bridge ulbr in namespace $ul, nodes on 192.168.50.0/24 and fd00:50::/64"
created+=("$ul"); ip netns add "$ul"
ip -n "$ul" link set lo up   # etcd and etcdctl there talk over the local address
# A fixed MAC: a bridge without one carries its lowest port's, and when that port goes
# nodes that resolved etcd's address would send to a MAC the bridge no longer owns
# (scripts/repro-bridge-mac.sh).
ip -n "$ul" link add ulbr address 02:50:00:00:00:01 type bridge
ip -n "$ul" link set ulbr up
for i in 1 2 3; do
  n=$(nsof node$i)
  created+=("$n"); ip netns add "$n"
  ip -n "$n" link set lo up
  # No DAD on the node's links: a fresh link-local address stays tentative for a second
  # or more, and until then the node sends no neighbour solicitation for packets it
  # forwards (host-gw over IPv6 would lose the first pings).
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$n" link add eth0 type veth peer name ul$i netns "$ul"
  ip -n "$n" addr add 192.168.50.$i/24 dev eth0
  # nodad: usable at once (no duplicate address detection wait on a private segment).
  ip -n "$n" addr add fd00:50::$i/64 dev eth0 nodad
  ip -n "$n" link set eth0 up
  ip -n "$ul" link set ul$i master ulbr up
  echo "node$i: namespace $n, eth0 192.168.50.$i fd00:50::$i"
done

# Polls `cond` (a command) every 50 ms until it succeeds, at most `limit` seconds.
# Readiness of asynchronous daemons, not a timed wait: it returns as soon as they are.
wait_for() {  # wait_for <limit seconds> <what> <cmd...>
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      echo "demo.sh: timed out after ${limit}s waiting for $what" >&2
      [[ -z ${on_timeout:-} ]] || "$on_timeout" "$@" >&2
      return 1
    fi
    sleep 0.05
  done
}
alive() {  # alive <pid> <name> <log>: fails (showing the log) once the process is gone
  kill -0 "$1" 2>/dev/null && return 0
  echo "demo.sh: $2 exited; its log:" >&2
  tail -n 20 "$3" >&2
  exit 1
}

# --- etcd + linend (--registry etcd) ----------------------------------------------------
if [[ $registry == etcd ]]; then
  say "etcd in $ul on $etcd_url, network config under $prefix"
  ip -n "$ul" addr add $etcd_ip/24 dev ulbr
  mkdir -m 700 -p "$etcd_store"
  # A one-member cluster: short heartbeat/election so it elects itself at once.
  ip netns exec "$ul" etcd --name demo --data-dir "$etcd_store" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls http://$etcd_ip:2380 --initial-advertise-peer-urls http://$etcd_ip:2380 \
    --initial-cluster demo=http://$etcd_ip:2380 \
    --heartbeat-interval 10 --election-timeout 100 \
    --logger zap --log-level warn --log-outputs "$tmp/etcd.log" </dev/null >>"$tmp/etcd.log" 2>&1 &
  etcd_pid=$!; procs+=("$etcd_pid")
  etcdctl_ul() {
    ip netns exec "$ul" env ETCDCTL_API=3 etcdctl --endpoints "$etcd_url" \
      --dial-timeout 1s --command-timeout 3s "$@"
  }
  etcd_ready() { alive "$etcd_pid" etcd "$tmp/etcd.log"; etcdctl_ul endpoint health >/dev/null 2>&1; }
  wait_for 20 "etcd health" etcd_ready
  case $families in
    ipv4) netconf=$(jq -cn --arg type "$backend" '{Network: "10.244.0.0/16", SubnetLen: 24, Backend: {Type: $type}}') ;;
    dual) netconf=$(jq -c --arg type "$backend" '.Backend.Type = $type' conf-examples/etcd-config-dualstack.json) ;;
    ipv6) netconf=$(jq -c --arg type "$backend" '.Backend.Type = $type' conf-examples/etcd-config-ipv6only.json) ;;
  esac
  etcdctl_ul put "$prefix/config" "$netconf" >/dev/null
  echo "$prefix/config = $netconf"

  say "linend on every node (logs in $tmp/<node>/linend.log)"
  for i in 1 2 3; do
    node=node$i
    mkdir -p "$tmp/$node/run"
    ip netns exec "$(nsof $node)" "$bin/linend" --registry etcd --etcd-endpoints "$etcd_url" \
      --etcd-prefix "$prefix" --node-name "$node" --iface eth0 \
      --subnet-file "$tmp/$node/run/subnet.env" --metrics-address 192.168.50.$i:9925 \
      </dev/null >"$tmp/$node/linend.log" 2>&1 &
    procs+=("$!")
    linend_pid[$i]=$!
  done
  # Ready = /readyz answers 200 (lease, subnet.env, every peer programmed) on every node, and
  # every node has picked up both peers (one linen route each per family; for vxlan the
  # route is added after its neighbour and FDB entries).
  healthy() {  # healthy <i>
    alive "${linend_pid[$1]}" "linend on node$1" "$tmp/node$1/linend.log"
    ip netns exec "$(nsof node$1)" bash -c '
      exec 3<>/dev/tcp/$0/9925 || exit 1
      printf "GET /readyz HTTP/1.0\r\n\r\n" >&3
      read -r -t 2 status <&3; [[ $status == *" 200"* ]]' 192.168.50.$1 2>/dev/null
  }
  has_peers() {  # has_peers <i>
    alive "${linend_pid[$1]}" "linend on node$1" "$tmp/node$1/linend.log"
    local f
    for f in "${fams[@]}"; do
      (($(ip -$f -n "$(nsof node$1)" route show proto 76 | wc -l) == ${#nodes[@]} - 1)) || return 1
    done
  }
  for i in 1 2 3; do wait_for 20 "linend readyz on node$i" healthy $i; done
  # What a node has when it does not get there: its linen routes and its log.
  peers_state() {  # peers_state has_peers <i>
    local f
    for f in "${fams[@]}"; do
      echo "node$2 IPv$f linen routes:"; ip -$f -n "$(nsof node$2)" route show proto 76
    done
    echo "node$2 linend log:"; tail -n 40 "$tmp/node$2/linend.log"
  }
  on_timeout=peers_state
  for i in 1 2 3; do wait_for 20 "node$i to learn its peers" has_peers $i; done
  on_timeout=
  for i in 1 2 3; do
    echo "node$i: linend pid ${linend_pid[$i]} healthy, $(grep -E 'FLANNEL_(IPV6_)?SUBNET' "$tmp/node$i/run/subnet.env" | paste -sd' ')"
  done
fi

# --- configs: one network config for every node --------------------------------------
# The nodes share this machine's filesystem, so each gets its own copy of the config
# with private state paths (on a real node the defaults are right).
if [[ $registry == static ]]; then
  conf=conf-examples/$backend.conflist
  case $families in
    ipv4) topology=conf-examples/topology.json ;;
    dual) topology=conf-examples/topology-dualstack.json ;;
    ipv6) topology=conf-examples/topology-ipv6only.json ;;
  esac
  say "config $conf + $topology"
  cp "$topology" "$tmp/topology.json"
else
  conf=conf-examples/$backend-agent.conflist
  say "config $conf (agent mode: reads linend's subnet.env)"
fi
net=$(jq -r .name "$conf")
for node in "${nodes[@]}"; do
  d=$tmp/$node
  mkdir -p "$d/net.d"
  # portmap and bandwidth chained after the backend, as in
  # conf-examples/10-linen-bridge-portmap-bandwidth.conflist: the runtime (cnitool
  # here) passes hostPorts and rates as capabilities.
  jq --arg topo "$tmp/topology.json" --arg d "$d" --arg reg "$registry" '
    (if $reg == "static" then .plugins[0].topology = $topo else . end)
    | .plugins[0].subnetFile = ($d + "/run/subnet.env")
    | .plugins[0].dataDir = ($d + "/delegates")
    | .plugins[0].ipam.dataDir = ($d + "/ipam")
    | .plugins += [{type: "portmap", capabilities: {portMappings: true}, snat: true},
                   {type: "bandwidth", capabilities: {bandwidth: true}}]' \
    "$conf" > "$d/net.d/$(basename "$conf")"
done
jq . "$tmp/node1/net.d/$(basename "$conf")"

# --- pods -----------------------------------------------------------------------
# cnitool runs "on the node": inside the node's namespace, with the node's config.
# CAP_ARGS carries the capabilities, as a runtime sends them.
on_node() {  # on_node <node> <cnitool args...>
  local node=$1; shift
  ip netns exec "$(nsof "$node")" env NETCONFPATH="$tmp/$node/net.d" CNI_PATH="$bin" \
    CAP_ARGS="${cap_args:-}" "$bin/cnitool" --cache-dir "$tmp/$node/cache" "$@"
}
# The first pod of each node: hostPort 8080 -> its port 80, and 100 Mbit/s each way
# (far above what the demo sends: it shows the chain, it does not shape anything).
host_port=8080
pod_caps=$(jq -cn --argjson hp $host_port '{portMappings: [{hostPort: $hp, containerPort: 80, protocol: "tcp"}],
  bandwidth: {ingressRate: 100000000, ingressBurst: 1000000, egressRate: 100000000, egressBurst: 1000000}}')
pods=()
say "adding 2 pods per node with cnitool (the first with CAP_ARGS $pod_caps)"
for node in "${nodes[@]}"; do
  for s in a b; do
    pod=$node$s
    ns=$(nsof "$pod")
    created+=("$ns"); ip netns add "$ns"
    ip -n "$ns" link set lo up
    cap_args=""
    [[ $s == a ]] && cap_args=$pod_caps
    if ! out=$(on_node "$node" --json add "$net" "/run/netns/$ns"); then
      echo "cnitool add failed on $node for $pod:" >&2
      echo "$out" >&2
      exit 1
    fi
    ips=$(jq -r '[.ips[].address] | join(" ")' <<<"$out")
    for ip in $ips; do
      if [[ $ip == *:* ]]; then pod_ip6[$pod]=${ip%/*}; else pod_ip4[$pod]=${ip%/*}; fi
    done
    pod_ip[$pod]=${pod_ip4[$pod]:-${pod_ip6[$pod]:-}}
    pod_node[$pod]=$node
    pods+=("$pod")
    printf '%-7s on %s: %s\n' "$pod" "$node" "$ips"
  done
done

# --- ping matrix ----------------------------------------------------------------------
# One matrix per family of the pod network (dual-stack: IPv4, then IPv6).
fail=0
for f in "${fams[@]}"; do
  say "ping matrix over IPv$f (row pings column)"
  printf '%-8s' ""
  for to in "${pods[@]}"; do printf '%-8s' "$to"; done
  echo
  for from in "${pods[@]}"; do
    printf '%-8s' "$from"
    for to in "${pods[@]}"; do
      if [[ $from == "$to" ]]; then printf '%-8s' " -"; continue; fi
      if [[ $f == 4 ]]; then dst=${pod_ip4[$to]:-}; else dst=${pod_ip6[$to]:-}; fi
      if [[ -n $dst ]] && ip netns exec "$(nsof "$from")" ping -$f -c 1 -W 2 "$dst" >/dev/null 2>&1; then
        printf '%-8s' " ok"
      else
        printf '%-8s' " FAIL"; fail=$((fail + 1))
      fi
    done
    echo
  done
done

# --- hostPort from the underlay ------------------------------------------------------------
# A client in the underlay namespace connects to node:8080; portmap DNATs it to the
# node's first pod, where socat answers with the pod's name. Over IPv4, or over IPv6
# when the pods have no IPv4 address (--ipv6-only).
if [[ ${fams[0]} == 4 ]]; then
  client=192.168.50.100/24 listen=TCP-LISTEN:80 map=any4
  node_addr() { echo "192.168.50.$1"; }
  connect() { echo "TCP:192.168.50.$1:$host_port"; }
else
  client=fd00:50::100/64 listen=TCP6-LISTEN:80 map=any6
  node_addr() { echo "[fd00:50::$1]"; }
  connect() { echo "TCP6:[fd00:50::$1]:$host_port"; }
fi
say "hostPort $host_port on every node, from the underlay (client ${client%/*} in $ul)"
ip -n "$ul" addr add $client dev ulbr nodad 2>/dev/null || ip -n "$ul" addr add $client dev ulbr
for node in "${nodes[@]}"; do
  pod=${node}a
  ip netns exec "$(nsof "$pod")" socat $listen,fork,reuseaddr SYSTEM:"echo $pod" \
    </dev/null >/dev/null 2>"$tmp/$pod-socat.log" &
  procs+=("$!")
done
hp_fail=0
for i in 1 2 3; do
  node=node$i
  ask() { answer=$(ip netns exec "$ul" socat -T 2 STDIO "$(connect $i)",connect-timeout=2 \
                   </dev/null 2>/dev/null) && [[ $answer == "${node}a" ]]; }
  if wait_for 5 "$node:$host_port" ask; then
    echo "$(node_addr $i):$host_port ($node) -> ${node}a (${pod_ip[${node}a]} port 80): \"$answer\""
  else
    echo "$(node_addr $i):$host_port ($node) -> FAIL (answer: \"${answer:-}\")"; hp_fail=$((hp_fail + 1))
  fi
done
echo "-- $(nsof node1): the mapping (nft list map inet linen_portmap $map)"
ip netns exec "$(nsof node1)" nft list map inet linen_portmap $map | grep -E 'elements|type'
echo "-- $(nsof node1): bandwidth's shaping of node1a (TBF on its host veth, TBF on the IFB its egress is redirected to)"
tc -n "$(nsof node1)" qdisc show | grep tbf

# --- what the backend programmed ----------------------------------------------------------
for node in "${nodes[@]}"; do
  n=$(nsof "$node")
  say "$node: routes to peers (protocol 76 = linen)"
  for f in "${fams[@]}"; do ip -$f -n "$n" route show proto 76; done
  if [[ $backend == vxlan ]]; then
    # One VTEP per family: linen.1 over IPv4, linen-v6.1 over IPv6 (MTU underlay - 70).
    for f in "${fams[@]}"; do
      if [[ $f == 4 ]]; then dev=linen.1; else dev=linen-v6.1; fi
      echo "-- $dev:"
      ip -n "$n" -d link show $dev | grep -oE ' mtu [0-9]+|link/ether [0-9a-f:]+|vxlan id .* nolearning' | paste -sd' '
      echo "-- FDB (VTEP MAC -> peer node):"
      bridge -n "$n" fdb show dev $dev
      echo "-- neighbours (peer subnet's first address -> VTEP MAC):"
      ip -n "$n" neigh show dev $dev
    done
  fi
  echo "-- subnet.env:"
  cat "$tmp/$node/run/subnet.env"
done
if [[ $registry == etcd ]]; then
  say "etcd: leases under $prefix/subnets/"
  etcdctl_ul get --prefix "$prefix/subnets/"
fi

echo
if ((hp_fail)); then
  echo "demo.sh: $hp_fail nodes did not answer on hostPort $host_port from the underlay" >&2
  exit 1
fi
if ((fail)); then
  echo "demo.sh: $fail pod pairs could not reach each other ($backend, $registry registry$mode_name)" >&2
  exit 1
fi
echo "demo.sh: all ${#pods[@]} pods reach each other over $backend ($registry registry$mode_name);" \
  "every node's hostPort $host_port answers from the underlay"
