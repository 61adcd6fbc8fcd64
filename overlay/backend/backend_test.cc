// Backends against a real kernel (BackendNodeTest: a TempNetns plays the node, a veth
// pair inside it the underlay, 172.20.0.1/16, so thousands of peers are on-link).
#include "overlay/backend/backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "libcni/types.h"
#include "overlay/backend/backend_test_fixture.h"
#include "overlay/backend/underlay.h"
#include "test/support/test_support.h"

namespace linen::overlay {
namespace {

using cni::nl::Handle;

using linen::test::Ip;
using linen::test::Net;

// Peer i (1-based): node IP 172.20.<i/250>.<i%250+2>, subnet 10.<i/256>.<i%256>.0/24
// shifted by one so that 10.0.0.0/24 is ours.
NodeLease Peer(int i) {
  NodeLease p;
  p.name = "peer" + std::to_string(i);
  p.node_ip = Ip("172.20." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 2));
  p.subnet = Net("10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24");
  p.vtep_mac = DeriveVtepMac(p.node_ip);
  return p;
}

std::vector<NodeLease> Peers(int n) {
  std::vector<NodeLease> v;
  for (int i = 1; i <= n; ++i) v.push_back(Peer(i));
  return v;
}

class BackendTest : public BackendNodeTest {
 protected:
  LocalNode Node(BackendType type) {
    LocalNode n;
    n.self.name = "self";
    n.self.node_ip = Ip("172.20.0.1");
    n.self.subnet = Net("10.0.0.0/24");
    n.self.vtep_mac = DeriveVtepMac(n.self.node_ip);
    n.cluster.network = Net("10.0.0.0/8");
    n.cluster.backend = type;
    return n;
  }

  std::vector<cni::nl::RouteInfo> OurRoutes() {
    auto rs = h_->ListRoutes(cni::Family::kV4);
    EXPECT_TRUE(rs);
    std::vector<cni::nl::RouteInfo> out;
    for (auto& r : *rs) {
      if (r.protocol == cni::nl::kLinenRouteProtocol) out.push_back(r);
    }
    return out;
  }

  std::optional<cni::nl::RouteInfo> RouteTo(const std::string& dst) {
    auto rs = h_->ListRoutes(cni::Family::kV4);
    EXPECT_TRUE(rs);
    for (auto& r : *rs) {
      if (r.dst == Net(dst)) return r;
    }
    return std::nullopt;
  }

  int VtepIndex() {
    auto l = h_->LinkByName("linen.1");
    EXPECT_TRUE(l);
    return l ? l->index : 0;
  }

  // Every entry of `p` is in the kernel, as iproute2 reads it.
  bool Programmed(BackendType type, const NodeLease& p) {
    cni::json r = Kernel("ip", "route show " + p.subnet.ToString() + " proto " +
                                   std::to_string(cni::nl::kLinenRouteProtocol));
    if (r.size() != 1) return false;
    if (type == BackendType::kHostGw) return r[0].value("gateway", "") == p.node_ip.ToString();
    if (r[0].value("gateway", "") != p.subnet.Network().ToString() ||
        r[0].value("dev", "") != "linen.1") {
      return false;
    }
    cni::json n = Kernel("ip", "neigh show " + p.subnet.Network().ToString() + " dev linen.1");
    if (n.size() != 1 || n[0].value("lladdr", "") != p.vtep_mac) return false;
    return FdbDst(p.vtep_mac) == p.node_ip.ToString();
  }

  // None of `p`'s entries is in the kernel (a foreign route for its subnet may be).
  bool Unprogrammed(BackendType type, const NodeLease& p) {
    cni::json r = Kernel("ip", "route show " + p.subnet.ToString() + " proto " +
                                   std::to_string(cni::nl::kLinenRouteProtocol));
    if (!r.empty()) return false;
    if (type == BackendType::kHostGw) return true;
    return Kernel("ip", "neigh show " + p.subnet.Network().ToString() + " dev linen.1").empty() &&
           FdbDst(p.vtep_mac).empty();
  }

  std::string FdbDst(const std::string& mac) {
    for (const cni::json& f : Kernel("bridge", "fdb show dev linen.1")) {
      if (f.value("mac", "") == mac && f.contains("dst")) return f.value("dst", "");
    }
    return "";
  }

  // A route for `p`'s subnet that linen does not own.
  cni::nl::RouteInfo PlantForeignRoute(const NodeLease& p) {
    cni::nl::RouteInfo foreign;
    foreign.dst = p.subnet;
    foreign.gw = Ip("172.20.0.99");
    EXPECT_TRUE(h_->AddRoute(foreign));
    return foreign;
  }

