#include "bench/driver/floors.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "bench/driver/proc.h"

namespace linen::bench {
namespace {

cni::Result<double> TimedExec(std::vector<std::string> argv, int netns_fd) {
  ExecSpec spec;
  spec.argv = std::move(argv);
  spec.env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}};
  spec.netns_fd = netns_fd;
  auto r = Run(spec);
  if (!r) return r.error();
  if (r->exit_code != 0) {
    return cni::Error(cni::Code::kInternal, spec.argv[0] + " exited " +
                                                std::to_string(r->exit_code) + ": " + r->err);
  }
  return r->ms;
}

}  // namespace

cni::Result<Floors> Floors::Create() {
  auto node = test::TempNetns::Create("lbf");
  if (!node) return node.error();
  auto pod = test::TempNetns::Create("lbp");
  if (!pod) return pod.error();
  auto nh = cni::nl::Handle::OpenIn(node->ns());
  if (!nh) return nh.error();
  auto ph = cni::nl::Handle::OpenIn(pod->ns());
  if (!ph) return ph.error();
  if (auto s = nh->CreateBridge({.name = "br0", .mtu = 0, .mac = ""}); !s) return s.error();
  auto br = nh->LinkByName("br0");
  if (!br) return br.error();
  if (auto s = nh->AddAddr(br->index, *cni::IpNet::Parse("10.99.0.1/16")); !s) return s.error();
  if (auto s = nh->SetUp(br->index); !s) return s.error();
  return Floors(std::move(*node), std::move(*pod), std::move(*nh), std::move(*ph), br->index);
}

cni::Status Floors::MakePodVeth() { return MakePodVethIn(pod_, pod_h_, "bveth0"); }

cni::Status Floors::MakePodVethIn(const test::TempNetns& pod, cni::nl::Handle& pod_h,
                                  const std::string& host_name) {
  // On the bridge from the request that creates it, as linen's bridge does: the
  // least a plugin can do.
  if (auto s = node_h_.CreateVeth({.name = host_name, .peer_name = "eth0", .peer_ns = &pod.ns(),
                                   .master_index = bridge_});
      !s) {
    return s;
  }
  auto host = node_h_.LinkByName(host_name);
  if (!host) return host.error();
  if (auto s = node_h_.SetUp(host->index); !s) return s;
  auto peer = pod_h.LinkByName("eth0");
  if (!peer) return peer.error();
  // Dressed as a plugin leaves it: an address and a default route via the gateway,
  // whose removal is part of the kernel's work on delete.
  if (auto s = pod_h.AddAddr(peer->index, *cni::IpNet::Parse("10.99.0.2/16")); !s) return s;
  if (auto s = pod_h.SetUp(peer->index); !s) return s;
  cni::nl::RouteInfo def;
  def.dst = *cni::IpNet::Parse("0.0.0.0/0");
  def.gw = cni::IpAddr::Parse("10.99.0.1");
  def.oif = peer->index;
  return pod_h.AddRoute(def);
}

cni::Result<double> Floors::TrueExec() { return TimedExec({"/usr/bin/true"}, -1); }

cni::Result<double> Floors::IpExec() {
  return TimedExec({"/usr/sbin/ip", "link", "show", "lo"}, node_.ns().fd());
}

cni::Result<double> Floors::PodSetupNetlink() {
  double t0 = NowNs();
  auto s = MakePodVeth();
  double t1 = NowNs();
  if (!s) return s.error();
  if (auto d = pod_h_.DeleteLink("eth0"); !d) return d.error();
  return (t1 - t0) / 1e6;
}

cni::Result<double> Floors::VethDeleteNetlink() {
  if (auto s = MakePodVeth(); !s) return s.error();
  double t0 = NowNs();
  auto s = pod_h_.DeleteLink("eth0");
  double t1 = NowNs();
  if (!s) return s.error();
  return (t1 - t0) / 1e6;
}

cni::Result<double> Floors::VethDeleteIp() {
  if (auto s = MakePodVeth(); !s) return s.error();
  return TimedExec({"/usr/sbin/ip", "link", "del", "eth0"}, pod_.ns().fd());
}

cni::Result<double> Floors::ParallelVethDelete(int n) {
  std::vector<test::TempNetns> pods;
  for (int i = 0; i < n; ++i) {
    auto pod = test::TempNetns::Create("lbq");
    if (!pod) return pod.error();
    auto h = cni::nl::Handle::OpenIn(pod->ns());
    if (!h) return h.error();
    if (auto s = MakePodVethIn(*pod, *h, "bpv" + std::to_string(i)); !s) return s.error();
    pods.push_back(std::move(*pod));
  }
  // The parent is single-threaded here, so a forked child may use netlink freely.
  std::set<pid_t> kids;
  double t0 = NowNs();
  for (const auto& pod : pods) {
    pid_t pid = fork();
    if (pid < 0) return cni::ErrnoError("fork", errno);
    if (pid == 0) {
      auto h = cni::nl::Handle::OpenIn(pod.ns());
      _exit(h && h->DeleteLink("eth0") ? 0 : 1);
    }
    kids.insert(pid);
  }
  int failed = 0;
  while (!kids.empty()) {
    int status = 0;
    pid_t p = waitpid(-1, &status, 0);
    if (p < 0 && errno == EINTR) continue;
    if (p < 0) return cni::ErrnoError("waitpid", errno);
    if (kids.erase(p) && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) ++failed;
  }
  double wall = (NowNs() - t0) / 1e6;
  if (failed) {
    return cni::Error(cni::Code::kInternal, std::to_string(failed) + " parallel veth deletes failed");
  }
  return wall;
}

}  // namespace linen::bench
