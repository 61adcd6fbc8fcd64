// The socket itself: which namespace it lives in, moves, and error mapping.
#include "libcni/netlink/handle.h"

#include <gtest/gtest.h>
#include <netlink/errno.h>

#include <cerrno>

#include "libcni/netlink/netlink_test_fixture.h"
#include "libcni/netlink/nl_error.h"

namespace cni::nl {
namespace {

TEST_F(NetlinkTest, OpenInStaysBoundAfterSwitchingBack) {
  // h_ was opened inside ns_ and the thread has long since switched back.
  auto cur = NetNs::Current();
  ASSERT_TRUE(cur);
  EXPECT_FALSE(cur->SameAs(ns_->ns()));
  ASSERT_TRUE(h_->CreateBridge({.name = "bound0"}));
  EXPECT_EQ(Ip("link show dev bound0").size(), 1u);
  EXPECT_NE(linen::test::Sh("ip link show dev bound0 2>/dev/null").exit_code, 0);
}

TEST_F(NetlinkTest, OpenUsesCallingThreadsNamespace) {
  Result<Handle> h = RunInNetns(ns_->ns(), [] { return Handle::Open(); });
  ASSERT_TRUE(h) << h.error().msg();
  ASSERT_TRUE(h->CreateBridge({.name = "cur0"}));
  EXPECT_EQ(Ip("link show dev cur0").size(), 1u);
}

TEST_F(NetlinkTest, MovedHandleKeepsWorking) {
  Handle moved(std::move(*h_));
  ASSERT_TRUE(moved.CreateBridge({.name = "mv0"}));
  auto again = Handle::OpenIn(ns_->ns());
  ASSERT_TRUE(again);
  Handle assigned = std::move(again).value();
  assigned = std::move(moved);
  EXPECT_TRUE(assigned.LinkByName("mv0"));
}

TEST(NlErrorTest, KernelErrnoMapping) {
  Error exists = KernelError("create veth a<->b", -EEXIST);
  EXPECT_EQ(exists.msg(), "create veth a<->b: Object exists");
  EXPECT_TRUE(exists.IsExists());
  EXPECT_TRUE(KernelError("x", ENODEV).IsNotFound());
  EXPECT_TRUE(KernelError("x", ENOENT).IsNotFound());
  EXPECT_TRUE(KernelError("x", ESRCH).IsNotFound());
  EXPECT_EQ(KernelError("x", EBUSY).code(), Code::kTryAgainLater);
  EXPECT_EQ(KernelError("x", EINVAL).code(), Code::kInternal);
  Error with_ack = KernelError("add route", EINVAL, "Nexthop has invalid gateway");
  EXPECT_EQ(with_ack.msg(), "add route: Invalid input data or parameter (Nexthop has invalid gateway)");
}

TEST(NlErrorTest, LibnlCodeMapping) {
  EXPECT_TRUE(LibnlError("x", -NLE_OBJ_NOTFOUND).IsNotFound());
  EXPECT_TRUE(LibnlError("x", -NLE_NODEV).IsNotFound());
  EXPECT_TRUE(LibnlError("x", -NLE_EXIST).IsExists());
  EXPECT_EQ(LibnlError("x", -NLE_BUSY).code(), Code::kTryAgainLater);
  EXPECT_EQ(LibnlError("x", -NLE_DUMP_INTR).code(), Code::kTryAgainLater);
  EXPECT_EQ(LibnlError("x", -NLE_NOMEM).code(), Code::kInternal);
}

}  // namespace
}  // namespace cni::nl
