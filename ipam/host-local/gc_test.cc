#include "ipam/host-local/gc.h"

#include <gtest/gtest.h>

#include "ipam/host-local/fake_store.h"
#include "ipam/host-local/test_util.h"

namespace host_local {
namespace {

using testing::Ip;
using testing::MustRange;
using testing::MustSet;

class HostLocalGcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.ips[Ip("10.0.0.2")] = "c1\r\neth0";
    store_.ips[Ip("10.0.0.3")] = "c1\r\neth1";
    store_.ips[Ip("10.0.0.4")] = "c2\r\neth0";
    store_.ips[Ip("10.0.0.5")] = "c3";  // legacy: ID only
    store_.ips[Ip("10.0.0.6")] = "";    // reference killed between create and write
  }
  FakeStore store_;
};

TEST_F(HostLocalGcTest, KeepsOnlyValidAttachments) {
  auto freed = CollectGarbage(store_, {{"c1", "eth0"}, {"c3", "eth0"}});
  ASSERT_TRUE(freed.ok()) << freed.error().msg();
  EXPECT_EQ(*freed, 3u);
  std::vector<std::string> left;
  for (const auto& [ip, owner] : store_.ips) left.push_back(ip.ToString());
  EXPECT_EQ(left, (std::vector<std::string>{"10.0.0.2", "10.0.0.5"}));
  EXPECT_FALSE(store_.locked());
}

TEST_F(HostLocalGcTest, EmptyListFreesEverything) {
  auto freed = CollectGarbage(store_, {});
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(*freed, 5u);
  EXPECT_TRUE(store_.ips.empty());
}

TEST_F(HostLocalGcTest, InterfaceMustMatchForNewStyleFiles) {
  auto freed = CollectGarbage(store_, {{"c2", "eth1"}});
  ASSERT_TRUE(freed.ok());
  EXPECT_FALSE(store_.ips.count(Ip("10.0.0.4")));
}

TEST(HostLocalStatusTest, ReadyUntilASetIsExhausted) {
  FakeStore store;
  std::vector<RangeSet> sets = {MustSet({MustRange("10.0.0.0/29", "10.0.0.2", "10.0.0.3")}),
                                MustSet({MustRange("fd00::/64")})};
  EXPECT_TRUE(CheckStatus(store, sets, "net1").ok());
  store.ips[Ip("10.0.0.2")] = "a\r\neth0";
  store.ips[Ip("10.0.0.1")] = "bogus";  // the gateway never counts as used capacity
  store.ips[Ip("10.9.9.9")] = "b\r\neth0";  // outside every set
  EXPECT_TRUE(CheckStatus(store, sets, "net1").ok());
  store.ips[Ip("10.0.0.3")] = "c\r\neth0";
  auto s = CheckStatus(store, sets, "net1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), cni::Code::kNotAvailable);
  EXPECT_NE(s.error().msg().find("network \"net1\""), std::string::npos) << s.error().msg();
  EXPECT_NE(s.error().msg().find("range set 0 (10.0.0.2-10.0.0.3)"), std::string::npos)
      << s.error().msg();
  EXPECT_EQ(s.error().msg().find("fd00"), std::string::npos);
  EXPECT_FALSE(store.locked());
}

}  // namespace
}  // namespace host_local
