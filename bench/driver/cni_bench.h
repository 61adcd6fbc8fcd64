// The bridge + host-local benchmark: the same harness drives every implementation
// (a CNI_PATH directory holding `bridge` and `host-local`), each in its own node
// namespace, with one namespace per pod, exactly as a runtime would exec them.
#ifndef LINEN_BENCH_DRIVER_CNI_BENCH_H_
#define LINEN_BENCH_DRIVER_CNI_BENCH_H_

#include <string>
#include <vector>

#include "bench/driver/stats.h"

namespace linen::bench {

struct Impl {
  std::string label;     // "ref", "linen"
  std::string cni_path;  // directory with bridge and host-local
};

struct CniBenchOptions {
  std::vector<Impl> impls;  // the first one is the reference for ratios
  int sequential = 100;     // ADDs then DELs, one at a time, interleaved across impls
  int parallel = 100;       // pods ADDed at once (then DELed at once); 0 = skip
  int rss_runs = 5;         // traced ADDs for the plugin-alone peak RSS; 0 = skip
  bool ip_masq = true;      // the setup; false isolates the nftables cost
  // Where the host-local stores live (both implementations alike). tmpfs by default: see docs/performance.md
  // ("The store's filesystem") for why this VM's root ext4 is not used.
  std::string store_root = "/dev/shm";
};

// Runs everything, fills `report`, returns false when the harness itself failed
// (a setup error, printed). Plugin failures, leaks and duplicates are counted.
bool RunCniBench(const CniBenchOptions& opt, Report& report);

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_CNI_BENCH_H_
