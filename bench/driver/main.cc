// linen_bench: the benchmark driver. Wiring only; the modes live in their own files.
//   linen_bench cni   --impl ref=/usr/lib/cni --impl linen=<build>/cni-bin [--seq N]
//                     [--par N] [--rss N] [--out DIR]
//   linen_bench vxlan [--peers N] [--out DIR]
//   linen_bench overlay  --linen <build>/cni-bin [--ref /usr/lib/cni] [--seq N] [--par N]
//   linen_bench density  --impl ref=/usr/lib/cni --impl linen=<build>/cni-bin [--pods N]
//                        [--ref-pods N] [--bucket N]
//   linen_bench connrate --linen <build>/cni-bin [--few N] [--many N] [--seconds S]
//                        [--rounds N]
//   linen_bench portmap  --impl ref=/usr/lib/cni --impl linen=<build>/cni-bin [--pods N]
//                        [--existing N]
// Exit status: 0 when every measured run succeeded with no leak and no duplicate,
// 1 when a count is bad, 2 when the harness could not set up.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "bench/driver/cni_bench.h"
#include "bench/driver/connrate_bench.h"
#include "bench/driver/density_bench.h"
#include "bench/driver/overlay_bench.h"
#include "bench/driver/portmap_bench.h"
#include "bench/driver/proc.h"
#include "bench/driver/stats.h"
#include "bench/driver/vxlan_bench.h"

namespace {

// "label=dir" pairs into impls; false (printed) on a malformed one.
bool ParseImpls(const std::vector<std::string>& in, std::vector<linen::bench::Impl>* out) {
  for (const auto& s : in) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "--impl wants label=dir, got %s\n", s.c_str());
      return false;
    }
    out->push_back({s.substr(0, eq), s.substr(eq + 1)});
  }
  return true;
}

}  // namespace

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

  linen::bench::OverlayBenchOptions ov;
  auto* o = app.add_subcommand(
      "overlay", "host-gw/vxlan (agent and static) vs bridge alone vs the flannel reference chain");
  o->add_option("--linen", ov.linen_bin, "CNI_PATH with linen's host-gw, vxlan, bridge, host-local")
      ->required();
  o->add_option("--ref", ov.ref_bin, "CNI_PATH with the reference bridge and host-local");
  o->add_option("--seq", ov.sequential, "sequential ADDs then DELs per variant");
  o->add_option("--par", ov.parallel, "pods ADDed (then DELed) all at once; 0 = skip");
  o->add_option("--store-root", ov.store_root, "directory the node state is made in");

  linen::bench::DensityBenchOptions dn;
  std::vector<std::string> dn_impls;
  auto* d =
      app.add_subcommand("density", "ADD/DEL latency as one node fills to N pods and empties");
  d->add_option("--impl", dn_impls, "label=CNI_PATH dir (first one is the reference)")->required();
  d->add_option("--pods", dn.pods, "pods per implementation");
  d->add_option("--ref-pods", dn.ref_pods, "pods for the reference (default: --pods)");
  d->add_option("--bucket", dn.bucket, "pods per p50 bucket");
  d->add_option("--subnet", dn.subnet, "host-local range (default 10.88.0.0/22)");
  d->add_option("--store-root", dn.store_root, "directory the host-local stores are made in");
  d->add_option("--overlay", dn.overlay,
                "also fill a node through linen's vxlan or host-gw (static topology, a /22)")
      ->check(CLI::IsMember({"vxlan", "host-gw"}));

  linen::bench::ConnRateBenchOptions cr;
  cr.impl.label = "linen";
  auto* r = app.add_subcommand("connrate", "new TCP connections/s from a pod, few vs many pods");
  r->add_option("--linen", cr.impl.cni_path, "CNI_PATH with bridge and host-local")->required();
  r->add_option("--few", cr.few, "pods on the baseline node");
  r->add_option("--many", cr.many, "pods on the loaded node");
  r->add_option("--seconds", cr.seconds, "seconds per round");
  r->add_option("--rounds", cr.rounds, "rounds per node, alternating (medians compared)");
  r->add_option("--store-root", cr.store_root, "directory the host-local store is made in");

  linen::bench::PortmapBenchOptions pm;
  std::vector<std::string> pm_impls;
  auto* m = app.add_subcommand("portmap", "bridge + portmap (a hostPort per pod) ADD/DEL latency");
  m->add_option("--impl", pm_impls, "label=CNI_PATH dir with bridge, host-local, portmap")->required();
  m->add_option("--pods", pm.pods, "pods per implementation (each: bridge + portmap)");
  m->add_option("--existing", pm.existing, "mappings on the node before the loaded ADDs");
  m->add_option("--store-root", pm.store_root, "directory the host-local stores are made in");

  CLI11_PARSE(app, argc, argv);
  linen::bench::InstallInterruptHandlers();

  // Hundreds of namespaces and memfds are open at once in the parallel runs.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  linen::bench::Report report(out_dir);
  bool ok = true;
  if (c->parsed()) {
    if (!ParseImpls(impls, &cni.impls)) return 2;
    ok = linen::bench::RunCniBench(cni, report);
    report.Flush("cni: bridge(isGateway, ipMasq) + host-local");
  } else if (v->parsed()) {
    ok = linen::bench::RunVxlanBench(vx, report);
    report.Flush("vxlan backend scale");
  } else if (o->parsed()) {
    ok = linen::bench::RunOverlayBench(ov, report);
    report.Flush("overlay pod path: meta-plugins vs bridge alone vs reference chain");
  } else if (d->parsed()) {
    if (!ParseImpls(dn_impls, &dn.impls)) return 2;
    ok = linen::bench::RunDensityBench(dn, report);
    report.Flush("density: bridge(isGateway, ipMasq) + host-local, one node filled and emptied");
  } else if (r->parsed()) {
    ok = linen::bench::RunConnRateBench(cr, report);
    report.Flush("connrate: new TCP connections/s from a pod through masquerade");
  } else if (m->parsed()) {
    if (!ParseImpls(pm_impls, &pm.impls)) return 2;
    ok = linen::bench::RunPortmapBench(pm, report);
    report.Flush("portmap: bridge + portmap, one hostPort per pod");
  }
  if (linen::bench::Interrupted()) {
    std::fprintf(stderr, "linen_bench: interrupted; its namespaces and files are removed\n");
  }
  if (!ok) return 2;
  return report.failures() == 0 ? 0 : 1;
}
