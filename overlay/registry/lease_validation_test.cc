#include "overlay/registry/lease_validation.h"

#include <gtest/gtest.h>

#include <set>

namespace linen::overlay {
namespace {

ClusterConfig Vxlan() {
  ClusterConfig c;
  c.network = *cni::IpNet::Parse("10.244.0.0/16");
  c.subnet_len = 24;
  c.backend = BackendType::kVxlan;
  return c;
}

SelfView Self() {
  SelfView s;
  s.subnet = *cni::IpNet::Parse("10.244.1.0/24");
  s.node_ip = *cni::IpAddr::Parse("192.168.0.1");
  return s;
}

// A valid peer lease; tests break one field at a time.
LeaseCandidate Peer(const std::string& key, const std::string& subnet, const std::string& ip,
                    int64_t order = 1) {
  LeaseCandidate c;
  c.key = key;
  c.value = "value of " + key;
  c.order = order;
  NodeLease l;
  l.name = key;
  l.subnet = *cni::IpNet::Parse(subnet);
  l.node_ip = *cni::IpAddr::Parse(ip);
  l.vtep_mac = DeriveVtepMac(l.node_ip);
  c.lease = l;
  c.backend_type = "vxlan";
  return c;
}

std::optional<RejectReason> ReasonOf(const LeaseCandidate& c, const ClusterConfig& cfg = Vxlan(),
                                     const SelfView& self = Self()) {
  auto r = CheckLease(cfg, self, c);
  if (!r) return std::nullopt;
  EXPECT_EQ(r->key, c.key);
  EXPECT_EQ(r->value, c.value);
  EXPECT_FALSE(r->detail.empty());
  return r->reason;
}

TEST(LeaseValidationTest, ReasonNamesAreStableAndDistinct) {
  std::set<std::string> names;
  for (RejectReason r : kAllRejectReasons) names.insert(RejectReasonName(r));
  EXPECT_EQ(names.size(), kAllRejectReasons.size());
  EXPECT_EQ(std::string(RejectReasonName(RejectReason::kOutsideNetwork)), "outside_network");
  EXPECT_EQ(std::string(RejectReasonName(RejectReason::kOverlapsPeer)), "overlaps_peer");
  for (const std::string& n : names) {
    for (char ch : n) EXPECT_TRUE((ch >= 'a' && ch <= 'z') || ch == '_') << n;
  }
}

TEST(LeaseValidationTest, ValidPeerIsAccepted) {
  EXPECT_EQ(ReasonOf(Peer("n2", "10.244.2.0/24", "192.168.0.2")), std::nullopt);
}

TEST(LeaseValidationTest, FlannelLeaseWithoutNodeNameIsAccepted) {
  auto c = Peer("n2", "10.244.2.0/24", "192.168.0.2");
  c.lease->name.clear();
  EXPECT_EQ(ReasonOf(c), std::nullopt);
}

TEST(LeaseValidationTest, UndecodableIsRejectedWithItsError) {
  LeaseCandidate c;
  c.key = "/p/subnets/10.244.9.0-24";
  c.value = "{not json";
  c.decode_error = "not JSON";
  auto r = CheckLease(Vxlan(), Self(), c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, RejectReason::kUndecodable);
  EXPECT_EQ(r->detail, "not JSON");
}

TEST(LeaseValidationTest, SubnetOutsideNetwork) {
  EXPECT_EQ(ReasonOf(Peer("a", "10.99.0.0/24", "192.168.0.2")), RejectReason::kOutsideNetwork);
  // Wider than the network itself, though it contains it.
  EXPECT_EQ(ReasonOf(Peer("b", "0.0.0.0/1", "192.168.0.2")), RejectReason::kOutsideNetwork);
  EXPECT_EQ(ReasonOf(Peer("c", "10.244.0.0/15", "192.168.0.2")), RejectReason::kOutsideNetwork);
  EXPECT_EQ(ReasonOf(Peer("d", "fd00::/64", "192.168.0.2")), RejectReason::kOutsideNetwork);
}

TEST(LeaseValidationTest, SubnetWrongLength) {
  EXPECT_EQ(ReasonOf(Peer("a", "10.244.7.0/26", "192.168.0.2")), RejectReason::kWrongLength);
  EXPECT_EQ(ReasonOf(Peer("b", "10.244.8.0/23", "192.168.0.2")), RejectReason::kWrongLength);
}

TEST(LeaseValidationTest, OverlapWithOwnSubnet) {
  // Inside ours, containing ours, and equal to ours.
  EXPECT_EQ(ReasonOf(Peer("a", "10.244.1.128/25", "192.168.0.2")), RejectReason::kOverlapsSelf);
  EXPECT_EQ(ReasonOf(Peer("b", "10.244.0.0/23", "192.168.0.2")), RejectReason::kOverlapsSelf);
  EXPECT_EQ(ReasonOf(Peer("c", "10.244.1.0/24", "192.168.0.2")), RejectReason::kOverlapsSelf);
  // Without a subnet of our own yet, only the length rule applies.
  SelfView none;
  EXPECT_EQ(ReasonOf(Peer("a", "10.244.1.128/25", "192.168.0.2"), Vxlan(), none),
            RejectReason::kWrongLength);
}

TEST(LeaseValidationTest, PublicIpOfOtherFamily) {
  EXPECT_EQ(ReasonOf(Peer("a", "10.244.2.0/24", "fd00::2")), RejectReason::kWrongFamily);
}

TEST(LeaseValidationTest, PublicIpIsOurOwn) {
  EXPECT_EQ(ReasonOf(Peer("a", "10.244.2.0/24", "192.168.0.1")), RejectReason::kOwnIp);
  SelfView unknown = Self();
  unknown.node_ip = cni::IpAddr();  // file registry without an interface
  EXPECT_EQ(ReasonOf(Peer("a", "10.244.2.0/24", "192.168.0.1"), Vxlan(), unknown), std::nullopt);
  // A peer without a public IP is not "ours" even then: it has none to route to.
  EXPECT_EQ(ReasonOf(Peer("a", "10.244.2.0/24", "0.0.0.0"), Vxlan(), unknown),
            RejectReason::kWrongFamily);
}

TEST(LeaseValidationTest, VtepMacMustBeUnicast) {
  for (const char* bad : {"zz:zz", "", "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff",
                          "00:00:00:00:00:00", "0e:4c:0a:63:00"}) {
    auto c = Peer("a", "10.244.2.0/24", "192.168.0.2");
    c.lease->vtep_mac = bad;
    EXPECT_EQ(ReasonOf(c), RejectReason::kBadVtepMac) << bad;
  }
  auto ok = Peer("a", "10.244.2.0/24", "192.168.0.2");
  ok.lease->vtep_mac = "0E-4C-0A-63-00-0C";
  EXPECT_EQ(ReasonOf(ok), std::nullopt);
  // host-gw has no VTEP: the MAC is not looked at.
  ClusterConfig hg = Vxlan();
  hg.backend = BackendType::kHostGw;
  auto c = Peer("a", "10.244.2.0/24", "192.168.0.2");
  c.lease->vtep_mac = "";
  c.backend_type = "host-gw";
  EXPECT_EQ(ReasonOf(c, hg), std::nullopt);
}

TEST(LeaseValidationTest, BackendTypeMustBeOurs) {
  auto c = Peer("a", "10.244.2.0/24", "192.168.0.2");
  c.backend_type = "host-gw";
  EXPECT_EQ(ReasonOf(c), RejectReason::kWrongBackend);
  c.backend_type = "";  // not stated: nothing to compare
  EXPECT_EQ(ReasonOf(c), std::nullopt);
}

TEST(LeaseValidationTest, OlderLeaseWinsAnOverlapWhateverTheListOrder) {
  auto old_one = Peer("/p/subnets/10.244.5.0-024", "10.244.5.0/24", "192.168.0.5", 10);
  auto young = Peer("/p/subnets/10.244.5.0-24", "10.244.5.0/24", "192.168.0.6", 20);
  for (auto list : {std::vector{old_one, young}, std::vector{young, old_one}}) {
    auto v = ValidateLeases(Vxlan(), Self(), list);
    ASSERT_EQ(v.accepted.size(), 1u);
    EXPECT_EQ(v.accepted.count(old_one.key), 1u);
    ASSERT_EQ(v.rejected.size(), 1u);
    EXPECT_EQ(v.rejected[0].key, young.key);
    EXPECT_EQ(v.rejected[0].reason, RejectReason::kOverlapsPeer);
    EXPECT_NE(v.rejected[0].detail.find(old_one.key), std::string::npos) << v.rejected[0].detail;
  }
  // Equal order: the key decides, so the verdict is still deterministic.
  young.order = 10;
  auto v = ValidateLeases(Vxlan(), Self(), {young, old_one});
  EXPECT_EQ(v.accepted.count(old_one.key), 1u);  // "-024" sorts before "-24"
}

TEST(LeaseValidationTest, LoserIsAcceptedOnceTheWinnerIsGone) {
  auto old_one = Peer("k1", "10.244.5.0/24", "192.168.0.5", 10);
  auto young = Peer("k2", "10.244.5.0/24", "192.168.0.6", 20);
  auto v = ValidateLeases(Vxlan(), Self(), {old_one, young});
  EXPECT_EQ(v.accepted.count("k2"), 0u);
  v = ValidateLeases(Vxlan(), Self(), {young});
  EXPECT_EQ(v.accepted.count("k2"), 1u);
  EXPECT_TRUE(v.rejected.empty());
}

TEST(LeaseValidationTest, InvalidLeaseNeverDisplacesAValidOne) {
  // Older, but with a bad MAC: it does not take part in the overlap contest.
  auto bad_old = Peer("k1", "10.244.5.0/24", "192.168.0.5", 1);
  bad_old.lease->vtep_mac = "zz:zz";
  auto good = Peer("k2", "10.244.5.0/24", "192.168.0.6", 2);
  auto v = ValidateLeases(Vxlan(), Self(), {bad_old, good});
  EXPECT_EQ(v.accepted.count("k2"), 1u);
  ASSERT_EQ(v.rejected.size(), 1u);
  EXPECT_EQ(v.rejected[0].reason, RejectReason::kBadVtepMac);
}

TEST(LeaseValidationTest, VerdictListsRejectedByKeyAndKeepsTheRest) {
  std::vector<LeaseCandidate> all = {
      Peer("z", "10.99.0.0/24", "192.168.0.9"), Peer("m", "10.244.3.0/24", "192.168.0.3"),
      Peer("a", "10.244.3.0/26", "192.168.0.4"), Peer("q", "10.244.4.0/24", "192.168.0.1")};
  auto v = ValidateLeases(Vxlan(), Self(), all);
  ASSERT_EQ(v.accepted.size(), 1u);
  EXPECT_EQ(v.accepted.begin()->first, "m");
  ASSERT_EQ(v.rejected.size(), 3u);
  EXPECT_EQ(v.rejected[0].key, "a");
  EXPECT_EQ(v.rejected[0].reason, RejectReason::kWrongLength);
  EXPECT_EQ(v.rejected[1].key, "q");
  EXPECT_EQ(v.rejected[1].reason, RejectReason::kOwnIp);
  EXPECT_EQ(v.rejected[2].key, "z");
  EXPECT_EQ(v.rejected[2].reason, RejectReason::kOutsideNetwork);
}

// ---- dual-stack and IPv6-only ----

ClusterConfig DualStack(BackendType backend = BackendType::kVxlan) {
  ClusterConfig c = Vxlan();
  c.backend = backend;
  c.enable_ipv6 = true;
  c.ipv6_network = *cni::IpNet::Parse("fd00:10:244::/56");
  c.ipv6_subnet_len = 64;
  return c;
}

ClusterConfig V6Only() {
  ClusterConfig c = DualStack();
  c.enable_ipv4 = false;
  c.network = {};
  return c;
}

SelfView DualSelf() {
  SelfView s = Self();
  s.ipv6_subnet = *cni::IpNet::Parse("fd00:10:244:1::/64");
  s.node_ipv6 = *cni::IpAddr::Parse("fd00:50::1");
  return s;
}

LeaseCandidate DualPeer(const std::string& key, const std::string& subnet, const std::string& ip,
                        const std::string& subnet6, const std::string& ip6, int64_t order = 1) {
  LeaseCandidate c = Peer(key, subnet, ip, order);
  c.lease->ipv6_subnet = *cni::IpNet::Parse(subnet6);
  c.lease->node_ipv6 = *cni::IpAddr::Parse(ip6);
  c.lease->vtep_mac_v6 = DeriveVtepMacV6(c.lease->node_ipv6);
  return c;
}

LeaseCandidate GoodDual(int64_t order = 1) {
  return DualPeer("n2", "10.244.2.0/24", "192.168.0.2", "fd00:10:244:2::/64", "fd00:50::2", order);
}

std::optional<RejectReason> DualReasonOf(const LeaseCandidate& c,
                                         const ClusterConfig& cfg = DualStack()) {
  return ReasonOf(c, cfg, DualSelf());
}

TEST(LeaseValidationDualStackTest, ValidDualStackPeerIsAccepted) {
  EXPECT_EQ(DualReasonOf(GoodDual()), std::nullopt);
  auto hg = GoodDual();
  hg.backend_type = "host-gw";
  EXPECT_EQ(DualReasonOf(hg, DualStack(BackendType::kHostGw)), std::nullopt);
}

TEST(LeaseValidationDualStackTest, MissingEnabledFamilyIsWrongFamily) {
  // An IPv4-only lease (flannel's key without "&<v6>") in a dual-stack cluster.
  EXPECT_EQ(DualReasonOf(Peer("a", "10.244.2.0/24", "192.168.0.2")), RejectReason::kWrongFamily);
  auto no_ip6 = GoodDual();
  no_ip6.lease->node_ipv6 = {};
  EXPECT_EQ(DualReasonOf(no_ip6), RejectReason::kWrongFamily);
  // An IPv6-only lease in a dual-stack cluster.
  auto no_v4 = GoodDual();
  no_v4.lease->subnet = {};
  no_v4.lease->node_ip = {};
  EXPECT_EQ(DualReasonOf(no_v4), RejectReason::kWrongFamily);
  // ... which is exactly right in an IPv6-only cluster.
  EXPECT_EQ(DualReasonOf(no_v4, V6Only()), std::nullopt);
}

TEST(LeaseValidationDualStackTest, PublicIpv6NotIpv6IsWrongFamily) {
  auto c = GoodDual();
  c.lease->node_ipv6 = *cni::IpAddr::Parse("192.168.0.2");
  auto r = CheckLease(DualStack(), DualSelf(), c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, RejectReason::kWrongFamily);
  EXPECT_NE(r->detail.find("public IPv6 192.168.0.2"), std::string::npos) << r->detail;
}

TEST(LeaseValidationDualStackTest, Ipv6SubnetRulesPerFamily) {
  auto outside = GoodDual();
  outside.lease->ipv6_subnet = *cni::IpNet::Parse("fd00:99::/64");
  EXPECT_EQ(DualReasonOf(outside), RejectReason::kOutsideNetwork);
  auto v4_in_v6 = GoodDual();
  v4_in_v6.lease->ipv6_subnet = *cni::IpNet::Parse("10.244.9.0/24");
  EXPECT_EQ(DualReasonOf(v4_in_v6), RejectReason::kOutsideNetwork);
  auto length = GoodDual();
  length.lease->ipv6_subnet = *cni::IpNet::Parse("fd00:10:244:2::/80");
  auto r = CheckLease(DualStack(), DualSelf(), length);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, RejectReason::kWrongLength);
  EXPECT_NE(r->detail.find("IPv6SubnetLen"), std::string::npos) << r->detail;
  auto self = GoodDual();
  self.lease->ipv6_subnet = *cni::IpNet::Parse("fd00:10:244:1::/64");
  EXPECT_EQ(DualReasonOf(self), RejectReason::kOverlapsSelf);
}

TEST(LeaseValidationDualStackTest, OwnIpv6IsOwnIp) {
  auto c = GoodDual();
  c.lease->node_ipv6 = *cni::IpAddr::Parse("fd00:50::1");
  EXPECT_EQ(DualReasonOf(c), RejectReason::kOwnIp);
}

TEST(LeaseValidationDualStackTest, Ipv6VtepMacMustBeUnicast) {
  for (const char* bad : {"", "zz", "33:33:00:00:00:01", "00:00:00:00:00:00"}) {
    auto c = GoodDual();
    c.lease->vtep_mac_v6 = bad;
    auto r = CheckLease(DualStack(), DualSelf(), c);
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->reason, RejectReason::kBadVtepMac) << bad;
    EXPECT_NE(r->detail.find("IPv6 VtepMAC"), std::string::npos) << r->detail;
  }
  auto hg = GoodDual();
  hg.lease->vtep_mac_v6.clear();
  hg.lease->vtep_mac.clear();
  hg.backend_type = "host-gw";
  EXPECT_EQ(DualReasonOf(hg, DualStack(BackendType::kHostGw)), std::nullopt);
}

