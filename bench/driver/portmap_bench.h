// bridge + portmap (one hostPort per pod): ADD and DEL latency of the chain and of
// portmap alone, linen against the reference, and portmap ADD once the node already
// holds many mappings (where a chain per container grows and a map does not).
#ifndef LINEN_BENCH_DRIVER_PORTMAP_BENCH_H_
#define LINEN_BENCH_DRIVER_PORTMAP_BENCH_H_

#include <string>
#include <vector>

#include "bench/driver/cni_bench.h"
#include "bench/driver/stats.h"

namespace linen::bench {

struct PortmapBenchOptions {
  std::vector<Impl> impls;  // directories holding bridge, host-local and portmap
  int pods = 30;            // pods ADDed (bridge + portmap) then DELed, per impl
  int existing = 200;       // extra mappings on the node before the "loaded" ADDs
  std::string store_root = "/dev/shm";
};

// False when the harness could not set up (printed); plugin failures are counted.
bool RunPortmapBench(const PortmapBenchOptions& opt, Report& report);

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_PORTMAP_BENCH_H_
