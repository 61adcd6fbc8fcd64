#include "overlay/registry/registry.h"

#include <gtest/gtest.h>

namespace linen::overlay {
namespace {

TEST(BackendNameTest, RoundTrips) {
  for (BackendType t : {BackendType::kHostGw, BackendType::kVxlan}) {
    auto parsed = ParseBackendName(BackendName(t));
    ASSERT_TRUE(parsed) << parsed.error().msg();
    EXPECT_EQ(*parsed, t);
  }
}

TEST(BackendNameTest, UnknownIsCode7NamingIt) {
  auto r = ParseBackendName("ipip");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(r.error().msg().find("ipip"), std::string::npos);
}

TEST(DeriveVtepMacTest, LocallyAdministeredUnicastFromNodeIp) {
  EXPECT_EQ(DeriveVtepMac(*cni::IpAddr::Parse("192.168.50.1")), "0e:4c:c0:a8:32:01");
  EXPECT_EQ(DeriveVtepMac(*cni::IpAddr::Parse("10.0.0.255")), "0e:4c:0a:00:00:ff");
  // v6: the last four bytes.
  EXPECT_EQ(DeriveVtepMac(*cni::IpAddr::Parse("fd00::1:2:a0b:c0d")), "0e:4c:0a:0b:0c:0d");
}

TEST(DeriveVtepMacTest, DistinctNodesDistinctMacs) {
  EXPECT_NE(DeriveVtepMac(*cni::IpAddr::Parse("10.0.0.1")),
            DeriveVtepMac(*cni::IpAddr::Parse("10.0.0.2")));
}

TEST(DeriveVtepMacTest, V6MacDiffersFromV4MacOfTheSameBytes) {
  const auto v6 = *cni::IpAddr::Parse("fd00::1:2:a0b:c0d");
  EXPECT_EQ(DeriveVtepMacV6(v6), "0e:6c:0a:0b:0c:0d");
  EXPECT_NE(DeriveVtepMacV6(v6), DeriveVtepMac(v6));
  EXPECT_NE(DeriveVtepMacV6(*cni::IpAddr::Parse("fd00::1")),
            DeriveVtepMacV6(*cni::IpAddr::Parse("fd00::2")));
}

TEST(IsUnsetTest, DefaultAndUnspecifiedOfEitherFamily) {
  EXPECT_TRUE(IsUnset(cni::IpNet{}));
  EXPECT_TRUE(IsUnset(*cni::IpNet::Parse("0.0.0.0/0")));
  EXPECT_TRUE(IsUnset(*cni::IpNet::Parse("::/0")));
  EXPECT_FALSE(IsUnset(*cni::IpNet::Parse("10.244.0.0/16")));
  EXPECT_FALSE(IsUnset(*cni::IpNet::Parse("fd00::/64")));
  EXPECT_TRUE(IsUnset(cni::IpAddr{}));
  EXPECT_TRUE(IsUnset(*cni::IpAddr::Parse("::")));
  EXPECT_FALSE(IsUnset(*cni::IpAddr::Parse("fd00::1")));
}

}  // namespace
}  // namespace linen::overlay
