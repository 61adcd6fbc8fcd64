#include "ipam/host-local/allocator.h"

#include <gtest/gtest.h>

#include "ipam/host-local/fake_store.h"
#include "ipam/host-local/test_util.h"

namespace host_local {
namespace {

using testing::Ip;
using testing::MustRange;
using testing::MustSet;

// One Get() the way ADD does it: lock, snapshot, allocate.
cni::Result<cni::IpConfig> GetOne(FakeStore& store, const RangeSet& set, const std::string& id,
                                  std::optional<cni::IpAddr> requested = {}, int range_id = 0) {
  auto snap = store.List();
  Allocator alloc(set, store, range_id);
  return alloc.Get(id, "eth0", requested, *snap);
}

std::string Addr(const cni::Result<cni::IpConfig>& r) {
  if (!r.ok()) return "error: " + r.error().msg();
  return r->address.ToString();
}

std::vector<std::string> Walk(const RangeSet& set, std::optional<cni::IpAddr> last, int max) {
  std::vector<std::string> out;
  RangeIter it(set, last);
  while (auto c = it.Next()) {
    out.push_back(c->ip.ToString());
    if (static_cast<int>(out.size()) >= max) break;
  }
  return out;
}

TEST(HostLocalRangeIterTest, StartsAtRangeStartSkippingGateway) {
  RangeSet set = MustSet({MustRange("10.0.0.0/29")});  // .1 gw, .2-.6
  EXPECT_EQ(Walk(set, std::nullopt, 10),
            (std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}));
}

TEST(HostLocalRangeIterTest, ResumesAfterLastAndWrapsAround) {
  RangeSet set = MustSet({MustRange("10.0.0.0/29")});
  EXPECT_EQ(Walk(set, Ip("10.0.0.4"), 10),
            (std::vector<std::string>{"10.0.0.5", "10.0.0.6", "10.0.0.2", "10.0.0.3", "10.0.0.4"}));
}

TEST(HostLocalRangeIterTest, CrossesRangesInOrderAndWraps) {
  RangeSet set = MustSet({MustRange("10.0.0.0/30"), MustRange("10.0.1.0/30")});
  // Each /30 holds only .2 once the gateway .1 is skipped.
  EXPECT_EQ(Walk(set, Ip("10.0.1.2"), 10),
            (std::vector<std::string>{"10.0.0.2", "10.0.1.2"}));
  EXPECT_EQ(Walk(set, std::nullopt, 10), (std::vector<std::string>{"10.0.0.2", "10.0.1.2"}));
}

TEST(HostLocalRangeIterTest, LastOutsideTheSetRestartsAtTheBeginning) {
  RangeSet set = MustSet({MustRange("10.0.0.0/29")});
  EXPECT_EQ(Walk(set, Ip("192.168.0.9"), 1), (std::vector<std::string>{"10.0.0.2"}));
}

TEST(HostLocalRangeIterTest, SkipsNetworkAndBroadcastInAnExplicitWindow) {
  RangeSet set = MustSet({MustRange("10.0.0.0/29", "10.0.0.0", "10.0.0.7", "10.0.0.3")});
  EXPECT_EQ(Walk(set, std::nullopt, 10),
            (std::vector<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"}));
}

TEST(HostLocalAllocatorTest, RoundRobinDoesNotReuseAFreshlyFreedAddress) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("10.0.0.0/24")});
  EXPECT_EQ(Addr(GetOne(store, set, "a")), "10.0.0.2/24");
  EXPECT_EQ(Addr(GetOne(store, set, "b")), "10.0.0.3/24");
  ASSERT_TRUE(store.Release(Ip("10.0.0.2")).ok());
  EXPECT_EQ(Addr(GetOne(store, set, "c")), "10.0.0.4/24");
  auto gw = GetOne(store, set, "d");
  ASSERT_TRUE(gw.ok());
  EXPECT_EQ(gw->gateway, Ip("10.0.0.1"));
  EXPECT_EQ(store.last.at(0), Ip("10.0.0.5"));
  EXPECT_EQ(store.ips.at(Ip("10.0.0.5")), "d\r\neth0");
}

