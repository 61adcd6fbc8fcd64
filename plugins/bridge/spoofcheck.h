// macspoofchk: frames entering the bridge from the pod's port must carry the pod's
// MAC. Table `bridge linen_spoofchk`; per network one filter base chain
// spoof-<hash(net)> on the bridge prerouting hook (priority -300, as the reference)
// with the rule
//   iifname @macs-<h> iifname . ether saddr != @portmac-<h> drop
// where macs-<h> maps each pod's host veth to the pod's MAC and portmac-<h> holds
// the pairs. An ADD adds two elements, a DEL removes them (the host veth's name
// follows from the attachment, HostVethName): constant cost per ADD/DEL and per
// frame, no chain or `jump` per pod.
#ifndef LINEN_PLUGINS_BRIDGE_SPOOFCHECK_H_
#define LINEN_PLUGINS_BRIDGE_SPOOFCHECK_H_

#include <string>
#include <utility>
#include <vector>

#include "libcni/error.h"
#include "libcni/netlink/nftables.h"

namespace bridge {

inline constexpr const char* kSpoofTable = "linen_spoofchk";

struct SpoofTag {
  std::string network;
  std::string ifname;
  std::string container_id;
};

cni::Status SetupSpoofCheck(cni::nft::Socket& sock, const std::string& host_veth,
                            const std::string& mac, const SpoofTag& tag);
cni::Status TeardownSpoofCheck(cni::nft::Socket& sock, const SpoofTag& tag);  // absent is success
// The port is checked, against exactly `mac`.
cni::Status CheckSpoofCheck(cni::nft::Socket& sock, const std::string& host_veth,
                            const std::string& mac, const SpoofTag& tag);
// Removes the spoof checks of `network` whose (containerID, ifname) is not valid.
cni::Status GcSpoofCheck(cni::nft::Socket& sock, const std::string& network,
                         const std::vector<std::pair<std::string, std::string>>& valid);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_SPOOFCHECK_H_