TEST(LeaseValidationDualStackTest, Ipv4OnlyClusterIgnoresAndStripsTheIpv6Part) {
  // A dual-stack lease with a broken IPv6 part is fine where IPv6 is off ...
  auto c = GoodDual();
  c.lease->vtep_mac_v6 = "zz";
  EXPECT_EQ(ReasonOf(c), std::nullopt);
  // ... and the accepted lease carries no IPv6 fields for the data plane to misuse.
  auto v = ValidateLeases(Vxlan(), Self(), {c});
  ASSERT_EQ(v.accepted.count("n2"), 1u);
  EXPECT_TRUE(IsUnset(v.accepted["n2"].ipv6_subnet));
  EXPECT_TRUE(v.accepted["n2"].vtep_mac_v6.empty());
  EXPECT_EQ(v.accepted["n2"].subnet, c.lease->subnet);
  // And the other way round in an IPv6-only cluster.
  v = ValidateLeases(V6Only(), DualSelf(), {GoodDual()});
  ASSERT_EQ(v.accepted.count("n2"), 1u);
  EXPECT_TRUE(IsUnset(v.accepted["n2"].subnet));
  EXPECT_TRUE(IsUnset(v.accepted["n2"].node_ip));
  EXPECT_EQ(v.accepted["n2"].ipv6_subnet, GoodDual().lease->ipv6_subnet);
}

