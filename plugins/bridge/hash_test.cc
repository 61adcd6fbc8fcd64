#include "plugins/bridge/hash.h"

#include <gtest/gtest.h>

#include <string>

#include "plugins/bridge/masq_iptables.h"
#include "plugins/bridge/veth.h"

namespace bridge {
namespace {

TEST(BridgeSha512Test, KnownVectors) {
  EXPECT_EQ(Sha512Hex(""),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
            "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
  EXPECT_EQ(Sha512Hex("abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  // Two-block message (112 bytes) exercises the padding spill-over.
  EXPECT_EQ(Sha512Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
            "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}

TEST(BridgeSha512Test, MillionA) {
  EXPECT_EQ(Sha512Hex(std::string(1000000, 'a')),
            "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
            "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

TEST(BridgeNamesTest, IptablesChainMatchesReferenceScheme) {
  // CNI- + first 24 hex of sha512(name+id), 28 characters, as pkg/utils.
  std::string chain = IptChainName("net", "cid");
  EXPECT_EQ(chain, "CNI-" + Sha512Hex("netcid").substr(0, 24));
  EXPECT_EQ(chain.size(), 28u);
  EXPECT_EQ(IptComment("net", "cid"), "name: \"net\" id: \"cid\"");
}

TEST(BridgeNamesTest, HostVethNameIsStableAndShort) {
  EXPECT_EQ(HostVethName("c1", "eth0"), HostVethName("c1", "eth0"));
  EXPECT_NE(HostVethName("c1", "eth0"), HostVethName("c1", "eth1"));
  EXPECT_NE(HostVethName("c1", "eth0"), HostVethName("c2", "eth0"));
  EXPECT_EQ(HostVethName("c1", "eth0").size(), 12u);
  EXPECT_EQ(HostVethName("c1", "eth0").rfind("veth", 0), 0u);
}

}  // namespace
}  // namespace bridge
