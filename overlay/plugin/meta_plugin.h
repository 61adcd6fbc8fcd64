// The host-gw and vxlan CNI meta-plugins. Both run in the node's namespace:
//   ADD    resolve this node and its peers (static topology) or read subnet.env
//          (agent mode); under the node lock: EnsureNode + Reconcile, masquerade,
//          write subnet.env; then delegate the pod to bridge + host-local.
//   DEL    delegate only; node-level state stays (other pods use it).
//   CHECK  node-level entries for every peer + masquerade, then delegate CHECK.
//   STATUS code 50 when the backend is not ready, else delegate STATUS.
//   GC     forwarded to the delegate.
#ifndef LINEN_OVERLAY_PLUGIN_META_PLUGIN_H_
#define LINEN_OVERLAY_PLUGIN_META_PLUGIN_H_

#include "libcni/skel.h"

namespace linen::overlay {

cni::Result<cni::AddResult> MetaAdd(const cni::CmdArgs& args);
cni::Status MetaDel(const cni::CmdArgs& args);
cni::Status MetaCheck(const cni::CmdArgs& args);
cni::Status MetaStatus(const cni::CmdArgs& args);
cni::Status MetaGc(const cni::CmdArgs& args);

cni::PluginFuncs MetaPluginFuncs();

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_PLUGIN_META_PLUGIN_H_
