#include "bench/driver/density_bench.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/driver/cni_node.h"
#include "bench/driver/overlay_bench.h"
#include "bench/driver/proc.h"

namespace linen::bench {
namespace {

using nlohmann::json;

std::string DensityConf(const std::string& data, const std::string& subnet) {
  return MasqBridgeConf(data, subnet, /*default_route=*/false);
}

std::vector<double> Slice(const std::vector<double>& v, size_t from, size_t to) {
  to = std::min(to, v.size());
  from = std::min(from, to);
  return {v.begin() + static_cast<long>(from), v.begin() + static_cast<long>(to)};
}

// One implementation's node filled to `n` pods and emptied again. Samples are kept
// by pod index for ADD and DEL alike: pod i's ADD found i pods on the node, its DEL
// took the node from i+1 pods to i.
struct Samples {
  std::vector<double> add, del;
  // CPU (user + sys of the plugin and its children) per ADD and DEL: barely moved by
  // other load on the machine, so growth shows here even when wall times are noisy.
  std::vector<double> add_cpu, del_cpu;
  // An exec of /bin/true after each ADD: how fast the machine itself was at that
  // point, so that drift (other work on a shared host) can be told from growth.
  std::vector<double> floor;
  long add_fail = 0, del_fail = 0;
};

bool FillAndEmpty(Node& node, int n, Report& rep, Samples& s) {
  const std::string& tag = node.impl.label;
  std::vector<Pod> pods;
  pods.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    if (Interrupted()) return false;
    auto p = MakePod(node.impl, i);
    if (!p) return std::fprintf(stderr, "%s\n", p.error().msg().c_str()), false;
    pods.push_back(std::move(*p));
  }
  s.add.assign(static_cast<size_t>(n), 0);
  s.del.assign(static_cast<size_t>(n), 0);
  s.add_cpu.assign(static_cast<size_t>(n), 0);
  s.del_cpu.assign(static_cast<size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    if (Interrupted()) return false;
    auto r = Add(node, pods[static_cast<size_t>(i)], false);
    if (!r) return std::fprintf(stderr, "%s\n", r.error().msg().c_str()), false;
    if (r->exit_code != 0 && s.add_fail++ == 0) PrintFailure(tag + " ADD", *r);
    s.add[static_cast<size_t>(i)] = r->ms;
    s.add_cpu[static_cast<size_t>(i)] = r->cpu_ms;
    ExecSpec t;
    t.argv = {"/usr/bin/true"};
    auto f = Run(t);
    if (!f) return std::fprintf(stderr, "%s\n", f.error().msg().c_str()), false;
    s.floor.push_back(f->ms);
  }
  CheckAdds(rep, "density." + tag, pods);
  for (int i = n - 1; i >= 0; --i) {
    if (Interrupted()) return false;
    auto r = Del(node, pods[static_cast<size_t>(i)]);
    if (!r) return std::fprintf(stderr, "%s\n", r.error().msg().c_str()), false;
    if (r->exit_code != 0 && s.del_fail++ == 0) PrintFailure(tag + " DEL", *r);
    s.del[static_cast<size_t>(i)] = r->ms;
    s.del_cpu[static_cast<size_t>(i)] = r->cpu_ms;
  }
  rep.Count("fail.density_add." + tag, s.add_fail);
  rep.Count("fail.density_del." + tag, s.del_fail);
  ReportLeaks(rep, "density." + tag, FindLeaks(node, pods));
  return true;
}

// p50 per bucket of pods, ADD and DEL aligned on the node's population:
// "<first pod> <last pod> <ADD p50 ms> <DEL p50 ms>", pods counted from 1.
void WriteBuckets(Report& rep, const std::string& tag, const Samples& s, size_t bucket) {
  std::string line;
  std::ofstream f;
  if (!rep.dir().empty()) {
    f.open(rep.dir() + "/density_buckets." + tag + ".dat");
    f << "# pods_from pods_to add_p50_ms del_p50_ms add_cpu_p50_ms del_cpu_p50_ms"
         " (ADD of pod i found i-1 pods; its DEL left i-1)\n";
  }
  for (size_t from = 0; from < s.add.size(); from += bucket) {
    size_t to = std::min(from + bucket, s.add.size());
    double a = Summarize(Slice(s.add, from, to)).p50, d = Summarize(Slice(s.del, from, to)).p50;
    double ac = Summarize(Slice(s.add_cpu, from, to)).p50;
    double dc = Summarize(Slice(s.del_cpu, from, to)).p50;
    if (f.is_open()) {
      f << from + 1 << " " << to << " " << a << " " << d << " " << ac << " " << dc << "\n";
    }
    char buf[48];
    std::snprintf(buf, sizeof(buf), "%s%.2f/%.2f", line.empty() ? "" : " ", a, d);
    line += buf;
  }
  rep.Text("density." + tag + ".add/del_p50_by_" + std::to_string(bucket), line);
}

// Fills `node` to `n` pods and empties it; reports its series and ratios under its
// label. The reference's figures stand beside ours; the targets are linen's.
bool Measure(Node& node, int n, bool is_ref, const DensityBenchOptions& opt, Report& rep) {
  if (!WarmUp(node)) {
    std::fprintf(stderr, "%s: warm-up ADD/DEL failed\n", node.impl.label.c_str());
    return false;
  }
  Samples s;
  if (!FillAndEmpty(node, n, rep, s)) return false;
  const std::string& tag = node.impl.label;
  // Compare the first and the last bucket; with fewer than two buckets' worth of
  // pods (smoke runs), halves.
  const size_t b = std::min(static_cast<size_t>(std::max(opt.bucket, 1)),
                            static_cast<size_t>(std::max(n / 2, 1)));
  const size_t sz = static_cast<size_t>(n);
  rep.Value("density." + tag + ".pods", n, "pods");
  rep.Series("density.add." + tag, s.add);
  rep.Series("density.del." + tag, s.del);
  auto add_first = Slice(s.add, 0, b), add_last = Slice(s.add, sz - b, sz);
  auto del_full = Slice(s.del, sz - b, sz), del_empty = Slice(s.del, 0, b);
  rep.Series("density.add_first." + tag, add_first);
  rep.Series("density.add_last." + tag, add_last);
  rep.Series("density.del_full." + tag, del_full);    // the first DELs: node nearly full
  rep.Series("density.del_empty." + tag, del_empty);  // the last DELs: node nearly empty
  WriteBuckets(rep, tag, s, b);
  double ff = Summarize(Slice(s.floor, 0, b)).p50, fl = Summarize(Slice(s.floor, sz - b, sz)).p50;
  if (ff > 0) {
    rep.Value("density.floor_true_exec_last_over_first." + tag, fl / ff, "x (machine drift)");
  }
  double af = Summarize(add_first).p50, al = Summarize(add_last).p50;
  double df = Summarize(del_full).p50, de = Summarize(del_empty).p50;
  // The same comparison in CPU time, beside the wall-time targets.
  auto cpu_ratio = [&](const std::vector<double>& v, size_t a0, size_t b0) {
    double x = Summarize(Slice(v, a0, a0 + b)).p50, y = Summarize(Slice(v, b0, b0 + b)).p50;
    return x > 0 ? y / x : 0;
  };
  rep.Series("density.cpu.add_first." + tag, Slice(s.add_cpu, 0, b));
  rep.Series("density.cpu.add_last." + tag, Slice(s.add_cpu, sz - b, sz));
  rep.Series("density.cpu.del_full." + tag, Slice(s.del_cpu, sz - b, sz));
  rep.Series("density.cpu.del_empty." + tag, Slice(s.del_cpu, 0, b));
  rep.Value("density.cpu.add_last_over_first." + tag, cpu_ratio(s.add_cpu, 0, sz - b), "x");
  rep.Value("density.cpu.del_full_over_empty." + tag, cpu_ratio(s.del_cpu, 0, sz - b), "x");
  if (af <= 0 || de <= 0) return true;
  if (is_ref) {
    rep.Value("density.add_last_over_first." + tag, al / af, "x");
    rep.Value("density.del_full_over_empty." + tag, df / de, "x");
  } else {
    rep.Ratio("ratio.density_add_last_over_first." + tag, al / af, "<=", 1.2);
    rep.Ratio("ratio.density_del_full_over_empty." + tag, df / de, "<=", 1.2);
  }
  return true;
}

}  // namespace

