#include "overlay/plugin/node_context.h"

#include <fstream>

#include <gtest/gtest.h>

#include "overlay/backend/subnet_env.h"
#include "test/support/test_support.h"

namespace linen::overlay {
namespace {

// STATUS's view of linend in agent mode: only a fresh mark that says ready is ready.
TEST(CheckAgentReady, FollowsTheReadinessMark) {
  test::TempDir dir;
  MetaConf m;
  m.subnet_file = dir.path() + "/subnet.env";
  const std::string mark = ReadyMarkPath(m.subnet_file);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1764646861));

  auto none = CheckAgentReady(m, now);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), cni::Code::kNotAvailable);
  EXPECT_EQ(none.error().msg(), "no readiness mark " + mark + ": is linend running on this node?");

  ASSERT_TRUE(WriteReadyMark(mark, {true, "", now + std::chrono::seconds(30)}));
  EXPECT_TRUE(CheckAgentReady(m, now));
  EXPECT_TRUE(CheckAgentReady(m, now + std::chrono::seconds(30)));

  // Past its time: linend died (SIGKILL, crash) or its loop is stuck.
  auto stale = CheckAgentReady(m, now + std::chrono::seconds(42));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), cni::Code::kNotAvailable);
  EXPECT_NE(stale.error().msg().find("went stale 12 s ago"), std::string::npos)
      << stale.error().msg();

  ASSERT_TRUE(WriteReadyMark(mark, {false, "subnet file not written", now + std::chrono::seconds(30)}));
  auto not_ready = CheckAgentReady(m, now);
  ASSERT_FALSE(not_ready);
  EXPECT_EQ(not_ready.error().code(), cni::Code::kNotAvailable);
  EXPECT_EQ(not_ready.error().msg(), "linend is not ready: subnet file not written");

  { std::ofstream(mark) << "garbage\n"; }
  auto bad = CheckAgentReady(m, now);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), cni::Code::kNotAvailable);
}

}  // namespace
}  // namespace linen::overlay
