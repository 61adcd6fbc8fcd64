#include "overlay/registry/static_topology.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test/support/test_support.h"

namespace linen::overlay {
namespace {

constexpr const char* kThree = R"({
  "network": "10.244.0.0/16",
  "backend": {"type": "vxlan", "vni": 7, "port": 4789, "directRouting": true},
  "nodes": [
    {"name": "n1", "ip": "192.168.50.1", "subnet": "10.244.1.0/24"},
    {"name": "n2", "ip": "192.168.50.2", "subnet": "10.244.2.0/24"},
    {"name": "n3", "ip": "192.168.50.3", "subnet": "10.244.3.0/24"}
  ]})";

cni::IpAddr Ip(const char* s) { return *cni::IpAddr::Parse(s); }

std::string WithNodes(const std::string& nodes, const std::string& extra = "") {
  return R"({"network": "10.244.0.0/16",)" + extra + R"( "nodes": [)" + nodes + "]}";
}

void ExpectInvalid(const std::string& doc, const std::string& words,
                   cni::Code code = cni::Code::kInvalidNetworkConfig) {
  auto t = ParseTopology(doc);
  ASSERT_FALSE(t) << doc;
  EXPECT_EQ(t.error().code(), code) << t.error().msg();
  EXPECT_NE(t.error().msg().find(words), std::string::npos) << t.error().msg();
}

TEST(StaticTopologyTest, ParsesClusterAndNodes) {
  auto t = ParseTopology(kThree);
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->config.network.ToString(), "10.244.0.0/16");
  EXPECT_EQ(t->config.subnet_len, 24);
  EXPECT_EQ(t->config.backend, BackendType::kVxlan);
  EXPECT_TRUE(t->backend_given);
  EXPECT_EQ(t->config.vni, 7u);
  EXPECT_EQ(t->config.port, 4789);
  EXPECT_TRUE(t->config.direct_routing);
  EXPECT_TRUE(t->config.ip_masq);
  ASSERT_EQ(t->nodes.size(), 3u);
  EXPECT_EQ(t->nodes[1].name, "n2");
  EXPECT_EQ(t->nodes[1].node_ip, Ip("192.168.50.2"));
  EXPECT_EQ(t->nodes[1].subnet.ToString(), "10.244.2.0/24");
  EXPECT_EQ(t->nodes[1].vtep_mac, DeriveVtepMac(Ip("192.168.50.2")));
}

TEST(StaticTopologyTest, DefaultsFollowFlannel) {
  auto t = ParseTopology(WithNodes(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.0.0/24"})"));
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_FALSE(t->backend_given);
  EXPECT_EQ(t->config.backend, BackendType::kVxlan);
  EXPECT_EQ(t->config.vni, 1u);
  EXPECT_EQ(t->config.port, 8472);
  EXPECT_EQ(DefaultSubnetLen(16), 24);
  EXPECT_EQ(DefaultSubnetLen(22), 24);
  EXPECT_EQ(DefaultSubnetLen(23), 25);
}

TEST(StaticTopologyTest, BackendAsString) {
  auto t = ParseTopology(WithNodes(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.0.0/24"})",
                                   R"("backend": "host-gw",)"));
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->config.backend, BackendType::kHostGw);
}

TEST(StaticTopologyTest, BackendObjectWithoutTypeLeavesChoiceToPlugin) {
  auto t = ParseTopology(WithNodes(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.0.0/24"})",
                                   R"("backend": {"vni": 42},)"));
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_FALSE(t->backend_given);
  EXPECT_EQ(t->config.vni, 42u);
}

TEST(StaticTopologyTest, ExampleTopologyParses) {
  auto t = LoadTopologyFile(test::SourcePath("conf-examples/topology.json"));
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->nodes.size(), 3u);
}

