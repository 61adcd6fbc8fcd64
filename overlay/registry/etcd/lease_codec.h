// How the etcd registry lays out its data, in flannel's etcd subnet manager format
// (pkg/subnet/subnet.go, pkg/lease/lease.go, pkg/subnet/config.go), so operators
// recognise it and leases flannel writes are read:
//   <prefix>/config     flannel net-conf JSON: EnableIPv4 (default true), Network,
//                       SubnetLen, SubnetMin, SubnetMax, EnableIPv6, IPv6Network,
//                       IPv6SubnetLen, IPv6SubnetMin, IPv6SubnetMax,
//                       Backend{Type,VNI,Port,DirectRouting,MTU}; plus linen's "IPMasq"
//   <prefix>/subnets/<key>   LeaseAttrs JSON, bound to an etcd lease. The key is
//                       flannel's MakeSubnetKey:
//                         IPv4 only:   10.244.1.0-24
//                         dual-stack:  10.244.1.0-24&fd00:10:244:1::-64
//                         IPv6 only:   0.0.0.0-0&fd00:10:244:1::-64
//     {"PublicIP":"10.0.0.5","PublicIPv6":"fd00:50::5","BackendType":"vxlan",
//      "BackendData":{"VNI":1,"VtepMAC":"0e:.."},
//      "BackendV6Data":{"VNI":1,"VtepMAC":"0e:.."},"NodeName":"node1"}
//     A family the cluster does not run: PublicIP "0.0.0.0" / PublicIPv6 null, and
//     no Backend(V6)Data. host-gw: BackendData null. NodeName is linen's.
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_LEASE_CODEC_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_LEASE_CODEC_H_

#include <optional>
#include <string>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "overlay/registry/lease_validation.h"
#include "overlay/registry/registry.h"

namespace linen::etcd {

// The cluster config plus the allocation bounds only the etcd registry uses.
struct NetworkConfig {
  overlay::ClusterConfig cluster;
  cni::IpAddr subnet_min;  // first subnet handed out (default: network + one subnet)
  cni::IpAddr subnet_max;  // last subnet handed out (default: the last one)
  cni::IpAddr ipv6_subnet_min;  // the same for IPv6, when enabled
  cni::IpAddr ipv6_subnet_max;
};

// Applies flannel's defaults (SubnetLen 24 for networks up to /22, else prefix+2;
// IPv6SubnetLen 64 up to /62, else prefix+2) and validates. Code 6 for bad JSON or
// a value of the wrong type, 7 for bad values (naming the key): an enabled family's
// network missing, of the other family or too small, a subnet length that does not
// fit, misaligned min/max, both families disabled.
cni::Result<NetworkConfig> ParseNetworkConfig(const std::string& json_text);
std::string NetworkConfigToJson(const overlay::ClusterConfig& cfg);

std::string ConfigKey(const std::string& prefix);
std::string SubnetsPrefix(const std::string& prefix);   // "<prefix>/subnets/"
// The key of a lease with these subnets (an unset one: that family is absent).
std::string SubnetKey(const std::string& prefix, const cni::IpNet& subnet,
                      const cni::IpNet& ipv6_subnet = {});
std::string SubnetKey(const std::string& prefix, const overlay::NodeLease& lease);
// The subnets a key names; a family absent from it is left unset (overlay::IsUnset).
struct KeySubnets {
  cni::IpNet subnet;
  cni::IpNet ipv6_subnet;
};
// nullopt when `key` is not a subnet key under `prefix` in flannel's form (each part
// in network-address form, in the family its position says; not 0.0.0.0-0 alone).
std::optional<KeySubnets> SubnetsFromKey(const std::string& prefix, const std::string& key);

// LeaseAttrs JSON for `lease` (its subnets live in the key, not the value); only the
// families `cfg` enables are written.
std::string LeaseToJson(const overlay::NodeLease& lease, const overlay::ClusterConfig& cfg);
// The lease stored under `key`; code 6/7 when the value is not a lease. Both
// families are read as written (a missing PublicIP, "0.0.0.0" or a null PublicIPv6
// leave the address unset; lease validation judges what the cluster needs). The
// value's "BackendType" goes to *backend_type when given ("" when absent).
cni::Result<overlay::NodeLease> LeaseFromKv(const std::string& prefix, const std::string& key,
                                            const std::string& value,
                                            std::string* backend_type = nullptr);
// The same, as a candidate for overlay::ValidateLeases: a value that does not
// decode becomes a candidate without a lease (rejected as undecodable), so one bad
// entry never fails a whole list.
overlay::LeaseCandidate CandidateFromKv(const std::string& prefix, const std::string& key,
                                        const std::string& value, int64_t create_revision);

}  // namespace linen::etcd

#endif  // LINEN_OVERLAY_REGISTRY_ETCD_LEASE_CODEC_H_
