// The data path with many pods: new TCP connections per second from a pod to a
// destination outside the cluster (an "external" namespace on the node's underlay,
// reached through the pod's masquerade), with a few pods on the node and with many.
#ifndef LINEN_BENCH_DRIVER_CONNRATE_BENCH_H_
#define LINEN_BENCH_DRIVER_CONNRATE_BENCH_H_

#include <string>

#include "bench/driver/cni_bench.h"
#include "bench/driver/stats.h"

namespace linen::bench {

struct ConnRateBenchOptions {
  Impl impl;              // bridge + host-local
  int few = 10;           // pods on the first node
  int many = 1000;        // pods on the second node
  double seconds = 2;     // per measurement round
  int rounds = 5;         // rounds per node, alternating between the nodes; medians count
  std::string store_root = "/dev/shm";
};

bool RunConnRateBench(const ConnRateBenchOptions& opt, Report& report);

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_CONNRATE_BENCH_H_
