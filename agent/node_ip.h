// Which address peers reach this node on: --public-ip, else the first global IPv4
// address of --iface (in the calling thread's namespace).
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

}  // namespace linen::agent

#endif  // LINEN_AGENT_NODE_IP_H_
