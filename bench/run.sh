#!/usr/bin/env bash
# One command for every benchmark: builds Release into build-bench, runs our plugins
# and the reference ones (/usr/lib/cni, Debian containernetworking-plugins) through
# the same harness inside namespaces it creates, and writes bench/results/<time>/:
#   summary.txt (key=value), report.txt (the tables), *.dat (raw samples, ms),
#   latency.png (ADD/DEL latency distributions side by side).
#
#   bash bench/run.sh [--quick] [--no-build] [--seq N] [--par N] [--peers N]
#                     [--iperf-seconds S] [--store-root DIR] [--build-dir DIR]
#                     [--overlay-seq N] [--overlay-par N]
#                     [--density-pods N] [--density-ref-pods N]
#                     [--conn-few N] [--conn-many N] [--conn-seconds S] [--conn-rounds N]
#                     [--portmap-pods N] [--portmap-existing N]
#                     [--skip cni|vxlan|iperf|overlay|density|connrate|portmap ...]
#
# Modes: cni (bridge + host-local latency, parallel, RSS), vxlan (backend scale),
# iperf (pod-to-pod throughput), overlay (host-gw/vxlan meta-plugins, agent and static,
# vs linen's bridge alone vs flannel's reference chain), density (1,000 pods on one
# node, first vs last 100), connrate (new TCP connections/s from a pod through
# masquerade with 10 and with 1,000 pods on the node), portmap (bridge + portmap with a
# hostPort per pod, and portmap ADD with 200 mappings already on the node).
# --quick: small counts (a few minutes, for trying things out); figures are noisy then.
# Exit status: non-zero if a benchmark failed to run or counted a leak, duplicate
# IP or failed operation. Missed performance targets are reported, not fatal.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="$root/build-bench"
seq=200 par=100 rss=5 peers=5000 reps=20 iperf_seconds=3 iperf_rounds=5 do_build=1
skip="" store_root=/dev/shm
ov_seq=100 ov_par=100 dn_pods=1000 dn_ref_pods="" cr_few=10 cr_many=1000 cr_seconds=2 cr_rounds=5
pm_pods=50 pm_existing=200
while (($#)); do
  case "$1" in
    --quick)
      seq=30 par=20 rss=2 peers=1000 reps=5 iperf_seconds=1 iperf_rounds=1
      ov_seq=20 ov_par=20 dn_pods=200 cr_many=200 cr_seconds=1 cr_rounds=2 pm_pods=10
      shift ;;
    --portmap-pods) pm_pods=$2; shift 2 ;;
    --portmap-existing) pm_existing=$2; shift 2 ;;
    --overlay-seq) ov_seq=$2; shift 2 ;;
    --overlay-par) ov_par=$2; shift 2 ;;
    --density-pods) dn_pods=$2; shift 2 ;;
    --density-ref-pods) dn_ref_pods=$2; shift 2 ;;
    --conn-few) cr_few=$2; shift 2 ;;
    --conn-many) cr_many=$2; shift 2 ;;
    --conn-seconds) cr_seconds=$2; shift 2 ;;
    --conn-rounds) cr_rounds=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --build-dir) build=$(realpath -m "$2"); shift 2 ;;
    --seq) seq=$2; shift 2 ;;
    --par) par=$2; shift 2 ;;
    --peers) peers=$2; shift 2 ;;
    --iperf-seconds) iperf_seconds=$2; shift 2 ;;
    --skip) skip="$skip $2"; shift 2 ;;
    --store-root) store_root=$2; shift 2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "run.sh: run as root (namespaces, veths, nftables)" >&2; exit 2; }

if ((do_build)); then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target linen_bench bridge host-local portmap -j2
  # The overlay plugins are only needed for iperf and overlay; a broken one skips those.
  if ! cmake --build "$build" --target host-gw vxlan -j2; then
    echo "run.sh: host-gw/vxlan did not build; skipping iperf and overlay" >&2
    skip="$skip iperf overlay"
  fi
fi
bin="$build/bench/linen_bench"
ours="$build/cni-bin"
ref=/usr/lib/cni

out="$here/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
ln -sfn "$(basename "$out")" "$here/results/latest"
report="$out/report.txt"
load_start=$(cut -d' ' -f1 /proc/loadavg)
{
  echo "linen benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "reference: $ref ($(dpkg-query -W -f='${Package} ${Version}' containernetworking-plugins 2>/dev/null || echo unknown))"
  echo "linen: $ours (git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), working tree as built)"
} | tee "$report"

status=0
# The driver cleans up its namespaces on SIGINT/SIGTERM and exits; stop here too
# instead of going on with the next mode.
trap 'exit 130' INT TERM
skipped() { [[ " $skip " == *" $1 "* ]]; }

if ! skipped cni; then
  "$bin" --out "$out" cni --impl "ref=$ref" --impl "linen=$ours" \
    --seq "$seq" --par "$par" --rss "$rss" --store-root "$store_root" | tee -a "$report" || status=1
