// Both backends with IPv6 enabled, against a real kernel (BackendNodeTest: the
// underlay holds 172.20.0.1/16 and fd20::1/64). Every entry is read back with
// iproute2 (ip -6 route/neigh, bridge fdb, ip -d link).
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "libcni/types.h"
#include "overlay/backend/backend.h"
#include "overlay/backend/backend_test_fixture.h"
#include "test/support/test_support.h"

namespace linen::overlay {
namespace {

using cni::Family;
using cni::nl::Handle;

using linen::test::Ip;
using linen::test::Net;

std::string Hex(int i) {
  std::ostringstream o;
  o << std::hex << i;
  return o.str();
}

// Peer i (1-based): IPv4 as backend_test.cc (172.20.0.<i+2>, 10.0.<i>.0/24) and IPv6
// node address fd20::<i+2>, pod subnet fd00:10:0:<i>::/64, each family's VTEP MAC
// derived from its node address.
NodeLease DualPeer(int i, bool v4 = true, bool v6 = true) {
  NodeLease p;
  p.name = "peer" + std::to_string(i);
  if (v4) {
    p.node_ip = Ip("172.20.0." + std::to_string(i + 2));
    p.subnet = Net("10.0." + std::to_string(i) + ".0/24");
    p.vtep_mac = DeriveVtepMac(p.node_ip);
  }
  if (v6) {
    p.node_ipv6 = Ip("fd20::" + Hex(i + 2));
    p.ipv6_subnet = Net("fd00:10:0:" + Hex(i) + "::/64");
    p.vtep_mac_v6 = DeriveVtepMac(p.node_ipv6);
  }
  return p;
}

std::vector<NodeLease> DualPeers(int n, bool v4 = true) {
  std::vector<NodeLease> v;
  for (int i = 1; i <= n; ++i) v.push_back(DualPeer(i, v4));
  return v;
}

const std::string kProto = std::to_string(cni::nl::kLinenRouteProtocol);

class DualStackTest : public BackendNodeTest {
 protected:
  // Dual-stack unless told otherwise.
  LocalNode Node(BackendType type, bool v4 = true) {
    LocalNode n;
    n.self.name = "self";
    if (v4) {
      n.self.node_ip = Ip("172.20.0.1");
      n.self.subnet = Net("10.0.0.0/24");
      n.self.vtep_mac = DeriveVtepMac(n.self.node_ip);
      n.cluster.network = Net("10.0.0.0/8");
    }
    n.cluster.enable_ipv4 = v4;
    n.cluster.enable_ipv6 = true;
    n.self.node_ipv6 = Ip("fd20::1");
    n.self.ipv6_subnet = Net("fd00:10::/64");
    n.self.vtep_mac_v6 = DeriveVtepMac(n.self.node_ipv6);
    n.cluster.ipv6_network = Net("fd00:10::/48");
    n.cluster.backend = type;
    return n;
  }

  // Our routes of one family as iproute2 lists them, "dst via gw dev".
  std::set<std::string> OurRoutes(Family f) {
    std::set<std::string> out;
    for (const cni::json& r :
         Kernel("ip", std::string(f == Family::kV4 ? "-4" : "-6") + " route show proto " + kProto)) {
      out.insert(r.value("dst", "") + " via " + r.value("gateway", "") + " dev " +
                 r.value("dev", ""));
    }
    return out;
  }

  std::string FdbDst(const std::string& dev, const std::string& mac) {
    for (const cni::json& f : Kernel("bridge", "fdb show dev " + dev)) {
      if (f.value("mac", "") == mac && f.contains("dst")) return f.value("dst", "");
    }
    return "";
  }

