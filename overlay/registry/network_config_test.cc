#include "overlay/registry/network_config.h"

#include <gtest/gtest.h>

namespace linen::overlay {
namespace {

TEST(NetworkConfig, FlannelDefaults) {
  auto c = ParseNetworkConfig(R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}})");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->cluster.network.ToString(), "10.244.0.0/16");
  EXPECT_EQ(c->cluster.subnet_len, 24);
  EXPECT_EQ(c->cluster.backend, BackendType::kVxlan);
  EXPECT_EQ(c->cluster.vni, 1u);
  EXPECT_EQ(c->cluster.port, 8472);
  EXPECT_TRUE(c->cluster.ip_masq);
  EXPECT_EQ(c->subnet_min.ToString(), "10.244.1.0");
  EXPECT_EQ(c->subnet_max.ToString(), "10.244.255.0");

  auto small = ParseNetworkConfig(R"({"Network":"10.1.0.0/24"})");
  ASSERT_TRUE(small) << small.error().msg();
  EXPECT_EQ(small->cluster.subnet_len, 26);  // prefix + 2 above /22
}

TEST(NetworkConfig, BackendOptions) {
  auto c = ParseNetworkConfig(
      R"({"Network":"10.5.0.0/16","SubnetLen":20,"IPMasq":false,
          "Backend":{"Type":"host-gw","DirectRouting":true,"MTU":1400,"VNI":7,"Port":4789}})");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->cluster.backend, BackendType::kHostGw);
  EXPECT_EQ(c->cluster.subnet_len, 20);
  EXPECT_FALSE(c->cluster.ip_masq);
  EXPECT_TRUE(c->cluster.direct_routing);
  EXPECT_EQ(c->cluster.mtu, 1400);
  EXPECT_EQ(c->cluster.vni, 7u);
  EXPECT_EQ(c->cluster.port, 4789);
}

TEST(NetworkConfig, RoundTrip) {
  ClusterConfig in;
  in.network = *cni::IpNet::Parse("10.7.0.0/16");
  in.subnet_len = 25;
  in.backend = BackendType::kVxlan;
  in.vni = 42;
  in.ip_masq = false;
  auto out = ParseNetworkConfig(NetworkConfigToJson(in));
  ASSERT_TRUE(out) << out.error().msg();
  EXPECT_EQ(out->cluster.network, in.network);
  EXPECT_EQ(out->cluster.subnet_len, 25);
  EXPECT_EQ(out->cluster.vni, 42u);
  EXPECT_FALSE(out->cluster.ip_masq);
}

TEST(NetworkConfig, Errors) {
  auto bad_json = ParseNetworkConfig("{not json");
  ASSERT_FALSE(bad_json);
  EXPECT_EQ(bad_json.error().code(), cni::Code::kDecodingFailure);

  auto missing = ParseNetworkConfig(R"({"SubnetLen":24})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(missing.error().msg().find("Network is missing"), std::string::npos);

  auto tiny = ParseNetworkConfig(R"({"Network":"10.0.0.0/29"})");
  ASSERT_FALSE(tiny);
  EXPECT_EQ(tiny.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(tiny.error().msg().find("smaller than /28"), std::string::npos);

  auto len = ParseNetworkConfig(R"({"Network":"10.0.0.0/16","SubnetLen":12})");
  ASSERT_FALSE(len);
  EXPECT_EQ(len.error().code(), cni::Code::kInvalidNetworkConfig);

  auto backend = ParseNetworkConfig(R"({"Network":"10.0.0.0/16","Backend":{"Type":"udp"}})");
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.error().code(), cni::Code::kInvalidNetworkConfig);

  auto min = ParseNetworkConfig(R"({"Network":"10.0.0.0/16","SubnetMin":"10.0.1.5"})");
  ASSERT_FALSE(min);
  EXPECT_EQ(min.error().code(), cni::Code::kInvalidNetworkConfig);

  // Whatever an operator put in etcd or a ConfigMap: floats and out-of-range numbers
  // are named, not converted (a float-to-int conversion out of range is undefined
  // behaviour).
  for (const char* doc : {R"({"Network":"10.0.0.0/16","SubnetLen":24.5})",
                          R"({"Network":"10.0.0.0/16","Backend":{"Port":84666666600213390862072}})",
                          R"({"Network":"10.0.0.0/16","Backend":{"Port":70000}})",
                          R"({"Network":"10.0.0.0/16","Backend":{"VNI":-1}})",
                          R"({"Network":"10.0.0.0/16","Backend":{"MTU":1e300}})"}) {
    auto r = ParseNetworkConfig(doc);
    ASSERT_FALSE(r) << doc;
    EXPECT_EQ(r.error().code(), cni::Code::kDecodingFailure) << doc;
    EXPECT_NE(r.error().msg().find("expected integer"), std::string::npos) << r.error().msg();
  }
}

TEST(NetworkConfig, DualStackFlannelKeys) {
  auto c = ParseNetworkConfig(R"({"Network":"10.244.0.0/16","EnableIPv6":true,
                                  "IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}})");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_TRUE(c->cluster.enable_ipv4);
  EXPECT_TRUE(c->cluster.enable_ipv6);
  EXPECT_EQ(c->cluster.ipv6_network.ToString(), "fd00:10:244::/56");
  EXPECT_EQ(c->cluster.ipv6_subnet_len, 64);
  EXPECT_EQ(c->ipv6_subnet_min.ToString(), "fd00:10:244:1::");
  EXPECT_EQ(c->ipv6_subnet_max.ToString(), "fd00:10:244:ff::");
  EXPECT_EQ(c->subnet_min.ToString(), "10.244.1.0");

  // flannel's IPv6SubnetLen default: 64 up to a /62, else prefix + 2.
  auto p62 = ParseNetworkConfig(R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/62"})");
  ASSERT_TRUE(p62) << p62.error().msg();
  EXPECT_EQ(p62->cluster.ipv6_subnet_len, 64);
  auto p100 = ParseNetworkConfig(R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/100"})");
  ASSERT_TRUE(p100) << p100.error().msg();
  EXPECT_EQ(p100->cluster.ipv6_subnet_len, 102);

  auto opts = ParseNetworkConfig(R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/48",
                                     "IPv6SubnetLen":80,"IPv6SubnetMin":"fd00:0:0:5::",
                                     "IPv6SubnetMax":"fd00:0:0:6::"})");
  ASSERT_TRUE(opts) << opts.error().msg();
  EXPECT_FALSE(opts->cluster.enable_ipv4);
  EXPECT_EQ(opts->cluster.ipv6_subnet_len, 80);
  EXPECT_EQ(opts->ipv6_subnet_min.ToString(), "fd00:0:0:5::");
  EXPECT_EQ(opts->ipv6_subnet_max.ToString(), "fd00:0:0:6::");
}

