// ipMasq, GC and macspoofchk against real nftables in the node namespace.
#include <gtest/gtest.h>

#include "plugins/bridge/bridge_test_env.h"
#include "plugins/bridge/hash.h"
#include "plugins/bridge/masq_nft.h"
#include "plugins/bridge/nft_dispatch.h"
#include "plugins/bridge/spoofcheck.h"
#include "plugins/bridge/veth.h"

namespace bridge::testing {
namespace {

class BridgeMasqTest : public BridgeEnv {
 protected:
  // An "outside" namespace joined to the node by a veth (192.168.77.0/24). It has no
  // route to the pod subnet, so a pod's packet is answered only if its source was
  // rewritten to the node's 192.168.77.1.
  void MakeOutside() {
    auto o = TempNetns::Create("bout");
    ASSERT_TRUE(o) << o.error().msg();
    outside_.emplace(std::move(*o));
    ASSERT_EQ(Node("ip link add up0 type veth peer name up1 netns " + outside_->name() +
                   " && ip addr add 192.168.77.1/24 dev up0 && ip link set up0 up")
                  .exit_code,
              0);
    ASSERT_EQ(In(*outside_, "ip addr add 192.168.77.2/24 dev up1 && ip link set up1 up").exit_code,
              0);
  }
  static std::string H() { return NftBaseChainName("bnet").substr(5); }
  static std::string Pods(const std::string& subnet) {
    return "pods4-" + H() + "-" + Sha512Hex(subnet).substr(0, 12);
  }
  static std::string Owner(const std::string& cid, const std::string& net = "bnet") {
    return NftOwnerKey(MasqTag{net, "eth0", cid});
  }
  std::string Table() const { return Node("nft list table inet linen_masquerade").out; }
  // The attachment's owner key appears in the table (its address and record).
  bool HasRecords(const std::string& cid, const std::string& net = "bnet") const {
    return Table().find("\"" + Owner(cid, net) + "\"") != std::string::npos;
  }
  std::optional<TempNetns> outside_;
};

TEST_F(BridgeMasqTest, PodReachesOutsideOnlyThroughMasquerade) {
  MakeOutside();
  TempNetns pod = NewPod();
  // Control: without ipMasq the outside cannot answer (no route back to the pod).
  std::string plain = Conf(R"("isDefaultGateway":true)");
  ASSERT_EQ(Exec("ADD", pod.path(), "m-1", plain).exit_code, 0);
  EXPECT_FALSE(Ping(pod, "192.168.77.2"));
  ASSERT_EQ(Exec("DEL", pod.path(), "m-1", plain).exit_code, 0);

  std::string masq = Conf(R"("isDefaultGateway":true,"ipMasq":true)");
  ProcResult r = Exec("ADD", pod.path(), "m-1", masq);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(HasRecords("m-1"));
  std::string pod_ip = AddrOf(Json(r));
  std::string ruleset = Table();
  EXPECT_NE(ruleset.find(pod_ip + " comment \"net: bnet, if: eth0, id: m-1\" : \"" + Owner("m-1") +
                         "\""),
            std::string::npos)
      << ruleset;
  EXPECT_TRUE(Ping(pod, "192.168.77.2"));
  cni::json chk = cni::json::parse(masq);
  chk["prevResult"] = Json(r);
  EXPECT_EQ(Exec("CHECK", pod.path(), "m-1", chk.dump()).exit_code, 0);
  // The outside saw the node's address: its neighbour table knows only 192.168.77.1.
  EXPECT_NE(In(*outside_, "ip neigh show dev up1").out.find("192.168.77.1"), std::string::npos);
  // Traffic inside the pod subnet is not masqueraded: the gateway still sees the pod.
  EXPECT_TRUE(Ping(pod, "10.77.0.1"));

  // One base chain for the network, one rule per subnet matching its pods through
  // a map: no chain and no jump per pod.
  EXPECT_NE(ruleset.find("type nat hook postrouting priority srcnat"), std::string::npos) << ruleset;
  EXPECT_NE(ruleset.find("ip saddr @" + Pods("10.77.0.0/24") +
                         " ip daddr != 10.77.0.0/24 ip daddr != 224.0.0.0/4 masquerade comment "
                         "\"pods of 10.77.0.0/24\""),
            std::string::npos)
      << ruleset;
  EXPECT_EQ(Node("nft list table inet linen_masquerade | grep -cE \"^\\s+chain \"").out, "1\n");
  EXPECT_EQ(ruleset.find("jump"), std::string::npos) << ruleset;

  // CHECK notices the pod's address element gone.
  ASSERT_EQ(Node("nft delete element inet linen_masquerade " + Pods("10.77.0.0/24") + " \"{ " +
                 pod_ip + " }\"")
                .exit_code,
            0);
  ProcResult bad = Exec("CHECK", pod.path(), "m-1", chk.dump());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("is not this attachment's"), std::string::npos) << bad.out;

