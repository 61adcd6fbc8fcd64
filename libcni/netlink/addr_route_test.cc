// Addresses and routes, read back through List* and `ip -j`.
#include <gtest/gtest.h>

#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>

#include "libcni/netlink/netlink_test_fixture.h"
#include "libcni/sys/fd.h"
#include "netns/netns.h"

namespace cni::nl {
namespace {

using linen::test::Net;

TEST_F(NetlinkTest, AddressesV4AndV6) {
  int idx = UpVethPair("a0", "a1");
  ASSERT_GT(idx, 0);
  ASSERT_TRUE(h_->AddAddr(idx, Net("10.1.0.5/24")));
  ASSERT_TRUE(h_->AddAddr(idx, Net("fd00:1::5/64")));

  auto list = h_->ListAddrs(idx);
  ASSERT_TRUE(list) << list.error().msg();
  std::vector<std::string> got;
  for (const auto& a : *list) {
    EXPECT_EQ(a.ifindex, idx);
    got.push_back(a.addr.ToString());
  }
  EXPECT_NE(std::find(got.begin(), got.end(), "10.1.0.5/24"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "fd00:1::5/64"), got.end());

  auto j = Ip("addr show dev a0");
  ASSERT_EQ(j.size(), 1u);
  bool v4 = false, v6 = false;
  for (const auto& ai : j[0]["addr_info"]) {
    if (ai["local"] == "10.1.0.5" && ai["prefixlen"] == 24) {
      v4 = true;
      EXPECT_EQ(ai["broadcast"], "10.1.0.255");  // as Go's AddrAdd sets it
    }
    if (ai["local"] == "fd00:1::5" && ai["prefixlen"] == 64) v6 = true;
  }
  EXPECT_TRUE(v4) << j.dump();
  EXPECT_TRUE(v6) << j.dump();

  // All-links listing includes loopback's 127.0.0.1 too.
  auto all = h_->ListAddrs();
  ASSERT_TRUE(all);
  EXPECT_TRUE(std::any_of(all->begin(), all->end(),
                          [](const AddrInfo& a) { return a.addr.ToString() == "127.0.0.1/8"; }));
}

TEST_F(NetlinkTest, AddressAddIsExclusiveAndDeleteTolerant) {
  int idx = UpVethPair("e0", "e1");
  ASSERT_TRUE(h_->AddAddr(idx, Net("10.2.0.1/16")));
  auto again = h_->AddAddr(idx, Net("10.2.0.1/16"));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsExists()) << again.error().msg();
  ASSERT_TRUE(h_->DeleteAddr(idx, Net("10.2.0.1/16")));
  EXPECT_TRUE(Ip("-4 addr show dev e0")[0]["addr_info"].empty());
  EXPECT_TRUE(h_->DeleteAddr(idx, Net("10.2.0.1/16")));
  EXPECT_TRUE(h_->DeleteAddr(idx, Net("fd00:9::1/64")));
}

// kAddrNoDad: the IPv6 address is usable at once (never tentative); without it, a
// fresh address waits for duplicate address detection.
TEST_F(NetlinkTest, Ipv6AddressWithoutDad) {
  int idx = UpVethPair("n0", "n1");
  ASSERT_GT(idx, 0);
  ASSERT_TRUE(h_->AddAddr(idx, Net("fd00:3::1/128"), kAddrNoDad));
  ASSERT_TRUE(h_->AddAddr(idx, Net("fd00:4::1/64")));
  auto j = Ip("-6 addr show dev n0");
  ASSERT_EQ(j.size(), 1u);
  bool nodad = false, dad = false;
  for (const auto& ai : j[0]["addr_info"]) {
    if (ai["local"] == "fd00:3::1") {
      nodad = true;
      EXPECT_EQ(ai.value("nodad", false), true) << ai.dump();
      EXPECT_EQ(ai.value("tentative", false), false) << ai.dump();
    }
    if (ai["local"] == "fd00:4::1") {
      dad = true;
      EXPECT_EQ(ai.value("nodad", false), false) << ai.dump();
    }
  }
  EXPECT_TRUE(nodad && dad) << j.dump();
}

class RouteTest : public NetlinkTest {
 protected:
  void SetUp() override {
    NetlinkTest::SetUp();
    if (HasFatalFailure()) return;
    idx_ = UpVethPair("r0", "r1");
    ASSERT_GT(idx_, 0);
    ASSERT_TRUE(h_->AddAddr(idx_, Net("10.9.0.1/24")));
    ASSERT_TRUE(h_->AddAddr(idx_, Net("fd09::1/64")));
  }
  // The one route in `table` with destination `dst`, from our own dump.
  std::optional<RouteInfo> Find(Family f, const std::string& dst, int table = kMainTable) {
    auto routes = h_->ListRoutes(f, table);
    EXPECT_TRUE(routes) << routes.error().msg();
    if (!routes) return std::nullopt;
    for (const auto& r : *routes) {
      if (r.dst.ToString() == dst) return r;
    }
    return std::nullopt;
  }
  int idx_ = 0;
};

TEST_F(RouteTest, GatewayRouteWithMetricProtocolAndMtu) {
  RouteInfo r{.dst = Net("10.50.0.0/16"), .gw = linen::test::Ip("10.9.0.2"), .oif = idx_,
              .priority = 77, .protocol = kLinenRouteProtocol, .mtu = 1300};
  ASSERT_TRUE(h_->AddRoute(r));
  auto got = Find(Family::kV4, "10.50.0.0/16");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, r);

