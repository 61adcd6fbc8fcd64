// linend end to end: real linend processes in node namespaces, a real etcd, the
// real vxlan / host-gw data path, traffic between pod namespaces on different nodes.
#include <signal.h>

#include <fstream>
#include <set>

#include "agent/cluster_fixture.h"

namespace linen::agent::testing {
namespace {

constexpr const char* kVxlanConfig =
    R"({"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1}})";
constexpr const char* kHostGwConfig =
    R"({"Network":"10.245.0.0/16","SubnetLen":24,"Backend":{"Type":"host-gw"}})";

class LinendCluster : public ClusterTest {
 protected:
  // n nodes with agents and one pod each; returns their subnets.
  std::vector<std::string> Bring(int n) {
    std::vector<Node*> added;
    for (int i = 0; i < n; ++i) {
      Node& node = AddNode();
      StartAgent(node);
      added.push_back(&node);
    }
    std::vector<std::string> subnets;
    for (Node* node : added) {
      subnets.push_back(WaitSubnet(*node));
      AddPod(*node, subnets.back());
    }
    return subnets;
  }

  // Every pod reaches every other pod.
  void ExpectFullMesh() {
    for (auto& a : nodes_) {
      if (!a->pod) continue;
      for (auto& b : nodes_) {
        if (a == b || !b->pod) continue;
        // Agents converge asynchronously: wait until a's node has b's route, then ping.
        EXPECT_TRUE(Eventually([&] { return Ping(*a, *b); }, std::chrono::seconds(5)))
            << a->name << " pod cannot reach " << b->name << " pod " << b->pod_ip;
      }
    }
  }
};