  // DEL with half the elements gone removes the rest; a fresh ADD/DEL cycle too.
  ASSERT_EQ(Exec("DEL", pod.path(), "m-1", masq).exit_code, 0);
  EXPECT_FALSE(HasRecords("m-1")) << Table();
  ProcResult again = Exec("ADD", pod.path(), "m-1", masq);
  ASSERT_EQ(again.exit_code, 0) << again.out;
  ASSERT_TRUE(HasRecords("m-1"));
  EXPECT_TRUE(Ping(pod, "192.168.77.2"));
  chk["prevResult"] = Json(again);
  EXPECT_EQ(Exec("CHECK", pod.path(), "m-1", chk.dump()).exit_code, 0);
  // ... and the subnet's rule gone.
  ASSERT_EQ(Node("nft flush chain inet linen_masquerade " + NftBaseChainName("bnet")).exit_code, 0);
  bad = Exec("CHECK", pod.path(), "m-1", chk.dump());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("pods of 10.77.0.0/24\\\" is missing"), std::string::npos) << bad.out;
  ASSERT_EQ(Exec("DEL", pod.path(), "m-1", masq).exit_code, 0);
  EXPECT_FALSE(HasRecords("m-1"));
  EXPECT_EQ(Table().find("elements"), std::string::npos) << Table();
  EXPECT_EQ(Exec("DEL", pod.path(), "m-1", masq).exit_code, 0) << "second DEL is fine";
}

TEST_F(BridgeMasqTest, DelWithEmptyNetnsRemovesRules) {
  TempNetns pod = NewPod();
  std::string masq = Conf(R"("isGateway":true,"ipMasq":true)",
                          R"([[{"subnet":"10.80.0.0/24"}],[{"subnet":"fd00:80::/64"}]])");
  ASSERT_EQ(Exec("ADD", pod.path(), "m-2", masq).exit_code, 0);
  std::string rules = Table();
  EXPECT_NE(rules.find("comment \"pods of 10.80.0.0/24\""), std::string::npos) << rules;
  EXPECT_NE(rules.find("comment \"pods of fd00:80::/64\""), std::string::npos) << rules;
  EXPECT_NE(rules.find("10.80.0."), std::string::npos) << rules;
  EXPECT_NE(rules.find("fd00:80::"), std::string::npos) << rules;
  // plugins#810: the reference leaks here because it reads IPs from the interface.
  ASSERT_EQ(Exec("DEL", "", "m-2", masq).exit_code, 0);
  EXPECT_FALSE(HasRecords("m-2"));
  EXPECT_EQ(Table().find("elements"), std::string::npos) << Table();
  EXPECT_TRUE(IpFiles().empty());
}

TEST_F(BridgeMasqTest, GcRemovesOnlyInvalidAttachments) {
  TempNetns a = NewPod(), b = NewPod();
  std::string masq = Conf(R"("ipMasq":true,"macspoofchk":true)", R"([[{"subnet":"10.77.0.0/24"}]])", "1.1.0");
  ASSERT_EQ(Exec("ADD", a.path(), "gc-a", masq).exit_code, 0);
  ASSERT_EQ(Exec("ADD", b.path(), "gc-b", masq).exit_code, 0);
  // Another network's chain must survive this network's GC.
  std::string other = Conf(R"("ipMasq":true)", R"([[{"subnet":"10.81.0.0/24"}]])", "1.1.0",
                           "othernet");
  TempNetns c = NewPod();
  ASSERT_EQ(Exec("ADD", c.path(), "gc-c", other, "", "eth0").exit_code, 0);

  cni::json gc = cni::json::parse(masq);
  gc["cni.dev/valid-attachments"] = cni::json::array({{{"containerID", "gc-a"}, {"ifname", "eth0"}}});
  ProcResult r = Exec("GC", "", "", gc.dump());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(HasRecords("gc-a"));
  EXPECT_FALSE(HasRecords("gc-b"));
  auto spoof = [&](const std::string& cid) {
    return Node("nft list table bridge linen_spoofchk").out.find("\"" + HostVethName(cid, "eth0") +
                                                                 "\"") != std::string::npos;
  };
  EXPECT_TRUE(spoof("gc-a"));
  EXPECT_FALSE(spoof("gc-b"));
  EXPECT_TRUE(HasRecords("gc-c", "othernet"));
  if (std::filesystem::exists(linen::test::CniBin("host-local"))) {
    // Our host-local implements GC: gc-b's address is released too.
    EXPECT_EQ(IpFiles().size(), 1u);
  }
}

