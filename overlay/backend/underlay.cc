#include "overlay/backend/underlay.h"

namespace linen::overlay {
namespace {

cni::Error NotReady(const std::string& msg) {
  return cni::Error(cni::Code::kBackendNotReady, msg);
}

std::string NodeAddressText(const cni::IpAddr& ip) {
  return std::string(ip.is_v4() ? "node IP " : "node IPv6 address ") + ip.ToString();
}

}  // namespace

cni::Result<Underlay> ResolveUnderlay(cni::nl::Handle& h, const std::string& name,
                                      const std::vector<cni::IpAddr>& node_ips) {
  if (node_ips.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "the cluster enables neither IPv4 nor IPv6");
  }
  Underlay u;
  if (!name.empty()) {
    auto link = h.LinkByName(name);
    if (!link) {
      if (link.error().IsNotFound()) {
        return NotReady("underlay device \"" + name + "\" does not exist");
      }
      return link.error().Context("underlay device \"" + name + "\"");
    }
    u.link = std::move(*link);
  }
  auto addrs = h.ListAddrs(u.link.index);
  if (!addrs) return addrs.error().Context("list addresses");
  if (name.empty()) {
    int holder = 0;
    for (const cni::nl::AddrInfo& a : *addrs) {
      if (a.addr.addr == node_ips.front()) holder = a.ifindex;
    }
    if (holder == 0) {
      return NotReady("no interface holds the " + NodeAddressText(node_ips.front()) +
                      "; is the underlay configured?");
    }
    auto link = h.LinkByIndex(holder);
    if (!link) return link.error().Context("underlay device");
    u.link = std::move(*link);
  }
  for (const cni::nl::AddrInfo& a : *addrs) {
    if (a.ifindex == u.link.index) u.addrs.push_back(a.addr);
  }
  // Both families leave through the one device, as with flannel's --iface.
  for (const cni::IpAddr& ip : node_ips) {
    bool held = false;
    for (const cni::IpNet& a : u.addrs) held = held || a.addr == ip;
    if (!held) {
      return NotReady("underlay device \"" + u.link.name + "\" does not hold the " +
                      NodeAddressText(ip));
    }
  }
  return u;
}

cni::Result<Underlay> NodeUnderlay(cni::nl::Handle& h, const LocalNode& node) {
  auto ips = NodeAddrs(node);
  if (!ips) return ips.error();
  return ResolveUnderlay(h, node.underlay, *ips);
}

bool OnLink(const Underlay& u, const cni::IpAddr& peer) {
  for (const cni::IpNet& a : u.addrs) {
    // A host prefix (/32, /128) holds only ourselves; it connects nothing.
    if (a.prefix < a.addr.bits() && a.Contains(peer)) return true;
  }
  return false;
}

}  // namespace linen::overlay