TEST_F(LinendCluster, VxlanThreeNodesDistinctSubnetsPodsPing) {
  WriteConfig(kVxlanConfig);
  auto subnets = Bring(3);
  ASSERT_EQ(std::set<std::string>(subnets.begin(), subnets.end()).size(), 3u)
      << "subnets must be distinct";
  ExpectFullMesh();

  // Kernel state on node1 for node2: neighbour, FDB and onlink route.
  Node& n1 = *nodes_[0];
  auto s2 = *cni::IpNet::Parse(subnets[1]);
  std::string mac2 = "0e:4c:0a:63:00:0c";  // derived from 10.99.0.12
  EXPECT_NE(Ip(n1, "neigh show dev linen.1").find(s2.Network().ToString() + " lladdr " + mac2),
            std::string::npos)
      << Ip(n1, "neigh show dev linen.1");
  EXPECT_NE(linen::test::Sh("bridge -n " + n1.ns->name() + " fdb show dev linen.1").out.find(
                mac2 + " dst 10.99.0.12"),
            std::string::npos);
  EXPECT_NE(Ip(n1, "route show " + subnets[1]).find("onlink"), std::string::npos);

  // subnet.env is flannel-shaped.
  std::ifstream f(n1.subnet_file);
  std::string env((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(env.find("FLANNEL_NETWORK=10.244.0.0/16"), std::string::npos) << env;
  EXPECT_NE(env.find("FLANNEL_MTU=1450"), std::string::npos) << env;
  EXPECT_NE(env.find("FLANNEL_IPMASQ=true"), std::string::npos) << env;

  // Health and metrics answer on the node address.
  EXPECT_EQ(Http(n1, "/healthz"), "ok\n");
  std::string m = Http(n1, "/metrics");
  EXPECT_NE(m.find("\nlinend_peers 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("\nlinend_registry_up 1\n"), std::string::npos) << m;
}

TEST_F(LinendCluster, FourthNodeJoinsWithoutRestarts) {
  WriteConfig(kVxlanConfig);
  Bring(3);
  ExpectFullMesh();
  auto s4 = Bring(1);
  Node& n4 = *nodes_[3];
  for (int i = 0; i < 3; ++i) {
    // Resync is 60 s here, so only the watch can have put the route there.
    EXPECT_TRUE(Eventually([&] { return !Ip(*nodes_[i], "route show " + s4[0]).empty(); }))
        << nodes_[i]->name << " has no route to the new node";
  }
  ExpectFullMesh();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(nodes_[i]->agent->running());
  }
  EXPECT_NE(Http(n4, "/metrics").find("\nlinend_peers 3\n"), std::string::npos);
}

TEST_F(LinendCluster, StoppedAgentsLeaseExpiresAndPeersForgetIt) {
  WriteConfig(kVxlanConfig);
  auto subnets = Bring(3);
  ExpectFullMesh();
  Node& n1 = *nodes_[0];
  Node& n3 = *nodes_[2];
  // SIGTERM: graceful, the data path on node3 stays.
  EXPECT_EQ(n3.agent->Stop(SIGTERM), 0);
  EXPECT_FALSE(Ip(n3, "route show " + subnets[0]).empty()) << "node3 keeps its routes";
  // Its 2 s lease runs out; node1 removes route, neighbour and FDB entry.
  EXPECT_TRUE(Eventually([&] { return Ip(n1, "route show " + subnets[2]).empty(); }))
      << Ip(n1, "route");
  auto s3 = *cni::IpNet::Parse(subnets[2]);
  EXPECT_EQ(Ip(n1, "neigh show dev linen.1").find(s3.Network().ToString()), std::string::npos);
  EXPECT_EQ(linen::test::Sh("bridge -n " + n1.ns->name() + " fdb show dev linen.1")
                .out.find("dst 10.99.0.13"),
            std::string::npos);
  // node1 and node2 still talk.
  EXPECT_TRUE(Ping(*nodes_[0], *nodes_[1]));
}

TEST_F(LinendCluster, EtcdOutageKeepsDataPathAndRecovers) {
  WriteConfig(kVxlanConfig);
  lease_ttl_ = "3";
  resync_ms_ = "1000";  // the outage check below waits for a periodic reconcile
  Bring(3);
  ExpectFullMesh();
  etcd_->Stop();
  for (auto& n : nodes_) {
    EXPECT_TRUE(Eventually([&] {
      return Http(*n, "/metrics").find("\nlinend_registry_up 0\n") != std::string::npos;
    })) << n->name << " did not notice the outage";
  }
  // While etcd is away the periodic resync (1 s) still runs and keeps every peer:
  // wait for one more reconcile on each node, then pods must still talk.
  auto reconciles = [&](Node& n) {
    std::string m = Http(n, "/metrics");
    auto p = m.find("linend_reconcile_duration_seconds_count ");
    return p == std::string::npos ? -1 : std::stoi(m.substr(p + 40));
  };
  for (auto& n : nodes_) {
    int before = reconciles(*n);
    EXPECT_TRUE(Eventually([&] { return reconciles(*n) > before; })) << n->name;
    EXPECT_NE(Http(*n, "/metrics").find("\nlinend_peers 2\n"), std::string::npos);
  }
  ExpectFullMesh();
  EXPECT_EQ(Http(*nodes_[0], "/healthz").find("ok"), 0u);
  ASSERT_TRUE(etcd_->Restart());
  for (auto& n : nodes_) {
    EXPECT_TRUE(Eventually([&] {
      return Http(*n, "/metrics").find("\nlinend_registry_up 1\n") != std::string::npos;
    })) << n->name << " did not recover";
  }
  // The outage and the recovery are each logged once.
  std::string log = nodes_[0]->agent->Log();
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t p = log.find(what); p != std::string::npos; p = log.find(what, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("registry unreachable"), 1u) << log;
  EXPECT_EQ(count("registry reachable again"), 1u) << log;
  // And changes flow again: a new node is picked up.
  auto s4 = Bring(1);
  EXPECT_TRUE(Eventually([&] { return !Ip(*nodes_[0], "route show " + s4[0]).empty(); }));
  ExpectFullMesh();
}

TEST_F(LinendCluster, RestartKeepsSubnetAndDataPath) {
  WriteConfig(kVxlanConfig);
  lease_ttl_ = "30";
  auto subnets = Bring(2);
  ExpectFullMesh();
  Node& n1 = *nodes_[0];
  EXPECT_EQ(n1.agent->Stop(SIGTERM), 0);
  EXPECT_TRUE(Ping(*nodes_[1], n1)) << "pods keep working while the agent is down";
  StartAgent(n1);
  EXPECT_TRUE(Eventually([&] {
    return Http(n1, "/healthz") == "ok\n";
  }));
  EXPECT_EQ(WaitSubnet(n1), subnets[0]) << "the subnet survives a restart";
  EXPECT_NE(n1.agent->Log().find("leased " + subnets[0]), std::string::npos);
  ExpectFullMesh();
}

TEST_F(LinendCluster, CleanupRemovesWhatItOwns) {
  WriteConfig(kVxlanConfig);
  lease_ttl_ = "30";
  auto subnets = Bring(2);
  ExpectFullMesh();
  Node& n1 = *nodes_[0];
  Node& n2 = *nodes_[1];
  EXPECT_EQ(n1.agent->Stop(SIGTERM), 0);
  auto p = Process::Start(n1.ns->ns(),
                          {linen::test::CniBin("linend"), "--etcd-endpoints", etcd_->endpoint(),
                           "--etcd-prefix", prefix_, "--node-name", n1.name, "--iface", "eth0",
                           "--subnet-file", n1.subnet_file, "--cleanup"},
                          dir_->path() + "/cleanup.log");
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)->Stop(0), 0) << (*p)->Log();  // signal 0: just wait for it
  EXPECT_EQ(Ip(n1, "link show linen.1"), "") << "VTEP device removed";
  EXPECT_EQ(Ip(n1, "route show " + subnets[1]), "");
  EXPECT_FALSE(std::ifstream(n1.subnet_file).good()) << "subnet file removed";
  // The lease is gone at once (not after its 30 s TTL): node2 forgets node1.
  EXPECT_TRUE(Eventually([&] { return Ip(n2, "route show " + subnets[0]).empty(); }));
}

TEST_F(LinendCluster, HostGwThreeNodes) {
  WriteConfig(kHostGwConfig);
  auto subnets = Bring(3);
  ExpectFullMesh();
  Node& n1 = *nodes_[0];
  EXPECT_NE(Ip(n1, "route show " + subnets[1]).find("via 10.99.0.12 dev eth0"), std::string::npos)
      << Ip(n1, "route");
  EXPECT_EQ(Ip(n1, "link show linen.1"), "") << "host-gw creates no device";
}

TEST_F(LinendCluster, ResyncRepairsDrift) {
  WriteConfig(kVxlanConfig);
  lease_ttl_ = "30";
  resync_ms_ = "200";
  auto subnets = Bring(2);
  ExpectFullMesh();
  Node& n1 = *nodes_[0];
  // Someone deletes our route, then the whole VTEP device: both come back.
  ASSERT_EQ(linen::test::Sh("ip -n " + n1.ns->name() + " route del " + subnets[1]).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return !Ip(n1, "route show " + subnets[1]).empty(); }));
  ASSERT_EQ(linen::test::Sh("ip -n " + n1.ns->name() + " link del linen.1").exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return !Ip(n1, "route show " + subnets[1]).empty(); }));
  EXPECT_NE(Ip(n1, "link show linen.1").find("0e:4c:0a:63:00:0b"), std::string::npos)
      << "recreated with the published MAC";
  ExpectFullMesh();
}