  auto j = Ip("route show 10.50.0.0/16");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["gateway"], "10.9.0.2");
  EXPECT_EQ(j[0]["dev"], "r0");
  EXPECT_EQ(j[0]["metric"], 77);
  EXPECT_EQ(j[0]["protocol"], "76");  // no name for 0x4c in rt_protos
  EXPECT_EQ(j[0]["metrics"][0]["mtu"], 1300) << j.dump();
}

TEST_F(RouteTest, AddIsExclusiveReplaceOverwrites) {
  RouteInfo r{.dst = Net("10.60.0.0/16"), .gw = linen::test::Ip("10.9.0.2"), .oif = idx_};
  ASSERT_TRUE(h_->AddRoute(r));
  auto again = h_->AddRoute(r);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsExists()) << again.error().msg();

  r.gw = linen::test::Ip("10.9.0.3");
  ASSERT_TRUE(h_->ReplaceRoute(r));
  auto j = Ip("route show 10.60.0.0/16");
  ASSERT_EQ(j.size(), 1u);  // replaced, not added beside
  EXPECT_EQ(j[0]["gateway"], "10.9.0.3");
  // Replace also creates.
  RouteInfo fresh{.dst = Net("10.61.0.0/16"), .gw = linen::test::Ip("10.9.0.4")};
  ASSERT_TRUE(h_->ReplaceRoute(fresh));
  auto got = Find(Family::kV4, "10.61.0.0/16");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->oif, idx_);  // the kernel picked the device from the gateway
}

TEST_F(RouteTest, OnlinkGatewayOutsideSubnet) {
  RouteInfo r{.dst = Net("10.70.0.0/16"), .gw = linen::test::Ip("192.168.77.1"), .oif = idx_,
              .onlink = true};
  ASSERT_TRUE(h_->AddRoute(r));
  auto got = Find(Family::kV4, "10.70.0.0/16");
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->onlink);
  auto j = Ip("route show 10.70.0.0/16");
  ASSERT_EQ(j.size(), 1u);
  auto flags = j[0]["flags"];
  EXPECT_NE(std::find(flags.begin(), flags.end(), "onlink"), flags.end()) << j.dump();
}

TEST_F(RouteTest, UnreachableGatewayCarriesKernelWords) {
  RouteInfo r{.dst = Net("10.71.0.0/16"), .gw = linen::test::Ip("192.168.78.1"), .oif = idx_};
  auto s = h_->AddRoute(r);
  ASSERT_FALSE(s);
  // "add route <dst> via <gw> ...: <errno text> (<kernel ext-ack sentence>)".
  EXPECT_EQ(s.error().msg().rfind("add route 10.71.0.0/16 via 192.168.78.1", 0), 0u)
      << s.error().msg();
  EXPECT_NE(s.error().msg().find("(Nexthop has invalid gateway)"), std::string::npos)
      << s.error().msg();
}

