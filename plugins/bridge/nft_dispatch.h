// Per-attachment nftables rules whose cost does not grow with the number of pods.
//
// Each network gets ONE base chain (one netfilter hook) holding a rule per verdict
// map: `<key> vmap @map`. Each attachment gets a regular chain (no hook) with its
// own rules, and one map element per key (a pod address, a host veth name) that
// jumps to it. ADD adds a chain and its elements, DEL removes them: one
// transaction each, independent of how many pods the node has, and a packet costs
// one hash lookup instead of a walk over every pod's rules (the reference adds a
// base chain or a jump rule per pod).
//
// The attachment chain's comment records its keys, so DEL finds the elements by
// the chain's name alone, without the pod's addresses (the netns may be gone).
#ifndef LINEN_PLUGINS_BRIDGE_NFT_DISPATCH_H_
#define LINEN_PLUGINS_BRIDGE_NFT_DISPATCH_H_

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/netlink/nftables.h"

namespace bridge {

// 16 hex digits of SHA-512, for names short enough for nftables: a network's base
// chain and maps (of `network`), an attachment's chain (of "ifname:containerID").
std::string NetworkHash(const std::string& network);
std::string AttachmentHash(const std::string& ifname, const std::string& container_id);

struct DispatchMap {
  cni::nft::SetSpec set;
  cni::nft::Rule base_rule;  // ends in a lookup of `set` as a verdict map
  std::string base_comment;
};

struct DispatchSpec {
  cni::nft::Family family;
  std::string table;
  std::string base_chain;
  cni::nft::Hook hook;
  std::string chain_comment;
  std::vector<DispatchMap> maps;
  // The keys an attachment chain's comment records, per map index.
  std::function<std::vector<std::pair<size_t, std::string>>(const std::string& comment)>
      keys_of_comment;
};

struct AttachmentRules {
  std::string chain;    // regular chain, unique per attachment
  std::string comment;  // must record `keys` for keys_of_comment
  std::vector<std::pair<cni::nft::Rule, std::string>> rules;  // rule, comment
  std::vector<std::pair<size_t, std::string>> keys;           // (map index, key)
};

// Installs the attachment (replacing what a previous ADD of the same chain left),
// creating the table, base chain and maps on first use.
cni::Status SetUpAttachment(cni::nft::Socket& sock, const DispatchSpec& spec,
                            const AttachmentRules& a);
// Removes the attachment's chain and the elements that jump to it; absent is success.
cni::Status TearDownAttachment(cni::nft::Socket& sock, const DispatchSpec& spec,
                               const std::string& chain);
// The base chain with its rules, the attachment chain, and every key of `keys`
// mapped to it; the error says what is missing.
cni::Status CheckAttachment(cni::nft::Socket& sock, const DispatchSpec& spec,
                            const std::string& chain,
                            const std::vector<std::pair<size_t, std::string>>& keys);
// Removes every attachment chain named `prefix`* that is not in `keep`, with its
// elements, in one transaction after one listing.
cni::Status GcAttachments(cni::nft::Socket& sock, const DispatchSpec& spec,
                          const std::string& prefix, const std::set<std::string>& keep);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_NFT_DISPATCH_H_
