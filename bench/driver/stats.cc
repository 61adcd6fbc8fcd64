#include "bench/driver/stats.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

namespace linen::bench {
namespace {

double Rank(const std::vector<double>& sorted, double pct) {
  // Nearest rank: the smallest sample with at least pct% of samples at or below it.
  size_t k = static_cast<size_t>(std::ceil(pct / 100.0 * static_cast<double>(sorted.size())));
  if (k == 0) k = 1;
  return sorted[std::min(k, sorted.size()) - 1];
}

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

}  // namespace

Summary Summarize(std::vector<double> s) {
  Summary r;
  r.n = s.size();
  if (s.empty()) return r;
  std::sort(s.begin(), s.end());
  r.p50 = Rank(s, 50);
  r.p90 = Rank(s, 90);
  r.p99 = Rank(s, 99);
  r.max = s.back();
  r.mean = std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(s.size());
  return r;
}

void Report::Series(const std::string& name, const std::vector<double>& ms) {
  Summary s = Summarize(ms);
  char buf[256];
  std::snprintf(buf, sizeof(buf), " n=%-5zu p50 %8.2f  p90 %8.2f  p99 %8.2f  max %8.2f ms",
                s.n, s.p50, s.p90, s.p99, s.max);
  rows_.push_back({name, buf, name + ".n=" + std::to_string(s.n) + "\n" + name + ".p50=" +
                            Fmt("%.3f", s.p50) + "\n" + name + ".p90=" + Fmt("%.3f", s.p90) +
                            "\n" + name + ".p99=" + Fmt("%.3f", s.p99) + "\n" + name +
                            ".max=" + Fmt("%.3f", s.max)});
  if (!dir_.empty()) {
    std::ofstream f(dir_ + "/" + name + ".dat");
    for (double v : ms) f << Fmt("%.4f", v) << "\n";
  }
}

void Report::Value(const std::string& name, double v, const std::string& unit) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), " %12.3f %s", v, unit.c_str());
  rows_.push_back({name, buf, name + "=" + Fmt("%.3f", v)});
}

void Report::Text(const std::string& name, const std::string& v) {
  // Not through a fixed buffer: a text (density's per-bucket p50s) can be long.
  std::string text = " " + std::string(v.size() < 12 ? 12 - v.size() : 0, ' ') + v;
  rows_.push_back({name, text, name + "=" + v});
}

void Report::Ratio(const std::string& name, double v, const std::string& op, double target) {
  bool pass = (op == "<=") ? v <= target : v >= target;
  char buf[256];
  std::snprintf(buf, sizeof(buf), " %12.3f   target %s %.3f  %s", v,
                op.c_str(), target, pass ? "PASS" : "MISS");
  rows_.push_back({name, buf, name + "=" + Fmt("%.4f", v) + "\n" + name + ".target=" + op +
                            Fmt("%.3f", target) + "\n" + name + ".pass=" +
                            (pass ? "1" : "0")});
}

void Report::Count(const std::string& name, long v) {
  if (v != 0) ++bad_counts_;
  char buf[256];
  std::snprintf(buf, sizeof(buf), " %12ld   %s", v, v == 0 ? "ok" : "BAD");
  rows_.push_back({name, buf, name + "=" + std::to_string(v)});
}

void Report::Flush(const std::string& title) {
  std::printf("== %s\n", title.c_str());
  // Names padded to the longest one (at least 34), so the figures line up.
  int width = 34;
  for (const auto& r : rows_) width = std::max(width, static_cast<int>(r.name.size()));
  for (const auto& r : rows_) std::printf("  %-*s%s\n", width, r.name.c_str(), r.text.c_str());
  std::fflush(stdout);
  if (!dir_.empty()) {
    std::ofstream f(dir_ + "/summary.txt", std::ios::app);
    for (const auto& r : rows_) f << r.kv << "\n";
  }
  rows_.clear();
}

}  // namespace linen::bench
