// IP settings through netlink (arp_notify, forwarding, the IPv6 devconf values a
// link message carries) and kernel-filtered address listing, each checked against
// the /proc/sys file or `ip -j` read inside the test namespace.
#include <gtest/gtest.h>

#include <algorithm>

#include "libcni/netlink/netlink_test_fixture.h"

namespace cni::nl {
namespace {

using linen::test::Net;

class NetconfTest : public NetlinkTest {
 protected:
  std::string Sysctl(const std::string& key) {
    auto r = linen::test::Sh("ip netns exec " + ns_->name() + " cat /proc/sys/" + key);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  void SetSysctl(const std::string& key, const std::string& v) {
    auto r = linen::test::Sh("ip netns exec " + ns_->name() + " sh -c 'echo " + v +
                             " > /proc/sys/" + key + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
};

TEST_F(NetconfTest, ArpNotifyIsTheSysctl) {
  int idx = UpVethPair("an0", "an1");
  ASSERT_GT(idx, 0);
  EXPECT_EQ(Sysctl("net/ipv4/conf/an0/arp_notify"), "0\n");
  ASSERT_TRUE(h_->SetArpNotify(idx, true));
  EXPECT_EQ(Sysctl("net/ipv4/conf/an0/arp_notify"), "1\n");
  EXPECT_EQ(Sysctl("net/ipv4/conf/an1/arp_notify"), "0\n") << "only the link asked for";
  ASSERT_TRUE(h_->SetArpNotify(idx, false));
  EXPECT_EQ(Sysctl("net/ipv4/conf/an0/arp_notify"), "0\n");
  auto gone = h_->SetArpNotify(99999, true);
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().IsNotFound()) << gone.error().msg();
}

TEST_F(NetconfTest, ForwardingFollowsTheSysctls) {
  for (const auto& [family, key] :
       {std::pair{Family::kV4, std::string("net/ipv4/ip_forward")},
        std::pair{Family::kV6, std::string("net/ipv6/conf/all/forwarding")}}) {
    SetSysctl(key, "0");
    auto off = h_->ForwardingEnabled(family);
    ASSERT_TRUE(off) << off.error().msg();
    EXPECT_FALSE(*off) << key;
    SetSysctl(key, "1");
    auto on = h_->ForwardingEnabled(family);
    ASSERT_TRUE(on) << on.error().msg();
    EXPECT_TRUE(*on) << key;
  }
}

TEST_F(NetconfTest, LinkCarriesIpv6AcceptRaAndDad) {
  int idx = UpVethPair("dv0", "dv1");
  ASSERT_GT(idx, 0);
  SetSysctl("net/ipv6/conf/dv0/accept_ra", "2");
  SetSysctl("net/ipv6/conf/dv0/accept_dad", "0");
  auto l = h_->LinkByIndex(idx);
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_EQ(l->ipv6_accept_ra, 2);
  EXPECT_EQ(l->ipv6_accept_dad, 0);
  SetSysctl("net/ipv6/conf/dv0/accept_dad", "1");
  EXPECT_EQ(h_->LinkByName("dv0")->ipv6_accept_dad, 1);
}

TEST_F(NetconfTest, NoIpv6LinkLocalBeforeUp) {
  auto s = h_->CreateVeth({.name = "ll0", .peer_name = "ll1"});
  ASSERT_TRUE(s) << s.error().msg();
  int a = h_->LinkByName("ll0")->index, b = h_->LinkByName("ll1")->index;
  ASSERT_TRUE(h_->SetNoIpv6LinkLocal(a));
  ASSERT_TRUE(h_->SetUp(a));
  ASSERT_TRUE(h_->SetUp(b));
  EXPECT_EQ(Sysctl("net/ipv6/conf/ll0/addr_gen_mode"), "1\n");
  // `ip -j` leaves out a link without addresses of the family.
  auto none = Ip("-6 addr show dev ll0");
  EXPECT_TRUE(none.empty() || none[0]["addr_info"].empty()) << none;
  auto own = Ip("-6 addr show dev ll1");
  ASSERT_EQ(own.size(), 1u) << "the other end keeps its link-local";
  EXPECT_FALSE(own[0]["addr_info"].empty()) << own;
}

TEST_F(NetconfTest, ListAddrsIsFilteredByLinkAndFamily) {
  int a = UpVethPair("fa0", "fa1");
  int b = h_->LinkByName("fa1")->index;
  ASSERT_TRUE(h_->AddAddr(a, Net("10.9.0.1/24")));
  ASSERT_TRUE(h_->AddAddr(a, Net("fd00:9::1/64")));
  ASSERT_TRUE(h_->AddAddr(b, Net("10.9.0.2/24")));

  auto v4 = h_->ListAddrs(a, Family::kV4);
  ASSERT_TRUE(v4) << v4.error().msg();
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].addr.ToString(), "10.9.0.1/24");
  EXPECT_EQ((*v4)[0].ifindex, a);

  auto v6 = h_->ListAddrs(a, Family::kV6);
  ASSERT_TRUE(v6) << v6.error().msg();
  EXPECT_FALSE(v6->empty());
  for (const AddrInfo& x : *v6) {
    EXPECT_FALSE(x.addr.addr.is_v4()) << x.addr.ToString();
    EXPECT_EQ(x.ifindex, a);
  }
  EXPECT_TRUE(std::any_of(v6->begin(), v6->end(),
                          [](const AddrInfo& x) { return x.addr.ToString() == "fd00:9::1/64"; }));

  auto both = h_->ListAddrs(b);
  ASSERT_TRUE(both);
  EXPECT_TRUE(std::all_of(both->begin(), both->end(),
                          [&](const AddrInfo& x) { return x.ifindex == b; }));
  EXPECT_TRUE(std::any_of(both->begin(), both->end(),
                          [](const AddrInfo& x) { return x.addr.ToString() == "10.9.0.2/24"; }));

  // The socket is back to lenient checking: a neighbour dump by link still works.
  EXPECT_TRUE(h_->ListNeighs(a, Family::kV4));
  auto all = h_->ListAddrs(0, Family::kV4);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u) << "lo, fa0 and fa1";
}

}  // namespace
}  // namespace cni::nl
