#include "agent/metrics.h"

#include <cstdio>

namespace linen::agent {
namespace {

double Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
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
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
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
         "When this node's lease expires unless renewed (0: no expiry).", Num(lease_expiry_));
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
  Metric(out, "linend_last_error_timestamp_seconds", "gauge",
         "When the last error happened (0: none since the last success).", Num(last_error_time_));
  Metric(out, "linend_last_error", "gauge", "The last error, as a label (empty: none).", "1",
         "{message=\"" + EscapeLabel(last_error_) + "\"}");
  return out;
}

}  // namespace linen::agent
