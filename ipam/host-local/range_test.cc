#include "ipam/host-local/range.h"

#include <gtest/gtest.h>

#include "ipam/host-local/range_set.h"
#include "ipam/host-local/test_util.h"

namespace host_local {
namespace {

using testing::Ip;
using testing::MustRange;

cni::Error MakeError(const std::string& subnet, std::optional<std::string> start = {},
                     std::optional<std::string> end = {}, std::optional<std::string> gw = {}) {
  auto r = MakeRange(RangeSpec{subnet, start, end, gw});
  EXPECT_FALSE(r.ok()) << subnet;
  return r.ok() ? cni::Error(cni::Code::kOk, "") : r.error();
}

TEST(HostLocalRangeTest, V4DefaultsSkipNetworkAndBroadcast) {
  Range r = MustRange("10.1.2.0/24");
  EXPECT_EQ(r.start, Ip("10.1.2.1"));
  EXPECT_EQ(r.end, Ip("10.1.2.254"));
  EXPECT_EQ(r.gateway, Ip("10.1.2.1"));
  EXPECT_EQ(r.ToString(), "10.1.2.1-10.1.2.254");
  EXPECT_EQ(r.Capacity(), 253u);  // .2 - .254
}

TEST(HostLocalRangeTest, V6DefaultsEndAtLastAddress) {
  Range r = MustRange("fd00:1::/120");
  EXPECT_EQ(r.start, Ip("fd00:1::1"));
  EXPECT_EQ(r.end, Ip("fd00:1::ff"));
  EXPECT_EQ(r.gateway, Ip("fd00:1::1"));
  EXPECT_EQ(r.Capacity(), 254u);  // ::2 - ::ff
}

TEST(HostLocalRangeTest, ExplicitWindowAndGateway) {
  Range r = MustRange("10.0.0.0/16", "10.0.1.0", "10.0.1.255", "10.0.0.254");
  EXPECT_EQ(r.start, Ip("10.0.1.0"));
  EXPECT_EQ(r.end, Ip("10.0.1.255"));
  EXPECT_EQ(r.gateway, Ip("10.0.0.254"));
  EXPECT_TRUE(r.Contains(Ip("10.0.1.0")));
  EXPECT_TRUE(r.Contains(Ip("10.0.1.255")));
  EXPECT_FALSE(r.Contains(Ip("10.0.0.200")));
  EXPECT_FALSE(r.Contains(Ip("10.0.2.0")));
  EXPECT_FALSE(r.Contains(Ip("fd00::1")));
  EXPECT_EQ(r.Capacity(), 256u);  // gateway is outside the window
}

TEST(HostLocalRangeTest, NetworkBroadcastGatewayAreReserved) {
  Range r = MustRange("10.0.0.0/24", "10.0.0.0", "10.0.0.255");
  EXPECT_TRUE(r.IsReserved(Ip("10.0.0.0")));
  EXPECT_TRUE(r.IsReserved(Ip("10.0.0.255")));
  EXPECT_TRUE(r.IsReserved(Ip("10.0.0.1")));
  EXPECT_FALSE(r.IsReserved(Ip("10.0.0.2")));
  EXPECT_EQ(r.Capacity(), 253u);
  // IPv6 has no broadcast: the last address is usable.
  Range v6 = MustRange("fd00::/126");
  EXPECT_FALSE(v6.IsReserved(Ip("fd00::3")));
  EXPECT_EQ(v6.Capacity(), 2u);  // ::2, ::3
}

TEST(HostLocalRangeTest, RefusesPrefixesLongerThanMaxMinusTwo) {
  EXPECT_TRUE(MakeRange(RangeSpec{"10.0.0.0/30", {}, {}, {}}).ok());
  EXPECT_TRUE(MakeRange(RangeSpec{"fd00::/126", {}, {}, {}}).ok());
  for (const char* s : {"10.0.0.0/31", "10.0.0.1/32", "fd00::/127", "fd00::1/128"}) {
    cni::Error e = MakeError(s);
    EXPECT_EQ(e.code(), cni::Code::kInvalidNetworkConfig) << s;
    EXPECT_NE(e.msg().find("too small"), std::string::npos) << e.msg();
  }
}

TEST(HostLocalRangeTest, RefusesMalformedAndHostBits) {
  EXPECT_EQ(MakeError("10.0.0.0").code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_EQ(MakeError("10.0.0.300/24").code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_EQ(MakeError("banana").code(), cni::Code::kInvalidNetworkConfig);
  cni::Error e = MakeError("10.0.0.5/24");
  EXPECT_NE(e.msg().find("host bits"), std::string::npos) << e.msg();
  EXPECT_NE(e.msg().find("10.0.0.0"), std::string::npos) << e.msg();
}

TEST(HostLocalRangeTest, RefusesWindowOutsideSubnet) {
  cni::Error e = MakeError("10.0.0.0/24", "10.0.1.5");
  EXPECT_EQ(e.code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(e.msg().find("rangeStart 10.0.1.5 not in network 10.0.0.0/24"), std::string::npos)
      << e.msg();
  e = MakeError("10.0.0.0/24", std::nullopt, "10.0.1.5");
  EXPECT_NE(e.msg().find("rangeEnd 10.0.1.5 not in network"), std::string::npos) << e.msg();
  e = MakeError("10.0.0.0/24", "fd00::1");
  EXPECT_NE(e.msg().find("rangeStart fd00::1 not in network"), std::string::npos) << e.msg();
  e = MakeError("10.0.0.0/24", "10.0.0.x");
  EXPECT_NE(e.msg().find("rangeStart"), std::string::npos) << e.msg();
}

TEST(HostLocalRangeTest, RefusesStartAfterEnd) {
  cni::Error e = MakeError("10.0.0.0/24", "10.0.0.100", "10.0.0.50");
  EXPECT_NE(e.msg().find("after rangeEnd"), std::string::npos) << e.msg();
}

TEST(HostLocalRangeTest, RefusesBadGateway) {
  EXPECT_NE(MakeError("10.0.0.0/24", {}, {}, "10.0.0.0").msg().find("network or broadcast"),
            std::string::npos);
  EXPECT_NE(MakeError("10.0.0.0/24", {}, {}, "10.0.0.255").msg().find("network or broadcast"),
            std::string::npos);
  EXPECT_NE(MakeError("10.0.0.0/24", {}, {}, "fd00::1").msg().find("address family"),
            std::string::npos);
}

TEST(HostLocalRangeTest, RefusesWindowWithNothingToHandOut) {
  // Only the gateway in the window.
  cni::Error e = MakeError("10.0.0.0/24", "10.0.0.1", "10.0.0.1");
  EXPECT_NE(e.msg().find("no address"), std::string::npos) << e.msg();
}

TEST(HostLocalRangeSetTest, RefusesOverlapAndMixedFamilies) {
  auto overlap = RangeSet::Make({MustRange("10.0.0.0/24"), MustRange("10.0.0.0/16")});
  ASSERT_FALSE(overlap.ok());
  EXPECT_EQ(overlap.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(overlap.error().msg().find("overlap"), std::string::npos);
  auto mixed = RangeSet::Make({MustRange("10.0.0.0/24"), MustRange("fd00::/64")});
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.error().msg().find("mixed address families"), std::string::npos);
  EXPECT_FALSE(RangeSet::Make({}).ok());
}

TEST(HostLocalRangeSetTest, DisjointWindowsOfOneSubnetAreFine) {
  auto set = RangeSet::Make({MustRange("10.0.0.0/24", "10.0.0.2", "10.0.0.100"),
                             MustRange("10.0.0.0/24", "10.0.0.101", "10.0.0.200")});
  ASSERT_TRUE(set.ok()) << set.error().msg();
  EXPECT_EQ(set->ToString(), "10.0.0.2-10.0.0.100,10.0.0.101-10.0.0.200");
  EXPECT_EQ(set->RangeFor(Ip("10.0.0.150")), &(*set)[1]);
  EXPECT_EQ(set->RangeFor(Ip("10.0.0.201")), nullptr);
  EXPECT_EQ(set->Capacity(), 199u);
}

}  // namespace
}  // namespace host_local
