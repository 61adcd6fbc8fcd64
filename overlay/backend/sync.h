// The diff-and-apply engine both backends share: desired routes / neighbours / FDB
// entries in, one dump of each kind from the kernel, then only the differences are
// written, in an order that never leaves a route pointing at a missing neighbour:
// stale routes out, neighbours and FDB in, routes in, stale FDB and neighbours out.
// DesiredSync adds memory of what was applied, so that a change among thousands of
// peers costs its own few requests instead of three full dumps.
#ifndef LINEN_OVERLAY_BACKEND_SYNC_H_
#define LINEN_OVERLAY_BACKEND_SYNC_H_

#include <cstdint>
#include <unordered_map>
#include <optional>
#include <string>
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

// ApplyDesired with a memory. Reconcile reads the kernel and repairs everything (at
// start, on resync, whenever in doubt); Update diffs `want` against what the last
// successful Reconcile/Update applied and writes only that difference, reading
// nothing back. Drift made by someone else in between is repaired by the next
// Reconcile, not by Update. Update falls back to Reconcile when there is no memory
// (first call, a different scope, or after any failure), and when a new route would
// land on an existing one (someone else's route: Reconcile refuses it by name).
// MACs in a DesiredState are lower-case (both backends build them so); Update
// compares them as given, so one changed peer among 5,000 costs about a millisecond
// of diffing plus its own requests.
class DesiredSync {
 public:
  cni::Result<ReconcileStats> Reconcile(cni::nl::Handle& h, const Scope& scope,
                                        const DesiredState& want);
  cni::Result<ReconcileStats> Update(cni::nl::Handle& h, const Scope& scope,
                                     const DesiredState& want);
  void Forget() { known_.reset(); }

 private:
  template <typename T>
  struct Entry {
    T info;
    uint64_t seen = 0;  // the Update generation that last wanted it
  };
  // Hash maps: ordered maps spent most of Update's time in memcmp on 16-byte keys.
  struct AddrHash {
    size_t operator()(const cni::IpAddr& a) const;
  };
  struct NetHash {
    size_t operator()(const cni::IpNet& n) const;
  };
  struct Known {
    cni::IpNet cluster;
    int vtep_index = 0;
    std::unordered_map<cni::IpNet, Entry<cni::nl::RouteInfo>, NetHash> routes;
    std::unordered_map<cni::IpAddr, Entry<cni::nl::NeighInfo>, AddrHash> neighs;
    std::unordered_map<std::string, Entry<cni::nl::FdbInfo>> fdbs;  // by MAC
  };
  static Known Remember(const Scope& scope, const DesiredState& want);
  cni::Result<ReconcileStats> ApplyChanges(cni::nl::Handle& h, const DesiredState& want,
                                           bool* route_clash);

  std::optional<Known> known_;
  uint64_t generation_ = 0;
};

// Deletes every owned route (both backends' Cleanup).
cni::Status DeleteOwnedRoutes(cni::nl::Handle& h, const cni::IpNet& cluster);

std::string Describe(const cni::nl::RouteInfo& r);
std::string Describe(const cni::nl::NeighInfo& n);
std::string Describe(const cni::nl::FdbInfo& f);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_SYNC_H_
