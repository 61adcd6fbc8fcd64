#include "overlay/registry/etcd/lease_codec.h"

#include <gtest/gtest.h>

namespace linen::etcd {
namespace {

TEST(NetworkConfig, FlannelDefaults) {
  auto c = ParseNetworkConfig(R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}})");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->cluster.network.ToString(), "10.244.0.0/16");
  EXPECT_EQ(c->cluster.subnet_len, 24);
  EXPECT_EQ(c->cluster.backend, overlay::BackendType::kVxlan);
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
  EXPECT_EQ(c->cluster.backend, overlay::BackendType::kHostGw);
  EXPECT_EQ(c->cluster.subnet_len, 20);
  EXPECT_FALSE(c->cluster.ip_masq);
  EXPECT_TRUE(c->cluster.direct_routing);
  EXPECT_EQ(c->cluster.mtu, 1400);
  EXPECT_EQ(c->cluster.vni, 7u);
  EXPECT_EQ(c->cluster.port, 4789);
}

TEST(NetworkConfig, RoundTrip) {
  overlay::ClusterConfig in;
  in.network = *cni::IpNet::Parse("10.7.0.0/16");
  in.subnet_len = 25;
  in.backend = overlay::BackendType::kVxlan;
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
  EXPECT_EQ(missing.error().code(), cni::Code::kDecodingFailure);

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

  // Whatever an operator put in etcd: floats and out-of-range numbers are named, not
  // converted (a float-to-int conversion out of range is undefined behaviour).
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

TEST(LeaseCodec, KeysFollowFlannel) {
  auto s = *cni::IpNet::Parse("10.244.3.0/24");
  EXPECT_EQ(SubnetKey("/p", s), "/p/subnets/10.244.3.0-24");
  auto back = SubnetFromKey("/p", "/p/subnets/10.244.3.0-24");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(SubnetFromKey("/p", "/q/subnets/10.244.3.0-24").has_value());
  EXPECT_FALSE(SubnetFromKey("/p", "/p/subnets/10.244.3.7-24").has_value());
  EXPECT_FALSE(SubnetFromKey("/p", "/p/subnets/garbage").has_value());
  auto v6 = SubnetFromKey("/p", "/p/subnets/fd00::-64");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->ToString(), "fd00::/64");
}

TEST(LeaseCodec, LeaseRoundTrip) {
  overlay::ClusterConfig cfg;
  cfg.backend = overlay::BackendType::kVxlan;
  cfg.vni = 3;
  overlay::NodeLease in{"node-a", *cni::IpAddr::Parse("192.168.5.2"),
                        *cni::IpNet::Parse("10.244.3.0/24"), "0e:4c:c0:a8:05:02"};
  std::string json = LeaseToJson(in, cfg);
  EXPECT_NE(json.find("\"PublicIP\":\"192.168.5.2\""), std::string::npos);
  EXPECT_NE(json.find("\"VNI\":3"), std::string::npos);
  EXPECT_NE(json.find("\"BackendType\":\"vxlan\""), std::string::npos);
  auto out = LeaseFromKv("/p", SubnetKey("/p", in.subnet), json);
  ASSERT_TRUE(out) << out.error().msg();
  EXPECT_EQ(*out, in);

  // A lease written by flannel itself (no NodeName) still reads.
  auto flannel = LeaseFromKv(
      "/p", "/p/subnets/10.244.9.0-24",
      R"({"PublicIP":"10.0.0.9","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}})");
  ASSERT_TRUE(flannel) << flannel.error().msg();
  EXPECT_EQ(flannel->vtep_mac, "aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(flannel->name, "");

  auto bad = LeaseFromKv("/p", "/p/subnets/10.244.9.0-24", R"({"PublicIP":5})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), cni::Code::kDecodingFailure);
}

}  // namespace
}  // namespace linen::etcd