  // Every entry of `p` in family `f` is in the kernel: host-gw its route via the
  // node address on ul0; vxlan its onlink route via subnet.0, the permanent
  // neighbour subnet.0 -> VTEP MAC and the FDB entry VTEP MAC -> node address, all on
  // the family's VTEP.
  bool Programmed(BackendType type, Family f, const NodeLease& p) {
    auto pf = InFamily(p, f);
    if (!pf) return false;
    const std::string fam = f == Family::kV4 ? "-4" : "-6";
    const std::string dev = f == Family::kV4 ? "linen.1" : "linen-v6.1";
    cni::json r = Kernel("ip", fam + " route show " + pf->subnet.ToString() + " proto " + kProto);
    if (r.size() != 1) return false;
    if (type == BackendType::kHostGw) {
      return r[0].value("gateway", "") == pf->node_ip.ToString() && r[0].value("dev", "") == "ul0";
    }
    const std::string gw = pf->subnet.Network().ToString();
    if (r[0].value("gateway", "") != gw || r[0].value("dev", "") != dev ||
        r[0]["flags"].dump().find("onlink") == std::string::npos) {
      return false;
    }
    cni::json n = Kernel("ip", fam + " neigh show " + gw + " dev " + dev);
    if (n.size() != 1 || n[0].value("lladdr", "") != pf->vtep_mac ||
        n[0]["state"].dump().find("PERMANENT") == std::string::npos) {
      return false;
    }
    return FdbDst(dev, pf->vtep_mac) == pf->node_ip.ToString();
  }

  bool Unprogrammed(BackendType type, Family f, const NodeLease& p) {
    auto pf = InFamily(p, f);
    const std::string fam = f == Family::kV4 ? "-4" : "-6";
    const std::string dev = f == Family::kV4 ? "linen.1" : "linen-v6.1";
    if (!Kernel("ip", fam + " route show " + pf->subnet.ToString() + " proto " + kProto).empty()) {
      return false;
    }
    if (type == BackendType::kHostGw) return true;
    return Kernel("ip", fam + " neigh show " + pf->subnet.Network().ToString() + " dev " + dev)
               .empty() &&
           FdbDst(dev, pf->vtep_mac).empty();
  }

  void ExpectAllProgrammed(BackendType type, const std::vector<NodeLease>& peers) {
    for (const NodeLease& p : peers) {
      EXPECT_TRUE(Programmed(type, Family::kV4, p)) << p.name << " IPv4";
      EXPECT_TRUE(Programmed(type, Family::kV6, p)) << p.name << " IPv6";
    }
  }

  void ExpectCheckOk(Backend& be, const std::vector<NodeLease>& peers) {
    auto c = be.Check(peers);
    EXPECT_TRUE(c) << (c ? "" : c.error().msg());
  }