TEST(StaticTopologyTest, OverlappingSubnetsNameBothNodes) {
  ExpectInvalid(WithNodes(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24"},
                             {"name":"b","ip":"10.0.0.2","subnet":"10.244.1.0/24"})"),
                "node \"b\" rejected (overlaps_peer): subnet 10.244.1.0/24 overlaps that of \"a\"");
}

TEST(StaticTopologyTest, SubnetOutsideNetwork) {
  ExpectInvalid(WithNodes(R"({"name":"a","ip":"10.0.0.1","subnet":"10.245.1.0/24"})"),
                "outside the cluster network 10.244.0.0/16");
}

TEST(StaticTopologyTest, WrongSubnetLength) {
  ExpectInvalid(WithNodes(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.0.0/23"})"),
                "is not a /24");
}

TEST(StaticTopologyTest, HostBitsSuggestNetwork) {
  ExpectInvalid(WithNodes(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.5/24"})"),
                "did you mean 10.244.1.0/24");
}

TEST(StaticTopologyTest, DuplicateNamesAndIps) {
  ExpectInvalid(WithNodes(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24"},
                             {"name":"a","ip":"10.0.0.2","subnet":"10.244.2.0/24"})"),
                "duplicate node name \"a\"");
  ExpectInvalid(WithNodes(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24"},
                             {"name":"b","ip":"10.0.0.1","subnet":"10.244.2.0/24"})"),
                "same node IP 10.0.0.1");
}

TEST(StaticTopologyTest, MissingFieldsAndBadTypes) {
  ExpectInvalid(WithNodes(""), "\"nodes\" is empty");
  ExpectInvalid(WithNodes(R"({"ip":"10.0.0.1","subnet":"10.244.1.0/24"})"), "\"name\" is missing");
  ExpectInvalid(WithNodes(R"({"name":"a","ip":"nope","subnet":"10.244.1.0/24"})"),
                "not an IP address");
  ExpectInvalid(R"({"nodes": []})", "\"network\" is missing");
  ExpectInvalid(R"({"network": 5, "nodes": []})", "topology.network: expected string, got number",
                cni::Code::kDecodingFailure);
  ExpectInvalid("{not json", "invalid JSON", cni::Code::kDecodingFailure);
  ExpectInvalid(WithNodes(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24"})",
                          R"("backend": {"type": "ipip"},)"),
                "ipip");
  ExpectInvalid(WithNodes(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24"})",
                          R"("backend": {"type": "vxlan", "vni": 0},)"),
                "backend.vni 0");
}

// Found by fuzz_topology: a port too large for 64 bits is parsed as a float, and
// converting that to an integer was undefined behaviour. Now it is a coded error.
TEST(StaticTopologyTest, NonIntegerNumbersAreRefused) {
  const std::string node = R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24"})";
  for (const char* backend : {R"("backend": {"type": "vxlan", "port": 84666666600213390862072},)",
                              R"("backend": {"type": "vxlan", "port": 4789.5},)",
                              R"("backend": {"type": "vxlan", "vni": 1e30},)",
                              R"("backend": {"type": "vxlan", "vni": true},)",
                              R"("backend": {"type": "vxlan", "mtu": -1e300},)",
                              R"("subnetLen": 2.4e1,)"}) {
    ExpectInvalid(WithNodes(node, backend), "expected integer",
                  cni::Code::kDecodingFailure);
  }
}

TEST(StaticTopologyTest, LoadFileReportsPath) {
  test::TempDir dir;
  std::string path = dir.path() + "/topo.json";
  { std::ofstream(path) << kThree; }
  auto t = LoadTopologyFile(path);
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->nodes.size(), 3u);
  auto missing = LoadTopologyFile(dir.path() + "/nope.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), cni::Code::kIoFailure);
  EXPECT_NE(missing.error().msg().find("nope.json"), std::string::npos);
}

// ---- dual-stack and IPv6-only ----

