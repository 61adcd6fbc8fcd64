// Neighbours, vxlan devices and their FDB entries, and WaitOperUp.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "libcni/netlink/netlink_test_fixture.h"

namespace cni::nl {
namespace {

using namespace std::chrono_literals;


TEST_F(NetlinkTest, PermanentNeighbourReplaceListDelete) {
  int idx = UpVethPair("n0", "n1");
  ASSERT_GT(idx, 0);
  NeighInfo n{.ifindex = idx, .dst = linen::test::Ip("10.3.0.7"), .lladdr = "02:00:00:00:03:07"};
  ASSERT_TRUE(h_->ReplaceNeigh(n));
  auto list = h_->ListNeighs(idx, Family::kV4);
  ASSERT_TRUE(list) << list.error().msg();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], n);

  auto j = Ip("neigh show dev n0");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["dst"], "10.3.0.7");
  EXPECT_EQ(j[0]["lladdr"], "02:00:00:00:03:07");
  EXPECT_EQ(j[0]["state"][0], "PERMANENT");

  // Replace updates in place.
  n.lladdr = "02:00:00:00:03:08";
  ASSERT_TRUE(h_->ReplaceNeigh(n));
  j = Ip("neigh show dev n0");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["lladdr"], "02:00:00:00:03:08");

  ASSERT_TRUE(h_->DeleteNeigh(n));
  EXPECT_TRUE(Ip("neigh show dev n0").empty());
  EXPECT_TRUE(h_->DeleteNeigh(n));  // absent is success
}

TEST_F(NetlinkTest, Ipv6NeighboursListedByFamily) {
  int idx = UpVethPair("n6a", "n6b");
  ASSERT_GT(idx, 0);
  NeighInfo v6{.ifindex = idx, .dst = linen::test::Ip("fd00::7"), .lladdr = "02:00:00:00:06:07"};
  NeighInfo v4{.ifindex = idx, .dst = linen::test::Ip("10.4.0.7"), .lladdr = "02:00:00:00:04:07"};
  ASSERT_TRUE(h_->ReplaceNeigh(v6));
  ASSERT_TRUE(h_->ReplaceNeigh(v4));
  auto list6 = h_->ListNeighs(idx, Family::kV6);
  ASSERT_TRUE(list6);
  // IPv6 may also hold kernel-made entries (e.g. routers); ours must be there, no v4.
  EXPECT_NE(std::find(list6->begin(), list6->end(), v6), list6->end());
  for (const auto& n : *list6) EXPECT_FALSE(n.dst.is_v4());
  EXPECT_EQ(Ip("-6 neigh show fd00::7 dev n6a")[0]["lladdr"], "02:00:00:00:06:07");
}

TEST_F(NetlinkTest, NeighboursListedForOneDeviceOnly) {
  int a = UpVethPair("na0", "na1");
  int b = UpVethPair("nb0", "nb1");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  NeighInfo on_a{.ifindex = a, .dst = linen::test::Ip("10.5.0.1"), .lladdr = "02:00:00:00:05:01"};
  NeighInfo on_b{.ifindex = b, .dst = linen::test::Ip("10.5.0.2"), .lladdr = "02:00:00:00:05:02"};
  ASSERT_TRUE(h_->ReplaceNeigh(on_a));
  ASSERT_TRUE(h_->ReplaceNeigh(on_b));
  auto la = h_->ListNeighs(a, Family::kV4);
  ASSERT_TRUE(la) << la.error().msg();
  ASSERT_EQ(la->size(), 1u);
  EXPECT_EQ((*la)[0], on_a);
  auto all = h_->ListNeighs(0, Family::kV4);
  ASSERT_TRUE(all) << all.error().msg();
  EXPECT_NE(std::find(all->begin(), all->end(), on_a), all->end());
  EXPECT_NE(std::find(all->begin(), all->end(), on_b), all->end());
  // A device that does not exist has none (the kernel filters on the index).
  auto none = h_->ListNeighs(a + b + 1000, Family::kV4);
  ASSERT_TRUE(none) << none.error().msg();
  EXPECT_TRUE(none->empty());
}

TEST_F(NetlinkTest, ManyNeighboursThroughOneSocket) {
  int idx = UpVethPair("m0", "m1");
  ASSERT_GT(idx, 0);
  constexpr int kCount = 2000;
  for (int i = 0; i < kCount; ++i) {
    char mac[18];
    std::snprintf(mac, sizeof(mac), "02:00:00:00:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
    auto s = h_->ReplaceNeigh({.ifindex = idx,
                               .dst = IpAddr::FromV4(0x0a100000u + static_cast<uint32_t>(i)),
                               .lladdr = mac});
    ASSERT_TRUE(s) << s.error().msg();
  }
  auto list = h_->ListNeighs(idx, Family::kV4);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), static_cast<size_t>(kCount));
  EXPECT_EQ(Ip("-4 neigh show dev m0").size(), static_cast<size_t>(kCount));
}

