// flannel's network config (pkg/subnet/config.go), the one parser of it: the etcd
// registry reads it from <prefix>/config, the kubernetes registry from net-conf.json
// (a ConfigMap), with the same keys and defaults:
//   EnableIPv4 (default true), Network, SubnetLen, SubnetMin, SubnetMax,
//   EnableIPv6, IPv6Network, IPv6SubnetLen, IPv6SubnetMin, IPv6SubnetMax,
//   Backend{Type,VNI,Port,DirectRouting,MTU}; plus linen's "IPMasq".
// Keys it does not know (e.g. kube-flannel.yml's EnableNFTables) are ignored, as
// flannel ignores them.
#ifndef LINEN_OVERLAY_REGISTRY_NETWORK_CONFIG_H_
#define LINEN_OVERLAY_REGISTRY_NETWORK_CONFIG_H_

#include <string>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "overlay/registry/registry.h"

namespace linen::overlay {

// The cluster config plus the allocation bounds only the etcd registry uses.
struct NetworkConfig {
  ClusterConfig cluster;
  cni::IpAddr subnet_min;  // first subnet handed out (default: network + one subnet)
  cni::IpAddr subnet_max;  // last subnet handed out (default: the last one)
  cni::IpAddr ipv6_subnet_min;  // the same for IPv6, when enabled
  cni::IpAddr ipv6_subnet_max;
};

// Applies flannel's defaults (SubnetLen 24 for networks up to /22, else prefix+2;
// IPv6SubnetLen 64 up to /62, else prefix+2) and validates. Code 6 for bad JSON or
// a value of the wrong type, 7 for bad values (naming the key): an enabled family's
// network missing, of the other family or too small, a subnet length that does not
// fit, misaligned min/max, both families disabled. Errors start "network config";
// the caller adds where it came from (etcd key, file).
cni::Result<NetworkConfig> ParseNetworkConfig(const std::string& json_text);
std::string NetworkConfigToJson(const ClusterConfig& cfg);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_REGISTRY_NETWORK_CONFIG_H_
