// One implementation's node and its pods for the bridge + host-local benchmark, and
// the checks run on them (leaks, duplicate IPs). Shared by the sequential, RSS and
// parallel runs in cni_bench.cc.
#ifndef LINEN_BENCH_DRIVER_CNI_NODE_H_
#define LINEN_BENCH_DRIVER_CNI_NODE_H_

#include <memory>
#include <string>
#include <vector>

#include "bench/driver/cni_bench.h"
#include "bench/driver/proc.h"
#include "bench/driver/stats.h"
#include "libcni/error.h"
#include "test/support/test_support.h"

namespace linen::bench {

inline constexpr const char* kNetName = "benchnet";

// Its own namespace, bridge, IPAM store and nat table, so two implementations never
// see each other's state.
struct Node {
  Impl impl;
  test::TempNetns ns;
  std::unique_ptr<test::TempDir> data;
  std::string conf;
  std::vector<std::string> ruleset_before;  // sorted `nft -s list ruleset` lines
  // The executable in impl.cni_path that a runtime would run: the bridge, or a
  // meta-plugin (host-gw, vxlan) that delegates to it.
  std::string plugin = "bridge";
  // Links the bench itself made in the node (an underlay veth): never a leak.
  std::vector<std::string> own_links;
};

// The driver holds no descriptor per pod (test::UnheldNetns): every exec closes
// all of them, which made each ADD cost more with every pod on the node.
struct Pod {
  test::UnheldNetns ns;
  std::string id;
  std::string add_out;  // the ADD result, handed back as prevResult on DEL
};

cni::Result<Node> MakeNode(const Impl& impl, bool ip_masq, const std::string& store_root);

// bridge (cni0, gateway, ipMasq) + host-local on `subnet` in `data`; with
// `default_route` the pods get a default route via cni0 (to reach the outside).
std::string MasqBridgeConf(const std::string& data, const std::string& subnet,
                           bool default_route);

// The node's underlay: veth "ul0" holding `node_cidr`, its peer "ul0p" in `peer_ns`
// (holding `peer_cidr` when not empty) or, with no peer_ns, left in the node. Both
// ends up; recorded in node.own_links so the leak check does not count them.
cni::Status AddUnderlay(Node& node, const cni::NetNs* peer_ns, const std::string& node_cidr,
                        const std::string& peer_cidr);
cni::Result<Pod> MakePod(const Impl& impl, int i);

// The bridge plugin exec'd inside the node for `pod`; host-local alone likewise.
ExecSpec PluginSpec(const Node& node, const std::string& cmd, const Pod& pod,
                    std::string stdin_data);
ExecSpec IpamSpec(const Node& node, const std::string& cmd, const Pod& pod);
std::string DelStdin(const Node& node, const Pod& pod);

cni::Result<ExecResult> Add(const Node& node, Pod& pod, bool trace);
cni::Result<ExecResult> Del(const Node& node, const Pod& pod);

// One ADD and DEL before measuring; takes the ruleset snapshot. False (printed) when
// the implementation cannot do it.
bool WarmUp(Node& node);

// Whatever a DEL should have removed and did not.
struct Leaks {
  long ip_files = 0, node_veths = 0, pod_ifaces = 0, rules = 0;
};
Leaks FindLeaks(const Node& node, const std::vector<Pod>& pods);
void ReportLeaks(Report& rep, const std::string& tag, const Leaks& l);
// Duplicate IPs across `pods`, results without an IP, pods without eth0.
void CheckAdds(Report& rep, const std::string& tag, const std::vector<Pod>& pods);

void PrintFailure(const std::string& what, const ExecResult& r);

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_CNI_NODE_H_
