// linend's counters and gauges, updated by the agent loop and read by the HTTP
// thread; every method takes one short lock.
#ifndef LINEN_AGENT_METRICS_H_
#define LINEN_AGENT_METRICS_H_

#include <chrono>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "overlay/backend/backend.h"

namespace linen::agent {

class Metrics {
 public:
  void SetReady(bool ready);
  void SetPeers(int n);
  void SetRegistryUp(bool up);
  void SetLeaseExpiry(std::chrono::system_clock::time_point t);  // epoch 0 = none
  void ObserveReconcile(std::chrono::nanoseconds took, bool ok);
  void SetLastError(const std::string& msg);  // "" clears
  void IncWatchRestarts();
  // The peers the last reconcile could not program: linend_peer_failures{reason=...},
  // one series per PeerFailureReason, 0 when none.
  void SetPeerFailures(const std::vector<overlay::PeerFailure>& failures);

  // Prometheus text exposition format 0.0.4.
  std::string RenderPrometheus() const;
  // /healthz: 200 once the node is set up; the body says what is degraded.
  bool ready() const;
  std::string HealthText() const;

 private:
  mutable std::mutex mu_;
  bool ready_ = false;
  int peers_ = 0;
  bool registry_up_ = false;
  double lease_expiry_ = 0;
  double last_reconcile_seconds_ = 0;
  double reconcile_seconds_sum_ = 0;
  uint64_t reconciles_ = 0;
  uint64_t reconcile_errors_ = 0;
  uint64_t watch_restarts_ = 0;
  std::string last_error_;
  double last_error_time_ = 0;
  int peer_failures_[std::size(overlay::kAllPeerFailureReasons)] = {};
};

// A Prometheus label value: valid UTF-8 (a stray byte becomes U+FFFD), at most
// kMaxLabelBytes of it (then an ellipsis), backslash, quote and newline escaped.
inline constexpr size_t kMaxLabelBytes = 256;
std::string EscapeLabel(const std::string& v);

}  // namespace linen::agent

#endif  // LINEN_AGENT_METRICS_H_
