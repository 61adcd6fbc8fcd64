// linend end to end: real linend processes in node namespaces, a real etcd, the
// real vxlan / host-gw data path, traffic between pod namespaces on different nodes.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <map>
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

  // Health, readiness and metrics answer on the node address: leased, subnet.env
  // written, every peer programmed -> ready, and the mark next to subnet.env says so.
  EXPECT_EQ(Http(n1, "/healthz"), "ok\n");
  EXPECT_TRUE(Eventually([&] { return Http(n1, "/readyz") == "ok\n"; })) << Http(n1, "/readyz");
  std::ifstream mark(n1.subnet_file + ".ready");
  std::string mark_text((std::istreambuf_iterator<char>(mark)), std::istreambuf_iterator<char>());
  EXPECT_NE(mark_text.find("LINEN_READY=true\n"), std::string::npos) << mark_text;
  std::string m = Http(n1, "/metrics");
  EXPECT_NE(m.find("\nlinend_ready 1\n"), std::string::npos) << m;
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
  EXPECT_NE(access(n1.subnet_file.c_str(), F_OK), -1) << "subnet.env stays for the pods";
  EXPECT_EQ(access((n1.subnet_file + ".ready").c_str(), F_OK), -1)
      << "a clean stop removes the readiness mark";
  StartAgent(n1);
  EXPECT_TRUE(Eventually([&] {
    return Http(n1, "/readyz") == "ok\n";
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
  std::string cleanup_log;
  EXPECT_EQ(RunCleanup(n1, &cleanup_log), 0) << cleanup_log;
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
  // Alive (the loop turns) but not ready, and /readyz says why.
  EXPECT_TRUE(Eventually([&] {
    return Http(n1, "/readyz").rfind("not ready: no subnet leased (last error: ", 0) == 0;
  })) << Http(n1, "/readyz");
  EXPECT_EQ(Http(n1, "/healthz"), "ok\n");
  EXPECT_NE(Http(n1, "/metrics").find("\nlinend_ready 0\n"), std::string::npos);
  EXPECT_TRUE(n1.agent->running()) << "an unreachable registry is retried, not fatal";
  ASSERT_TRUE(etcd_->Restart());
  EXPECT_FALSE(WaitSubnet(n1).empty());
  EXPECT_TRUE(Eventually([&] { return Http(n1, "/readyz") == "ok\n"; }));
  EXPECT_EQ(Http(n1, "/healthz"), "ok\n");
}

// The production set-up end to end: etcd with TLS, --client-cert-auth and auth (a
// user limited to the prefix; unused tokens live 1 s, so the agents' tokens expire
// while they run). linend gets the TLS files and the user name from its config
// file, and the password from the environment, never from its command line.
class LinendSecureEtcd : public LinendCluster {
 protected:
  LinendSecureEtcd() {
    etcd_options_.tls = true;
    etcd_options_.auth_token_ttl = 1;
  }

  std::string ConfigFile(const std::string& name, const std::string& cert,
                         const std::string& key) {
    auto pki = etcd::testing::TestPki::Get();
    EXPECT_TRUE(pki) << pki.error().msg();
    const std::string path = dir_->path() + "/" + name;
    std::ofstream(path) << "etcd-cafile = \"" << (*pki)->ca << "\"\n"
                        << "etcd-certfile = \"" << cert << "\"\n"
                        << "etcd-keyfile = \"" << key << "\"\n"
                        << "etcd-username = \"linen\"\n";
    return path;
  }

  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
  }

  // A node whose agent cannot get in: it keeps running, stays not ready, and says
  // why exactly once while it retries.
  void ExpectRefusedOnce(Node& n, const std::string& reason) {
    EXPECT_TRUE(Eventually([&] { return n.agent->Log().find(reason) != std::string::npos; }))
        << n.name << " log:\n" << n.agent->Log();
    auto error_time = [&] {
      std::string m = Http(n, "/metrics");
      auto p = m.find("\nlinend_last_error_timestamp_seconds ");
      return p == std::string::npos ? std::string() : m.substr(p, m.find('\n', p + 1) - p);
    };
    const std::string first = error_time();
    EXPECT_TRUE(Eventually([&] { return error_time() != first; }))
        << n.name << " did not retry";
    EXPECT_TRUE(n.agent->running()) << n.name << " must retry, not exit";
    EXPECT_EQ(Http(n, "/healthz"), "ok\n") << n.name << " is alive: a restart would not help";
    EXPECT_NE(Http(n, "/readyz").find(reason), std::string::npos)
        << n.name << " must not be ready, and say why";
    EXPECT_NE(Http(n, "/metrics").find(reason), std::string::npos) << "the reason, in /metrics";
    EXPECT_EQ(Count(n.agent->Log(), reason), 1u) << n.agent->Log();
  }
};

TEST_F(LinendSecureEtcd, LeasesAndFollowsPeersThroughTlsAndAuth) {
  WriteConfig(kVxlanConfig);
  ASSERT_TRUE(etcd_->EnableAuth("linen", "linen-secret", prefix_ + "/"));
  auto pki = etcd::testing::TestPki::Get();
  ASSERT_TRUE(pki) << pki.error().msg();
  const std::string conf = ConfigFile("linend.conf", (*pki)->client_cert, (*pki)->client_key);
  const std::map<std::string, std::string> env = {{"LINEN_ETCD_PASSWORD", "linen-secret"}};

  std::vector<Node*> good;
  for (int i = 0; i < 2; ++i) {
    Node& n = AddNode();
    StartAgent(n, {"--config", conf}, env);
    good.push_back(&n);
  }
  for (Node* n : good) AddPod(*n, WaitSubnet(*n));
  ExpectFullMesh();
  for (Node* n : good) {
    EXPECT_TRUE(Eventually([&] { return Http(*n, "/healthz") == "ok\n"; })) << n->agent->Log();
  }

  Node& wrong_password = AddNode();
  StartAgent(wrong_password, {"--config", conf}, {{"LINEN_ETCD_PASSWORD", "not-it"}});
  Node& rogue_cert = AddNode();
  const std::string rogue = ConfigFile("rogue.conf", (*pki)->rogue_cert, (*pki)->rogue_key);
  StartAgent(rogue_cert, {"--config", rogue}, env);
  ExpectRefusedOnce(wrong_password, "authentication failed, invalid user ID or password");
  ExpectRefusedOnce(rogue_cert, "alert bad certificate");
  EXPECT_EQ(wrong_password.agent->Log().find("not-it"), std::string::npos) << "no password in logs";
}

// Leases linen did not write, one of each kind, beside real nodes (issue #15): none
// reaches the kernel, a node joining afterwards is still programmed everywhere, every
// pod pair pings, /metrics names each rejected lease with its reason, and deleting a
// stray clears its series. One cluster for all kinds keeps this to a few seconds.
TEST_F(LinendCluster, StrayLeasesAreRejectedAndNeverProgrammed) {
  WriteConfig(kVxlanConfig);
  auto subnets = Bring(2);
  etcd::ClientOptions o;
  o.endpoints = {etcd_->endpoint()};
  auto client = etcd::Client::Create(o);
  ASSERT_TRUE(client) << client.error().msg();
  const std::string sp = prefix_ + "/subnets/";
  auto lease = [](const std::string& ip, const std::string& mac, const std::string& type = "vxlan") {
    return R"({"PublicIP":")" + ip + R"(","BackendType":")" + type +
           R"(","BackendData":{"VNI":1,"VtepMAC":")" + mac + R"("},"NodeName":"stray"})";
  };
  // Every stray MAC starts 0e:00:00:00:00, so the kernel can be searched for it.
  const std::string n1 = subnets[0].substr(0, subnets[0].rfind('.'));  // "10.244.X"
  struct Stray {
    std::string key, value, reason_on_node1, reason_elsewhere;
  };
  const std::vector<Stray> strays = {
      {"10.98.0.0-24", lease("10.99.0.50", "0e:00:00:00:00:01"), "outside_network", "outside_network"},
      {"0.0.0.0-1", lease("10.99.0.50", "0e:00:00:00:00:02"), "outside_network", "outside_network"},
      {"10.244.222.0-26", lease("10.99.0.50", "0e:00:00:00:00:03"), "wrong_length", "wrong_length"},
      {n1 + ".128-25", lease("10.99.0.50", "0e:00:00:00:00:04"), "overlaps_self", "wrong_length"},
      {"10.244.223.0-24", lease("10.99.0.50", "zz:zz"), "bad_vtep_mac", "bad_vtep_mac"},
      {"10.244.224.0-24", lease("fd00::50", "0e:00:00:00:00:06"), "wrong_family", "wrong_family"},
      {"10.244.226.0-24", lease("10.99.0.50", "0e:00:00:00:00:07", "host-gw"), "wrong_backend",
       "wrong_backend"},
      {"10.244.227.0-24", "{not json", "undecodable", "undecodable"},
      // node1's own IP: rejected on node1; for the others it is a lease like any
      // other (it points at node1, with node1's MAC).
      {"10.244.225.0-24", lease("10.99.0.11", "0e:4c:0a:63:00:0b"), "own_ip", ""},
  };
  for (const auto& st : strays) ASSERT_TRUE((*client)->Put(sp + st.key, st.value));
  subnets.push_back(Bring(1)[0]);  // node3 joins after the strays

  auto expected_series = [&](const Node& n, const Stray& st) {
    const std::string& reason = n.index == 1 ? st.reason_on_node1 : st.reason_elsewhere;
    return "linend_rejected_lease{key=\"" + sp + st.key + "\",reason=\"" + reason + "\"} 1\n";
  };
  for (auto& n : nodes_) {
    for (const auto& st : strays) {
      if (n->index != 1 && st.reason_elsewhere.empty()) continue;
      EXPECT_TRUE(Eventually([&] { return Http(*n, "/metrics").find(expected_series(*n, st)) !=
                                          std::string::npos; },
                             std::chrono::seconds(5)))
          << n->name << " does not report " << expected_series(*n, st) << Http(*n, "/metrics");
    }
  }
  std::string m1 = Http(*nodes_[0], "/metrics");
  EXPECT_NE(m1.find("linend_rejected_leases{reason=\"outside_network\"} 2\n"), std::string::npos)
      << m1;
  EXPECT_NE(m1.find("linend_rejected_leases{reason=\"overlaps_peer\"} 0\n"), std::string::npos)
      << m1;

  ExpectFullMesh();
  for (auto& n : nodes_) {
    // Routes: the real peers, and on node2/3 the lease that names node1's IP; no stray.
    std::string routes = Ip(*n, "route show dev linen.1");
    for (const auto& st : strays) {
      if (n->index != 1 && st.reason_elsewhere.empty()) continue;
      std::string net = st.key.substr(0, st.key.rfind('-'));
      EXPECT_EQ(routes.find(net + "/"), std::string::npos) << n->name << ":\n" << routes;
    }
    EXPECT_EQ(routes.find("10.98.0.0"), std::string::npos) << routes;
    EXPECT_EQ(Ip(*n, "route show 0.0.0.0/1"), "") << n->name;
    EXPECT_EQ(Ip(*n, "neigh show dev linen.1").find("0e:00:00:00:00"), std::string::npos)
        << n->name << ":\n" << Ip(*n, "neigh show dev linen.1");
    std::string fdb = linen::test::Sh("bridge -n " + n->ns->name() + " fdb show dev linen.1").out;
    EXPECT_EQ(fdb.find("0e:00:00:00:00"), std::string::npos) << n->name << ":\n" << fdb;
    EXPECT_EQ(fdb.find("10.99.0.50"), std::string::npos) << n->name << ":\n" << fdb;
  }
  // node1 has its two peers and nothing for the lease that claims its own IP.
  EXPECT_EQ(Ip(*nodes_[0], "route show 10.244.225.0/24"), "");
  EXPECT_NE(m1.find("\nlinend_peers 2\n"), std::string::npos) << m1;

  // Removing a stray clears its series everywhere; the count follows.
  const std::string gone = "key=\"" + sp + "10.98.0.0-24\"";
  ASSERT_TRUE((*client)->Delete(sp + "10.98.0.0-24"));
  for (auto& n : nodes_) {
    EXPECT_TRUE(Eventually([&] { return Http(*n, "/metrics").find(gone) == std::string::npos; },
                           std::chrono::seconds(5)))
        << n->name << "\n" << Http(*n, "/metrics");
  }
  m1 = Http(*nodes_[0], "/metrics");
  EXPECT_NE(m1.find("linend_rejected_leases{reason=\"outside_network\"} 1\n"), std::string::npos)
      << m1;
  // Each rejection was logged once, with its key and reason, not on every loop turn.
  std::string log1 = nodes_[0]->agent->Log();
  for (const auto& st : strays) {
    const std::string line = "peer lease " + sp + st.key + " rejected (" + st.reason_on_node1 + ")";
    size_t count = 0;
    for (size_t p = log1.find(line); p != std::string::npos; p = log1.find(line, p + 1)) ++count;
    EXPECT_EQ(count, 1u) << line << "\n" << log1;
  }
  for (auto& n : nodes_) EXPECT_TRUE(n->agent->running()) << n->name;
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

  // An edit that claims node1's subnet for a fifth node is refused on every node with
  // its reason, logged; the last good topology stays programmed.
  std::string bad = Topology(4);
  bad.insert(bad.size() - 2, R"(,{"name":"node5","ip":"10.99.0.15","subnet":"10.246.1.0/24"})");
  WriteFile(topo, bad);
  for (auto& n : nodes_) {
    EXPECT_TRUE(Eventually([&] {
      const std::string log = n->agent->Log();
      return log.find("peer update refused") != std::string::npos &&
             log.find("overlaps_peer") != std::string::npos;
    })) << n->name << " log:\n" << n->agent->Log();
    EXPECT_EQ(linen::test::Sh("bridge -n " + n->ns->name() + " fdb show").out.find("10.99.0.15"),
              std::string::npos) << n->name << ": the refused node got an FDB entry";
  }
  ExpectFullMesh();
}

}  // namespace
}  // namespace linen::agent::testing

