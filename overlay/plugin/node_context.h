// Who this node is, for the meta-plugins: from the static topology (by name,
// hostname or owned node IP) or, in agent mode, from linend's subnet.env.
#ifndef LINEN_OVERLAY_PLUGIN_NODE_CONTEXT_H_
#define LINEN_OVERLAY_PLUGIN_NODE_CONTEXT_H_

#include <chrono>
#include <vector>

#include "libcni/netlink/handle.h"
#include "overlay/backend/backend.h"
#include "overlay/plugin/delegate.h"
#include "overlay/plugin/meta_conf.h"

namespace linen::overlay {

struct StaticNode {
  LocalNode local;
  std::vector<NodeLease> peers;
};

// Static mode only. Local addresses are read through `h` (the node namespace).
cni::Result<StaticNode> ResolveStaticNode(const MetaConf& m, cni::nl::Handle& h);

// Agent mode: subnet.env. Missing file -> code 11 (linend not up yet: try later).
cni::Result<NodeNet> ReadAgentNode(const MetaConf& m);

// Agent mode, for STATUS: linend's readiness mark (ReadyMarkPath of the subnet file)
// says ready and is not past its time. Otherwise code 50 (kNotAvailable) saying why:
// no mark, linend's own reason, or a stale mark (linend died or is stuck).
cni::Status CheckAgentReady(const MetaConf& m,
                            std::chrono::system_clock::time_point now =
                                std::chrono::system_clock::now());

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_PLUGIN_NODE_CONTEXT_H_
