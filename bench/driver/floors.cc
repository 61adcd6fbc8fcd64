#include "bench/driver/floors.h"

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
  if (auto s = nh->SetUp(br->index); !s) return s.error();
  return Floors(std::move(*node), std::move(*pod), std::move(*nh), std::move(*ph), br->index);
}

cni::Status Floors::MakePodVeth() {
  const cni::NetNs& pod_ns = pod_.ns();
  if (auto s = node_h_.CreateVeth({.name = "bveth0", .peer_name = "eth0", .peer_ns = &pod_ns, .mtu = 0, .mac = "", .peer_mac = ""});
      !s) {
    return s;
  }
  auto host = node_h_.LinkByName("bveth0");
  if (!host) return host.error();
  if (auto s = node_h_.SetMaster(host->index, bridge_); !s) return s;
  if (auto s = node_h_.SetUp(host->index); !s) return s;
  auto peer = pod_h_.LinkByName("eth0");
  if (!peer) return peer.error();
  return pod_h_.SetUp(peer->index);
}

cni::Result<double> Floors::TrueExec() { return TimedExec({"/usr/bin/true"}, -1); }

cni::Result<double> Floors::IpExec() {
  return TimedExec({"/usr/sbin/ip", "link", "show", "lo"}, node_.ns().fd());
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

}  // namespace linen::bench
