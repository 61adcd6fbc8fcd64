// The node-side bridge (default cni0): created on first use, reused after.
#ifndef LINEN_PLUGINS_BRIDGE_BRIDGE_DEVICE_H_
#define LINEN_PLUGINS_BRIDGE_BRIDGE_DEVICE_H_

#include "libcni/error.h"
#include "libcni/netlink/handle.h"
#include "plugins/bridge/config.h"

namespace bridge {

struct BridgeState {
  cni::nl::LinkInfo link;
  bool created = false;  // this call created it (so its MAC is already pinned)
};

// In `host`'s namespace (the calling thread's, for the accept_ra sysctl): creates the
// bridge if absent (EEXIST from a concurrent ADD is fine) with the configured MTU and
// an explicit random MAC, so the MAC never follows the ports; refuses a non-bridge of
// that name; sets promiscuous mode when asked, accept_ra=0, VLAN filtering when a VLAN
// is configured (a bridge this call created is removed again if the kernel refuses),
// and brings it up. Idempotent.
cni::Result<BridgeState> EnsureBridge(cni::nl::Handle& host, const BridgeConf& conf);

// For a bridge this plugin did not create, after our port joined it: if its MAC
// followed the port (a bridge whose MAC was never set takes its lowest port's),
// sets it back to `mac_before` explicitly, so the gateway MAC the pods know
// stays and no longer follows ports (00:..:00 or "" -> a random one). A MAC that
// did not move is left alone. Returns the MAC the bridge has afterwards.
cni::Result<std::string> PinBridgeMac(cni::nl::Handle& host, int bridge_index,
                                      const std::string& mac_before);

// The bridge as it is now; "not a bridge" and "not found" are errors naming it.
cni::Result<cni::nl::LinkInfo> BridgeByName(cni::nl::Handle& host, const std::string& name);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_BRIDGE_DEVICE_H_
