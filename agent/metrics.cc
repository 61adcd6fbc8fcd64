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

void Metrics::SetReady(bool ready) { std::lock_guard l(mu_); ready_ = ready; }
void Metrics::SetPeers(int n) { std::lock_guard l(mu_); peers_ = n; }
void Metrics::SetRegistryUp(bool up) { std::lock_guard l(mu_); registry_up_ = up; }
void Metrics::IncWatchRestarts() { std::lock_guard l(mu_); ++watch_restarts_; }

void Metrics::SetLeaseExpiry(std::chrono::system_clock::time_point t) {
  std::lock_guard l(mu_);
  lease_expiry_ = Seconds(t);
}

void Metrics::ObserveReconcile(std::chrono::nanoseconds took, bool ok) {
  std::lock_guard l(mu_);
  last_reconcile_seconds_ = std::chrono::duration<double>(took).count();
  reconcile_seconds_sum_ += last_reconcile_seconds_;
  ++reconciles_;
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

bool Metrics::ready() const { std::lock_guard l(mu_); return ready_; }

std::string Metrics::HealthText() const {
  std::lock_guard l(mu_);
  if (!ready_) return "starting\n";
  if (!registry_up_) return "ok (degraded: registry unreachable, data path kept)\n";
  return "ok\n";
}

std::string Metrics::RenderPrometheus() const {
  std::lock_guard l(mu_);
  std::string out;
  Metric(out, "linend_ready", "gauge", "1 once this node's lease and backend are set up.",
         ready_ ? "1" : "0");
  Metric(out, "linend_peers", "gauge", "Peers currently programmed into the data path.",
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
         "could not program, by reason.\n"
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
  return out;
}

}  // namespace linen::agent
