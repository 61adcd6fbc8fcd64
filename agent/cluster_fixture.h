// Test-only: a small cluster made of namespaces. A "hub" namespace holds the
// underlay bridge br0 (10.99.0.1/24) and etcd on 10.99.0.1:2379; every node is a
// namespace whose eth0 is a veth into br0 (10.99.0.<10+i>/24 and, without DAD so it is
// usable at once, fd00:99::<10+i>/64: the underlay carries both families). linend runs in node
// namespaces as a real process; "pods" are namespaces behind a cni0 bridge on their
// node, wired with iproute2 (only to give the data path something to carry).
// The test's main thread sits in the hub so it can talk to etcd.
#ifndef LINEN_AGENT_CLUSTER_FIXTURE_H_
#define LINEN_AGENT_CLUSTER_FIXTURE_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "libcni/ip_net.h"
#include "overlay/registry/etcd/etcd_client.h"
#include "overlay/registry/etcd/etcd_test_fixture.h"
#include "overlay/registry/kubernetes/testing/kube_api_server.h"
#include "test/support/test_support.h"

namespace linen::agent::testing {

// A child process started inside a namespace, stderr+stdout to a log file.
class Process {
 public:
  // `env` entries are added to (or replace) the test process's environment.
  static cni::Result<std::unique_ptr<Process>> Start(
      const cni::NetNs& ns, const std::vector<std::string>& argv, const std::string& log_path,
      const std::map<std::string, std::string>& env = {});
  ~Process();  // SIGKILL if still running
  // Sends `sig` and reaps; returns the exit status (-signal if killed by one).
  int Stop(int sig);
  bool running() const { return pid_ > 0; }
  const std::string& log_path() const { return log_; }
  std::string Log() const;

 private:
  Process(pid_t pid, std::string log) : pid_(pid), log_(std::move(log)) {}
  pid_t pid_;
  std::string log_;
};

struct Node {
  std::string name;
  int index = 0;
  std::optional<linen::test::TempNetns> ns;
  std::string ip;           // underlay address
  std::string ip6;          // underlay IPv6 address
  std::string subnet_file;  // where its linend writes subnet.env
  std::unique_ptr<Process> agent;
  std::optional<linen::test::TempNetns> pod;  // one pod per node, once AddPod ran
  std::string pod_ip;
  std::vector<std::string> pod_ips;  // AddPluginPod: every address of the ADD result
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Writes <prefix>/config in etcd.
  void WriteConfig(const std::string& json);
  // A node namespace joined to the underlay (no agent yet).
  Node& AddNode();
  // Starts linend for `n` with the standard flags plus `extra` (and `env`).
  void StartAgent(Node& n, const std::vector<std::string>& extra = {},
                  const std::map<std::string, std::string>& env = {});
  // Starts linend for `n` on a static topology file instead of etcd.
  void StartFileAgent(Node& n, const std::string& topology);
  // Kubernetes mode: the test API server on the hub (https://10.99.0.1:6443), a
  // kubeconfig for it and flannel's net-conf.json with `net_conf`.
  void StartKubeApi(const std::string& net_conf);
  // Registers `n` with the API server as its kubelet would (InternalIP = its underlay
  // address), with these podCIDRs (none: not allocated yet).
  void RegisterKubeNode(const Node& n, const std::vector<std::string>& pod_cidrs);
  // Starts linend --registry kubernetes for `n` with the standard flags plus `extra`.
  void StartKubeAgent(Node& n, const std::vector<std::string>& extra = {});
  // Waits (bounded) until the node's subnet.env exists and returns its SUBNET line
  // value in network form, e.g. "10.244.3.0/24" (`key` FLANNEL_IPV6_SUBNET: the IPv6
  // one, for IPv6-only clusters).
  std::string WaitSubnet(Node& n, const std::string& key = "FLANNEL_SUBNET");
  // Neighbours, hub bridge MAC and FDB, TCP state: printed when a node never leased.
  std::string UnderlayState(const Node& n);
  // A pod namespace behind cni0 on the node, addressed .2 in the node's subnet.
  void AddPod(Node& n, const std::string& subnet);
  // A pod created by the real CNI chain in agent mode: the `vxlan`/`host-gw`
  // meta-plugin (reading the node's subnet.env) delegating to bridge + host-local.
  // Returns the plugin's stdout; sets n.pod / n.pod_ip.
  std::string AddPluginPod(Node& n, const std::string& type);
  // One ping from a's pod to b's pod (2 s reply timeout).
  bool Ping(const Node& a, const Node& b);
  // One ping from a's pod to `ip` (either family).
  bool PingIp(const Node& a, const std::string& ip);
  // Polls `cond` until true or `limit` elapses (readiness of asynchronous agents,
  // not a timing assertion).
  static bool Eventually(const std::function<bool()>& cond,
                         std::chrono::milliseconds limit = std::chrono::seconds(10));
  // `ip -n <node> <args>` output.
  std::string Ip(const Node& n, const std::string& args);
  // GET http://<node ip>:9925<path> from the hub.
  std::string Http(const Node& n, const std::string& path);

  std::string prefix_ = "/linen/network";
  std::optional<linen::test::TempNetns> hub_;
  std::optional<linen::test::TempDir> dir_;
  std::optional<cni::ScopedNetnsSwitch> inside_;
  std::unique_ptr<etcd::testing::EtcdServer> etcd_;
  // How SetUp starts etcd (TLS, token TTL); listen address and port are the hub's.
  etcd::testing::EtcdServerOptions etcd_options_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unique_ptr<kube::testing::KubeApiServer> kube_;  // StartKubeApi
  std::string kubeconfig_, net_conf_path_;
  std::string lease_ttl_ = "2";
  // Long by default so that tests see watch-driven changes, not the periodic repair.
  std::string resync_ms_ = "60000";
};

}  // namespace linen::agent::testing

#endif  // LINEN_AGENT_CLUSTER_FIXTURE_H_
