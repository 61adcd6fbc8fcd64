#include "overlay/plugin/meta_conf.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "overlay/plugin/delegate.h"
#include "test/support/test_support.h"

namespace linen::overlay {
namespace {

constexpr const char* kTopo = R"({"network": "10.244.0.0/16", "nodes": [
    {"name": "n1", "ip": "192.168.50.1", "subnet": "10.244.1.0/24"}]})";

cni::NetConf Conf(const std::string& body, const std::string& type = "vxlan") {
  auto c = cni::ParseNetConf(R"({"cniVersion":"1.0.0","name":"pods","type":")" + type + "\"" +
                             (body.empty() ? "" : ",") + body + "}");
  EXPECT_TRUE(c) << c.error().msg();
  return *c;
}

TEST(MetaConfTest, StaticModeWithInlineTopology) {
  auto m = ParseMetaConf(Conf(std::string(R"("topology": )") + kTopo +
                              R"(, "nodeName": "n1", "subnetFile": "/tmp/x/subnet.env")"));
  ASSERT_TRUE(m) << m.error().msg();
  EXPECT_FALSE(m->agent_mode());
  EXPECT_EQ(m->backend, BackendType::kVxlan);
  EXPECT_EQ(m->node_name, "n1");
  EXPECT_EQ(m->topology->nodes.size(), 1u);
  EXPECT_EQ(m->LockPath("pods"), "/tmp/x/pods.lock");
}

TEST(MetaConfTest, AgentModeWithoutTopology) {
  auto m = ParseMetaConf(Conf(""));
  ASSERT_TRUE(m) << m.error().msg();
  EXPECT_TRUE(m->agent_mode());
  EXPECT_EQ(m->subnet_file, "/run/linen/subnet.env");
  EXPECT_EQ(m->LockPath("pods"), "/run/linen/pods.lock");
}

TEST(MetaConfTest, Refusals) {
  auto wrong_type = ParseMetaConf(Conf("", "flannel"));
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().code(), cni::Code::kInvalidNetworkConfig);

  auto mismatch = ParseMetaConf(
      Conf(R"("topology": {"network": "10.244.0.0/16", "backend": "vxlan", "nodes": [
              {"name": "n1", "ip": "192.168.50.1", "subnet": "10.244.1.0/24"}]})", "host-gw"));
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().msg().find("does not match"), std::string::npos);

  auto bad_topo = ParseMetaConf(Conf(R"("topology": {"network": "10.244.0.0/16", "nodes": [
      {"name": "a", "ip": "10.0.0.1", "subnet": "10.244.1.0/24"},
      {"name": "b", "ip": "10.0.0.2", "subnet": "10.244.1.0/24"}]})"));
  ASSERT_FALSE(bad_topo);
  EXPECT_EQ(bad_topo.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(bad_topo.error().msg().find("overlap"), std::string::npos);

  auto ranges = ParseMetaConf(Conf(R"("ipam": {"ranges": []})"));
  ASSERT_FALSE(ranges);
  EXPECT_NE(ranges.error().msg().find("ranges"), std::string::npos);

  auto bad_json_type = ParseMetaConf(Conf(R"("subnetFile": 5)"));
  ASSERT_FALSE(bad_json_type);
  EXPECT_EQ(bad_json_type.error().code(), cni::Code::kDecodingFailure);

  auto missing_file = ParseMetaConf(Conf(R"("topology": "/nonexistent/topology.json")"));
  ASSERT_FALSE(missing_file);
  EXPECT_EQ(missing_file.error().code(), cni::Code::kIoFailure);
}

// The shipped conflists are valid meta-plugin configs once the topology path points
// at the shipped topology (on a node it is /etc/linen/topology.json).
TEST(MetaConfTest, ExampleConflistsParse) {
  for (const char* file : {"conf-examples/vxlan.conflist", "conf-examples/host-gw.conflist"}) {
    std::ifstream in(test::SourcePath(file));
    ASSERT_TRUE(in) << file;
    std::stringstream ss;
    ss << in.rdbuf();
    auto list = cni::json::parse(ss.str());
    cni::json plugin = list["plugins"][0];
    EXPECT_EQ(plugin["topology"], "/etc/linen/topology.json");
    plugin["topology"] = test::SourcePath("conf-examples/topology.json");
    plugin["cniVersion"] = list["cniVersion"];
    plugin["name"] = list["name"];
    auto conf = cni::ParseNetConf(plugin.dump());
    ASSERT_TRUE(conf) << conf.error().msg();
    auto m = ParseMetaConf(*conf);
    ASSERT_TRUE(m) << file << ": " << m.error().msg();
    EXPECT_EQ(m->topology->nodes.size(), 3u);
    EXPECT_EQ(BackendName(m->backend), plugin["type"].get<std::string>());
  }
}

