// A test namespace with a netlink handle in it, plus `ip -j` readback helpers,
// shared by the netlink tests. Every kernel change a test makes stays inside ns_.
#ifndef LINEN_LIBCNI_NETLINK_NETLINK_TEST_FIXTURE_H_
#define LINEN_LIBCNI_NETLINK_NETLINK_TEST_FIXTURE_H_

#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "libcni/netlink/handle.h"
#include "test/support/test_support.h"

namespace cni::nl {

class NetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = linen::test::TempNetns::Create("nlt");
    ASSERT_TRUE(t) << t.error().msg();
    ns_.emplace(std::move(t).value());
    auto h = Handle::OpenIn(ns_->ns());
    ASSERT_TRUE(h) << h.error().msg();
    h_.emplace(std::move(h).value());
  }

  // A second namespace for cross-namespace cases.
  linen::test::TempNetns& Other() {
    if (!other_) {
      auto t = linen::test::TempNetns::Create("nlo");
      EXPECT_TRUE(t) << t.error().msg();
      other_.emplace(std::move(t).value());
    }
    return *other_;
  }

  // `ip -n <ns> -j <args>` parsed; an empty answer is an empty array.
  static nlohmann::json IpJson(const std::string& ns, const std::string& args) {
    auto r = linen::test::Sh("ip -n " + ns + " -j " + args);
    EXPECT_EQ(r.exit_code, 0) << "ip -n " << ns << " -j " << args << ": " << r.err;
    if (r.out.find_first_not_of(" \n") == std::string::npos) return nlohmann::json::array();
    return nlohmann::json::parse(r.out);
  }
  nlohmann::json Ip(const std::string& args) { return IpJson(ns_->name(), args); }
  // `bridge -n <ns> -j <args>`.
  nlohmann::json Bridge(const std::string& args) {
    auto r = linen::test::Sh("bridge -n " + ns_->name() + " -j " + args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.out.find_first_not_of(" \n") == std::string::npos) return nlohmann::json::array();
    return nlohmann::json::parse(r.out);
  }

  // Creates a veth pair inside ns_, both ends up; returns the first end's index.
  int UpVethPair(const std::string& a, const std::string& b) {
    auto s = h_->CreateVeth({.name = a, .peer_name = b});
    EXPECT_TRUE(s) << s.error().msg();
    auto la = h_->LinkByName(a);
    auto lb = h_->LinkByName(b);
    EXPECT_TRUE(la && lb);
    if (!la || !lb) return 0;
    EXPECT_TRUE(h_->SetUp(la->index));
    EXPECT_TRUE(h_->SetUp(lb->index));
    return la->index;
  }

  std::optional<linen::test::TempNetns> ns_;
  std::optional<linen::test::TempNetns> other_;
  std::optional<Handle> h_;
};

}  // namespace cni::nl

#endif  // LINEN_LIBCNI_NETLINK_NETLINK_TEST_FIXTURE_H_