class VxlanTest : public NetlinkTest {
 protected:
  void SetUp() override {
    NetlinkTest::SetUp();
    if (HasFatalFailure()) return;
    underlay_ = UpVethPair("u0", "u1");
    ASSERT_GT(underlay_, 0);
    ASSERT_TRUE(h_->AddAddr(underlay_, *IpNet::Parse("192.168.50.1/24")));
  }
  int underlay_ = 0;
};

TEST_F(VxlanTest, AttributesReadBack) {
  VxlanSpec spec{.name = "flannel.1",
                 .info = {.vni = 4097, .local = linen::test::Ip("192.168.50.1"), .dev_index = underlay_,
                          .port = 8472, .learning = false},
                 .mtu = 1450,
                 .mac = "6a:00:00:00:00:01"};
  ASSERT_TRUE(h_->CreateVxlan(spec));
  auto l = h_->LinkByName("flannel.1");
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_EQ(l->kind, "vxlan");
  EXPECT_EQ(l->mtu, 1450);
  EXPECT_EQ(l->mac, "6a:00:00:00:00:01");
  ASSERT_TRUE(l->vxlan);
  EXPECT_EQ(*l->vxlan, spec.info);

  auto j = Ip("-d link show dev flannel.1");
  ASSERT_EQ(j.size(), 1u);
  auto data = j[0]["linkinfo"]["info_data"];
  EXPECT_EQ(data["id"], 4097);
  EXPECT_EQ(data["local"], "192.168.50.1");
  EXPECT_EQ(data["port"], 8472);
  EXPECT_EQ(data["learning"], false);
  EXPECT_EQ(data["link"], "u0");
}

TEST_F(VxlanTest, NonDefaultPortAndLearningOn) {
  VxlanSpec spec{.name = "vx2", .info = {.vni = 2, .port = 4789, .learning = true}};
  ASSERT_TRUE(h_->CreateVxlan(spec));
  auto l = h_->LinkByName("vx2");
  ASSERT_TRUE(l && l->vxlan);
  EXPECT_EQ(l->vxlan->port, 4789);
  EXPECT_TRUE(l->vxlan->learning);
  EXPECT_EQ(l->vxlan->dev_index, 0);
  EXPECT_FALSE(l->vxlan->local);
  auto data = Ip("-d link show dev vx2")[0]["linkinfo"]["info_data"];
  EXPECT_EQ(data["port"], 4789);
  EXPECT_EQ(data["learning"], true);
  // Exclusive: a second device with the same name is kExists.
  auto again = h_->CreateVxlan(spec);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsExists());
  auto bad = h_->CreateVxlan({.name = "vx3", .info = {.vni = 1u << 24}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::kInvalidNetworkConfig);
}

TEST_F(VxlanTest, FdbWithRemoteVtep) {
  ASSERT_TRUE(h_->CreateVxlan({.name = "vxf", .info = {.vni = 1, .learning = false}}));
  auto vx = h_->LinkByName("vxf");
  ASSERT_TRUE(vx);
  FdbInfo f{.ifindex = vx->index, .lladdr = "6a:00:00:00:00:02", .dst = linen::test::Ip("192.168.50.2")};
  ASSERT_TRUE(h_->ReplaceFdb(f));
  auto list = h_->ListFdb(vx->index);
  ASSERT_TRUE(list) << list.error().msg();
  EXPECT_NE(std::find(list->begin(), list->end(), f), list->end());

  auto j = Bridge("fdb show dev vxf");
  auto it = std::find_if(j.begin(), j.end(),
                         [](const auto& e) { return e["mac"] == "6a:00:00:00:00:02"; });
  ASSERT_NE(it, j.end()) << j.dump();
  EXPECT_EQ((*it)["dst"], "192.168.50.2");
  EXPECT_EQ((*it)["state"], "permanent");

  // Replace moves the MAC to another VTEP instead of adding a second one.
  f.dst = linen::test::Ip("192.168.50.3");
  ASSERT_TRUE(h_->ReplaceFdb(f));
  j = Bridge("fdb show dev vxf");
  int count = 0;
  for (const auto& e : j) {
    if (e["mac"] == "6a:00:00:00:00:02") {
      ++count;
      EXPECT_EQ(e["dst"], "192.168.50.3");
    }
  }
  EXPECT_EQ(count, 1);

  ASSERT_TRUE(h_->DeleteFdb(f));
  list = h_->ListFdb(vx->index);
  ASSERT_TRUE(list);
  EXPECT_EQ(std::find(list->begin(), list->end(), f), list->end());
  EXPECT_TRUE(h_->DeleteFdb(f));  // absent is success
}

