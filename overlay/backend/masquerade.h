// Masquerade for pod traffic leaving the cluster network, one nftables table per
// owner: `ip linen-<name>` (`ip6` for an IPv6 cluster), base chain postrouting (nat,
// srcnat) with one rule, commented with the cluster network:
//   ip saddr <cluster> ip daddr != <cluster> ip daddr != 224.0.0.0/4 counter masquerade
// Pod-to-pod traffic across nodes keeps its source address (the bridge plugin's own
// ipMasq would NAT it, since it masquerades everything leaving the *node* subnet).
// Node-level: never per pod. linend owns it in agent mode (SyncMasquerade on every
// resync); in static-topology mode the plugin adds it once (AddMasqueradeIfAbsent).
#ifndef LINEN_OVERLAY_BACKEND_MASQUERADE_H_
#define LINEN_OVERLAY_BACKEND_MASQUERADE_H_

#include <string>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/netlink/nftables.h"

namespace linen::overlay {

// "linen-" + name: the static-topology plugins use the CNI network name, linend "linend".
std::string MasqTableName(const std::string& name);
inline constexpr const char* kAgentMasqName = "linend";

// Creates the table only if it does not exist (an existing one is left alone,
// whatever it holds): one read when it exists, else one transaction. True when
// this call created it.
cni::Result<bool> AddMasqueradeIfAbsent(cni::nft::Socket& sock, const std::string& name,
                                        const cni::IpNet& cluster);
// Makes the table exactly the rule for `cluster`: nothing when it already is (two
// reads), else one transaction replaces it. True when it changed something.
cni::Result<bool> SyncMasquerade(cni::nft::Socket& sock, const std::string& name,
                                 const cni::IpNet& cluster);
// Removes the table; absent is success.
cni::Status DeleteMasquerade(cni::nft::Socket& sock, const std::string& name,
                             cni::Family family = cni::Family::kV4);
// The table holds the rule for `cluster` (code 101 otherwise).
cni::Status CheckMasquerade(cni::nft::Socket& sock, const std::string& name,
                            const cni::IpNet& cluster);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_MASQUERADE_H_
