// The delegate config for one pod: bridge + host-local over this node's subnet.
// Defaults (a key the user sets in "delegate" / "ipam" wins, except where noted):
//   type bridge, bridge cni0, isGateway + isDefaultGateway (the gateway is the
//   node subnet's first address; the default route lets pods leave the cluster),
//   hairpinMode true, ipMasq false (node-level masquerade instead, see
//   masquerade.h), mtu = backend MTU; ipam type host-local with ranges = [[node
//   subnet]] (forced). name, cniVersion, runtimeConfig, args come from the config.
// The rendered config is saved per attachment so DEL works after the node's
// subnet or the topology changed (as flannel's dataDir).
#ifndef LINEN_OVERLAY_PLUGIN_DELEGATE_H_
#define LINEN_OVERLAY_PLUGIN_DELEGATE_H_

#include <string>

#include "libcni/types.h"
#include "overlay/plugin/meta_conf.h"

namespace linen::overlay {

struct NodeNet {
  cni::IpNet network;  // cluster
  cni::IpNet subnet;   // this node's
  int mtu = 0;
  bool ip_masq = true;
};

cni::json RenderDelegate(const cni::NetConf& conf, const MetaConf& m, const NodeNet& n);
std::string DelegateType(const cni::json& delegate);

// <dataDir>/<net>-<containerID>-<ifname>, 0600, atomic.
std::string DelegatePath(const MetaConf& m, const std::string& net, const std::string& cid,
                         const std::string& ifname);
cni::Status SaveDelegate(const std::string& path, const cni::json& delegate);
cni::Result<cni::json> LoadDelegate(const std::string& path);  // kNotFound cause if absent
cni::Status RemoveDelegate(const std::string& path);          // absent is success

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_PLUGIN_DELEGATE_H_