  void ExpectForeignRouteBlocksOnlyItsPeer(BackendType type);
};

void ExpectForeignFailure(const ReconcileStats& st, const NodeLease& p) {
  ASSERT_EQ(st.failures.size(), 1u);
  const PeerFailure& f = st.failures[0];
  EXPECT_EQ(f.peer, p.name);
  EXPECT_EQ(f.subnet, p.subnet);
  EXPECT_EQ(f.reason, PeerFailureReason::kForeignRoute);
  EXPECT_EQ(PeerFailureName(f.reason), "foreign_route");
  EXPECT_NE(f.detail.find("linen does not own"), std::string::npos) << f.detail;
  EXPECT_NE(f.detail.find(p.subnet.ToString()), std::string::npos) << f.detail;
}

// Three peers, a foreign route planted for peer2's subnet, peer4 departing: peers 1
// and 3 are programmed, peer4 is removed, peer2 is reported and gets nothing, in
// Reconcile and Update alike; once the route is gone the next call programs peer2.
void BackendTest::ExpectForeignRouteBlocksOnlyItsPeer(BackendType type) {
  auto be = NewBackend(*h_, Node(type));
  ASSERT_TRUE(be->EnsureNode());
  ASSERT_TRUE(be->Reconcile({Peer(4)}));
  ASSERT_TRUE(Programmed(type, Peer(4)));
  cni::nl::RouteInfo foreign = PlantForeignRoute(Peer(2));
  const std::vector<NodeLease> three = {Peer(1), Peer(2), Peer(3)};

  auto st = be->Reconcile(three);
  ASSERT_TRUE(st) << st.error().msg();
  ExpectForeignFailure(*st, Peer(2));
  EXPECT_NE(st->failures[0].detail.find("172.20.0.99"), std::string::npos)
      << "Reconcile names the route: " << st->failures[0].detail;
  EXPECT_TRUE(Programmed(type, Peer(1)));
  EXPECT_TRUE(Programmed(type, Peer(3)));
  EXPECT_TRUE(Unprogrammed(type, Peer(4))) << "the departed peer is removed all the same";
  EXPECT_TRUE(Unprogrammed(type, Peer(2))) << "nothing of a blocked peer is written";
  auto kept = RouteTo(Peer(2).subnet.ToString());
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->gw, Ip("172.20.0.99"));
  EXPECT_NE(kept->protocol, cni::nl::kLinenRouteProtocol);

  // Still blocked: every call reports it again, and the route is never taken over.
  auto update = be->Update(three);
  ASSERT_TRUE(update) << update.error().msg();
  ExpectForeignFailure(*update, Peer(2));
  auto again = be->Reconcile(three);
  ASSERT_TRUE(again) << again.error().msg();
  ExpectForeignFailure(*again, Peer(2));
  EXPECT_EQ(RouteTo(Peer(2).subnet.ToString())->gw, Ip("172.20.0.99"));

  // The operator removes it: the next Update programs peer2.
  ASSERT_TRUE(h_->DeleteRoute(foreign));
  auto fixed = be->Update(three);
  ASSERT_TRUE(fixed) << fixed.error().msg();
  EXPECT_TRUE(fixed->failures.empty()) << fixed->failures[0].detail;
  EXPECT_EQ(fixed->routes_set, 1);
  EXPECT_TRUE(Programmed(type, Peer(2)));

  // And the same through Reconcile: peer2 leaves, the route comes back, peer2 rejoins.
  ASSERT_TRUE(be->Reconcile({Peer(1), Peer(3)}));
  ASSERT_TRUE(Unprogrammed(type, Peer(2)));
  PlantForeignRoute(Peer(2));
  auto blocked = be->Reconcile(three);
  ASSERT_TRUE(blocked) << blocked.error().msg();
  ExpectForeignFailure(*blocked, Peer(2));
  ASSERT_TRUE(h_->DeleteRoute(foreign));
  auto healed = be->Reconcile(three);
  ASSERT_TRUE(healed) << healed.error().msg();
  EXPECT_TRUE(healed->failures.empty()) << healed->failures[0].detail;
  for (const NodeLease& p : three) EXPECT_TRUE(Programmed(type, p)) << p.name;
  auto quiet = be->Update(three);
  ASSERT_TRUE(quiet);
  EXPECT_EQ(quiet->ops(), 0) << "the memory matches the kernel after recovery";
  EXPECT_TRUE(quiet->failures.empty());
  { auto c = be->Check(three); EXPECT_TRUE(c) << (c ? "" : c.error().msg()); }
}

TEST_F(BackendTest, HostGwForeignRouteBlocksOnlyItsPeer) {
  ExpectForeignRouteBlocksOnlyItsPeer(BackendType::kHostGw);
}