TEST(HostLocalAllocatorTest, WrapsToFreedAddressesAtTheEnd) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("10.0.0.0/29")});
  for (const char* id : {"a", "b", "c", "d", "e"}) ASSERT_TRUE(GetOne(store, set, id).ok());
  ASSERT_TRUE(store.Release(Ip("10.0.0.3")).ok());
  EXPECT_EQ(Addr(GetOne(store, set, "f")), "10.0.0.3/29");
}

TEST(HostLocalAllocatorTest, ExhaustionIsCode100NamingTheSet) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("10.0.0.0/29", "10.0.0.2", "10.0.0.4")});
  for (const char* id : {"a", "b", "c"}) ASSERT_TRUE(GetOne(store, set, id).ok());
  auto r = GetOne(store, set, "d");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), cni::Code::kNoAddressAvailable);
  EXPECT_NE(r.error().msg().find("no IP addresses available in range set: 10.0.0.2-10.0.0.4"),
            std::string::npos)
      << r.error().msg();
}

TEST(HostLocalAllocatorTest, HonoursWindowAcrossSeveralRanges) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("10.0.0.0/24", "10.0.0.10", "10.0.0.11"),
                          MustRange("10.0.5.0/24", "10.0.5.200", "10.0.5.200")});
  std::vector<std::string> got;
  for (const char* id : {"a", "b", "c"}) got.push_back(Addr(GetOne(store, set, id)));
  EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.10/24", "10.0.0.11/24", "10.0.5.200/24"}));
  auto gw = GetOne(store, set, "d");
  EXPECT_FALSE(gw.ok());
}

TEST(HostLocalAllocatorTest, RequestedAddress) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("10.0.0.0/24")});
  EXPECT_EQ(Addr(GetOne(store, set, "a", Ip("10.0.0.77"))), "10.0.0.77/24");
  EXPECT_EQ(store.last.at(0), Ip("10.0.0.77"));  // round robin continues after it

  auto taken = GetOne(store, set, "b", Ip("10.0.0.77"));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code(), cni::Code::kNoAddressAvailable);
  EXPECT_NE(taken.error().msg().find("10.0.0.77 is not available"), std::string::npos);

  auto gw = GetOne(store, set, "c", Ip("10.0.0.1"));
  ASSERT_FALSE(gw.ok());
  EXPECT_EQ(gw.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(gw.error().msg().find("gateway"), std::string::npos);

  auto outside = GetOne(store, set, "c", Ip("10.9.9.9"));
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().code(), cni::Code::kInvalidNetworkConfig);
}

TEST(HostLocalAllocatorTest, RequestedNetworkAddressIsRefused) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("10.0.0.0/24", "10.0.0.0", "10.0.0.255")});
  EXPECT_FALSE(GetOne(store, set, "a", Ip("10.0.0.0")).ok());
  EXPECT_FALSE(GetOne(store, set, "a", Ip("10.0.0.255")).ok());
  EXPECT_TRUE(store.ips.empty());
}

TEST(HostLocalAllocatorTest, DuplicateAllocationIsRefused) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("10.0.0.0/24")});
  ASSERT_TRUE(GetOne(store, set, "a").ok());
  auto again = GetOne(store, set, "a");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().msg().find("duplicate allocation"), std::string::npos);
  // A legacy ID-only file counts as held by that container too.
  store.ips[Ip("10.0.0.50")] = "legacy";
  EXPECT_FALSE(GetOne(store, set, "legacy").ok());
}

TEST(HostLocalAllocatorTest, Ipv6) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("fd00:10::/64")});
  EXPECT_EQ(Addr(GetOne(store, set, "a")), "fd00:10::2/64");
  EXPECT_EQ(Addr(GetOne(store, set, "b", Ip("fd00:10::abcd"))), "fd00:10::abcd/64");
  EXPECT_EQ(Addr(GetOne(store, set, "c")), "fd00:10::abce/64");
}

TEST(HostLocalAllocatorTest, SlashThirtyHasExactlyOneAddress) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("10.0.0.0/30")});
  EXPECT_EQ(Addr(GetOne(store, set, "a")), "10.0.0.2/30");
  EXPECT_EQ(GetOne(store, set, "b").error().code(), cni::Code::kNoAddressAvailable);
}

