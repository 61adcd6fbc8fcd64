// Which addresses peers reach this node on: --public-ip, else the first global IPv4
// address of --iface; with IPv6 enabled also --public-ipv6, else the first global
// IPv6 address of --iface (flannel's --public-ip / --public-ipv6). In the calling
// thread's namespace.
#ifndef LINEN_AGENT_NODE_IP_H_
#define LINEN_AGENT_NODE_IP_H_

#include <string>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/netlink/handle.h"

namespace linen::agent {

// Code 101 (kBackendNotReady) when the interface is missing or has no IPv4 address
// yet: the caller retries, the interface may still be coming up.
cni::Result<cni::IpAddr> ResolveNodeIp(cni::nl::Handle& h, const std::string& iface,
                                       const std::string& public_ip);
// The same for IPv6 (a global address: link-local, tentative and DAD-failed ones do
// not count). Without --iface it looks on the interface holding `node_ip` (the IPv4
// node IP, when known), as flannel does with --public-ip. A --public-ipv6 that is
// not IPv6, or no interface to look on, is code 7.
cni::Result<cni::IpAddr> ResolveNodeIpv6(cni::nl::Handle& h, const std::string& iface,
                                         const std::string& public_ipv6,
                                         const cni::IpAddr& node_ip = {});

}  // namespace linen::agent

#endif  // LINEN_AGENT_NODE_IP_H_