fi
if ! skipped vxlan; then
  "$bin" --out "$out" vxlan --peers "$peers" --reps "$reps" | tee -a "$report" || status=1
fi
if ! skipped iperf; then
  bash "$here/iperf.sh" --seconds "$iperf_seconds" --rounds "$iperf_rounds" --cni-bin "$ours" \
    --out "$out" 2>&1 | tee -a "$report" || status=1
fi
if ! skipped overlay; then
  "$bin" --out "$out" overlay --linen "$ours" --ref "$ref" --seq "$ov_seq" --par "$ov_par" \
    --store-root "$store_root" | tee -a "$report" || status=1
fi
if ! skipped density; then
  # The reference takes ~140 ms per ADD at 1,000 pods: --density-ref-pods bounds it.
  # --overlay: linen's cross-node path (vxlan, static topology) on a node as full,
  # unless the overlay plugins are skipped or did not build.
  ov_flag=()
  skipped overlay || ov_flag=(--overlay vxlan)
  "$bin" --out "$out" density --impl "ref=$ref" --impl "linen=$ours" --pods "$dn_pods" \
    ${dn_ref_pods:+--ref-pods "$dn_ref_pods"} "${ov_flag[@]}" --store-root "$store_root" \
    | tee -a "$report" || status=1
fi
if ! skipped connrate; then
  "$bin" --out "$out" connrate --linen "$ours" --few "$cr_few" --many "$cr_many" \
    --seconds "$cr_seconds" --rounds "$cr_rounds" --store-root "$store_root" \
    | tee -a "$report" || status=1
fi
if ! skipped portmap; then
  "$bin" --out "$out" portmap --impl "ref=$ref" --impl "linen=$ours" --pods "$pm_pods" \
    --existing "$pm_existing" --store-root "$store_root" | tee -a "$report" || status=1
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$report"

# Latency distributions as CDFs, sequential runs on the left, parallel on the right.
cdf() {  # cdf <name>: <name>.cdf with "ms fraction" lines
  local f="$out/$1.dat"
  [[ -s $f ]] || return 0
  local n; n=$(wc -l < "$f")
  sort -g "$f" | awk -v n="$n" '{print $1, NR / n}' > "$out/$1.cdf"
}
for s in add.ref add.linen del.ref del.linen par.add.ref par.add.linen par.del.ref \
         par.del.linen floor.true_exec floor.ip_exec floor.veth_del_netlink; do
  cdf "$s"
done
if command -v gnuplot >/dev/null && [[ -s $out/add.ref.cdf ]]; then
  plot_if() {  # only series that exist, so a skipped mode does not break the plot
    local spec="" f
    while (($#)); do
      f="$out/$1.cdf"
      [[ -s $f ]] && spec+="${spec:+, }'$f' using 1:2 with lines lw 2 title '$2'"
      shift 2
    done
    echo "$spec"
  }
  gnuplot <<GP
set terminal pngcairo size 1400,560 font ",10"
set output "$out/latency.png"
set multiplot layout 1,2 title "bridge(isGateway,ipMasq) + host-local: reference 1.1.1 vs linen ($(date -u +%F), load average at start $load_start)"
set logscale x
set xlabel "latency per exec (ms, log scale)"
set ylabel "fraction of operations"
set key bottom right
set grid
set yrange [0:1]
set title "sequential ADD / DEL, with the floors"
plot $(plot_if add.ref "ref ADD" add.linen "linen ADD" del.ref "ref DEL" del.linen "linen DEL" \
      floor.true_exec "/bin/true exec" floor.ip_exec "one ip command" \
      floor.veth_del_netlink "kernel veth delete")
set title "$par pods at once: per-exec latency"
plot $(plot_if par.add.ref "ref ADD" par.add.linen "linen ADD" par.del.ref "ref DEL" \
      par.del.linen "linen DEL")
unset multiplot
GP
  echo "chart: $out/latency.png" | tee -a "$report"
fi
# Density: p50 per 100 pods as the node fills (ADD) and empties (DEL).
if command -v gnuplot >/dev/null && [[ -s $out/density_buckets.linen.dat ]]; then
  spec=""
  for impl in ref linen linen-vxlan-static; do
    f="$out/density_buckets.$impl.dat"
    [[ -s $f ]] || continue
    spec+="${spec:+, }'$f' using 2:3 with linespoints lw 2 title '$impl ADD'"
    spec+=", '$f' using 2:4 with linespoints lw 2 title '$impl DEL'"
  done
  gnuplot <<GP
set terminal pngcairo size 900,560 font ",10"
set output "$out/density.png"
set title "bridge(isGateway,ipMasq) + host-local (and linen vxlan, static): p50 per bucket of pods on one node"
set xlabel "pods on the node (ADD: after it; DEL: before it)"
set ylabel "p50 latency per exec (ms, log scale)"
set logscale y
set key outside right
set grid
plot $spec
GP
  echo "chart: $out/density.png" | tee -a "$report"
fi
echo "results: $out"
exit "$status"