namespace linen::agent::testing {
namespace {

// Dual-stack end to end (etcd registry, host-gw; the static vxlan dual-stack case is
// test/cluster, etcd vxlan IPv6-only is linend_plugin_test): each linend resolves its
// IPv6 underlay address from --iface, leases one subnet per family under flannel's
// key, writes subnet.env with both pairs, and programs both families; pods made by
// the real CNI chain get one address per family and every pair pings over both.
TEST_F(LinendCluster, DualStackHostGwLeasesBothFamiliesAndPodsPingInBoth) {
  resync_ms_ = "500";  // the foreign-route recovery at the end comes from a resync
  WriteConfig(R"({"Network":"10.245.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:245::/56",
                  "Backend":{"Type":"host-gw"}})");
  std::vector<Node*> added;
  for (int i = 0; i < 3; ++i) {
    Node& n = AddNode();
    StartAgent(n);
    added.push_back(&n);
  }
  std::set<std::string> v6_subnets;
  std::vector<std::string> add_results;
  for (Node* n : added) {
    WaitSubnet(*n);
    std::ifstream f(n->subnet_file);
    std::string env((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_NE(env.find("FLANNEL_IPV6_NETWORK=fd00:10:245::/56\n"), std::string::npos) << env;
    auto at = env.find("FLANNEL_IPV6_SUBNET=fd00:10:245:");
    ASSERT_NE(at, std::string::npos) << env;
    v6_subnets.insert(env.substr(at, env.find('\n', at) - at));
    EXPECT_NE(env.find("::1/64\n", at), std::string::npos) << env;
    add_results.push_back(AddPluginPod(*n, "host-gw"));
    ASSERT_EQ(n->pod_ips.size(), 2u) << "one pod address per family";
  }
  EXPECT_EQ(v6_subnets.size(), 3u) << "IPv6 subnets must be distinct";

  etcd::ClientOptions o;
  o.endpoints = {etcd_->endpoint()};
  auto client = etcd::Client::Create(o);
  ASSERT_TRUE(client) << client.error().msg();
  const std::string sp = prefix_ + "/subnets/";
  auto all = (*client)->Range(sp, etcd::PrefixRangeEnd(sp));
  ASSERT_TRUE(all) << all.error().msg();
  ASSERT_EQ(all->kvs.size(), 3u);
  for (const auto& kv : all->kvs) {
    EXPECT_NE(kv.key.find("-24&fd00:10:245:"), std::string::npos) << kv.key;
    EXPECT_NE(kv.value.find(R"("PublicIPv6":"fd00:99::1)"), std::string::npos) << kv.value;
  }
  for (Node* a : added) {
    for (Node* b : added) {
      if (a == b) continue;
      for (const std::string& ip : b->pod_ips) {
        EXPECT_TRUE(Eventually([&] { return PingIp(*a, ip); }, std::chrono::seconds(5)))
            << a->name << " pod cannot reach " << b->name << " pod " << ip;
      }
    }
  }
  // Each family routed via the peer's node address of that family; the masquerade
  // has one table per family; /metrics counts the peers once, not once per family.
  Node& n1 = *added[0];
  std::string r6 = Ip(n1, "-6 route show proto 76");
  EXPECT_NE(r6.find("via fd00:99::12 dev eth0"), std::string::npos) << r6;
  EXPECT_NE(r6.find("via fd00:99::13 dev eth0"), std::string::npos) << r6;
  std::string tables = linen::test::Sh("ip netns exec " + n1.ns->name() + " nft list tables").out;
  EXPECT_NE(tables.find("table ip "), std::string::npos) << tables;
  EXPECT_NE(tables.find("table ip6 "), std::string::npos) << tables;
  EXPECT_TRUE(Eventually([&] { return Http(n1, "/readyz") == "ok\n"; })) << Http(n1, "/readyz");
  std::string m = Http(n1, "/metrics");
  EXPECT_NE(m.find("\nlinend_peers 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("\nlinend_ready 1\n"), std::string::npos) << m;

  // CHECK in agent mode covers both families: passes, then names the pod's IPv6
  // address once it is gone (node3's pod; node1 and node2 still talk below).
  Node& n3 = *added[2];
  auto ok = CheckPluginPod(n3, "host-gw", add_results[2]);
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  const std::string pod6 = n3.pod_ips[1];
  ASSERT_EQ(linen::test::Sh("ip -n " + n3.pod->name() + " addr del " + pod6 + "/64 dev eth0").exit_code,
            0);
  auto bad = CheckPluginPod(n3, "host-gw", add_results[2]);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find(pod6), std::string::npos) << bad.out;

  // Families fail apart: someone turns node1's IPv6 route to node2 into their own.
  // node2 stays reachable over IPv4, the failure is counted and logged, and once the
  // foreign route goes the IPv6 route comes back and the recovery is logged too.
  Node& n2 = *added[1];
  const std::string s6 = WaitSubnet(n2, "FLANNEL_IPV6_SUBNET");
  ASSERT_EQ(linen::test::Sh("ip -n " + n1.ns->name() + " -6 route replace blackhole " + s6).exit_code, 0);
  const std::string failing = "\nlinend_peer_failures{reason=\"foreign_route\"} 1\n";
  EXPECT_TRUE(Eventually([&] { return Http(n1, "/metrics").find(failing) != std::string::npos; }))
      << Http(n1, "/metrics");
  EXPECT_TRUE(PingIp(n1, n2.pod_ips[0])) << "IPv4 to node2 is untouched";
  ASSERT_EQ(linen::test::Sh("ip -n " + n1.ns->name() + " -6 route del blackhole " + s6).exit_code, 0);
  // The next resync puts linen's route back (polled: a ping sent before it would wait
  // out its timeout), then IPv6 to node2 works again.
  EXPECT_TRUE(Eventually([&] { return Ip(n1, "-6 route show " + s6).find("proto 76") != std::string::npos; }))
      << Ip(n1, "-6 route");
  EXPECT_TRUE(PingIp(n1, n2.pod_ips[1]));
  EXPECT_TRUE(Eventually([&] {
    return n1.agent->Log().find("\"" + n2.name + "\" (" + s6 + ") programmed (was foreign_route)") !=
           std::string::npos;
  })) << n1.agent->Log();
}

}  // namespace
}  // namespace linen::agent::testing