TEST_F(BridgeMasqTest, MacSpoofCheckDropsForeignSourceMac) {
  TempNetns a = NewPod(), b = NewPod();
  std::string conf = Conf(R"("macspoofchk":true)");
  ProcResult ra = Exec("ADD", a.path(), "sp-a", conf);
  ASSERT_EQ(ra.exit_code, 0) << ra.out << ra.err;
  ProcResult rb = Exec("ADD", b.path(), "sp-b", conf);
  ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
  // CHECK sees the port checked against the pod's MAC, and notices the pair gone.
  cni::json chk = cni::json::parse(conf);
  chk["prevResult"] = Json(rb);
  EXPECT_EQ(Exec("CHECK", b.path(), "sp-b", chk.dump()).exit_code, 0);
  std::string ip_b = AddrOf(Json(rb));
  EXPECT_TRUE(Ping(a, ip_b));
  // The pod changes its MAC: its frames no longer match and are dropped at the port.
  ASSERT_EQ(In(a, "ip neigh flush all && ip link set eth0 address 02:de:ad:be:ef:01").exit_code, 0);
  EXPECT_FALSE(Ping(a, ip_b));

  // The port maps to the pod's MAC (as ADD reported it), and no chain is per pod.
  const std::string veth = HostVethName("sp-a", "eth0");
  std::string mac_a;
  const cni::json added = Json(ra);
  for (const auto& i : added["interfaces"]) {
    if (i.value("sandbox", "") != "") mac_a = i["mac"];
  }
  std::string table = Node("nft list table bridge linen_spoofchk").out;
  EXPECT_NE(table.find("\"" + veth + "\" comment \"net: bnet, if: eth0, id: sp-a\" : " + mac_a),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("\"" + veth + "\" . " + mac_a), std::string::npos) << table;
  EXPECT_NE(table.find(" iifname . ether saddr != @portmac-"), std::string::npos) << table;
  EXPECT_EQ(table.find("jump"), std::string::npos) << table;
  const std::string veth_b = HostVethName("sp-b", "eth0");
  std::string mac_b;
  for (const auto& i : chk["prevResult"]["interfaces"]) {
    if (i.value("sandbox", "") != "") mac_b = i["mac"];
  }
  const std::string h = NftBaseChainName("bnet").substr(5);
  ASSERT_EQ(Node("nft delete element bridge linen_spoofchk portmac-" + h + " \"{ \\\"" + veth_b +
                 "\\\" . " + mac_b + " }\"")
                .exit_code,
            0)
      << Node("nft list table bridge linen_spoofchk").out;
  ProcResult bad = Exec("CHECK", b.path(), "sp-b", chk.dump());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("spoof check of " + veth_b), std::string::npos) << bad.out;
  ASSERT_EQ(Exec("DEL", a.path(), "sp-a", conf).exit_code, 0);
  table = Node("nft list table bridge linen_spoofchk").out;
  EXPECT_EQ(table.find(veth), std::string::npos) << table;
  ASSERT_EQ(Exec("DEL", b.path(), "sp-b", conf).exit_code, 0);
  EXPECT_EQ(Node("nft list table bridge linen_spoofchk").out.find("elements"), std::string::npos);
}