TEST_F(VxlanTest, ListFdbFiltersByDevice) {
  ASSERT_TRUE(h_->CreateVxlan({.name = "vxa", .info = {.vni = 10, .learning = false}}));
  ASSERT_TRUE(h_->CreateVxlan({.name = "vxb", .info = {.vni = 11, .port = 4790, .learning = false}}));
  auto a = h_->LinkByName("vxa");
  auto b = h_->LinkByName("vxb");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(h_->ReplaceFdb({.ifindex = a->index, .lladdr = "6a:00:00:00:0a:01",
                              .dst = linen::test::Ip("192.168.50.10")}));
  ASSERT_TRUE(h_->ReplaceFdb({.ifindex = b->index, .lladdr = "6a:00:00:00:0b:01",
                              .dst = linen::test::Ip("192.168.50.11")}));
  // A bridge with ports beside them: every port has its own entries in the bridge's
  // FDB, none of which belongs to the vxlan device.
  ASSERT_TRUE(h_->CreateBridge({.name = "brf"}));
  auto br = h_->LinkByName("brf");
  ASSERT_TRUE(br);
  int port = 0;
  for (int i = 0; i < 3; ++i) {
    port = UpVethPair("fp" + std::to_string(i), "fq" + std::to_string(i));
    ASSERT_GT(port, 0);
    ASSERT_TRUE(h_->SetMaster(port, br->index));
  }
  auto lp = h_->ListFdb(port);
  ASSERT_TRUE(lp) << lp.error().msg();
  EXPECT_FALSE(lp->empty());  // the port's own (local) entry
  for (const auto& f : *lp) EXPECT_EQ(f.ifindex, port);
  auto la = h_->ListFdb(a->index);
  ASSERT_TRUE(la);
  for (const auto& f : *la) EXPECT_EQ(f.ifindex, a->index);
  EXPECT_TRUE(std::any_of(la->begin(), la->end(),
                          [](const FdbInfo& f) { return f.lladdr == "6a:00:00:00:0a:01"; }));
  EXPECT_FALSE(std::any_of(la->begin(), la->end(),
                           [](const FdbInfo& f) { return f.lladdr == "6a:00:00:00:0b:01"; }));
}

TEST_F(NetlinkTest, WaitOperUpReturnsOnceBothEndsAreUp) {
  auto& other = Other();
  ASSERT_TRUE(h_->CreateVeth({.name = "w0", .peer_name = "eth0", .peer_ns = &other.ns()}));
  auto w0 = h_->LinkByName("w0");
  ASSERT_TRUE(w0);
  ASSERT_TRUE(h_->SetUp(w0->index));
  // Only one end is up: no carrier yet.
  EXPECT_FALSE(h_->LinkByIndex(w0->index)->oper_up);
  auto oh = Handle::OpenIn(other.ns());
  ASSERT_TRUE(oh);
  auto peer = oh->LinkByName("eth0");
  ASSERT_TRUE(peer);
  // The peer comes up from another thread while this one waits on events.
  std::thread t([&] { EXPECT_TRUE(oh->SetUp(peer->index)); });
  auto s = h_->WaitOperUp(w0->index, 10s);
  t.join();
  ASSERT_TRUE(s) << s.error().msg();
  EXPECT_TRUE(h_->LinkByIndex(w0->index)->oper_up);
  // The socket still answers requests normally after leaving the group.
  EXPECT_TRUE(h_->LinkByName("lo"));
}

TEST_F(NetlinkTest, WaitOperUpTimesOut) {
  ASSERT_TRUE(h_->CreateVeth({.name = "t0", .peer_name = "t1"}));
  auto t0 = h_->LinkByName("t0");
  ASSERT_TRUE(t0);
  ASSERT_TRUE(h_->SetUp(t0->index));  // peer stays down: never oper-up
  auto s = h_->WaitOperUp(t0->index, 50ms);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().msg().find("timed out"), std::string::npos) << s.error().msg();
  // Link events that arrived during the wait don't confuse later requests.
  ASSERT_TRUE(h_->SetMtu(t0->index, 1300));
  EXPECT_EQ(h_->LinkByIndex(t0->index)->mtu, 1300);
}

TEST_F(NetlinkTest, WaitOperUpOnMissingLinkIsNotFound) {
  auto s = h_->WaitOperUp(9999, 50ms);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().IsNotFound()) << s.error().msg();
}

}  // namespace
}  // namespace cni::nl
