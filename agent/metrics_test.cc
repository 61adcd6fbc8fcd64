#include "agent/metrics.h"

#include <gtest/gtest.h>

namespace linen::agent {
namespace {

TEST(Metrics, PrometheusText) {
  Metrics m;
  EXPECT_FALSE(m.ready());
  m.SetLeased(true);
  m.SetSubnetFileWritten(true);
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

// /healthz is about the loop turning, nothing else: alive while starting, dead once
// the last heartbeat is older than the stall limit.
TEST(Metrics, LivenessFollowsTheHeartbeat) {
  Metrics m;
  m.SetStallLimit(std::chrono::seconds(30));
  const auto t0 = std::chrono::steady_clock::now();
  m.Heartbeat(t0);
  EXPECT_TRUE(m.Live(t0));
  EXPECT_EQ(m.HealthText(t0), "ok\n") << "alive while not set up yet";
  EXPECT_FALSE(m.ready());
  EXPECT_TRUE(m.Live(t0 + std::chrono::seconds(30)));
  const auto late = t0 + std::chrono::seconds(42);
  EXPECT_FALSE(m.Live(late));
  EXPECT_EQ(m.HealthText(late), "stuck: the agent loop has not turned for 42 s (limit 30 s)\n");
  m.Heartbeat(late);
  EXPECT_TRUE(m.Live(late));
}

// /readyz names the first missing condition; linend_ready says the same.
TEST(Metrics, ReadinessNamesWhatIsMissing) {
  Metrics m;
  auto gauge = [&] {
    std::string t = m.RenderPrometheus();
    return t.find("\nlinend_ready 1\n") != std::string::npos ? 1
           : t.find("\nlinend_ready 0\n") != std::string::npos ? 0 : -1;
  };
  EXPECT_EQ(m.ReadyText(), "not ready: no subnet leased\n");
  m.SetLastError("etcd unreachable");
  EXPECT_EQ(m.NotReadyReason(), "no subnet leased (last error: etcd unreachable)");
  m.SetLastError("");
  m.SetLeased(true);
  EXPECT_EQ(m.NotReadyReason(), "subnet file not written");
  m.SetSubnetFileWritten(true);
  EXPECT_EQ(m.NotReadyReason(), "peers not reconciled yet");
  EXPECT_EQ(gauge(), 0);
  m.ObserveReconcile(std::chrono::milliseconds(1), true);
  EXPECT_TRUE(m.ready());
  EXPECT_EQ(m.ReadyText(), "ok\n");
  EXPECT_EQ(m.NotReadyReason(), "");
  EXPECT_EQ(gauge(), 1);
  // One peer not programmed: not ready until a reconcile programs them all.
  m.ObserveReconcile(std::chrono::milliseconds(1), false);
  EXPECT_FALSE(m.ready());
  EXPECT_EQ(m.ReadyText(), "not ready: the last reconcile did not program every peer\n");
  EXPECT_EQ(gauge(), 0);
  m.ObserveReconcile(std::chrono::milliseconds(1), true);
  EXPECT_TRUE(m.ready());
  // A lost lease, or a subnet file that could not be written, is not ready either.
  m.SetLeased(false);
  EXPECT_FALSE(m.ready());
  m.SetLeased(true);
  m.SetSubnetFileWritten(false);
  EXPECT_EQ(m.NotReadyReason(), "subnet file not written");
  EXPECT_EQ(gauge(), 0);
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

// Dual-stack: the backend reports a peer once per family it failed in (its subnet of
// that family), and each counts, so an IPv6-only failure is visible beside a
// programmed IPv4 half.
TEST(Metrics, PeerFailuresCountEachFamily) {
  Metrics m;
  overlay::PeerFailure v4;
  v4.peer = "node2";
  v4.subnet = *cni::IpNet::Parse("10.244.2.0/24");
  v4.reason = overlay::PeerFailureReason::kForeignRoute;
  overlay::PeerFailure v6 = v4;
  v6.subnet = *cni::IpNet::Parse("fd00:10:244:2::/64");
  m.SetPeerFailures({v6});
  EXPECT_NE(m.RenderPrometheus().find("\nlinend_peer_failures{reason=\"foreign_route\"} 1\n"),
            std::string::npos);
  m.SetPeerFailures({v4, v6});
  EXPECT_NE(m.RenderPrometheus().find("\nlinend_peer_failures{reason=\"foreign_route\"} 2\n"),
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

TEST(Metrics, RejectedLeasesByReasonAndKey) {
  Metrics m;
  std::string t = m.RenderPrometheus();
  // Every reason is present from the start, at 0.
  for (overlay::RejectReason r : overlay::kAllRejectReasons) {
    EXPECT_NE(t.find(std::string("linend_rejected_leases{reason=\"") +
                     overlay::RejectReasonName(r) + "\"} 0\n"),
              std::string::npos)
        << t;
  }
  EXPECT_EQ(t.find("linend_rejected_lease{"), std::string::npos) << t;
  using overlay::RejectReason;
  m.SetRejectedLeases({{"/p/subnets/10.99.0.0-24", RejectReason::kOutsideNetwork, "d", "v"},
                       {"/p/subnets/10.244.7.0-26", RejectReason::kWrongLength, "d", "v"},
                       {"/p/subnets/\"odd\xff", RejectReason::kUndecodable, "d", "v"},
                       {"/p/subnets/10.98.0.0-24", RejectReason::kOutsideNetwork, "d", "v"}});
  t = m.RenderPrometheus();
  EXPECT_NE(t.find("linend_rejected_leases{reason=\"outside_network\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("linend_rejected_leases{reason=\"wrong_length\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("linend_rejected_leases{reason=\"own_ip\"} 0\n"), std::string::npos) << t;
  EXPECT_NE(t.find("linend_rejected_lease{key=\"/p/subnets/10.99.0.0-24\",reason=\"outside_network\"} 1\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("linend_rejected_lease{key=\"/p/subnets/\\\"odd\xef\xbf\xbd\",reason=\"undecodable\"} 1\n"),
            std::string::npos) << t;
  // Cleared: the per-lease series go, the counts return to 0.
  m.SetRejectedLeases({});
  t = m.RenderPrometheus();
  EXPECT_EQ(t.find("linend_rejected_lease{"), std::string::npos) << t;
  EXPECT_NE(t.find("linend_rejected_leases{reason=\"outside_network\"} 0\n"), std::string::npos) << t;
}

TEST(Metrics, RejectedLeaseSeriesAreCapped) {
  Metrics m;
  std::vector<overlay::RejectedLease> many;
  for (size_t i = 0; i < kMaxRejectedSeries + 50; ++i) {
    many.push_back({"k" + std::to_string(i), overlay::RejectReason::kWrongLength, "", ""});
  }
  m.SetRejectedLeases(many);
  std::string t = m.RenderPrometheus();
  size_t series = 0;
  for (size_t p = t.find("linend_rejected_lease{"); p != std::string::npos;
       p = t.find("linend_rejected_lease{", p + 1)) {
    ++series;
  }
  EXPECT_EQ(series, kMaxRejectedSeries);
  EXPECT_NE(t.find("linend_rejected_leases{reason=\"wrong_length\"} " +
                   std::to_string(kMaxRejectedSeries + 50) + "\n"),
            std::string::npos);
}

}  // namespace
}  // namespace linen::agent
