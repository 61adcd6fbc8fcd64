// linen_bench: the benchmark driver. Wiring only; the modes live in their own files.
//   linen_bench cni   --impl ref=/usr/lib/cni --impl linen=<build>/cni-bin [--seq N]
//                     [--par N] [--rss N] [--out DIR]
//   linen_bench vxlan [--peers N] [--out DIR]
// Exit status: 0 when every measured run succeeded with no leak and no duplicate,
// 1 when a count is bad, 2 when the harness could not set up.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "bench/driver/cni_bench.h"
#include "bench/driver/stats.h"
#include "bench/driver/vxlan_bench.h"

int main(int argc, char** argv) {
  CLI::App app{"linen benchmarks: our plugins and the reference ones through one harness"};
  app.require_subcommand(1);
  std::string out_dir;
  app.add_option("--out", out_dir, "directory for samples (*.dat) and summary.txt");

  linen::bench::CniBenchOptions cni;
  std::vector<std::string> impls;
  auto* c = app.add_subcommand("cni", "bridge + host-local ADD/DEL latency, parallel, RSS, leaks");
  c->add_option("--impl", impls, "label=CNI_PATH dir (first one is the reference)")->required();
  c->add_option("--seq", cni.sequential, "sequential ADDs then DELs per implementation");
  c->add_option("--par", cni.parallel, "pods ADDed (then DELed) all at once; 0 = skip");
  c->add_option("--rss", cni.rss_runs, "traced ADDs for plugin-alone peak RSS; 0 = skip");
  c->add_option("--ipmasq", cni.ip_masq, "ipMasq in the bridge config (default true)");
  c->add_option("--store-root", cni.store_root,
                "directory the host-local stores are made in (default /dev/shm, a tmpfs)");

  linen::bench::VxlanBenchOptions vx;
  auto* v = app.add_subcommand("vxlan", "vxlan backend: programming N peers vs ip/bridge -batch");
  v->add_option("--peers", vx.peers, "synthetic peers");
  v->add_option("--reps", vx.reps, "repetitions of the single-peer change and no-op reconcile");
  v->add_option("--program-rounds", vx.program_rounds,
                "from-nothing runs per side, interleaved; the median counts (default 5)");

  CLI11_PARSE(app, argc, argv);

  // Hundreds of namespaces and memfds are open at once in the parallel runs.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  linen::bench::Report report(out_dir);
  bool ok = true;
  if (c->parsed()) {
    for (const auto& s : impls) {
      auto eq = s.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::fprintf(stderr, "--impl wants label=dir, got %s\n", s.c_str());
        return 2;
      }
      cni.impls.push_back({s.substr(0, eq), s.substr(eq + 1)});
    }
    ok = linen::bench::RunCniBench(cni, report);
    report.Flush("cni: bridge(isGateway, ipMasq) + host-local");
  } else if (v->parsed()) {
    ok = linen::bench::RunVxlanBench(vx, report);
    report.Flush("vxlan backend scale");
  }
  if (!ok) return 2;
  return report.failures() == 0 ? 0 : 1;
}