// The records follow the addresses: a repeated ADD with another address, and an
// address IPAM handed to a new attachment while the old one's DEL never came.
TEST_F(BridgeMasqTest, AddressesBelongToTheirLatestHolder) {
  auto sw = cni::ScopedNetnsSwitch::Enter(node_->ns());
  ASSERT_TRUE(sw.ok()) << sw.error().msg();
  auto sock = cni::nft::Socket::Open();
  ASSERT_TRUE(sock.ok()) << sock.error().msg();
  const MasqTag a{"bnet", "eth0", "hold-a"}, b{"bnet", "eth0", "hold-b"};
  auto net = [](const char* s) { return *cni::IpNet::Parse(s); };
  auto ip = [](const char* s) { return *cni::IpAddr::Parse(s); };
  auto holder = [&](const std::string& addr) {
    std::string t = Node("nft list map inet linen_masquerade " + Pods("10.77.0.0/24")).out;
    size_t at = t.find(addr + " comment");
    if (at == std::string::npos) return std::string("none");
    size_t q = t.find(": \"", at);
    return t.substr(q + 3, 15);
  };

  ASSERT_TRUE(NftSetupMasq(*sock, {net("10.77.0.5/24")}, a).ok());
  EXPECT_EQ(holder("10.77.0.5"), Owner("hold-a"));
  // The same ADD again changes nothing and succeeds.
  ASSERT_TRUE(NftSetupMasq(*sock, {net("10.77.0.5/24")}, a).ok());
  // Another address for the same attachment replaces the first.
  ASSERT_TRUE(NftSetupMasq(*sock, {net("10.77.0.6/24")}, a).ok());
  EXPECT_EQ(holder("10.77.0.5"), "none");
  EXPECT_EQ(holder("10.77.0.6"), Owner("hold-a"));
  // b gets .6 (a's DEL never came): b holds it, a's record of it is gone.
  auto taken = NftSetupMasq(*sock, {net("10.77.0.6/24")}, b);
  ASSERT_TRUE(taken.ok()) << taken.error().msg();
  EXPECT_EQ(holder("10.77.0.6"), Owner("hold-b"));
  EXPECT_TRUE(NftCheckMasq(*sock, {ip("10.77.0.6")}, b).ok());
  EXPECT_FALSE(NftCheckMasq(*sock, {ip("10.77.0.6")}, a).ok());
  // a's late DEL leaves b's address and range alone.
  ASSERT_TRUE(NftTeardownMasq(*sock, a).ok());
  EXPECT_EQ(holder("10.77.0.6"), Owner("hold-b"));
  EXPECT_TRUE(NftCheckMasq(*sock, {ip("10.77.0.6")}, b).ok());
  ASSERT_TRUE(NftTeardownMasq(*sock, b).ok());
  EXPECT_EQ(Table().find("elements"), std::string::npos) << Table();
  // Absent is success.
  EXPECT_TRUE(NftTeardownMasq(*sock, b).ok());
}

