// The delegate config for one pod: bridge + host-local over this node's subnet.
// Defaults (a key the user sets in "delegate" / "ipam" wins, except where noted):
//   type bridge, bridge cni0, isGateway + isDefaultGateway (the gateway is the
//   node subnet's first address; the default route lets pods leave the cluster),
//   hairpinMode true, ipMasq false (node-level masquerade instead, see
//   masquerade.h), mtu = backend MTU; ipam type host-local with ranges = one range
//   set per family the node has a subnet in, [[IPv4 subnet], [IPv6 subnet]]
//   (forced), as flannel's CNI plugin does with FLANNEL_SUBNET/FLANNEL_IPV6_SUBNET;
//   the bridge's isDefaultGateway then gives the pod a gateway and a default route
//   per family. name, cniVersion, runtimeConfig, args come from the config.
// The rendered config is saved per attachment so DEL works after the node's
// subnet or the topology changed (as flannel's dataDir).
#ifndef LINEN_OVERLAY_PLUGIN_DELEGATE_H_
#define LINEN_OVERLAY_PLUGIN_DELEGATE_H_

#include <string>
#include <vector>

#include "libcni/attachments.h"
#include "libcni/types.h"
#include "overlay/plugin/meta_conf.h"

namespace linen::overlay {

struct NodeNet {
  cni::IpNet network;  // cluster, IPv4; unset (0.0.0.0/0) when IPv4 is off
  cni::IpNet subnet;   // this node's IPv4 subnet; unset when IPv4 is off
  int mtu = 0;
  bool ip_masq = true;
  cni::IpNet ipv6_network;  // cluster, IPv6; unset when IPv6 is off
  cni::IpNet ipv6_subnet;   // this node's IPv6 subnet; unset when IPv6 is off
  // The cluster network of each family the node has a subnet in (IPv4 first): one
  // masquerade table each.
  std::vector<cni::IpNet> Networks() const;
};

cni::json RenderDelegate(const cni::NetConf& conf, const MetaConf& m, const NodeNet& n);
std::string DelegateType(const cni::json& delegate);

// <dataDir>/<net>:<containerID>:<ifname>, 0600, atomic. ':' occurs in none of the
// three (network names and container IDs are [A-Za-z0-9_.-], the kernel refuses it
// in interface names), so every attachment has its own name. Releases before this
// one wrote <net>-<containerID>-<ifname>, which is ambiguous ("a-b" + "c" and
// "a" + "b-c"); it is still read and removed.
std::string DelegatePath(const MetaConf& m, const std::string& net, const std::string& cid,
                         const std::string& ifname);
std::string LegacyDelegatePath(const MetaConf& m, const std::string& net, const std::string& cid,
                               const std::string& ifname);
// Not fsync'd: after a power loss the file may be missing or empty, and DEL then
// renders the config from the node's state instead (a per-pod fsync costs ms).
cni::Status SaveDelegate(const std::string& path, const cni::json& delegate);
cni::Result<cni::json> LoadDelegate(const std::string& path);  // kNotFound cause if absent
cni::Status RemoveDelegate(const std::string& path);          // absent is success
// Removes the saved configs of network `net` whose attachment is not in `valid`,
// in both name forms (the legacy one only when the file's own "name" is `net`).
cni::Status GcDelegates(const MetaConf& m, const std::string& net,
                        const std::vector<cni::Attachment>& valid);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_PLUGIN_DELEGATE_H_
