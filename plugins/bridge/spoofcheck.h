// macspoofchk: frames entering the bridge from the pod's port must carry the pod's
// MAC. Table `bridge linen_spoofchk`; per network one filter base chain
// spoof-<hash(net)> on the bridge prerouting hook (priority -300, as the reference)
// whose rule looks the input port up in the verdict map ports-<hash(net)>; per
// attachment a regular chain spoof-<hash(net)>-<hash(if:id)> holding
// `ether saddr != <mac> drop`, and one map element (the host veth) that jumps to it
// (nft_dispatch.h): constant cost per ADD/DEL and per frame, whatever the pod count.
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

std::string SpoofChainName(const SpoofTag& tag);
cni::Status SetupSpoofCheck(cni::nft::Socket& sock, const std::string& host_veth,
                            const std::string& mac, const SpoofTag& tag);
cni::Status TeardownSpoofCheck(cni::nft::Socket& sock, const SpoofTag& tag);  // absent is success
// Removes spoof-check chains of `network` whose (containerID, ifname) is not valid.
cni::Status GcSpoofCheck(cni::nft::Socket& sock, const std::string& network,
                         const std::vector<std::pair<std::string, std::string>>& valid);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_SPOOFCHECK_H_
