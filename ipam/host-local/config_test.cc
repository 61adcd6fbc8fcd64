#include "ipam/host-local/config.h"

#include <gtest/gtest.h>

#include "ipam/host-local/test_util.h"

namespace host_local {
namespace {

using testing::Ip;

cni::Result<IpamConfig> Load(const std::string& json,
                             const std::map<std::string, std::string>& env = {}) {
  return LoadIpamConfig(json, env);
}

cni::Error LoadError(const std::string& json) {
  auto r = Load(json);
  EXPECT_FALSE(r.ok()) << json;
  return r.ok() ? cni::Error(cni::Code::kOk, "") : r.error();
}

TEST(HostLocalConfigTest, RangesLegacyAndRuntimeRangesInReferenceOrder) {
  auto c = Load(R"({"cniVersion":"1.0.0","name":"net1","type":"bridge",
    "runtimeConfig":{"ipRanges":[[{"subnet":"10.9.0.0/24"}]]},
    "ipam":{"type":"host-local","subnet":"10.1.0.0/24","rangeStart":"10.1.0.10",
            "ranges":[[{"subnet":"10.2.0.0/24"},{"subnet":"10.3.0.0/24","gateway":"10.3.0.254"}],
                      [{"subnet":"fd00::/64"}]],
            "routes":[{"dst":"0.0.0.0/0"},{"dst":"192.168.0.0/16","gw":"10.1.0.1","priority":5}],
            "dataDir":"/tmp/x"}})");
  ASSERT_TRUE(c.ok()) << c.error().msg();
  EXPECT_EQ(c->name, "net1");
  EXPECT_EQ(c->cni_version, "1.0.0");
  ASSERT_EQ(c->ranges.size(), 4u);
  EXPECT_EQ(c->ranges[0][0].subnet.ToString(), "10.9.0.0/24");
  EXPECT_EQ(c->ranges[1][0].start, Ip("10.1.0.10"));
  EXPECT_EQ(c->ranges[2].size(), 2u);
  EXPECT_EQ(c->ranges[2][1].gateway, Ip("10.3.0.254"));
  EXPECT_EQ(c->ranges[3].family(), cni::Family::kV6);
  ASSERT_EQ(c->routes.size(), 2u);
  EXPECT_EQ(c->routes[0].dst.ToString(), "0.0.0.0/0");
  EXPECT_FALSE(c->routes[0].gw.has_value());
  EXPECT_EQ(c->routes[1].gw, Ip("10.1.0.1"));
  EXPECT_EQ(c->routes[1].priority, 5);
  EXPECT_EQ(c->data_dir, "/tmp/x");
}

TEST(HostLocalConfigTest, Defaults) {
  auto c = Load(R"({"cniVersion":"0.3.1","name":"n","ipam":{"type":"host-local",
                   "ranges":[[{"subnet":"10.1.0.0/24"}]]}})");
  ASSERT_TRUE(c.ok()) << c.error().msg();
  EXPECT_EQ(c->data_dir, "/var/lib/cni/networks");
  EXPECT_TRUE(c->resolv_conf.empty());
  EXPECT_TRUE(c->routes.empty());
  EXPECT_TRUE(c->requested.empty());
}

TEST(HostLocalConfigTest, RequestedIpsFromAllThreeSourcesInOrder) {
  auto c = Load(R"({"cniVersion":"1.0.0","name":"n",
    "args":{"cni":{"ips":["10.1.0.20","fd00::20/64"]}},
    "runtimeConfig":{"ips":["10.1.0.30/24"]},
    "ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"fd00::/64"}]]}})",
                {{"IP", "10.1.0.10"}, {"K8S_POD_NAME", "ignored"}});
  ASSERT_TRUE(c.ok()) << c.error().msg();
  std::vector<std::string> got;
  for (const auto& ip : c->requested) got.push_back(ip.ToString());
  EXPECT_EQ(got, (std::vector<std::string>{"10.1.0.10", "10.1.0.20", "fd00::20", "10.1.0.30"}));
}