TEST_F(BackendTest, VxlanForeignRouteBlocksOnlyItsPeer) {
  ExpectForeignRouteBlocksOnlyItsPeer(BackendType::kVxlan);
}

// vxlan: a peer whose neighbour cannot be written (a malformed VTEP MAC) gets neither
// its FDB entry nor a route to that neighbour; a peer whose route the kernel refuses
// (subnet 0.0.0.0/1: an onlink gateway 0.0.0.0 is not unicast) fails alone; the rest
// are programmed, through Reconcile and Update alike. (host-gw's routes go through an
// on-link unicast gateway, which the kernel does not refuse.)
TEST_F(BackendTest, VxlanRefusedEntriesBlockOnlyTheirPeer) {
  auto be = NewBackend(*h_, Node(BackendType::kVxlan));
  ASSERT_TRUE(be->EnsureNode());
  NodeLease bad_mac = Peer(2);
  bad_mac.vtep_mac = "zz:zz";
  NodeLease bad_route = Peer(3);
  bad_route.subnet = Net("0.0.0.0/1");
  const std::vector<NodeLease> peers = {Peer(1), bad_mac, bad_route, Peer(4)};
  for (bool full : {true, false}) {
    auto st = full ? be->Reconcile(peers) : be->Update(peers);
    ASSERT_TRUE(st) << st.error().msg();
    ASSERT_EQ(st->failures.size(), 2u);
    EXPECT_EQ(st->failures[0].peer, "peer2");
    EXPECT_EQ(st->failures[0].reason, PeerFailureReason::kKernelRefused);
    EXPECT_NE(st->failures[0].detail.find("zz:zz"), std::string::npos) << st->failures[0].detail;
    EXPECT_EQ(st->failures[1].peer, "peer3");
    EXPECT_EQ(st->failures[1].subnet, Net("0.0.0.0/1"));
    EXPECT_EQ(st->failures[1].reason, PeerFailureReason::kKernelRefused);
    EXPECT_NE(st->failures[1].detail.find("route 0.0.0.0/1"), std::string::npos)
        << st->failures[1].detail;
    EXPECT_TRUE(Programmed(BackendType::kVxlan, Peer(1)));
    EXPECT_TRUE(Programmed(BackendType::kVxlan, Peer(4)));
    EXPECT_TRUE(Unprogrammed(BackendType::kVxlan, bad_mac));
    EXPECT_FALSE(RouteTo("0.0.0.0/1"));
  }
}

TEST_F(BackendTest, HostGwThousandPeersThenNothingToDo) {
  auto be = NewBackend(*h_, Node(BackendType::kHostGw));
  auto setup = be->EnsureNode();
  ASSERT_TRUE(setup) << setup.error().msg();
  EXPECT_EQ(setup->underlay, "ul0");
  EXPECT_EQ(setup->mtu, 1500);

  auto st = be->Reconcile(Peers(1000));
  ASSERT_TRUE(st) << st.error().msg();
  EXPECT_EQ(st->routes_set, 1000);
  EXPECT_EQ(st->ops(), 1000);
  EXPECT_EQ(OurRoutes().size(), 1000u);
  auto r = RouteTo("10.1.244.0/24");  // peer 500
  ASSERT_TRUE(r);
  EXPECT_EQ(r->gw, Peer(500).node_ip);
  EXPECT_EQ(r->oif, ul_index_);
  const std::string proto = std::to_string(cni::nl::kLinenRouteProtocol);
  cni::json routes = Kernel("ip", "route show proto " + proto);
  EXPECT_EQ(routes.size(), 1000u);
  cni::json ip_r = Kernel("ip", "route show 10.1.244.0/24");
  ASSERT_EQ(ip_r.size(), 1u) << ip_r.dump();
  EXPECT_EQ(ip_r[0].value("gateway", ""), Peer(500).node_ip.ToString());
  EXPECT_EQ(ip_r[0].value("dev", ""), "ul0");

  auto again = be->Reconcile(Peers(1000));
  ASSERT_TRUE(again) << again.error().msg();
  EXPECT_EQ(again->ops(), 0);
  { auto c = be->Check(Peers(1000)); EXPECT_TRUE(c) << (c ? "" : c.error().msg()); }
}

