#include "agent/metrics.h"

#include <charconv>

namespace linen::agent {
namespace {

double Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The shortest text that reads back as exactly `v` (durations).
std::string Num(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Epoch seconds to the millisecond, in plain digits ("%.9g" rounded them to tens of
// seconds: 1.7e+09).
std::string Timestamp(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 3);
  std::string s(buf, r.ptr);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// Length of the valid UTF-8 sequence starting at s[i], 0 if it is not one.
size_t Utf8Len(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  // Overlong forms and surrogates are not valid either.
  const auto c1 = static_cast<unsigned char>(n > 1 ? s[i + 1] : 0);
  if ((n == 2 && c < 0xc2) || (n == 3 && c == 0xe0 && c1 < 0xa0) ||
      (n == 3 && c == 0xed && c1 >= 0xa0) || (n == 4 && c == 0xf0 && c1 < 0x90) ||
      (n == 4 && (c > 0xf4 || (c == 0xf4 && c1 >= 0x90)))) {
    return 0;
  }
  return n;
}

void Metric(std::string& out, const char* name, const char* type, const char* help,
            const std::string& value, const std::string& labels = "") {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += labels;
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::string EscapeLabel(const std::string& v) {
  std::string out;
  size_t kept = 0;
  for (size_t i = 0; i < v.size();) {
    size_t n = Utf8Len(v, i);
    // Prometheus label values must be UTF-8: a stray byte becomes U+FFFD.
    const std::string ch = n == 0 ? std::string("\xef\xbf\xbd") : v.substr(i, n);
    i += n == 0 ? 1 : n;
    if (kept + ch.size() > kMaxLabelBytes) {
      out += "\xe2\x80\xa6";  // an ellipsis: the value was cut
      break;
    }
    kept += ch.size();
    if (ch == "\\") out += "\\\\";
    else if (ch == "\"") out += "\\\"";
    else if (ch == "\n") out += "\\n";
    else out += ch;
  }
  return out;
}

// How long the loop may go without a turn before /healthz fails; Agent sets its own.
constexpr std::chrono::milliseconds kDefaultStallLimit{30000};

Metrics::Metrics() : last_beat_(std::chrono::steady_clock::now()), stall_limit_(kDefaultStallLimit) {}

void Metrics::Heartbeat(SteadyTime now) { std::lock_guard l(mu_); last_beat_ = now; }
void Metrics::SetStallLimit(std::chrono::milliseconds limit) {
  std::lock_guard l(mu_);
  stall_limit_ = limit;
}
std::chrono::milliseconds Metrics::stall_limit() const {
  std::lock_guard l(mu_);
  return stall_limit_;
}

bool Metrics::Live(SteadyTime now) const {
  std::lock_guard l(mu_);
  return now - last_beat_ <= stall_limit_;
}

std::string Metrics::HealthText(SteadyTime now) const {
  std::lock_guard l(mu_);
  if (now - last_beat_ > stall_limit_) {
    auto secs = [](auto d) {
      return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count());
    };
    return "stuck: the agent loop has not turned for " + secs(now - last_beat_) +
           " s (limit " + secs(stall_limit_) + " s)\n";
  }
  if (!registry_up_ && leased_) return "ok (degraded: registry unreachable, data path kept)\n";
  return "ok\n";
}

void Metrics::SetLeased(bool leased) { std::lock_guard l(mu_); leased_ = leased; }
void Metrics::SetSubnetFileWritten(bool written) {
  std::lock_guard l(mu_);
  subnet_file_written_ = written;
}

bool Metrics::ReadyLocked() const {
  return leased_ && subnet_file_written_ && reconciles_ > 0 && last_reconcile_ok_;
}

std::string Metrics::NotReadyReasonLocked() const {
  std::string why = !leased_              ? "no subnet leased"
                    : !subnet_file_written_ ? "subnet file not written"
                    : reconciles_ == 0      ? "peers not reconciled yet"
                    : !last_reconcile_ok_   ? "the last reconcile did not program every peer"
                                            : "";
  if (!why.empty() && !last_error_.empty()) why += " (last error: " + last_error_ + ")";
  return why;
}

bool Metrics::ready() const { std::lock_guard l(mu_); return ReadyLocked(); }
std::string Metrics::NotReadyReason() const {
  std::lock_guard l(mu_);
  return NotReadyReasonLocked();
}
std::string Metrics::ReadyText() const {
  std::lock_guard l(mu_);
  return ReadyLocked() ? "ok\n" : "not ready: " + NotReadyReasonLocked() + "\n";
}

void Metrics::SetPeers(int n) { std::lock_guard l(mu_); peers_ = n; }
void Metrics::SetRegistryUp(bool up) { std::lock_guard l(mu_); registry_up_ = up; }
void Metrics::IncWatchRestarts() { std::lock_guard l(mu_); ++watch_restarts_; }

void Metrics::SetRejectedLeases(const std::vector<overlay::RejectedLease>& rejected) {
  std::lock_guard l(mu_);
  rejected_.clear();
  for (const auto& r : rejected) rejected_.emplace_back(r.key, r.reason);
}

void Metrics::SetLeaseExpiry(std::chrono::system_clock::time_point t) {
  std::lock_guard l(mu_);
  lease_expiry_ = Seconds(t);
}

void Metrics::ObserveReconcile(std::chrono::nanoseconds took, bool ok) {
  std::lock_guard l(mu_);
  last_reconcile_seconds_ = std::chrono::duration<double>(took).count();
  reconcile_seconds_sum_ += last_reconcile_seconds_;
  ++reconciles_;
  last_reconcile_ok_ = ok;
  if (!ok) ++reconcile_errors_;
}

void Metrics::SetPeerFailures(const std::vector<overlay::PeerFailure>& failures) {
  std::lock_guard l(mu_);
  for (int& n : peer_failures_) n = 0;
  for (const overlay::PeerFailure& f : failures) ++peer_failures_[static_cast<size_t>(f.reason)];
}

void Metrics::SetLastError(const std::string& msg) {
  std::lock_guard l(mu_);
  last_error_ = msg;
  last_error_time_ = msg.empty() ? 0 : Seconds(std::chrono::system_clock::now());
}

std::string Metrics::RenderPrometheus() const {
  std::lock_guard l(mu_);
  std::string out;
  Metric(out, "linend_ready", "gauge",
         "1 while /readyz is 200: subnet leased, subnet.env written, last reconcile complete.",
         ReadyLocked() ? "1" : "0");
  Metric(out, "linend_peers", "gauge",
         "Valid peer leases known (linend_peer_failures counts those not programmed).",
         std::to_string(peers_));
  Metric(out, "linend_registry_up", "gauge", "1 when the registry answered the last request.",
         registry_up_ ? "1" : "0");
  Metric(out, "linend_lease_expiry_timestamp_seconds", "gauge",
         "When this node's lease expires unless renewed (0: no expiry).", Timestamp(lease_expiry_));
  out += "# HELP linend_reconcile_duration_seconds Time spent bringing the data path in line.\n"
         "# TYPE linend_reconcile_duration_seconds summary\n";
  out += "linend_reconcile_duration_seconds_sum " + Num(reconcile_seconds_sum_) + "\n";
  out += "linend_reconcile_duration_seconds_count " + std::to_string(reconciles_) + "\n";
  Metric(out, "linend_last_reconcile_duration_seconds", "gauge",
         "Duration of the most recent reconcile.", Num(last_reconcile_seconds_));
  Metric(out, "linend_reconcile_errors_total", "counter", "Reconciles that failed.",
         std::to_string(reconcile_errors_));
  Metric(out, "linend_watch_restarts_total", "counter",
         "Times the peer watch was lost and the peer set re-read.",
         std::to_string(watch_restarts_));
  out += "# HELP linend_peer_failures Peers (or departed peers' entries) the last reconcile "
         "could not program, by reason; a dual-stack peer counts once per failing family.\n"
         "# TYPE linend_peer_failures gauge\n";
  for (overlay::PeerFailureReason r : overlay::kAllPeerFailureReasons) {
    out += "linend_peer_failures{reason=\"" + std::string(overlay::PeerFailureName(r)) + "\"} " +
           std::to_string(peer_failures_[static_cast<size_t>(r)]) + "\n";
  }
  Metric(out, "linend_last_error_timestamp_seconds", "gauge",
         "When the last error happened (0: none since the last success).",
         Timestamp(last_error_time_));
  Metric(out, "linend_last_error", "gauge", "The last error, as a label (empty: none).", "1",
         "{message=\"" + EscapeLabel(last_error_) + "\"}");
  out += "# HELP linend_rejected_leases Peer leases rejected by validation and not programmed, "
         "by reason.\n# TYPE linend_rejected_leases gauge\n";
  for (overlay::RejectReason reason : overlay::kAllRejectReasons) {
    size_t n = 0;
    for (const auto& [key, r] : rejected_) n += r == reason ? 1 : 0;
    out += std::string("linend_rejected_leases{reason=\"") + overlay::RejectReasonName(reason) +
           "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP linend_rejected_lease A rejected peer lease by key (the first " +
         std::to_string(kMaxRejectedSeries) + " by key).\n# TYPE linend_rejected_lease gauge\n";
  for (size_t i = 0; i < rejected_.size() && i < kMaxRejectedSeries; ++i) {
    out += "linend_rejected_lease{key=\"" + EscapeLabel(rejected_[i].first) + "\",reason=\"" +
           overlay::RejectReasonName(rejected_[i].second) + "\"} 1\n";
  }
  return out;
}

}  // namespace linen::agent
