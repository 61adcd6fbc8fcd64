#!/usr/bin/env bash
# Evidence for docs/etcd.md "The test-cluster stall": a bridge that holds a service
# address (etcd's, in the test cluster and the demo) and has no MAC of its own carries
# its lowest port's MAC. When that port leaves, the bridge switches to another port's
# MAC, and a node that resolved the address before keeps sending to a MAC the bridge
# no longer owns until its neighbour entry expires.
#
#   bash scripts/repro-bridge-mac.sh          # bridge without a fixed MAC: a long outage
#   FIXED=1 bash scripts/repro-bridge-mac.sh  # the fixture's fix: no outage
#
# Everything happens in three namespaces this script creates and removes. Run as root.
set -euo pipefail
p=brmac$$
cleanup() { for n in "${p}h" "${p}a" "${p}b"; do ip netns del "$n" 2>/dev/null || true; done; }
trap cleanup EXIT
for n in "${p}h" "${p}a" "${p}b"; do ip netns add "$n"; done
ip -n "${p}h" link add br0 ${FIXED:+address 02:99:00:00:00:01} type bridge
ip -n "${p}h" addr add 10.99.0.1/24 dev br0
ip -n "${p}h" link set br0 up

join() {  # namespace, index, MAC of the bridge-side port
  ip -n "${p}h" link add "v$2" address "$3" type veth peer name eth0 netns "$1"
  ip -n "${p}h" link set "v$2" master br0 up
  ip -n "$1" addr add "10.99.0.1$2/24" dev eth0
  ip -n "$1" link set eth0 up
}
join "${p}b" 2 02:00:00:00:00:10  # the lowest port MAC: the bridge takes it
join "${p}a" 1 02:00:00:00:00:50
ip netns exec "${p}a" ping -c1 -W2 10.99.0.1 >/dev/null
echo "node a reaches 10.99.0.1; its neighbour entry: $(ip -n "${p}a" neigh show 10.99.0.1)"
ip -n "${p}h" link del v2
echo "node b left; the bridge's MAC is now $(ip -n "${p}h" -br link show br0 | awk '{print $3}')"
start=$(date +%s%N)
lost=0
until ip netns exec "${p}a" ping -c1 -W1 10.99.0.1 >/dev/null; do lost=$((lost + 1)); done
took=$(( ($(date +%s%N) - start) / 1000000 ))
echo "node a: $lost pings lost, reached 10.99.0.1 again after $took ms;" \
     "neighbour entry: $(ip -n "${p}a" neigh show 10.99.0.1)"
