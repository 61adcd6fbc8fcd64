// loopback verbs in-process against a real namespace; state read back via netlink.
#include "plugins/loopback/loopback.h"

#include <gtest/gtest.h>

#include "libcni/netlink/handle.h"
#include "test/support/test_support.h"

namespace loopback {
namespace {

class LoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = linen::test::TempNetns::Create("lob");
    ASSERT_TRUE(ns) << ns.error().msg();
    ctr_.emplace(std::move(*ns));
    auto h = cni::nl::Handle::OpenIn(ctr_->ns());
    ASSERT_TRUE(h) << h.error().msg();
    h_.emplace(std::move(*h));
    // TempNetns brings lo up; start from a fresh container's state.
    ASSERT_TRUE(h_->SetUp(LoIndex(), false));
    ASSERT_FALSE(LoUp());
  }
  int LoIndex() {
    auto lo = h_->LinkByName("lo");
    EXPECT_TRUE(lo);
    return lo ? lo->index : 0;
  }
  bool LoUp() {
    auto lo = h_->LinkByName("lo");
    EXPECT_TRUE(lo);
    return lo && lo->admin_up;
  }
  cni::CmdArgs Args(const std::string& version = "1.0.0") {
    cni::CmdArgs a;
    a.container_id = "ctr";
    a.netns = ctr_->path();
    a.ifname = "lo";
    a.stdin_data = R"({"cniVersion":")" + version + R"(","name":"lo","type":"loopback"})";
    a.conf = *cni::ParseNetConf(a.stdin_data);
    return a;
  }
  std::optional<linen::test::TempNetns> ctr_;
  std::optional<cni::nl::Handle> h_;
};

TEST_F(LoopbackTest, AddBringsLoUpAndReportsItsAddresses) {
  auto r = CmdAdd(Args());
  ASSERT_TRUE(r) << r.error().msg();
  EXPECT_TRUE(LoUp());
  ASSERT_EQ(r->interfaces.size(), 1u);
  EXPECT_EQ(r->interfaces[0].name, "lo");
  EXPECT_EQ(r->interfaces[0].mac, "00:00:00:00:00:00");
  EXPECT_EQ(r->interfaces[0].sandbox, ctr_->path());
  ASSERT_EQ(r->ips.size(), 2u);
  EXPECT_EQ(r->ips[0].address.ToString(), "127.0.0.1/8");
  EXPECT_EQ(r->ips[1].address.ToString(), "::1/128");
  for (const auto& ip : r->ips) {
    EXPECT_EQ(ip.interface, 0);
    EXPECT_FALSE(ip.gateway);
  }
  EXPECT_TRUE(r->routes.empty());
  EXPECT_EQ(r->cni_version, "1.0.0");
}

TEST_F(LoopbackTest, CheckFollowsLoState) {
  EXPECT_FALSE(CmdCheck(Args()));
  ASSERT_TRUE(CmdAdd(Args()));
  EXPECT_TRUE(CmdCheck(Args()));
  ASSERT_TRUE(CmdDel(Args()));
  EXPECT_FALSE(LoUp());
  auto c = CmdCheck(Args());
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().msg().find("down"), std::string::npos);
}

TEST_F(LoopbackTest, DelIsIdempotentAndToleratesMissingNetns) {
  ASSERT_TRUE(CmdAdd(Args()));
  EXPECT_TRUE(CmdDel(Args()));
  EXPECT_TRUE(CmdDel(Args()));
  EXPECT_FALSE(LoUp());
  auto a = Args();
  a.netns = "/run/netns/linen-gone-" + std::to_string(getpid());
  EXPECT_TRUE(CmdDel(a));
  a.netns = "";
  EXPECT_TRUE(CmdDel(a));
}

TEST_F(LoopbackTest, AddInMissingNetnsIsUnknownContainer) {
  auto a = Args();
  a.netns = "/run/netns/linen-gone-" + std::to_string(getpid());
  auto r = CmdAdd(a);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), cni::Code::kUnknownContainer);
  EXPECT_NE(r.error().msg().find(a.netns), std::string::npos);
}

TEST_F(LoopbackTest, PrevResultPassesThrough) {
  auto a = Args("1.0.0");
  a.stdin_data = R"({"cniVersion":"1.0.0","name":"lo","type":"loopback",
      "prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],
                    "ips":[{"address":"10.1.0.5/24","interface":0}]}})";
  a.conf = *cni::ParseNetConf(a.stdin_data);
  auto r = CmdAdd(a);
  ASSERT_TRUE(r) << r.error().msg();
  EXPECT_TRUE(LoUp());
  ASSERT_EQ(r->interfaces.size(), 1u);
  EXPECT_EQ(r->interfaces[0].name, "eth0");
  ASSERT_EQ(r->ips.size(), 1u);
  EXPECT_EQ(r->ips[0].address.ToString(), "10.1.0.5/24");
}

TEST_F(LoopbackTest, NonLoopbackAddressOnLoIsRefused) {
  ASSERT_TRUE(h_->AddAddr(LoIndex(), *cni::IpNet::Parse("10.9.9.9/32")));
  auto r = CmdAdd(Args());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().msg().find("10.9.9.9"), std::string::npos);
}

}  // namespace
}  // namespace loopback
