// Multi-node behaviour of the host-gw and vxlan plugins: 3 nodes in namespaces on
// one underlay bridge, pods added through the built plugins (which delegate to
// bridge + host-local), traffic checked with ping, kernel state read back with ip.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "test/cluster/cluster.h"

namespace linen::test {
namespace {

std::string Lines(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += x + "\n";
  return s;
}

// `ip route` lines of linen's routes (protocol 76 = 0x4c) on a node.
std::string LinenRoutes(const ClusterNode& n) {
  return Cluster::InNs(*n.ns, "ip -4 route show proto 76").out;
}

int CountLines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

// ping's error for a DF packet above the path MTU names it: "mtu=1450" (IPv4),
// "mtu: 1430" (IPv6).
bool NamesMtu(const std::string& ping_out, int mtu) {
  const std::string m = std::to_string(mtu);
  return ping_out.find("mtu=" + m) != std::string::npos ||
         ping_out.find("mtu: " + m) != std::string::npos;
}

// One don't-fragment ping between pods, `size` bytes on the wire.
ProcResult DfPing(const Pod& from, const std::string& to, int size) {
  return linen::test::DfPing(from.ns->name(), to, size);
}

// host-local's reservations (the address files holding the container ID; its index
// of them is not counted) and the saved delegate configs (named by the ID) of one
// attachment on a node, a line each.
std::string IpamFilesOf(Cluster& c, const std::string& node, const std::string& id) {
  const std::string dir = c.node(node).dir + "/ipam/" + c.net_name();
  return Sh("find " + dir + " -maxdepth 1 -type f -exec grep -l -- '" + id + "' {} +").out;
}
std::string DelegateFilesOf(Cluster& c, const std::string& node, const std::string& id) {
  return Sh("find " + c.node(node).dir + "/delegates -name '*" + id + "*'").out;
}

class ClusterTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto c = Cluster::Create(GetParam(), 3);
    ASSERT_TRUE(c) << c.error().msg();
    cluster_ = std::move(*c);
  }
  void AddPods(const std::vector<std::string>& nodes) {
    for (const auto& n : nodes) {
      auto p = cluster_->AddPod(n);
      ASSERT_TRUE(p) << p.error().msg();
    }
  }
  std::unique_ptr<Cluster> cluster_;
};

TEST_P(ClusterTest, AllPodPairsPing) {
  AddPods({"n1", "n1", "n2", "n2", "n3", "n3"});
  auto fails = cluster_->FailingPairs();
  EXPECT_TRUE(fails.empty()) << "failing pairs:\n" << Lines(fails);

  // Node-level state: one route per peer, nothing for ourselves.
  std::string routes = LinenRoutes(cluster_->node("n1"));
  EXPECT_EQ(CountLines(routes), 2) << routes;
  EXPECT_NE(routes.find("10.77.2.0/24"), std::string::npos);
  EXPECT_NE(routes.find("10.77.3.0/24"), std::string::npos);
  if (GetParam() == "host-gw") {
    EXPECT_NE(routes.find("10.77.2.0/24 via 192.168.77.2 dev eth0"), std::string::npos) << routes;
  } else {
    EXPECT_NE(routes.find("10.77.2.0/24 via 10.77.2.0 dev linen.1 onlink"), std::string::npos)
        << routes;
    std::string fdb = Cluster::InNs(*cluster_->node("n1").ns, "bridge fdb show dev linen.1").out;
    EXPECT_NE(fdb.find("0e:4c:c0:a8:4d:02 dst 192.168.77.2"), std::string::npos) << fdb;
    std::string neigh = Cluster::InNs(*cluster_->node("n1").ns, "ip neigh show dev linen.1").out;
    EXPECT_NE(neigh.find("10.77.3.0 lladdr 0e:4c:c0:a8:4d:03 PERMANENT"), std::string::npos) << neigh;
  }
  // subnet.env written for the node.
  std::ifstream env(cluster_->node("n2").dir + "/subnet.env");
  std::stringstream ss;
  ss << env.rdbuf();
  EXPECT_NE(ss.str().find("FLANNEL_SUBNET=10.77.2.1/24"), std::string::npos) << ss.str();
  EXPECT_NE(ss.str().find(GetParam() == "vxlan" ? "FLANNEL_MTU=1450" : "FLANNEL_MTU=1500"),
            std::string::npos) << ss.str();
}

