// linend in Kubernetes mode end to end: real linend processes in node namespaces
// talking TLS to the test API server on the hub, pod subnets from Node podCIDRs,
// peers from Node annotations, the real vxlan / host-gw data path between pods.
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "agent/cluster_fixture.h"

namespace linen::agent::testing {
namespace {

constexpr const char* kVxlan = R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}})";
constexpr const char* kHostGw = R"({"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}})";
constexpr const char* kP = "flannel.alpha.coreos.com/";

class LinendKube : public ClusterTest {
 protected:
  static std::string Cidr(int i) { return "10.244." + std::to_string(i) + ".0/24"; }

  // n nodes registered with podCIDRs, agents started; waits for their subnets and
  // gives each a pod.
  void Bring(int n) {
    for (int i = 0; i < n; ++i) {
      Node& node = AddNode();
      RegisterKubeNode(node, {Cidr(node.index)});
      StartKubeAgent(node);
    }
    for (auto& node : nodes_) {
      ASSERT_EQ(WaitSubnet(*node), Cidr(node->index)) << "the subnet is the node's podCIDR";
      AddPod(*node, Cidr(node->index));
    }
  }

  void ExpectFullMesh() {
    for (auto& a : nodes_) {
      for (auto& b : nodes_) {
        if (a == b || !a->pod || !b->pod) continue;
        EXPECT_TRUE(Eventually([&] { return Ping(*a, *b); }, std::chrono::seconds(5)))
            << a->name << " pod cannot reach " << b->name << " pod " << b->pod_ip;
      }
    }
  }
};

TEST_F(LinendKube, VxlanPodsPingFlannelPeerProgrammedDeletedNodeRemoved) {
  StartKubeApi(kVxlan);
  Bring(3);
  ExpectFullMesh();
  for (auto& n : nodes_) {
    EXPECT_EQ(kube_->Annotation(n->name, std::string(kP) + "kube-subnet-manager"), "true");
    EXPECT_TRUE(Eventually([&] {
      return kube_->ConditionStatus(n->name, "NetworkUnavailable") == "False";
    })) << n->name;
    EXPECT_EQ(kube_->ConditionStatus(n->name, "Ready"), "True") << "the kubelet's condition stays";
    EXPECT_TRUE(Eventually([&] { return Http(*n, "/readyz") == "ok\n"; })) << Http(*n, "/readyz");
  }
  Node& n1 = *nodes_[0];
  // The VTEP MAC node2 published is its device's, and the one node1 programmed.
  auto data2 = kube_->Annotation("node2", std::string(kP) + "backend-data");
  ASSERT_TRUE(data2);
  const std::string mac2 = nlohmann::json::parse(*data2).value("VtepMAC", "");
  ASSERT_EQ(mac2.size(), 17u) << *data2;
  EXPECT_NE(Ip(*nodes_[1], "link show linen.1").find(mac2), std::string::npos);
  EXPECT_NE(Ip(n1, "neigh show 10.244.2.0 dev linen.1").find(mac2), std::string::npos)
      << *data2 << " vs " << Ip(n1, "neigh show dev linen.1");

  // A node running flanneld (annotations exactly as flanneld writes them) is a peer.
  ASSERT_TRUE(kube_->PutNode(kube::testing::MakeNodeJson("flannel-node", "10.99.0.50",
                                                         {"10.244.50.0/24"})));
  kube::testing::FlannelAnnotations f;
  f.public_ip = "10.99.0.50";
  f.vtep_mac = "8a:9b:3c:4d:5e:6f";
  ASSERT_TRUE(kube_->WriteFlannelAnnotations("flannel-node", f));
  EXPECT_TRUE(Eventually([&] {
    const std::string route = Ip(n1, "route show 10.244.50.0/24");
    return route.find("via 10.244.50.0 dev linen.1") != std::string::npos &&
           route.find("onlink") != std::string::npos &&
           Ip(n1, "neigh show 10.244.50.0 dev linen.1").find("8a:9b:3c:4d:5e:6f") !=
               std::string::npos;
  })) << Ip(n1, "route") << Ip(n1, "neigh show dev linen.1");

  // The API server deletes node3: every other node drops its route.
  ASSERT_TRUE(kube_->DeleteNode("node3"));
  EXPECT_TRUE(Eventually([&] { return Ip(n1, "route show 10.244.3.0/24").empty(); }))
      << Ip(n1, "route");
  EXPECT_TRUE(Eventually([&] { return Ip(*nodes_[1], "route show 10.244.3.0/24").empty(); }));
}

