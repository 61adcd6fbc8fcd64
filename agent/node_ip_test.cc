// ResolveNodeIp / ResolveNodeIpv6 against a veth underlay in a test namespace.
#include "agent/node_ip.h"

#include <gtest/gtest.h>

#include "test/support/test_support.h"

namespace linen::agent {
namespace {

class NodeIpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = test::TempNetns::Create("nodip");
    ASSERT_TRUE(ns) << ns.error().msg();
    ns_.emplace(std::move(*ns));
    auto h = cni::nl::Handle::OpenIn(ns_->ns());
    ASSERT_TRUE(h) << h.error().msg();
    h_.emplace(std::move(*h));
  }
  void Ip(const std::string& args) {
    auto r = test::Sh("ip -n " + ns_->name() + " " + args);
    ASSERT_EQ(r.exit_code, 0) << args << ": " << r.err;
  }
  std::optional<test::TempNetns> ns_;
  std::optional<cni::nl::Handle> h_;
};

TEST_F(NodeIpTest, FirstGlobalAddressOfEachFamily) {
  Ip("link add ul0 type veth peer name ul1");
  Ip("link set ul0 up");
  // Link-local (auto) and a tentative address come first in no useful order; only a
  // global, usable one counts. nodad: usable at once, so no wait on DAD.
  Ip("addr add 192.168.77.5/24 dev ul0");
  Ip("addr add fe80::99/64 dev ul0 nodad");
  Ip("addr add fd00:77::5/64 dev ul0 nodad");
  auto v4 = ResolveNodeIp(*h_, "ul0", "");
  ASSERT_TRUE(v4) << v4.error().msg();
  EXPECT_EQ(v4->ToString(), "192.168.77.5");
  auto v6 = ResolveNodeIpv6(*h_, "ul0", "");
  ASSERT_TRUE(v6) << v6.error().msg();
  EXPECT_EQ(v6->ToString(), "fd00:77::5");
}

// flannel: --public-ip alone picks the interface, its IPv6 address comes from there.
TEST_F(NodeIpTest, WithoutIfaceTheIpv6ComesFromTheInterfaceHoldingTheNodeIp) {
  Ip("link add ul0 type veth peer name ul1");
  Ip("link set ul0 up");
  Ip("link set ul1 up");
  Ip("addr add 192.168.78.5/24 dev ul1");
  Ip("addr add fd00:78::5/64 dev ul1 nodad");
  Ip("addr add fd00:77::5/64 dev ul0 nodad");
  auto v6 = ResolveNodeIpv6(*h_, "", "", *cni::IpAddr::Parse("192.168.78.5"));
  ASSERT_TRUE(v6) << v6.error().msg();
  EXPECT_EQ(v6->ToString(), "fd00:78::5");
}

TEST_F(NodeIpTest, NoIpv6AddressYetIsRetryable) {
  Ip("link add ul0 type veth peer name ul1");
  Ip("link set ul0 up");
  Ip("addr add 192.168.77.5/24 dev ul0");
  Ip("addr add fe80::99/64 dev ul0 nodad");
  auto v6 = ResolveNodeIpv6(*h_, "ul0", "");
  ASSERT_FALSE(v6);
  EXPECT_EQ(v6.error().code(), cni::Code::kBackendNotReady);
  EXPECT_NE(v6.error().msg().find("--public-ipv6"), std::string::npos) << v6.error().msg();
}

TEST_F(NodeIpTest, GivenAddressMustBeOfItsFamily) {
  auto v6 = ResolveNodeIpv6(*h_, "", "fd00::5");
  ASSERT_TRUE(v6) << v6.error().msg();
  EXPECT_EQ(v6->ToString(), "fd00::5");
  auto wrong6 = ResolveNodeIpv6(*h_, "", "10.0.0.5");
  ASSERT_FALSE(wrong6);
  EXPECT_EQ(wrong6.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(wrong6.error().msg().find("--public-ipv6 10.0.0.5 is not an IPv6"), std::string::npos)
      << wrong6.error().msg();
  auto wrong4 = ResolveNodeIp(*h_, "", "fd00::5");
  ASSERT_FALSE(wrong4);
  EXPECT_EQ(wrong4.error().code(), cni::Code::kInvalidNetworkConfig);
  auto nothing = ResolveNodeIpv6(*h_, "", "");
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().code(), cni::Code::kInvalidNetworkConfig);
}

}  // namespace
}  // namespace linen::agent