TEST_P(ClusterTest, CheckPassesThenNamesMissingPeerRoute) {
  AddPods({"n2"});
  // CHECK needs the ADD result as prevResult.
  ProcResult add = cluster_->RunPlugin("n1", "ADD", *cluster_->NewPod("n1").value());
  ASSERT_EQ(add.exit_code, 0) << add.out;
  Pod& q = *cluster_->pods().back();
  auto conf = nlohmann::json::parse(cluster_->ConfFor("n1"));
  conf["prevResult"] = nlohmann::json::parse(add.out);
  ProcResult ok = cluster_->RunPlugin("n1", "CHECK", q, conf.dump());
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;

  ASSERT_EQ(Cluster::InNs(*cluster_->node("n1").ns, "ip route del 10.77.2.0/24").exit_code, 0);
  ProcResult bad = cluster_->RunPlugin("n1", "CHECK", q, conf.dump());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("10.77.2.0/24"), std::string::npos) << bad.out;
}

TEST_P(ClusterTest, DelRemovesPodKeepsNodeState) {
  AddPods({"n1", "n2"});
  Pod& p = *cluster_->pods()[0];
  std::string before = LinenRoutes(cluster_->node("n1"));
  ASSERT_TRUE(std::ifstream(cluster_->node("n1").dir + "/ipam/" + cluster_->net_name() + "/" + p.ip).good());
  ASSERT_EQ(CountLines(DelegateFilesOf(*cluster_, "n1", p.id)), 1);
  ProcResult del = cluster_->RunPlugin("n1", "DEL", p);
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_NE(Cluster::InNs(*p.ns, "ip link show eth0").exit_code, 0) << "pod interface gone";
  EXPECT_EQ(LinenRoutes(cluster_->node("n1")), before);
  ProcResult again = cluster_->RunPlugin("n1", "DEL", p);
  EXPECT_EQ(again.exit_code, 0) << "DEL is idempotent: " << again.out;
  // The address went back to the pool (host-local's reservation file is gone) and
  // the saved delegate config with it.
  const std::string& dir = cluster_->node("n1").dir;
  EXPECT_FALSE(std::ifstream(dir + "/ipam/" + cluster_->net_name() + "/" + p.ip).good()) << p.ip;
  EXPECT_EQ(DelegateFilesOf(*cluster_, "n1", p.id), "");
}

TEST_P(ClusterTest, RemovedNodeDisappearsAddedNodeReachable) {
  AddPods({"n1", "n2", "n3"});
  ASSERT_TRUE(cluster_->FailingPairs().empty());

  // n3 leaves the topology; the next ADD on n1 and n2 reconciles.
  auto& nodes = cluster_->topology_nodes();
  nodes.erase(nodes.begin() + 2);
  AddPods({"n1", "n2"});
  for (const char* n : {"n1", "n2"}) {
    std::string routes = LinenRoutes(cluster_->node(n));
    EXPECT_EQ(routes.find("10.77.3.0/24"), std::string::npos) << n << ":\n" << routes;
    EXPECT_EQ(CountLines(routes), 1) << routes;
  }
  if (GetParam() == "vxlan") {
    auto& n1 = *cluster_->node("n1").ns;
    EXPECT_EQ(Cluster::InNs(n1, "bridge fdb show dev linen.1").out.find("192.168.77.3"),
              std::string::npos);
    EXPECT_EQ(Cluster::InNs(n1, "ip neigh show dev linen.1").out.find("10.77.3.0"),
              std::string::npos);
  }
  // Pods on n1 and n2 still reach each other.
  auto& pods = cluster_->pods();
  for (auto& a : pods) {
    for (auto& b : pods) {
      if (a == b || a->node == "n3" || b->node == "n3") continue;
      EXPECT_TRUE(cluster_->Ping(*a, b->ip)) << a->node << "->" << b->node;
    }
  }

  // n4 joins: ADD on n4, and on n1 so n1 learns it.
  ASSERT_TRUE(cluster_->AddNode());
  auto p4 = cluster_->AddPod("n4");
  ASSERT_TRUE(p4) << p4.error().msg();
  auto p1 = cluster_->AddPod("n1");
  ASSERT_TRUE(p1) << p1.error().msg();
  EXPECT_TRUE(cluster_->Ping(**p1, (*p4)->ip));
  EXPECT_TRUE(cluster_->Ping(**p4, (*p1)->ip));
}

