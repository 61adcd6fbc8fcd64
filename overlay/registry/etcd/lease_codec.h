// How the etcd registry lays out its data, in flannel's etcd subnet manager format
// (pkg/subnet/subnet.go, pkg/lease/lease.go, pkg/subnet/config.go), so operators
// recognise it and leases flannel writes are read:
//   <prefix>/config     flannel net-conf JSON (overlay/registry/network_config.h)
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
