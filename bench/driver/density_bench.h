// Density: does a pod's ADD or DEL get slower as the node fills up? 1,000 pods added
// one after another on one node (bridge + host-local on a /22, ipMasq on), then
// deleted one after another in reverse, for linen and the reference alike.
#ifndef LINEN_BENCH_DRIVER_DENSITY_BENCH_H_
#define LINEN_BENCH_DRIVER_DENSITY_BENCH_H_

#include <string>
#include <vector>

#include "bench/driver/cni_bench.h"
#include "bench/driver/stats.h"

namespace linen::bench {

struct DensityBenchOptions {
  std::vector<Impl> impls;  // the first one is the reference
  int pods = 1000;          // per implementation
  // The reference's count (-1 = pods): at 1,000 pods its ADD takes ~140 ms.
  int ref_pods = -1;
  int bucket = 100;         // pods per p50 bucket (first vs last compared)
  std::string subnet = "10.88.0.0/22";
  std::string store_root = "/dev/shm";
  // Also fill a node through linen's "vxlan" or "host-gw" in static-topology mode
  // (the last impl's CNI_PATH), its node subnet a /overlay_subnet_len; "" = not.
  std::string overlay;
  int overlay_subnet_len = 22;
};

bool RunDensityBench(const DensityBenchOptions& opt, Report& report);

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_DENSITY_BENCH_H_