TEST(DelegateTest, RendersBridgeOverNodeSubnetWithOverrides) {
  cni::NetConf conf = Conf(R"("delegate": {"bridge": "br-pods", "hairpinMode": false},
                              "ipam": {"dataDir": "/tmp/ipam"},
                              "runtimeConfig": {"mac": "0a:00:00:00:00:01"})");
  auto m = ParseMetaConf(conf);
  ASSERT_TRUE(m) << m.error().msg();
  NodeNet n{*cni::IpNet::Parse("10.244.0.0/16"), *cni::IpNet::Parse("10.244.3.0/24"), 1450, true};
  cni::json d = RenderDelegate(conf, *m, n);
  EXPECT_EQ(d["type"], "bridge");
  EXPECT_EQ(d["name"], "pods");
  EXPECT_EQ(d["cniVersion"], "1.0.0");
  EXPECT_EQ(d["bridge"], "br-pods");
  EXPECT_EQ(d["hairpinMode"], false);
  EXPECT_EQ(d["isGateway"], true);
  EXPECT_EQ(d["isDefaultGateway"], true);
  EXPECT_EQ(d["ipMasq"], false);
  EXPECT_EQ(d["mtu"], 1450);
  EXPECT_EQ(d["ipam"]["type"], "host-local");
  EXPECT_EQ(d["ipam"]["dataDir"], "/tmp/ipam");
  EXPECT_EQ(d["ipam"]["ranges"][0][0]["subnet"], "10.244.3.0/24");
  EXPECT_EQ(d["runtimeConfig"]["mac"], "0a:00:00:00:00:01");
  EXPECT_EQ(DelegateType(d), "bridge");
}

// flannel's CNI plugin: one range set per family of subnet.env, so the pod gets an
// address of each; the bridge's isDefaultGateway adds a default route per family.
TEST(DelegateTest, DualStackAndIpv6OnlyGetOneRangePerFamily) {
  cni::NetConf conf = Conf("");
  auto m = ParseMetaConf(conf);
  ASSERT_TRUE(m) << m.error().msg();
  NodeNet n{*cni::IpNet::Parse("10.244.0.0/16"), *cni::IpNet::Parse("10.244.3.0/24"), 1430, true,
            *cni::IpNet::Parse("fd00:10:244::/56"), *cni::IpNet::Parse("fd00:10:244:3::/64")};
  cni::json d = RenderDelegate(conf, *m, n);
  ASSERT_EQ(d["ipam"]["ranges"].size(), 2u) << d.dump();
  EXPECT_EQ(d["ipam"]["ranges"][0][0]["subnet"], "10.244.3.0/24");
  EXPECT_EQ(d["ipam"]["ranges"][1][0]["subnet"], "fd00:10:244:3::/64");
  EXPECT_EQ(d["isDefaultGateway"], true);
  EXPECT_EQ(n.Networks().size(), 2u);

  NodeNet v6;
  v6.mtu = 1430;
  v6.ipv6_network = *cni::IpNet::Parse("fd00:10:244::/56");
  v6.ipv6_subnet = *cni::IpNet::Parse("fd00:10:244:3::/64");
  d = RenderDelegate(conf, *m, v6);
  ASSERT_EQ(d["ipam"]["ranges"].size(), 1u) << d.dump();
  EXPECT_EQ(d["ipam"]["ranges"][0][0]["subnet"], "fd00:10:244:3::/64");
  ASSERT_EQ(v6.Networks().size(), 1u);
  EXPECT_EQ(v6.Networks()[0].ToString(), "fd00:10:244::/56");
}

}  // namespace
}  // namespace linen::overlay
