// Bridge VLAN filtering (the reference's `vlan` / `vlanTrunk`) and the bridge's
// byte options. The shared netlink Handle has no bridge-VLAN or IFLA_BR_* calls
// (libnl 3.7 has none), and these messages are needed only when a VLAN is
// configured or a bridge is created, so they are built here with plain rtnetlink,
// one short-lived socket per call in the calling thread's namespace.
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
// IFLA_BR_MCAST_SNOOPING on the bridge (bridge_device.cc says why linen's bridges
// have it off).
cni::Status SetMulticastSnooping(int bridge_index, bool on);

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
