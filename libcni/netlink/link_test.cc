// Links: lookups, veth/bridge creation, setters and bridge port flags, each read
// back through our own API and through `ip -j`.
#include <gtest/gtest.h>

#include <algorithm>

#include "libcni/netlink/netlink_test_fixture.h"

namespace cni::nl {
namespace {

using linen::test::Sh;
using linen::test::UniqueName;

TEST_F(NetlinkTest, LoopbackByNameAndIndex) {
  auto lo = h_->LinkByName("lo");
  ASSERT_TRUE(lo) << lo.error().msg();
  EXPECT_EQ(lo->name, "lo");
  EXPECT_EQ(lo->index, 1);
  EXPECT_TRUE(lo->admin_up);  // TempNetns brought it up
  EXPECT_TRUE(lo->oper_up);
  EXPECT_EQ(lo->mtu, 65536);
  auto by_index = h_->LinkByIndex(1);
  ASSERT_TRUE(by_index) << by_index.error().msg();
  EXPECT_EQ(by_index->name, "lo");
}

TEST_F(NetlinkTest, MissingLinkIsNotFound) {
  auto l = h_->LinkByName("nosuchdev0");
  ASSERT_FALSE(l);
  EXPECT_TRUE(l.error().IsNotFound()) << l.error().msg();
  EXPECT_NE(l.error().msg().find("nosuchdev0"), std::string::npos) << l.error().msg();
  auto i = h_->LinkByIndex(4242);
  ASSERT_FALSE(i);
  EXPECT_TRUE(i.error().IsNotFound()) << i.error().msg();
}

TEST_F(NetlinkTest, VethSameNamespace) {
  ASSERT_TRUE(h_->CreateVeth({.name = "va", .peer_name = "vb", .mtu = 1400,
                              .mac = "02:00:00:00:00:0a", .peer_mac = "02:00:00:00:00:0b"}));
  auto a = h_->LinkByName("va");
  auto b = h_->LinkByName("vb");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->kind, "veth");
  EXPECT_EQ(a->mtu, 1400);
  EXPECT_EQ(b->mtu, 1400);
  EXPECT_EQ(a->mac, "02:00:00:00:00:0a");
  EXPECT_EQ(b->mac, "02:00:00:00:00:0b");
  EXPECT_EQ(a->peer_index, b->index);
  EXPECT_EQ(b->peer_index, a->index);
  EXPECT_FALSE(a->admin_up);

  auto j = Ip("link show dev va");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["mtu"], 1400);
  EXPECT_EQ(j[0]["address"], "02:00:00:00:00:0a");
  EXPECT_EQ(j[0]["link"], "vb");
}

TEST_F(NetlinkTest, VethPeerCreatedInOtherNamespace) {
  auto& other = Other();
  std::string host = UniqueName("veth");
  ASSERT_TRUE(h_->CreateVeth({.name = host, .peer_name = "eth0", .peer_ns = &other.ns(),
                              .mtu = 1450, .peer_mac = "0a:58:0a:01:00:05"}));
  auto here = h_->LinkByName(host);
  ASSERT_TRUE(here) << here.error().msg();
  EXPECT_EQ(here->mtu, 1450);
  // The peer is not here...
  EXPECT_TRUE(h_->LinkByName("eth0").error().IsNotFound());
  // ...but there, with the requested name, MTU and MAC.
  auto oh = Handle::OpenIn(other.ns());
  ASSERT_TRUE(oh);
  auto peer = oh->LinkByName("eth0");
  ASSERT_TRUE(peer) << peer.error().msg();
  EXPECT_EQ(peer->kind, "veth");
  EXPECT_EQ(peer->mtu, 1450);
  EXPECT_EQ(peer->mac, "0a:58:0a:01:00:05");
  EXPECT_EQ(peer->peer_index, here->index);
  EXPECT_EQ(here->peer_index, peer->index);

  auto j = IpJson(other.name(), "link show dev eth0");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["address"], "0a:58:0a:01:00:05");
  EXPECT_EQ(j[0]["mtu"], 1450);
  // The root namespace never saw either end.
  EXPECT_NE(Sh("ip link show dev " + host + " 2>/dev/null").exit_code, 0);
}

TEST_F(NetlinkTest, VethJoinsItsBridgeAtCreation) {
  ASSERT_TRUE(h_->CreateBridge({.name = "brj"}));
  auto br = h_->LinkByName("brj");
  ASSERT_TRUE(br);
  ASSERT_TRUE(h_->CreateVeth({.name = "vj0", .peer_name = "vj1", .master_index = br->index}));
  auto j = Ip("link show dev vj0");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["master"], "brj");
  EXPECT_FALSE(Ip("link show dev vj1")[0].contains("master"));
  // A master that cannot take it: nothing is left of the pair.
  auto bad = h_->CreateVeth({.name = "vj2", .peer_name = "vj3", .master_index = 999999});
  ASSERT_FALSE(bad);
  EXPECT_TRUE(h_->LinkByName("vj2").error().IsNotFound());
  EXPECT_TRUE(h_->LinkByName("vj3").error().IsNotFound());
}

