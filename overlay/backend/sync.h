// The diff-and-apply engine both backends share: desired routes / neighbours / FDB
// entries in, one dump of each kind from the kernel, then only the differences are
// written, in an order that never leaves a route pointing at a missing neighbour:
// stale routes out, neighbours and FDB in, routes in, stale FDB and neighbours out.
#ifndef LINEN_OVERLAY_BACKEND_SYNC_H_
#define LINEN_OVERLAY_BACKEND_SYNC_H_

#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/netlink/handle.h"
#include "overlay/backend/backend.h"

namespace linen::overlay {

struct DesiredState {
  std::vector<cni::nl::RouteInfo> routes;  // protocol kLinenRouteProtocol, main table
  std::vector<cni::nl::NeighInfo> neighs;  // on the VTEP device
  std::vector<cni::nl::FdbInfo> fdbs;      // on the VTEP device
};

// What is owned: main-table IPv4 routes with protocol kLinenRouteProtocol whose dst
// lies in `cluster`; permanent neighbours and remote FDB entries of `vtep_index`
// (0 = no VTEP, neighbours and FDB are not looked at).
struct Scope {
  cni::IpNet cluster;
  int vtep_index = 0;
};

cni::Result<ReconcileStats> ApplyDesired(cni::nl::Handle& h, const Scope& scope,
                                         const DesiredState& want);

// Every desired entry present and equal; the error (code 101) names the first that
// is not.
cni::Status CheckDesired(cni::nl::Handle& h, const Scope& scope, const DesiredState& want);

// Deletes every owned route (both backends' Cleanup).
cni::Status DeleteOwnedRoutes(cni::nl::Handle& h, const cni::IpNet& cluster);

std::string Describe(const cni::nl::RouteInfo& r);
std::string Describe(const cni::nl::NeighInfo& n);
std::string Describe(const cni::nl::FdbInfo& f);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_SYNC_H_