bool RunDensityBench(const DensityBenchOptions& opt, Report& rep) {
  // One implementation at a time, each alone on the machine: the other's 1,000 veths
  // and namespaces would otherwise weigh on global kernel structures (rtnl, sysfs) and
  // blur the very growth being measured.
  for (size_t k = 0; k < opt.impls.size(); ++k) {
    const Impl& impl = opt.impls[k];
    const bool is_ref = k == 0 && opt.impls.size() > 1;
    const int n = is_ref && opt.ref_pods >= 0 ? opt.ref_pods : opt.pods;
    if (n <= 0) continue;
    auto node = MakeNode(impl, true, opt.store_root);
    if (!node) return std::fprintf(stderr, "%s\n", node.error().msg().c_str()), false;
    node->conf = DensityConf(node->data->path(), opt.subnet);
    if (!Measure(*node, n, is_ref, opt, rep)) return false;
  }
  // The cross-node path on a node as full: linen's meta-plugin in static-topology
  // mode, whose ADD also reconciles the node's overlay state (routes, and for vxlan
  // the VTEP's FDB and neighbours) each time.
  if (!opt.overlay.empty() && !opt.impls.empty() && opt.pods > 0) {
    Impl linen = opt.impls.back();
    linen.label += "-" + opt.overlay + "-static";
    auto node = MakeStaticOverlayNode(linen, opt.overlay, opt.overlay_subnet_len, opt.store_root);
    if (!node) return std::fprintf(stderr, "%s\n", node.error().msg().c_str()), false;
    if (!Measure(*node, opt.pods, false, opt, rep)) return false;
  }
  return true;
}

}  // namespace linen::bench
