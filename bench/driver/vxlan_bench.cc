#include "bench/driver/vxlan_bench.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "bench/driver/proc.h"
#include "libcni/ip_net.h"
#include "libcni/netlink/handle.h"
#include "overlay/backend/backend.h"
#include "overlay/registry/registry.h"
#include "test/support/test_support.h"

namespace linen::bench {
namespace {

using overlay::NodeLease;

const cni::IpAddr kSelfIp = *cni::IpAddr::Parse("192.168.255.254");

overlay::LocalNode Self() {
  overlay::LocalNode n;
  n.self.name = "self";
  n.self.node_ip = kSelfIp;
  n.self.subnet = *cni::IpNet::Parse("10.128.0.0/24");
  n.self.vtep_mac = overlay::DeriveVtepMac(kSelfIp);
  n.cluster.network = *cni::IpNet::Parse("10.128.0.0/9");
  n.cluster.backend = overlay::BackendType::kVxlan;
  n.underlay = "ul0";
  return n;
}

// Peer i: node IP 192.168.<i/250>.<i%250+1>, subnet the (i+1)-th /24 of 10.128/9.
NodeLease Peer(int i) {
  NodeLease p;
  p.name = "peer" + std::to_string(i);
  p.node_ip = cni::IpAddr::FromV4((192u << 24) | (168u << 16) |
                                  (static_cast<uint32_t>(i / 250) << 8) |
                                  static_cast<uint32_t>(i % 250 + 1));
  p.subnet = {cni::IpAddr::FromV4(((10u << 24) | (128u << 16)) + (static_cast<uint32_t>(i + 1) << 8)),
              24};
  p.vtep_mac = overlay::DeriveVtepMac(p.node_ip);
  return p;
}

// A moved peer: same subnet, new node IP (so a new VTEP MAC): its neighbour changes,
// its FDB entry is replaced by another; its route stays.
NodeLease Moved(const NodeLease& p, int rep) {
  NodeLease m = p;
  m.node_ip = cni::IpAddr::FromV4((192u << 24) | (168u << 16) | (200u << 8) |
                                  static_cast<uint32_t>(rep % 250 + 1));
  m.vtep_mac = overlay::DeriveVtepMac(m.node_ip);
  return m;
}

// A node namespace with an underlay veth holding the node IP and the VTEP made by
// the backend itself, so baseline and ours program the very same device.
struct VxNode {
  test::TempNetns ns;
  std::unique_ptr<cni::nl::Handle> h;
  std::unique_ptr<overlay::Backend> backend;
  int vtep = 0;
};

cni::Result<VxNode> MakeNode() {
  auto ns = test::TempNetns::Create("lbx");
  if (!ns) return ns.error();
  auto h = cni::nl::Handle::OpenIn(ns->ns());
  if (!h) return h.error();
  VxNode n{std::move(*ns), std::make_unique<cni::nl::Handle>(std::move(*h)), nullptr, 0};
  if (auto s = n.h->CreateVeth({.name = "ul0", .peer_name = "ul0p", .peer_ns = nullptr, .mtu = 0, .mac = "", .peer_mac = ""}); !s) return s.error();
  auto ul = n.h->LinkByName("ul0");
  auto ulp = n.h->LinkByName("ul0p");
  if (!ul || !ulp) return cni::Error(cni::Code::kInternal, "underlay veth missing");
  if (auto s = n.h->AddAddr(ul->index, *cni::IpNet::Parse("192.168.255.254/16")); !s) {
    return s.error();
  }
  if (auto s = n.h->SetUp(ulp->index); !s) return s.error();
  if (auto s = n.h->SetUp(ul->index); !s) return s.error();
  n.backend = overlay::NewBackend(*n.h, Self());
  auto setup = n.backend->EnsureNode();
  if (!setup) return setup.error().Context("EnsureNode");
  auto dev = n.h->LinkByName(overlay::VxlanDeviceName(1));
  if (!dev) return dev.error();
  n.vtep = dev->index;
  return n;
}

// Entries actually in the kernel: permanent neighbours and remote FDB entries on the
// VTEP, routes through it.
struct Counts {
  long neighs = 0, fdbs = 0, routes = 0;
};

Counts CountEntries(VxNode& n) {
  Counts c;
  if (auto v = n.h->ListNeighs(n.vtep, cni::Family::kV4)) {
    for (const auto& e : *v) c.neighs += (e.state & 0x80) != 0;
  }
  if (auto v = n.h->ListFdb(n.vtep)) {
    for (const auto& e : *v) c.fdbs += e.dst.has_value();
  }
  if (auto v = n.h->ListRoutes(cni::Family::kV4)) {
    for (const auto& e : *v) c.routes += e.oif == n.vtep;
  }
  return c;
}

cni::Result<double> Exec(VxNode& n, std::vector<std::string> argv) {
  ExecSpec s;
  s.argv = std::move(argv);
  s.env = {{"PATH", "/usr/sbin:/usr/bin"}};
  s.netns_fd = n.ns.ns().fd();
  auto r = Run(s);
  if (!r) return r.error();
  if (r->exit_code != 0) {
    return cni::Error(cni::Code::kInternal, s.argv[0] + " exited " +
                                                std::to_string(r->exit_code) + ": " + r->err);
  }
  return r->ms;
}

std::string Dev() { return overlay::VxlanDeviceName(1); }

void ReportCounts(Report& rep, const std::string& tag, const Counts& c, long want) {
  rep.Count("vxlan." + tag + ".missing_neighs", want - c.neighs);
  rep.Count("vxlan." + tag + ".missing_fdbs", want - c.fdbs);
  rep.Count("vxlan." + tag + ".missing_routes", want - c.routes);
}

// The same entries as `bridge -batch` (FDB) and `ip -batch` (neighbours, then routes).
void WriteBatches(const std::vector<NodeLease>& peers, const std::string& ip_file,
                  const std::string& br_file) {
  {
    std::ofstream ip(ip_file), br(br_file);
    for (const auto& p : peers) {
      std::string gw = p.subnet.Network().ToString();
      ip << "neigh replace " << gw << " lladdr " << p.vtep_mac << " dev " << Dev()
         << " nud permanent\n";
      br << "fdb replace " << p.vtep_mac << " dev " << Dev() << " dst "
         << p.node_ip.ToString() << " self permanent\n";
    }
    for (const auto& p : peers) {
      ip << "route replace " << p.subnet.ToString() << " via " << p.subnet.Network().ToString()
         << " dev " << Dev() << " onlink\n";
    }
  }
}

// Every peer from nothing on `n`, timed: the baseline's two batch processes...
cni::Result<double> ProgramBaseline(VxNode& n, const std::vector<NodeLease>& peers) {
  test::TempDir dir;
  const std::string ip_file = dir.path() + "/ip.batch", br_file = dir.path() + "/bridge.batch";
  WriteBatches(peers, ip_file, br_file);
  auto t_br = Exec(n, {"/usr/sbin/bridge", "-batch", br_file});
  if (!t_br) return t_br.error();
  auto t_ip = Exec(n, {"/usr/sbin/ip", "-batch", ip_file});
  if (!t_ip) return t_ip.error();
  return *t_br + *t_ip;
}

// ...or one Reconcile of our backend.
cni::Result<double> ProgramOurs(VxNode& n, const std::vector<NodeLease>& peers) {
  double t0 = NowNs();
  auto st = n.backend->Reconcile(peers);
  if (!st) return st.error().Context("Reconcile");
  return (NowNs() - t0) / 1e6;
}

// Programming every peer from nothing on a fresh node, once more for each side, so the
// ratio is a median of interleaved runs rather than of one run each.
bool ProgramAllAgain(const std::vector<NodeLease>& peers, bool ours, double* ms) {
  auto n = MakeNode();
  if (!n) return std::fprintf(stderr, "vxlan node: %s\n", n.error().msg().c_str()), false;
  auto t = ours ? ProgramOurs(*n, peers) : ProgramBaseline(*n, peers);
  if (!t) return std::fprintf(stderr, "%s\n", t.error().msg().c_str()), false;
  *ms = *t;
  return true;
}

bool Baseline(const VxlanBenchOptions& opt, const std::vector<NodeLease>& peers, Report& rep,
              double* all_ms, std::vector<double>* change_ms) {
  auto n = MakeNode();
  if (!n) return std::fprintf(stderr, "baseline node: %s\n", n.error().msg().c_str()), false;
  auto t = ProgramBaseline(*n, peers);
  if (!t) return std::fprintf(stderr, "baseline batch: %s\n", t.error().msg().c_str()), false;
  *all_ms = *t;
  ReportCounts(rep, "iproute2", CountEntries(*n), static_cast<long>(peers.size()));
  // One peer moves: what an operator would type, three processes.
  for (int r = 0; r < opt.reps; ++r) {
    const NodeLease& old = peers[(static_cast<size_t>(r) * 997) % peers.size()];
    NodeLease m = Moved(old, r);
    auto a = Exec(*n, {"/usr/sbin/ip", "neigh", "replace", m.subnet.Network().ToString(), "lladdr",
                       m.vtep_mac, "dev", Dev(), "nud", "permanent"});
    auto b = Exec(*n, {"/usr/sbin/bridge", "fdb", "replace", m.vtep_mac, "dev", Dev(), "dst",
                       m.node_ip.ToString(), "self", "permanent"});
    auto c = Exec(*n, {"/usr/sbin/bridge", "fdb", "del", old.vtep_mac, "dev", Dev(), "self"});
    if (!a || !b || !c) return std::fprintf(stderr, "baseline change failed\n"), false;
    change_ms->push_back(*a + *b + *c);
    // Put it back (untimed) so the next repetition starts from the same state.
    (void)Exec(*n, {"/usr/sbin/ip", "neigh", "replace", old.subnet.Network().ToString(),
                    "lladdr", old.vtep_mac, "dev", Dev(), "nud", "permanent"});
    (void)Exec(*n, {"/usr/sbin/bridge", "fdb", "del", m.vtep_mac, "dev", Dev(), "self"});
    (void)Exec(*n, {"/usr/sbin/bridge", "fdb", "replace", old.vtep_mac, "dev", Dev(), "dst",
                    old.node_ip.ToString(), "self", "permanent"});
  }
  return true;
}

bool Ours(const VxlanBenchOptions& opt, std::vector<NodeLease> peers, Report& rep, double* all_ms,
          std::vector<double>* change_ms, std::vector<double>* noop_ms,
          std::vector<double>* noop_update_ms) {
  auto n = MakeNode();
  if (!n) return std::fprintf(stderr, "linen node: %s\n", n.error().msg().c_str()), false;
  auto t = ProgramOurs(*n, peers);
  if (!t) return std::fprintf(stderr, "%s\n", t.error().msg().c_str()), false;
  *all_ms = *t;
  ReportCounts(rep, "linen", CountEntries(*n), static_cast<long>(peers.size()));

  long noop_ops = 0, extra_ops = 0;
  double t0 = 0;
  for (int r = 0; r < opt.reps; ++r) {
    t0 = NowNs();
    auto s = n->backend->Reconcile(peers);
    noop_ms->push_back((NowNs() - t0) / 1e6);
    if (!s) return std::fprintf(stderr, "no-op Reconcile: %s\n", s.error().msg().c_str()), false;
    noop_ops += s->ops();
  }
  // Update with nothing changed: the userspace cost of diffing 5,000 peers.
  for (int r = 0; r < opt.reps; ++r) {
    t0 = NowNs();
    auto s = n->backend->Update(peers);
    noop_update_ms->push_back((NowNs() - t0) / 1e6);
    if (!s) return std::fprintf(stderr, "no-op Update: %s\n", s.error().msg().c_str()), false;
    noop_ops += s->ops();
  }
  for (int r = 0; r < opt.reps; ++r) {
    size_t k = (static_cast<size_t>(r) * 997) % peers.size();
    NodeLease old = peers[k];
    peers[k] = Moved(old, r);
    // What linend does on a peer event: Update, which diffs against what it applied
    // last instead of dumping 15,000 entries back from the kernel.
    t0 = NowNs();
    auto s = n->backend->Update(peers);
    change_ms->push_back((NowNs() - t0) / 1e6);
    if (!s) return std::fprintf(stderr, "change Update: %s\n", s.error().msg().c_str()), false;
    // Neighbour replaced, new FDB entry, old FDB entry deleted: exactly three
    // requests (fewer means the change did not reach the kernel).
    extra_ops += std::abs(s->ops() - 3);
    peers[k] = old;
    auto back = n->backend->Update(peers);  // untimed: restore
    if (!back) return false;
  }
  rep.Count("vxlan.linen.noop_ops", noop_ops);
  rep.Count("vxlan.linen.change_one_ops_not_3", extra_ops);
  auto check = n->backend->Check(peers);
  rep.Count("vxlan.linen.check_failed", check ? 0 : 1);
  if (!check) std::fprintf(stderr, "Check: %s\n", check.error().msg().c_str());
  return true;
}

}  // namespace

bool RunVxlanBench(const VxlanBenchOptions& opt, Report& rep) {
  std::vector<NodeLease> peers;
  for (int i = 0; i < opt.peers; ++i) peers.push_back(Peer(i));
  double base_all = 0, ours_all = 0;
  std::vector<double> base_change, ours_change, ours_noop, ours_noop_update;
  if (!Baseline(opt, peers, rep, &base_all, &base_change)) return false;
  if (!Ours(opt, peers, rep, &ours_all, &ours_change, &ours_noop, &ours_noop_update)) {
    return false;
  }
  // More from-nothing runs on fresh nodes, alternating who goes first; medians count.
  std::vector<double> base_alls{base_all}, ours_alls{ours_all};
  for (int r = 1; r < opt.program_rounds; ++r) {
    for (bool ours : {r % 2 == 1, r % 2 == 0}) {
      double ms = 0;
      if (!ProgramAllAgain(peers, ours, &ms)) return false;
      (ours ? ours_alls : base_alls).push_back(ms);
    }
  }
  base_all = Summarize(base_alls).p50;
  ours_all = Summarize(ours_alls).p50;
  rep.Series("vxlan.program_all_runs.iproute2_batch", base_alls);
  rep.Series("vxlan.program_all_runs.linen", ours_alls);
  rep.Value("vxlan.program_all.iproute2_batch", base_all, "ms");
  rep.Value("vxlan.program_all.linen", ours_all, "ms");
  rep.Series("vxlan.change_one.iproute2_3procs", base_change);
  rep.Series("vxlan.change_one.linen", ours_change);
  rep.Series("vxlan.noop_reconcile.linen", ours_noop);
  rep.Series("vxlan.noop_update.linen", ours_noop_update);
  if (base_all > 0) rep.Ratio("ratio.vxlan_program_all", ours_all / base_all, "<=", 1.0);
  rep.Ratio("vxlan.change_one_p50_ms", Summarize(ours_change).p50, "<=", 2.0);
  rep.Ratio("vxlan.noop_reconcile_p50_ms", Summarize(ours_noop).p50, "<=", 50.0);
  return true;
}

}  // namespace linen::bench
