// The subnets a network config hands out: every /SubnetLen block from SubnetMin to
// SubnetMax. Pure arithmetic, no etcd.
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_SUBNET_POOL_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_SUBNET_POOL_H_

#include <cstddef>
#include <set>
#include <vector>

#include "libcni/ip_net.h"
#include "overlay/registry/etcd/lease_codec.h"

namespace linen::etcd {

bool InPool(const NetworkConfig& cfg, const cni::IpNet& subnet);
unsigned __int128 PoolSize(const NetworkConfig& cfg);
// Up to `limit` subnets of the pool not in `taken`, lowest first.
std::vector<cni::IpNet> FreeSubnets(const NetworkConfig& cfg, const std::set<cni::IpNet>& taken,
                                    size_t limit);

}  // namespace linen::etcd

#endif  // LINEN_OVERLAY_REGISTRY_ETCD_SUBNET_POOL_H_