// A node that ran the older layout (a chain per pod, entered by a jump from a
// verdict map): new pods are masqueraded through the new rules in the same base
// chain, DEL removes an old pod's chain and element, and GC removes the rest,
// then the old rules and maps once no old pod is left.
TEST_F(BridgeMasqTest, OlderLayoutIsRemovedByDelAndGc) {
  MakeOutside();
  const std::string h = H();
  const std::string old1 = NftLegacyChainName({"bnet", "eth0", "old-1"});
  const std::string old2 = NftLegacyChainName({"bnet", "eth0", "old-2"});
  auto old_chain = [&](const std::string& name, const std::string& cid, const std::string& ip) {
    return " chain " + name + " { comment \"ips: " + ip + "; net: bnet, if: eth0, id: " + cid +
           "\"\n  ip saddr " + ip + " ip daddr != 10.77.0.0/24 ip daddr != 224.0.0.0/4 masquerade\n }\n";
  };
  const std::string script =
      "table inet linen_masquerade {\n"
      " map masq4-" + h + " { type ipv4_addr : verdict; }\n"
      " map masq6-" + h + " { type ipv6_addr : verdict; }\n" +
      old_chain(old1, "old-1", "10.77.0.50") + old_chain(old2, "old-2", "10.77.0.51") +
      " chain masq-" + h + " { type nat hook postrouting priority srcnat; policy accept;\n"
      "  ip saddr vmap @masq4-" + h + " comment \"pods' IPv4 sources\"\n"
      "  ip6 saddr vmap @masq6-" + h + " comment \"pods' IPv6 sources\"\n }\n}\n"
      "add element inet linen_masquerade masq4-" + h + " { 10.77.0.50 : jump " + old1 +
      ", 10.77.0.51 : jump " + old2 + " }\n";
  ASSERT_EQ(linen::test::Run({"/usr/sbin/ip", "netns", "exec", node_->name(), "nft", "-f", "-"}, {},
                             script)
                .exit_code,
            0);

  // The spoof check's older layout too: a chain per pod, entered from a vmap on
  // the input port.
  auto spoof_chain = [&](const std::string& cid) {
    return "spoof-" + h + "-" + AttachmentHash("eth0", cid);
  };
  auto old_spoof = [&](const std::string& cid, const std::string& port) {
    return " chain " + spoof_chain(cid) + " { comment \"port: " + port +
           "; net: bnet, if: eth0, id: " + cid + "\"\n  ether saddr != 02:00:00:00:00:50 drop\n }\n";
  };
  const std::string spoof_script =
      "table bridge linen_spoofchk {\n"
      " map ports-" + h + " { type ifname : verdict; }\n" +
      old_spoof("old-1", "vethold1") + old_spoof("old-2", "vethold2") +
      " chain spoof-" + h + " { type filter hook prerouting priority -300; policy accept;\n"
      "  iifname vmap @ports-" + h + " comment \"pods' bridge ports\"\n }\n}\n"
      "add element bridge linen_spoofchk ports-" + h + " { \"vethold1\" : jump " +
      spoof_chain("old-1") + ", \"vethold2\" : jump " + spoof_chain("old-2") + " }\n";
  ASSERT_EQ(linen::test::Run({"/usr/sbin/ip", "netns", "exec", node_->name(), "nft", "-f", "-"}, {},
                             spoof_script)
                .exit_code,
            0);
  auto spoof_table = [&] { return Node("nft list table bridge linen_spoofchk").out; };

  TempNetns pod = NewPod();
  std::string masq = Conf(R"("isDefaultGateway":true,"ipMasq":true,"macspoofchk":true)",
                          R"([[{"subnet":"10.77.0.0/24"}]])", "1.1.0");
  ProcResult r = Exec("ADD", pod.path(), "new-1", masq);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Ping(pod, "192.168.77.2"));

  ASSERT_EQ(Exec("DEL", "", "old-1", masq).exit_code, 0);
  std::string t = Table();
  EXPECT_EQ(t.find("chain " + old1), std::string::npos) << t;
  EXPECT_EQ(t.find("10.77.0.50"), std::string::npos) << t;
  EXPECT_NE(t.find("chain " + old2), std::string::npos) << t;
  std::string st = spoof_table();
  EXPECT_EQ(st.find(spoof_chain("old-1")), std::string::npos) << st;
  EXPECT_EQ(st.find("vethold1"), std::string::npos) << st;
  EXPECT_NE(st.find(spoof_chain("old-2")), std::string::npos) << st;

  cni::json gc = cni::json::parse(masq);
  gc["cni.dev/valid-attachments"] = cni::json::array({{{"containerID", "new-1"}, {"ifname", "eth0"}}});
  ProcResult g = Exec("GC", "", "", gc.dump());
  ASSERT_EQ(g.exit_code, 0) << g.out << g.err;
  t = Table();
  EXPECT_EQ(t.find("chain " + old2), std::string::npos) << t;
  EXPECT_EQ(t.find("masq4-"), std::string::npos) << t;
  EXPECT_EQ(t.find("vmap"), std::string::npos) << t;
  EXPECT_TRUE(HasRecords("new-1"));
  st = spoof_table();
  EXPECT_EQ(st.find(spoof_chain("old-2")), std::string::npos) << st;
  EXPECT_EQ(st.find("vmap"), std::string::npos) << st;
  EXPECT_EQ(st.find("ports-" + h), std::string::npos) << st;
  EXPECT_NE(st.find("\"" + HostVethName("new-1", "eth0") + "\""), std::string::npos) << st;
  EXPECT_EQ(Node("nft list table inet linen_masquerade | grep -cE \"^\\s+chain \"").out, "1\n");
  EXPECT_TRUE(Ping(pod, "192.168.77.2"));
  ASSERT_EQ(Exec("DEL", pod.path(), "new-1", masq).exit_code, 0);
  EXPECT_EQ(Table().find("elements"), std::string::npos) << Table();
}

TEST_F(BridgeMasqTest, IptablesBackendWhenChosen) {
  if (linen::test::Sh("command -v iptables-restore >/dev/null").exit_code != 0) {
    GTEST_SKIP() << "iptables-restore not installed";
  }
  MakeOutside();
  TempNetns pod = NewPod();
  std::string conf = Conf(R"("isDefaultGateway":true,"ipMasq":true,"ipMasqBackend":"iptables")");
  ProcResult r = Exec("ADD", pod.path(), "ipt-1", conf);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string save = Node("iptables-save -t nat").out;
  EXPECT_NE(save.find("-j CNI-"), std::string::npos) << save;
  EXPECT_NE(save.find("name: \\\"bnet\\\" id: \\\"ipt-1\\\""), std::string::npos) << save;
  EXPECT_TRUE(Ping(pod, "192.168.77.2"));
  ProcResult d = Exec("DEL", "", "ipt-1", conf);
  ASSERT_EQ(d.exit_code, 0) << d.out << d.err;
  save = Node("iptables-save -t nat").out;
  EXPECT_EQ(save.find("CNI-"), std::string::npos) << save;
}

}  // namespace
}  // namespace bridge::testing
