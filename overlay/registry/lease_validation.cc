#include "overlay/registry/lease_validation.h"

#include <algorithm>

#include "libcni/mac.h"

namespace linen::overlay {
namespace {

const char* FamilyName(cni::Family f) { return f == cni::Family::kV4 ? "IPv4" : "IPv6"; }

RejectedLease Reject(const LeaseCandidate& c, RejectReason reason, std::string detail) {
  return RejectedLease{c.key, reason, std::move(detail), c.value};
}

}  // namespace

std::optional<RejectedLease> CheckLease(const ClusterConfig& cfg, const SelfView& self,
                                        const LeaseCandidate& c) {
  if (!c.lease) {
    return Reject(c, RejectReason::kUndecodable,
                  c.decode_error.empty() ? "not a lease" : c.decode_error);
  }
  const NodeLease& l = *c.lease;
  const cni::IpNet& net = cfg.network;
  // Order matters only for which reason is named: outside the network first (the
  // worst case, and it would make the other rules meaningless), then our own subnet
  // (a /25 inside it says more as "overlaps ours" than as "wrong length").
  if (l.subnet.family() != net.family() || l.subnet.prefix < net.prefix ||
      !net.Contains(l.subnet.Network())) {
    return Reject(c, RejectReason::kOutsideNetwork,
                  "subnet " + l.subnet.ToString() + " is outside the cluster network " +
                      net.Masked().ToString());
  }
  if (self.subnet && self.subnet->Overlaps(l.subnet)) {
    return Reject(c, RejectReason::kOverlapsSelf,
                  "subnet " + l.subnet.ToString() + " overlaps this node's subnet " +
                      self.subnet->ToString());
  }
  if (l.subnet.prefix != cfg.subnet_len) {
    return Reject(c, RejectReason::kWrongLength,
                  "subnet " + l.subnet.ToString() + " is not a /" +
                      std::to_string(cfg.subnet_len) + " (the cluster's SubnetLen)");
  }
  if (l.node_ip.family() != net.family()) {
    return Reject(c, RejectReason::kWrongFamily,
                  "public IP " + l.node_ip.ToString() + " is not " + FamilyName(net.family()) +
                      " like the cluster network " + net.Masked().ToString());
  }
  if (self.node_ip && !self.node_ip->IsUnspecified() && *self.node_ip == l.node_ip) {
    return Reject(c, RejectReason::kOwnIp,
                  "public IP " + l.node_ip.ToString() + " is this node's own IP");
  }
  if (cfg.backend == BackendType::kVxlan) {
    auto mac = cni::ParseMac(l.vtep_mac);
    if (!mac) {
      return Reject(c, RejectReason::kBadVtepMac,
                    l.vtep_mac.empty() ? "VtepMAC is missing"
                                       : "VtepMAC \"" + l.vtep_mac + "\" is not a MAC address");
    }
    const bool zero = std::all_of(mac->begin(), mac->end(), [](uint8_t b) { return b == 0; });
    // Bit 0 of the first byte marks group (multicast, and broadcast) addresses.
    if (zero || ((*mac)[0] & 1) != 0) {
      return Reject(c, RejectReason::kBadVtepMac,
                    "VtepMAC " + l.vtep_mac + " is not a unicast MAC address");
    }
  }
  if (!c.backend_type.empty() && c.backend_type != BackendName(cfg.backend)) {
    return Reject(c, RejectReason::kWrongBackend,
                  "backend type \"" + c.backend_type + "\" is not the cluster's \"" +
                      BackendName(cfg.backend) + "\"");
  }
  return std::nullopt;
}

LeaseVerdict ValidateLeases(const ClusterConfig& cfg, const SelfView& self,
                            const std::vector<LeaseCandidate>& candidates) {
  LeaseVerdict out;
  std::vector<const LeaseCandidate*> valid;
  for (const LeaseCandidate& c : candidates) {
    if (auto r = CheckLease(cfg, self, c)) {
      out.rejected.push_back(std::move(*r));
    } else {
      valid.push_back(&c);
    }
  }
  // Oldest first, so the first claim on a subnet wins; the key breaks ties so the
  // verdict never depends on the order the registry listed them in.
  std::sort(valid.begin(), valid.end(), [](const LeaseCandidate* a, const LeaseCandidate* b) {
    return a->order != b->order ? a->order < b->order : a->key < b->key;
  });
  // Every valid subnet has the same length, so overlapping means equal: a map finds
  // the winner in O(log n).
  std::map<cni::IpNet, const LeaseCandidate*> by_subnet;
  for (const LeaseCandidate* c : valid) {
    const cni::IpNet subnet = c->lease->subnet.Masked();
    auto [it, fresh] = by_subnet.emplace(subnet, c);
    if (!fresh) {
      out.rejected.push_back(Reject(*c, RejectReason::kOverlapsPeer,
                                    "subnet " + c->lease->subnet.ToString() +
                                        " overlaps that of " + it->second->key +
                                        ", which came first"));
      continue;
    }
    out.accepted.emplace(c->key, *c->lease);
  }
  std::sort(out.rejected.begin(), out.rejected.end(),
            [](const RejectedLease& a, const RejectedLease& b) { return a.key < b.key; });
  return out;
}

std::vector<PeerEvent> AcceptedChanges(const std::map<std::string, NodeLease>& before,
                                       const std::map<std::string, NodeLease>& after) {
  std::vector<PeerEvent> out;
  for (const auto& [key, lease] : before) {
    if (after.count(key) == 0) out.push_back({PeerEvent::Kind::kRemoved, lease});
  }
  for (const auto& [key, lease] : after) {
    auto old = before.find(key);
    if (old == before.end()) {
      out.push_back({PeerEvent::Kind::kAdded, lease});
    } else if (!(old->second == lease)) {
      out.push_back({PeerEvent::Kind::kChanged, lease});
    }
  }
  return out;
}

}  // namespace linen::overlay
