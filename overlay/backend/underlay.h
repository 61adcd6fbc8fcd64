// The node's underlay: the device that carries node-to-node traffic and holds the
// node IP, plus the subnets directly connected through it (for L2 adjacency).
#ifndef LINEN_OVERLAY_BACKEND_UNDERLAY_H_
#define LINEN_OVERLAY_BACKEND_UNDERLAY_H_

#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/netlink/handle.h"

namespace linen::overlay {

struct Underlay {
  cni::nl::LinkInfo link;
  std::vector<cni::IpNet> addrs;  // IPv4 addresses on it, with prefix
};

// `name` empty: the device holding `node_ip`. Code 101 (kBackendNotReady) when the
// device is missing, or does not hold `node_ip`.
cni::Result<Underlay> ResolveUnderlay(cni::nl::Handle& h, const std::string& name,
                                      const cni::IpAddr& node_ip);

// True when `peer` is inside a subnet directly connected through the underlay, i.e.
// reachable without a router (host-gw's requirement, directRouting's test).
bool OnLink(const Underlay& u, const cni::IpAddr& peer);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_UNDERLAY_H_
