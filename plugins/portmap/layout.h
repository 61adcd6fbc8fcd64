// portmap's nftables layout: one `inet linen_portmap` table whose maps are keyed by
// (host address, protocol, port) or (protocol, port) and give the DNAT target
// (pod address . pod port); sets of (pod . pod) pairs and of (node interface . pod)
// drive the hairpin masquerade. Base chains and rules are fixed; ADD and DEL only add and delete
// elements, so the rule count does not grow with the number of pods. Every
// element carries its owner (container ID and ifname) as its comment, which is how
// DEL and GC find an attachment's entries without its prevResult or netns.
#ifndef LINEN_PLUGINS_PORTMAP_LAYOUT_H_
#define LINEN_PLUGINS_PORTMAP_LAYOUT_H_

#include <optional>
#include <string>
#include <vector>

#include "libcni/netlink/conntrack.h"
#include "libcni/netlink/nftables.h"
#include "plugins/portmap/config.h"

namespace portmap {

inline constexpr const char* kTable = "linen_portmap";
inline constexpr cni::nft::Family kFamily = cni::nft::Family::kInet;

// Sets and maps of the table.
inline constexpr const char* kHostIp4 = "hostip4";  // ip daddr . l4proto . port -> pod . port
inline constexpr const char* kHostIp6 = "hostip6";
inline constexpr const char* kAny4 = "any4";  // l4proto . port -> pod . port (any local address)
inline constexpr const char* kAny6 = "any6";
inline constexpr const char* kHairpin4 = "hairpin4";  // pod . pod: masquerade
inline constexpr const char* kHairpin6 = "hairpin6";
// iifname . pod: masquerade a DNATed packet that came in by the interface the pod is
// on-link behind (another pod on its bridge, through the node's address).
inline constexpr const char* kHairpinIf4 = "hairpinif4";
inline constexpr const char* kHairpinIf6 = "hairpinif6";
const std::vector<std::string>& AllSets();

// The comment that names an attachment: "<containerID>/<ifname>", or a digest of
// it when that would not fit nft's comment limit.
std::string Owner(const std::string& container_id, const std::string& ifname);

// Creates what is missing of the table, sets and chains, and rewrites the base
// chains' rules (flush + add, in the same transaction): idempotent, and repairs a
// hand-edited chain.
void EnsureLayout(cni::nft::Batch& b);

// Whether the table's rules (ListRules of every chain) are exactly those
// EnsureLayout writes, by their comments (which carry the layout's version): then
// ADD leaves the chains alone.
bool LayoutIsCurrent(const std::vector<cni::nft::RuleInfo>& rules);

// The node's interface behind which each pod address is on-link (the bridge, or
// the pod's own veth for ptp); "" when no on-link route leads to it.
struct PodLinks {
  std::string v4, v6;
};

struct Entry {
  std::string set;
  cni::nft::Elem elem;
  std::string what;  // "host port 8080/tcp on 10.0.0.1", for messages
};

// The elements one attachment needs. Code 7 when two mappings ask for the same
// host port, protocol and address.
cni::Result<std::vector<Entry>> EntriesFor(const PortmapConf& conf, const PodAddrs& pod,
                                           const PodLinks& links, const std::string& owner);

// Sets whose elements follow the pod address, whoever held it before.
bool IsHairpinSet(const std::string& set);

// The conntrack entries a UDP mapping element (of a map) catches; nullopt for
// other protocols and for the hairpin sets.
std::optional<cni::ct::Match> UdpMatchOf(const std::string& set, const std::string& key);

// "host port 8080/tcp on 10.0.0.1" from a map element's key, for messages.
std::string DescribeKey(const std::string& set, const std::string& key);

}  // namespace portmap

#endif  // LINEN_PLUGINS_PORTMAP_LAYOUT_H_
