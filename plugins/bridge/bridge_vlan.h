// Bridge VLAN filtering (the reference's `vlan` / `vlanTrunk`). The shared netlink
// Handle has no bridge-VLAN calls, and these messages are needed only when a VLAN is
// configured, so they are built here with plain rtnetlink (no libnl), one short-lived
// socket per call in the calling thread's namespace.
//
// Kernels built without CONFIG_BRIDGE_VLAN_FILTERING answer EOPNOTSUPP; the error
// carries the kernel's words ("Operation not supported") so ADD fails cleanly.
#ifndef LINEN_PLUGINS_BRIDGE_BRIDGE_VLAN_H_
#define LINEN_PLUGINS_BRIDGE_BRIDGE_VLAN_H_

#include <cstdint>
#include <vector>

#include "libcni/error.h"

namespace bridge {

// IFLA_BR_VLAN_FILTERING on the bridge.
cni::Status SetVlanFiltering(int bridge_index, bool on);

// Adds `vid` to a bridge port (master side); `pvid_untagged` makes it the port's
// PVID and egress-untagged (the access VLAN), otherwise it is a tagged trunk VID.
cni::Status PortVlanAdd(int port_index, uint16_t vid, bool pvid_untagged);
// Removes `vid` from a bridge port; absent is success.
cni::Status PortVlanDel(int port_index, uint16_t vid);

// The reference's port VLAN plan: drop the default VLAN 1 unless preserved, access
// VLAN `vlan` as PVID untagged, trunk VIDs tagged, native VLAN 1 when only a trunk.
cni::Status ConfigurePortVlans(int port_index, int vlan, const std::vector<int>& trunk,
                               bool preserve_default_vlan);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_BRIDGE_VLAN_H_