TEST(LeaseValidationDualStackTest, OverlapInEitherFamilyLosesToTheOlderLease) {
  auto old_one = GoodDual(10);
  old_one.key = "k1";
  // Same IPv6 subnet, different IPv4 subnet.
  auto young6 = DualPeer("k2", "10.244.3.0/24", "192.168.0.3", "fd00:10:244:2::/64",
                         "fd00:50::3", 20);
  // Same IPv4 subnet, different IPv6 subnet.
  auto young4 = DualPeer("k3", "10.244.2.0/24", "192.168.0.4", "fd00:10:244:4::/64",
                         "fd00:50::4", 30);
  auto v = ValidateLeases(DualStack(), DualSelf(), {young4, young6, old_one});
  ASSERT_EQ(v.accepted.size(), 1u);
  EXPECT_EQ(v.accepted.count("k1"), 1u);
  ASSERT_EQ(v.rejected.size(), 2u);
  EXPECT_EQ(v.rejected[0].key, "k2");
  EXPECT_EQ(v.rejected[0].reason, RejectReason::kOverlapsPeer);
  EXPECT_NE(v.rejected[0].detail.find("IPv6 subnet fd00:10:244:2::/64"), std::string::npos)
      << v.rejected[0].detail;
  EXPECT_EQ(v.rejected[1].key, "k3");
  EXPECT_EQ(v.rejected[1].reason, RejectReason::kOverlapsPeer);
  // A loser never claims its other subnet: k4 may take k2's IPv4 subnet.
  auto k4 = DualPeer("k4", "10.244.3.0/24", "192.168.0.5", "fd00:10:244:5::/64",
                     "fd00:50::5", 40);
  v = ValidateLeases(DualStack(), DualSelf(), {old_one, young6, k4});
  EXPECT_EQ(v.accepted.count("k4"), 1u);
}

TEST(LeaseValidationTest, AcceptedChangesAreTheDifference) {
  NodeLease a{.name = "a"}, b{.name = "b"}, c{.name = "c"};
  NodeLease b2 = b;
  b2.vtep_mac = "0e:00:00:00:00:02";
  auto evs = AcceptedChanges({{"a", a}, {"b", b}}, {{"b", b2}, {"c", c}});
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].kind, PeerEvent::Kind::kRemoved);
  EXPECT_EQ(evs[0].lease.name, "a");
  EXPECT_EQ(evs[1].kind, PeerEvent::Kind::kChanged);
  EXPECT_EQ(evs[1].lease, b2);
  EXPECT_EQ(evs[2].kind, PeerEvent::Kind::kAdded);
  EXPECT_EQ(evs[2].lease.name, "c");
  EXPECT_TRUE(AcceptedChanges({{"a", a}}, {{"a", a}}).empty());
}

}  // namespace
}  // namespace linen::overlay