TEST_F(BackendTest, VxlanThousandPeersThenNothingToDo) {
  auto be = NewBackend(*h_, Node(BackendType::kVxlan));
  auto setup = be->EnsureNode();
  ASSERT_TRUE(setup) << setup.error().msg();
  EXPECT_EQ(setup->mtu, 1450);
  EXPECT_EQ(setup->vtep_mac, DeriveVtepMac(Ip("172.20.0.1")));

  auto dev = h_->LinkByName("linen.1");
  ASSERT_TRUE(dev) << dev.error().msg();
  EXPECT_EQ(dev->kind, "vxlan");
  EXPECT_EQ(dev->mtu, 1450);
  EXPECT_TRUE(dev->admin_up);
  ASSERT_TRUE(dev->vxlan);
  EXPECT_EQ(dev->vxlan->vni, 1u);
  EXPECT_EQ(dev->vxlan->port, 8472);
  EXPECT_FALSE(dev->vxlan->learning);
  EXPECT_EQ(dev->vxlan->local, Ip("172.20.0.1"));
  EXPECT_EQ(dev->vxlan->dev_index, ul_index_);
  auto addrs = h_->ListAddrs(dev->index);
  ASSERT_TRUE(addrs);
  std::vector<cni::IpNet> v4;
  for (auto& a : *addrs) {
    if (a.addr.family() == cni::Family::kV4) v4.push_back(a.addr);
  }
  EXPECT_EQ(v4, std::vector<cni::IpNet>{Net("10.0.0.0/32")});
  cni::json ip_l = Kernel("ip", "-d link show linen.1");
  ASSERT_EQ(ip_l.size(), 1u) << ip_l.dump();
  EXPECT_EQ(ip_l[0].value("mtu", 0), 1450);
  EXPECT_EQ(ip_l[0].value("address", ""), DeriveVtepMac(Ip("172.20.0.1")));
  const cni::json& vx = ip_l[0]["linkinfo"]["info_data"];
  EXPECT_EQ(vx.value("link", ""), "ul0");
  EXPECT_EQ(ip_l[0]["linkinfo"].value("info_kind", ""), "vxlan");
  EXPECT_EQ(vx.value("id", 0), 1);
  EXPECT_EQ(vx.value("port", 0), 8472);
  EXPECT_EQ(vx.value("local", ""), "172.20.0.1");
  EXPECT_FALSE(vx.value("learning", true));

  auto st = be->Reconcile(Peers(1000));
  ASSERT_TRUE(st) << st.error().msg();
  EXPECT_EQ(st->routes_set, 1000);
  EXPECT_EQ(st->neighs_set, 1000);
  EXPECT_EQ(st->fdbs_set, 1000);
  EXPECT_EQ(OurRoutes().size(), 1000u);
  auto neighs = h_->ListNeighs(dev->index, cni::Family::kV4);
  ASSERT_TRUE(neighs);
  EXPECT_EQ(std::count_if(neighs->begin(), neighs->end(),
                          [](auto& n) { return n.state & 0x80; }),
            1000);
  auto fdb = h_->ListFdb(dev->index);
  ASSERT_TRUE(fdb);
  EXPECT_EQ(std::count_if(fdb->begin(), fdb->end(), [](auto& f) { return f.dst.has_value(); }),
            1000);
  auto r = RouteTo("10.0.7.0/24");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->gw, Ip("10.0.7.0"));
  EXPECT_TRUE(r->onlink);
  EXPECT_EQ(r->oif, dev->index);

  // Peer 7 (node 172.20.0.9) through iproute2's eyes: its route, neighbour and FDB entry.
  cni::json ip_r = Kernel("ip", "route show 10.0.7.0/24");
  ASSERT_EQ(ip_r.size(), 1u) << ip_r.dump();
  EXPECT_EQ(ip_r[0].value("gateway", ""), "10.0.7.0");
  EXPECT_EQ(ip_r[0].value("dev", ""), "linen.1");
  EXPECT_NE(ip_r[0]["flags"].dump().find("onlink"), std::string::npos) << ip_r.dump();
  cni::json ip_n = Kernel("ip", "neigh show 10.0.7.0 dev linen.1");
  ASSERT_EQ(ip_n.size(), 1u) << ip_n.dump();
  EXPECT_EQ(ip_n[0].value("lladdr", ""), Peer(7).vtep_mac);
  EXPECT_NE(ip_n[0]["state"].dump().find("PERMANENT"), std::string::npos) << ip_n.dump();
  cni::json fdb_all = Kernel("bridge", "fdb show dev linen.1");
  int with_dst = 0;
  std::optional<cni::json> fdb7;
  for (const cni::json& f : fdb_all) {
    if (!f.contains("dst")) continue;
    ++with_dst;
    if (f.value("mac", "") == Peer(7).vtep_mac) fdb7 = f;
  }
  EXPECT_EQ(with_dst, 1000);
  ASSERT_TRUE(fdb7) << "no FDB entry for peer 7's VTEP";
  EXPECT_EQ(fdb7->value("dst", ""), "172.20.0.9");
  EXPECT_NE((*fdb7)["flags"].dump().find("self"), std::string::npos) << fdb7->dump();
  EXPECT_EQ(fdb7->value("state", ""), "permanent");

  // Second EnsureNode + Reconcile: nothing to do.
  ASSERT_TRUE(be->EnsureNode());
  auto again = be->Reconcile(Peers(1000));
  ASSERT_TRUE(again) << again.error().msg();
  EXPECT_EQ(again->ops(), 0);
  { auto c = be->Check(Peers(1000)); EXPECT_TRUE(c) << (c ? "" : c.error().msg()); }
}