TEST_P(ClusterTest, TwentyConcurrentAddsLeaveExactlyOneEntryPerPeer) {
  std::vector<Pod*> pods;
  for (int i = 0; i < 20; ++i) {
    auto p = cluster_->NewPod("n1");
    ASSERT_TRUE(p);
    pods.push_back(*p);
  }
  std::vector<ProcResult> results(pods.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < pods.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = cluster_->RunPlugin("n1", "ADD", *pods[i]); });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ips;
  for (size_t i = 0; i < pods.size(); ++i) {
    ASSERT_EQ(results[i].exit_code, 0) << "pod " << i << ": " << results[i].out << results[i].err;
    auto j = nlohmann::json::parse(results[i].out);
    ips.insert(j["ips"][0]["address"].get<std::string>());
  }
  EXPECT_EQ(ips.size(), 20u) << "every pod got its own address";

  auto& n1 = *cluster_->node("n1").ns;
  std::string routes = LinenRoutes(cluster_->node("n1"));
  EXPECT_EQ(CountLines(routes), 2) << routes;
  if (GetParam() == "vxlan") {
    EXPECT_EQ(CountLines(Cluster::InNs(n1, "bridge fdb show dev linen.1 | grep dst").out), 2);
    EXPECT_EQ(CountLines(Cluster::InNs(n1, "ip neigh show dev linen.1 nud permanent").out), 2);
    EXPECT_EQ(CountLines(Cluster::InNs(n1, "ip -d link show type vxlan").out) / 3, 1);
  }
  // And they work: a pod on n2 reaches one of them.
  auto p2 = cluster_->AddPod("n2");
  ASSERT_TRUE(p2) << p2.error().msg();
  std::string some = ips.begin()->substr(0, ips.begin()->find('/'));
  EXPECT_TRUE(cluster_->Ping(**p2, some));
}

