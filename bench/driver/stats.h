// Latency samples and the table every bench mode prints: p50/p90/p99/max per series,
// raw samples written one per line for gnuplot, and a key=value summary file that
// run.sh and docs/performance.md are built from.
#ifndef LINEN_BENCH_DRIVER_STATS_H_
#define LINEN_BENCH_DRIVER_STATS_H_

#include <cstdio>
#include <string>
#include <vector>

namespace linen::bench {

struct Summary {
  size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

// Nearest-rank percentiles; an empty series gives zeros.
Summary Summarize(std::vector<double> samples);

// Collects everything one bench run reports; Flush() prints it and writes files.
class Report {
 public:
  // `dir` empty: print only.
  explicit Report(std::string dir) : dir_(std::move(dir)) {}

  // A latency series (ms); written to <dir>/<name>.dat.
  void Series(const std::string& name, const std::vector<double>& ms);
  // A single figure with its unit.
  void Value(const std::string& name, double v, const std::string& unit);
  // A ratio against a target: "name = v (target op t) PASS/MISS".
  void Ratio(const std::string& name, double v, const std::string& op, double target);
  // A fact about the run's conditions (e.g. the store's filesystem).
  void Text(const std::string& name, const std::string& v);
  // A correctness count that must be zero (leaks, duplicates, failures).
  void Count(const std::string& name, long v);

  long failures() const { return bad_counts_; }
  // Where the files go ("" = nowhere), for modes writing their own tables.
  const std::string& dir() const { return dir_; }
  // Prints the table to stdout and appends key=value lines to <dir>/summary.txt.
  void Flush(const std::string& title);

 private:
  struct Row { std::string name; std::string text; std::string kv; };  // text follows the name
  std::string dir_;
  std::vector<Row> rows_;
  long bad_counts_ = 0;
};

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_STATS_H_