TEST(HostLocalConfigTest, BadRequestedIpIsCode7) {
  auto c = LoadIpamConfig(R"({"name":"n","ipam":{"subnet":"10.1.0.0/24"}})", {{"IP", "10.1.0.x"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(c.error().msg().find("10.1.0.x"), std::string::npos);
}

TEST(HostLocalConfigTest, ValidationErrorsAreCode7AndSayWhat) {
  struct Case {
    const char* json;
    const char* needle;
  } cases[] = {
      {R"({"name":"n"})", "missing 'ipam'"},
      {R"({"name":"n","ipam":{"type":"host-local"}})", "no IP ranges"},
      {R"({"name":"n","ipam":{"ranges":[[]]}})", "empty range set"},
      {R"({"name":"n","ipam":{"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.0.0.0/16"}]]}})",
       "range set 0 (10.0.0.1-10.0.0.254) overlaps with range set 1"},
      {R"({"name":"n","ipam":{"ranges":[[{"subnet":"10.0.0.0/24","rangeEnd":"10.0.1.1"}]]}})",
       "rangeEnd 10.0.1.1 not in network 10.0.0.0/24"},
      {R"({"name":"n","ipam":{"ranges":[[{"subnet":"10.0.0.0/33"}]]}})", "10.0.0.0/33"},
      {R"({"name":"n","ipam":{"ranges":[[{"subnet":"10.0.0.0/31"}]]}})", "too small"},
      {R"({"name":"n","ipam":{"ranges":[[{"rangeStart":"10.0.0.1"}]]}})", "missing \"subnet\""},
      {R"({"name":"n","ipam":{"subnet":"10.0.0.0/24","routes":[{"gw":"10.0.0.1"}]}})",
       "missing \"dst\""},
      {R"({"name":"n","ipam":{"subnet":"10.0.0.0/24","routes":[{"dst":"10.5.0.0"}]}})",
       "not a CIDR"},
      {R"({"cniVersion":"0.2.0","name":"n","ipam":{"ranges":[[{"subnet":"10.0.0.0/24"}],
          [{"subnet":"10.1.0.0/24"}]]}})",
       "does not support more than 1 address per family"},
  };
  for (const Case& c : cases) {
    cni::Error e = LoadError(c.json);
    EXPECT_EQ(e.code(), cni::Code::kInvalidNetworkConfig) << c.json << " -> " << e.msg();
    EXPECT_NE(e.msg().find(c.needle), std::string::npos) << c.json << " -> " << e.msg();
  }
}

TEST(HostLocalConfigTest, TypeAndSyntaxErrorsAreCode6) {
  for (const char* json : {
           R"({"name":"n","ipam":{"subnet":10}})",
           R"({"name":"n","ipam":{"ranges":{"subnet":"10.0.0.0/24"}}})",
           R"({"name":"n","ipam":{"subnet":"10.0.0.0/24","dataDir":5}})",
           R"({"name":"n","ipam":{"subnet":"10.0.0.0/24","routes":[{"dst":"1.0.0.0/8","mtu":"x"}]}})",
           R"({"name":"n","ipam":{"subnet":"10.0.0.0/24","routes":[{"dst":"1.0.0.0/8","mtu":1e30}]}})",
           R"({"name":"n","ipam":{"subnet":"10.0.0.0/24","routes":[{"dst":"1.0.0.0/8","table":4294967297}]}})",
           R"({"name":"n","ipam":)",
           R"([1,2])",
       }) {
    cni::Error e = LoadError(json);
    EXPECT_EQ(e.code(), cni::Code::kDecodingFailure) << json << " -> " << e.msg();
  }
}

TEST(HostLocalConfigTest, DualStackAllowedOnOldVersionWithOnePerFamily) {
  auto c = Load(R"({"cniVersion":"0.2.0","name":"n","ipam":{"ranges":[[{"subnet":"10.0.0.0/24"}],
                   [{"subnet":"fd00::/64"}]]}})");
  EXPECT_TRUE(c.ok()) << c.error().msg();
}

TEST(HostLocalConfigTest, ValidAttachmentsBothKeys) {
  auto a = ParseValidAttachments(
      R"({"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]})");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].container_id, "c1");
  EXPECT_EQ((*a)[0].ifname, "eth0");
  auto old = ParseValidAttachments(
      R"({"cni.dev/attachments":[{"containerID":"c2","ifname":"net1"}]})");
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->size(), 1u);
  EXPECT_EQ((*old)[0].container_id, "c2");
  auto none = ParseValidAttachments(R"({"name":"n"})");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(ParseValidAttachments(R"({"cni.dev/valid-attachments":[{"ifname":"x"}]})").ok());
  EXPECT_FALSE(ParseValidAttachments(R"({"cni.dev/valid-attachments":"x"})").ok());
}

}  // namespace
}  // namespace host_local
