// A small cluster in namespaces for multi-node tests: an "underlay" namespace with
// a bridge, N node namespaces each joined to it by a veth (eth0, 192.168.77.<i>/24
// and fd00:77::<i>/64, the latter without DAD so it is usable at once), and pods (namespaces) added through the built host-gw / vxlan plugins run inside
// the node namespace. Everything is removed by the destructor, even after a failed
// ASSERT. Names are unique per process so tests can run in parallel.
#ifndef LINEN_TEST_CLUSTER_CLUSTER_H_
#define LINEN_TEST_CLUSTER_CLUSTER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "libcni/error.h"
#include "test/support/test_support.h"

namespace linen::test {

struct ClusterNode {
  std::string name;     // n1, n2, ...
  std::string ip;       // 192.168.77.<i>
  std::string subnet;   // 10.77.<i>.0/24
  std::string ip6;      // fd00:77::<i>
  std::string subnet6;  // fd00:10:77:<i>::/64
  std::optional<TempNetns> ns;
  std::string dir;      // per-node state (subnet.env, delegate configs, host-local)
};

struct Pod {
  std::string node;
  std::string id;       // container ID
  std::optional<TempNetns> ns;
  std::string ip;       // without prefix: the first address of the ADD result
  std::vector<std::string> ips;  // every address of the ADD result, without prefix
};

// Which address families the cluster's topology enables (the underlay always carries
// both). IPv4 only is the default; {true, true} is dual-stack, {false, true} IPv6-only.
struct Families {
  bool ipv4 = true;
  bool ipv6 = false;
};

class Cluster {
 public:
  // `type`: "vxlan" or "host-gw". Nodes n1..n<nodes>, all in the topology.
  static cni::Result<std::unique_ptr<Cluster>> Create(const std::string& type, int nodes,
                                                      Families families = {});
  ~Cluster();

  // Adds a node namespace on the underlay (and to the topology unless told not to).
  cni::Status AddNode(bool in_topology = true);
  ClusterNode& node(const std::string& name);
  const std::string& type() const { return type_; }
  const std::string& net_name() const { return net_name_; }

  // The topology's node list, editable (remove a node, change a subnet).
  nlohmann::json& topology_nodes() { return topo_nodes_; }
  // Extra keys merged into every node's plugin config (e.g. "underlay").
  nlohmann::json& extra_conf() { return extra_conf_; }
  std::string ConfFor(const std::string& node) const;

  // Runs the plugin with `command` in the node's namespace for `pod`.
  ProcResult RunPlugin(const std::string& node, const std::string& command, const Pod& pod,
                       const std::string& conf_override = "") const;
  // Creates a pod namespace and runs ADD; the error names the plugin's output.
  cni::Result<Pod*> AddPod(const std::string& node);
  // Makes the pod (namespace only) without ADD; for concurrency tests.
  cni::Result<Pod*> NewPod(const std::string& node);
  std::vector<std::unique_ptr<Pod>>& pods() { return pods_; }

  // `ip netns exec <ns> <cmd>`.
  static ProcResult InNs(const TempNetns& ns, const std::string& cmd);
  // ping from one pod to another; true on reply (MTU checks: test::DfPing).
  bool Ping(const Pod& from, const std::string& to_ip) const;
  // "a->b" for every failing ordered pair of pods, over every address of each pod
  // (both families in a dual-stack cluster).
  std::vector<std::string> FailingPairs() const;

 private:
  Cluster() = default;
  std::string type_;
  std::string net_name_;
  Families families_;
  std::optional<TempNetns> underlay_;
  std::unique_ptr<TempDir> dir_;
  std::vector<std::unique_ptr<ClusterNode>> nodes_;
  std::vector<std::unique_ptr<Pod>> pods_;
  nlohmann::json topo_nodes_ = nlohmann::json::array();
  nlohmann::json extra_conf_ = nlohmann::json::object();
  int pod_seq_ = 0;
};

// CNI_PATH for cluster tests: our build first, the reference plugins as fallback for
// delegates not built yet.
std::string ClusterCniPath();

}  // namespace linen::test

#endif  // LINEN_TEST_CLUSTER_CLUSTER_H_
