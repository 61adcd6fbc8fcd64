#include "agent/node_ip.h"

namespace linen::agent {

cni::Result<cni::IpAddr> ResolveNodeIp(cni::nl::Handle& h, const std::string& iface,
                                       const std::string& public_ip) {
  if (!public_ip.empty()) return cni::ParseIpField("--public-ip", public_ip);
  auto link = h.LinkByName(iface);
  if (!link) {
    return cni::Error(cni::Code::kBackendNotReady,
                      "underlay interface \"" + iface + "\": " + link.error().msg());
  }
  auto addrs = h.ListAddrs(link->index);
  if (!addrs) return addrs.error().Context("addresses of " + iface);
  for (const auto& a : *addrs) {
    if (a.addr.addr.is_v4() && a.scope == 0) return a.addr.addr;
  }
  return cni::Error(cni::Code::kBackendNotReady,
                    "underlay interface \"" + iface + "\" has no IPv4 address (give --public-ip?)");
}

}  // namespace linen::agent