constexpr const char* kDual = R"({
  "network": "10.244.0.0/16",
  "enableIPv6": true,
  "ipv6Network": "fd00:10:244::/56",
  "nodes": [
    {"name": "n1", "ip": "192.168.50.1", "subnet": "10.244.1.0/24",
     "ipv6": "fd00:50::1", "ipv6Subnet": "fd00:10:244:1::/64"},
    {"name": "n2", "ip": "192.168.50.2", "subnet": "10.244.2.0/24",
     "ipv6": "fd00:50::2", "ipv6Subnet": "fd00:10:244:2::/64"}
  ]})";

std::string V6Only(const std::string& nodes, const std::string& extra = "") {
  return R"({"enableIPv4": false, "enableIPv6": true, "ipv6Network": "fd00:10:244::/56",)" +
         extra + R"( "nodes": [)" + nodes + "]}";
}

std::string Dual(const std::string& nodes, const std::string& extra = "") {
  return R"({"network": "10.244.0.0/16", "enableIPv6": true, "ipv6Network": "fd00:10:244::/56",)" +
         extra + R"( "nodes": [)" + nodes + "]}";
}

TEST(StaticTopologyDualStackTest, ParsesBothFamiliesAndDerivesBothMacs) {
  auto t = ParseTopology(kDual);
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_TRUE(t->config.enable_ipv4);
  EXPECT_TRUE(t->config.enable_ipv6);
  EXPECT_EQ(t->config.ipv6_network.ToString(), "fd00:10:244::/56");
  EXPECT_EQ(t->config.ipv6_subnet_len, 64);
  const NodeLease& n2 = t->nodes[1];
  EXPECT_EQ(n2.node_ip, Ip("192.168.50.2"));
  EXPECT_EQ(n2.node_ipv6, Ip("fd00:50::2"));
  EXPECT_EQ(n2.ipv6_subnet.ToString(), "fd00:10:244:2::/64");
  EXPECT_EQ(n2.vtep_mac, "0e:4c:c0:a8:32:02");
  EXPECT_EQ(n2.vtep_mac_v6, "0e:6c:00:00:00:02");
}

TEST(StaticTopologyDualStackTest, Ipv6OnlyNeedsNoIpv4Keys) {
  auto t = ParseTopology(V6Only(R"({"name":"a","ipv6":"fd00:50::1","ipv6Subnet":"fd00:10:244:1::/64"},
                                   {"name":"b","ipv6":"fd00:50::2","ipv6Subnet":"fd00:10:244:2::/64"})"));
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_FALSE(t->config.enable_ipv4);
  EXPECT_TRUE(IsUnset(t->nodes[0].subnet));
  EXPECT_TRUE(IsUnset(t->nodes[0].node_ip));
  EXPECT_TRUE(t->nodes[0].vtep_mac.empty());
  EXPECT_EQ(t->nodes[0].vtep_mac_v6, "0e:6c:00:00:00:01");
  // Found by its IPv6 address.
  auto self = FindSelf(*t, std::nullopt, "host", {Ip("127.0.0.1"), Ip("fd00:50::2")});
  ASSERT_TRUE(self) << self.error().msg();
  EXPECT_EQ(self->name, "b");
}

TEST(StaticTopologyDualStackTest, Ipv6KeysOfAnIpv4OnlyClusterAreNotRead) {
  auto t = ParseTopology(WithNodes(
      R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24","ipv6":"fd00::1","ipv6Subnet":"fd00::/64"})"));
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_TRUE(IsUnset(t->nodes[0].ipv6_subnet));
  EXPECT_TRUE(t->nodes[0].vtep_mac_v6.empty());
}

TEST(StaticTopologyDualStackTest, Ipv6DefaultsFollowFlannel) {
  EXPECT_EQ(DefaultIpv6SubnetLen(48), 64);
  EXPECT_EQ(DefaultIpv6SubnetLen(62), 64);
  EXPECT_EQ(DefaultIpv6SubnetLen(63), 65);
  EXPECT_EQ(DefaultIpv6SubnetLen(120), 122);
  auto t = ParseTopology(
      R"({"enableIPv4": false, "enableIPv6": true, "ipv6Network": "fd00:10:244::/120",
          "nodes": [{"name":"a","ipv6":"fd00:50::1","ipv6Subnet":"fd00:10:244::40/122"}]})");
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->config.ipv6_subnet_len, 122);
}

