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
