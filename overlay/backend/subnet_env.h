// The node's state file, flannel-compatible (/run/flannel/subnet.env layout, as
// flannel's pkg/subnet WriteSubnetFile writes it) so that flannel's own CNI plugin
// could read it too. Written by the host-gw/vxlan plugins (static topology) or by
// linend; read by the plugins in agent mode.
//
//   FLANNEL_NETWORK=10.244.0.0/16          (IPv4 enabled)
//   FLANNEL_SUBNET=10.244.1.1/24           (first usable address of the node subnet)
//   FLANNEL_IPV6_NETWORK=fd00:10:244::/56  (IPv6 enabled)
//   FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64
//   FLANNEL_MTU=1450
//   FLANNEL_IPMASQ=true
//   LINEN_BACKEND=vxlan                    (linen extras; readers ignore unknown keys)
//   LINEN_NODE=node1
//
// A family's pair is written when its subnet is set, and either pair alone is a
// valid file (IPv6-only: no FLANNEL_NETWORK / FLANNEL_SUBNET).
#ifndef LINEN_OVERLAY_BACKEND_SUBNET_ENV_H_
#define LINEN_OVERLAY_BACKEND_SUBNET_ENV_H_

#include <chrono>
#include <string>

#include "libcni/error.h"
#include "libcni/ip_net.h"

namespace linen::overlay {

inline constexpr const char* kDefaultSubnetFile = "/run/linen/subnet.env";

struct SubnetEnv {
  cni::IpNet network;   // IPv4 cluster network; unset (0.0.0.0/0) when IPv4 is off
  cni::IpNet subnet;    // IPv4 node subnet, network-address form (10.244.1.0/24)
  int mtu = 0;
  bool ip_masq = true;
  std::string backend;  // "vxlan" / "host-gw", may be empty when read
  std::string node;     // may be empty when read
  cni::IpNet ipv6_network;  // IPv6 cluster network; unset when IPv6 is off
  cni::IpNet ipv6_subnet;   // IPv6 node subnet, network-address form
  bool has_ipv4() const;
  bool has_ipv6() const;
  bool operator==(const SubnetEnv&) const = default;
};

// Atomic (cni::WriteFileAtomic); mode 0644. Creates the directory (0755) if
// needed. I/O errors -> code 5; neither family set, or a subnet without its
// network -> code 7 (nothing written).
cni::Status WriteSubnetEnv(const std::string& path, const SubnetEnv& env);
// Removes temp files a killed writer left next to `path` (the fixed temp name and the
// older "<name>.tmp.<pid>" ones). Call with the node lock held (or from linend).
cni::Status RemoveSubnetEnvTemps(const std::string& path);

// Missing file -> code 5 with kNotFound cause; missing/invalid variables -> code 7:
// neither family's pair, half a pair, a value not a CIDR of its family, bad MTU.
cni::Result<SubnetEnv> ReadSubnetEnv(const std::string& path);

// linend's readiness mark, "<subnet file>.ready", read by the plugins' STATUS in
// agent mode (subnet.env alone outlives linend on purpose, so it cannot say whether
// linend is alive). linend rewrites it whenever its readiness changes and at least
// every few seconds while it runs, each time promising "valid until now + its stall
// limit"; it removes it when it stops cleanly. A mark past its time means linend died
// or its loop is stuck.
//
//   LINEN_READY=false
//   LINEN_READY_UNTIL=1764646861          (epoch seconds)
//   LINEN_NOT_READY_REASON=no subnet leased (last error: ...)
struct ReadyMark {
  bool ready = false;
  std::string reason;  // why not, when !ready (one line)
  std::chrono::system_clock::time_point until;
};

std::string ReadyMarkPath(const std::string& subnet_file);
// Atomic, not fsync'd (Durability::kAtomicOnly): it is rewritten every few seconds,
// and a mark lost to a power cut is only "not ready" until linend writes it again.
cni::Status WriteReadyMark(const std::string& path, const ReadyMark& mark);
// Removes the mark and a temp file a killed writer left; absent is fine.
cni::Status RemoveReadyMark(const std::string& path);
// Missing file -> code 5 with kNotFound cause; invalid content -> code 7.
cni::Result<ReadyMark> ReadReadyMark(const std::string& path);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_SUBNET_ENV_H_
