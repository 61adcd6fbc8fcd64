// The node masquerade per family, read back with `nft list` inside a TempNetns.
#include "overlay/backend/masquerade.h"

#include <gtest/gtest.h>

#include <optional>

#include "netns/netns.h"
#include "test/support/test_support.h"

namespace linen::overlay {
namespace {

using linen::test::Net;

ClusterConfig DualStack() {
  ClusterConfig c;
  c.network = Net("10.244.0.0/16");
  c.enable_ipv6 = true;
  c.ipv6_network = Net("fd00:10:244::/56");
  return c;
}

class MasqueradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = test::TempNetns::Create("ovm");
    ASSERT_TRUE(ns) << ns.error().msg();
    ns_.emplace(std::move(*ns));
    auto sw = cni::ScopedNetnsSwitch::Enter(ns_->ns());
    ASSERT_TRUE(sw) << sw.error().msg();
    auto s = cni::nft::Socket::Open();  // stays in ns_ after the switch back
    ASSERT_TRUE(s) << s.error().msg();
    sock_.emplace(std::move(*s));
  }
  // `nft list table <family> linen-t`, or "" when the table is absent.
  std::string Table(const std::string& family) {
    test::ProcResult r =
        test::Sh("ip netns exec " + ns_->name() + " nft list table " + family + " linen-t");
    return r.exit_code == 0 ? r.out : "";
  }
  std::optional<test::TempNetns> ns_;
  std::optional<cni::nft::Socket> sock_;
};

// Dual-stack: an `ip` and an `ip6` table, each masquerading its own family's traffic
// leaving its own cluster network (so pod<->pod keeps its source), multicast
// excluded; nothing written when in place; a family switched off loses its table.
TEST_F(MasqueradeTest, NodeMasqueradeCoversEachEnabledFamily) {
  const ClusterConfig c = DualStack();
  auto changed = SyncNodeMasquerade(*sock_, "t", c);
  ASSERT_TRUE(changed) << changed.error().msg();
  EXPECT_TRUE(*changed);
  const std::string v4 = Table("ip");
  EXPECT_NE(v4.find("ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 ip daddr != 224.0.0.0/4 "
                    "counter packets 0 bytes 0 masquerade"),
            std::string::npos)
      << v4;
  const std::string v6 = Table("ip6");
  EXPECT_NE(v6.find("ip6 saddr fd00:10:244::/56 ip6 daddr != fd00:10:244::/56 "
                    "ip6 daddr != ff00::/8 counter packets 0 bytes 0 masquerade"),
            std::string::npos)
      << v6;
  EXPECT_NE(v6.find("type nat hook postrouting priority srcnat"), std::string::npos) << v6;
  EXPECT_TRUE(CheckNodeMasquerade(*sock_, "t", ClusterNetworks(c)));

  auto again = SyncNodeMasquerade(*sock_, "t", c);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again) << "nothing to change";

  // The IPv6 rule changed by hand: CHECK names it, Sync restores it.
  ASSERT_EQ(test::Sh("ip netns exec " + ns_->name() + " nft flush chain ip6 linen-t postrouting")
                .exit_code,
            0);
  auto chk = CheckNodeMasquerade(*sock_, "t", ClusterNetworks(c));
  ASSERT_FALSE(chk);
  EXPECT_NE(chk.error().msg().find("fd00:10:244::/56"), std::string::npos) << chk.error().msg();
  auto fixed = SyncNodeMasquerade(*sock_, "t", c);
  ASSERT_TRUE(fixed && *fixed);
  EXPECT_TRUE(CheckNodeMasquerade(*sock_, "t", ClusterNetworks(c)));

  ClusterConfig v6_only = c;
  v6_only.enable_ipv4 = false;
  auto dropped = SyncNodeMasquerade(*sock_, "t", v6_only);
  ASSERT_TRUE(dropped) << dropped.error().msg();
  EXPECT_TRUE(*dropped);
  EXPECT_EQ(Table("ip"), "");
  EXPECT_NE(Table("ip6"), "");
  EXPECT_TRUE(CheckNodeMasquerade(*sock_, "t", ClusterNetworks(v6_only)));

  ClusterConfig off = c;
  off.ip_masq = false;
  auto removed = SyncNodeMasquerade(*sock_, "t", off);
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  EXPECT_EQ(Table("ip6"), "");
  auto quiet = SyncNodeMasquerade(*sock_, "t", off);
  ASSERT_TRUE(quiet);
  EXPECT_FALSE(*quiet);
}

TEST_F(MasqueradeTest, AddIfAbsentReportsWhatItCreatedAndDeleteRemovesBoth) {
  const ClusterConfig c = DualStack();
  auto created = AddNodeMasqueradeIfAbsent(*sock_, "t", ClusterNetworks(c));
  ASSERT_TRUE(created) << created.error().msg();
  EXPECT_EQ(*created, (std::vector<cni::Family>{cni::Family::kV4, cni::Family::kV6}));
  EXPECT_TRUE(CheckNodeMasquerade(*sock_, "t", ClusterNetworks(c)));
  auto second = AddNodeMasqueradeIfAbsent(*sock_, "t", ClusterNetworks(c));
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->empty());

  ASSERT_TRUE(DeleteMasquerade(*sock_, "t", cni::Family::kV6));
  auto only_v6 = AddNodeMasqueradeIfAbsent(*sock_, "t", ClusterNetworks(c));
  ASSERT_TRUE(only_v6);
  EXPECT_EQ(*only_v6, std::vector<cni::Family>{cni::Family::kV6});

  ASSERT_TRUE(DeleteNodeMasquerade(*sock_, "t"));
  EXPECT_EQ(Table("ip"), "");
  EXPECT_EQ(Table("ip6"), "");
  EXPECT_TRUE(DeleteNodeMasquerade(*sock_, "t")) << "absent is success";
  EXPECT_FALSE(CheckNodeMasquerade(*sock_, "t", ClusterNetworks(c)));
}

}  // namespace
}  // namespace linen::overlay
