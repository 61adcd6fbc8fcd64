#include "overlay/registry/etcd/subnet_pool.h"

#include <gtest/gtest.h>

namespace linen::etcd {
namespace {

NetworkConfig Parse(const std::string& json) {
  auto c = ParseNetworkConfig(json);
  EXPECT_TRUE(c) << c.error().msg();
  return *c;
}

cni::IpNet Net(const char* s) { return *cni::IpNet::Parse(s); }

TEST(SubnetPool, SkipsTheFirstSubnetLikeFlannel) {
  auto cfg = Parse(R"({"Network":"10.9.0.0/24","SubnetLen":26})");
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
  auto cfg = Parse(R"({"Network":"10.244.0.0/16"})");
  EXPECT_EQ(cfg.cluster.subnet_len, 24);
  EXPECT_EQ(PoolSize(cfg), 255u);
  auto free = FreeSubnets(cfg, {Net("10.244.1.0/24"), Net("10.244.3.0/24")}, 3);
  ASSERT_EQ(free.size(), 3u);
  EXPECT_EQ(free[0], Net("10.244.2.0/24"));
  EXPECT_EQ(free[1], Net("10.244.4.0/24"));
  EXPECT_EQ(free[2], Net("10.244.5.0/24"));
}

TEST(SubnetPool, MinMaxBound) {
  auto cfg = Parse(
      R"({"Network":"10.244.0.0/16","SubnetMin":"10.244.10.0","SubnetMax":"10.244.11.0"})");
  EXPECT_EQ(PoolSize(cfg), 2u);
  auto free = FreeSubnets(cfg, {Net("10.244.10.0/24")}, 10);
  ASSERT_EQ(free.size(), 1u);
  EXPECT_EQ(free[0], Net("10.244.11.0/24"));
  EXPECT_TRUE(FreeSubnets(cfg, {Net("10.244.10.0/24"), Net("10.244.11.0/24")}, 10).empty());
}

TEST(SubnetPool, Ipv6) {
  auto cfg = Parse(R"({"Network":"fd00:10::/56"})");
  EXPECT_EQ(cfg.cluster.subnet_len, 64);
  EXPECT_EQ(PoolSize(cfg), 255u);
  auto free = FreeSubnets(cfg, {}, 1);
  ASSERT_EQ(free.size(), 1u);
  EXPECT_EQ(free[0], Net("fd00:10:0:1::/64"));
}

}  // namespace
}  // namespace linen::etcd