TEST_F(BackendTest, VxlanOneChangedPeerTouchesOnlyItsEntries) {
  auto be = NewBackend(*h_, Node(BackendType::kVxlan));
  ASSERT_TRUE(be->EnsureNode());
  auto peers = Peers(50);
  ASSERT_TRUE(be->Reconcile(peers));
  auto routes_before = OurRoutes();

  peers[6].node_ip = Ip("172.20.9.9");  // peer7 moved to another host
  peers[6].vtep_mac = DeriveVtepMac(peers[6].node_ip);
  auto st = be->Reconcile(peers);
  ASSERT_TRUE(st) << st.error().msg();
  EXPECT_EQ(st->neighs_set, 1);
  EXPECT_EQ(st->fdbs_set, 1);
  EXPECT_EQ(st->fdbs_deleted, 1);  // the old MAC's entry
  EXPECT_EQ(st->routes_set + st->routes_deleted + st->neighs_deleted, 0);
  EXPECT_EQ(OurRoutes(), routes_before);  // route via 10.0.7.0 onlink is unchanged

  auto fdb = h_->ListFdb(VtepIndex());
  ASSERT_TRUE(fdb);
  int for_peer7 = 0;
  for (auto& f : *fdb) {
    if (f.lladdr == peers[6].vtep_mac) {
      ++for_peer7;
      EXPECT_EQ(f.dst, Ip("172.20.9.9"));
    }
    EXPECT_NE(f.lladdr, Peer(7).vtep_mac) << "stale FDB entry left";
  }
  EXPECT_EQ(for_peer7, 1);
  { auto c = be->Check(peers); EXPECT_TRUE(c) << (c ? "" : c.error().msg()); }
}

TEST_F(BackendTest, DepartedPeerLosesAllThreeEntries) {
  auto be = NewBackend(*h_, Node(BackendType::kVxlan));
  ASSERT_TRUE(be->EnsureNode());
  auto peers = Peers(5);
  ASSERT_TRUE(be->Reconcile(peers));
  peers.erase(peers.begin() + 2);  // peer3
  auto st = be->Reconcile(peers);
  ASSERT_TRUE(st) << st.error().msg();
  EXPECT_EQ(st->routes_deleted, 1);
  EXPECT_EQ(st->fdbs_deleted, 1);
  EXPECT_EQ(st->neighs_deleted, 1);
  EXPECT_EQ(st->ops(), 3);
  EXPECT_FALSE(RouteTo("10.0.3.0/24"));
  auto neighs = h_->ListNeighs(VtepIndex(), cni::Family::kV4);
  ASSERT_TRUE(neighs);
  for (auto& n : *neighs) EXPECT_NE(n.dst, Ip("10.0.3.0"));
  EXPECT_EQ(OurRoutes().size(), 4u);
}

TEST_F(BackendTest, ForeignRoutesUntouchedAndConflictsRefused) {
  cni::nl::RouteInfo inside;  // someone else's route inside the cluster network
  inside.dst = Net("10.200.0.0/24");
  inside.gw = Ip("172.20.0.99");
  ASSERT_TRUE(h_->AddRoute(inside));
  cni::nl::RouteInfo outside;
  outside.dst = Net("192.0.2.0/24");
  outside.gw = Ip("172.20.0.98");
  ASSERT_TRUE(h_->AddRoute(outside));

  auto be = NewBackend(*h_, Node(BackendType::kHostGw));
  ASSERT_TRUE(be->EnsureNode());
  ASSERT_TRUE(be->Reconcile(Peers(3)));
  ASSERT_TRUE(be->Reconcile({}));  // every peer departed
  EXPECT_TRUE(OurRoutes().empty());
  EXPECT_TRUE(RouteTo("10.200.0.0/24"));
  EXPECT_TRUE(RouteTo("192.0.2.0/24"));

  NodeLease clash = Peer(4);
  clash.subnet = Net("10.200.0.0/24");
  auto st = be->Reconcile({Peer(1), clash});
  ASSERT_TRUE(st) << st.error().msg();
  ASSERT_EQ(st->failures.size(), 1u);
  EXPECT_EQ(st->failures[0].reason, PeerFailureReason::kForeignRoute);
  EXPECT_NE(st->failures[0].detail.find("linen does not own"), std::string::npos)
      << st->failures[0].detail;
  EXPECT_EQ(OurRoutes().size(), 1u) << "only peer1 is programmed";
  auto kept = RouteTo("10.200.0.0/24");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->gw, Ip("172.20.0.99"));

  ASSERT_TRUE(be->Cleanup());
  EXPECT_TRUE(RouteTo("10.200.0.0/24"));
}

