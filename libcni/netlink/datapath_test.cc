// End to end: two "nodes" (namespaces) joined by a veth underlay, programmed
// only through Handle the way the vxlan backend does (device, address, neigh,
// FDB, onlink route), must pass traffic. Proves the primitives compose into a
// working datapath, not just that the kernel stored attributes.
#include <gtest/gtest.h>

#include <chrono>

#include "libcni/netlink/handle.h"
#include "test/support/test_support.h"

namespace cni::nl {
namespace {

using linen::test::Sh;
using linen::test::TempNetns;
using namespace std::chrono_literals;

using linen::test::Net;

struct Node {
  const char* underlay_ip;   // on the veth underlay, /24
  const char* vtep_mac;
  const char* subnet_zero;   // A.subnet.0, the vxlan device's /32
  const char* subnet;        // A.subnet
};

// Sets up the vxlan device of `self` and the entries that reach `peer`.
void ProgramNode(Handle& h, int underlay, const Node& self, const Node& peer) {
  ASSERT_TRUE(h.AddAddr(underlay, Net((std::string(self.underlay_ip) + "/24").c_str())));
  auto s = h.CreateVxlan({.name = "linen.1",
                          .info = {.vni = 1, .local = linen::test::Ip(self.underlay_ip),
                                   .dev_index = underlay, .port = 8472, .learning = false},
                          .mtu = 1450,
                          .mac = self.vtep_mac});
  ASSERT_TRUE(s) << s.error().msg();
  auto vx = h.LinkByName("linen.1");
  ASSERT_TRUE(vx);
  ASSERT_TRUE(h.AddAddr(vx->index, IpNet::Host(linen::test::Ip(self.subnet_zero))));
  ASSERT_TRUE(h.SetUp(vx->index));
  ASSERT_TRUE(h.ReplaceNeigh({.ifindex = vx->index, .dst = linen::test::Ip(peer.subnet_zero),
                              .lladdr = peer.vtep_mac}));
  ASSERT_TRUE(h.ReplaceFdb({.ifindex = vx->index, .lladdr = peer.vtep_mac,
                            .dst = linen::test::Ip(peer.underlay_ip)}));
  s = h.AddRoute({.dst = Net(peer.subnet), .gw = linen::test::Ip(peer.subnet_zero), .oif = vx->index,
                  .onlink = true, .protocol = kLinenRouteProtocol});
  ASSERT_TRUE(s) << s.error().msg();
  s = h.WaitOperUp(vx->index, 5s);
  ASSERT_TRUE(s) << s.error().msg();
}

TEST(DatapathTest, VxlanBetweenTwoNodes) {
  auto a = TempNetns::Create("dpa");
  auto b = TempNetns::Create("dpb");
  ASSERT_TRUE(a && b);
  auto ha = Handle::OpenIn(a->ns());
  auto hb = Handle::OpenIn(b->ns());
  ASSERT_TRUE(ha && hb);
  ASSERT_TRUE(ha->CreateVeth({.name = "ul", .peer_name = "ul", .peer_ns = &b->ns()}));
  auto ula = ha->LinkByName("ul");
  auto ulb = hb->LinkByName("ul");
  ASSERT_TRUE(ula && ulb);
  ASSERT_TRUE(ha->SetUp(ula->index));
  ASSERT_TRUE(hb->SetUp(ulb->index));
  ASSERT_TRUE(ha->WaitOperUp(ula->index, 5s));

  const Node na{"192.168.60.1", "6a:00:00:00:00:0a", "10.244.1.0", "10.244.1.0/24"};
  const Node nb{"192.168.60.2", "6a:00:00:00:00:0b", "10.244.2.0", "10.244.2.0/24"};
  ProgramNode(*ha, ula->index, na, nb);
  if (HasFatalFailure()) return;
  ProgramNode(*hb, ulb->index, nb, na);
  if (HasFatalFailure()) return;

  auto ping = Sh("ip netns exec " + a->name() + " ping -c1 -W5 10.244.2.0 2>&1");
  EXPECT_EQ(ping.exit_code, 0) << ping.out;
  // It really went through the tunnel: B's vxlan device counted the packet.
  auto stats = Sh("ip -n " + b->name() + " -s -j link show dev linen.1");
  EXPECT_NE(stats.out.find("\"rx\":{\"bytes\":"), std::string::npos) << stats.out;
  EXPECT_EQ(stats.out.find("\"rx\":{\"bytes\":0,"), std::string::npos) << stats.out;
}

TEST(DatapathTest, HostGwRouteBetweenTwoNodes) {
  // host-gw: each node routes the peer's pod subnet via the peer's node IP.
  auto a = TempNetns::Create("hga");
  auto b = TempNetns::Create("hgb");
  ASSERT_TRUE(a && b);
  auto ha = Handle::OpenIn(a->ns());
  auto hb = Handle::OpenIn(b->ns());
  ASSERT_TRUE(ha && hb);
  ASSERT_TRUE(ha->CreateVeth({.name = "ul", .peer_name = "ul", .peer_ns = &b->ns()}));
  auto ula = ha->LinkByName("ul");
  auto ulb = hb->LinkByName("ul");
  ASSERT_TRUE(ula && ulb);
  ASSERT_TRUE(ha->AddAddr(ula->index, Net("192.168.61.1/24")));
  ASSERT_TRUE(hb->AddAddr(ulb->index, Net("192.168.61.2/24")));
  ASSERT_TRUE(ha->SetUp(ula->index));
  ASSERT_TRUE(hb->SetUp(ulb->index));
  // B's pod subnet lives on a bridge there.
  ASSERT_TRUE(hb->CreateBridge({.name = "cni0"}));
  auto br = hb->LinkByName("cni0");
  ASSERT_TRUE(br);
  ASSERT_TRUE(hb->AddAddr(br->index, Net("10.245.2.1/24")));
  ASSERT_TRUE(hb->SetUp(br->index));
  ASSERT_TRUE(ha->ReplaceRoute({.dst = Net("10.245.2.0/24"), .gw = linen::test::Ip("192.168.61.2"),
                                .oif = ula->index, .protocol = kLinenRouteProtocol}));
  ASSERT_TRUE(ha->WaitOperUp(ula->index, 5s));
  auto ping = Sh("ip netns exec " + a->name() + " ping -c1 -W5 10.245.2.1 2>&1");
  EXPECT_EQ(ping.exit_code, 0) << ping.out;
}

}  // namespace
}  // namespace cni::nl
