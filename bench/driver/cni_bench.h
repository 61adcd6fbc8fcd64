// The bridge + host-local benchmark: the same harness drives every implementation
// (a CNI_PATH directory holding `bridge` and `host-local`), each in its own node
// namespace, with one namespace per pod, exactly as a runtime would exec them.
#ifndef LINEN_BENCH_DRIVER_CNI_BENCH_H_
#define LINEN_BENCH_DRIVER_CNI_BENCH_H_

#include <map>
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

struct Node;

// Per-label samples of the sequential run, and the floors measured in its loop.
struct SeqOut {
  std::map<std::string, std::vector<double>> add, del, add_cpu, del_cpu, ipam_add, ipam_del;
  std::vector<double> floor_true, floor_ip, floor_pod_setup, floor_del_nl, floor_del_ip;
};

// The two runs every bridge-shaped benchmark shares (cni, overlay): `n` pods ADDed
// one at a time across `nodes`, interleaved, then DELed, with the exec and veth
// delete floors measured in the same loop; and `n` pods ADDed all at once per node,
// then DELed all at once. Both report their series, failures, duplicates and leaks
// under the node labels. `ipam_alone` also execs host-local by itself after each
// step (meaningless for a meta-plugin, whose conf has no complete ipam section).
// The floors are the only names not keyed by a node label: `floor_scope` ("" for
// cni, "overlay." ...) keeps two modes' floors apart in one results directory.
bool Sequential(std::vector<Node>& nodes, int n, Report& rep, SeqOut& out, bool ipam_alone,
                const std::string& floor_scope);
bool Parallel(std::vector<Node>& nodes, int n, Report& rep, std::map<std::string, double>& add_wall,
              std::map<std::string, double>& del_wall, double* kernel_wall,
              const std::string& floor_scope);

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_CNI_BENCH_H_
