#include "libcni/ip_net.h"

#include <gtest/gtest.h>

namespace cni {
namespace {

IpAddr A(std::string_view s) {
  auto a = IpAddr::Parse(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(IpAddr());
}
IpNet N(std::string_view s) {
  auto n = IpNet::Parse(s);
  EXPECT_TRUE(n.has_value()) << s;
  return n.value_or(IpNet());
}

TEST(IpAddrTest, V4RoundTrip) {
  for (const char* s : {"0.0.0.0", "10.1.2.3", "255.255.255.255", "192.168.0.1"}) {
    auto a = A(s);
    EXPECT_TRUE(a.is_v4());
    EXPECT_EQ(a.ToString(), s);
  }
}

struct V6Case {
  const char* in;
  const char* go;  // what Go's net.IP.String() prints
};
class V6Canonical : public ::testing::TestWithParam<V6Case> {};
TEST_P(V6Canonical, MatchesGo) {
  auto a = A(GetParam().in);
  EXPECT_FALSE(a.is_v4());
  EXPECT_EQ(a.ToString(), GetParam().go);
}
INSTANTIATE_TEST_SUITE_P(
    Rfc5952, V6Canonical,
    ::testing::Values(V6Case{"::", "::"}, V6Case{"::1", "::1"}, V6Case{"1::", "1::"},
                      V6Case{"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
                      V6Case{"FE80::ABCD", "fe80::abcd"},
                      // a single zero group is not compressed
                      V6Case{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
                      // on a tie the first run is compressed
                      V6Case{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
                      // the longest run wins even when it is later
                      V6Case{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
                      V6Case{"1:0:0:0:0:0:0:0", "1::"}, V6Case{"0:0:0:0:0:0:0:1", "::1"},
                      V6Case{"fd00:10:244:1::a", "fd00:10:244:1::a"},
                      V6Case{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
                      // v4-compatible (not mapped) stays v6, printed in hex as Go does
                      V6Case{"::10.1.2.3", "::a01:203"}));

TEST(IpAddrTest, V4MappedV6IsV4LikeGo) {
  auto a = A("::ffff:10.1.2.3");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.ToString(), "10.1.2.3");
  EXPECT_EQ(a, A("10.1.2.3"));
  EXPECT_TRUE(A("::ffff:a01:203").is_v4());
}

TEST(IpAddrTest, RejectsWhatGoRejects) {
  for (const char* s : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4",
                        "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", "::g", "1::2::3", "10.1.0.0/16",
                        "localhost", "1.2.3.-1"}) {
    EXPECT_FALSE(IpAddr::Parse(s).has_value()) << '"' << s << '"';
  }
}

TEST(IpAddrTest, NumberRoundTripAndBytes) {
  auto a = A("10.1.2.3");
  EXPECT_EQ(a.ToNumber(), 0x0a010203u);
  EXPECT_EQ(IpAddr::FromV4(0x0a010203u), a);
  EXPECT_EQ(a.byte_len(), 4);
  EXPECT_EQ(a.bytes()[0], 10);
  auto b = A("2001:db8::1");
  EXPECT_EQ(IpAddr::FromNumber(Family::kV6, b.ToNumber()), b);
  EXPECT_EQ(IpAddr::FromBytes(Family::kV6, b.bytes()), b);
  EXPECT_EQ(b.ToNumber() >> 96, 0x20010db8u);
  EXPECT_EQ(b.bits(), 128);
}

TEST(IpAddrTest, Arithmetic) {
  EXPECT_EQ(A("10.1.0.255").Next().ToString(), "10.1.1.0");
  EXPECT_EQ(A("10.1.1.0").Prev().ToString(), "10.1.0.255");
  EXPECT_EQ(A("10.0.0.1").Add(256).ToString(), "10.0.1.1");
  EXPECT_EQ(A("10.0.1.1").Add(-257).ToString(), "10.0.0.0");
  // Wraps within the family, as documented.
  EXPECT_EQ(A("255.255.255.255").Next().ToString(), "0.0.0.0");
  EXPECT_EQ(A("0.0.0.0").Prev().ToString(), "255.255.255.255");
  EXPECT_EQ(A("2001:db8::ffff").Next().ToString(), "2001:db8::1:0");
  EXPECT_EQ(A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").Next().ToString(), "::");
  EXPECT_EQ(A("::").Prev().ToString(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_TRUE(A("10.0.0.0") < A("10.0.0.1"));
  EXPECT_TRUE(A("0.0.0.0").IsUnspecified());
  EXPECT_TRUE(A("::").IsUnspecified());
}

TEST(IpAddrTest, Multicast) {
  EXPECT_TRUE(A("224.0.0.1").IsMulticast());
  EXPECT_TRUE(A("239.255.255.255").IsMulticast());
  EXPECT_FALSE(A("223.255.255.255").IsMulticast());
  EXPECT_FALSE(A("240.0.0.1").IsMulticast());
  EXPECT_TRUE(A("ff02::1").IsMulticast());
  EXPECT_FALSE(A("fe80::1").IsMulticast());
}

TEST(IpNetTest, ParseKeepsHostBits) {
  auto n = N("10.1.0.5/24");
  EXPECT_EQ(n.addr.ToString(), "10.1.0.5");
  EXPECT_EQ(n.prefix, 24);
  EXPECT_EQ(n.ToString(), "10.1.0.5/24");
  EXPECT_EQ(n.Masked().ToString(), "10.1.0.0/24");
  EXPECT_EQ(N("2001:DB8::5/64").ToString(), "2001:db8::5/64");
}

TEST(IpNetTest, ParseRejects) {
  for (const char* s : {"10.1.0.0", "10.1.0.0/", "10.1.0.0/33", "10.1.0.0/-1", "10.1.0.0/2a",
                        "::/129", "/24", "10.1.0.0/24/1", "10.1.0.0/ 24"}) {
    EXPECT_FALSE(IpNet::Parse(s).has_value()) << s;
  }
  EXPECT_TRUE(IpNet::Parse("0.0.0.0/0").has_value());
  EXPECT_TRUE(IpNet::Parse("::/0").has_value());
  EXPECT_TRUE(IpNet::Parse("::1/128").has_value());
}

TEST(IpNetTest, V4MappedCidrBecomesV4) {
  auto n = N("::ffff:10.1.0.0/120");
  EXPECT_TRUE(n.addr.is_v4());
  EXPECT_EQ(n.ToString(), "10.1.0.0/24");
  EXPECT_FALSE(IpNet::Parse("::ffff:10.1.0.0/64").has_value());
}

TEST(IpNetTest, NetworkBroadcastContains) {
  auto n = N("10.1.2.3/22");
  EXPECT_EQ(n.Network().ToString(), "10.1.0.0");
  EXPECT_EQ(n.Broadcast().ToString(), "10.1.3.255");
  EXPECT_TRUE(n.Contains(A("10.1.3.200")));
  EXPECT_FALSE(n.Contains(A("10.1.4.0")));
  EXPECT_FALSE(n.Contains(A("::ffff:10.1.4.0")));
  EXPECT_FALSE(n.Contains(A("2001:db8::1")));
  EXPECT_EQ(n.Size(), 1024u);
  EXPECT_EQ(n.MaskString(), "255.255.252.0");

  auto v6 = N("2001:db8:1:2::5/64");
  EXPECT_EQ(v6.Network().ToString(), "2001:db8:1:2::");
  EXPECT_EQ(v6.Broadcast().ToString(), "2001:db8:1:2:ffff:ffff:ffff:ffff");
  EXPECT_TRUE(v6.Contains(A("2001:db8:1:2:ffff::1")));
  EXPECT_FALSE(v6.Contains(A("2001:db8:1:3::1")));
  EXPECT_FALSE(v6.Contains(A("10.0.0.1")));
  EXPECT_EQ(v6.Size(), static_cast<unsigned __int128>(1) << 64);
  EXPECT_EQ(v6.MaskString(), "ffffffffffffffff0000000000000000");
}

TEST(IpNetTest, EdgePrefixes) {
  auto all4 = N("0.0.0.0/0");
  EXPECT_TRUE(all4.Contains(A("255.1.2.3")));
  EXPECT_EQ(all4.Broadcast().ToString(), "255.255.255.255");
  EXPECT_EQ(all4.Size(), static_cast<unsigned __int128>(1) << 32);
  auto host = N("10.0.0.7/32");
  EXPECT_EQ(host.Size(), 1u);
  EXPECT_EQ(host.Network(), host.Broadcast());
  EXPECT_EQ(IpNet::Host(A("10.0.0.7")), host);
  auto all6 = N("::/0");
  EXPECT_EQ(all6.Size(), ~static_cast<unsigned __int128>(0));  // saturates
  EXPECT_TRUE(all6.Contains(A("2001:db8::1")));
  EXPECT_EQ(N("::1/128").Size(), 1u);
}

TEST(IpNetTest, Overlaps) {
  EXPECT_TRUE(N("10.1.0.0/16").Overlaps(N("10.1.2.0/24")));
  EXPECT_TRUE(N("10.1.2.0/24").Overlaps(N("10.1.0.0/16")));
  EXPECT_FALSE(N("10.1.0.0/24").Overlaps(N("10.1.1.0/24")));
  EXPECT_TRUE(N("10.1.0.9/24").Overlaps(N("10.1.0.200/30")));
  EXPECT_FALSE(N("10.0.0.0/8").Overlaps(N("::/0")));
  EXPECT_TRUE(N("fd00::/8").Overlaps(N("fd00:1::/64")));
}

TEST(IpFieldTest, ErrorsAreCode7NamingKey) {
  auto ip = ParseIpField("gateway", "10.0.0.300");
  ASSERT_FALSE(ip);
  EXPECT_EQ(ip.error().code(), Code::kInvalidNetworkConfig);
  EXPECT_NE(ip.error().msg().find("gateway"), std::string::npos);
  EXPECT_NE(ip.error().msg().find("10.0.0.300"), std::string::npos);
  auto net = ParseCidrField("subnet", "10.0.0.0");
  ASSERT_FALSE(net);
  EXPECT_EQ(net.error().code(), Code::kInvalidNetworkConfig);
  EXPECT_NE(net.error().msg().find("subnet"), std::string::npos);
  ASSERT_TRUE(ParseCidrField("subnet", "10.0.0.0/8"));
  EXPECT_EQ(ParseIpField("gw", "::1")->ToString(), "::1");
}

}  // namespace
}  // namespace cni
