#include "overlay/registry/etcd/lease_codec.h"

#include <gtest/gtest.h>

namespace linen::etcd {
namespace {

TEST(LeaseCodec, KeysFollowFlannel) {
  auto s = *cni::IpNet::Parse("10.244.3.0/24");
  EXPECT_EQ(SubnetKey("/p", s), "/p/subnets/10.244.3.0-24");
  auto back = SubnetsFromKey("/p", "/p/subnets/10.244.3.0-24");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->subnet, s);
  EXPECT_TRUE(overlay::IsUnset(back->ipv6_subnet));
  EXPECT_FALSE(SubnetsFromKey("/p", "/q/subnets/10.244.3.0-24").has_value());
  EXPECT_FALSE(SubnetsFromKey("/p", "/p/subnets/10.244.3.7-24").has_value());
  EXPECT_FALSE(SubnetsFromKey("/p", "/p/subnets/garbage").has_value());
}

// flannel's MakeSubnetKey (pkg/subnet/subnet.go): sn.StringSep(".", "-") + "&" +
// sn6.StringSep(":", "-"), the IPv4 part being the empty 0.0.0.0-0 when IPv4 is off.
TEST(LeaseCodec, DualStackAndIpv6OnlyKeysFollowFlannel) {
  auto v4 = *cni::IpNet::Parse("10.244.3.0/24");
  auto v6 = *cni::IpNet::Parse("fd00:10:244:3::/64");
  EXPECT_EQ(SubnetKey("/p", v4, v6), "/p/subnets/10.244.3.0-24&fd00:10:244:3::-64");
  EXPECT_EQ(SubnetKey("/p", {}, v6), "/p/subnets/0.0.0.0-0&fd00:10:244:3::-64");
  overlay::NodeLease l;
  l.subnet = v4;
  l.ipv6_subnet = v6;
  EXPECT_EQ(SubnetKey("/p", l), "/p/subnets/10.244.3.0-24&fd00:10:244:3::-64");

  auto dual = SubnetsFromKey("/p", "/p/subnets/10.244.3.0-24&fd00:10:244:3::-64");
  ASSERT_TRUE(dual.has_value());
  EXPECT_EQ(dual->subnet, v4);
  EXPECT_EQ(dual->ipv6_subnet, v6);
  auto v6only = SubnetsFromKey("/p", "/p/subnets/0.0.0.0-0&fd00:10:244:3::-64");
  ASSERT_TRUE(v6only.has_value());
  EXPECT_TRUE(overlay::IsUnset(v6only->subnet));
  EXPECT_EQ(v6only->ipv6_subnet, v6);
}

TEST(LeaseCodec, KeysNotInFlannelsFormAreRefused) {
  for (const char* tail : {"fd00::-64",                          // IPv6 without the IPv4 part
                           "0.0.0.0-0",                          // names nothing
                           "0.0.0.0-0&",                         // empty IPv6 part
                           "10.244.3.0-24&10.244.4.0-24",        // IPv4 in the IPv6 slot
                           "fd00:10:244:3::-64&10.244.3.0-24",   // swapped
                           "10.244.3.0-24&fd00:10:244:3::5-64",  // host bits
                           "10.244.3.0-24&fd00:10:244:3::-64&fd00::-64",
                           "10.244.3.0-24&fd00:10:244:3::-129", "::ffff:10.244.3.0-24"}) {
    EXPECT_FALSE(SubnetsFromKey("/p", std::string("/p/subnets/") + tail).has_value()) << tail;
  }
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

overlay::ClusterConfig DualVxlan() {
  overlay::ClusterConfig cfg;
  cfg.network = *cni::IpNet::Parse("10.244.0.0/16");
  cfg.enable_ipv6 = true;
  cfg.ipv6_network = *cni::IpNet::Parse("fd00:10:244::/56");
  cfg.backend = overlay::BackendType::kVxlan;
  return cfg;
}

// What flannel's etcd local manager writes for a dual-stack vxlan node: the key from
// MakeSubnetKey, the value lease.LeaseAttrs marshalled by encoding/json (field order
// and null PublicIPv6 handling as in pkg/lease/lease.go; BackendData/BackendV6Data
// from pkg/backend/vxlan newSubnetAttrs).
TEST(LeaseCodec, FlannelDualStackLeaseDecodes) {
  auto l = LeaseFromKv(
      "/coreos.com/network", "/coreos.com/network/subnets/10.244.5.0-24&fd00:10:244:5::-64",
      R"({"PublicIP":"192.168.50.5","PublicIPv6":"fd00:50::5","BackendType":"vxlan",)"
      R"("BackendData":{"VNI":1,"VtepMAC":"86:3a:9c:11:22:33"},)"
      R"("BackendV6Data":{"VNI":1,"VtepMAC":"9a:e1:04:44:55:66"}})");
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_EQ(l->name, "");
  EXPECT_EQ(l->subnet.ToString(), "10.244.5.0/24");
  EXPECT_EQ(l->node_ip.ToString(), "192.168.50.5");
  EXPECT_EQ(l->vtep_mac, "86:3a:9c:11:22:33");
  EXPECT_EQ(l->ipv6_subnet.ToString(), "fd00:10:244:5::/64");
  EXPECT_EQ(l->node_ipv6.ToString(), "fd00:50::5");
  EXPECT_EQ(l->vtep_mac_v6, "9a:e1:04:44:55:66");
}

// flannel IPv6-only: PublicIP is the zero ip.IP4 ("0.0.0.0"), BackendData is omitted
// (omitempty), the key's IPv4 part is 0.0.0.0-0.
TEST(LeaseCodec, FlannelIpv6OnlyLeaseDecodes) {
  auto l = LeaseFromKv(
      "/coreos.com/network", "/coreos.com/network/subnets/0.0.0.0-0&fd00:10:244:5::-64",
      R"({"PublicIP":"0.0.0.0","PublicIPv6":"fd00:50::5","BackendType":"vxlan",)"
      R"("BackendV6Data":{"VNI":1,"VtepMAC":"9a:e1:04:44:55:66"}})");
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_TRUE(overlay::IsUnset(l->subnet));
  EXPECT_TRUE(overlay::IsUnset(l->node_ip));
  EXPECT_EQ(l->vtep_mac, "");
  EXPECT_EQ(l->ipv6_subnet.ToString(), "fd00:10:244:5::/64");
  EXPECT_EQ(l->node_ipv6.ToString(), "fd00:50::5");
  EXPECT_EQ(l->vtep_mac_v6, "9a:e1:04:44:55:66");
  // And it passes validation in an IPv6-only cluster.
  overlay::ClusterConfig cfg = DualVxlan();
  cfg.enable_ipv4 = false;
  overlay::LeaseCandidate c{"k", "v", 1, *l, "", "vxlan"};
  EXPECT_FALSE(overlay::CheckLease(cfg, {}, c).has_value());
}

TEST(LeaseCodec, DualStackLeaseRoundTripsInFlannelsFields) {
  overlay::NodeLease in;
  in.name = "node-a";
  in.node_ip = *cni::IpAddr::Parse("192.168.5.2");
  in.subnet = *cni::IpNet::Parse("10.244.3.0/24");
  in.vtep_mac = "0e:4c:c0:a8:05:02";
  in.node_ipv6 = *cni::IpAddr::Parse("fd00:50::2");
  in.ipv6_subnet = *cni::IpNet::Parse("fd00:10:244:3::/64");
  in.vtep_mac_v6 = "0e:6c:00:00:00:02";
  const std::string json = LeaseToJson(in, DualVxlan());
  for (const char* part : {R"("PublicIP":"192.168.5.2")", R"("PublicIPv6":"fd00:50::2")",
                           R"("BackendData":{"VNI":1,"VtepMAC":"0e:4c:c0:a8:05:02"})",
                           R"("BackendV6Data":{"VNI":1,"VtepMAC":"0e:6c:00:00:00:02"})"}) {
    EXPECT_NE(json.find(part), std::string::npos) << part << " in " << json;
  }
  auto out = LeaseFromKv("/p", SubnetKey("/p", in), json);
  ASSERT_TRUE(out) << out.error().msg();
  EXPECT_EQ(*out, in);

  // IPv6-only: flannel's placeholders for the absent family.
  overlay::ClusterConfig v6 = DualVxlan();
  v6.enable_ipv4 = false;
  overlay::NodeLease only6 = overlay::EnabledFamiliesOnly(v6, in);
  const std::string j6 = LeaseToJson(only6, v6);
  EXPECT_NE(j6.find(R"("PublicIP":"0.0.0.0")"), std::string::npos) << j6;
  EXPECT_EQ(j6.find(R"("BackendData")"), std::string::npos) << j6;
  EXPECT_EQ(SubnetKey("/p", only6), "/p/subnets/0.0.0.0-0&fd00:10:244:3::-64");
  out = LeaseFromKv("/p", SubnetKey("/p", only6), j6);
  ASSERT_TRUE(out) << out.error().msg();
  EXPECT_EQ(*out, only6);

  // IPv4-only: PublicIPv6 null, as flannel writes it.
  overlay::ClusterConfig v4 = DualVxlan();
  v4.enable_ipv6 = false;
  const std::string j4 = LeaseToJson(overlay::EnabledFamiliesOnly(v4, in), v4);
  EXPECT_NE(j4.find(R"("PublicIPv6":null)"), std::string::npos) << j4;
  EXPECT_EQ(j4.find(R"("BackendV6Data")"), std::string::npos) << j4;
}

TEST(LeaseCodec, BadIpv6FieldsAreDecodeErrors) {
  const std::string key = "/p/subnets/10.244.5.0-24&fd00:10:244:5::-64";
  for (const char* v : {R"({"PublicIP":"10.0.0.5","PublicIPv6":"not-an-ip"})",
                        R"({"PublicIP":"10.0.0.5","PublicIPv6":6})",
                        R"({"PublicIP":"10.0.0.5","BackendV6Data":{"VtepMAC":7}})", "[1]"}) {
    auto l = LeaseFromKv("/p", key, v);
    EXPECT_FALSE(l) << v;
  }
}

}  // namespace
}  // namespace linen::etcd
