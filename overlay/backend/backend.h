// The node-level data path that connects pod subnets across nodes, shared by the
// host-gw / vxlan CNI plugins (static topology) and linend (registry-driven).
//
// A Backend is bound to one namespace (the node's, through the borrowed nl::Handle)
// and one node (LocalNode). It turns (this node, set of peers) into desired kernel
// entries, reads what the kernel has, and applies only the difference. Each address
// family the cluster enables has its own entries, built from the lease's fields of
// that family (IPv4: node_ip, subnet, vtep_mac; IPv6: node_ipv6, ipv6_subnet,
// vtep_mac_v6):
//   host-gw: per peer `route <peer.subnet> via <peer.node_ip> dev <underlay>`;
//   vxlan:   one device per family, linen.<VNI> (IPv4) and linen-v6.<VNI> (IPv6),
//            and per peer on it the permanent neighbour <peer.subnet.0> ->
//            peer.vtep_mac, the FDB entry vtep_mac -> node_ip and the route
//            <peer.subnet> via <peer.subnet.0> dev <VTEP> onlink (or the host-gw
//            route when directRouting and the peer is on our L2).
// Ownership: routes carry protocol cni::nl::kLinenRouteProtocol and lie inside the
// family's cluster network; neighbours/FDB entries are those of the VTEP devices
// (permanent, FDB with a remote dst). Nothing else is ever modified or deleted.
//
// Not thread-safe; callers serialise (plugins take a node-level flock, linend runs
// one loop). Every method is idempotent.
#ifndef LINEN_OVERLAY_BACKEND_BACKEND_H_
#define LINEN_OVERLAY_BACKEND_BACKEND_H_

#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/netlink/handle.h"
#include "overlay/registry/registry.h"

namespace linen::overlay {

// Everything a backend needs to know about the node it runs on.
struct LocalNode {
  // name, and per enabled family the node address and pod subnet (node_ip/subnet,
  // node_ipv6/ipv6_subnet); vtep_mac / vtep_mac_v6: "" = keep / let the kernel pick.
  NodeLease self;
  ClusterConfig cluster;   // families, backend type, VNI, port, directRouting, mtu
  // Device name; "" = the device holding the node address of the first enabled
  // family. It must hold the node address of every enabled family.
  std::string underlay;
};

// What EnsureNode established; published by linend, written to subnet.env.
struct NodeSetup {
  // Pod MTU: underlay (or cluster.mtu) minus encapsulation, the smallest over the
  // enabled families (vxlan: − 50 over IPv4, − 70 over IPv6).
  int mtu = 0;
  std::string vtep_mac;     // vxlan with IPv4 enabled: the IPv4 VTEP's MAC; else ""
  std::string vtep_mac_v6;  // vxlan with IPv6 enabled: the IPv6 VTEP's MAC; else ""
  std::string underlay;     // resolved device name
  int underlay_index = 0;
};

// The address families `c` enables, IPv4 first.
std::vector<cni::Family> EnabledFamilies(const ClusterConfig& c);
// The cluster network of family `f` (network or ipv6_network).
const cni::IpNet& ClusterNetwork(const ClusterConfig& c, cni::Family f);
// The cluster network of every enabled family, in EnabledFamilies order.
std::vector<cni::IpNet> ClusterNetworks(const ClusterConfig& c);
// The node's underlay address of every enabled family (node_ip, node_ipv6), in
// EnabledFamilies order. Code 7 when an enabled family has no address of its
// family, or the cluster enables no family.
cni::Result<std::vector<cni::IpAddr>> NodeAddrs(const LocalNode& node);

// A lease's fields of one family.
struct FamilyLease {
  cni::IpAddr node_ip;   // node_ip or node_ipv6
  cni::IpNet subnet;     // subnet or ipv6_subnet, masked
  std::string vtep_mac;  // vtep_mac or vtep_mac_v6
};
// `l`'s part in family `f`; nullopt when the lease has none (no subnet of that
// family: a peer without an IPv6 lease in a dual-stack cluster gets IPv4 entries
// only, as with flannel).
std::optional<FamilyLease> InFamily(const NodeLease& l, cni::Family f);

// Why one peer could not be programmed. The names (PeerFailureName) are stable and
// few: linend uses them as metric label values.
enum class PeerFailureReason {
  kForeignRoute,   // "foreign_route": a route for its subnet exists that linen does not own
  kNotOnLink,      // "not_on_link": host-gw, its node IP is not on the underlay's L2
  kNoVtepMac,      // "no_vtep_mac": vxlan, its lease carries no VTEP MAC
  kKernelRefused,  // "kernel_refused": the kernel refused one of its entries
  kDeleteRefused,  // "delete_refused": an entry of a departed peer could not be removed
};
inline constexpr PeerFailureReason kAllPeerFailureReasons[] = {
    PeerFailureReason::kForeignRoute, PeerFailureReason::kNotOnLink,
    PeerFailureReason::kNoVtepMac, PeerFailureReason::kKernelRefused,
    PeerFailureReason::kDeleteRefused};  // in value order: usable as indices
static_assert(std::size(kAllPeerFailureReasons) ==
              static_cast<size_t>(PeerFailureReason::kDeleteRefused) + 1);
std::string_view PeerFailureName(PeerFailureReason r);

// One peer left unprogrammed (or one departed entry left in place) by a Reconcile or
// Update. The other peers were programmed regardless; this one is tried again by the
// next Reconcile/Update.
struct PeerFailure {
  std::string peer;       // lease name; "" for an entry of a departed peer
  cni::IpNet subnet;      // the peer's subnet in the failed family (IPv6 entries:
                          // its ipv6_subnet); departed: the entry's dst (route /
                          // neighbour address as a host net), unset for an FDB entry
  PeerFailureReason reason = PeerFailureReason::kKernelRefused;
  cni::Code code = cni::Code::kInternal;  // what a caller that must fail should return
  std::string detail;     // the full message, naming the entry and the kernel's answer
};

// Kernel operations a Reconcile issued (each one netlink request). A reconcile with
// nothing to change reports ops() == 0.
struct ReconcileStats {
  int routes_set = 0, routes_deleted = 0;
  int neighs_set = 0, neighs_deleted = 0;
  int fdbs_set = 0, fdbs_deleted = 0;
  // Peers that could not be programmed, each at most once per family (a dual-stack
  // peer can fail in one family and be programmed in the other). Empty: every wanted
  // peer is in the kernel and every departed one is gone. Each call reports the complete
  // set: a peer that failed before and is still failing appears again.
  std::vector<PeerFailure> failures;
  int ops() const {
    return routes_set + routes_deleted + neighs_set + neighs_deleted + fdbs_set + fdbs_deleted;
  }
};

// Turns a non-empty failure list into one error (the first failure's code and detail,
// plus how many more peers failed), for callers that cannot go on with a partial
// data path (the static-mode plugins).
cni::Status FailuresAsError(const std::vector<PeerFailure>& failures);

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendType type() const = 0;

