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
  EXPECT_TRUE(overlay::IsUnset(c->cluster.network));
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
  overlay::ClusterConfig in;
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