// One peer node1 cannot program (someone else's route for node2's subnet) does not
// keep node1 from programming the others, node3 joining later included; /metrics
// names the reason, the log says it once; once the route is removed, the next resync
// programs node2.
TEST_F(LinendCluster, ForeignRouteBlocksOnlyItsPeer) {
  WriteConfig(kVxlanConfig);
  lease_ttl_ = "30";
  resync_ms_ = "500";  // recovery comes from the periodic reconcile
  Node& n1 = AddNode();
  Node& n2 = AddNode();
  StartAgent(n2);
  const std::string s2 = WaitSubnet(n2);
  // Planted before node1's linend starts, so its very first reconcile meets it.
  const std::string on_n1 = "ip -n " + n1.ns->name() + " route ";
  ASSERT_EQ(linen::test::Sh(on_n1 + "add blackhole " + s2).exit_code, 0);
  StartAgent(n1);
  AddPod(n1, WaitSubnet(n1));
  AddPod(n2, s2);
  Node& n3 = AddNode();
  StartAgent(n3);
  AddPod(n3, WaitSubnet(n3));

  EXPECT_TRUE(Eventually([&] { return Ping(n1, n3); }, std::chrono::seconds(5)))
      << "node1 must program node3 although node2 fails\n" << n1.agent->Log();
  EXPECT_TRUE(Eventually([&] { return Ping(n2, n3); }, std::chrono::seconds(5)));
  const std::string failing = "\nlinend_peer_failures{reason=\"foreign_route\"} 1\n";
  EXPECT_TRUE(Eventually([&] { return Http(n1, "/metrics").find(failing) != std::string::npos; }))
      << Http(n1, "/metrics");
  EXPECT_NE(Ip(n1, "route show " + s2).find("blackhole"), std::string::npos)
      << "the foreign route is never taken over";
  // Let two more reconciles (resyncs) meet the failure: each counts as not ok.
  auto counter = [&](const std::string& name) {
    std::string m = Http(n1, "/metrics");
    auto p = m.find("\n" + name + " ");
    return p == std::string::npos ? -1 : std::stoi(m.substr(p + name.size() + 2));
  };
  const int errors = counter("linend_reconcile_errors_total");
  EXPECT_GE(errors, 1);
  EXPECT_TRUE(Eventually([&] { return counter("linend_reconcile_errors_total") >= errors + 2; }));

  ASSERT_EQ(linen::test::Sh(on_n1 + "del blackhole " + s2).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return Ping(n1, n2); }, std::chrono::seconds(5)))
      << n1.agent->Log();
  EXPECT_TRUE(Eventually([&] {
    return Http(n1, "/metrics").find("\nlinend_peer_failures{reason=\"foreign_route\"} 0\n") !=
           std::string::npos;
  }));
  // It was logged once, and the recovery once.
  std::string log = n1.agent->Log();
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t p = log.find(what); p != std::string::npos; p = log.find(what, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("peer not programmed (foreign_route)"), 1u) << log;
  EXPECT_EQ(count("\"" + n2.name + "\" (" + s2 + ") programmed (was foreign_route)"), 1u) << log;
}