TEST_F(RouteTest, ScopeLinkRouteAndCustomTable) {
  RouteInfo link{.dst = Net("10.80.0.0/24"), .oif = idx_, .scope = 253};
  ASSERT_TRUE(h_->AddRoute(link));
  auto got = Find(Family::kV4, "10.80.0.0/24");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->scope, 253);
  EXPECT_EQ(Ip("route show 10.80.0.0/24")[0]["scope"], "link");

  RouteInfo t{.dst = Net("0.0.0.0/0"), .gw = linen::test::Ip("10.9.0.2"), .table = 100};
  ASSERT_TRUE(h_->AddRoute(t));
  auto in_table = Find(Family::kV4, "0.0.0.0/0", 100);
  ASSERT_TRUE(in_table);
  EXPECT_EQ(in_table->table, 100);
  EXPECT_FALSE(Find(Family::kV4, "0.0.0.0/0"));  // not in main
  auto j = Ip("route show table 100");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["dst"], "default");
  EXPECT_EQ(j[0]["gateway"], "10.9.0.2");
  // A table number above 255 travels in RTA_TABLE only.
  RouteInfo big{.dst = Net("10.81.0.0/16"), .gw = linen::test::Ip("10.9.0.2"), .table = 1000};
  ASSERT_TRUE(h_->AddRoute(big));
  EXPECT_TRUE(Find(Family::kV4, "10.81.0.0/16", 1000));
  EXPECT_EQ(Ip("route show table 1000").size(), 1u);
}

TEST_F(RouteTest, DeleteIsPreciseAndTolerant) {
  RouteInfo r{.dst = Net("10.90.0.0/16"), .gw = linen::test::Ip("10.9.0.2"), .oif = idx_,
              .scope = 0, .protocol = kLinenRouteProtocol};
  ASSERT_TRUE(h_->AddRoute(r));
  // A delete naming another protocol does not touch it (reconcilers only remove
  // their own routes); absent counts as success.
  RouteInfo foreign = r;
  foreign.protocol = 4;  // RTPROT_STATIC
  ASSERT_TRUE(h_->DeleteRoute(foreign));
  EXPECT_TRUE(Find(Family::kV4, "10.90.0.0/16"));
  ASSERT_TRUE(h_->DeleteRoute(r));
  EXPECT_FALSE(Find(Family::kV4, "10.90.0.0/16"));
  EXPECT_TRUE(Ip("route show 10.90.0.0/16").empty());
  EXPECT_TRUE(h_->DeleteRoute(r));
}

TEST_F(RouteTest, Ipv6Routes) {
  RouteInfo r{.dst = Net("fd50::/48"), .gw = linen::test::Ip("fd09::2"), .oif = idx_, .priority = 10,
              .protocol = kLinenRouteProtocol};
  ASSERT_TRUE(h_->AddRoute(r));
  auto got = Find(Family::kV6, "fd50::/48");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, r);
  auto j = Ip("-6 route show fd50::/48");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["gateway"], "fd09::2");
  EXPECT_EQ(j[0]["metric"], 10);
  // v4 listing does not include it.
  auto v4 = h_->ListRoutes(Family::kV4);
  ASSERT_TRUE(v4);
  for (const auto& x : *v4) EXPECT_TRUE(x.dst.addr.is_v4());
  ASSERT_TRUE(h_->DeleteRoute(r));
  EXPECT_FALSE(Find(Family::kV6, "fd50::/48"));
}

TEST_F(RouteTest, MixedFamilyGatewayRejected) {
  RouteInfo r{.dst = Net("10.91.0.0/16"), .gw = linen::test::Ip("fd09::2")};
  auto s = h_->AddRoute(r);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kInvalidNetworkConfig);
}

// A socket in `ns` that receives the kernel's IPv6 route events.
cni::UniqueFd Ipv6RouteEvents(const cni::NetNs& ns) {
  auto sw = cni::ScopedNetnsSwitch::Enter(ns);
  EXPECT_TRUE(sw) << sw.error().msg();
  cni::UniqueFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  EXPECT_TRUE(fd) << "socket: " << errno;
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_IPV6_ROUTE;
  EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << errno;
  return fd;
}

