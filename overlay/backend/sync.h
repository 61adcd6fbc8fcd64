// The diff-and-apply engine both backends share: desired routes / neighbours / FDB
// entries in, one dump of each kind from the kernel, then only the differences are
// written, in an order that never leaves a route pointing at a missing neighbour:
// stale routes out, then peer by peer its neighbour, FDB entry and route in, then
// stale FDB and neighbours out.
// Each address family is its own plane (FamilyPlan): its routes, the neighbours and
// FDB of its VTEP, its memory; a call applies every enabled family's plan, IPv4
// first, and adds up what they did. A peer's two families are independent: one can
// fail while the other is programmed.
// Peers are isolated: the entries are grouped by peer, and a request that fails
// records a PeerFailure for that peer, skips the rest of its entries and goes on with
// the next peer; a stale entry that cannot be removed is reported the same way. Only
// reading the kernel (a dump failing) is an error of the whole call.
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

// One peer's entries: written in this order (neighbour, FDB, route), and once one
// fails the rest are skipped, so its route never points at a neighbour that failed.
struct DesiredPeer {
  std::string name;
  cni::IpNet subnet;                        // its subnet in this plan's family
  // protocol kLinenRouteProtocol, main table, metric OwnedRouteMetric(family)
  cni::nl::RouteInfo route;
  std::optional<cni::nl::NeighInfo> neigh;  // vxlan: on the VTEP device
  std::optional<cni::nl::FdbInfo> fdb;      // vxlan: on the VTEP device
};

struct DesiredState {
  std::vector<DesiredPeer> peers;
  // Peers the backend could not even describe (not on link, no VTEP MAC). They are
  // not wanted, so entries they had are removed, and they are reported as failures.
  std::vector<PeerFailure> refused;
};

// What is owned in one family (`cluster`'s): main-table routes with protocol
// kLinenRouteProtocol whose dst lies in `cluster`; permanent neighbours of that
// family and remote FDB entries of `vtep_index` (0 = no VTEP, neighbours and FDB
// are not looked at). Each family has its own VTEP, so FDB entries never mix.
struct Scope {
  cni::IpNet cluster;
  int vtep_index = 0;
};

// One address family's share of the data path.
struct FamilyPlan {
  Scope scope;
  DesiredState want;
};
// One entry per enabled family, each family at most once.
using Plan = std::vector<FamilyPlan>;

// The metric our routes carry: none for IPv4; for IPv6 the one the kernel would
// give a route without one (it reads back as 1024, so asking for it keeps desired
// and read-back routes equal). A route of someone else's at this metric for a
// peer's subnet would be replaced by ours: that is the foreign route we refuse.
uint32_t OwnedRouteMetric(cni::Family f);

// Errors only when the kernel cannot be read; per-peer problems are in `failures`
// (starting with want.refused). A route for a peer's subnet that linen does not own
// fails that peer (foreign_route) before any of its entries is written.
cni::Result<ReconcileStats> ApplyDesired(cni::nl::Handle& h, const Scope& scope,
                                         const DesiredState& want);

// Every desired entry of every family present and equal and no refused peer; the
// error names the first that is not (a refused peer: its own code; a missing entry:
// code 101).
cni::Status CheckDesired(cni::nl::Handle& h, const Plan& plan);

// ApplyDesired with a memory of the owned entries in the kernel. Reconcile reads the
// kernel and repairs everything (at start, on resync, whenever in doubt); Update
// diffs `want` against the memory and writes only that difference, reading nothing
// back. Drift made by someone else in between is repaired by the next Reconcile, not
// by Update. Update falls back to Reconcile when there is no memory (first call, a
// different scope, or after a Reconcile could not read the kernel); each family by
// itself, and a family no longer in the plan is forgotten.
// The memory holds what the kernel has, not what was wanted: a failed request leaves
// its entry as it was (old value or absent), so a failed peer differs from `want` and
// the next Update tries it again (its own few requests), and a stale entry that could
// not be removed stays unmarked and is swept again. A new route is added exclusively:
// when the kernel already has a route there it is not ours (ours are all in the
// memory), so that peer fails with foreign_route and nothing is taken over (its
// neighbour and FDB entry, written just before, stay: nothing routes to them); the
// next Reconcile describes the route by name. An add the kernel refuses otherwise
// costs one read of the family's routes, to tell a foreign route (IPv6 refuses an
// onlink gateway that someone else's route for the subnet shadows with EINVAL,
// before it looks for an equal route) from a refusal.
// MACs in a DesiredState are lower-case (both backends build them so); Update
// compares them as given, so one changed peer among 5,000 costs about a millisecond
// of diffing plus its own requests.
class DesiredSync {
 public:
  cni::Result<ReconcileStats> Reconcile(cni::nl::Handle& h, const Plan& plan);
  cni::Result<ReconcileStats> Update(cni::nl::Handle& h, const Plan& plan);
  void Forget() {
    for (auto& k : known_) k.reset();
  }

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
  cni::Result<ReconcileStats> ReconcileFamily(cni::nl::Handle& h, const FamilyPlan& fp);
  ReconcileStats ApplyChanges(cni::nl::Handle& h, Known& k, const DesiredState& want);
  std::optional<Known>& Memory(cni::Family f) { return known_[f == cni::Family::kV4 ? 0 : 1]; }

  std::optional<Known> known_[2];  // IPv4, IPv6
  uint64_t generation_ = 0;
};

// Deletes every owned route of `cluster`'s family (both backends' Cleanup).
cni::Status DeleteOwnedRoutes(cni::nl::Handle& h, const cni::IpNet& cluster);

// A MAC spelled as the kernel reports it ("0e:4c:…", lower case, colons), so that an
// entry a lease spelled "0E-4C-…" compares equal to the one in the kernel and is not
// rewritten on every reconcile. Text that is not a MAC is returned as it is.
std::string KernelMac(std::string mac);

std::string Describe(const cni::nl::RouteInfo& r);
std::string Describe(const cni::nl::NeighInfo& n);
std::string Describe(const cni::nl::FdbInfo& f);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_SYNC_H_