// Update: what linend does per peer event. It must write exactly what changed and
// leave the kernel as a full Reconcile would.
TEST_F(BackendTest, VxlanUpdateWritesOnlyTheChangeAndMatchesReconcile) {
  auto be = NewBackend(*h_, Node(BackendType::kVxlan));
  ASSERT_TRUE(be->EnsureNode());
  auto peers = Peers(200);
  auto first = be->Update(peers);  // no memory yet: a full Reconcile
  ASSERT_TRUE(first) << first.error().msg();
  EXPECT_EQ(first->ops(), 600);

  peers[6].node_ip = Ip("172.20.9.9");  // peer7 moved
  peers[6].vtep_mac = DeriveVtepMac(peers[6].node_ip);
  auto moved = be->Update(peers);
  ASSERT_TRUE(moved) << moved.error().msg();
  EXPECT_EQ(moved->neighs_set, 1);
  EXPECT_EQ(moved->fdbs_set, 1);
  EXPECT_EQ(moved->fdbs_deleted, 1);
  EXPECT_EQ(moved->ops(), 3);

  peers.erase(peers.begin() + 2);  // peer3 left
  peers.push_back(Peer(300));      // peer300 joined
  auto churn = be->Update(peers);
  ASSERT_TRUE(churn) << churn.error().msg();
  EXPECT_EQ(churn->routes_deleted + churn->neighs_deleted + churn->fdbs_deleted, 3);
  EXPECT_EQ(churn->routes_set + churn->neighs_set + churn->fdbs_set, 3);
  EXPECT_FALSE(RouteTo("10.0.3.0/24"));
  auto joined = RouteTo("10.1.44.0/24");  // peer300
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->gw, Ip("10.1.44.0"));

  auto none = be->Update(peers);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->ops(), 0);
  // A full read-back finds nothing to repair: Update left what Reconcile would.
  auto full = be->Reconcile(peers);
  ASSERT_TRUE(full) << full.error().msg();
  EXPECT_EQ(full->ops(), 0);
  { auto c = be->Check(peers); EXPECT_TRUE(c) << (c ? "" : c.error().msg()); }
}

// flannel and lease validation accept "0E-4C-…" as a VTEP MAC; the kernel reports
// "0e:4c:…". The two must compare equal, or every reconcile rewrites those entries.
TEST_F(BackendTest, VxlanMacSpelledAnotherWayIsNotRewritten) {
  auto be = NewBackend(*h_, Node(BackendType::kVxlan));
  ASSERT_TRUE(be->EnsureNode());
  auto peers = Peers(3);
  for (auto& p : peers) {
    for (char& c : p.vtep_mac) c = c == ':' ? '-' : static_cast<char>(std::toupper(c));
  }
  auto first = be->Reconcile(peers);
  ASSERT_TRUE(first) << first.error().msg();
  EXPECT_EQ(first->ops(), 9);
  auto again = be->Reconcile(peers);
  ASSERT_TRUE(again) << again.error().msg();
  EXPECT_EQ(again->ops(), 0);
  auto update = be->Update(peers);
  ASSERT_TRUE(update) << update.error().msg();
  EXPECT_EQ(update->ops(), 0);
  { auto c = be->Check(peers); EXPECT_TRUE(c) << (c ? "" : c.error().msg()); }
}

TEST_F(BackendTest, UpdateTrustsMemoryReconcileRepairsDrift) {
  auto be = NewBackend(*h_, Node(BackendType::kHostGw));
  ASSERT_TRUE(be->EnsureNode());
  auto peers = Peers(10);
  ASSERT_TRUE(be->Reconcile(peers));
  auto gone = RouteTo("10.0.4.0/24");
  ASSERT_TRUE(gone);
  ASSERT_TRUE(h_->DeleteRoute(*gone));  // someone deletes one of our routes

  auto quiet = be->Update(peers);  // documented: Update reads nothing back
  ASSERT_TRUE(quiet);
  EXPECT_EQ(quiet->ops(), 0);
  EXPECT_FALSE(RouteTo("10.0.4.0/24"));

  auto repaired = be->Reconcile(peers);
  ASSERT_TRUE(repaired);
  EXPECT_EQ(repaired->routes_set, 1);
  EXPECT_TRUE(RouteTo("10.0.4.0/24"));

  peers[0].node_ip = Ip("172.20.0.77");  // peer1 moved: one route replaced
  auto moved = be->Update(peers);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->routes_set, 1);
  EXPECT_EQ(moved->ops(), 1);
  auto r = RouteTo("10.0.1.0/24");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->gw, Ip("172.20.0.77"));
}

