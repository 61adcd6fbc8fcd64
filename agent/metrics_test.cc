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
  EXPECT_NE(t.find("linend_lease_expiry_timestamp_seconds 1700000000\n"), std::string::npos) << t;
  EXPECT_NE(t.find("linend_last_error{message=\"route \\\"x\\\"\\nfailed\"} 1"), std::string::npos)
      << t;
  EXPECT_NE(t.find("# TYPE linend_peers gauge"), std::string::npos);
  EXPECT_EQ(m.HealthText(), "ok\n");
  m.SetRegistryUp(false);
  EXPECT_NE(m.HealthText().find("degraded"), std::string::npos);
}

// Every reason has its series, 0 when no peer failed for it; the label values are the
// fixed reason names, never the failure's text.
TEST(Metrics, PeerFailuresByReason) {
  Metrics m;
  std::string t = m.RenderPrometheus();
  for (overlay::PeerFailureReason r : overlay::kAllPeerFailureReasons) {
    EXPECT_NE(t.find("\nlinend_peer_failures{reason=\"" + std::string(overlay::PeerFailureName(r)) +
                     "\"} 0\n"),
              std::string::npos)
        << t;
  }
  overlay::PeerFailure f;
  f.peer = "node2";
  f.reason = overlay::PeerFailureReason::kForeignRoute;
  f.detail = "a route \"x\" that linen does not own";
  overlay::PeerFailure g = f;
  g.peer = "node3";
  overlay::PeerFailure h = f;
  h.reason = overlay::PeerFailureReason::kKernelRefused;
  m.SetPeerFailures({f, g, h});
  t = m.RenderPrometheus();
  EXPECT_NE(t.find("\nlinend_peer_failures{reason=\"foreign_route\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\nlinend_peer_failures{reason=\"kernel_refused\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\nlinend_peer_failures{reason=\"not_on_link\"} 0\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("does not own"), std::string::npos) << t;
  m.SetPeerFailures({});
  EXPECT_NE(m.RenderPrometheus().find("linend_peer_failures{reason=\"foreign_route\"} 0\n"),
            std::string::npos);
}

// Timestamps keep their sub-second digits (%.9g printed 1.7e+09, tens of seconds).
TEST(Metrics, TimestampsAtFullPrecision) {
  Metrics m;
  m.SetLeaseExpiry(std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000123250)));
  EXPECT_NE(m.RenderPrometheus().find("linend_lease_expiry_timestamp_seconds 1700000123.25\n"),
            std::string::npos)
      << m.RenderPrometheus();
}

// Label values are bounded and valid UTF-8 whatever the error text held.
TEST(Metrics, LabelValuesAreBoundedUtf8) {
  EXPECT_EQ(EscapeLabel("caf\xc3\xa9 \xff\xfe ok"), "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd ok");
  EXPECT_EQ(EscapeLabel("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong '/'
  EXPECT_EQ(EscapeLabel("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  const std::string long_msg(1000, 'x');
  std::string e = EscapeLabel(long_msg);
  EXPECT_EQ(e, std::string(kMaxLabelBytes, 'x') + "\xe2\x80\xa6");
  // A multi-byte character is never cut in half at the limit.
  std::string e2 = EscapeLabel(std::string(kMaxLabelBytes - 1, 'x') + "\xc3\xa9");
  EXPECT_EQ(e2, std::string(kMaxLabelBytes - 1, 'x') + "\xe2\x80\xa6");
}

}  // namespace
}  // namespace linen::agent