  void ExpectPeerChangesTouchOnlyTheirEntries(BackendType type, bool full);

};

TEST_F(DualStackTest, VxlanCreatesOneVtepPerFamilyWithTheFamilysMtu) {
  auto be = NewBackend(*h_, Node(BackendType::kVxlan));
  auto setup = be->EnsureNode();
  ASSERT_TRUE(setup) << setup.error().msg();
  EXPECT_EQ(setup->mtu, 1500 - 70) << "pods get the smaller of the two VTEPs' MTUs";
  EXPECT_EQ(setup->vtep_mac, DeriveVtepMac(Ip("172.20.0.1")));
  EXPECT_EQ(setup->vtep_mac_v6, DeriveVtepMac(Ip("fd20::1")));
  EXPECT_EQ(setup->underlay, "ul0");

  cni::json v4 = Kernel("ip", "-d link show linen.1");
  ASSERT_EQ(v4.size(), 1u) << v4.dump();
  EXPECT_EQ(v4[0].value("mtu", 0), 1450);
  EXPECT_EQ(v4[0]["linkinfo"]["info_data"].value("local", ""), "172.20.0.1");

  cni::json v6 = Kernel("ip", "-d link show linen-v6.1");
  ASSERT_EQ(v6.size(), 1u) << v6.dump();
  EXPECT_EQ(v6[0].value("mtu", 0), 1430) << "IPv6 outer header: underlay - 70 (flannel#1781)";
  EXPECT_EQ(v6[0].value("address", ""), DeriveVtepMac(Ip("fd20::1")));
  EXPECT_NE(v6[0]["flags"].dump().find("\"UP\""), std::string::npos) << v6.dump();
  EXPECT_EQ(v6[0]["linkinfo"].value("info_kind", ""), "vxlan");
  const cni::json& vx = v6[0]["linkinfo"]["info_data"];
  EXPECT_EQ(vx.value("id", 0), 1);
  EXPECT_EQ(vx.value("local6", ""), "fd20::1");
  EXPECT_EQ(vx.value("link", ""), "ul0");
  EXPECT_EQ(vx.value("port", 0), 8472);
  EXPECT_FALSE(vx.value("learning", true));

  // flannel's flannel-v6.<VNI> form: ipv6_subnet::0/128, usable at once (no DAD).
  std::vector<std::string> global;
  const cni::json addrs = Kernel("ip", "-6 addr show dev linen-v6.1");
  ASSERT_EQ(addrs.size(), 1u);
  for (const cni::json& a : addrs[0]["addr_info"]) {
    if (a.value("scope", "") != "global") continue;
    global.push_back(a.value("local", "") + "/" + std::to_string(a.value("prefixlen", 0)));
    EXPECT_FALSE(a.value("tentative", false)) << a.dump();
  }
  EXPECT_EQ(global, std::vector<std::string>{"fd00:10::/128"}) << addrs.dump();

  // An explicit cluster MTU is the base for both.
  LocalNode small = Node(BackendType::kVxlan);
  small.cluster.mtu = 1400;
  auto s2 = NewBackend(*h_, small)->EnsureNode();
  ASSERT_TRUE(s2) << s2.error().msg();
  EXPECT_EQ(s2->mtu, 1330);
  EXPECT_EQ(h_->LinkByName("linen.1")->mtu, 1350);
  EXPECT_EQ(h_->LinkByName("linen-v6.1")->mtu, 1330);

  // Below 1350 the IPv6 VTEP would fall under IPv6's 1280-byte minimum.
  LocalNode tiny = Node(BackendType::kVxlan);
  tiny.cluster.mtu = 1349;
  auto s3 = NewBackend(*h_, tiny)->EnsureNode();
  ASSERT_FALSE(s3);
  EXPECT_EQ(s3.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(s3.error().msg().find("1280"), std::string::npos) << s3.error().msg();
  EXPECT_EQ(h_->LinkByName("linen.1")->mtu, 1350) << "left as it was";
  EXPECT_EQ(h_->LinkByName("linen-v6.1")->mtu, 1330) << "left as it was";
}

TEST_F(DualStackTest, VxlanProgramsBothFamiliesThenNothingToDoAndCleansUp) {
  auto be = NewBackend(*h_, Node(BackendType::kVxlan));
  ASSERT_TRUE(be->EnsureNode());
  auto peers = DualPeers(3);
  auto st = be->Reconcile(peers);
  ASSERT_TRUE(st) << st.error().msg();
  EXPECT_TRUE(st->failures.empty()) << st->failures[0].detail;
  EXPECT_EQ(st->routes_set, 6);
  EXPECT_EQ(st->neighs_set, 6);
  EXPECT_EQ(st->fdbs_set, 6);
  ExpectAllProgrammed(BackendType::kVxlan, peers);
  // Peer 2's IPv6 entries spelled out.
  EXPECT_EQ(OurRoutes(Family::kV6).count("fd00:10:0:2::/64 via fd00:10:0:2:: dev linen-v6.1"), 1u);
  EXPECT_EQ(FdbDst("linen-v6.1", DeriveVtepMac(Ip("fd20::4"))), "fd20::4");

  auto again = be->Reconcile(peers);
  ASSERT_TRUE(again) << again.error().msg();
  EXPECT_EQ(again->ops(), 0);
  ASSERT_TRUE(be->EnsureNode());
  auto update = be->Update(peers);
  ASSERT_TRUE(update);
  EXPECT_EQ(update->ops(), 0);
  ExpectCheckOk(*be, peers);

  // CHECK notices a missing IPv6 neighbour and names it.
  ASSERT_EQ(Kernel("ip", "-6 neigh del fd00:10:0:3:: dev linen-v6.1").size(), 0u);
  auto chk = be->Check(peers);
  ASSERT_FALSE(chk);
  EXPECT_NE(chk.error().msg().find("fd00:10:0:3::"), std::string::npos) << chk.error().msg();
  auto repair = be->Reconcile(peers);
  ASSERT_TRUE(repair);
  EXPECT_EQ(repair->ops(), 1);

  // A foreign IPv6 route elsewhere is left alone by Cleanup.
  Kernel("ip", "-6 route add fd00:99::/64 via fd20::99 dev ul0");
  ASSERT_TRUE(be->Cleanup());
  EXPECT_FALSE(h_->LinkByName("linen.1"));
  EXPECT_FALSE(h_->LinkByName("linen-v6.1"));
  EXPECT_TRUE(OurRoutes(Family::kV4).empty());
  EXPECT_TRUE(OurRoutes(Family::kV6).empty());
  EXPECT_EQ(Kernel("ip", "-6 route show fd00:99::/64").size(), 1u);
  EXPECT_TRUE(be->Cleanup()) << "idempotent";
}

// A peer added, removed or changed (in either family) costs its own entries and no
// others, through Reconcile (full) and Update alike.
void DualStackTest::ExpectPeerChangesTouchOnlyTheirEntries(BackendType type, bool full) {
  const bool vx = type == BackendType::kVxlan;
  const int per_family = vx ? 3 : 1;  // route (+ neighbour + FDB)
  auto be = NewBackend(*h_, Node(type));
  ASSERT_TRUE(be->EnsureNode());
  auto apply = [&](const std::vector<NodeLease>& p) {
    auto st = full ? be->Reconcile(p) : be->Update(p);
    EXPECT_TRUE(st) << st.error().msg();
    EXPECT_TRUE(!st || st->failures.empty()) << st->failures[0].detail;
    return st ? *st : ReconcileStats{};
  };
  auto peers = DualPeers(4);
  ASSERT_EQ(apply(peers).ops(), 8 * per_family);
  const auto v4_before = OurRoutes(Family::kV4);

  peers.push_back(DualPeer(5));  // added
  auto added = apply(peers);
  EXPECT_EQ(added.ops(), 2 * per_family);
  EXPECT_EQ(added.routes_set, 2);
  EXPECT_TRUE(Programmed(type, Family::kV4, DualPeer(5)));
  EXPECT_TRUE(Programmed(type, Family::kV6, DualPeer(5)));

  peers.erase(peers.begin() + 1);  // peer2 removed
  auto removed = apply(peers);
  EXPECT_EQ(removed.ops(), 2 * per_family);
  EXPECT_EQ(removed.routes_deleted, 2);
  EXPECT_TRUE(Unprogrammed(type, Family::kV4, DualPeer(2)));
  EXPECT_TRUE(Unprogrammed(type, Family::kV6, DualPeer(2)));

  // peer3 moves its IPv6 side to another host: IPv6 entries only.
  peers[1].node_ipv6 = Ip("fd20::33");
  peers[1].vtep_mac_v6 = DeriveVtepMac(peers[1].node_ipv6);
  auto changed = apply(peers);
  if (vx) {
    // Neighbour and FDB entry for the new MAC, the old MAC's FDB entry out; the
    // onlink route via fd00:10:0:3:: stays as it is.
    EXPECT_EQ(changed.neighs_set, 1);
    EXPECT_EQ(changed.fdbs_set, 1);
    EXPECT_EQ(changed.fdbs_deleted, 1);
    EXPECT_EQ(changed.ops(), 3);
    EXPECT_EQ(FdbDst("linen-v6.1", DualPeer(3).vtep_mac_v6), "") << "stale FDB entry left";
  } else {
    EXPECT_EQ(changed.routes_set, 1);
    EXPECT_EQ(changed.ops(), 1);
  }
  EXPECT_TRUE(Programmed(type, Family::kV6, peers[1]));
  EXPECT_TRUE(Programmed(type, Family::kV4, peers[1]));

  // Its IPv4 side moves too: IPv4 entries only.
  peers[1].node_ip = Ip("172.20.0.33");
  peers[1].vtep_mac = DeriveVtepMac(peers[1].node_ip);
  auto changed4 = apply(peers);
  EXPECT_EQ(changed4.ops(), vx ? 3 : 1);
  EXPECT_TRUE(Programmed(type, Family::kV4, peers[1]));

  // Everything else is as it was.
  auto v4_after = OurRoutes(Family::kV4);
  for (const std::string& r : v4_before) {
    if (r.rfind("10.0.2.0/24", 0) == 0 || r.rfind("10.0.3.0/24", 0) == 0) continue;
    EXPECT_EQ(v4_after.count(r), 1u) << r;
  }
  ExpectAllProgrammed(type, peers);
  auto quiet = apply(peers);
  EXPECT_EQ(quiet.ops(), 0);
  auto full_read = be->Reconcile(peers);
  ASSERT_TRUE(full_read);
  EXPECT_EQ(full_read->ops(), 0) << "what Update left is what Reconcile wants";
  ExpectCheckOk(*be, peers);
}

TEST_F(DualStackTest, VxlanPeerChangesTouchOnlyTheirEntriesReconcile) {
  ExpectPeerChangesTouchOnlyTheirEntries(BackendType::kVxlan, true);
}
TEST_F(DualStackTest, VxlanPeerChangesTouchOnlyTheirEntriesUpdate) {
  ExpectPeerChangesTouchOnlyTheirEntries(BackendType::kVxlan, false);
}
TEST_F(DualStackTest, HostGwPeerChangesTouchOnlyTheirEntriesReconcile) {
  ExpectPeerChangesTouchOnlyTheirEntries(BackendType::kHostGw, true);
}
TEST_F(DualStackTest, HostGwPeerChangesTouchOnlyTheirEntriesUpdate) {
  ExpectPeerChangesTouchOnlyTheirEntries(BackendType::kHostGw, false);
}

// A peer that fails in IPv6 is reported with its IPv6 subnet, keeps its IPv4
// entries, and blocks nobody else.
TEST_F(DualStackTest, VxlanIpv6FailureIsPerFamily) {
  auto be = NewBackend(*h_, Node(BackendType::kVxlan));
  ASSERT_TRUE(be->EnsureNode());
  NodeLease bad = DualPeer(2);
  bad.vtep_mac_v6 = "zz:zz";
  NodeLease no_mac = DualPeer(3);
  no_mac.vtep_mac_v6.clear();
  const std::vector<NodeLease> peers = {DualPeer(1), bad, no_mac, DualPeer(4)};
  for (bool full : {true, false}) {
    auto st = full ? be->Reconcile(peers) : be->Update(peers);
    ASSERT_TRUE(st) << st.error().msg();
    ASSERT_EQ(st->failures.size(), 2u);
    std::map<std::string, PeerFailure> by_peer;
    for (const PeerFailure& f : st->failures) by_peer[f.peer] = f;
    ASSERT_EQ(by_peer.count("peer2"), 1u);
    EXPECT_EQ(by_peer["peer2"].subnet, Net("fd00:10:0:2::/64"));
    EXPECT_EQ(by_peer["peer2"].reason, PeerFailureReason::kKernelRefused);
    EXPECT_NE(by_peer["peer2"].detail.find("zz:zz"), std::string::npos);
    ASSERT_EQ(by_peer.count("peer3"), 1u);
    EXPECT_EQ(by_peer["peer3"].subnet, Net("fd00:10:0:3::/64"));
    EXPECT_EQ(by_peer["peer3"].reason, PeerFailureReason::kNoVtepMac);
    EXPECT_NE(by_peer["peer3"].detail.find("IPv6 VTEP MAC"), std::string::npos)
        << by_peer["peer3"].detail;
    EXPECT_TRUE(Programmed(BackendType::kVxlan, Family::kV4, bad));
    EXPECT_TRUE(Programmed(BackendType::kVxlan, Family::kV4, no_mac));
    EXPECT_TRUE(Unprogrammed(BackendType::kVxlan, Family::kV6, bad));
    EXPECT_TRUE(Unprogrammed(BackendType::kVxlan, Family::kV6, no_mac));
    EXPECT_TRUE(Programmed(BackendType::kVxlan, Family::kV6, DualPeer(1)));
    EXPECT_TRUE(Programmed(BackendType::kVxlan, Family::kV6, DualPeer(4)));
  }
  // A peer without an IPv6 lease is an IPv4-only peer, not a failure.
  auto st = be->Reconcile({DualPeer(1), DualPeer(5, true, false)});
  ASSERT_TRUE(st) << st.error().msg();
  EXPECT_TRUE(st->failures.empty()) << st->failures[0].detail;
  EXPECT_TRUE(Programmed(BackendType::kVxlan, Family::kV4, DualPeer(5)));
  EXPECT_EQ(OurRoutes(Family::kV6).size(), 1u);
}

// Someone else's IPv6 route for a peer's IPv6 subnet blocks that peer in IPv6 only,
// and is never taken over, through Reconcile and Update alike.
TEST_F(DualStackTest, ForeignIpv6RouteBlocksOnlyThatPeersIpv6) {
  for (BackendType type : {BackendType::kVxlan, BackendType::kHostGw}) {
    auto be = NewBackend(*h_, Node(type));
    ASSERT_TRUE(be->EnsureNode());
    Kernel("ip", "-6 route add fd00:10:0:2::/64 via fd20::99 dev ul0");
    const auto peers = DualPeers(3);
    for (bool full : {true, false}) {
      auto st = full ? be->Reconcile(peers) : be->Update(peers);
      ASSERT_TRUE(st) << st.error().msg();
      ASSERT_EQ(st->failures.size(), 1u);
      EXPECT_EQ(st->failures[0].reason, PeerFailureReason::kForeignRoute)
          << BackendName(type) << (full ? " Reconcile: " : " Update: ") << st->failures[0].detail;
      EXPECT_EQ(st->failures[0].peer, "peer2");
      EXPECT_EQ(st->failures[0].subnet, Net("fd00:10:0:2::/64"));
      EXPECT_TRUE(Programmed(type, Family::kV4, DualPeer(2)));
      EXPECT_TRUE(Programmed(type, Family::kV6, DualPeer(1)));
      EXPECT_TRUE(Programmed(type, Family::kV6, DualPeer(3)));
      cni::json kept = Kernel("ip", "-6 route show fd00:10:0:2::/64");
      ASSERT_EQ(kept.size(), 1u) << kept.dump();
      EXPECT_EQ(kept[0].value("gateway", ""), "fd20::99");
    }
    Kernel("ip", "-6 route del fd00:10:0:2::/64 via fd20::99 dev ul0");
    auto healed = be->Update(peers);
    ASSERT_TRUE(healed) << healed.error().msg();
    EXPECT_TRUE(healed->failures.empty()) << healed->failures[0].detail;
    ExpectAllProgrammed(type, peers);
    ASSERT_TRUE(be->Cleanup());
  }
}

// IPv6-only: no IPv4 VTEP (one left from a dual-stack config goes), no IPv4 entry,
// the pod MTU is the IPv6 VTEP's.
TEST_F(DualStackTest, VxlanIpv6OnlyHasOnlyTheIpv6Vtep) {
  ASSERT_TRUE(NewBackend(*h_, Node(BackendType::kVxlan))->EnsureNode());
  ASSERT_TRUE(h_->LinkByName("linen.1"));
  auto be = NewBackend(*h_, Node(BackendType::kVxlan, /*v4=*/false));
  auto setup = be->EnsureNode();
  ASSERT_TRUE(setup) << setup.error().msg();
  EXPECT_EQ(setup->mtu, 1430);
  EXPECT_EQ(setup->vtep_mac, "");
  EXPECT_EQ(setup->vtep_mac_v6, DeriveVtepMac(Ip("fd20::1")));
  EXPECT_FALSE(h_->LinkByName("linen.1"));
  ASSERT_TRUE(h_->LinkByName("linen-v6.1"));

  auto peers = DualPeers(3, /*v4=*/false);
  auto st = be->Reconcile(peers);
  ASSERT_TRUE(st) << st.error().msg();
  EXPECT_TRUE(st->failures.empty()) << st->failures[0].detail;
  EXPECT_EQ(st->ops(), 9);
  for (const NodeLease& p : peers) EXPECT_TRUE(Programmed(BackendType::kVxlan, Family::kV6, p));
  EXPECT_TRUE(OurRoutes(Family::kV4).empty());
  auto again = be->Reconcile(peers);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ops(), 0);
  ExpectCheckOk(*be, peers);
  EXPECT_TRUE(be->Ready());
  ASSERT_TRUE(be->Cleanup());
  EXPECT_FALSE(h_->LinkByName("linen-v6.1"));
  EXPECT_TRUE(OurRoutes(Family::kV6).empty());
}

TEST_F(DualStackTest, HostGwIpv6OnlyRoutesViaPeerIpv6Address) {
  auto be = NewBackend(*h_, Node(BackendType::kHostGw, /*v4=*/false));
  auto setup = be->EnsureNode();
  ASSERT_TRUE(setup) << setup.error().msg();
  EXPECT_EQ(setup->mtu, 1500);
  auto peers = DualPeers(3, /*v4=*/false);
  auto st = be->Reconcile(peers);
  ASSERT_TRUE(st) << st.error().msg();
  EXPECT_EQ(st->routes_set, 3);
  EXPECT_EQ(OurRoutes(Family::kV6),
            (std::set<std::string>{"fd00:10:0:1::/64 via fd20::3 dev ul0",
                                   "fd00:10:0:2::/64 via fd20::4 dev ul0",
                                   "fd00:10:0:3::/64 via fd20::5 dev ul0"}));
  EXPECT_TRUE(OurRoutes(Family::kV4).empty());
  auto again = be->Reconcile(peers);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ops(), 0);
  ASSERT_TRUE(be->Cleanup());
  EXPECT_TRUE(OurRoutes(Family::kV6).empty());
}

// host-gw refuses a peer whose IPv6 address is not on the underlay's L2, in that
// family only; its IPv4 route (on link) is programmed.
TEST_F(DualStackTest, HostGwRefusesIpv6PeerWithoutL2Adjacency) {
  auto be = NewBackend(*h_, Node(BackendType::kHostGw));
  ASSERT_TRUE(be->EnsureNode());
  NodeLease far = DualPeer(2);
  far.node_ipv6 = Ip("fd99::7");
  auto st = be->Reconcile({DualPeer(1), far});
  ASSERT_TRUE(st) << st.error().msg();
  ASSERT_EQ(st->failures.size(), 1u);
  const PeerFailure& f = st->failures[0];
  EXPECT_EQ(f.reason, PeerFailureReason::kNotOnLink);
  EXPECT_EQ(f.peer, "peer2");
  EXPECT_EQ(f.subnet, Net("fd00:10:0:2::/64"));
  EXPECT_NE(f.detail.find("fd99::7"), std::string::npos) << f.detail;
  EXPECT_NE(f.detail.find("L2 adjacency"), std::string::npos) << f.detail;
  EXPECT_TRUE(Programmed(BackendType::kHostGw, Family::kV4, far));
  EXPECT_TRUE(Unprogrammed(BackendType::kHostGw, Family::kV6, far));
  EXPECT_TRUE(Programmed(BackendType::kHostGw, Family::kV6, DualPeer(1)));
  auto chk = be->Check({DualPeer(1), far});
  ASSERT_FALSE(chk);
  EXPECT_NE(chk.error().msg().find("fd99::7"), std::string::npos) << chk.error().msg();
}

TEST_F(DualStackTest, VxlanDirectRoutingForIpv6PeersOnTheSameL2) {
  LocalNode n = Node(BackendType::kVxlan);
  n.cluster.direct_routing = true;
  auto be = NewBackend(*h_, n);
  ASSERT_TRUE(be->EnsureNode());
  NodeLease far = DualPeer(2);
  far.node_ipv6 = Ip("fd99::7");
  far.vtep_mac_v6 = DeriveVtepMac(far.node_ipv6);
  auto st = be->Reconcile({DualPeer(1), far});
  ASSERT_TRUE(st) << st.error().msg();
  EXPECT_TRUE(st->failures.empty()) << st->failures[0].detail;
  EXPECT_EQ(OurRoutes(Family::kV6),
            (std::set<std::string>{"fd00:10:0:1::/64 via fd20::3 dev ul0",
                                   "fd00:10:0:2::/64 via fd00:10:0:2:: dev linen-v6.1"}));
  EXPECT_TRUE(Programmed(BackendType::kVxlan, Family::kV6, far));
  // The near peer has no neighbour or FDB entry on the IPv6 VTEP.
  EXPECT_TRUE(Kernel("ip", "-6 neigh show fd00:10:0:1:: dev linen-v6.1").empty());
  auto again = be->Reconcile({DualPeer(1), far});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ops(), 0);
}

