// nftables masquerade: table `inet linen_masquerade`, one NAT base chain per
// attachment on postrouting (priority srcnat) named masq-<hash(net)>-<hash(if:id)>
// and commented with the readable tag. ADD, DEL and GC are each one transaction
// through libnftables (no child process). A base chain per attachment makes DEL a
// lookup-free `delete chain` and keeps attachments from ever touching each other's
// rules, at the cost of one saddr compare per attachment per NATed packet.
#ifndef LINEN_PLUGINS_BRIDGE_MASQ_NFT_H_
#define LINEN_PLUGINS_BRIDGE_MASQ_NFT_H_

#include <set>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "plugins/bridge/masq.h"

namespace bridge {

inline constexpr const char* kNftTable = "linen_masquerade";

// "masq-" + 16 hex of SHA-512(network) + "-" + 16 hex of SHA-512(ifname:containerID).
std::string NftChainPrefix(const std::string& network);
std::string NftChainName(const MasqTag& tag);
std::string NftComment(const MasqTag& tag);

// The nft scripts, exposed for tests.
std::string NftSetupScript(const std::vector<cni::IpNet>& ips, const MasqTag& tag);
std::string NftTeardownScript(const MasqTag& tag);

cni::Status NftSetupMasq(const std::vector<cni::IpNet>& ips, const MasqTag& tag);
cni::Status NftTeardownMasq(const MasqTag& tag);
cni::Status NftGcMasq(const std::string& network, const Attachments& valid);

// Deletes the chains of `family table` named `prefix`* that are not in `keep`, in one
// transaction after one listing; a missing table is success.
cni::Status NftGcChains(const std::string& family, const std::string& table,
                        const std::string& prefix, const std::set<std::string>& keep);

// Runs an nft script as one transaction in the calling thread's namespace; with
// `json_out` the listing output is returned in JSON.
cni::Result<std::string> NftRun(const std::string& script, bool json_out = false);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_MASQ_NFT_H_
