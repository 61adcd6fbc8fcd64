#include "overlay/registry/etcd/subnet_pool.h"

#include <gtest/gtest.h>

namespace linen::etcd {
namespace {

overlay::NetworkConfig Parse(const std::string& json) {
  auto c = overlay::ParseNetworkConfig(json);
  EXPECT_TRUE(c) << c.error().msg();
  return *c;
}

cni::IpNet Net(const char* s) { return *cni::IpNet::Parse(s); }

SubnetRange V4(const std::string& json) { return RangeOf(Parse(json), cni::Family::kV4); }

TEST(SubnetPool, SkipsTheFirstSubnetLikeFlannel) {
  auto cfg = V4(R"({"Network":"10.9.0.0/24","SubnetLen":26})");
  EXPECT_EQ(PoolSize(cfg), 3u);
  auto free = FreeSubnets(cfg, {}, 10);
  ASSERT_EQ(free.size(), 3u);
  EXPECT_EQ(free[0], Net("10.9.0.64/26"));
  EXPECT_EQ(free[2], Net("10.9.0.192/26"));
  EXPECT_FALSE(InPool(cfg, Net("10.9.0.0/26")));
  EXPECT_TRUE(InPool(cfg, Net("10.9.0.128/26")));
  EXPECT_FALSE(InPool(cfg, Net("10.9.0.128/25")));  // wrong length
  EXPECT_FALSE(InPool(cfg, Net("10.9.0.129/26")));  // not a network address
}

TEST(SubnetPool, FreeSkipsTakenAndHonoursLimit) {
  auto cfg = V4(R"({"Network":"10.244.0.0/16"})");
  EXPECT_EQ(cfg.subnet_len, 24);
  EXPECT_EQ(PoolSize(cfg), 255u);
  auto free = FreeSubnets(cfg, {Net("10.244.1.0/24"), Net("10.244.3.0/24")}, 3);
  ASSERT_EQ(free.size(), 3u);
  EXPECT_EQ(free[0], Net("10.244.2.0/24"));
  EXPECT_EQ(free[1], Net("10.244.4.0/24"));
  EXPECT_EQ(free[2], Net("10.244.5.0/24"));
}

TEST(SubnetPool, MinMaxBound) {
  auto cfg = V4(
      R"({"Network":"10.244.0.0/16","SubnetMin":"10.244.10.0","SubnetMax":"10.244.11.0"})");
  EXPECT_EQ(PoolSize(cfg), 2u);
  auto free = FreeSubnets(cfg, {Net("10.244.10.0/24")}, 10);
  ASSERT_EQ(free.size(), 1u);
  EXPECT_EQ(free[0], Net("10.244.11.0/24"));
  EXPECT_TRUE(FreeSubnets(cfg, {Net("10.244.10.0/24"), Net("10.244.11.0/24")}, 10).empty());
}

TEST(SubnetPool, Ipv6FromIpv6Network) {
  auto cfg = Parse(R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10::/56"})");
  auto r = RangeOf(cfg, cni::Family::kV6);
  EXPECT_EQ(r.subnet_len, 64);
  EXPECT_EQ(PoolSize(r), 255u);
  auto free = FreeSubnets(r, {Net("fd00:10:0:1::/64")}, 2);
  ASSERT_EQ(free.size(), 2u);
  EXPECT_EQ(free[0], Net("fd00:10:0:2::/64"));
  EXPECT_EQ(free[1], Net("fd00:10:0:3::/64"));
  EXPECT_TRUE(InPool(r, Net("fd00:10:0:ff::/64")));
  EXPECT_FALSE(InPool(r, Net("fd00:10::/64")));        // the first one is skipped
  EXPECT_FALSE(InPool(r, Net("fd00:10:0:2::/80")));    // wrong length
  EXPECT_FALSE(InPool(r, Net("10.0.0.0/24")));          // other family
  // The IPv4 pool of an IPv6-only config is empty.
  EXPECT_EQ(PoolSize(RangeOf(cfg, cni::Family::kV4)), 0u);
}

TEST(SubnetPool, Ipv6MinMaxAndHugePools) {
  auto cfg = Parse(R"({"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10::/32",
                       "IPv6SubnetMin":"fd00:10:0:100::","IPv6SubnetMax":"fd00:10:0:101::"})");
  auto r = RangeOf(cfg, cni::Family::kV6);
  EXPECT_EQ(PoolSize(r), 2u);
  EXPECT_EQ(FreeSubnets(r, {}, 10).front(), Net("fd00:10:0:100::/64"));
  // 2^32 - 1 /64s in a /32: counted with 128-bit arithmetic, listed up to the limit.
  auto big = RangeOf(Parse(R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/32"})"),
                     cni::Family::kV6);
  EXPECT_EQ(PoolSize(big), (static_cast<unsigned __int128>(1) << 32) - 1);
  EXPECT_EQ(FreeSubnets(big, {}, 3).size(), 3u);
}

}  // namespace
}  // namespace linen::etcd
