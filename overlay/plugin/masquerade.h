// Masquerade for pod traffic leaving the cluster network, one nftables table per
// network: `ip linen-<net>`, chain postrouting (nat, srcnat):
//   ip saddr <cluster> ip daddr != <cluster> ip daddr != 224.0.0.0/4 masquerade
// Pod-to-pod traffic across nodes keeps its source address (the bridge plugin's own
// ipMasq would NAT it, since it masquerades everything leaving the *node* subnet).
// Node-level and shared by every pod: ADD ensures it, DEL never removes it.
#ifndef LINEN_OVERLAY_PLUGIN_MASQUERADE_H_
#define LINEN_OVERLAY_PLUGIN_MASQUERADE_H_

#include <string>

#include "libcni/error.h"
#include "libcni/ip_net.h"

namespace linen::overlay {

std::string MasqTableName(const std::string& net_name);
// Atomically (re)creates the table in the calling thread's namespace; idempotent.
cni::Status EnsureMasquerade(const std::string& net_name, const cni::IpNet& cluster);
// Whether the table exists at all (ADD undoes only a table it created).
cni::Result<bool> MasqueradeExists(const std::string& net_name);
// Removes the table; absent is success.
cni::Status DeleteMasquerade(const std::string& net_name);
// The table exists with the rule for `cluster`.
cni::Status CheckMasquerade(const std::string& net_name, const cni::IpNet& cluster);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_PLUGIN_MASQUERADE_H_
