#!/usr/bin/env bash
# Runs scripts/demo.sh on already-built executables and checks what it promises: exit
# 0, every pod pair "ok" in the ping matrix, every node's hostPort answering from the
# underlay, and nothing left behind afterwards (no namespace with its lnd<pid>- prefix,
# no work dir, no etcd store, no linend/etcd process mentioning its work dir).
#
#   demo_test.sh <source dir> <cni-bin dir> <mode> [demo args...]
#
# mode: ok      the demo must succeed with the full matrix
#       sigterm the demo gets SIGTERM once its pods are being added; it must exit
#               non-zero and still tear everything down
#       nobin   --bin lacks linend: the demo must refuse, name it, and leave nothing
set -uo pipefail
src=$1 bin=$2 mode=$3
shift 3
out=$(mktemp /tmp/linen-demo-test.XXXXXX)
fail() {
  echo "FAIL: $*" >&2
  echo "---- demo output ----" >&2
  cat "$out" >&2
  exit 1
}
trap 'rm -f "$out"; [[ -n ${fake:-} ]] && rm -rf "$fake"' EXIT

if [[ $mode == nobin ]]; then
  # A copy of the executables without linend.
  fake=$(mktemp -d /tmp/linen-demo-test-bin.XXXXXX)
  cp -a "$bin"/. "$fake"/
  rm -f "$fake/linend"
  bin=$fake
fi

bash "$src/scripts/demo.sh" --bin "$bin" "$@" >"$out" 2>&1 &
pid=$!
if [[ $mode == sigterm ]]; then
  # Readiness poll on the demo's own output (bounded), then interrupt it mid-way.
  for ((i = 0; i < 400; i++)); do
    grep -q "adding 2 pods per node" "$out" && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
  done
  grep -q "adding 2 pods per node" "$out" || { wait $pid; fail "demo never reached the pod stage"; }
  # Not vacuous: etcd and three linends are running from the work dir right now.
  running_workdir=$(sed -n 's/^work dir: //p' "$out" | head -n 1)
  running=$(pgrep -f -- "$running_workdir" | wc -l)
  ((running >= 4)) || { kill -TERM $pid; wait $pid; fail "only $running demo processes running before SIGTERM"; }
  kill -TERM $pid
fi
wait $pid
rc=$?

# What the demo created is named after its pid and its work dir.
workdir=$(sed -n 's/^work dir: //p' "$out" | head -n 1)
leftover_ns=$(ip netns list | awk '{print $1}' | grep "^lnd$pid-" || true)
[[ -z $leftover_ns ]] || fail "namespaces survived the demo: $leftover_ns"
if [[ -n $workdir ]]; then
  [[ ! -e $workdir ]] || fail "work dir $workdir survived"
  [[ ! -e /dev/shm/$(basename "$workdir")-etcd ]] || fail "etcd store survived"
  procs=$(pgrep -af -- "$workdir" || true)
  [[ -z $procs ]] || fail "processes survived: $procs"
fi

case $mode in
  ok)
    ((rc == 0)) || fail "demo exited $rc"
    [[ -n $workdir ]] || fail "demo did not print its work dir"
    grep -q "^demo.sh: all 6 pods reach each other" "$out" || fail "no success line"
    # 6 pods: 30 ordered pairs, every one ok, in each family's matrix (dual-stack:
    # IPv4 and IPv6).
    want=30
    [[ " $* " == *" --dual-stack "* ]] && want=60
    oks=$(sed -n '/ping matrix/,/^$/p' "$out" | grep -o ' ok' | wc -l)
    ((oks == want)) || fail "ping matrices have $oks ok cells, want $want"
    if [[ " $* " == *" --ipv6-only "* ]]; then
      grep -q "ping matrix over IPv6" "$out" || fail "no IPv6 matrix"
      ! grep -q "ping matrix over IPv4" "$out" || fail "IPv6-only demo pinged over IPv4"
    fi
    ! grep -q FAIL "$out" || fail "matrix has FAIL cells"
    # Each node's first pod answered on hostPort 8080 from the underlay (portmap
    # chained after the backend, driven by cnitool's CAP_ARGS); over IPv6 when the
    # pods have only IPv6.
    for i in 1 2 3; do
      node_addr=192.168.50.$i
      [[ " $* " == *" --ipv6-only "* ]] && node_addr="\[fd00:50::$i\]"
      grep -q "^$node_addr:8080 (node$i) -> node${i}a (.*): \"node${i}a\"$" "$out" ||
        fail "node$i's hostPort did not answer from the underlay"
    done
    # ... and bandwidth shaped node1a both ways (TBF on its veth and on its IFB).
    tbfs=$(grep -c "^qdisc tbf 1: dev .* rate 100Mbit" "$out")
    ((tbfs == 2)) || fail "node1 shows $tbfs TBF qdiscs at 100Mbit, want 2"
    if [[ " $* " == *" etcd "* ]]; then
      # linend ran and was healthy on every node, and each node holds a lease in etcd.
      for n in node1 node2 node3; do
        grep -q "^$n: linend pid [0-9]* healthy" "$out" || fail "no healthy linend on $n"
        grep -q "\"NodeName\":\"$n\"" "$out" || fail "no etcd lease for $n"
      done
    fi
    ;;
  sigterm)
    ((rc != 0)) || fail "interrupted demo exited 0"
    ;;
  nobin)
    ((rc != 0)) || fail "demo without linend exited 0"
    grep -q "linend missing" "$out" || fail "error does not name linend"
    ;;
esac
echo "demo_test ($mode $*): ok"
