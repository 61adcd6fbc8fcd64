// The subnets a network config hands out, per family: every /SubnetLen block from
// SubnetMin to SubnetMax (IPv6: /IPv6SubnetLen from IPv6SubnetMin to IPv6SubnetMax).
// Pure arithmetic, no etcd.
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_SUBNET_POOL_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_SUBNET_POOL_H_

#include <cstddef>
#include <set>
#include <vector>

#include "libcni/ip_net.h"
#include "overlay/registry/network_config.h"

namespace linen::etcd {

// One family's pool.
struct SubnetRange {
  cni::IpNet network;
  int subnet_len = 0;
  cni::IpAddr min;
  cni::IpAddr max;
};
SubnetRange RangeOf(const overlay::NetworkConfig& cfg, cni::Family family);

bool InPool(const SubnetRange& r, const cni::IpNet& subnet);
unsigned __int128 PoolSize(const SubnetRange& r);
// Up to `limit` subnets of the pool not in `taken`, lowest first.
std::vector<cni::IpNet> FreeSubnets(const SubnetRange& r, const std::set<cni::IpNet>& taken,
                                    size_t limit);

}  // namespace linen::etcd

#endif  // LINEN_OVERLAY_REGISTRY_ETCD_SUBNET_POOL_H_
