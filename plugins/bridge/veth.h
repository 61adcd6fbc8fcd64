// The pod's veth pair: container end created directly inside the pod's namespace
// under CNI_IFNAME (one netlink request, no move afterwards), host end on the bridge.
#ifndef LINEN_PLUGINS_BRIDGE_VETH_H_
#define LINEN_PLUGINS_BRIDGE_VETH_H_

#include <string>

#include "libcni/error.h"
#include "libcni/netlink/handle.h"
#include "netns/netns.h"
#include "plugins/bridge/config.h"
#include "libcni/rollback.h"

namespace bridge {

// "veth" + the first 8 hex digits of SHA-512("<containerID>:<ifname>"): stable for an
// attachment, so DEL, CHECK and operators can find it without state.
std::string HostVethName(const std::string& container_id, const std::string& ifname);

struct VethPair {
  cni::nl::LinkInfo host;       // in the node namespace, enslaved to the bridge, up
  cni::nl::LinkInfo container;  // in the pod namespace, still down
};

// Creates the pair (MTU on both ends, conf.mac on the container end, a random MAC
// pinned on the host end), attaches the host end to `bridge_index` with hairpin,
// isolation and VLANs as configured, and brings it up. Registers the pair's removal
// on `undo` as soon as it exists. An existing CNI_IFNAME in the pod is an error
// naming it; nothing is left behind on any failure.
cni::Result<VethPair> SetupVeth(cni::nl::Handle& host, cni::nl::Handle& container,
                                const cni::NetNs& container_ns, const std::string& ifname,
                                const std::string& host_name, const BridgeConf& conf,
                                int bridge_index, cni::Rollback& undo);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_VETH_H_