TEST(NetworkConfig, Ipv6OnlyNeedsNoNetworkAndIgnoresIt) {
  // IPv4 off: Network is neither required nor read (flannel reads no disabled family).
  auto c = ParseNetworkConfig(R"({"EnableIPv4":false,"EnableIPv6":true,"Network":"junk",
                                  "IPv6Network":"fd00:10:244::/56"})");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_FALSE(c->cluster.enable_ipv4);
  EXPECT_TRUE(IsUnset(c->cluster.network));
}

TEST(NetworkConfig, BadDualStackValuesAreCode7NamingTheKey) {
  struct Case {
    const char* doc;
    const char* words;
  };
  for (const Case& k : std::vector<Case>{
           {R"({"Network":"10.244.0.0/16","EnableIPv6":true})", "IPv6Network is missing"},
           {R"({"EnableIPv4":false,"EnableIPv6":true})", "IPv6Network is missing"},
           {R"({"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"10.245.0.0/16"})",
            "IPv6Network 10.245.0.0/16 is not IPv6"},
           {R"({"Network":"fd00::/48"})", "Network fd00::/48 is not IPv4"},
           {R"({"EnableIPv4":false,"Network":"10.244.0.0/16"})", "both false"},
           {R"({"EnableIPv4":false,"EnableIPv6":false})", "both false"},
           {R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/125"})",
            "IPv6Network fd00::/125 is smaller than /124"},
           {R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/48","IPv6SubnetLen":48})",
            "IPv6SubnetLen 48 does not fit"},
           {R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/48","IPv6SubnetLen":127})",
            "IPv6SubnetLen 127 does not fit"},
           {R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/48",
                "IPv6SubnetMin":"fd00:0:0:5::1"})",
            "IPv6SubnetMin fd00:0:0:5::1 is not a /64 subnet"},
           {R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/48",
                "IPv6SubnetMax":"fd01::"})",
            "IPv6SubnetMax fd01:: is not a /64 subnet"},
           {R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/48",
                "IPv6SubnetMin":"fd00:0:0:6::","IPv6SubnetMax":"fd00:0:0:5::"})",
            "IPv6SubnetMax is below IPv6SubnetMin"},
           {R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"nope"})", "IPv6Network"},
       }) {
    auto r = ParseNetworkConfig(k.doc);
    ASSERT_FALSE(r) << k.doc;
    EXPECT_EQ(r.error().code(), cni::Code::kInvalidNetworkConfig) << k.doc << ": " << r.error().msg();
    EXPECT_NE(r.error().msg().find(k.words), std::string::npos) << r.error().msg();
  }
  auto type = ParseNetworkConfig(R"({"Network":"10.244.0.0/16","EnableIPv6":"yes"})");
  ASSERT_FALSE(type);
  EXPECT_EQ(type.error().code(), cni::Code::kDecodingFailure);
  EXPECT_NE(type.error().msg().find("EnableIPv6"), std::string::npos) << type.error().msg();
}

TEST(NetworkConfig, DualStackAndIpv6OnlyRoundTrip) {
  ClusterConfig in;
  in.network = *cni::IpNet::Parse("10.7.0.0/16");
  in.enable_ipv6 = true;
  in.ipv6_network = *cni::IpNet::Parse("fd00:7::/48");
  in.ipv6_subnet_len = 80;
  auto out = ParseNetworkConfig(NetworkConfigToJson(in));
  ASSERT_TRUE(out) << out.error().msg();
  EXPECT_EQ(out->cluster.network, in.network);
  EXPECT_TRUE(out->cluster.enable_ipv6);
  EXPECT_EQ(out->cluster.ipv6_network, in.ipv6_network);
  EXPECT_EQ(out->cluster.ipv6_subnet_len, 80);
  in.enable_ipv4 = false;
  in.network = {};
  const std::string json = NetworkConfigToJson(in);
  EXPECT_EQ(json.find("\"Network\""), std::string::npos) << json;
  out = ParseNetworkConfig(json);
  ASSERT_TRUE(out) << out.error().msg();
  EXPECT_FALSE(out->cluster.enable_ipv4);
  EXPECT_TRUE(out->cluster.enable_ipv6);
}

}  // namespace
}  // namespace linen::overlay
