// Inside the pod: sysctls, addresses, link up, routes. No DAD wait (see docs/bridge.md).
#ifndef LINEN_PLUGINS_BRIDGE_CONTAINER_CONFIG_H_
#define LINEN_PLUGINS_BRIDGE_CONTAINER_CONFIG_H_

#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/netlink/handle.h"
#include "libcni/types.h"
#include "netns/netns.h"

namespace bridge {

// The kernel routes for `result.routes` on interface `oif`: a route without a gateway
// uses the first gateway of its family from `result.ips`; one with neither is
// link-scoped. priority/table/scope are honoured, mtu/advmss ignored (as the reference).
std::vector<cni::nl::RouteInfo> ContainerRoutes(const cni::AddResult& result, int oif);

// In `ns` (through `container`, its netlink socket): arp_notify=1; when there is an
// IPv6 address, IPv6 enabled on lo and the interface, keep_addr_on_down=1 and
// accept_dad=0 (or enhanced DAD when `enable_dad`); then every address of `result`,
// link up, and the routes.
// Errors name the address or route and the interface.
cni::Status ConfigureContainer(cni::nl::Handle& container, const cni::NetNs& ns,
                               const cni::nl::LinkInfo& link, const cni::AddResult& result,
                               bool enable_dad);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_CONTAINER_CONFIG_H_