// On a node an earlier ADD set up, a reconcile that fails (here: a route someone
// else made for a new peer's subnet) fails the next ADD with its reason and leaves no
// pod behind: no interface, no address held, no saved config. The node keeps what
// the pods already on it rely on.
TEST_P(ClusterTest, LaterAddFailsWithTheNodesReasonAndLeavesNoPod) {
  AddPods({"n1"});
  ASSERT_TRUE(cluster_->AddNode());  // n4, 10.77.4.0/24
  auto& n1 = *cluster_->node("n1").ns;
  ASSERT_EQ(Cluster::InNs(n1, "ip route add 10.77.4.0/24 via 192.168.77.3").exit_code, 0);
  const std::string routes_before = LinenRoutes(cluster_->node("n1"));
  auto p = cluster_->NewPod("n1");
  ASSERT_TRUE(p);
  ProcResult r = cluster_->RunPlugin("n1", "ADD", **p);
  ASSERT_NE(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(j["msg"].get<std::string>().find("10.77.4.0/24"), std::string::npos) << r.out;
  EXPECT_NE(Cluster::InNs(*(*p)->ns, "ip link show eth0").exit_code, 0) << "pod interface gone";
  EXPECT_EQ(IpamFilesOf(*cluster_, "n1", (*p)->id), "");
  EXPECT_EQ(DelegateFilesOf(*cluster_, "n1", (*p)->id), "");
  // The node keeps its routes, the first pod its address and interface.
  EXPECT_EQ(LinenRoutes(cluster_->node("n1")), routes_before);
  const Pod& first = *cluster_->pods()[0];
  EXPECT_EQ(CountLines(IpamFilesOf(*cluster_, "n1", first.id)), 1);
  EXPECT_EQ(Cluster::InNs(*first.ns, "ip link show eth0").exit_code, 0);
}

TEST_P(ClusterTest, NodeNotInTopologyRefusedNothingChanged) {
  ASSERT_TRUE(cluster_->AddNode(/*in_topology=*/false));  // n4, unknown
  auto p = cluster_->NewPod("n4");
  ASSERT_TRUE(p);
  ProcResult r = cluster_->RunPlugin("n4", "ADD", **p);
  EXPECT_NE(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["code"], 7) << r.out;
  EXPECT_NE(j["msg"].get<std::string>().find("not in the topology"), std::string::npos) << r.out;
  auto& n4 = *cluster_->node("n4").ns;
  EXPECT_EQ(LinenRoutes(cluster_->node("n4")), "");
  EXPECT_NE(Cluster::InNs(n4, "ip link show linen.1").exit_code, 0);
  EXPECT_NE(Cluster::InNs(n4, "ip link show cni0").exit_code, 0);
  EXPECT_NE(Cluster::InNs(*(*p)->ns, "ip link show eth0").exit_code, 0);
  EXPECT_FALSE(std::ifstream(cluster_->node("n4").dir + "/subnet.env").good());
}

TEST_P(ClusterTest, OverlappingSubnetsRefusedNothingChanged) {
  cluster_->topology_nodes()[1]["subnet"] = "10.77.1.0/24";  // n2 overlaps n1
  auto p = cluster_->NewPod("n1");
  ASSERT_TRUE(p);
  ProcResult r = cluster_->RunPlugin("n1", "ADD", **p);
  EXPECT_NE(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["code"], 7) << r.out;
  EXPECT_NE(j["msg"].get<std::string>().find("overlap"), std::string::npos) << r.out;
  EXPECT_EQ(LinenRoutes(cluster_->node("n1")), "");
  EXPECT_NE(Cluster::InNs(*cluster_->node("n1").ns, "ip link show cni0").exit_code, 0);
}

TEST_P(ClusterTest, MissingUnderlayRefusedNothingChangedStatus50) {
  cluster_->extra_conf()["underlay"] = "nosuchdev";
  auto p = cluster_->NewPod("n1");
  ASSERT_TRUE(p);
  ProcResult r = cluster_->RunPlugin("n1", "ADD", **p);
  EXPECT_NE(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["code"], 101) << r.out;
  EXPECT_NE(j["msg"].get<std::string>().find("nosuchdev"), std::string::npos) << r.out;
  EXPECT_EQ(LinenRoutes(cluster_->node("n1")), "");
  EXPECT_NE(Cluster::InNs(*cluster_->node("n1").ns, "ip link show linen.1").exit_code, 0);
  EXPECT_NE(Cluster::InNs(*cluster_->node("n1").ns, "ip link show cni0").exit_code, 0);

  auto conf = nlohmann::json::parse(cluster_->ConfFor("n1"));
  conf["cniVersion"] = "1.1.0";
  ProcResult st = cluster_->RunPlugin("n1", "STATUS", **p, conf.dump());
  EXPECT_NE(st.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(st.out)["code"], 50) << st.out;

  cluster_->extra_conf() = nlohmann::json::object();
  conf = nlohmann::json::parse(cluster_->ConfFor("n1"));
  conf["cniVersion"] = "1.1.0";
  ProcResult ready = cluster_->RunPlugin("n1", "STATUS", **p, conf.dump());
  EXPECT_EQ(ready.exit_code, 0) << ready.out << ready.err;
}

INSTANTIATE_TEST_SUITE_P(Backends, ClusterTest, ::testing::Values("vxlan", "host-gw"),
                         [](const auto& info) {
                           return info.param == "vxlan" ? std::string("Vxlan") : std::string("HostGw");
                         });

class VxlanClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Cluster::Create("vxlan", 2);
    ASSERT_TRUE(c) << c.error().msg();
    cluster_ = std::move(*c);
  }
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(VxlanClusterTest, MtuLeavesRoomForEncapsulation) {
  auto a = cluster_->AddPod("n1");
  auto b = cluster_->AddPod("n2");
  ASSERT_TRUE(a && b);
  std::string link = Cluster::InNs(*(*a)->ns, "ip -o link show eth0").out;
  EXPECT_NE(link.find("mtu 1450"), std::string::npos) << link;
  // Exactly the pod MTU crosses nodes with DF set; one byte more is refused, and the
  // error names the path MTU.
  ProcResult fits = DfPing(**a, (*b)->ip, 1450);
  EXPECT_EQ(fits.exit_code, 0) << fits.out;
  ProcResult big = DfPing(**a, (*b)->ip, 1451);
  EXPECT_NE(big.exit_code, 0) << big.out;
  EXPECT_TRUE(NamesMtu(big.out, 1450)) << big.out;
}

