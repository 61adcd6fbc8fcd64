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

}  // namespace
}  // namespace linen::overlay
