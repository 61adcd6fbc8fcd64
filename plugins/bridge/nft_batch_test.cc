// The hand-built nf_tables batches must be exactly what `nft -f` makes of the
// readable scripts (NftSetupScript/NftTeardownScript): compared as kernel bytecode.
#include "plugins/bridge/nft_batch.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include "netns/netns.h"
#include "plugins/bridge/masq_nft.h"
#include "test/support/test_support.h"

namespace bridge {
namespace {

using linen::test::Sh;
using linen::test::TempNetns;

class NftBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = TempNetns::Create("nftb");
    ASSERT_TRUE(ns.ok()) << ns.error().msg();
    ns_.emplace(std::move(*ns));
  }
  std::string Nft(const std::string& args) {
    return Sh("ip netns exec " + ns_->name() + " nft " + args + " 2>&1").out;
  }
  cni::Status InNs(const std::function<cni::Status()>& f) {
    auto sw = cni::ScopedNetnsSwitch::Enter(ns_->ns());
    if (!sw) return sw.error();
    return f();
  }
  std::optional<TempNetns> ns_;
};

std::vector<cni::IpNet> Ips() {
  return {*cni::IpNet::Parse("10.88.0.2/16"), *cni::IpNet::Parse("fd00:80::2/64"),
          *cni::IpNet::Parse("10.99.0.7/20"), *cni::IpNet::Parse("10.5.0.9/32")};
}

TEST_F(NftBatchTest, SetupIsByteForByteTheScript) {
  const MasqTag tag{"net1", "eth0", "c1"};
  ASSERT_TRUE(InNs([&] {
    return NftBatchSetupMasq(kNftTable, NftChainName(tag), NftComment(tag), Ips());
  }).ok());
  std::string ours = Nft("--debug=netlink list ruleset");
  EXPECT_NE(ours.find("[ masq ]"), std::string::npos) << ours;
  ASSERT_EQ(Nft("flush ruleset"), "");
  auto r = linen::test::Run({"/usr/sbin/ip", "netns", "exec", ns_->name(), "nft", "-f", "-"}, {},
               NftSetupScript(Ips(), tag));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ours, Nft("--debug=netlink list ruleset"));
}

TEST_F(NftBatchTest, RepeatedSetupReplacesAndTeardownIsIdempotent) {
  const MasqTag tag{"net1", "eth0", "c2"};
  const std::string chain = NftChainName(tag);
  auto setup = [&] { return NftBatchSetupMasq(kNftTable, chain, NftComment(tag), Ips()); };
  ASSERT_TRUE(InNs(setup).ok());
  ASSERT_TRUE(InNs(setup).ok());
  std::string listing = Nft("list chain inet linen_masquerade " + chain);
  size_t rules = 0;
  for (size_t p = listing.find("masquerade comment"); p != std::string::npos;
       p = listing.find("masquerade comment", p + 1)) {
    ++rules;
  }
  EXPECT_EQ(rules, Ips().size()) << listing;
  ASSERT_TRUE(InNs([&] { return NftBatchDeleteChain(kNftTable, chain); }).ok());
  EXPECT_NE(Nft("list chain inet linen_masquerade " + chain).find("No such file"),
            std::string::npos);
  EXPECT_TRUE(InNs([&] { return NftBatchDeleteChain(kNftTable, chain); }).ok());
  EXPECT_TRUE(InNs([&] { return NftBatchDeleteChain(kNftTable, "never-made"); }).ok());
}

TEST_F(NftBatchTest, DeferredCloseStillCommitsAtOnce) {
  const MasqTag tag{"net1", "eth0", "c3"};
  const std::string chain = NftChainName(tag);
  ASSERT_TRUE(InNs([&] { return NftBatchSetupMasq(kNftTable, chain, NftComment(tag), Ips()); })
                  .ok());
  ASSERT_TRUE(InNs([&]() -> cni::Status {
    NftDeferClose defer;
    if (auto s = NftBatchDeleteChain(kNftTable, chain); !s) return s;
    // The socket is still open here, yet the transaction is already visible.
    if (Nft("list chain inet linen_masquerade " + chain).find("No such file") ==
        std::string::npos) {
      return cni::Error(cni::Code::kInternal, "chain still listed before the deferred close");
    }
    return cni::OkStatus();
  }).ok());
}

TEST_F(NftBatchTest, KernelErrorIsReportedAndNothingIsLeft) {
  // Chain names are limited to NFT_CHAIN_MAXNAMELEN (256): the whole batch aborts.
  const std::string bad(300, 'x');
  auto s = InNs([&] { return NftBatchSetupMasq(kNftTable, bad, "c", Ips()); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().msg().find("nftables"), std::string::npos) << s.error().msg();
  EXPECT_EQ(Nft("list ruleset"), "");
}

}  // namespace
}  // namespace bridge