// The underlay's MTU is read on every ADD: after it changes, the VTEP, subnet.env
// and the next pod follow; pods made before keep theirs.
TEST_F(VxlanClusterTest, UnderlayMtuChangeReachesTheNextPod) {
  auto a = cluster_->AddPod("n1");
  ASSERT_TRUE(a) << a.error().msg();
  auto& n1 = *cluster_->node("n1").ns;
  ASSERT_EQ(Cluster::InNs(n1, "ip link set eth0 mtu 1400").exit_code, 0);
  auto b = cluster_->AddPod("n1");
  ASSERT_TRUE(b) << b.error().msg();
  EXPECT_NE(Cluster::InNs(*(*b)->ns, "ip -o link show eth0").out.find("mtu 1350"),
            std::string::npos);
  EXPECT_NE(Cluster::InNs(n1, "ip -o link show linen.1").out.find("mtu 1350"), std::string::npos);
  std::ifstream env(cluster_->node("n1").dir + "/subnet.env");
  std::stringstream text;
  text << env.rdbuf();
  EXPECT_NE(text.str().find("FLANNEL_MTU=1350\n"), std::string::npos) << text.str();
  // One attachment for the new pod, with one address.
  EXPECT_EQ(CountLines(IpamFilesOf(*cluster_, "n1", (*b)->id)), 1);
  EXPECT_EQ(CountLines(DelegateFilesOf(*cluster_, "n1", (*b)->id)), 1);
  // Pods made before keep theirs.
  EXPECT_NE(Cluster::InNs(*(*a)->ns, "ip -o link show eth0").out.find("mtu 1450"),
            std::string::npos);
}

TEST_F(VxlanClusterTest, MasqueradeOnlyTrafficLeavingTheClusterNetwork) {
  auto a = cluster_->AddPod("n1");
  ASSERT_TRUE(a) << a.error().msg();
  auto& n1 = *cluster_->node("n1").ns;
  const std::string rule =
      "ip saddr 10.77.0.0/16 ip daddr != 10.77.0.0/16 ip daddr != 224.0.0.0/4 counter packets ";
  auto masq_packets = [&] {
    std::string t = Cluster::InNs(n1, "nft list ruleset").out;
    auto pos = t.find(rule);
    EXPECT_NE(pos, std::string::npos) << t;
    return pos == std::string::npos ? -1 : std::stoi(t.substr(pos + rule.size()));
  };
  // Cross-node pod traffic keeps the pod's address: the rule does not match it.
  auto b = cluster_->AddPod("n2");
  ASSERT_TRUE(b);
  EXPECT_TRUE(cluster_->Ping(**a, (*b)->ip));
  EXPECT_EQ(masq_packets(), 0);
  // Traffic to an address outside the cluster network (n2's node IP) is masqueraded.
  EXPECT_TRUE(cluster_->Ping(**a, "192.168.77.2"));
  EXPECT_GT(masq_packets(), 0);
  ProcResult bridge_masq = Cluster::InNs(n1, "iptables-save -t nat");
  EXPECT_EQ(bridge_masq.out.find("CNI-"), std::string::npos) << "bridge ipMasq stays off";
}

