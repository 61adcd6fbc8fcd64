// Node objects as the kubernetes registry reads and writes them, in flanneld's
// --kube-subnet-mgr format (flannel pkg/subnet/kube) so that flannel and linen nodes
// read each other:
//   spec.podCIDR / spec.podCIDRs      the node's pod subnet(s), one per family
//   <prefix>/kube-subnet-manager      "true": the node takes part
//   <prefix>/backend-type             "vxlan" | "host-gw"
//   <prefix>/backend-data             vxlan: {"VNI":1,"VtepMAC":"0e:.."}; host-gw: null
//   <prefix>/backend-v6-data          the same for IPv6
//   <prefix>/public-ip, public-ipv6   the underlay address(es) peers send to
//   <prefix>/public-ip-overwrite      set by an operator: publish this instead (NAT)
// with prefix "flannel.alpha.coreos.com/" by default.
#ifndef LINEN_OVERLAY_REGISTRY_KUBERNETES_NODE_CODEC_H_
#define LINEN_OVERLAY_REGISTRY_KUBERNETES_NODE_CODEC_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/types.h"
#include "overlay/registry/lease_validation.h"
#include "overlay/registry/registry.h"

namespace linen::kube {

inline constexpr const char* kDefaultAnnotationPrefix = "flannel.alpha.coreos.com";

struct AnnotationNames {
  std::string kube_subnet_manager;
  std::string backend_type;
  std::string backend_data;
  std::string backend_v6_data;
  std::string public_ip;
  std::string public_ipv6;
  std::string public_ip_overwrite;
  std::string public_ipv6_overwrite;
};

// flanneld's rules for --kube-annotation-prefix: "fqdn" gets "/", "fqdn/x" gets "-";
// at most one '/'; lower-case DNS labels. Code 7 otherwise.
cni::Result<AnnotationNames> MakeAnnotationNames(const std::string& prefix);

// What the registry keeps of a Node.
struct KubeNode {
  std::string name;
  std::string resource_version;
  int64_t created = 0;                // metadata.creationTimestamp, seconds (0 unknown)
  std::vector<std::string> pod_cidrs;  // spec.podCIDRs, else [spec.podCIDR]
  std::map<std::string, std::string> annotations;
  bool operator==(const KubeNode&) const = default;
};

// A Node object (code 6 naming the field when it is not one).
cni::Result<KubeNode> DecodeNode(const cni::json& j);

struct NodeList {
  std::vector<KubeNode> items;
  std::string resource_version;  // of the list: the watch starts after it
  std::string continue_token;    // metadata.continue: more pages follow
};
cni::Result<NodeList> DecodeNodeList(const cni::json& j);

// The node's pod subnet of one family (4 or 6); nullopt when it has none. Code 7 for a
// podCIDR that is not a CIDR.
cni::Result<std::optional<cni::IpNet>> PodCidr(const KubeNode& n, int family);

// The node as a peer candidate for overlay::ValidateLeases; nullopt when the node does
// not take part (no kube-subnet-manager "true" annotation, or no podCIDR yet). A
// node that takes part but whose annotations cannot be read becomes a candidate
// without a lease (rejected as undecodable, with the reason).
std::optional<overlay::LeaseCandidate> CandidateFromNode(const KubeNode& n,
                                                         const AnnotationNames& names,
                                                         const overlay::ClusterConfig& cfg);

// The annotation values a node publishes for `lease` (flannel's exact strings).
std::map<std::string, std::string> LeaseAnnotations(const overlay::NodeLease& lease,
                                                    const overlay::ClusterConfig& cfg,
                                                    const AnnotationNames& names);

// The VtepMAC in a backend-data annotation value; "" when there is none to read.
std::string VtepMacOf(const std::string& backend_data);

// JSON merge patch body (RFC 7386) setting `set` and removing `remove` under
// metadata.annotations.
std::string AnnotationsMergePatch(const std::map<std::string, std::string>& set,
                                  const std::vector<std::string>& remove);

// Strategic merge patch body setting the NetworkUnavailable condition to False; the
// conditions list merges by "type", so the kubelet's own conditions stay. `now` is
// RFC 3339 (UTC).
std::string NetworkAvailablePatch(const std::string& now);
std::string Rfc3339Now();

}  // namespace linen::kube

#endif  // LINEN_OVERLAY_REGISTRY_KUBERNETES_NODE_CODEC_H_
