#include "overlay/backend/underlay.h"

#include <linux/rtnetlink.h>

namespace linen::overlay {
namespace {

cni::Error NotReady(const std::string& msg) {
  return cni::Error(cni::Code::kBackendNotReady, msg);
}

std::string NodeAddressText(const cni::IpAddr& ip) {
  return std::string(ip.is_v4() ? "node IP " : "node IPv6 address ") + ip.ToString();
}

// The device named by the kernel's local route for `ip` (it keeps one for each of
// the node's addresses): one lookup. 0 when there is none, e.g. the device is down
// (its local routes go with it).
int LocalRouteDevice(cni::nl::Handle& h, const cni::IpAddr& ip) {
  auto r = h.FibMatch(ip);
  return r && r->type == RTN_LOCAL ? r->oif : 0;
}

bool Holds(const std::vector<cni::nl::AddrInfo>& addrs, const cni::IpAddr& ip) {
  for (const cni::nl::AddrInfo& a : addrs) {
    if (a.addr.addr == ip) return true;
  }
  return false;
}

}  // namespace

cni::Result<Underlay> ResolveUnderlay(cni::nl::Handle& h, const std::string& name,
                                      const std::vector<cni::IpAddr>& node_ips) {
  if (node_ips.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "the cluster enables neither IPv4 nor IPv6");
  }
  Underlay u;
  std::vector<cni::nl::AddrInfo> addrs;
  if (!name.empty()) {
    auto link = h.LinkByName(name);
    if (!link) {
      if (link.error().IsNotFound()) {
        return NotReady("underlay device \"" + name + "\" does not exist");
      }
      return link.error().Context("underlay device \"" + name + "\"");
    }
    u.link = std::move(*link);
    auto listed = h.ListAddrs(u.link.index);
    if (!listed) return listed.error().Context("list addresses");
    addrs = std::move(*listed);
  } else {
    // The holder of the (first) node IP. Listing every address walks every device,
    // and a node has one per pod: only when the local route does not tell.
    int holder = LocalRouteDevice(h, node_ips.front());
    if (holder != 0) {
      auto listed = h.ListAddrs(holder);
      if (!listed) return listed.error().Context("list addresses");
      if (Holds(*listed, node_ips.front())) {
        addrs = std::move(*listed);
      } else {
        holder = 0;
      }
    }
    if (holder == 0) {
      auto all = h.ListAddrs(0);
      if (!all) return all.error().Context("list addresses");
      for (const cni::nl::AddrInfo& a : *all) {
        if (a.addr.addr == node_ips.front()) holder = a.ifindex;
      }
      for (const cni::nl::AddrInfo& a : *all) {
        if (a.ifindex == holder) addrs.push_back(a);
      }
    }
    if (holder == 0) {
      return NotReady("no interface holds the " + NodeAddressText(node_ips.front()) +
                      "; is the underlay configured?");
    }
    auto link = h.LinkByIndex(holder);
    if (!link) return link.error().Context("underlay device");
    u.link = std::move(*link);
  }
  for (const cni::nl::AddrInfo& a : addrs) {
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