TEST_F(LinendCluster, StartsBeforeEtcdAndWaits) {
  WriteConfig(kVxlanConfig);
  etcd_->Stop();
  Node& n1 = AddNode();
  StartAgent(n1);
  EXPECT_TRUE(Eventually([&] { return Http(n1, "/healthz") == "starting\n"; }));
  EXPECT_TRUE(n1.agent->running()) << "an unreachable registry is retried, not fatal";
  ASSERT_TRUE(etcd_->Restart());
  EXPECT_FALSE(WaitSubnet(n1).empty());
  EXPECT_TRUE(Eventually([&] { return Http(n1, "/healthz") == "ok\n"; }));
}

std::string Topology(int nodes) {
  std::string s = R"({"network":"10.246.0.0/16","backend":"vxlan","nodes":[)";
  for (int i = 1; i <= nodes; ++i) {
    if (i > 1) s += ",";
    s += R"({"name":"node)" + std::to_string(i) + R"(","ip":"10.99.0.)" +
         std::to_string(10 + i) + R"(","subnet":"10.246.)" + std::to_string(i) + R"(.0/24"})";
  }
  return s + "]}";
}

void WriteFile(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  { std::ofstream(tmp) << text; }
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

TEST_F(LinendCluster, StaticTopologyFileAndLiveEdit) {
  const std::string topo = dir_->path() + "/topology.json";
  WriteFile(topo, Topology(3));
  for (int i = 0; i < 3; ++i) {
    Node& n = AddNode();
    StartFileAgent(n, topo);
  }
  for (auto& n : nodes_) {
    std::string subnet = WaitSubnet(*n);
    EXPECT_EQ(subnet, "10.246." + std::to_string(n->index) + ".0/24");
    AddPod(*n, subnet);
  }
  ExpectFullMesh();
  // Editing the file adds a node everywhere, no restarts.
  WriteFile(topo, Topology(4));
  Node& n4 = AddNode();
  StartFileAgent(n4, topo);
  AddPod(n4, WaitSubnet(n4));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Eventually([&] { return !Ip(*nodes_[i], "route show 10.246.4.0/24").empty(); }))
        << nodes_[i]->name;
  }
  ExpectFullMesh();
}

}  // namespace
}  // namespace linen::agent::testing
