// IP masquerade for pod traffic leaving its subnet (`ipMasq`): one set of rules per
// attachment, identified by (network, ifname, containerID) so DEL and GC find them
// without knowing the pod's addresses (no leak with an empty netns, plugins#810).
// nftables (default) goes over netlink in-process (masq_nft.h); iptables execs
// iptables-restore and is used only when `ipMasqBackend: "iptables"` is configured.
#ifndef LINEN_PLUGINS_BRIDGE_MASQ_H_
#define LINEN_PLUGINS_BRIDGE_MASQ_H_

#include <string>
#include <utility>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/netlink/nftables.h"
#include "plugins/bridge/config.h"

namespace bridge {

struct MasqTag {
  std::string network;
  std::string ifname;
  std::string container_id;
};

// (containerID, ifname) pairs that GC must keep.
using Attachments = std::vector<std::pair<std::string, std::string>>;

// `ips` are the pod's addresses with their prefix (traffic to that prefix and to
// multicast is left alone). Replaces rules a previous ADD of the same tag left.
// `nft` is used by the nftables backend only.
cni::Status SetupMasq(MasqBackend backend, cni::nft::Socket& nft, const std::vector<cni::IpNet>& ips,
                      const MasqTag& tag);
// Removes the tag's rules; absent is success.
cni::Status TeardownMasq(MasqBackend backend, cni::nft::Socket& nft, const MasqTag& tag);
// Removes rules of `network` whose attachment is not in `valid`.
cni::Status GcMasq(MasqBackend backend, cni::nft::Socket& nft, const std::string& network,
                   const Attachments& valid);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_MASQ_H_