TEST_F(NetlinkTest, VethExclusiveCreateReportsExists) {
  ASSERT_TRUE(h_->CreateVeth({.name = "vx1", .peer_name = "vx2"}));
  auto again = h_->CreateVeth({.name = "vx1", .peer_name = "vx3"});
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsExists());
  EXPECT_EQ(again.error().msg().rfind("create veth vx1<->vx3: ", 0), 0u) << again.error().msg();
  EXPECT_NE(again.error().msg().find("exists"), std::string::npos) << again.error().msg();
  // Nothing half-made: no vx3 appeared.
  EXPECT_TRUE(h_->LinkByName("vx3").error().IsNotFound());
}

TEST_F(NetlinkTest, CreateRejectsBadInputBeforeTheKernel) {
  auto long_name = h_->CreateVeth({.name = "abcdefghijklmnop", .peer_name = "p"});
  ASSERT_FALSE(long_name);
  EXPECT_EQ(long_name.error().code(), Code::kInvalidNetworkConfig);
  auto bad_mac = h_->CreateBridge({.name = "br9", .mac = "zz:00:00:00:00:00"});
  ASSERT_FALSE(bad_mac);
  EXPECT_EQ(bad_mac.error().code(), Code::kInvalidNetworkConfig);
  EXPECT_TRUE(h_->LinkByName("br9").error().IsNotFound());
}

TEST_F(NetlinkTest, DeleteIsIdempotent) {
  ASSERT_TRUE(h_->CreateVeth({.name = "d1", .peer_name = "d2"}));
  auto d1 = h_->LinkByName("d1");
  ASSERT_TRUE(d1);
  ASSERT_TRUE(h_->DeleteLink("d1"));
  // Deleting one end of a veth removes both.
  EXPECT_TRUE(h_->LinkByName("d1").error().IsNotFound());
  EXPECT_TRUE(h_->LinkByName("d2").error().IsNotFound());
  EXPECT_TRUE(h_->DeleteLink("d1"));
  EXPECT_TRUE(h_->DeleteLink("never-there"));
  EXPECT_TRUE(h_->DeleteLinkByIndex(d1->index));
  EXPECT_TRUE(Ip("link show type veth").empty());
}

TEST_F(NetlinkTest, DeleteByIndex) {
  ASSERT_TRUE(h_->CreateBridge({.name = "brd"}));
  auto br = h_->LinkByName("brd");
  ASSERT_TRUE(br);
  ASSERT_TRUE(h_->DeleteLinkByIndex(br->index));
  EXPECT_TRUE(h_->LinkByName("brd").error().IsNotFound());
}

TEST_F(NetlinkTest, BridgeMasterHairpinIsolated) {
  ASSERT_TRUE(h_->CreateBridge({.name = "br0", .mtu = 1400, .mac = "02:42:00:00:00:01"}));
  auto br = h_->LinkByName("br0");
  ASSERT_TRUE(br) << br.error().msg();
  EXPECT_EQ(br->kind, "bridge");
  EXPECT_EQ(br->mac, "02:42:00:00:00:01");
  EXPECT_EQ(br->mtu, 1400);

  ASSERT_TRUE(h_->CreateVeth({.name = "port0", .peer_name = "peer0", .mtu = 1400}));
  auto port = h_->LinkByName("port0");
  ASSERT_TRUE(port);
  ASSERT_TRUE(h_->SetMaster(port->index, br->index));
  auto p2 = h_->LinkByIndex(port->index);
  ASSERT_TRUE(p2);
  EXPECT_EQ(p2->master_index, br->index);

  ASSERT_TRUE(h_->SetHairpin(port->index, true));
  ASSERT_TRUE(h_->SetPortIsolated(port->index, true));
  auto j = Ip("-d link show dev port0");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["master"], "br0");
  auto slave = j[0]["linkinfo"]["info_slave_data"];
  EXPECT_EQ(slave["hairpin"], true) << j.dump();
  EXPECT_EQ(slave["isolated"], true) << j.dump();
  // The bridge's MAC was set explicitly, so enslaving a port did not change it.
  EXPECT_EQ(h_->LinkByName("br0")->mac, "02:42:00:00:00:01");

  ASSERT_TRUE(h_->SetHairpin(port->index, false));
  ASSERT_TRUE(h_->SetPortIsolated(port->index, false));
  slave = Ip("-d link show dev port0")[0]["linkinfo"]["info_slave_data"];
  EXPECT_EQ(slave["hairpin"], false);
  EXPECT_EQ(slave["isolated"], false);

  ASSERT_TRUE(h_->SetMaster(port->index, 0));
  EXPECT_EQ(h_->LinkByIndex(port->index)->master_index, 0);
  EXPECT_FALSE(Ip("link show dev port0")[0].contains("master"));
}

