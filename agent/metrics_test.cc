#include "agent/metrics.h"

#include <gtest/gtest.h>

namespace linen::agent {
namespace {

TEST(Metrics, PrometheusText) {
  Metrics m;
  EXPECT_FALSE(m.ready());
  EXPECT_EQ(m.HealthText(), "starting\n");
  m.SetReady(true);
  m.SetRegistryUp(true);
  m.SetPeers(3);
  m.ObserveReconcile(std::chrono::milliseconds(2), true);
  m.ObserveReconcile(std::chrono::milliseconds(4), false);
  m.SetLeaseExpiry(std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)));
  m.SetLastError("route \"x\"\nfailed");
  std::string t = m.RenderPrometheus();
  EXPECT_NE(t.find("\nlinend_peers 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("linend_reconcile_duration_seconds_count 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("linend_reconcile_duration_seconds_sum 0.006\n"), std::string::npos) << t;
  EXPECT_NE(t.find("linend_reconcile_errors_total 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("linend_lease_expiry_timestamp_seconds 1.7e+09\n"), std::string::npos) << t;
  EXPECT_NE(t.find("linend_last_error{message=\"route \\\"x\\\"\\nfailed\"} 1"), std::string::npos)
      << t;
  EXPECT_NE(t.find("# TYPE linend_peers gauge"), std::string::npos);
  EXPECT_EQ(m.HealthText(), "ok\n");
  m.SetRegistryUp(false);
  EXPECT_NE(m.HealthText().find("degraded"), std::string::npos);
}

}  // namespace
}  // namespace linen::agent
