#include "agent/node_ip.h"

#include <linux/if_addr.h>

namespace linen::agent {
namespace {

cni::Result<cni::IpAddr> Resolve(cni::nl::Handle& h, const std::string& iface,
                                 const std::string& given, cni::Family family) {
  const bool v4 = family == cni::Family::kV4;
  const char* flag = v4 ? "--public-ip" : "--public-ipv6";
  const char* fam = v4 ? "IPv4" : "IPv6";
  if (!given.empty()) {
    auto ip = cni::ParseIpField(flag, given);
    if (!ip) return ip.error();
    if (ip->family() != family) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        std::string(flag) + " " + given + " is not an " + fam + " address");
    }
    return ip;
  }
  if (iface.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      std::string("linend: no ") + fam + " node address: give " + flag +
                          " or --iface");
  }
  auto link = h.LinkByName(iface);
  if (!link) {
    return cni::Error(cni::Code::kBackendNotReady,
                      "underlay interface \"" + iface + "\": " + link.error().msg());
  }
  auto addrs = h.ListAddrs(link->index);
  if (!addrs) return addrs.error().Context("addresses of " + iface);
  for (const auto& a : *addrs) {
    if (a.addr.family() != family || a.scope != 0) continue;  // scope 0: global
    // An IPv6 address still in (or failed) duplicate address detection cannot be
    // bound to yet; it is the one to wait for, not to publish.
    if (!v4 && (a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) != 0) continue;
    return a.addr.addr;
  }
  return cni::Error(cni::Code::kBackendNotReady, "underlay interface \"" + iface + "\" has no " +
                                                     fam + " address (give " + flag + "?)");
}

}  // namespace

cni::Result<cni::IpAddr> ResolveNodeIp(cni::nl::Handle& h, const std::string& iface,
                                       const std::string& public_ip) {
  return Resolve(h, iface, public_ip, cni::Family::kV4);
}

cni::Result<cni::IpAddr> ResolveNodeIpv6(cni::nl::Handle& h, const std::string& iface,
                                         const std::string& public_ipv6,
                                         const cni::IpAddr& node_ip) {
  if (!iface.empty() || !public_ipv6.empty() || node_ip.IsUnspecified()) {
    return Resolve(h, iface, public_ipv6, cni::Family::kV6);
  }
  auto addrs = h.ListAddrs(0, cni::Family::kV4);
  if (!addrs) return addrs.error().Context("local addresses");
  for (const auto& a : *addrs) {
    if (a.addr.addr != node_ip) continue;
    auto link = h.LinkByIndex(a.ifindex);
    if (!link) return link.error().Context("interface holding " + node_ip.ToString());
    return Resolve(h, link->name, "", cni::Family::kV6);
  }
  return Resolve(h, iface, public_ipv6, cni::Family::kV6);  // names what to give
}

}  // namespace linen::agent
