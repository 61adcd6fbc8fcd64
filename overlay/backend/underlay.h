// The node's underlay: the device that carries node-to-node traffic and holds the
// node's addresses (one per enabled family), plus the subnets directly connected
// through it (for L2 adjacency).
#ifndef LINEN_OVERLAY_BACKEND_UNDERLAY_H_
#define LINEN_OVERLAY_BACKEND_UNDERLAY_H_

#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/netlink/handle.h"
#include "overlay/backend/backend.h"

namespace linen::overlay {

struct Underlay {
  cni::nl::LinkInfo link;
  std::vector<cni::IpNet> addrs;  // IPv4 and IPv6 addresses on it, with prefix
};

// The device named `name`, or ("") the one holding the first of `node_ips`; it must
// hold every one of `node_ips` (a dual-stack node's IPv4 and IPv6 address). Code 101
// (kBackendNotReady) when the device is missing or lacks one of them.
cni::Result<Underlay> ResolveUnderlay(cni::nl::Handle& h, const std::string& name,
                                      const std::vector<cni::IpAddr>& node_ips);

// ResolveUnderlay(node.underlay, NodeAddrs(node)): the node's underlay, holding the
// node address of every enabled family.
cni::Result<Underlay> NodeUnderlay(cni::nl::Handle& h, const LocalNode& node);

// True when `peer` is inside a subnet of its family directly connected through the
// underlay, i.e. reachable without a router (host-gw's requirement, directRouting's
// test).
bool OnLink(const Underlay& u, const cni::IpAddr& peer);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_UNDERLAY_H_
