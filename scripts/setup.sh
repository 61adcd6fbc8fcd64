#!/usr/bin/env bash
# Installs every build, test, demo and benchmark dependency of linen from Debian 12
# packages. Idempotent; run as root on a fresh machine.
set -euo pipefail

packages=(
  # build
  cmake g++ make ninja-build pkg-config clang libclang-rt-14-dev
  libnl-3-dev libnl-route-3-dev nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
  libbenchmark-dev libcurl4-openssl-dev
  libyaml-dev  # kubeconfig files (linend --registry kubernetes)
  # runtime tools used by tests, the demo and benchmarks (never on a plugin's hot path)
  iproute2 nftables iptables jq file iputils-ping procps util-linux kmod
  containernetworking-plugins etcd-server etcd-client iperf3 gnuplot-nox hyperfine
  socat  # the demo's pod servers and underlay client (hostPort)
  openssl  # test certificates for etcd over TLS
  buildah  # scripts/build-image.sh: the OCI image for deploy/kubernetes
  python3 python3-yaml  # test/deploy/manifest_test.py
)

if [[ $(id -u) -ne 0 ]]; then
  echo "setup.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts etcd as a service on install; linen's tests and demo run their own
# etcd inside namespaces, so the distribution's instance is not needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  systemctl stop etcd || true
fi
# The bandwidth plugin's tests create IFB devices inside their namespaces. Loaded on
# demand, the ifb module would also put ifb0 and ifb1 in the initial namespace
# (numifbs=2); loaded here first it adds none. Built in (or no modprobe): no change.
modprobe ifb numifbs=0 2>/dev/null || true
echo "setup.sh: all dependencies present"