// The cost of finding a free address must not grow with the size of the range.
TEST(HostLocalAllocatorTest, BigMostlyEmptyRangeProbesOnce) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("10.0.0.0/8")});
  store.last[0] = Ip("10.200.0.0");
  EXPECT_EQ(Addr(GetOne(store, set, "a")), "10.200.0.1/8");
  EXPECT_EQ(store.reserve_calls, 1);
}

TEST(HostLocalAllocatorTest, TakenAddressesAreSkippedWithoutProbingTheStore) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("10.0.0.0/8")});
  // 20000 addresses taken right after the cursor (say, by the reference plugin).
  cni::IpAddr ip = Ip("10.0.0.2");
  for (int i = 0; i < 20000; ++i, ip = ip.Next()) store.ips[ip] = "other\r\neth0";
  auto r = GetOne(store, set, "a");
  EXPECT_EQ(Addr(r), ip.ToString() + "/8");
  EXPECT_EQ(store.reserve_calls, 1);
}

TEST(HostLocalAllocatorTest, ExhaustionOfAFullRangeIsFoundWithoutProbing) {
  FakeStore store;
  RangeSet set = MustSet({MustRange("10.0.0.0/20")});
  int n = 0;
  for (auto ip = Ip("10.0.0.2"); ip <= Ip("10.0.15.254"); ip = ip.Next(), ++n) {
    store.ips[ip] = "x" + std::to_string(n);
  }
  auto r = GetOne(store, set, "a");
  EXPECT_EQ(r.error().code(), cni::Code::kNoAddressAvailable);
  EXPECT_EQ(store.reserve_calls, 0);
}

TEST(HostLocalAllocatorTest, StoreErrorIsPassedOn) {
  FakeStore store;
  store.fail_reserve = true;
  RangeSet set = MustSet({MustRange("10.0.0.0/24")});
  auto r = GetOne(store, set, "a");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), cni::Code::kIoFailure);
}

TEST(HostLocalAllocateAllTest, DualStackGivesOneAddressPerSetUnderOneLock) {
  FakeStore store;
  std::vector<RangeSet> sets = {MustSet({MustRange("10.0.0.0/24")}),
                                MustSet({MustRange("fd00::/64")})};
  auto r = AllocateAll(sets, store, "net", "c1", "eth0", {});
  ASSERT_TRUE(r.ok()) << r.error().msg();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].address.ToString(), "10.0.0.2/24");
  EXPECT_EQ((*r)[1].address.ToString(), "fd00::2/64");
  EXPECT_EQ((*r)[1].gateway, Ip("fd00::1"));
  EXPECT_EQ(store.last.at(0), Ip("10.0.0.2"));
  EXPECT_EQ(store.last.at(1), Ip("fd00::2"));
  EXPECT_FALSE(store.locked());
  EXPECT_EQ(store.list_calls, 1);
}

TEST(HostLocalAllocateAllTest, RequestsGoToTheSetThatContainsThem) {
  FakeStore store;
  std::vector<RangeSet> sets = {MustSet({MustRange("10.0.0.0/24")}),
                                MustSet({MustRange("fd00::/64")})};
  auto r = AllocateAll(sets, store, "net", "c1", "eth0", {Ip("fd00::99"), Ip("10.0.0.99")});
  ASSERT_TRUE(r.ok()) << r.error().msg();
  EXPECT_EQ((*r)[0].address.ToString(), "10.0.0.99/24");
  EXPECT_EQ((*r)[1].address.ToString(), "fd00::99/64");
}

