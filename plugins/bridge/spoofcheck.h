// macspoofchk: frames entering the bridge from the pod's port must carry the pod's
// MAC. Table `bridge linen_spoofchk`, one filter base chain per attachment on the
// bridge prerouting hook (priority -300, as the reference) with a single
// `iifname <host veth> ether saddr != <mac> drop` rule. Set up and torn down with one
// libnftables transaction each, found by name (no listing) like the masquerade chains.
#ifndef LINEN_PLUGINS_BRIDGE_SPOOFCHECK_H_
#define LINEN_PLUGINS_BRIDGE_SPOOFCHECK_H_

#include <string>
#include <utility>
#include <vector>

#include "libcni/error.h"

namespace bridge {

inline constexpr const char* kSpoofTable = "linen_spoofchk";

struct SpoofTag {
  std::string network;
  std::string ifname;
  std::string container_id;
};

std::string SpoofChainName(const SpoofTag& tag);
cni::Status SetupSpoofCheck(const std::string& host_veth, const std::string& mac,
                            const SpoofTag& tag);
cni::Status TeardownSpoofCheck(const SpoofTag& tag);  // absent is success
// Removes spoof-check chains of `network` whose (containerID, ifname) is not valid.
cni::Status GcSpoofCheck(const std::string& network,
                         const std::vector<std::pair<std::string, std::string>>& valid);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_SPOOFCHECK_H_
