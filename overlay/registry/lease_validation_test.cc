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
  EXPECT_EQ(ReasonOf(Peer("a", "10.244.2.0/24", "0.0.0.0"), Vxlan(), unknown), std::nullopt);
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
