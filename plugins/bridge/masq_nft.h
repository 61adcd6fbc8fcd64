// nftables masquerade (`ipMasq`, the default backend): table `inet linen_masquerade`.
// Per network, one NAT base chain masq-<hash(net)> on postrouting (priority srcnat)
// whose rules look the source address up in the verdict maps masq4-/masq6-<hash(net)>;
// per attachment, a regular chain masq-<hash(net)>-<hash(if:id)> with
//   ip[6] saddr A ip[6] daddr != A's subnet ip[6] daddr != multicast masquerade
// per address, commented with the readable tag, and one map element per address
// that jumps to it (nft_dispatch.h). ADD and DEL cost the same with 1 or 1,000 pods.
#ifndef LINEN_PLUGINS_BRIDGE_MASQ_NFT_H_
#define LINEN_PLUGINS_BRIDGE_MASQ_NFT_H_

#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/netlink/nftables.h"
#include "plugins/bridge/masq.h"

namespace bridge {

inline constexpr const char* kNftTable = "linen_masquerade";

// "masq-" + 16 hex of SHA-512(network) + "-" + 16 hex of SHA-512(ifname:containerID).
std::string NftChainPrefix(const std::string& network);
std::string NftChainName(const MasqTag& tag);
std::string NftBaseChainName(const std::string& network);
std::string NftComment(const MasqTag& tag);

cni::Status NftSetupMasq(cni::nft::Socket& sock, const std::vector<cni::IpNet>& ips,
                         const MasqTag& tag);
cni::Status NftTeardownMasq(cni::nft::Socket& sock, const MasqTag& tag);
// The network's dispatch and this attachment's chain, with `ips` mapped to it.
cni::Status NftCheckMasq(cni::nft::Socket& sock, const std::vector<cni::IpAddr>& ips,
                         const MasqTag& tag);
cni::Status NftGcMasq(cni::nft::Socket& sock, const std::string& network,
                      const Attachments& valid);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_MASQ_NFT_H_
