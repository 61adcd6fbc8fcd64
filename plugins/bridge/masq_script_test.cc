#include <gtest/gtest.h>

#include "plugins/bridge/masq_iptables.h"
#include "plugins/bridge/masq_nft.h"
#include "test/support/test_support.h"

namespace bridge {
namespace {

using linen::test::Net;

TEST(BridgeMasqScriptTest, NftKeysSeparateAttachments) {
  EXPECT_NE(NftOwnerKey({"n", "eth0", "a"}), NftOwnerKey({"n", "eth0", "b"}));
  EXPECT_NE(NftOwnerKey({"n", "eth0", "a"}), NftOwnerKey({"n", "eth1", "a"}));
  // 15 characters: an ifname-typed key with its NUL.
  EXPECT_EQ(NftOwnerKey({"n", "eth0", "a"}).size(), 15u);
  EXPECT_NE(NftBaseChainName("n"), NftBaseChainName("m"));
  EXPECT_EQ(NftLegacyChainName({"n", "eth0", "a"}).rfind(NftBaseChainName("n") + "-", 0), 0u);
}

TEST(BridgeMasqScriptTest, IptablesRestoreInput) {
  MasqTag tag{"mynet", "eth0", "c1"};
  std::string v4 = IptSetupRestore({Net("10.1.0.5/24"), Net("fd00::5/64")}, tag, true);
  std::string chain = IptChainName("mynet", "c1");
  EXPECT_NE(v4.find(":" + chain + " - [0:0]"), std::string::npos) << v4;
  EXPECT_NE(v4.find("-A " + chain + " -d 10.1.0.0/24 -m comment --comment "
                    "\"name: \\\"mynet\\\" id: \\\"c1\\\"\" -j ACCEPT"),
            std::string::npos) << v4;
  EXPECT_NE(v4.find("! -d 224.0.0.0/4"), std::string::npos);
  EXPECT_NE(v4.find("-A POSTROUTING -s 10.1.0.5 "), std::string::npos);
  EXPECT_EQ(v4.find("fd00"), std::string::npos) << "v6 goes to ip6tables-restore";
  std::string v6 = IptSetupRestore({Net("10.1.0.5/24")}, tag, false);
  EXPECT_TRUE(v6.empty());
}

}  // namespace
}  // namespace bridge
