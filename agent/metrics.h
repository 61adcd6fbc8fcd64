// linend's counters and gauges, updated by the agent loop and read by the HTTP
// thread; every method takes one short lock.
#ifndef LINEN_AGENT_METRICS_H_
#define LINEN_AGENT_METRICS_H_

#include <chrono>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "overlay/backend/backend.h"
#include "overlay/registry/registry.h"

namespace linen::agent {

class Metrics {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  Metrics();

  // Liveness (/healthz): the agent loop records a heartbeat every turn; it is alive
  // while the last one is at most the stall limit old.
  void Heartbeat(SteadyTime now = std::chrono::steady_clock::now());
  void SetStallLimit(std::chrono::milliseconds limit);
  std::chrono::milliseconds stall_limit() const;
  bool Live(SteadyTime now = std::chrono::steady_clock::now()) const;
  // "ok" (noting a registry outage) or why the loop is considered stuck.
  std::string HealthText(SteadyTime now = std::chrono::steady_clock::now()) const;

  // Readiness (/readyz, linend_ready, the plugins' STATUS through the mark): a subnet
  // leased, subnet.env written, and the last reconcile programmed every valid peer.
  void SetLeased(bool leased);
  void SetSubnetFileWritten(bool written);
  bool ready() const;
  // Which condition is missing ("" when ready), with the last error if there is one.
  std::string NotReadyReason() const;
  std::string ReadyText() const;  // "ok" or "not ready: <reason>"

  void SetPeers(int n);
  void SetRegistryUp(bool up);
  void SetLeaseExpiry(std::chrono::system_clock::time_point t);  // epoch 0 = none
  void ObserveReconcile(std::chrono::nanoseconds took, bool ok);
  void SetLastError(const std::string& msg);  // "" clears
  void IncWatchRestarts();
  // The registry's current rejected leases: a count per reason (every reason always
  // present) and one series per lease, at most kMaxRejectedSeries of them.
  void SetRejectedLeases(const std::vector<overlay::RejectedLease>& rejected);
  // The peers the last reconcile could not program: linend_peer_failures{reason=...},
  // one series per PeerFailureReason, 0 when none.
  void SetPeerFailures(const std::vector<overlay::PeerFailure>& failures);

  // Prometheus text exposition format 0.0.4.
  std::string RenderPrometheus() const;

 private:
  bool ReadyLocked() const;
  std::string NotReadyReasonLocked() const;

  mutable std::mutex mu_;
  SteadyTime last_beat_;
  std::chrono::milliseconds stall_limit_;
  bool leased_ = false;
  bool subnet_file_written_ = false;
  bool last_reconcile_ok_ = false;
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
  std::vector<std::pair<std::string, overlay::RejectReason>> rejected_;  // key, reason
  int peer_failures_[std::size(overlay::kAllPeerFailureReasons)] = {};
};

// Per-lease rejection series are capped so a flood of stray keys cannot blow up
// the scrape; linend_rejected_leases still counts them all.
inline constexpr size_t kMaxRejectedSeries = 100;

// A Prometheus label value: valid UTF-8 (a stray byte becomes U+FFFD), at most
// kMaxLabelBytes of it (then an ellipsis), backslash, quote and newline escaped.
inline constexpr size_t kMaxLabelBytes = 256;
std::string EscapeLabel(const std::string& v);

}  // namespace linen::agent

#endif  // LINEN_AGENT_METRICS_H_
