// The overlay pod path: linen's host-gw and vxlan meta-plugins (agent mode, with a
// subnet.env the bench writes as linend would, and static-topology mode) next to
// linen's bridge alone and to the chain flannel's CNI plugin delegates to (the
// reference bridge + host-local), all exec'd the same way in one run.
#ifndef LINEN_BENCH_DRIVER_OVERLAY_BENCH_H_
#define LINEN_BENCH_DRIVER_OVERLAY_BENCH_H_

#include <string>

#include "bench/driver/cni_node.h"
#include "bench/driver/stats.h"

namespace linen::bench {

struct OverlayBenchOptions {
  std::string linen_bin = "";            // CNI_PATH with host-gw, vxlan, bridge, host-local
  std::string ref_bin = "/usr/lib/cni";  // the reference bridge and host-local
  int sequential = 100;                  // ADDs then DELs, one at a time, interleaved
  int parallel = 100;                    // pods ADDed (then DELed) at once; 0 = skip
  std::string store_root = "/dev/shm";   // as for `cni`: stores and plugin state on tmpfs
};

bool RunOverlayBench(const OverlayBenchOptions& opt, Report& report);

// Node1 of a static four-node cluster (10.244.0.0/16 cut into /`subnet_len`s) whose
// pods are ADDed through linen's `plugin` ("vxlan", "host-gw") in static-topology
// mode, as the overlay bench runs it; the density bench fills one to 1,000 pods.
cni::Result<Node> MakeStaticOverlayNode(const Impl& linen, const std::string& plugin,
                                        int subnet_len, const std::string& store_root);

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_OVERLAY_BENCH_H_
