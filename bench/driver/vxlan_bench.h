// The vxlan backend at scale, through the overlay backend library (what linend and
// the vxlan plugin run): N synthetic peers programmed from nothing, one peer changed,
// a reconcile with nothing to do, each against iproute2 doing the same entries in
// the same run (`ip -batch` + `bridge -batch`, and three `ip`/`bridge` processes).
#ifndef LINEN_BENCH_DRIVER_VXLAN_BENCH_H_
#define LINEN_BENCH_DRIVER_VXLAN_BENCH_H_

#include "bench/driver/stats.h"

namespace linen::bench {

struct VxlanBenchOptions {
  int peers = 5000;
  int reps = 20;  // single-peer changes and no-op reconciles
  int program_rounds = 5;  // from-nothing runs per side (median reported)
};

bool RunVxlanBench(const VxlanBenchOptions& opt, Report& report);

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_VXLAN_BENCH_H_
