// The nftables layout linen used before 2026-12, kept only to remove what such a
// linen left on a node. It gave each attachment a regular chain, entered through
// a `jump` element of a per-network verdict map; a jump in a map makes the kernel
// re-validate the whole table on every commit and every netdev event walk every
// chain, so each ADD grew slower with the pods on the node. The current layout
// (masq_nft.h, spoofcheck.h) has no chain per attachment and no jump.
//
// The attachment chain's comment records its keys, so DEL finds the elements by
// the chain's name alone.
#ifndef LINEN_PLUGINS_BRIDGE_NFT_DISPATCH_H_
#define LINEN_PLUGINS_BRIDGE_NFT_DISPATCH_H_

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "libcni/error.h"
#include "libcni/netlink/nftables.h"

namespace bridge {

// 16 hex digits of SHA-512, for names short enough for nftables: a network's base
// chain and sets (of `network`), an attachment's key (of "ifname:containerID").
std::string NetworkHash(const std::string& network);
std::string AttachmentHash(const std::string& ifname, const std::string& container_id);

struct LegacyDispatch {
  cni::nft::Family family;
  std::string table;
  std::vector<std::string> maps;  // the verdict maps, in the order keys_of_comment numbers them
  // The keys an attachment chain's comment records, as (map index, key).
  std::function<std::vector<std::pair<size_t, std::string>>(const std::string& comment)>
      keys_of_comment;
  std::string base_chain;                  // shared with the current layout
  std::vector<std::string> base_comments;  // of the base-chain rules that consult `maps`
};

// Removes the attachment's chain and the elements that jump to it; absent is
// success (one GET when there is no such chain).
cni::Status LegacyTearDown(cni::nft::Socket& sock, const LegacyDispatch& spec,
                           const std::string& chain);
// Removes every attachment chain named `prefix`* that is not in `keep`, with its
// elements; when no such chain is left, the base-chain rules and the maps too.
cni::Status LegacyGc(cni::nft::Socket& sock, const LegacyDispatch& spec, const std::string& prefix,
                     const std::set<std::string>& keep);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_NFT_DISPATCH_H_
