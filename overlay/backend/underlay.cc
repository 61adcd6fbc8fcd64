#include "overlay/backend/underlay.h"

namespace linen::overlay {
namespace {

cni::Error NotReady(const std::string& msg) {
  return cni::Error(cni::Code::kBackendNotReady, msg);
}

}  // namespace

cni::Result<Underlay> ResolveUnderlay(cni::nl::Handle& h, const std::string& name,
                                      const cni::IpAddr& node_ip) {
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
  int holder = 0;
  for (const cni::nl::AddrInfo& a : *addrs) {
    if (a.addr.addr == node_ip) holder = a.ifindex;
  }
  if (holder == 0) {
    if (!name.empty()) {
      return NotReady("underlay device \"" + name + "\" does not hold the node IP " +
                      node_ip.ToString());
    }
    return NotReady("no interface holds the node IP " + node_ip.ToString() +
                    "; is the underlay configured?");
  }
  if (name.empty()) {
    auto link = h.LinkByIndex(holder);
    if (!link) return link.error().Context("underlay device");
    u.link = std::move(*link);
  }
  for (const cni::nl::AddrInfo& a : *addrs) {
    if (a.ifindex == u.link.index && a.addr.family() == cni::Family::kV4) {
      u.addrs.push_back(a.addr);
    }
  }
  return u;
}

bool OnLink(const Underlay& u, const cni::IpAddr& peer) {
  for (const cni::IpNet& a : u.addrs) {
    // A /32 holds only ourselves; it connects nothing.
    if (a.prefix < 32 && a.Contains(peer)) return true;
  }
  return false;
}

}  // namespace linen::overlay
