// The node the backend tests program: a TempNetns with a veth pair inside it as the
// underlay, ul0 holding 172.20.0.1/16 and fd20::1/64 (so thousands of peers of either
// family are on-link), and iproute2 as an independent reader of the kernel.
#ifndef LINEN_OVERLAY_BACKEND_BACKEND_TEST_FIXTURE_H_
#define LINEN_OVERLAY_BACKEND_BACKEND_TEST_FIXTURE_H_

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "libcni/netlink/handle.h"
#include "libcni/types.h"
#include "test/support/test_support.h"

namespace linen::overlay {

class BackendNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = test::TempNetns::Create("ovb");
    ASSERT_TRUE(ns) << ns.error().msg();
    node_.emplace(std::move(*ns));
    auto h = cni::nl::Handle::OpenIn(node_->ns());
    ASSERT_TRUE(h) << h.error().msg();
    h_.emplace(std::move(*h));
    ASSERT_TRUE(h_->CreateVeth({.name = "ul0", .peer_name = "ul1"}));
    auto ul0 = h_->LinkByName("ul0");
    auto ul1 = h_->LinkByName("ul1");
    ASSERT_TRUE(ul0 && ul1);
    ASSERT_TRUE(h_->AddAddr(ul0->index, *cni::IpNet::Parse("172.20.0.1/16")));
    ASSERT_TRUE(h_->AddAddr(ul0->index, *cni::IpNet::Parse("fd20::1/64"), cni::nl::kAddrNoDad));
    ASSERT_TRUE(h_->SetUp(ul0->index));
    ASSERT_TRUE(h_->SetUp(ul1->index));
    ul_index_ = ul0->index;
  }

  // The kernel as iproute2 sees it: a reader independent of the netlink code under
  // test, so a bug shared by its writer and its dumper cannot hide. `tool` is "ip" or
  // "bridge"; `args` follow "-j". A command that prints nothing (a change) gives [].
  cni::json Kernel(const std::string& tool, const std::string& args) {
    test::ProcResult r = test::Sh("ip netns exec " + node_->name() + " " + tool + " -j " + args);
    EXPECT_EQ(r.exit_code, 0) << tool << " " << args << ": " << r.err;
    try {
      return r.out.empty() ? cni::json::array() : cni::json::parse(r.out);
    } catch (const cni::json::exception&) {
      ADD_FAILURE() << tool << " -j " << args << " printed no JSON: " << r.out;
      return cni::json::array();
    }
  }

  std::optional<test::TempNetns> node_;
  std::optional<cni::nl::Handle> h_;
  int ul_index_ = 0;
};

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_BACKEND_TEST_FIXTURE_H_
