// nftables masquerade (`ipMasq`, the default backend): table `inet linen_masquerade`.
// Per network, one NAT base chain masq-<hash(net)> on postrouting (priority srcnat)
// with one rule per pod subnet S,
//   ip saddr @pods4-<h>-<hash(S)> ip daddr != S ip daddr != 224.0.0.0/4 masquerade
// where pods4-<h>-<hash(S)> maps each pod address of S to its attachment's owner
// key, and a record map per family, att4-<h> (owner . n -> address . S's first .
// last), which DEL reads to find what to remove without the pod's netns. An ADD
// adds two elements per address and a DEL removes them: no chain and no `jump` per
// pod, and only hash sets, so nothing an ADD, a DEL or a packet costs grows with
// the pods on the node.
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

// "masq-" + 16 hex of SHA-512(network).
std::string NftBaseChainName(const std::string& network);
// "net: N, if: I, id: C": the pod-address element's comment.
std::string NftComment(const MasqTag& tag);
// The attachment's owner key as nft lists it: 15 hex of SHA-512(ifname:containerID).
std::string NftOwnerKey(const MasqTag& tag);
// The chain an older linen gave the attachment: NftBaseChainName + "-" + 16 hex.
std::string NftLegacyChainName(const MasqTag& tag);

cni::Status NftSetupMasq(cni::nft::Socket& sock, const std::vector<cni::IpNet>& ips,
                         const MasqTag& tag);
cni::Status NftTeardownMasq(cni::nft::Socket& sock, const MasqTag& tag);
// The network's base chain and rules, and each of `ips` held by this attachment.
cni::Status NftCheckMasq(cni::nft::Socket& sock, const std::vector<cni::IpAddr>& ips,
                         const MasqTag& tag);
cni::Status NftGcMasq(cni::nft::Socket& sock, const std::string& network,
                      const Attachments& valid);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_MASQ_NFT_H_