  // Creates or repairs node-level devices (vxlan, per enabled family: linen.<VNI>
  // with local node_ip, MTU underlay − 50, MAC vtep_mac and subnet.0/32; linen-v6.<VNI>
  // with local node_ipv6, MTU underlay − 70, MAC vtep_mac_v6 and ipv6_subnet::0/128;
  // both with the right VNI, port, underlay and no learning; an incompatible device
  // is recreated, the VTEP of a family the cluster does not enable is removed).
  // host-gw creates nothing. Fails with code 101 (kBackendNotReady) when the
  // underlay is missing or lacks the node address of an enabled family.
  virtual cni::Result<NodeSetup> EnsureNode() = 0;

  // Brings per-peer entries in line with `peers` (this node's own lease is ignored if
  // present). Peers are isolated from each other: a peer that cannot be programmed
  // (host-gw: not on a directly connected subnet of the underlay, code 7 suggesting
  // vxlan; a foreign route for its subnet, which is never touched; an entry the
  // kernel refuses) is reported in ReconcileStats::failures, its remaining entries are
  // skipped (never a route to a neighbour that failed), and every other peer is still
  // programmed; entries of departed peers are still deleted. Only whole-node problems
  // (a dump failing, no VTEP device) are errors.
  // Requires EnsureNode to have run in this process or an earlier one.
  virtual cni::Result<ReconcileStats> Reconcile(const std::vector<NodeLease>& peers) = 0;

  // Like Reconcile, but trusts this object's memory of what the last Reconcile/Update
  // applied instead of reading the kernel back: one changed peer among thousands costs
  // its own few requests. For a stream of peer events; drift someone else caused is
  // repaired by the next Reconcile. Without a memory it is a Reconcile. Failed peers
  // are not in the memory as applied, so every Update tries them again (a few
  // requests each) and reports those still failing.
  virtual cni::Result<ReconcileStats> Update(const std::vector<NodeLease>& peers) = 0;

  // Verifies the device and every desired entry for `peers` are in the kernel; the
  // error names the first missing or wrong entry. Changes nothing.
  virtual cni::Status Check(const std::vector<NodeLease>& peers) = 0;

  // Ready for ADD: underlay present, up and holding the node address of every
  // enabled family. Code 50 otherwise.
  virtual cni::Status Ready() = 0;

  // Removes everything this backend owns in the namespace: linen routes inside the
  // cluster network of each enabled family and (vxlan) both VTEP devices with their
  // neighbours and FDB.
  virtual cni::Status Cleanup() = 0;
};

// Where a backend reports what an operator should hear of (a device it had to
// recreate). Library code never prints: linend passes its log, the plugins nothing.
using LogSink = std::function<void(std::string_view)>;

// The backend for node.cluster.backend, operating through `handle` (borrowed; it must
// outlive the backend). Touches no kernel state.
std::unique_ptr<Backend> NewBackend(cni::nl::Handle& handle, const LocalNode& node,
                                    LogSink log = nullptr);

// "linen.<vni>": the IPv4 VTEP.
std::string VxlanDeviceName(uint32_t vni);
// "linen-v6.<vni>": the IPv6 VTEP (flannel: flannel-v6.<vni>). Device names hold
// 15 characters, so with IPv6 the VNI must be below 1000000.
std::string VxlanV6DeviceName(uint32_t vni);
inline constexpr uint32_t kMaxVniWithIpv6 = 999999;

// VXLAN over IPv4: 14 inner Ethernet + 20 IPv4 + 8 UDP + 8 VXLAN.
inline constexpr int kVxlanOverhead = 50;
// VXLAN over IPv6: the outer header is 40 bytes, not 20 (flannel#1781 used 50).
inline constexpr int kVxlanOverheadV6 = 70;

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_BACKEND_H_
