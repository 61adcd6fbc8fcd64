// Gateways: which addresses go on the bridge (isGateway), which default routes the
// pod gets (isDefaultGateway), and IP forwarding on the node.
#ifndef LINEN_PLUGINS_BRIDGE_GATEWAY_H_
#define LINEN_PLUGINS_BRIDGE_GATEWAY_H_

#include <vector>

#include "libcni/error.h"
#include "libcni/netlink/handle.h"
#include "libcni/types.h"
#include "plugins/bridge/config.h"

namespace bridge {

// Index of the container interface in the result: [bridge, host veth, container].
inline constexpr int kContainerIfIndex = 2;

struct Gateways {
  std::vector<cni::IpNet> v4;  // gateway address with the pod's prefix length
  std::vector<cni::IpNet> v6;
};

// Pure, as the reference's calcGateways: points every IP at the container interface,
// fills a missing gateway with network+1 when isGateway, appends one default route
// per family via that gateway when isDefaultGateway and IPAM gave none, and collects
// the bridge's gateway addresses.
Gateways CalcGateways(cni::AddResult& result, const BridgeConf& conf);

// Puts each gateway address on the bridge (already there is fine). Another IPv4
// address, or an overlapping IPv6 one, is replaced with forceAddress and an error
// otherwise ("cni0" already has an IP address different from ...).
cni::Status EnsureGatewayAddrs(cni::nl::Handle& host, const cni::nl::LinkInfo& br,
                               const Gateways& gws, bool force_address);

// ip_forward / ipv6 forwarding on in the calling thread's namespace (where `host`
// is), for the families that have a gateway; read through `host`, written only
// when not already on.
cni::Status EnableForwarding(cni::nl::Handle& host, const Gateways& gws);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_GATEWAY_H_