TEST_F(NetlinkTest, HairpinOnNonPortFails) {
  ASSERT_TRUE(h_->CreateVeth({.name = "np0", .peer_name = "np1"}));
  auto l = h_->LinkByName("np0");
  ASSERT_TRUE(l);
  auto s = h_->SetHairpin(l->index, true);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().msg().find("hairpin"), std::string::npos) << s.error().msg();
}

TEST_F(NetlinkTest, SettersReadBack) {
  ASSERT_TRUE(h_->CreateVeth({.name = "s0", .peer_name = "s1"}));
  auto l = h_->LinkByName("s0");
  ASSERT_TRUE(l);
  const int idx = l->index;
  ASSERT_TRUE(h_->SetMtu(idx, 1234));
  ASSERT_TRUE(h_->SetMac(idx, "02:AB:CD:00:00:01"));
  ASSERT_TRUE(h_->SetPromisc(idx, true));
  ASSERT_TRUE(h_->SetUp(idx));
  auto got = h_->LinkByIndex(idx);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->mtu, 1234);
  EXPECT_EQ(got->mac, "02:ab:cd:00:00:01");
  EXPECT_TRUE(got->promisc);
  EXPECT_TRUE(got->admin_up);

  auto j = Ip("link show dev s0");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["mtu"], 1234);
  EXPECT_EQ(j[0]["address"], "02:ab:cd:00:00:01");
  auto flags = j[0]["flags"];
  EXPECT_NE(std::find(flags.begin(), flags.end(), "PROMISC"), flags.end()) << flags.dump();
  EXPECT_NE(std::find(flags.begin(), flags.end(), "UP"), flags.end()) << flags.dump();

  ASSERT_TRUE(h_->SetPromisc(idx, false));
  ASSERT_TRUE(h_->SetUp(idx, false));
  got = h_->LinkByIndex(idx);
  EXPECT_FALSE(got->promisc);
  EXPECT_FALSE(got->admin_up);
  EXPECT_FALSE(h_->SetMac(idx, "not-a-mac"));
}

TEST_F(NetlinkTest, RenameAndClash) {
  ASSERT_TRUE(h_->CreateVeth({.name = "r0", .peer_name = "r1"}));
  auto l = h_->LinkByName("r0");
  ASSERT_TRUE(l);
  ASSERT_TRUE(h_->SetName(l->index, "eth7"));
  EXPECT_EQ(h_->LinkByIndex(l->index)->name, "eth7");
  EXPECT_EQ(Ip("link show dev eth7").size(), 1u);
  // Renaming onto an existing name is kExists.
  auto clash = h_->SetName(l->index, "r1");
  ASSERT_FALSE(clash);
  EXPECT_TRUE(clash.error().IsExists()) << clash.error().msg();
  EXPECT_FALSE(h_->SetName(l->index, ""));
}

TEST_F(NetlinkTest, SetNetnsMovesLink) {
  auto& other = Other();
  ASSERT_TRUE(h_->CreateVeth({.name = "m0", .peer_name = "m1"}));
  auto l = h_->LinkByName("m1");
  ASSERT_TRUE(l);
  ASSERT_TRUE(h_->SetNetns(l->index, other.ns()));
  EXPECT_TRUE(h_->LinkByName("m1").error().IsNotFound());
  EXPECT_EQ(IpJson(other.name(), "link show dev m1").size(), 1u);
}

TEST_F(NetlinkTest, ListLinksHasEverything) {
  ASSERT_TRUE(h_->CreateVeth({.name = "l0", .peer_name = "l1"}));
  ASSERT_TRUE(h_->CreateBridge({.name = "lbr"}));
  auto links = h_->ListLinks();
  ASSERT_TRUE(links) << links.error().msg();
  std::vector<std::string> names;
  for (const auto& l : *links) names.push_back(l.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"l0", "l1", "lbr", "lo"}));
  EXPECT_EQ(links->size(), Ip("link show").size());
}

TEST_F(NetlinkTest, VethPeerNameTakenInOtherNamespace) {
  // The container already has eth0: creation fails as a whole, kExists, and
  // no host end is left behind.
  auto& other = Other();
  auto oh = Handle::OpenIn(other.ns());
  ASSERT_TRUE(oh);
  ASSERT_TRUE(oh->CreateBridge({.name = "eth0"}));
  std::string host = UniqueName("veth");
  auto s = h_->CreateVeth({.name = host, .peer_name = "eth0", .peer_ns = &other.ns()});
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().IsExists()) << s.error().msg();
  EXPECT_TRUE(h_->LinkByName(host).error().IsNotFound());
  EXPECT_EQ(oh->LinkByName("eth0")->kind, "bridge");
}

}  // namespace
}  // namespace cni::nl