// A joining peer whose subnet already has someone else's route: Update must not
// take it over (it adds exclusively) and gives Reconcile's error naming the route.
TEST_F(BackendTest, UpdateNeverReplacesForeignRoute) {
  auto be = NewBackend(*h_, Node(BackendType::kHostGw));
  ASSERT_TRUE(be->EnsureNode());
  ASSERT_TRUE(be->Reconcile(Peers(3)));
  cni::nl::RouteInfo foreign;
  foreign.dst = Net("10.200.0.0/24");
  foreign.gw = Ip("172.20.0.99");
  ASSERT_TRUE(h_->AddRoute(foreign));

  NodeLease clash = Peer(4);
  clash.subnet = Net("10.200.0.0/24");
  auto peers = Peers(3);
  peers.push_back(clash);
  auto st = be->Update(peers);
  ASSERT_TRUE(st) << st.error().msg();
  ASSERT_EQ(st->failures.size(), 1u);
  EXPECT_EQ(st->failures[0].reason, PeerFailureReason::kForeignRoute);
  EXPECT_EQ(st->failures[0].peer, "peer4");
  EXPECT_NE(st->failures[0].detail.find("linen does not own"), std::string::npos)
      << st->failures[0].detail;
  EXPECT_EQ(st->ops(), 0);
  auto kept = RouteTo("10.200.0.0/24");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->gw, Ip("172.20.0.99"));
  EXPECT_NE(kept->protocol, cni::nl::kLinenRouteProtocol);
  EXPECT_EQ(OurRoutes().size(), 3u);
}

TEST_F(BackendTest, HostGwRefusesPeerWithoutL2Adjacency) {
  auto be = NewBackend(*h_, Node(BackendType::kHostGw));
  ASSERT_TRUE(be->EnsureNode());
  NodeLease far = Peer(2);
  far.node_ip = Ip("198.51.100.7");
  auto st = be->Reconcile({Peer(1), far});
  ASSERT_TRUE(st) << st.error().msg();
  ASSERT_EQ(st->failures.size(), 1u);
  const PeerFailure& f = st->failures[0];
  EXPECT_EQ(f.reason, PeerFailureReason::kNotOnLink);
  EXPECT_EQ(PeerFailureName(f.reason), "not_on_link");
  EXPECT_EQ(f.peer, "peer2");
  EXPECT_EQ(f.subnet, Net("10.0.2.0/24"));
  // What the static-mode plugins turn it into: code 7, suggesting vxlan.
  auto err = FailuresAsError(st->failures);
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(err.error().msg().find("L2 adjacency"), std::string::npos) << err.error().msg();
  EXPECT_NE(err.error().msg().find("vxlan"), std::string::npos);
  EXPECT_NE(err.error().msg().find("198.51.100.7"), std::string::npos);
  // The peer that is on link is programmed regardless; the other never is.
  auto r1 = RouteTo("10.0.1.0/24");
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->gw, Peer(1).node_ip);
  EXPECT_EQ(OurRoutes().size(), 1u);
  auto chk = be->Check({Peer(1), far});
  ASSERT_FALSE(chk);
  EXPECT_NE(chk.error().msg().find("L2 adjacency"), std::string::npos) << chk.error().msg();
}

TEST_F(BackendTest, VxlanDirectRoutingUsesHostGwRouteOnSameL2) {
  LocalNode n = Node(BackendType::kVxlan);
  n.cluster.direct_routing = true;
  auto be = NewBackend(*h_, n);
  ASSERT_TRUE(be->EnsureNode());
  NodeLease far = Peer(2);
  far.node_ip = Ip("198.51.100.7");
  far.vtep_mac = DeriveVtepMac(far.node_ip);
  auto st = be->Reconcile({Peer(1), far});
  ASSERT_TRUE(st) << st.error().msg();
  auto near_route = RouteTo("10.0.1.0/24");
  ASSERT_TRUE(near_route);
  EXPECT_EQ(near_route->gw, Peer(1).node_ip);
  EXPECT_EQ(near_route->oif, ul_index_);
  auto far_route = RouteTo("10.0.2.0/24");
  ASSERT_TRUE(far_route);
  EXPECT_EQ(far_route->oif, VtepIndex());
  EXPECT_EQ(st->neighs_set, 1);
  EXPECT_EQ(st->fdbs_set, 1);
}

