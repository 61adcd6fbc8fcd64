// linend together with the CNI chain it serves: pods are created by the real
// `vxlan` / `host-gw` meta-plugins in agent mode (reading the subnet.env linend wrote),
// delegating to bridge + host-local, on nodes whose overlay linend programs.
#include "agent/cluster_fixture.h"

namespace linen::agent::testing {
namespace {

class LinendWithPlugins : public ClusterTest {
 protected:
  void RunMesh(const std::string& type) {
    std::vector<std::string> subnets;
    for (int i = 0; i < 3; ++i) StartAgent(AddNode());
    for (auto& n : nodes_) subnets.push_back(WaitSubnet(*n));
    for (size_t i = 0; i < nodes_.size(); ++i) {
      std::string out = AddPluginPod(*nodes_[i], type);
      auto net = cni::IpNet::Parse(subnets[i]);
      auto ip = cni::IpAddr::Parse(nodes_[i]->pod_ip);
      ASSERT_TRUE(net && ip) << out;
      EXPECT_TRUE(net->Contains(*ip)) << "pod IP " << nodes_[i]->pod_ip << " outside the node's "
                                      << subnets[i];
    }
    for (auto& a : nodes_) {
      for (auto& b : nodes_) {
        if (a == b) continue;
        EXPECT_TRUE(Eventually([&] { return Ping(*a, *b); }, std::chrono::seconds(5)))
            << a->name << " pod cannot reach " << b->name << " pod " << b->pod_ip;
      }
    }
  }
};

TEST_F(LinendWithPlugins, VxlanPodsPingAcrossNodes) {
  WriteConfig(R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}})");
  RunMesh("vxlan");
}

TEST_F(LinendWithPlugins, HostGwPodsPingAcrossNodes) {
  WriteConfig(R"({"Network":"10.245.0.0/16","Backend":{"Type":"host-gw"}})");
  RunMesh("host-gw");
}

// Agent mode: linend owns the node masquerade; pod ADDs never touch nftables.
TEST_F(LinendWithPlugins, LinendOwnsMasqueradeAndRepairsIt) {
  resync_ms_ = "200";
  WriteConfig(R"({"Network":"10.246.0.0/16","Backend":{"Type":"vxlan"}})");
  Node& n = AddNode();
  StartAgent(n);
  WaitSubnet(n);
  auto nft = [&](const std::string& args) {
    return linen::test::Sh("ip netns exec " + n.ns->name() + " nft " + args + " 2>&1").out;
  };
  const std::string rule =
      "ip saddr 10.246.0.0/16 ip daddr != 10.246.0.0/16 ip daddr != 224.0.0.0/4 counter";
  std::string table = nft("list table ip linen-linend");
  EXPECT_NE(table.find(rule), std::string::npos) << table;
  EXPECT_NE(table.find("type nat hook postrouting priority srcnat"), std::string::npos) << table;
  const std::string tables_before = nft("list tables");

  // The plugin reads FLANNEL_IPMASQ=true and adds nothing to nftables.
  AddPluginPod(n, "vxlan");
  EXPECT_EQ(nft("list tables"), tables_before);

  // Someone removes it: the next resync puts it back.
  nft("delete table ip linen-linend");
  EXPECT_TRUE(Eventually([&] { return nft("list table ip linen-linend").find(rule) != std::string::npos; }))
      << n.agent->Log();
}

}  // namespace
}  // namespace linen::agent::testing
