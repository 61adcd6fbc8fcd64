#include "plugins/bridge/container_config.h"

#include <optional>

namespace bridge {

using cni::Code;
using cni::Error;

namespace {

constexpr int kScopeLink = 253;  // RT_SCOPE_LINK

// The pod's IPv6 settings. Sysctls under /proc/sys/net resolve against the calling
// thread's namespace, so they are written while switched into the pod. An IPv4-only
// pod gets none of them: it has no IPv6 address for DAD to apply to, and each
// /proc/sys/net open walks a dentry chain that grows with the pods on the node.
cni::Status PodIpv6Sysctls(const cni::NetNs& ns, const std::string& ifname, bool enable_dad) {
  auto sw = cni::ScopedNetnsSwitch::Enter(ns);
  if (!sw) return sw.error();
  const std::string v6 = "net/ipv6/conf/";
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
  // Best effort as the reference.
  if (enable_dad) {
    (void)cni::WriteSysctl(v6 + ifname + "/enhanced_dad", "1");
    (void)cni::WriteSysctl(v6 + ifname + "/accept_dad", "1");
  } else {
    (void)cni::WriteSysctl(v6 + ifname + "/accept_dad", "0");
  }
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
  if (has_v6) {
    if (auto s = PodIpv6Sysctls(ns, link.name, enable_dad); !s) return s;
  } else {
    // An IPv4-only pod has no IPv6 to speak, and an IPv6 link-local address would
    // cost a DAD probe, MLD reports and router solicitations, each flooded by the
    // bridge to every other pod's port: with 1,000 pods the biggest per-pod cost on
    // the node (docs/performance.md). Best effort, before the link comes up.
    (void)container.SetNoIpv6LinkLocal(link.index);
  }
  // Announce the pod's address when the link comes up. Best effort as the
  // reference; through netlink, so it costs no /proc/sys lookup.
  (void)container.SetArpNotify(link.index, true);

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
