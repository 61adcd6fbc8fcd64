#include "plugins/bridge/gateway.h"

#include <gtest/gtest.h>

#include "plugins/bridge/container_config.h"
#include "test/support/test_support.h"

namespace bridge {
namespace {

using linen::test::Net;
using linen::test::Ip;

cni::IpConfig IpCfg(const char* addr, const char* gw = nullptr) {
  cni::IpConfig c;
  c.address = Net(addr);
  if (gw) c.gateway = Ip(gw);
  return c;
}

cni::Route Rt(const char* dst, const char* gw = nullptr, int prio = -1) {
  cni::Route r;
  r.dst = Net(dst);
  if (gw) r.gw = Ip(gw);
  if (prio >= 0) r.priority = prio;
  return r;
}

BridgeConf Conf(bool gw, bool def_gw) {
  BridgeConf c;
  c.is_gw = gw || def_gw;
  c.is_default_gw = def_gw;
  return c;
}

cni::AddResult DualStack() {
  cni::AddResult r;
  r.ips.push_back(IpCfg("10.1.0.5/24"));
  r.ips.push_back(IpCfg("fd00:1::5/64", "fd00:1::99"));
  return r;
}

TEST(BridgeGatewayTest, DefaultGatewayFillsGatewaysAndRoutes) {
  cni::AddResult r = DualStack();
  Gateways g = CalcGateways(r, Conf(false, true));
  ASSERT_EQ(r.ips.size(), 2u);
  EXPECT_EQ(r.ips[0].gateway, Ip("10.1.0.1")) << "network+1 when IPAM gave none";
  EXPECT_EQ(r.ips[1].gateway, Ip("fd00:1::99")) << "IPAM's gateway is kept";
  EXPECT_EQ(r.ips[0].interface, 2);
  EXPECT_EQ(r.ips[1].interface, 2);
  ASSERT_EQ(r.routes.size(), 2u);
  EXPECT_EQ(r.routes[0].dst, Net("0.0.0.0/0"));
  EXPECT_EQ(r.routes[0].gw, Ip("10.1.0.1"));
  EXPECT_EQ(r.routes[1].dst, Net("::/0"));
  EXPECT_EQ(r.routes[1].gw, Ip("fd00:1::99"));
  ASSERT_EQ(g.v4.size(), 1u);
  EXPECT_EQ(g.v4[0], Net("10.1.0.1/24"));
  ASSERT_EQ(g.v6.size(), 1u);
  EXPECT_EQ(g.v6[0], Net("fd00:1::99/64"));
}

TEST(BridgeGatewayTest, ExistingDefaultRouteIsNotDuplicated) {
  cni::AddResult r = DualStack();
  r.routes.push_back(Rt("0.0.0.0/0", "10.1.0.254"));
  CalcGateways(r, Conf(true, true));
  ASSERT_EQ(r.routes.size(), 2u) << "only the v6 default is added";
  EXPECT_EQ(r.routes[1].dst, Net("::/0"));
}

TEST(BridgeGatewayTest, NoGatewayFlagsLeavesResultAlone) {
  cni::AddResult r = DualStack();
  Gateways g = CalcGateways(r, Conf(false, false));
  EXPECT_FALSE(r.ips[0].gateway.has_value());
  EXPECT_TRUE(r.routes.empty());
  EXPECT_TRUE(g.v4.empty() && g.v6.empty());
  EXPECT_EQ(r.ips[0].interface, 2);
}

TEST(BridgeContainerRoutesTest, GatewayDefaultsPerFamily) {
  cni::AddResult r = DualStack();
  r.ips[0].gateway = Ip("10.1.0.1");
  r.routes.push_back(Rt("10.2.0.0/16"));
  r.routes.push_back(Rt("fd00:2::/64", nullptr, 7));
  r.routes.push_back(Rt("192.168.9.0/24", "10.1.0.9"));
  auto routes = ContainerRoutes(r, 42);
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].gw, Ip("10.1.0.1"));
  EXPECT_EQ(routes[0].oif, 42);
  EXPECT_EQ(routes[1].gw, Ip("fd00:1::99"));
  EXPECT_EQ(routes[1].priority, 7u);
  EXPECT_EQ(routes[2].gw, Ip("10.1.0.9"));
}

TEST(BridgeContainerRoutesTest, NoGatewayMeansLinkScope) {
  cni::AddResult r;
  r.ips.push_back(IpCfg("10.1.0.5/24"));
  r.routes.push_back(Rt("10.9.0.0/16"));
  auto routes = ContainerRoutes(r, 3);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_FALSE(routes[0].gw.has_value());
  EXPECT_EQ(routes[0].scope, 253);
}

}  // namespace
}  // namespace bridge