TEST(GcTest, ForwardedToDelegateFreesOnlyInvalidAttachments) {
  auto c = Cluster::Create("vxlan", 1);
  ASSERT_TRUE(c) << c.error().msg();
  Cluster& cl = **c;
  auto a = cl.AddPod("n1");
  auto b = cl.AddPod("n1");
  ASSERT_TRUE(a && b);
  const std::string ipam = cl.node("n1").dir + "/ipam/" + cl.net_name() + "/";
  ASSERT_TRUE(std::ifstream(ipam + (*a)->ip).good());
  ASSERT_TRUE(std::ifstream(ipam + (*b)->ip).good());
  auto conf = nlohmann::json::parse(cl.ConfFor("n1"));
  conf["cniVersion"] = "1.1.0";
  conf["cni.dev/valid-attachments"] = {{{"containerID", (*a)->id}, {"ifname", "eth0"}}};
  ProcResult gc = cl.RunPlugin("n1", "GC", **a, conf.dump());
  ASSERT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  EXPECT_TRUE(std::ifstream(ipam + (*a)->ip).good()) << "valid attachment kept";
  EXPECT_FALSE(std::ifstream(ipam + (*b)->ip).good()) << "stale attachment released";
}

TEST(AgentModeTest, ReadsSubnetEnvAndReconcilesNothing) {
  auto c = Cluster::Create("vxlan", 1);
  ASSERT_TRUE(c) << c.error().msg();
  Cluster& cl = **c;
  const std::string& dir = cl.node("n1").dir;
  auto conf = nlohmann::json::parse(cl.ConfFor("n1"));
  conf.erase("topology");  // agent mode: linend owns node-level state
  auto pod = cl.NewPod("n1");
  ASSERT_TRUE(pod);

  // No subnet.env yet (linend not up): try again later.
  ProcResult early = cl.RunPlugin("n1", "ADD", **pod, conf.dump());
  EXPECT_NE(early.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(early.out)["code"], 11) << early.out;
  EXPECT_NE(early.out.find("linend"), std::string::npos) << early.out;

  ASSERT_EQ(Sh("mkdir -p " + dir + " && printf 'FLANNEL_NETWORK=10.77.0.0/16\\nFLANNEL_SUBNET=10.77.9.1/24\\n"
               "FLANNEL_MTU=1400\\nFLANNEL_IPMASQ=false\\n' > " + dir + "/subnet.env").exit_code, 0);
  ProcResult add = cl.RunPlugin("n1", "ADD", **pod, conf.dump());
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  auto res = nlohmann::json::parse(add.out);
  EXPECT_EQ(res["ips"][0]["address"].get<std::string>().rfind("10.77.9.", 0), 0u) << add.out;
  auto& n1 = *cl.node("n1").ns;
  EXPECT_NE(Cluster::InNs(*(*pod)->ns, "ip -o link show eth0").out.find("mtu 1400"), std::string::npos);
  EXPECT_NE(Cluster::InNs(n1, "ip link show linen.1").exit_code, 0) << "agent mode creates no VTEP";
  EXPECT_EQ(Cluster::InNs(n1, "nft list tables").out.find("linen-"), std::string::npos)
      << "FLANNEL_IPMASQ=false: no masquerade";
  ProcResult del = cl.RunPlugin("n1", "DEL", **pod, conf.dump());
  EXPECT_EQ(del.exit_code, 0) << del.out;

  // STATUS: flanneld writes no readiness mark, so its subnet.env alone means ready;
  // one linend wrote (LINEN_* keys) needs linend's fresh mark beside it.
  conf["cniVersion"] = "1.1.0";
  ProcResult st = cl.RunPlugin("n1", "STATUS", **pod, conf.dump());
  EXPECT_EQ(st.exit_code, 0) << st.out << st.err;
  ASSERT_EQ(Sh("printf 'LINEN_BACKEND=vxlan\nLINEN_NODE=n1\n' >> " + dir + "/subnet.env").exit_code, 0);
  ProcResult unmarked = cl.RunPlugin("n1", "STATUS", **pod, conf.dump());
  ASSERT_NE(unmarked.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(unmarked.out)["code"], 50) << unmarked.out;
  EXPECT_NE(unmarked.out.find("linend"), std::string::npos) << unmarked.out;
}

