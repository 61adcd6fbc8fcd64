// Where a node learns the cluster: its own lease (pod subnet) and its peers. The
// static topology file, etcd and the Kubernetes API implement it; backends never know
// which is behind.
#ifndef LINEN_OVERLAY_REGISTRY_REGISTRY_H_
#define LINEN_OVERLAY_REGISTRY_REGISTRY_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"

namespace linen::overlay {

enum class BackendType { kHostGw, kVxlan };
const char* BackendName(BackendType t);                          // "host-gw", "vxlan"
cni::Result<BackendType> ParseBackendName(std::string_view name);  // code 7 otherwise

// Cluster-wide settings, identical on every node. Dual-stack follows flannel's
// model: each family has its own network and subnet length, and a family's fields
// (here and in NodeLease) mean something only when that family is enabled.
// IPv6-only: enable_ipv4 = false, enable_ipv6 = true.
struct ClusterConfig {
  bool enable_ipv4 = true;     // flannel's EnableIPv4
  bool enable_ipv6 = false;    // flannel's EnableIPv6
  cni::IpNet network;          // IPv4, e.g. 10.244.0.0/16 (flannel's Network)
  int subnet_len = 24;         // flannel's defaulting rules when unset
  cni::IpNet ipv6_network;     // e.g. fd00:10:244::/56 (flannel's IPv6Network)
  int ipv6_subnet_len = 64;    // flannel's IPv6SubnetLen
  BackendType backend = BackendType::kVxlan;
  uint32_t vni = 1;
  uint16_t port = 8472;
  bool direct_routing = false;
  int mtu = 0;                 // 0 = derive from the underlay
  bool ip_masq = true;         // masquerade traffic leaving `network`
};

// One node's lease: what peers need to reach its pods. The IPv4 fields are
// meaningful when the cluster enables IPv4, the IPv6 ones when it enables IPv6.
struct NodeLease {
  std::string name;
  cni::IpAddr node_ip;         // IPv4 underlay (public) address (flannel's PublicIP)
  cni::IpNet subnet;           // IPv4 pod subnet, network address form
  std::string vtep_mac;        // IPv4 VTEP MAC; vxlan only, "" for host-gw
  cni::IpAddr node_ipv6;       // IPv6 underlay address (flannel's PublicIPv6)
  cni::IpNet ipv6_subnet;      // IPv6 pod subnet, network address form
  std::string vtep_mac_v6;     // IPv6 VTEP MAC (flannel's BackendV6Data.VtepMAC)
  bool operator==(const NodeLease&) const = default;
};

// "Not set" for a lease's per-family fields: the default-constructed value
// (0.0.0.0/0, 0.0.0.0), or the unspecified address of either family. flannel writes
// an IPv6-only lease's IPv4 part as 0.0.0.0-0 and PublicIP "0.0.0.0".
inline bool IsUnset(const cni::IpNet& n) { return n.prefix == 0 && n.addr.IsUnspecified(); }
inline bool IsUnset(const cni::IpAddr& a) { return a.IsUnspecified(); }

// A VTEP MAC every node can compute for a static topology: locally administered,
// unicast, 0e:4c:<node IPv4 bytes> (v6: last four bytes).
std::string DeriveVtepMac(const cni::IpAddr& node_ip);
// The IPv6 VTEP's: 0e:6c:<last four bytes of the node's IPv6 address>, so it never
// equals an IPv4 VTEP's MAC (both VTEPs sit on the same node).
std::string DeriveVtepMacV6(const cni::IpAddr& node_ipv6);

struct PeerEvent {
  enum class Kind { kAdded, kChanged, kRemoved } kind;
  NodeLease lease;
};

// Why a lease was rejected. The names are stable (metric label values, docs).
enum class RejectReason {
  kUndecodable,     // "undecodable": key or value is not a lease
  kOutsideNetwork,  // "outside_network": subnet not inside the cluster network
  kOverlapsSelf,    // "overlaps_self": overlaps this node's own subnet
  kWrongLength,     // "wrong_length": subnet is not /subnet_len
  kWrongFamily,     // "wrong_family": public IP not of its family, or an enabled
                    //   family's subnet or public IP missing from the lease
  kOwnIp,           // "own_ip": a public IP (either family) is this node's
  kBadVtepMac,      // "bad_vtep_mac": vxlan VTEP MAC (either family) missing,
                    //   unparsable or not unicast
  kWrongBackend,    // "wrong_backend": backend type is not the cluster's
  kOverlapsPeer,    // "overlaps_peer": overlaps an older accepted lease
};
inline constexpr std::array<RejectReason, 9> kAllRejectReasons = {
    RejectReason::kUndecodable, RejectReason::kOutsideNetwork, RejectReason::kOverlapsSelf,
    RejectReason::kWrongLength, RejectReason::kWrongFamily,    RejectReason::kOwnIp,
    RejectReason::kBadVtepMac,  RejectReason::kWrongBackend,   RejectReason::kOverlapsPeer};
const char* RejectReasonName(RejectReason r);

// A lease a registry read but will not hand out as a peer (lease_validation.h).
struct RejectedLease {
  std::string key;
  RejectReason reason = RejectReason::kUndecodable;
  std::string detail;  // human text naming the offending field and value
  std::string value;   // the value it was judged on
  bool operator==(const RejectedLease&) const = default;
};

class Registry {
 public:
  virtual ~Registry() = default;
  virtual cni::Result<ClusterConfig> Config() = 0;
  // Takes (or keeps) this node's lease. `wanted` carries name, node IP and VTEP MAC;
  // the registry fills in the subnet (keeping a previous one when still ours).
  virtual cni::Result<NodeLease> Acquire(const NodeLease& wanted) = 0;
  virtual cni::Status Renew() = 0;
  virtual cni::Status Release() = 0;
  // Every accepted lease but this node's (the rules: lease_validation.h).
  virtual cni::Result<std::vector<NodeLease>> ListPeers() = 0;
  // Blocks up to `timeout` for changes after the last ListPeers/WaitPeers; returns
  // them (empty on timeout). An error means the watch was lost: re-list.
  virtual cni::Result<std::vector<PeerEvent>> WaitPeers(std::chrono::milliseconds timeout) = 0;
  // The leases the last ListPeers/WaitPeers judged invalid (sorted by key). They are
  // never among the peers; a registry that refuses bad input outright (the static
  // topology) has none.
  virtual std::vector<RejectedLease> Rejected() const { return {}; }
  // This node's data path is up (device, routes, subnet.env). The kubernetes registry
  // tells the API server (NetworkUnavailable=False); the others have nobody to tell.
  // An error is worth a log line, not a retry loop: the registry retries on its own.
  virtual cni::Status DataPathUp() { return cni::OkStatus(); }
};

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_REGISTRY_REGISTRY_H_
