// The node-side bridge (default cni0): created on first use, reused after.
#ifndef LINEN_PLUGINS_BRIDGE_BRIDGE_DEVICE_H_
#define LINEN_PLUGINS_BRIDGE_BRIDGE_DEVICE_H_

#include "libcni/error.h"
#include "libcni/netlink/handle.h"
#include "libcni/rollback.h"
#include "netns/netns.h"
#include "plugins/bridge/config.h"

namespace bridge {

// Makes "this bridge has no ports, delete it" safe against a concurrent ADD that has
// found the bridge but not yet attached its port. ADDs hold it shared from before
// they look the bridge up until their port is on it (so they never wait for each
// other); the removal of an unused bridge holds it exclusively while it looks at the
// ports and deletes. The lock is flock(2) on the network namespace's own inode
// (/proc/thread-self/ns/net): bridge names are per namespace, so is the lock, with no
// file to create or clean up, and the kernel drops it if the plugin dies.
class BridgeLock {
 public:
  // Blocks until shared. Taken in the calling thread's network namespace.
  static cni::Result<BridgeLock> Shared();
  BridgeLock(BridgeLock&&) = default;
  BridgeLock& operator=(BridgeLock&&) = default;

  // flock converts by dropping the shared lock first, so an ADD may slip in and
  // attach its port before this returns: callers look at the ports only afterwards.
  cni::Status Exclusive();
  // Idempotent; the destructor (closing the fd) releases too.
  void Release();

 private:
  explicit BridgeLock(cni::NetNs ns) : ns_(std::move(ns)) {}
  cni::NetNs ns_;
};

struct BridgeState {
  cni::nl::LinkInfo link;
  bool created = false;  // this call created it (so its MAC is already pinned)
};

// In `host`'s namespace (the calling thread's, for the accept_ra sysctl), with `lock`
// held shared: creates the bridge if absent (EEXIST from a concurrent ADD is fine)
// with the configured MTU and an explicit random MAC, so the MAC never follows the
// ports; refuses a non-bridge of that name; sets promiscuous mode when asked,
// accept_ra=0, VLAN filtering when a VLAN is configured, and brings it up. Idempotent.
// A bridge this call creates gets its undo in `undo` at once, before any later step
// can fail: RemoveBridgeIfUnused. `host` and `lock` must outlive `undo`.
cni::Result<BridgeState> EnsureBridge(cni::nl::Handle& host, const BridgeConf& conf,
                                      BridgeLock& lock, cni::Rollback& undo);

// Deletes the bridge at `index` unless some link is its port, deciding under `lock`
// held exclusively (released afterwards). Best effort: for rollback.
void RemoveBridgeIfUnused(cni::nl::Handle& host, int index, BridgeLock& lock);

// For a bridge this plugin did not create, after our port joined it: if its MAC
// followed the port (a bridge whose MAC was never set takes its lowest port's),
// sets it back to `mac_before` explicitly, so the gateway MAC the pods know
// stays and no longer follows ports (00:..:00 or "" -> a random one). A MAC that
// did not move is left alone. Returns the MAC the bridge has afterwards.
cni::Result<std::string> PinBridgeMac(cni::nl::Handle& host, int bridge_index,
                                      const std::string& mac_before);

// The bridge as it is now; "not a bridge" and "not found" are errors naming it.
cni::Result<cni::nl::LinkInfo> BridgeByName(cni::nl::Handle& host, const std::string& name);

// Test builds only (bridge-faults, never shipped): `fail_at(point)` returning true
// makes that step fail as the kernel might. Point "bridge-up": setting a bridge this
// ADD created up (no test-made conflict can make that fail).
struct BridgeFaults {
  bool (*fail_at)(const char* point) = nullptr;
};
void SetBridgeFaults(const BridgeFaults& faults);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_BRIDGE_DEVICE_H_