TEST(HostLocalAllocateAllTest, UnfulfilledRequestRollsBack) {
  FakeStore store;
  std::vector<RangeSet> sets = {MustSet({MustRange("10.0.0.0/24")})};
  auto r = AllocateAll(sets, store, "net", "c1", "eth0", {Ip("10.0.0.5"), Ip("192.168.7.7")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(r.error().msg().find("192.168.7.7"), std::string::npos) << r.error().msg();
  EXPECT_TRUE(store.ips.empty());
  EXPECT_FALSE(store.locked());
}

TEST(HostLocalAllocateAllTest, FailureInSecondSetFreesTheFirst) {
  FakeStore store;
  std::vector<RangeSet> sets = {MustSet({MustRange("10.0.0.0/24")}),
                                MustSet({MustRange("10.1.0.0/30")})};
  store.ips[Ip("10.1.0.2")] = "someone\r\neth0";
  auto r = AllocateAll(sets, store, "mynet", "c1", "eth0", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), cni::Code::kNoAddressAvailable);
  EXPECT_NE(r.error().msg().find("network \"mynet\""), std::string::npos) << r.error().msg();
  EXPECT_NE(r.error().msg().find("range 1"), std::string::npos) << r.error().msg();
  EXPECT_EQ(store.ips.size(), 1u);
  EXPECT_FALSE(store.ips.count(Ip("10.0.0.2")));
}

TEST(HostLocalStoreHelpersTest, ReleaseByIdMatchesTheReference) {
  FakeStore store;
  store.ips[Ip("10.0.0.2")] = "c1\r\neth0";
  store.ips[Ip("10.0.0.3")] = "c1\r\neth1";
  store.ips[Ip("10.0.0.4")] = "c1";  // legacy
  ASSERT_TRUE(ReleaseById(store, "c1", "eth0").ok());
  EXPECT_FALSE(store.ips.count(Ip("10.0.0.2")));
  EXPECT_TRUE(store.ips.count(Ip("10.0.0.3")));
  EXPECT_TRUE(store.ips.count(Ip("10.0.0.4")));  // an exact match was found
  ASSERT_TRUE(ReleaseById(store, "c1", "eth9").ok());
  EXPECT_FALSE(store.ips.count(Ip("10.0.0.4")));  // nothing exact: legacy goes
  ASSERT_TRUE(ReleaseById(store, "c1", "eth9").ok());  // idempotent
  EXPECT_EQ(store.ips.size(), 1u);
}

TEST(HostLocalStoreHelpersTest, ReleaseByIdPrescanMatchesReleaseById) {
  FakeStore store;
  store.ips[Ip("10.0.0.2")] = "c1\r\neth0";
  store.ips[Ip("10.0.0.3")] = "c1\r\neth1";
  store.ips[Ip("10.0.0.4")] = "c1";  // legacy
  ASSERT_TRUE(ReleaseByIdPrescan(store, "c1", "eth0").ok());
  EXPECT_FALSE(store.locked());
  EXPECT_FALSE(store.ips.count(Ip("10.0.0.2")));
  EXPECT_TRUE(store.ips.count(Ip("10.0.0.3")));
  EXPECT_TRUE(store.ips.count(Ip("10.0.0.4")));  // an exact match was found
  ASSERT_TRUE(ReleaseByIdPrescan(store, "c1", "eth9").ok());
  EXPECT_FALSE(store.ips.count(Ip("10.0.0.4")));  // nothing exact: legacy goes
  ASSERT_TRUE(ReleaseByIdPrescan(store, "c1", "eth9").ok());  // idempotent
  EXPECT_EQ(store.ips.size(), 1u);
}

// Between the unlocked scan and the lock, another DEL frees our address and an ADD
// hands it to a new pod: the prescan must re-check and leave the new owner's file.
class ReassigningStore : public FakeStore {
 public:
  cni::Status Lock() override {
    ips[Ip("10.0.0.2")] = "other\r\neth0";
    return FakeStore::Lock();
  }
};

TEST(HostLocalStoreHelpersTest, ReleaseByIdPrescanRechecksOwnerUnderTheLock) {
  ReassigningStore store;
  store.ips[Ip("10.0.0.2")] = "c1\r\neth0";
  store.ips[Ip("10.0.0.3")] = "c1\r\neth0";
  ASSERT_TRUE(ReleaseByIdPrescan(store, "c1", "eth0").ok());
  EXPECT_EQ(store.ips[Ip("10.0.0.2")], "other\r\neth0");
  EXPECT_FALSE(store.ips.count(Ip("10.0.0.3")));
}

}  // namespace
}  // namespace host_local
