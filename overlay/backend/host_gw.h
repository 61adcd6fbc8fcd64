// host-gw: pod subnets are routed straight to the peer's node address on the
// underlay, in each enabled family. Needs L2 adjacency between nodes (no tunnel, no
// gateway in between).
#ifndef LINEN_OVERLAY_BACKEND_HOST_GW_H_
#define LINEN_OVERLAY_BACKEND_HOST_GW_H_

#include <memory>
#include <vector>

#include "overlay/backend/backend.h"
#include "overlay/backend/underlay.h"

namespace linen::overlay {

std::unique_ptr<Backend> NewHostGwBackend(cni::nl::Handle& h, const LocalNode& node);

// `peer.subnet via peer.node_ip dev <underlay>` in the peer's family, owned by linen.
cni::nl::RouteInfo HostGwRoute(const FamilyLease& peer, int underlay_index);

// The peers that are not this node (a registry may list us too): another name and
// none of our pod subnets in an enabled family.
std::vector<const NodeLease*> OtherPeers(const LocalNode& node, const std::vector<NodeLease>& peers);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_HOST_GW_H_
