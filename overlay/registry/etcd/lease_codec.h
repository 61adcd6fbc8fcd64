// How the etcd registry lays out its data, in the spirit of flannel's etcd subnet
// manager so operators recognise it:
//   <prefix>/config                    flannel net-conf JSON (Network, SubnetLen,
//                                      SubnetMin, SubnetMax, Backend{Type,VNI,Port,
//                                      DirectRouting,MTU}) plus linen's "IPMasq"
//   <prefix>/subnets/<a.b.c.d>-<len>   LeaseAttrs-like JSON, bound to an etcd lease:
//     {"PublicIP":"10.0.0.5","BackendType":"vxlan",
//      "BackendData":{"VNI":1,"VtepMAC":"0e:.."},"NodeName":"node1"}
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
};

// Applies flannel's defaults (SubnetLen 24 for networks up to /22, else prefix+2;
// v6: 64 up to /62) and validates. Code 6 for bad JSON, 7 for bad values.
cni::Result<NetworkConfig> ParseNetworkConfig(const std::string& json_text);
std::string NetworkConfigToJson(const overlay::ClusterConfig& cfg);

std::string ConfigKey(const std::string& prefix);
std::string SubnetsPrefix(const std::string& prefix);   // "<prefix>/subnets/"
std::string SubnetKey(const std::string& prefix, const cni::IpNet& subnet);
// nullopt when `key` is not a subnet key under `prefix`.
std::optional<cni::IpNet> SubnetFromKey(const std::string& prefix, const std::string& key);

// LeaseAttrs JSON for `lease` (its subnet lives in the key, not the value).
std::string LeaseToJson(const overlay::NodeLease& lease, const overlay::ClusterConfig& cfg);
// The lease stored under `key`; code 6/7 when the value is not a lease. The
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