TEST(StaticTopologyDualStackTest, BadClusterValuesNameTheKey) {
  const std::string node = R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24",
                               "ipv6":"fd00:50::1","ipv6Subnet":"fd00:10:244:1::/64"})";
  ExpectInvalid(R"({"enableIPv4": false, "enableIPv6": false, "nodes": [)" + node + "]}",
                "\"enableIPv4\" and \"enableIPv6\" are both false");
  ExpectInvalid(WithNodes(node, R"("enableIPv6": true,)"), "\"ipv6Network\" is missing");
  ExpectInvalid(R"({"network": "10.244.0.0/16", "enableIPv6": true, "ipv6Network": "10.245.0.0/16",
                    "nodes": [)" + node + "]}",
                "\"ipv6Network\" 10.245.0.0/16 must be IPv6");
  ExpectInvalid(R"({"network": "fd00::/48", "nodes": [)" + node + "]}",
                "\"network\" fd00::/48 must be IPv4");
  ExpectInvalid(R"({"enableIPv4": false, "enableIPv6": true, "ipv6Network": "fd00::/125",
                    "nodes": [)" + node + "]}",
                "smaller than a /124");
  ExpectInvalid(Dual(node, R"("ipv6SubnetLen": 127,)"), "\"ipv6SubnetLen\" 127 must be between");
  ExpectInvalid(R"({"enableIPv4": "no", "nodes": []})", "enableIPv4", cni::Code::kDecodingFailure);
}

TEST(StaticTopologyDualStackTest, BadNodeValuesNameTheNodeAndKey) {
  ExpectInvalid(Dual(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24"})"),
                "nodes[0] (a): \"ipv6\" is missing (the cluster enables IPv6)");
  ExpectInvalid(Dual(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24","ipv6":"fd00:50::1"})"),
                "\"ipv6Subnet\" is missing");
  ExpectInvalid(Dual(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24",
                         "ipv6":"10.0.0.9","ipv6Subnet":"fd00:10:244:1::/64"})"),
                "\"ipv6\" 10.0.0.9 must be IPv6");
  ExpectInvalid(Dual(R"({"name":"a","ip":"fd00:50::1","subnet":"10.244.1.0/24",
                         "ipv6":"fd00:50::1","ipv6Subnet":"fd00:10:244:1::/64"})"),
                "\"ip\" fd00:50::1 must be IPv4 (a node's IPv6 address goes in \"ipv6\")");
  ExpectInvalid(Dual(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24",
                         "ipv6":"fd00:50::1","ipv6Subnet":"fd00:10:244:1::5/64"})"),
                "did you mean fd00:10:244:1::/64");
  ExpectInvalid(Dual(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24",
                         "ipv6":"fd00:50::1","ipv6Subnet":"fd00:99::/64"})"),
                "node \"a\" rejected (outside_network): IPv6 subnet fd00:99::/64 is outside");
  ExpectInvalid(Dual(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24",
                         "ipv6":"fd00:50::1","ipv6Subnet":"fd00:10:244:1::/80"})"),
                "(wrong_length)");
  ExpectInvalid(Dual(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24",
                         "ipv6":"fd00:50::1","ipv6Subnet":"fd00:10:244:1::/64"},
                        {"name":"b","ip":"10.0.0.2","subnet":"10.244.2.0/24",
                         "ipv6":"fd00:50::2","ipv6Subnet":"fd00:10:244:1::/64"})"),
                "node \"b\" rejected (overlaps_peer): IPv6 subnet fd00:10:244:1::/64 overlaps that of \"a\"");
  ExpectInvalid(Dual(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24",
                         "ipv6":"fd00:50::1","ipv6Subnet":"fd00:10:244:1::/64"},
                        {"name":"b","ip":"10.0.0.2","subnet":"10.244.2.0/24",
                         "ipv6":"fd00:50::1","ipv6Subnet":"fd00:10:244:2::/64"})"),
                "same node IP fd00:50::1");
  ExpectInvalid(Dual(R"({"name":"a","ip":"10.0.0.1","subnet":"10.244.1.0/24",
                         "ipv6":"fd00:50::1","ipv6Subnet":"fd00:10:244:1::/64"},
                        {"name":"b","ip":"10.0.0.2","subnet":"10.244.2.0/24",
                         "ipv6":"fd00:51::1","ipv6Subnet":"fd00:10:244:2::/64"})"),
                "derived IPv6 VTEP MACs 0e:6c:00:00:00:01 would collide");
}

