#include "plugins/bridge/container_config.h"

#include <optional>

namespace bridge {

using cni::Code;
using cni::Error;

namespace {

constexpr int kScopeLink = 253;  // RT_SCOPE_LINK

// Sysctls under /proc/sys/net resolve against the calling thread's namespace, so
// they are written while switched into the pod.
cni::Status PodSysctls(const cni::NetNs& ns, const std::string& ifname, bool has_v6,
                       bool enable_dad) {
  auto sw = cni::ScopedNetnsSwitch::Enter(ns);
  if (!sw) return sw.error();
  const std::string v6 = "net/ipv6/conf/";
  if (has_v6) {
    for (const std::string& dev : {std::string("lo"), ifname}) {
      auto cur = cni::ReadSysctl(v6 + dev + "/disable_ipv6");
      if (!cur || *cur == "0") continue;
      if (auto s = cni::WriteSysctl(v6 + dev + "/disable_ipv6", "0"); !s) {
        return s.error().Context("failed to enable IPv6 for interface \"" + dev + "\"");
      }
    }
    if (auto s = cni::WriteSysctl(v6 + ifname + "/keep_addr_on_down", "1"); !s) {
      return s.error().Context("failed to enable keep_addr_on_down for interface \"" + ifname +
                               "\"");
    }
  }
  // Best effort as the reference: a pod without IPv6 has no such files.
  if (enable_dad) {
    (void)cni::WriteSysctl(v6 + ifname + "/enhanced_dad", "1");
    (void)cni::WriteSysctl(v6 + ifname + "/accept_dad", "1");
  } else {
    (void)cni::WriteSysctl(v6 + ifname + "/accept_dad", "0");
  }
  (void)cni::WriteSysctl("net/ipv4/conf/" + ifname + "/arp_notify", "1");
  return cni::OkStatus();
}

}  // namespace

std::vector<cni::nl::RouteInfo> ContainerRoutes(const cni::AddResult& result, int oif) {
  std::optional<cni::IpAddr> gw4, gw6;
  for (const cni::IpConfig& ipc : result.ips) {
    if (!ipc.gateway) continue;
    auto& slot = ipc.gateway->is_v4() ? gw4 : gw6;
    if (!slot) slot = ipc.gateway;
  }
  std::vector<cni::nl::RouteInfo> out;
  for (const cni::Route& r : result.routes) {
    cni::nl::RouteInfo ri;
    ri.dst = r.dst.Masked();
    ri.gw = r.gw ? r.gw : (r.dst.addr.is_v4() ? gw4 : gw6);
    ri.oif = oif;
    if (r.priority) ri.priority = static_cast<uint32_t>(*r.priority);
    if (r.table) ri.table = *r.table;
    if (r.scope) {
      ri.scope = *r.scope;
    } else if (!ri.gw) {
      ri.scope = kScopeLink;
    }
    out.push_back(ri);
  }
  return out;
}

cni::Status ConfigureContainer(cni::nl::Handle& container, const cni::NetNs& ns,
                               const cni::nl::LinkInfo& link, const cni::AddResult& result,
                               bool enable_dad) {
  bool has_v6 = false;
  for (const cni::IpConfig& ipc : result.ips) has_v6 |= !ipc.address.addr.is_v4();
  if (auto s = PodSysctls(ns, link.name, has_v6, enable_dad); !s) return s;

  for (const cni::IpConfig& ipc : result.ips) {
    if (auto s = container.AddAddr(link.index, ipc.address); !s) {
      return s.error().Context("failed to add IP addr " + ipc.address.ToString() + " to \"" +
                               link.name + "\"");
    }
  }
  if (auto s = container.SetUp(link.index); !s) {
    return s.error().Context("failed to set \"" + link.name + "\" UP");
  }
  for (const cni::nl::RouteInfo& r : ContainerRoutes(result, link.index)) {
    auto s = container.AddRoute(r);
    // The same route twice from IPAM is not worth failing the pod for.
    if (!s && !s.error().IsExists()) {
      return s.error().Context("failed to add route '" + r.dst.ToString() + " via " +
                               (r.gw ? r.gw->ToString() : std::string("<nil>")) + " dev " +
                               link.name + "'");
    }
  }
  return cni::OkStatus();
}

}  // namespace bridge