TEST(HostGwClusterTest, PeerBeyondTheUnderlaySubnetIsRefused) {
  auto c = Cluster::Create("host-gw", 2);
  ASSERT_TRUE(c) << c.error().msg();
  Cluster& cl = **c;
  cl.topology_nodes()[1]["ip"] = "198.51.100.2";  // routed, not on n1's L2
  auto pod = cl.NewPod("n1");
  ASSERT_TRUE(pod);
  ProcResult r = cl.RunPlugin("n1", "ADD", **pod);
  EXPECT_NE(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["code"], 7) << r.out;
  std::string msg = j["msg"];
  EXPECT_NE(msg.find("L2 adjacency"), std::string::npos) << msg;
  EXPECT_NE(msg.find("vxlan"), std::string::npos) << msg;
  EXPECT_EQ(LinenRoutes(cl.node("n1")), "");
  EXPECT_NE(Cluster::InNs(*(*pod)->ns, "ip link show eth0").exit_code, 0);
}

// Dual-stack and IPv6-only clusters over an underlay carrying both families. Kept to
// two tests, each 3 nodes: static vxlan dual-stack and static host-gw IPv6-only (the
// linend tests take the other two combinations: etcd vxlan IPv6-only, etcd host-gw
// dual-stack). Per-peer add/remove in both families is covered by the backend tests
// (overlay/backend/dualstack_test.cc), the VTEP's own ICMPv6 "packet too big" by
// overlay/backend/two_node_test.cc.
TEST(DualStackClusterTest, VxlanAllPodPairsPingInBothFamiliesAtThePodMtu) {
  auto c = Cluster::Create("vxlan", 3, {.ipv4 = true, .ipv6 = true});
  ASSERT_TRUE(c) << c.error().msg();
  Cluster& cl = **c;
  for (const char* n : {"n1", "n2", "n3"}) {
    auto p = cl.AddPod(n);
    ASSERT_TRUE(p) << p.error().msg();
    ASSERT_EQ((*p)->ips.size(), 2u) << "one address per family";
  }
  auto fails = cl.FailingPairs();  // 6 ordered pairs, each over IPv4 and IPv6
  EXPECT_TRUE(fails.empty()) << "failing pairs:\n" << Lines(fails);

  // Node state per family: one route per peer through the family's VTEP.
  auto& n1 = *cl.node("n1").ns;
  std::string r4 = LinenRoutes(cl.node("n1"));
  std::string r6 = Cluster::InNs(n1, "ip -6 route show proto 76").out;
  EXPECT_EQ(CountLines(r4), 2) << r4;
  EXPECT_EQ(CountLines(r6), 2) << r6;
  EXPECT_NE(r6.find("fd00:10:77:2::/64 via fd00:10:77:2:: dev linen-v6.1"), std::string::npos)
      << r6;
  std::string fdb6 = Cluster::InNs(n1, "bridge fdb show dev linen-v6.1").out;
  EXPECT_NE(fdb6.find("dst fd00:77::3"), std::string::npos) << fdb6;

  // The pod MTU is the smaller of the two families' (IPv6: 1500 - 70); exactly that
  // size crosses nodes with DF set in both families, one byte more is refused.
  Pod& a = *cl.pods()[0];
  Pod& b = *cl.pods()[1];
  EXPECT_NE(Cluster::InNs(*a.ns, "ip -o link show eth0").out.find("mtu 1430"), std::string::npos);
  for (const std::string& to : b.ips) {
    ProcResult fits = DfPing(a, to, 1430);
    EXPECT_EQ(fits.exit_code, 0) << fits.out;
    ProcResult big = DfPing(a, to, 1431);
    EXPECT_NE(big.exit_code, 0) << big.out;
    EXPECT_TRUE(NamesMtu(big.out, 1430)) << big.out;
  }
  std::ifstream env(cl.node("n2").dir + "/subnet.env");
  std::stringstream ss;
  ss << env.rdbuf();
  EXPECT_NE(ss.str().find("FLANNEL_IPV6_SUBNET=fd00:10:77:2::1/64"), std::string::npos) << ss.str();
  EXPECT_NE(ss.str().find("FLANNEL_MTU=1430"), std::string::npos) << ss.str();

  // CHECK covers both families: passes, then names the IPv6 route someone removed.
  ProcResult add = cl.RunPlugin("n1", "ADD", *cl.NewPod("n1").value());
  ASSERT_EQ(add.exit_code, 0) << add.out;
  auto conf = nlohmann::json::parse(cl.ConfFor("n1"));
  conf["prevResult"] = nlohmann::json::parse(add.out);
  Pod& q = *cl.pods().back();
  ProcResult ok = cl.RunPlugin("n1", "CHECK", q, conf.dump());
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  ASSERT_EQ(Cluster::InNs(n1, "ip -6 route del fd00:10:77:3::/64").exit_code, 0);
  ProcResult bad = cl.RunPlugin("n1", "CHECK", q, conf.dump());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("fd00:10:77:3::/64"), std::string::npos) << bad.out;
}

