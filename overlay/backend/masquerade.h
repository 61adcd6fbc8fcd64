// Masquerade for pod traffic leaving the cluster network, one nftables table per
// owner and address family: `ip linen-<name>` for the IPv4 network, `ip6
// linen-<name>` for the IPv6 one (a dual-stack cluster has both), each with base
// chain postrouting (nat, srcnat) and one rule, commented with its cluster network:
//   ip saddr <network> ip daddr != <network> ip daddr != 224.0.0.0/4 counter masquerade
//   ip6 saddr <ipv6 network> ip6 daddr != <ipv6 network> ip6 daddr != ff00::/8 counter masquerade
// Pod-to-pod traffic across nodes keeps its source address in both families (the
// bridge plugin's own ipMasq would NAT it, since it masquerades everything leaving
// the *node* subnet).
// Node-level: never per pod. linend owns it in agent mode (SyncMasquerade on every
// resync); in static-topology mode the plugin adds it once (AddNodeMasqueradeIfAbsent).
#ifndef LINEN_OVERLAY_BACKEND_MASQUERADE_H_
#define LINEN_OVERLAY_BACKEND_MASQUERADE_H_

#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/netlink/nftables.h"
#include "overlay/registry/registry.h"

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

// The node masquerade for a whole cluster: the functions above for the network of
// every family the cluster enables (`networks`, one per family: ClusterNetworks, or
// the networks of subnet.env), the table name shared by the families.

// The table of each network's family, unless it exists (AddMasqueradeIfAbsent per
// family). Returns the families whose table this call created, for an undo; on an
// error it has removed them again.
cni::Result<std::vector<cni::Family>> AddNodeMasqueradeIfAbsent(
    cni::nft::Socket& sock, const std::string& name, const std::vector<cni::IpNet>& networks);
// Each family's table exactly as the config wants it: the rule for each enabled
// family's network when cluster.ip_masq, else no table; a family the cluster does
// not enable has no table. Nothing is written when all is in place. True when it
// changed something.
cni::Result<bool> SyncNodeMasquerade(cni::nft::Socket& sock, const std::string& name,
                                     const ClusterConfig& cluster);
// Each network's table holds its rule (code 101 otherwise, naming it).
cni::Status CheckNodeMasquerade(cni::nft::Socket& sock, const std::string& name,
                                const std::vector<cni::IpNet>& networks);
// Removes the table in both families; absent is success.
cni::Status DeleteNodeMasquerade(cni::nft::Socket& sock, const std::string& name);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_MASQUERADE_H_