TEST_F(BackendTest, UnderlayIsTheHolderOfTheNodeIpUpOrDown) {
  auto holds = [](const Underlay& u, const std::string& net) {
    return std::find(u.addrs.begin(), u.addrs.end(), Net(net)) != u.addrs.end();
  };
  // Up: the kernel's local route for the node IP names the device.
  auto up = ResolveUnderlay(*h_, "", {Ip("172.20.0.1")});
  ASSERT_TRUE(up) << up.error().msg();
  EXPECT_EQ(up->link.index, ul_index_);
  EXPECT_TRUE(holds(*up, "172.20.0.1/16"));
  // Down: its local routes are gone, its addresses still say.
  ASSERT_TRUE(h_->SetUp(ul_index_, false));
  auto down = ResolveUnderlay(*h_, "", {Ip("172.20.0.1")});
  ASSERT_TRUE(h_->SetUp(ul_index_, true));
  ASSERT_TRUE(down) << down.error().msg();
  EXPECT_EQ(down->link.index, ul_index_);
  EXPECT_TRUE(holds(*down, "172.20.0.1/16"));
  // A local route that is no address of the device (127.0.0.0/8 on lo) is not a holder.
  auto none = ResolveUnderlay(*h_, "", {Ip("127.0.0.5")});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), cni::Code::kBackendNotReady);
  EXPECT_NE(none.error().msg().find("no interface holds the node IP 127.0.0.5"), std::string::npos)
      << none.error().msg();
}

TEST_F(BackendTest, MissingUnderlayIsNotReady) {
  LocalNode n = Node(BackendType::kVxlan);
  n.underlay = "nosuchdev";
  auto be = NewBackend(*h_, n);
  auto setup = be->EnsureNode();
  ASSERT_FALSE(setup);
  EXPECT_EQ(setup.error().code(), cni::Code::kBackendNotReady);
  EXPECT_NE(setup.error().msg().find("nosuchdev"), std::string::npos);
  auto ready = be->Ready();
  ASSERT_FALSE(ready);
  EXPECT_EQ(ready.error().code(), cni::Code::kNotAvailable);
  EXPECT_FALSE(h_->LinkByName("linen.1")) << "nothing created";

  LocalNode other = Node(BackendType::kHostGw);
  other.self.node_ip = Ip("172.20.5.5");  // not on any interface
  auto be2 = NewBackend(*h_, other);
  auto r2 = be2->Ready();
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().msg().find("172.20.5.5"), std::string::npos);
  EXPECT_TRUE(NewBackend(*h_, Node(BackendType::kHostGw))->Ready());
}

TEST_F(BackendTest, IncompatibleVtepIsRecreated) {
  cni::nl::VxlanSpec wrong;
  wrong.name = "linen.1";
  wrong.info.vni = 1;
  wrong.info.port = 4789;
  wrong.info.learning = true;
  ASSERT_TRUE(h_->CreateVxlan(wrong));
  auto be = NewBackend(*h_, Node(BackendType::kVxlan));
  auto setup = be->EnsureNode();
  ASSERT_TRUE(setup) << setup.error().msg();
  auto dev = h_->LinkByName("linen.1");
  ASSERT_TRUE(dev && dev->vxlan);
  EXPECT_EQ(dev->vxlan->port, 8472);
  EXPECT_FALSE(dev->vxlan->learning);
  EXPECT_EQ(dev->vxlan->local, Ip("172.20.0.1"));
  EXPECT_EQ(dev->mac, DeriveVtepMac(Ip("172.20.0.1")));
}

TEST_F(BackendTest, CheckNamesMissingEntryAndCleanupRemovesAll) {
  auto be = NewBackend(*h_, Node(BackendType::kVxlan));
  ASSERT_TRUE(be->EnsureNode());
  auto peers = Peers(3);
  ASSERT_TRUE(be->Reconcile(peers));
  { auto c = be->Check(peers); ASSERT_TRUE(c) << c.error().msg(); }
  ASSERT_TRUE(h_->DeleteNeigh({VtepIndex(), Ip("10.0.2.0"), peers[1].vtep_mac}));
  auto chk = be->Check(peers);
  ASSERT_FALSE(chk);
  EXPECT_NE(chk.error().msg().find("10.0.2.0"), std::string::npos) << chk.error().msg();
  // Reconcile repairs exactly that entry.
  auto st = be->Reconcile(peers);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->ops(), 1);

  ASSERT_TRUE(be->Cleanup());
  EXPECT_FALSE(h_->LinkByName("linen.1"));
  EXPECT_TRUE(OurRoutes().empty());
  ASSERT_TRUE(be->Cleanup()) << "Cleanup is idempotent";
}

}  // namespace
}  // namespace linen::overlay