TEST_F(RouteTest, FibMatchNamesTheHolderOfALocalAddress) {
  // The kernel inserts an IPv6 address's local route from its DAD work item, after
  // the RTM_NEWADDR request has returned, even when DAD is off. Listen first, then
  // add, then wait for route events until the lookup sees it.
  cni::UniqueFd events = Ipv6RouteEvents(ns_->ns());
  ASSERT_TRUE(events);
  ASSERT_TRUE(h_->AddAddr(idx_, Net("fd0a::1/64"), kAddrNoDad));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto r = h_->FibMatch(linen::test::Ip("fd0a::1"));
    if (r && r->type == RTN_LOCAL) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    ASSERT_GT(left.count(), 0) << "no local route for fd0a::1 within 10 s";
    pollfd pfd{events.get(), POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) > 0) {
      char buf[8192];
      (void)recv(events.get(), buf, sizeof buf, 0);  // any route event: look again
    }
  }
  for (const char* local : {"10.9.0.1", "fd0a::1"}) {
    auto r = h_->FibMatch(linen::test::Ip(local));
    ASSERT_TRUE(r) << local << ": " << r.error().msg();
    EXPECT_EQ(r->type, RTN_LOCAL) << local;
    EXPECT_EQ(r->oif, idx_) << local;
    EXPECT_EQ(r->dst.addr, linen::test::Ip(local)) << local;
  }
  // A neighbour on the link: the connected route, in main.
  auto near = h_->FibMatch(linen::test::Ip("10.9.0.7"));
  ASSERT_TRUE(near) << near.error().msg();
  EXPECT_EQ(near->type, RTN_UNICAST);
  EXPECT_EQ(near->oif, idx_);
  EXPECT_EQ(near->dst, Net("10.9.0.0/24"));
  EXPECT_EQ(near->table, kMainTable);
  // No default route in this namespace.
  auto far = h_->FibMatch(linen::test::Ip("192.0.2.1"));
  ASSERT_FALSE(far);
  EXPECT_TRUE(far.error().IsNotFound()) << far.error().msg();
}

TEST_F(RouteTest, ListOneTable) {
  RouteInfo in200{.dst = Net("10.96.0.0/16"), .gw = linen::test::Ip("10.9.0.2"), .table = 200};
  RouteInfo in300{.dst = Net("fd96::/48"), .gw = linen::test::Ip("fd09::2"), .table = 300};
  ASSERT_TRUE(h_->AddRoute(in200));
  ASSERT_TRUE(h_->AddRoute(in300));
  auto t200 = h_->ListRoutes(Family::kV4, 200);
  ASSERT_TRUE(t200) << t200.error().msg();
  ASSERT_EQ(t200->size(), 1u);
  EXPECT_EQ((*t200)[0].dst, in200.dst);
  auto t300 = h_->ListRoutes(Family::kV6, 300);  // above 255: only RTA_TABLE can say it
  ASSERT_TRUE(t300) << t300.error().msg();
  ASSERT_EQ(t300->size(), 1u);
  EXPECT_EQ((*t300)[0].dst, in300.dst);
  auto main = h_->ListRoutes(Family::kV4);
  ASSERT_TRUE(main);
  EXPECT_FALSE(main->empty());
  for (const auto& x : *main) EXPECT_EQ(x.table, kMainTable);
  // Tables nothing was added to do not exist in the kernel; they have no routes.
  for (Family f : {Family::kV4, Family::kV6}) {
    auto none = h_->ListRoutes(f, 201);
    ASSERT_TRUE(none) << none.error().msg();
    EXPECT_TRUE(none->empty());
  }
}

TEST_F(RouteTest, ListAllTables) {
  RouteInfo r{.dst = Net("10.95.0.0/16"), .gw = linen::test::Ip("10.9.0.2"), .table = 200};
  ASSERT_TRUE(h_->AddRoute(r));
  auto all = h_->ListRoutes(Family::kV4, 0);
  ASSERT_TRUE(all);
  // Table 0 = every table: ours in 200, the connected route in main, and the
  // kernel's local-table entries (255).
  auto has = [&](int table) {
    return std::any_of(all->begin(), all->end(), [&](const RouteInfo& x) { return x.table == table; });
  };
  EXPECT_TRUE(has(200));
  EXPECT_TRUE(has(kMainTable));
  EXPECT_TRUE(has(255));
}

}  // namespace
}  // namespace cni::nl