TEST(DualStackClusterTest, HostGwIpv6OnlyAllPodPairsPing) {
  auto c = Cluster::Create("host-gw", 3, {.ipv4 = false, .ipv6 = true});
  ASSERT_TRUE(c) << c.error().msg();
  Cluster& cl = **c;
  for (const char* n : {"n1", "n2", "n3"}) {
    auto p = cl.AddPod(n);
    ASSERT_TRUE(p) << p.error().msg();
    ASSERT_EQ((*p)->ips.size(), 1u);
    EXPECT_EQ((*p)->ip.rfind("fd00:10:77:", 0), 0u) << (*p)->ip;
  }
  auto fails = cl.FailingPairs();
  EXPECT_TRUE(fails.empty()) << "failing pairs:\n" << Lines(fails);
  auto& n1 = *cl.node("n1").ns;
  std::string r6 = Cluster::InNs(n1, "ip -6 route show proto 76").out;
  EXPECT_EQ(CountLines(r6), 2) << r6;
  EXPECT_NE(r6.find("fd00:10:77:2::/64 via fd00:77::2 dev eth0"), std::string::npos) << r6;
  EXPECT_EQ(LinenRoutes(cl.node("n1")), "") << "no IPv4 routes";
  // No encapsulation: full-size IPv6 packets pass with DF.
  ProcResult full = DfPing(*cl.pods()[0], cl.pods()[2]->ip, 1500);
  EXPECT_EQ(full.exit_code, 0) << full.out;
  // The node masquerade exists for IPv6 only.
  std::string tables = Cluster::InNs(n1, "nft list tables").out;
  EXPECT_NE(tables.find("table ip6 "), std::string::npos) << tables;
  EXPECT_EQ(tables.find("table ip "), std::string::npos) << tables;
  // STATUS: ready (the underlay holds the node's IPv6 address).
  auto conf = nlohmann::json::parse(cl.ConfFor("n1"));
  conf["cniVersion"] = "1.1.0";
  ProcResult st = cl.RunPlugin("n1", "STATUS", *cl.pods()[0], conf.dump());
  EXPECT_EQ(st.exit_code, 0) << st.out << st.err;
}

}  // namespace
}  // namespace linen::test
