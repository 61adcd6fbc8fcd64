// linend together with the CNI chain it serves: pods are created by the real
// `vxlan` / `host-gw` meta-plugins in agent mode (reading the subnet.env linend wrote),
// delegating to bridge + host-local, on nodes whose overlay linend programs.
#include "agent/cluster_fixture.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

namespace linen::agent::testing {
namespace {

class LinendWithPlugins : public ClusterTest {
 protected:
  // `subnet_key`: which subnet.env line the pod's (first) address lies in.
  void RunMesh(const std::string& type, const std::string& subnet_key = "FLANNEL_SUBNET") {
    std::vector<std::string> subnets;
    for (int i = 0; i < 3; ++i) StartAgent(AddNode());
    for (auto& n : nodes_) subnets.push_back(WaitSubnet(*n, subnet_key));
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
        for (const std::string& ip : b->pod_ips) {
          EXPECT_TRUE(Eventually([&] { return PingIp(*a, ip); }, std::chrono::seconds(5)))
              << a->name << " pod cannot reach " << b->name << " pod " << ip;
        }
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

// IPv6-only over vxlan with etcd (the other IPv6-only case, static host-gw, is in
// test/cluster): one IPv6 VTEP per node at underlay - 70, pods with only an IPv6
// address, and exactly the pod MTU crosses nodes with DF set while one byte more is
// refused naming that MTU (flannel#1781 sized it for an IPv4 outer header).
TEST_F(LinendWithPlugins, VxlanIpv6OnlyPodsPingAcrossNodesAtThePodMtu) {
  WriteConfig(R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56",
                  "Backend":{"Type":"vxlan"}})");
  RunMesh("vxlan", "FLANNEL_IPV6_SUBNET");
  Node& a = *nodes_[0];
  Node& b = *nodes_[1];
  ASSERT_EQ(a.pod_ips.size(), 1u);
  std::ifstream f(a.subnet_file);
  std::string env((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(env.find("FLANNEL_MTU=1430\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("FLANNEL_SUBNET="), std::string::npos) << env;
  EXPECT_NE(Ip(a, "-d link show linen-v6.1").find("mtu 1430"), std::string::npos);
  EXPECT_EQ(Ip(a, "link show linen.1"), "") << "no IPv4 VTEP";
  auto fits = linen::test::DfPing(a.pod->name(), b.pod_ip, 1430);
  EXPECT_EQ(fits.exit_code, 0) << fits.out;
  auto big = linen::test::DfPing(a.pod->name(), b.pod_ip, 1431);
  EXPECT_NE(big.exit_code, 0) << big.out;
  EXPECT_NE(big.out.find("mtu: 1430"), std::string::npos) << big.out;  // ping's IPv6 wording
  std::string m = Http(a, "/metrics");
  EXPECT_NE(m.find("\nlinend_peers 2\n"), std::string::npos) << m;

  // A lease flanneld wrote on an IPv6-only node, byte for byte (key 0.0.0.0-0&<v6>,
  // PublicIP the zero IPv4, no BackendData, its own VTEP MAC), in a /64 no node
  // holds: every linend programs it through the watch.
  std::set<std::string> used;
  for (auto& n : nodes_) used.insert(WaitSubnet(*n, "FLANNEL_IPV6_SUBNET"));
  std::string v6;
  for (int k = 0xf0; v6.empty() || used.count(v6 + "/64"); ++k) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "fd00:10:244:%x::", k);
    v6 = buf;
  }
  auto client = etcd::Client::Create(etcd_->client_options());
  ASSERT_TRUE(client) << client.error().msg();
  auto put = (*client)->Put(
      prefix_ + "/subnets/0.0.0.0-0&" + v6 + "-64",
      R"({"PublicIP":"0.0.0.0","PublicIPv6":"fd00:99::77","BackendType":"vxlan",)"
      R"("BackendV6Data":{"VNI":1,"VtepMAC":"9a:e1:04:44:55:66"}})");
  ASSERT_TRUE(put) << put.error().msg();
  for (auto& n : nodes_) {
    EXPECT_TRUE(Eventually([&] {
      return Ip(*n, "-6 route show " + v6 + "/64").find("via " + v6 + " dev linen-v6.1") !=
             std::string::npos;
    })) << n->name << ":\n" << Ip(*n, "-6 route") << n->agent->Log();
    EXPECT_NE(linen::test::Sh("bridge -n " + n->ns->name() + " fdb show dev linen-v6.1")
                  .out.find("9a:e1:04:44:55:66 dst fd00:99::77"),
              std::string::npos);
    EXPECT_NE(Ip(*n, "-6 neigh show dev linen-v6.1").find(v6 + " lladdr 9a:e1:04:44:55:66"),
              std::string::npos)
        << Ip(*n, "-6 neigh show dev linen-v6.1");
  }

  // --cleanup on an IPv6-only node removes the IPv6 side: VTEP, routes, ip6 table.
  Node& c = *nodes_[2];
  EXPECT_EQ(linen::test::Sh("ip netns exec " + c.ns->name() + " nft list tables").out,
            "table ip6 linen-linend\n")
      << "IPv6-only: the masquerade is in the ip6 family only";
  EXPECT_EQ(c.agent->Stop(SIGTERM), 0);
  std::string cleanup_log;
  EXPECT_EQ(RunCleanup(c, &cleanup_log), 0) << cleanup_log;
  EXPECT_EQ(Ip(c, "link show linen-v6.1"), "") << "IPv6 VTEP removed";
  EXPECT_EQ(Ip(c, "-6 route show proto 76"), "");
  EXPECT_EQ(linen::test::Sh("ip netns exec " + c.ns->name() + " nft list tables").out, "");
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

// CNI 1.1 STATUS in agent mode follows linend's readiness mark, not subnet.env (which
// outlives linend on purpose): ready linend -> success; no mark, a stale mark or a
// not-ready one -> code 50 with the reason. ADD does not depend on the mark.
TEST_F(LinendWithPlugins, StatusFollowsLinendReadinessMark) {
  WriteConfig(R"({"Network":"10.247.0.0/16","Backend":{"Type":"vxlan"}})");
  Node& n = AddNode();
  StartAgent(n);
  WaitSubnet(n);
  const std::string mark = n.subnet_file + ".ready";
  auto status = [&] {
    const std::string conf = R"({"cniVersion":"1.1.0","name":"linen","type":"vxlan","subnetFile":")" +
                             n.subnet_file + R"(","dataDir":")" + dir_->path() + "/" + n.name +
                             R"(-cni"})";
    return linen::test::Run({"/usr/sbin/ip", "netns", "exec", n.ns->name(),
                             linen::test::CniBin("vxlan")},
                            {{"CNI_COMMAND", "STATUS"}, {"CNI_PATH", linen::test::CniBinDir()}},
                            conf);
  };
  auto code = [](const linen::test::ProcResult& r) {
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_object() ? j.value("code", -1) : -1;
  };
  auto msg = [](const linen::test::ProcResult& r) {
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_object() ? j.value("msg", std::string()) : std::string();
  };
  EXPECT_TRUE(Eventually([&] { return status().exit_code == 0; })) << status().out << n.agent->Log();

  // A clean stop removes the mark at once; subnet.env stays for the pods.
  EXPECT_EQ(n.agent->Stop(SIGTERM), 0);
  auto gone = status();
  EXPECT_EQ(code(gone), 50) << gone.out;
  EXPECT_NE(msg(gone).find("no readiness mark " + mark + ": is linend running"), std::string::npos)
      << gone.out;
  AddPluginPod(n, "vxlan");  // ADD still works from subnet.env alone

  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto write_mark = [&](const std::string& text) { std::ofstream(mark) << text; };
  // What a SIGKILLed linend leaves: a ready mark past its time.
  write_mark("LINEN_READY=true\nLINEN_READY_UNTIL=" + std::to_string(now - 60) + "\n");
  auto stale = status();
  EXPECT_EQ(code(stale), 50) << stale.out;
  EXPECT_NE(msg(stale).find("went stale"), std::string::npos) << stale.out;
  write_mark("LINEN_READY=false\nLINEN_READY_UNTIL=" + std::to_string(now + 600) +
             "\nLINEN_NOT_READY_REASON=no subnet leased (last error: etcd down)\n");
  auto not_ready = status();
  EXPECT_EQ(code(not_ready), 50) << not_ready.out;
  EXPECT_EQ(msg(not_ready), "linend is not ready: no subnet leased (last error: etcd down)");
  write_mark("LINEN_READY=true\nLINEN_READY_UNTIL=" + std::to_string(now + 600) + "\n");
  auto fresh = status();
  EXPECT_EQ(fresh.exit_code, 0) << fresh.out << fresh.err;
}

}  // namespace
}  // namespace linen::agent::testing