TEST(StaticTopologyDualStackTest, ExampleDualStackTopologyParses) {
  auto t = LoadTopologyFile(test::SourcePath("conf-examples/topology-dualstack.json"));
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->nodes.size(), 3u);
  EXPECT_TRUE(t->config.enable_ipv6);
}

TEST(FindSelfTest, ByNodeNameThenHostnameThenAddress) {
  auto t = ParseTopology(kThree);
  ASSERT_TRUE(t);
  std::vector<cni::IpAddr> addrs = {Ip("127.0.0.1"), Ip("192.168.50.3")};
  auto by_name = FindSelf(*t, std::string("n2"), "n1", addrs);
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->name, "n2");
  auto by_host = FindSelf(*t, std::nullopt, "n1", addrs);
  ASSERT_TRUE(by_host);
  EXPECT_EQ(by_host->name, "n1");
  auto by_ip = FindSelf(*t, std::nullopt, "somehost", addrs);
  ASSERT_TRUE(by_ip);
  EXPECT_EQ(by_ip->name, "n3");
}

TEST(FindSelfTest, AddressesAreNeededOnlyWhenNoNameDecides) {
  auto t = ParseTopology(kThree);
  ASSERT_TRUE(t);
  EXPECT_FALSE(NeedsLocalAddrs(*t, std::string("n2"), "somehost"));
  // A nodeName missing from the topology is an error, not a fall-back to addresses.
  EXPECT_FALSE(NeedsLocalAddrs(*t, std::string("n9"), "somehost"));
  EXPECT_FALSE(NeedsLocalAddrs(*t, std::nullopt, "n1"));
  EXPECT_FALSE(NeedsLocalAddrs(*t, std::string(""), "n3"));
  EXPECT_TRUE(NeedsLocalAddrs(*t, std::nullopt, "somehost"));
  EXPECT_TRUE(NeedsLocalAddrs(*t, std::string(""), ""));
  // Where it says no, FindSelf decides without them.
  auto by_host = FindSelf(*t, std::nullopt, "n1", {});
  ASSERT_TRUE(by_host);
  EXPECT_EQ(by_host->name, "n1");
}

TEST(FindSelfTest, NotInTopologyIsClear) {
  auto t = ParseTopology(kThree);
  ASSERT_TRUE(t);
  auto r = FindSelf(*t, std::nullopt, "somehost", {Ip("10.9.9.9")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(r.error().msg().find("not in the topology"), std::string::npos);
  EXPECT_NE(r.error().msg().find("10.9.9.9"), std::string::npos);
  auto named = FindSelf(*t, std::string("n9"), "n1", {Ip("192.168.50.1")});
  ASSERT_FALSE(named);
  EXPECT_NE(named.error().msg().find("n9"), std::string::npos);
}

TEST(FindSelfTest, PeersExcludeSelf) {
  auto t = ParseTopology(kThree);
  ASSERT_TRUE(t);
  auto peers = PeersOf(*t, t->nodes[0]);
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0].name, "n2");
  EXPECT_EQ(peers[1].name, "n3");
}

}  // namespace
}  // namespace linen::overlay
