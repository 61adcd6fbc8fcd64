// Which peer leases may reach the kernel. Every registry (etcd, static topology)
// judges the leases it read here, so linend and the plugins accept exactly the same
// peers. A lease is accepted when:
//   - its value could be decoded (a key or JSON that is not a lease is rejected,
//     it does not fail the whole list);
//   - for each family the cluster enables (IPv4: network/subnet_len/node_ip/
//     vtep_mac; IPv6: ipv6_network/ipv6_subnet_len/node_ipv6/vtep_mac_v6):
//       - it has a subnet and a public IP of that family (missing: wrong_family);
//       - the subnet lies inside the family's cluster network and is exactly
//         /subnet_len (ipv6_subnet_len);
//       - it does not overlap this node's own subnet of that family;
//       - its public IP has the family and is not our own node IP of that family;
//       - (vxlan) its VTEP MAC for that family is a unicast, non-zero MAC;
//   - its backend type, when stated, is ours;
//   - none of its subnets overlaps one of an older accepted lease ("older": lower
//     `order`, i.e. the etcd create revision, or the position in a topology file;
//     ties by key).
// A family the cluster does not enable is not looked at, and an accepted lease
// carries only the enabled families' fields (the others are cleared), so the data
// plane never sees a half-judged family.
// Only leases that pass every per-lease rule take part in the overlap contest, so a
// malformed lease can never displace a valid one. Leases written by flannel itself
// (no NodeName) are judged by the same rules and accepted when valid.
#ifndef LINEN_OVERLAY_REGISTRY_LEASE_VALIDATION_H_
#define LINEN_OVERLAY_REGISTRY_LEASE_VALIDATION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "overlay/registry/registry.h"

namespace linen::overlay {

// One lease as read from a registry, before judgement.
struct LeaseCandidate {
  std::string key;                 // etcd key, or the node name in a topology file
  std::string value;               // the raw value judged (shown with the rejection)
  int64_t order = 0;               // lower = older = wins an overlap
  std::optional<NodeLease> lease;  // nullopt: could not be decoded
  std::string decode_error;        // why, when lease is nullopt
  std::string backend_type;        // as stated in the value; "" = not stated
};

struct LeaseVerdict {
  std::map<std::string, NodeLease> accepted;  // by key
  std::vector<RejectedLease> rejected;        // sorted by key
};

// What the judgement needs to know about this node. An unset subnet (prefix 0 with
// an unspecified address) or node IP skips the rules that compare with it.
struct SelfView {
  std::optional<cni::IpNet> subnet;
  std::optional<cni::IpAddr> node_ip;
  std::optional<cni::IpNet> ipv6_subnet;
  std::optional<cni::IpAddr> node_ipv6;

  // Our lease in both families: a peer may claim neither our subnet nor our node
  // address of either family. No lease (not acquired yet): nothing to compare.
  static SelfView Of(const std::optional<NodeLease>& own) {
    if (!own) return {};
    return {own->subnet, own->node_ip, own->ipv6_subnet, own->node_ipv6};
  }
};

// The per-lease rules only (everything but overlaps_peer). Of several broken rules
// the first in the order above is named, IPv4 before IPv6.
std::optional<RejectedLease> CheckLease(const ClusterConfig& cfg, const SelfView& self,
                                        const LeaseCandidate& c);

// Judges the whole candidate set. Call again whenever any candidate changes: the
// winner of an overlap may have gone, which makes the next one acceptable.
// `lease` with the fields of the families `cfg` does not enable cleared.
NodeLease EnabledFamiliesOnly(const ClusterConfig& cfg, NodeLease lease);

LeaseVerdict ValidateLeases(const ClusterConfig& cfg, const SelfView& self,
                            const std::vector<LeaseCandidate>& candidates);

// The peer events that turn the accepted set `before` into `after` (both by key):
// how a registry that judges whole sets reports what changed.
std::vector<PeerEvent> AcceptedChanges(const std::map<std::string, NodeLease>& before,
                                       const std::map<std::string, NodeLease>& after);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_REGISTRY_LEASE_VALIDATION_H_