TEST_F(LinendKube, HostGwNodeWithoutPodCidrWaitsThenJoins) {
  StartKubeApi(kHostGw);
  Bring(2);
  // node3 is registered before the controller manager gave it a podCIDR.
  Node& n3 = AddNode();
  RegisterKubeNode(n3, {});
  StartKubeAgent(n3);
  EXPECT_TRUE(Eventually([&] {
    return n3.agent->Log().find("waiting for podCIDR") != std::string::npos;
  })) << n3.agent->Log();
  EXPECT_NE(Http(n3, "/readyz"), "ok\n") << "not ready while waiting";
  EXPECT_TRUE(n3.agent->running());
  ASSERT_TRUE(kube_->SetPodCidrs("node3", {Cidr(3)}));
  ASSERT_EQ(WaitSubnet(n3), Cidr(3));
  // This pod comes from the real CNI chain in agent mode (host-gw meta-plugin reading
  // the subnet.env linend wrote from the podCIDR -> bridge -> host-local).
  AddPluginPod(n3, "host-gw");
  EXPECT_TRUE(cni::IpNet::Parse(Cidr(3))->Contains(*cni::IpAddr::Parse(n3.pod_ip))) << n3.pod_ip;
  ExpectFullMesh();
  EXPECT_NE(Ip(*nodes_[0], "route show 10.244.3.0/24").find("via 10.99.0.13 dev eth0"),
            std::string::npos)
      << Ip(*nodes_[0], "route");
  EXPECT_TRUE(Eventually([&] { return Http(n3, "/readyz") == "ok\n"; })) << Http(n3, "/readyz");
}

// Dual-stack Kubernetes mode over vxlan (flanneld --kube-subnet-mgr with EnableIPv6):
// each node's two podCIDRs become its subnets, it publishes both VTEPs, and pods made
// by the real CNI chain (vxlan meta-plugin -> bridge -> host-local) ping every other
// pod over IPv4 and IPv6.
TEST_F(LinendKube, DualStackVxlanPodsPingInBothFamilies) {
  StartKubeApi(R"({"Network":"10.244.0.0/16","EnableIPv6":true,)"
               R"("IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}})");
  auto cidr6 = [](int i) { return "fd00:10:244:" + std::to_string(i) + "::/64"; };
  for (int i = 0; i < 3; ++i) {
    Node& node = AddNode();
    RegisterKubeNode(node, {Cidr(node.index), cidr6(node.index)});
    StartKubeAgent(node);
  }
  for (auto& n : nodes_) {
    ASSERT_EQ(WaitSubnet(*n), Cidr(n->index));
    ASSERT_EQ(WaitSubnet(*n, "FLANNEL_IPV6_SUBNET"), cidr6(n->index));
    EXPECT_EQ(kube_->Annotation(n->name, std::string(kP) + "public-ipv6"), n->ip6);
    AddPluginPod(*n, "vxlan");
    ASSERT_EQ(n->pod_ips.size(), 2u) << "one pod address per family";
  }
  for (auto& a : nodes_) {
    for (auto& b : nodes_) {
      if (a == b) continue;
      for (const std::string& ip : b->pod_ips) {
        EXPECT_TRUE(Eventually([&] { return PingIp(*a, ip); }, std::chrono::seconds(5)))
            << a->name << " pod cannot reach " << b->name << " pod " << ip;
      }
    }
  }
  // node2's IPv6 VTEP MAC as published is its device's and the one node1 programmed.
  auto data6 = kube_->Annotation("node2", std::string(kP) + "backend-v6-data");
  ASSERT_TRUE(data6);
  const std::string mac6 = nlohmann::json::parse(*data6).value("VtepMAC", "");
  ASSERT_EQ(mac6.size(), 17u) << *data6;
  EXPECT_NE(Ip(*nodes_[1], "link show linen-v6.1").find(mac6), std::string::npos);
  EXPECT_NE(Ip(*nodes_[0], "-6 neigh show dev linen-v6.1").find(mac6), std::string::npos)
      << *data6 << " vs " << Ip(*nodes_[0], "-6 neigh show dev linen-v6.1");
}

}  // namespace
}  // namespace linen::agent::testing
