#include "overlay/registry/lease_validation.h"

#include <algorithm>
#include <vector>

#include "libcni/mac.h"

namespace linen::overlay {
namespace {

const char* FamilyName(cni::Family f) { return f == cni::Family::kV4 ? "IPv4" : "IPv6"; }

RejectedLease Reject(const LeaseCandidate& c, RejectReason reason, std::string detail) {
  return RejectedLease{c.key, reason, std::move(detail), c.value};
}

// One family's slice of the config, the lease and this node, with the words the
// details use for it (they name the lease's field as an operator would look for it).
struct FamilyCheck {
  cni::Family family;
  const cni::IpNet& network;
  int subnet_len;
  const char* len_key;  // the config key, "SubnetLen" / "IPv6SubnetLen"
  const cni::IpNet& subnet;
  const cni::IpAddr& ip;
  const std::string& mac;
  const std::optional<cni::IpNet>& self_subnet;
  const std::optional<cni::IpAddr>& self_ip;
  const char* subnet_word;  // "subnet" / "IPv6 subnet"
  const char* ip_word;      // "public IP" / "public IPv6"
  const char* mac_word;     // "VtepMAC" / "IPv6 VtepMAC"
};

std::optional<RejectedLease> CheckFamily(const ClusterConfig& cfg, const LeaseCandidate& c,
                                         const FamilyCheck& f) {
  const cni::IpNet& net = f.network;
  const std::string fam = FamilyName(f.family);
  if (IsUnset(f.subnet)) {
    return Reject(c, RejectReason::kWrongFamily,
                  "the lease has no " + fam + " subnet, but the cluster enables " + fam);
  }
  // Order matters only for which reason is named: outside the network first (the
  // worst case, and it would make the other rules meaningless), then our own subnet
  // (a /25 inside it says more as "overlaps ours" than as "wrong length").
  if (f.subnet.family() != net.family() || f.subnet.prefix < net.prefix ||
      !net.Contains(f.subnet.Network())) {
    return Reject(c, RejectReason::kOutsideNetwork,
                  std::string(f.subnet_word) + " " + f.subnet.ToString() +
                      " is outside the cluster network " + net.Masked().ToString());
  }
  if (f.self_subnet && !IsUnset(*f.self_subnet) && f.self_subnet->Overlaps(f.subnet)) {
    return Reject(c, RejectReason::kOverlapsSelf,
                  std::string(f.subnet_word) + " " + f.subnet.ToString() +
                      " overlaps this node's " + f.subnet_word + " " + f.self_subnet->ToString());
  }
  if (f.subnet.prefix != f.subnet_len) {
    return Reject(c, RejectReason::kWrongLength,
                  std::string(f.subnet_word) + " " + f.subnet.ToString() + " is not a /" +
                      std::to_string(f.subnet_len) + " (the cluster's " + f.len_key + ")");
  }
  if (IsUnset(f.ip)) {
    return Reject(c, RejectReason::kWrongFamily,
                  std::string("the lease has no ") + f.ip_word + ", but the cluster enables " +
                      fam);
  }
  if (f.ip.family() != f.family) {
    return Reject(c, RejectReason::kWrongFamily,
                  std::string(f.ip_word) + " " + f.ip.ToString() + " is not " + fam +
                      " like the cluster network " + net.Masked().ToString());
  }
  if (f.self_ip && !IsUnset(*f.self_ip) && *f.self_ip == f.ip) {
    return Reject(c, RejectReason::kOwnIp,
                  std::string(f.ip_word) + " " + f.ip.ToString() + " is this node's own IP");
  }
  if (cfg.backend == BackendType::kVxlan) {
    auto mac = cni::ParseMac(f.mac);
    if (!mac) {
      return Reject(c, RejectReason::kBadVtepMac,
                    f.mac.empty() ? std::string(f.mac_word) + " is missing"
                                  : std::string(f.mac_word) + " \"" + f.mac +
                                        "\" is not a MAC address");
    }
    const bool zero = std::all_of(mac->begin(), mac->end(), [](uint8_t b) { return b == 0; });
    // Bit 0 of the first byte marks group (multicast, and broadcast) addresses.
    if (zero || ((*mac)[0] & 1) != 0) {
      return Reject(c, RejectReason::kBadVtepMac,
                    std::string(f.mac_word) + " " + f.mac + " is not a unicast MAC address");
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<RejectedLease> CheckLease(const ClusterConfig& cfg, const SelfView& self,
                                        const LeaseCandidate& c) {
  if (!c.lease) {
    return Reject(c, RejectReason::kUndecodable,
                  c.decode_error.empty() ? "not a lease" : c.decode_error);
  }
  const NodeLease& l = *c.lease;
  if (cfg.enable_ipv4) {
    FamilyCheck f{cni::Family::kV4, cfg.network, cfg.subnet_len, "SubnetLen",
                  l.subnet, l.node_ip, l.vtep_mac, self.subnet, self.node_ip,
                  "subnet", "public IP", "VtepMAC"};
    if (auto r = CheckFamily(cfg, c, f)) return r;
  }
  if (cfg.enable_ipv6) {
    FamilyCheck f{cni::Family::kV6, cfg.ipv6_network, cfg.ipv6_subnet_len, "IPv6SubnetLen",
                  l.ipv6_subnet, l.node_ipv6, l.vtep_mac_v6, self.ipv6_subnet, self.node_ipv6,
                  "IPv6 subnet", "public IPv6", "IPv6 VtepMAC"};
    if (auto r = CheckFamily(cfg, c, f)) return r;
  }
  if (!c.backend_type.empty() && c.backend_type != BackendName(cfg.backend)) {
    return Reject(c, RejectReason::kWrongBackend,
                  "backend type \"" + c.backend_type + "\" is not the cluster's \"" +
                      BackendName(cfg.backend) + "\"");
  }
  return std::nullopt;
}

NodeLease EnabledFamiliesOnly(const ClusterConfig& cfg, NodeLease lease) {
  if (!cfg.enable_ipv4) {
    lease.node_ip = {};
    lease.subnet = {};
    lease.vtep_mac.clear();
  }
  if (!cfg.enable_ipv6) {
    lease.node_ipv6 = {};
    lease.ipv6_subnet = {};
    lease.vtep_mac_v6.clear();
  }
  return lease;
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
  // Every valid subnet of a family has the same length, so overlapping means equal:
  // a map per family finds the winner in O(log n). A lease wins only with all its
  // subnets free, and then holds all of them.
  std::map<cni::IpNet, const LeaseCandidate*> by_subnet;
  for (const LeaseCandidate* c : valid) {
    std::vector<cni::IpNet> mine;
    if (cfg.enable_ipv4) mine.push_back(c->lease->subnet.Masked());
    if (cfg.enable_ipv6) mine.push_back(c->lease->ipv6_subnet.Masked());
    const LeaseCandidate* winner = nullptr;
    cni::IpNet contested;
    for (const cni::IpNet& s : mine) {
      if (auto it = by_subnet.find(s); it != by_subnet.end()) {
        winner = it->second;
        contested = s;
        break;
      }
    }
    if (winner != nullptr) {
      out.rejected.push_back(Reject(*c, RejectReason::kOverlapsPeer,
                                    (contested.family() == cni::Family::kV4 ? "subnet "
                                                                            : "IPv6 subnet ") +
                                        contested.ToString() + " overlaps that of " +
                                        winner->key + ", which came first"));
      continue;
    }
    for (const cni::IpNet& s : mine) by_subnet.emplace(s, c);
    out.accepted.emplace(c->key, EnabledFamiliesOnly(cfg, *c->lease));
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