// Ready and EnsureNode need the node address of every enabled family on the underlay.
TEST_F(DualStackTest, UnderlayWithoutTheIpv6AddressIsNotReady) {
  LocalNode n = Node(BackendType::kVxlan);
  n.self.node_ipv6 = Ip("fd20::99");
  auto be = NewBackend(*h_, n);
  auto ready = be->Ready();
  ASSERT_FALSE(ready);
  EXPECT_EQ(ready.error().code(), cni::Code::kNotAvailable);
  EXPECT_NE(ready.error().msg().find("fd20::99"), std::string::npos) << ready.error().msg();
  auto setup = be->EnsureNode();
  ASSERT_FALSE(setup);
  EXPECT_EQ(setup.error().code(), cni::Code::kBackendNotReady);
  EXPECT_FALSE(h_->LinkByName("linen.1")) << "nothing created";
  EXPECT_FALSE(h_->LinkByName("linen-v6.1"));

  LocalNode none = Node(BackendType::kHostGw);
  none.self.node_ipv6 = cni::IpAddr();
  auto r2 = NewBackend(*h_, none)->Ready();
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().msg().find("no IPv6 address"), std::string::npos) << r2.error().msg();
  EXPECT_TRUE(NewBackend(*h_, Node(BackendType::kHostGw))->Ready());

  LocalNode no_subnet = Node(BackendType::kVxlan);
  no_subnet.self.ipv6_subnet = cni::IpNet();
  auto s4 = NewBackend(*h_, no_subnet)->EnsureNode();
  ASSERT_FALSE(s4);
  EXPECT_EQ(s4.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(s4.error().msg().find("no IPv6 subnet"), std::string::npos) << s4.error().msg();
  EXPECT_FALSE(h_->LinkByName("linen.1")) << "nothing created";

  LocalNode big = Node(BackendType::kVxlan);
  big.cluster.vni = 1000000;
  auto s3 = NewBackend(*h_, big)->EnsureNode();
  ASSERT_FALSE(s3);
  EXPECT_EQ(s3.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(s3.error().msg().find("linen-v6.1000000"), std::string::npos) << s3.error().msg();
}

}  // namespace
}  // namespace linen::overlay
